//! Outgoing email: templates rendered per locale, delivered over SMTP or through the
//! Postmark API (or printed to the log in development mode).

pub mod html_text;
pub mod postmark;
pub mod smtp;
pub mod templates;

pub use html_text::html_to_text;
pub use postmark::PostmarkMailer;
pub use smtp::{SmtpMailer, SmtpSettings};
pub use templates::{RenderedEmail, TemplateError, TemplateName, TemplateVars, Templates};

use crate::config::Config;
use crate::tls::Tls;

/// A rendered email ready to be delivered.
#[derive(Debug, Clone)]
pub struct EmailMessage {
    /// Recipient address.
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Extra headers upstream sends (`X-Ticket`, `X-Redirect-To`, `X-Email-Template`, `X-Link`).
    pub headers: Vec<(String, String)>,
}

impl EmailMessage {
    /// A message from a rendered template, with upstream's per-message headers
    /// (`X-Ticket`, `X-Redirect-To`, `X-Email-Template`, `X-Link`).
    pub fn from_rendered(
        to: &str,
        template: TemplateName,
        rendered: RenderedEmail,
        vars: &TemplateVars,
    ) -> Self {
        EmailMessage {
            to: to.to_owned(),
            subject: rendered.subject,
            html: rendered.html,
            text: rendered.text,
            headers: vec![
                ("X-Ticket".to_owned(), vars.ticket.clone()),
                ("X-Redirect-To".to_owned(), vars.redirect_to.clone()),
                ("X-Email-Template".to_owned(), template.as_str().to_owned()),
                ("X-Link".to_owned(), vars.link.clone()),
            ],
        }
    }
}

/// An email as development mode prints it: recipient, subject, and what the reader
/// acts on (the links, or the code of a one-time-code email), one per line.
fn printed(msg: &EmailMessage) -> String {
    static URL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"https?://[^\s<>"'()\[\]]+"#)
            .unwrap_or_else(|e| unreachable!("static URL pattern compiles: {e}"))
    });
    let header = |name: &str| {
        msg.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let mut lines = vec![
        "email printed here, not sent (no AUTH_SMTP_HOST)".to_owned(),
        format!("    To:      {}", msg.to),
        format!("    Subject: {}", msg.subject),
    ];
    let mut links: Vec<&str> = header("X-Link").into_iter().collect();
    for found in URL.find_iter(&msg.text) {
        let link = found.as_str().trim_end_matches(['.', ',', ';', ':']);
        if !links.contains(&link) {
            links.push(link);
        }
    }
    for link in links {
        lines.push(format!("    Link:    {link}"));
    }
    if header("X-Email-Template") == Some(TemplateName::SigninOtp.as_str())
        && let Some(code) = header("X-Ticket")
    {
        lines.push(format!("    Code:    {code}"));
    }
    lines.join("\n")
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("smtp: {0}")]
    Smtp(String),
    #[error("invalid address: {0}")]
    Address(String),
    #[error("invalid header name: {0}")]
    Header(String),
    #[error("smtp authentication: {0}")]
    Auth(String),
    #[error("smtp: timed out")]
    Timeout,
    #[error("email configuration: {0}")]
    Config(String),
    #[error("{0} is not supported yet")]
    Unsupported(String),
    #[error("postmark: {0}")]
    Postmark(String),
    #[error("template: {0}")]
    Template(#[from] TemplateError),
}

/// How emails leave the service.
#[derive(Debug)]
pub enum Mailer {
    /// No SMTP host configured: emails are written to the log (development mode).
    Log,
    /// Delivered over SMTP.
    Smtp(SmtpMailer),
    /// Postmark's template API (`AUTH_SMTP_HOST=postmark`): Postmark renders the email.
    Postmark(PostmarkMailer),
}

