//! Emails that carry a ticket or a one-time code: fill the template variables, build
//! the `/verify` link and hand them to the mailer (which renders locally, or lets
//! Postmark render). Also the database connections that workflows hold while sending.

use std::sync::Arc;

use tokio::sync::Semaphore;
use url::form_urlencoded;

use crate::adapters::email::{Mailer, TemplateName, TemplateVars, Templates};
use crate::db::DbPool;
use crate::domain::CodeChallenge;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::service::tickets::TicketKind;
use crate::settings::SettingsHandle;

/// Renders and delivers the emails of every workflow, and hands out the database
/// connections those workflows hold while an email is on its way.
#[derive(Clone)]
pub struct Mail {
    pub(crate) db: DbPool,
    /// Half the pool (see [`Mail::connection`]), so a slow mail server cannot starve
    /// sign-ins and token refreshes.
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) mailer: Arc<Mailer>,
    pub(crate) templates: Arc<Templates>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) settings: SettingsHandle,
}

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
    /// The request's PKCE challenge: the link passes it on to `/verify`, whose redirect
    /// then carries a code instead of a refresh token.
    pub code_challenge: Option<&'a CodeChallenge>,
}

/// Where the emailed link leads after `/verify`.
#[derive(Clone, Copy)]
pub struct LinkTarget<'a> {
    pub redirect_to: &'a str,
    /// PKCE: the redirect carries a code instead of a refresh token.
    pub code_challenge: Option<&'a CodeChallenge>,
}

/// `<AUTH_SERVER_URL>/verify?[codeChallenge=…&]redirectTo=…&ticket=…&type=…` (keys in
/// alphabetical order).
pub fn verify_link(
    server_url: &str,
    ticket: &str,
    link_type: &str,
    redirect_to: &str,
    code_challenge: Option<&CodeChallenge>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(challenge) = code_challenge {
        query.append_pair("codeChallenge", challenge.as_str());
    }
    let query = query
        .append_pair("redirectTo", redirect_to)
        .append_pair("ticket", ticket)
        .append_pair("type", link_type)
        .finish();
    format!("{}/verify?{query}", server_url.trim_end_matches('/'))
}

/// A database connection whose transaction may stay open while an email is delivered:
/// the workflows write, send, and commit only once the email was accepted.
pub struct MailConnection<'a> {
    pub client: deadpool_postgres::Object,
    _slot: tokio::sync::SemaphorePermit<'a>,
}

/// A one-time code email (`signin-otp`): no link, the code travels as `${ticket}`.
pub struct OtpEmail<'a> {
    pub to: &'a str,
    pub locale: &'a str,
    pub display_name: &'a str,
    pub code: &'a str,
    pub redirect_to: &'a str,
}

/// A security notice (`AUTH_SECURITY_NOTIFICATIONS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// "Your password was changed."
    PasswordChanged,
    /// "Your email address is being changed", to the old address.
    EmailChange,
    /// "New sign-in from a device not seen before."
    NewSignin,
}

impl Notice {
    /// Its name in `AUTH_SECURITY_NOTIFICATIONS`.
    pub fn setting(self) -> &'static str {
        match self {
            Notice::PasswordChanged => "password-changed",
            Notice::EmailChange => "email-change",
            Notice::NewSignin => "new-signin",
        }
    }

    fn template(self) -> TemplateName {
        match self {
            Notice::PasswordChanged => TemplateName::PasswordChanged,
            Notice::EmailChange => TemplateName::EmailChangeNotice,
            Notice::NewSignin => TemplateName::SigninNewDevice,
        }
    }
}

/// What a notice says and to whom.
#[derive(Clone, Debug, Default)]
pub struct NoticeEmail {
    pub to: String,
    pub locale: String,
    pub display_name: String,
    /// The account's address (the old one, for an email change).
    pub email: String,
    pub new_email: String,
    pub ip: String,
    pub user_agent: String,
}

impl Mail {
    /// Whether `notice` is switched on.
    pub fn notice_enabled(&self, notice: Notice) -> bool {
        self.settings
            .config()
            .security
            .security_notifications
            .iter()
            .any(|n| n == notice.setting())
    }

    /// Sends a security notice in the background: the request never waits for the mail
    /// server, and a failure is only logged (and counted in `hasura_auth_deliveries`).
    /// `before` runs first, in the same background task (it decides whether to send).
    pub fn send_notice<F>(&self, notice: Notice, email: NoticeEmail, before: F)
    where
        F: std::future::Future<Output = bool> + Send + 'static,
    {
        let mail = self.clone();
        tokio::spawn(async move {
            if !before.await {
                return;
            }
            let link = mail.settings.config().client.client_url.clone();
            let vars = mail.template_vars(TemplateVars {
                link,
                display_name: email.display_name,
                email: email.email,
                new_email: email.new_email,
                ip: email.ip,
                user_agent: email.user_agent,
                ..Default::default()
            });
            if let Err(e) = mail
                .deliver(&email.to, notice.template(), &email.locale, vars)
                .await
            {
                tracing::warn!(error = %e, notice = notice.setting(), "sending a security notice failed");
            }
        });
    }

