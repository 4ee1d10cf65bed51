//! Outgoing email: templates (built-in, localized, custom folders) and SMTP delivery
//! to a real SMTP server running in the test.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hasura_auth::adapters::email::{
    EmailMessage, MailError, Mailer, SmtpMailer, SmtpSettings, TemplateError, TemplateName,
    TemplateVars, Templates,
};
use hasura_auth::config::{Config, SmtpAuthMethod};
use hasura_auth::tls::Tls;
use support::smtp::{SmtpOptions, SmtpServer, TestCert};

/// The service's TLS roots, from the system (as at start-up).
fn system_tls() -> Tls {
    Tls::from_env().expect("system root certificates")
}

const LOCALES: &[&str] = &["en", "fr", "es", "de", "bg", "cs"];
const LINK: &str = "http://localhost:4000/v1/verify?redirectTo=http%3A%2F%2Flocalhost%3A3000%2F&ticket=verifyEmail%3A1b2c&type=emailVerify";
const SENDER: &str = "Acme Auth <no-reply@acme.test>";
const API_HEADER: &str = r#"{"category": ["auth"], "unique_args": {"x": 1}}"#;
const WAIT: Duration = Duration::from_secs(10);

fn vars() -> TemplateVars {
    TemplateVars {
        link: LINK.to_owned(),
        display_name: "Jo <b>Doe</b> & Co".to_owned(),
        email: "jo+<x>@example.test".to_owned(),
        new_email: "new\"<y>@example.test".to_owned(),
        ticket: "123456".to_owned(),
        redirect_to: "http://localhost:3000/".to_owned(),
        locale: "ignored".to_owned(),
        server_url: "http://localhost:4000/v1".to_owned(),
        client_url: "http://localhost:3000".to_owned(),
        ip: "203.0.113.<9>".to_owned(),
        user_agent: "Agent <z>/1".to_owned(),
    }
}

/// A fresh, empty folder under the target directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("email-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

// ---------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------

#[test]
fn every_template_renders_in_every_locale() {
    let templates = Templates::builtin("en").unwrap();
    let en = |name| templates.render(name, "en", &vars()).unwrap();
    for loc in LOCALES {
        for name in TemplateName::ALL {
            let r = templates.render(name, loc, &vars()).unwrap();
            let ctx = format!("{loc}/{name}");
            for part in [&r.subject, &r.html, &r.text] {
                assert!(!part.contains("${"), "{ctx}: placeholder left in {part}");
                assert!(!part.trim().is_empty(), "{ctx}: empty part");
            }
            assert!(!r.subject.contains('\n'), "{ctx}: multi-line subject");
            if *loc != "en" {
                assert_ne!(r.subject, en(name).subject, "{ctx}: subject not translated");
                assert_ne!(r.text, en(name).text, "{ctx}: text not translated");
            }
            assert!(r.html.contains(&format!("<html lang=\"{loc}\">")), "{ctx}");
            // Values are HTML-escaped in HTML, raw in text.
            assert!(
                !r.html.contains("<x>") && !r.html.contains("<y>"),
                "{ctx}: unescaped value"
            );
            assert!(!r.html.contains("<img"), "{ctx}: images");
            if name == TemplateName::SigninOtp {
                assert!(
                    r.html.contains("123456") && r.text.contains("123456"),
                    "{ctx}"
                );
            } else {
                let escaped = LINK.replace('&', "&amp;");
                assert!(
                    r.html.contains(&format!("href=\"{escaped}\"")),
                    "{ctx}: button link"
                );
                assert!(
                    r.html.contains(&format!(">{escaped}</a>")),
                    "{ctx}: visible link"
                );
                assert!(r.text.contains(LINK), "{ctx}: text link");
                assert!(!r.html.contains(LINK), "{ctx}: `&` not escaped in HTML");
            }
            match name {
                TemplateName::EmailConfirmChange => {
                    assert!(r.html.contains("new&quot;&lt;y&gt;@example.test"), "{ctx}");
                    assert!(r.text.contains("new\"<y>@example.test"), "{ctx}");
                }
                TemplateName::EmailVerify
                | TemplateName::PasswordReset
                | TemplateName::PasswordChanged => {
                    assert!(r.html.contains("jo+&lt;x&gt;@example.test"), "{ctx}");
                    assert!(r.text.contains("jo+<x>@example.test"), "{ctx}");
                }
                TemplateName::EmailChangeNotice => {
                    assert!(r.html.contains("jo+&lt;x&gt;@example.test"), "{ctx}");
                    assert!(r.html.contains("new&quot;&lt;y&gt;@example.test"), "{ctx}");
                    assert!(r.text.contains("new\"<y>@example.test"), "{ctx}");
                }
                TemplateName::SigninNewDevice => {
                    assert!(r.html.contains("Agent &lt;z&gt;/1"), "{ctx}");
                    assert!(r.html.contains("203.0.113.&lt;9&gt;"), "{ctx}");
                    assert!(r.text.contains("Agent <z>/1"), "{ctx}");
                    assert!(r.text.contains("203.0.113.<9>"), "{ctx}");
                }
                _ => {}
            }
        }
    }
}

