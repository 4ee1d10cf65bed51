//! SMTP delivery (mail-send for the protocol, mail-builder for the MIME message).
//!
//! Connection: implicit TLS when `secure`, otherwise plain TCP upgraded with STARTTLS
//! when the server offers it. `AUTH` with the configured mechanism only when a user is
//! configured; PLAIN and LOGIN refuse to send credentials in clear text except to a
//! local/mailhog host (upstream's rule).

use std::time::Duration;

use mail_builder::MessageBuilder;
use mail_builder::headers::HeaderType;
use mail_builder::headers::address::Address;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_send::smtp::AssertReply;
use mail_send::smtp::message::Message;
use mail_send::{Credentials, SmtpClient};
use smtp_proto::{AUTH_CRAM_MD5, AUTH_LOGIN, AUTH_PLAIN, EXT_START_TLS, EhloResponse};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{EmailMessage, MailError};
use crate::config::{Secret, SmtpAuthMethod};
use crate::tls::Tls;

/// Name we greet the server with (`EHLO hasura-auth`, as upstream).
const HELO_NAME: &str = "hasura-auth";

/// Hosts PLAIN/LOGIN may send credentials to without TLS.
const CLEARTEXT_AUTH_HOSTS: &[&str] = &["mailhog", "localhost", "127.0.0.1", "::1", "[::1]"];

/// Everything needed to deliver over SMTP.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// Implicit TLS (port 465 style).
    pub secure: bool,
    /// Empty: no authentication.
    pub user: String,
    pub password: Secret,
    pub auth_method: SmtpAuthMethod,
    /// `From:` header, e.g. `Acme <no-reply@acme.test>`.
    pub sender: String,
    /// Value of an `X-SMTPAPI` header added to every message (empty: none).
    pub api_header: String,
    /// Time-out for connecting and for each SMTP command; a whole delivery is capped at
    /// three times this.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("secure", &self.secure)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("auth_method", &self.auth_method)
            .field("sender", &self.sender)
            .field("api_header", &self.api_header)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmtpSettings {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
}

/// Delivers messages over SMTP, one connection per message.
pub struct SmtpMailer {
    settings: SmtpSettings,
    tls: TlsConnector,
    envelope_from: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer verifying server certificates with the service's roots (see
    /// [`crate::tls`]).
    pub fn new(settings: SmtpSettings, tls: &Tls) -> Result<Self, MailError> {
        Self::with_tls_connector(settings, tls.connector())
    }

    /// A mailer using the given TLS client configuration (e.g. a private CA).
    pub fn with_tls_connector(
        settings: SmtpSettings,
        tls: TlsConnector,
    ) -> Result<Self, MailError> {
        if settings.host.trim().is_empty() {
            return Err(MailError::Config("SMTP host is empty".into()));
        }
        let envelope_from = envelope_address(&settings.sender);
        Ok(SmtpMailer {
            settings,
            tls,
            envelope_from,
        })
    }

    pub fn settings(&self) -> &SmtpSettings {
        &self.settings
    }

    /// Builds the raw RFC 5322 message (multipart/alternative text + HTML).
    pub fn build_message(&self, msg: &EmailMessage) -> Result<Vec<u8>, MailError> {
        build_message(&self.settings.sender, &self.settings.api_header, msg)
    }

    pub async fn send(&self, msg: &EmailMessage) -> Result<(), MailError> {
        let rcpt = envelope_address(&msg.to);
        if rcpt.is_empty() || !rcpt.contains('@') {
            return Err(MailError::Address(strip_crlf(&msg.to)));
        }
        let raw = self.build_message(msg)?;
        let overall = self.settings.timeout.saturating_mul(3);
        tokio::time::timeout(overall, self.deliver(&rcpt, &raw))
            .await
            .map_err(|_| MailError::Timeout)?
    }

