//! Emails that carry a ticket: render the template in the user's locale, build the
//! `/verify` link and hand the message to the mailer.

use url::form_urlencoded;

use crate::adapters::email::{EmailMessage, TemplateName, TemplateVars};
use crate::app::AppState;
use crate::error::ApiError;
use crate::service::tickets::TicketKind;

/// What a ticket email is about.
pub struct TicketEmail<'a> {
    pub template: TemplateName,
    pub kind: TicketKind,
    pub to: &'a str,
    pub locale: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub new_email: &'a str,
    pub ticket: &'a str,
    pub redirect_to: &'a str,
}

/// `<AUTH_SERVER_URL>/verify?redirectTo=…&ticket=…&type=…` (keys in alphabetical order).
pub fn verify_link(server_url: &str, ticket: &str, link_type: &str, redirect_to: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("redirectTo", redirect_to)
        .append_pair("ticket", ticket)
        .append_pair("type", link_type)
        .finish();
    format!("{}/verify?{query}", server_url.trim_end_matches('/'))
}

impl AppState {
    pub async fn send_ticket_email(&self, mail: TicketEmail<'_>) -> Result<(), ApiError> {
        let link = verify_link(
            &self.config().server_url,
            mail.ticket,
            mail.kind.link_type(),
            mail.redirect_to,
        );
        let vars = TemplateVars {
            link: link.clone(),
            display_name: mail.display_name.to_owned(),
            email: mail.email.to_owned(),
            new_email: mail.new_email.to_owned(),
            ticket: mail.ticket.to_owned(),
            redirect_to: mail.redirect_to.to_owned(),
            locale: mail.locale.to_owned(),
            server_url: self.config().server_url.clone(),
            client_url: self.config().client_url.clone(),
        };
        let rendered = self
            .templates
            .render(mail.template, mail.locale, &vars)
            .map_err(ApiError::internal)?;
        let message = EmailMessage {
            to: mail.to.to_owned(),
            subject: rendered.subject,
            html: rendered.html,
            text: rendered.text,
            headers: vec![
                ("X-Ticket".to_owned(), mail.ticket.to_owned()),
                ("X-Redirect-To".to_owned(), mail.redirect_to.to_owned()),
                (
                    "X-Email-Template".to_owned(),
                    mail.template.as_str().to_owned(),
                ),
                ("X-Link".to_owned(), link),
            ],
        };
        let sent = self.mailer.send(message).await;
        self.metrics
            .record_delivery(&format!("email:{}", mail.template.as_str()), sent.is_ok());
        sent.map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_has_sorted_encoded_query() {
        let link = verify_link(
            "http://serverURL.com/v1",
            "1234324324",
            "emailVerify",
            "http://asdasdasd.com/as2q3asd?a=123&b=asdqwe",
        );
        assert_eq!(
            link,
            "http://serverURL.com/v1/verify?redirectTo=http%3A%2F%2Fasdasdasd.com%2Fas2q3asd%3Fa%3D123%26b%3Dasdqwe&ticket=1234324324&type=emailVerify"
        );
    }
}