#[test]
fn sms_body_in_every_locale() {
    let templates = Templates::builtin("en").unwrap();
    let mut seen = std::collections::HashSet::new();
    for loc in LOCALES {
        let body = templates.sms_body(loc, "042917").unwrap();
        assert!(body.contains("042917"), "{loc}: {body}");
        assert!(
            !body.contains("${") && !body.ends_with('\n'),
            "{loc}: {body:?}"
        );
        assert!(seen.insert(body), "{loc}: not translated");
    }
    // Unknown locale → default locale.
    let fr = Templates::builtin("fr").unwrap();
    assert_eq!(
        fr.sms_body("it", "1").unwrap(),
        fr.sms_body("fr", "1").unwrap()
    );
}

#[test]
fn locale_variable_is_the_rendered_locale() {
    let dir = temp_dir("locale-var");
    write(
        &dir,
        "fr/email-verify/subject.txt",
        "[${locale}] ${displayName}\n",
    );
    write(&dir, "fr/email-verify/body.html", "<p>${locale}</p>");
    let templates = Templates::load_dir(&dir, "fr").unwrap();
    let r = templates
        .render(TemplateName::EmailVerify, "it", &vars())
        .unwrap();
    assert_eq!(r.subject, "[fr] Jo <b>Doe</b> & Co");
    assert_eq!(r.html, "<p>fr</p>");
}

#[test]
fn unknown_placeholders_render_empty() {
    let dir = temp_dir("unknown-placeholder");
    write(
        &dir,
        "en/signin-otp/subject.txt",
        "Code${nothing} ${ticket}",
    );
    write(&dir, "en/signin-otp/body.html", "<p>${nope}${ticket}</p>");
    write(&dir, "en/signin-otp/body.txt", "${nope}${ticket}${code}");
    let templates = Templates::load_dir(&dir, "en").unwrap();
    let r = templates
        .render(TemplateName::SigninOtp, "en", &vars())
        .unwrap();
    assert_eq!(r.subject, "Code 123456");
    assert_eq!(r.html, "<p>123456</p>");
    assert_eq!(r.text, "123456");
}

#[test]
fn custom_folder_overrides_builtin_for_that_locale_and_template() {
    let dir = temp_dir("override");
    write(
        &dir,
        "en/password-reset/subject.txt",
        "Custom reset for ${email}\n",
    );
    write(
        &dir,
        "en/password-reset/body.html",
        "<html><body><h1>Reset</h1><p>Go: <a href=\"${link}\">reset now</a></p></body></html>",
    );
    write(&dir, "en/password-reset/body.txt", "Reset at ${link}\n");
    write(
        &dir,
        "fr/signin-passwordless-sms/body.txt",
        "Code perso ${code}\n",
    );
    write(&dir, "en/not-a-template/body.html", "ignored");
    write(&dir, "README.md", "not a locale");
    let builtin = Templates::builtin("en").unwrap();
    let templates = Templates::load(Some(&dir), "en").unwrap();
    assert!(templates.custom_dir().is_some());

    let r = templates
        .render(TemplateName::PasswordReset, "en", &vars())
        .unwrap();
    assert_eq!(r.subject, "Custom reset for jo+<x>@example.test");
    assert!(r.html.contains("<a href=\"http://localhost:4000/v1/verify?redirectTo=http%3A%2F%2Flocalhost%3A3000%2F&amp;ticket="));
    assert_eq!(r.text, format!("Reset at {LINK}\n"));

    // Other templates and other locales keep the built-ins.
    for (name, loc) in [
        (TemplateName::EmailVerify, "en"),
        (TemplateName::PasswordReset, "fr"),
    ] {
        let custom = templates.render(name, loc, &vars()).unwrap();
        let original = builtin.render(name, loc, &vars()).unwrap();
        assert_eq!(custom.subject, original.subject);
        assert_eq!(custom.text, original.text);
    }
    assert_eq!(templates.sms_body("fr", "77").unwrap(), "Code perso 77");
    assert_eq!(
        templates.sms_body("en", "77").unwrap(),
        builtin.sms_body("en", "77").unwrap()
    );
}