    async fn deliver(&self, rcpt: &str, raw: &[u8]) -> Result<(), MailError> {
        let s = &self.settings;
        let host = s.host.trim();
        let tcp = tokio::time::timeout(s.timeout, TcpStream::connect((host, s.port)))
            .await
            .map_err(|_| MailError::Timeout)?
            .map_err(|e| MailError::Smtp(format!("cannot connect to {host}:{}: {e}", s.port)))?;
        let _ = tcp.set_nodelay(true);
        let client = SmtpClient {
            stream: tcp,
            timeout: s.timeout,
        };
        let tls_name = host.trim_start_matches('[').trim_end_matches(']');
        if s.secure {
            let mut client = client
                .into_tls(&self.tls, tls_name)
                .await
                .map_err(smtp_err)?;
            greeting(&mut client).await?;
            let caps = client.ehlo(HELO_NAME).await.map_err(smtp_err)?;
            self.session(client, caps, true, rcpt, raw).await
        } else {
            let mut client = client;
            greeting(&mut client).await?;
            let caps = client.ehlo(HELO_NAME).await.map_err(smtp_err)?;
            if caps.has_capability(EXT_START_TLS) {
                let mut client = client
                    .start_tls(&self.tls, tls_name)
                    .await
                    .map_err(smtp_err)?;
                let caps = client.ehlo(HELO_NAME).await.map_err(smtp_err)?;
                self.session(client, caps, true, rcpt, raw).await
            } else {
                self.session(client, caps, false, rcpt, raw).await
            }
        }
    }

    async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut client: SmtpClient<S>,
        caps: EhloResponse<String>,
        encrypted: bool,
        rcpt: &str,
        raw: &[u8],
    ) -> Result<(), MailError> {
        let s = &self.settings;
        if !s.user.is_empty() {
            let mechanism = match s.auth_method {
                SmtpAuthMethod::Plain => AUTH_PLAIN,
                SmtpAuthMethod::Login => AUTH_LOGIN,
                SmtpAuthMethod::CramMd5 => AUTH_CRAM_MD5,
            };
            if !encrypted
                && mechanism != AUTH_CRAM_MD5
                && !CLEARTEXT_AUTH_HOSTS.contains(&s.host.trim().to_ascii_lowercase().as_str())
            {
                return Err(MailError::Auth(
                    "refusing to send credentials over an unencrypted connection".into(),
                ));
            }
            // Always the configured mechanism, advertised or not (as upstream).
            let mut caps = caps;
            caps.auth_mechanisms = mechanism;
            let credentials = Credentials::new(s.user.as_str(), s.password.expose());
            client
                .authenticate(&credentials, &caps)
                .await
                .map_err(|e| match e {
                    mail_send::Error::AuthenticationFailed(r)
                    | mail_send::Error::UnexpectedReply(r) => {
                        MailError::Auth(format!("server answered {} {}", r.code, r.message))
                    }
                    mail_send::Error::Timeout => MailError::Timeout,
                    other => MailError::Auth(other.to_string()),
                })?;
        }
        client
            .send(Message::new(self.envelope_from.as_str(), [rcpt], raw))
            .await
            .map_err(smtp_err)?;
        // The message is accepted; a failing QUIT changes nothing.
        let _ = client.quit().await;
        Ok(())
    }
}

async fn greeting<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut SmtpClient<S>,
) -> Result<(), MailError> {
    let timeout = client.timeout;
    tokio::time::timeout(timeout, client.read())
        .await
        .map_err(|_| MailError::Timeout)?
        .map_err(smtp_err)?
        .assert_positive_completion()
        .map_err(smtp_err)
}

fn smtp_err(e: mail_send::Error) -> MailError {
    match e {
        mail_send::Error::Timeout => MailError::Timeout,
        mail_send::Error::UnexpectedReply(r) => {
            MailError::Smtp(format!("server answered {} {}", r.code, r.message))
        }
        other => MailError::Smtp(other.to_string()),
    }
}

/// `s` without CR and LF.
pub fn strip_crlf(s: &str) -> String {
    s.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

/// The address inside `<…>` if present, else the whole (trimmed) string.
pub fn envelope_address(s: &str) -> String {
    let s = strip_crlf(s);
    let addr = match (s.find('<'), s.rfind('>')) {
        (Some(start), Some(end)) if start < end => &s[start + 1..end],
        _ => s.as_str(),
    };
    addr.trim().to_owned()
}

/// `Name <addr>` → (Some(name), addr); `addr` → (None, addr).
fn split_mailbox(s: &str) -> (Option<String>, String) {
    let s = strip_crlf(s);
    let addr = envelope_address(&s);
    let name = match s.find('<') {
        Some(start) if s.rfind('>').is_some_and(|end| end > start) => {
            let name = s[..start].trim().trim_matches('"').trim();
            (!name.is_empty()).then(|| name.to_owned())
        }
        _ => None,
    };
    (name, addr)
}

fn mailbox(s: &str) -> Address<'static> {
    match split_mailbox(s) {
        (Some(name), addr) => Address::from((name, addr)),
        (None, addr) => Address::from(addr),
    }
}

