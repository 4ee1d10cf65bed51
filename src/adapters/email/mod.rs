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
                tracing::info!(
                    to = %msg.to,
                    subject = %msg.subject,
                    headers = ?msg.headers,
                    body = %msg.text,
                    "email (no SMTP host configured, printed instead of sent)"
                );
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