#[test]
fn custom_html_only_gets_a_text_alternative() {
    let dir = temp_dir("html-only");
    write(&dir, "de/signin-passwordless/subject.txt", "Anmelden");
    write(
        &dir,
        "de/signin-passwordless/body.html",
        "<!DOCTYPE html><html><head><style>p{color:red}</style></head><body>\n\
         <h1>Hallo ${displayName}</h1>\n<p>Klicken Sie\n  <a href=\"${link}\">hier</a> &amp; fertig.</p>\
         <p>${link}</p></body></html>",
    );
    let templates = Templates::load_dir(&dir, "en").unwrap();
    let r = templates
        .render(TemplateName::SigninPasswordless, "de", &vars())
        .unwrap();
    assert_eq!(
        r.text,
        format!("Hallo Jo <b>Doe</b> & Co\n\nKlicken Sie hier ({LINK}) & fertig.\n\n{LINK}\n")
    );
    assert!(r.html.contains("Hallo Jo &lt;b&gt;Doe&lt;/b&gt; &amp; Co"));
}

#[test]
fn custom_text_only_gets_an_html_alternative() {
    let dir = temp_dir("text-only");
    write(&dir, "it/email-verify/subject.txt", "Verifica");
    write(
        &dir,
        "it/email-verify/body.txt",
        "Ciao <amico>,\nclicca ${link}\n",
    );
    let templates = Templates::load_dir(&dir, "en").unwrap();
    let r = templates
        .render(TemplateName::EmailVerify, "it", &vars())
        .unwrap();
    assert_eq!(r.subject, "Verifica");
    assert!(r.html.contains("Ciao &lt;amico&gt;,\nclicca http://localhost:4000/v1/verify?redirectTo=http%3A%2F%2Flocalhost%3A3000%2F&amp;ticket="));
}

#[test]
fn missing_locale_falls_back_to_default_locales_same_template() {
    // Built-ins only: unknown locale → default locale's same template.
    let templates = Templates::builtin("fr").unwrap();
    for name in TemplateName::ALL {
        let r = templates.render(name, "it", &vars()).unwrap();
        let fr = templates.render(name, "fr", &vars()).unwrap();
        assert_eq!(r.subject, fr.subject, "{name}");
        assert_eq!(r.html, fr.html, "{name}");
    }
    // Empty locale → default.
    let r = templates
        .render(TemplateName::SigninOtp, "", &vars())
        .unwrap();
    assert_eq!(
        r.subject,
        templates
            .render(TemplateName::SigninOtp, "fr", &vars())
            .unwrap()
            .subject
    );

    // Custom default-locale template: the SAME template is used, not email-verify.
    let dir = temp_dir("fallback");
    write(&dir, "pt/password-reset/subject.txt", "Redefinir senha");
    write(&dir, "pt/password-reset/body.txt", "pt reset ${link}");
    write(&dir, "pt/email-verify/subject.txt", "Verificar");
    write(&dir, "pt/email-verify/body.txt", "pt verify ${link}");
    let templates = Templates::load_dir(&dir, "pt").unwrap();
    let r = templates
        .render(TemplateName::PasswordReset, "it", &vars())
        .unwrap();
    assert_eq!(r.subject, "Redefinir senha");
    assert_eq!(r.text, format!("pt reset {LINK}"));
    // A template the default locale lacks → built-in en.
    let r = templates
        .render(TemplateName::SigninOtp, "it", &vars())
        .unwrap();
    let en = Templates::builtin("en").unwrap();
    assert_eq!(
        r.subject,
        en.render(TemplateName::SigninOtp, "en", &vars())
            .unwrap()
            .subject
    );
    // A locale with a built-in still gets it.
    let r = templates
        .render(TemplateName::PasswordReset, "cs", &vars())
        .unwrap();
    assert_eq!(
        r.subject,
        en.render(TemplateName::PasswordReset, "cs", &vars())
            .unwrap()
            .subject
    );

    // Default locale without any template → built-in en.
    let templates = Templates::builtin("xx").unwrap();
    let r = templates
        .render(TemplateName::EmailConfirmChange, "yy", &vars())
        .unwrap();
    assert_eq!(
        r.subject,
        en.render(TemplateName::EmailConfirmChange, "en", &vars())
            .unwrap()
            .subject
    );
}