/// An unstructured header value: CR/LF stripped; RFC 2047-encoded only if not ASCII.
fn header_value(v: &str) -> HeaderType<'static> {
    let v = strip_crlf(v);
    if v.is_ascii() {
        HeaderType::Raw(Raw::new(v))
    } else {
        HeaderType::Text(Text::new(v))
    }
}

fn valid_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
}

/// Builds the raw message: extra headers, From, To, Subject, Date, Message-ID,
/// MIME-Version, multipart/alternative (text, then HTML).
pub fn build_message(
    sender: &str,
    api_header: &str,
    msg: &EmailMessage,
) -> Result<Vec<u8>, MailError> {
    let mut b = MessageBuilder::new();
    if !api_header.is_empty() {
        b = b.header("X-SMTPAPI", header_value(api_header));
    }
    for (name, value) in &msg.headers {
        if !valid_header_name(name) {
            return Err(MailError::Header(strip_crlf(name)));
        }
        b = b.header(name.clone(), header_value(value));
    }
    let from_addr = envelope_address(sender);
    let domain = from_addr
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_graphic() && c != b'>'))
        .unwrap_or_else(|| "hasura-auth".to_owned());
    b = b
        .from(mailbox(sender))
        .to(mailbox(&msg.to))
        .subject(Text::new(strip_crlf(&msg.subject)))
        .message_id(MessageId::new(format!(
            "{}@{domain}",
            uuid::Uuid::new_v4().simple()
        )))
        .text_body(msg.text.clone())
        .html_body(msg.html.clone());
    b.write_to_vec().map_err(|e| MailError::Smtp(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_addresses() {
        assert_eq!(
            envelope_address("Acme <no-reply@acme.test>"),
            "no-reply@acme.test"
        );
        assert_eq!(envelope_address(" a@b.test "), "a@b.test");
        assert_eq!(envelope_address("a@b.test\r\nBcc: x@y"), "a@b.testBcc: x@y");
        assert_eq!(
            split_mailbox("\"Acme Inc\" <a@b.test>"),
            (Some("Acme Inc".into()), "a@b.test".into())
        );
        assert_eq!(split_mailbox("a@b.test"), (None, "a@b.test".into()));
    }

    #[test]
    fn message_layout() {
        let msg = EmailMessage {
            to: "user@example.test".into(),
            subject: "Héllo\r\nBcc: evil@x.test".into(),
            html: "<p>hi</p>".into(),
            text: "hi".into(),
            headers: vec![
                (
                    "X-Link".into(),
                    "http://x.test/verify?a=1\r\nBcc: evil@x.test".into(),
                ),
                ("X-Ticket".into(), "t".into()),
            ],
        };
        let raw = build_message("Acme <no-reply@acme.test>", "{\"a\":1}", &msg).unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let head = raw.split("\r\n\r\n").next().unwrap();
        assert!(head.contains("X-SMTPAPI: {\"a\":1}\r\n"), "{head}");
        assert!(
            head.contains("X-Link: http://x.test/verify?a=1Bcc: evil@x.test\r\n"),
            "{head}"
        );
        assert!(!head.contains("\nBcc:"), "{head}");
        assert!(
            head.contains("From: \"Acme\" <no-reply@acme.test>")
                || head.contains("From: Acme <no-reply@acme.test>"),
            "{head}"
        );
        assert!(
            head.contains("To: <user@example.test>") || head.contains("To: user@example.test"),
            "{head}"
        );
        assert!(head.contains("Subject: =?utf-8?"), "{head}");
        assert!(head.contains("Date: "), "{head}");
        assert!(head.contains("Message-ID: <"), "{head}");
        assert!(head.contains("@acme.test>"), "{head}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            build_message(
                "a@b.test",
                "",
                &EmailMessage {
                    headers: vec![("Bad Name".into(), "x".into())],
                    ..msg
                }
            )
            .is_err()
        );
    }
}
