//! Outgoing email: templates rendered per locale, delivered over SMTP (or printed to
//! the log in development mode).

pub mod templates;

pub use templates::{RenderedEmail, TemplateError, TemplateName, TemplateVars, Templates};

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

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("smtp: {0}")]
    Smtp(String),
    #[error("invalid address: {0}")]
    Address(String),
}

/// How emails leave the service.
pub enum Mailer {
    /// No SMTP host configured: emails are written to the log (development mode).
    Log,
}

impl Mailer {
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
        }
    }
}