fn invalid_path(err: TemplateError) -> String {
    match err {
        TemplateError::Invalid { path, .. } => path,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn broken_custom_template_fails_load_with_its_path() {
    // Unterminated placeholder.
    let dir = temp_dir("broken-placeholder");
    write(&dir, "en/email-verify/subject.txt", "Hi");
    write(&dir, "en/email-verify/body.html", "<p>\n${link</p>");
    let err = Templates::load(Some(&dir), "en").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("en/email-verify/body.html"), "{msg}");
    assert!(msg.contains("unterminated"), "{msg}");
    assert!(invalid_path(err).ends_with("en/email-verify/body.html"));

    // Not UTF-8.
    let dir = temp_dir("broken-utf8");
    write(
        &dir,
        "fr/signin-otp/subject.txt",
        [0x43u8, 0xff, 0xfe, 0x64],
    );
    let err = Templates::load_dir(&dir, "en").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("fr/signin-otp/subject.txt") && msg.contains("UTF-8"),
        "{msg}"
    );

    // Unreadable (a directory where a file should be).
    let dir = temp_dir("broken-unreadable");
    std::fs::create_dir_all(dir.join("es/password-reset/body.txt")).unwrap();
    let err = Templates::load_dir(&dir, "en").unwrap_err();
    assert!(
        err.to_string().contains("es/password-reset/body.txt"),
        "{err}"
    );

    // A new locale without a subject.
    let dir = temp_dir("broken-no-subject");
    write(&dir, "it/password-reset/body.html", "<p>${link}</p>");
    let err = Templates::load_dir(&dir, "en").unwrap_err();
    assert!(
        err.to_string().contains("it/password-reset/subject.txt"),
        "{err}"
    );

    // Broken SMS template.
    let dir = temp_dir("broken-sms");
    write(&dir, "en/signin-passwordless-sms/body.txt", "code ${code");
    let err = Templates::load_dir(&dir, "en").unwrap_err();
    assert!(
        err.to_string().contains("signin-passwordless-sms/body.txt"),
        "{err}"
    );
}

#[test]
fn missing_templates_folder_uses_builtins() {
    let templates = Templates::load(None, "en").unwrap();
    assert!(templates.custom_dir().is_none());
    let r = templates
        .render(TemplateName::EmailVerify, "en", &vars())
        .unwrap();
    assert!(r.text.contains(LINK));
    // A configured folder that does not exist is not an error.
    Templates::load(
        Some(Path::new("/definitely/not/here/email-templates")),
        "en",
    )
    .unwrap();
}

// ---------------------------------------------------------------------------
// SMTP delivery
// ---------------------------------------------------------------------------

fn settings(port: u16, method: SmtpAuthMethod, user: &str, password: &str) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".to_owned(),
        port,
        secure: false,
        user: user.to_owned(),
        password: password.into(),
        auth_method: method,
        sender: SENDER.to_owned(),
        api_header: API_HEADER.to_owned(),
        timeout: Duration::from_secs(5),
    }
}