    /// A connection for a workflow that sends an email inside its transaction. Only
    /// half the pool can be held this way; further such requests wait here, before
    /// taking a connection.
    pub async fn connection(&self) -> Result<MailConnection<'_>, ApiError> {
        let slot = self.slots.acquire().await.map_err(ApiError::internal)?;
        let client = self.db.get().await?;
        Ok(MailConnection {
            client,
            _slot: slot,
        })
    }

    /// Stores a new ticket of `kind` for `user` (replacing any pending one) and emails
    /// it to `to`; the ticket is committed only once the email was accepted, so a failed
    /// send leaves the previous ticket in place.
    pub async fn new_ticket(
        &self,
        client: &mut deadpool_postgres::Object,
        user: &crate::db::users::UserRow,
        to: &str,
        kind: TicketKind,
        template: TemplateName,
        target: LinkTarget<'_>,
    ) -> Result<(), ApiError> {
        let ticket = crate::service::tickets::issue(kind);
        let tx = client.transaction().await?;
        crate::db::users::set_ticket(&tx, user.id, &ticket.stored, kind.ttl_secs()).await?;
        self.send_ticket(TicketEmail {
            template,
            kind,
            to,
            locale: &user.locale,
            display_name: &user.display_name,
            email: to,
            new_email: "",
            ticket: &ticket.value,
            redirect_to: target.redirect_to,
            code_challenge: target.code_challenge,
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn send_ticket(&self, mail: TicketEmail<'_>) -> Result<(), ApiError> {
        let link = verify_link(
            &self.settings.config().server.server_url,
            mail.ticket,
            mail.kind.link_type(),
            mail.redirect_to,
            mail.code_challenge,
        );
        let vars = self.template_vars(TemplateVars {
            link,
            display_name: mail.display_name.to_owned(),
            email: mail.email.to_owned(),
            new_email: mail.new_email.to_owned(),
            ticket: mail.ticket.to_owned(),
            redirect_to: mail.redirect_to.to_owned(),
            ..Default::default()
        });
        self.deliver(mail.to, mail.template, mail.locale, vars)
            .await
    }

    /// Sends a ticket email whose `${link}` is given (the OAuth2 provider's built-in page
    /// links back to itself, not to `/verify`).
    pub async fn send_link(&self, mail: TicketEmail<'_>, link: String) -> Result<(), ApiError> {
        let vars = self.template_vars(TemplateVars {
            link,
            display_name: mail.display_name.to_owned(),
            email: mail.email.to_owned(),
            new_email: mail.new_email.to_owned(),
            ticket: mail.ticket.to_owned(),
            redirect_to: mail.redirect_to.to_owned(),
            ..Default::default()
        });
        self.deliver(mail.to, mail.template, mail.locale, vars)
            .await
    }

    /// Sends an email one-time code (upstream: `${link}` is empty, `${ticket}` the code).
    pub async fn send_otp(&self, mail: OtpEmail<'_>) -> Result<(), ApiError> {
        let vars = self.template_vars(TemplateVars {
            display_name: mail.display_name.to_owned(),
            email: mail.to.to_owned(),
            ticket: mail.code.to_owned(),
            redirect_to: mail.redirect_to.to_owned(),
            ..Default::default()
        });
        self.deliver(mail.to, TemplateName::SigninOtp, mail.locale, vars)
            .await
    }

    /// Fills in the variables every template gets from the configuration.
    fn template_vars(&self, vars: TemplateVars) -> TemplateVars {
        let config = self.settings.config();
        TemplateVars {
            server_url: config.server.server_url.clone(),
            client_url: config.client.client_url.clone(),
            ..vars
        }
    }

    async fn deliver(
        &self,
        to: &str,
        template: TemplateName,
        locale: &str,
        mut vars: TemplateVars,
    ) -> Result<(), ApiError> {
        vars.locale = locale.to_owned();
        let sent = self
            .mailer
            .send_template(&self.templates, to, template, locale, &vars)
            .await;
        self.metrics
            .record_delivery(&format!("email:{}", template.as_str()), sent.is_ok());
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
            None,
        );
        assert_eq!(
            link,
            "http://serverURL.com/v1/verify?redirectTo=http%3A%2F%2Fasdasdasd.com%2Fas2q3asd%3Fa%3D123%26b%3Dasdqwe&ticket=1234324324&type=emailVerify"
        );
    }

    #[test]
    fn link_passes_the_code_challenge_on() {
        let challenge =
            CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCQaoWL7U5T0ixuNd8c3eolg").expect("c");
        let link = verify_link(
            "http://server/v1",
            "t",
            "signinPasswordless",
            "http://app/",
            Some(&challenge),
        );
        assert_eq!(
            link,
            "http://server/v1/verify?codeChallenge=E9Melhoa2OwvFrEMTJguCQaoWL7U5T0ixuNd8c3eolg&redirectTo=http%3A%2F%2Fapp%2F&ticket=t&type=signinPasswordless"
        );
    }
}