impl Mailer {
    /// Empty `smtp_host` → [`Mailer::Log`]; `postmark` → the Postmark API; otherwise SMTP.
    pub fn from_config(config: &Config, tls: &Tls) -> Result<Mailer, MailError> {
        let host = config.email.smtp_host.trim();
        if host.is_empty() {
            return Ok(Mailer::Log);
        }
        if host.eq_ignore_ascii_case("postmark") {
            return Ok(Mailer::Postmark(PostmarkMailer::new(
                &config.email.smtp_postmark_api_url,
                &config.email.smtp_password,
                &config.email.smtp_sender,
                tls,
            )?));
        }
        let settings = SmtpSettings {
            host: host.to_owned(),
            port: config.email.smtp_port,
            secure: config.email.smtp_secure,
            user: config.email.smtp_user.clone(),
            password: config.email.smtp_password.clone(),
            auth_method: config.email.smtp_auth_method,
            sender: config.email.smtp_sender.clone(),
            api_header: config.email.smtp_api_header.clone(),
            timeout: SmtpSettings::DEFAULT_TIMEOUT,
        };
        Ok(Mailer::Smtp(SmtpMailer::new(settings, tls)?))
    }

    /// Sends `template` to `to`: rendered here from `templates` (log, SMTP), or rendered
    /// by Postmark from its own copy of the template.
    pub async fn send_template(
        &self,
        templates: &Templates,
        to: &str,
        template: TemplateName,
        locale: &str,
        vars: &TemplateVars,
    ) -> Result<(), MailError> {
        if let Mailer::Postmark(postmark) = self {
            let result = postmark.send_template(to, template, locale, vars).await;
            match &result {
                Ok(()) => tracing::debug!(to = %to, template = %template, "email sent (postmark)"),
                Err(e) => tracing::error!(to = %to, error = %e, "email delivery failed"),
            }
            return result;
        }
        let rendered = templates.render(template, locale, vars)?;
        self.send(EmailMessage::from_rendered(to, template, rendered, vars))
            .await
    }

    /// Sends a message rendered by the caller (not possible with Postmark, which only
    /// sends its own templates: use [`Mailer::send_template`]).
    pub async fn send(&self, msg: EmailMessage) -> Result<(), MailError> {
        match self {
            Mailer::Log => {
                // One readable message (recipient, subject, links), no JSON-escaped body.
                tracing::info!("{}", printed(&msg));
                Ok(())
            }
            Mailer::Smtp(smtp) => {
                let result = smtp.send(&msg).await;
                match &result {
                    Ok(()) => tracing::debug!(to = %msg.to, subject = %msg.subject, "email sent"),
                    Err(e) => tracing::error!(to = %msg.to, error = %e, "email delivery failed"),
                }
                result
            }
            Mailer::Postmark(_) => Err(MailError::Postmark(
                "only Postmark's own templates can be sent (Mailer::send_template)".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_email_shows_recipient_subject_and_links() {
        let msg = EmailMessage {
            to: "ada@example.com".into(),
            subject: "Verify your email address".into(),
            html: String::new(),
            text: "Open http://localhost:4000/verify?ticket=verifyEmail:1&type=emailVerify \
                   to verify. More at https://example.com/help."
                .into(),
            headers: vec![
                ("X-Ticket".into(), "verifyEmail:1".into()),
                ("X-Email-Template".into(), "email-verify".into()),
                (
                    "X-Link".into(),
                    "http://localhost:4000/verify?ticket=verifyEmail:1&type=emailVerify".into(),
                ),
            ],
        };
        let text = printed(&msg);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "    To:      ada@example.com");
        assert_eq!(lines[2], "    Subject: Verify your email address");
        assert_eq!(
            lines[3],
            "    Link:    http://localhost:4000/verify?ticket=verifyEmail:1&type=emailVerify"
        );
        assert_eq!(lines[4], "    Link:    https://example.com/help");
        assert_eq!(lines.len(), 5, "{text}");
        assert!(!text.contains("Code:"));
    }

    #[test]
    fn printed_otp_email_shows_the_code() {
        let msg = EmailMessage {
            to: "ada@example.com".into(),
            subject: "Your sign-in code".into(),
            html: String::new(),
            text: "Enter this code to finish signing in: 123456".into(),
            headers: vec![
                ("X-Ticket".into(), "123456".into()),
                ("X-Email-Template".into(), "signin-otp".into()),
                ("X-Link".into(), String::new()),
            ],
        };
        let text = printed(&msg);
        assert!(text.ends_with("    Code:    123456"), "{text}");
        assert!(!text.contains("Link:"), "{text}");
    }
}