fn rendered_message(to: &str, name: TemplateName, locale: &str) -> EmailMessage {
    let templates = Templates::builtin("en").unwrap();
    let vars = vars();
    let rendered = templates.render(name, locale, &vars).unwrap();
    EmailMessage::from_rendered(to, name, rendered, &vars)
}

async fn deliver_with(method: SmtpAuthMethod, mechanism: &str) {
    let server = SmtpServer::start(SmtpOptions::with_credentials("mailer", "s3cret!")).await;
    let mailer = Mailer::Smtp(
        SmtpMailer::new(
            settings(server.port(), method, "mailer", "s3cret!"),
            &system_tls(),
        )
        .unwrap(),
    );
    let to = format!("{}@example.test", mechanism.to_ascii_lowercase());
    let msg = rendered_message(&to, TemplateName::PasswordReset, "fr");
    let expected = msg.clone();
    mailer.send(msg).await.unwrap();

    let got = server.wait_for_message(&to, WAIT).await;
    assert_eq!(got.authenticated_as.as_deref(), Some("mailer"));
    assert_eq!(got.auth_mechanism.as_deref(), Some(mechanism));
    assert!(!got.tls);
    // Envelope.
    assert_eq!(got.mail_from, "no-reply@acme.test");
    assert_eq!(got.rcpt_to, vec![to.clone()]);
    // Headers.
    assert_eq!(got.header("X-SMTPAPI").as_deref(), Some(API_HEADER));
    assert_eq!(got.header("X-Link").as_deref(), Some(LINK));
    assert_eq!(got.header("X-Ticket").as_deref(), Some("123456"));
    assert_eq!(
        got.header("X-Email-Template").as_deref(),
        Some("password-reset")
    );
    assert_eq!(
        got.header("X-Redirect-To").as_deref(),
        Some("http://localhost:3000/")
    );
    assert!(got.header("Date").is_some());
    assert!(
        got.header_raw("Message-ID")
            .unwrap()
            .ends_with("@acme.test>")
    );
    assert_eq!(got.subject().as_deref(), Some(expected.subject.as_str()));
    assert!(expected.subject.contains('é'), "UTF-8 subject expected");
    assert!(
        got.header_raw("Subject").unwrap().is_ascii(),
        "subject must be encoded"
    );
    assert_eq!(
        got.from(),
        Some((
            Some("Acme Auth".to_owned()),
            "no-reply@acme.test".to_owned()
        ))
    );
    // Body: multipart/alternative, text + HTML.
    assert_eq!(got.content_type().as_deref(), Some("multipart/alternative"));
    assert_eq!(got.text().unwrap().replace("\r\n", "\n"), expected.text);
    assert_eq!(got.html().unwrap().replace("\r\n", "\n"), expected.html);
}

#[tokio::test]
async fn smtp_delivery_auth_plain() {
    deliver_with(SmtpAuthMethod::Plain, "PLAIN").await;
}

#[tokio::test]
async fn smtp_delivery_auth_login() {
    deliver_with(SmtpAuthMethod::Login, "LOGIN").await;
}

#[tokio::test]
async fn smtp_delivery_auth_cram_md5() {
    deliver_with(SmtpAuthMethod::CramMd5, "CRAM-MD5").await;
}

#[tokio::test]
async fn wrong_credentials_are_an_error() {
    let server = SmtpServer::start(SmtpOptions::with_credentials("mailer", "s3cret!")).await;
    for method in [
        SmtpAuthMethod::Plain,
        SmtpAuthMethod::Login,
        SmtpAuthMethod::CramMd5,
    ] {
        let mailer = SmtpMailer::new(
            settings(server.port(), method, "mailer", "wrong"),
            &system_tls(),
        )
        .unwrap();
        let err = mailer
            .send(&rendered_message(
                "x@example.test",
                TemplateName::EmailVerify,
                "en",
            ))
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::Auth(_)), "{method:?}: {err}");
        assert!(err.to_string().contains("535"), "{err}");
        assert!(!err.to_string().contains("wrong"), "password leaked: {err}");
    }
    assert_eq!(server.auth_failures().len(), 3);
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn no_user_means_no_authentication() {
    let server = SmtpServer::start(SmtpOptions::default()).await;
    let mut s = settings(server.port(), SmtpAuthMethod::Plain, "", "");
    s.api_header = String::new();
    s.sender = "bare@acme.test".to_owned();
    let mailer = SmtpMailer::new(s, &system_tls()).unwrap();
    let mut msg = rendered_message("Jo Doe <jo@example.test>", TemplateName::SigninOtp, "de");
    // Lines starting with a dot survive the SMTP transparency procedure.
    msg.text.push_str(".hidden line\n..two dots\n.\n");
    let expected = msg.text.clone();
    mailer.send(&msg).await.unwrap();
    let got = server.wait_for_message("jo@example.test", WAIT).await;
    assert_eq!(got.authenticated_as, None);
    assert_eq!(got.mail_from, "bare@acme.test");
    assert_eq!(got.header("X-SMTPAPI"), None);
    assert_eq!(got.text().unwrap().replace("\r\n", "\n"), expected);
}

#[tokio::test]
async fn cleartext_plain_and_login_refused_for_non_local_hosts() {
    // 127.0.0.2 is loopback but not one of the names upstream trusts in clear text.
    let ip: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let server = SmtpServer::start(SmtpOptions {
        bind_ip: Some(ip),
        ..SmtpOptions::with_credentials("mailer", "pw")
    })
    .await;
    for method in [SmtpAuthMethod::Plain, SmtpAuthMethod::Login] {
        let mut s = settings(server.port(), method, "mailer", "pw");
        s.host = "127.0.0.2".to_owned();
        let err = SmtpMailer::new(s, &system_tls())
            .unwrap()
            .send(&rendered_message(
                "a@example.test",
                TemplateName::EmailVerify,
                "en",
            ))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("unencrypted"), "{method:?}: {err}");
    }
    assert!(server.auth_failures().is_empty(), "credentials were sent");
    // CRAM-MD5 never reveals the password: allowed.
    let mut s = settings(server.port(), SmtpAuthMethod::CramMd5, "mailer", "pw");
    s.host = "127.0.0.2".to_owned();
    SmtpMailer::new(s, &system_tls())
        .unwrap()
        .send(&rendered_message(
            "b@example.test",
            TemplateName::EmailVerify,
            "en",
        ))
        .await
        .unwrap();
    server.wait_for_message("b@example.test", WAIT).await;
}

#[tokio::test]
async fn starttls_is_used_when_offered() {
    let cert = TestCert::generate();
    let server = SmtpServer::start(SmtpOptions {
        starttls: Some(cert.clone()),
        ..SmtpOptions::with_credentials("mailer", "pw")
    })
    .await;
    let s = settings(server.port(), SmtpAuthMethod::Plain, "mailer", "pw");
    let mailer = SmtpMailer::with_tls_connector(s, cert.connector.clone()).unwrap();
    mailer
        .send(&rendered_message(
            "tls@example.test",
            TemplateName::EmailVerify,
            "cs",
        ))
        .await
        .unwrap();
    let got = server.wait_for_message("tls@example.test", WAIT).await;
    assert!(got.tls, "message was not sent over TLS");
    assert_eq!(got.authenticated_as.as_deref(), Some("mailer"));

    // The system trust store does not know the test certificate → error, nothing sent.
    let s = settings(server.port(), SmtpAuthMethod::Plain, "mailer", "pw");
    let err = SmtpMailer::new(s, &system_tls())
        .unwrap()
        .send(&rendered_message(
            "untrusted@example.test",
            TemplateName::EmailVerify,
            "en",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Smtp(_)), "{err}");
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn implicit_tls_when_secure() {
    let cert = TestCert::generate();
    let server = SmtpServer::start(SmtpOptions {
        implicit_tls: Some(cert.clone()),
        ..SmtpOptions::with_credentials("mailer", "pw")
    })
    .await;
    let mut s = settings(server.port(), SmtpAuthMethod::Login, "mailer", "pw");
    s.secure = true;
    s.host = "localhost".to_owned();
    let mailer = SmtpMailer::with_tls_connector(s, cert.connector.clone()).unwrap();
    mailer
        .send(&rendered_message(
            "465@example.test",
            TemplateName::SigninPasswordless,
            "bg",
        ))
        .await
        .unwrap();
    let got = server.wait_for_message("465@example.test", WAIT).await;
    assert!(got.tls);
    assert_eq!(got.auth_mechanism.as_deref(), Some("LOGIN"));
}

#[tokio::test]
async fn unreachable_server_is_an_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut s = settings(port, SmtpAuthMethod::Plain, "", "");
    s.timeout = Duration::from_secs(2);
    let start = Instant::now();
    let err = SmtpMailer::new(s, &system_tls())
        .unwrap()
        .send(&rendered_message(
            "a@example.test",
            TemplateName::EmailVerify,
            "en",
        ))
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
    assert!(err.to_string().contains("connect"), "{err}");
}

#[tokio::test]
async fn silent_server_times_out() {
    let server = SmtpServer::start(SmtpOptions {
        silent: true,
        ..Default::default()
    })
    .await;
    let mut s = settings(server.port(), SmtpAuthMethod::Plain, "", "");
    s.timeout = Duration::from_secs(1);
    let start = Instant::now();
    let err = SmtpMailer::new(s, &system_tls())
        .unwrap()
        .send(&rendered_message(
            "a@example.test",
            TemplateName::EmailVerify,
            "en",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Timeout), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn mailer_from_config() {
    let config = |extra: &[&str]| {
        let mut args = vec!["hasura-auth"];
        args.extend_from_slice(extra);
        Config::from_args(args).unwrap()
    };
    // No host: development mode, the email goes to the log.
    let mailer = Mailer::from_config(&config(&["--smtp-host="]), &system_tls()).unwrap();
    assert!(matches!(mailer, Mailer::Log));
    mailer
        .send(rendered_message(
            "log@example.test",
            TemplateName::EmailVerify,
            "en",
        ))
        .await
        .unwrap();
    // Postmark: its server token is AUTH_SMTP_PASS, required; the API URL must be http(s).
    let err = Mailer::from_config(&config(&["--smtp-host=postmark"]), &system_tls()).unwrap_err();
    assert!(
        matches!(err, MailError::Config(_)) && err.to_string().contains("AUTH_SMTP_PASS"),
        "{err}"
    );
    let err = Mailer::from_config(
        &config(&[
            "--smtp-host=postmark",
            "--smtp-password=token",
            "--smtp-postmark-api-url=ftp://example.test",
        ]),
        &system_tls(),
    )
    .unwrap_err();
    assert!(matches!(err, MailError::Config(_)), "{err}");
    let mailer = Mailer::from_config(
        &config(&["--smtp-host=Postmark", "--smtp-password=pm-secret-token"]),
        &system_tls(),
    )
    .unwrap();
    assert!(matches!(mailer, Mailer::Postmark(_)));
    assert!(
        !format!("{mailer:?}").contains("pm-secret-token"),
        "token in Debug output"
    );

    // A real host: delivered over SMTP with the configured settings.
    let server = SmtpServer::start(SmtpOptions::with_credentials("cfg", "pw")).await;
    let port = format!("--smtp-port={}", server.port());
    let mailer = Mailer::from_config(
        &config(&[
            "--smtp-host=127.0.0.1",
            &port,
            "--smtp-user=cfg",
            "--smtp-password=pw",
            "--smtp-sender=Config Sender <cfg@acme.test>",
            "--smtp-api-header=abc",
            "--smtp-auth-method=CRAM-MD5",
        ]),
        &system_tls(),
    )
    .unwrap();
    let Mailer::Smtp(smtp) = &mailer else {
        panic!("expected SMTP")
    };
    assert!(
        !format!("{smtp:?}").contains("\"pw\""),
        "password in Debug output"
    );
    mailer
        .send(rendered_message(
            "cfg@example.test",
            TemplateName::EmailVerify,
            "es",
        ))
        .await
        .unwrap();
    let got = server.wait_for_message("cfg@example.test", WAIT).await;
    assert_eq!(got.mail_from, "cfg@acme.test");
    assert_eq!(got.auth_mechanism.as_deref(), Some("CRAM-MD5"));
    assert_eq!(got.header("X-SMTPAPI").as_deref(), Some("abc"));
}
