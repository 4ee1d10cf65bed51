//! `POST /user/deanonymize`: an anonymous user becomes a regular one with an email, and a
//! password or passwordless sign-in.

use serde::Deserialize;

use crate::adapters::email::TemplateName;
use crate::db::{email_flows, refresh_tokens};
use crate::domain::options::SignUpOptionsInput;
use crate::domain::{CodeChallenge, Email, Password};
use crate::error::{ApiError, ErrorCode};
use crate::service::email::TicketEmail;
use crate::service::tickets::{self, TicketKind};
use crate::tokens::VerifiedToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum SignInMethod {
    EmailPassword,
    Passwordless,
}

/// Our own wording for a refused value in a request body (not serde's).
impl TryFrom<String> for SignInMethod {
    type Error = &'static str;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "email-password" => Ok(SignInMethod::EmailPassword),
            "passwordless" => Ok(SignInMethod::Passwordless),
            _ => Err(r#"signInMethod must be "email-password" or "passwordless""#),
        }
    }
}

pub struct DeanonymizeInput {
    pub sign_in_method: SignInMethod,
    pub email: Email,
    pub password: Option<Password>,
    pub options: Option<SignUpOptionsInput>,
    pub code_challenge: Option<CodeChallenge>,
}

/// Turning an anonymous user into a regular one.
#[derive(Clone)]
pub struct Deanonymization {
    pub(crate) passwords: std::sync::Arc<crate::tokens::password_hash::PasswordHasher>,
    pub(crate) password_rules: crate::service::password_check::NewPasswordRules,
    pub(crate) mail: crate::service::email::Mail,
    pub(crate) settings: crate::settings::SettingsHandle,
}

impl Deanonymization {
    /// Upstream's order of checks: anonymous claim, password, sign-up options, email
    /// lists, email not taken. Then roles and profile are replaced and, when a link is
    /// emailed (passwordless, or verification required), every refresh token of the
    /// user is deleted: the old anonymous session must not outlive the change.
    ///
    /// Unlike upstream, the database must agree that the user is still anonymous: an
    /// anonymous access token that is still valid after a first deanonymisation cannot
    /// rewrite the account's email and password.
    pub async fn deanonymize(
        &self,
        token: &VerifiedToken,
        input: DeanonymizeInput,
    ) -> Result<(), ApiError> {
        if !token.is_anonymous() {
            return Err(ErrorCode::UserNotAnonymous.into());
        }
        let user_id = token
            .user_id()
            .or_else(|| token.subject_id())
            .ok_or(ErrorCode::InvalidRequest)?;
        let password = match (input.sign_in_method, &input.password) {
            (SignInMethod::EmailPassword, None) => {
                return Err(ApiError::validation(
                    "password is required for the email-password sign-in method",
                ));
            }
            (SignInMethod::EmailPassword, Some(p)) => {
                self.password_rules.check(p).await?;
                Some(p)
            }
            (SignInMethod::Passwordless, _) => None,
        };
        let email = input.email.as_str();
        let options = self
            .settings
            .policy()
            .resolve_signup_options(input.options, email)?;
        self.settings.policy().check_email(email)?;
        let mut mail = self.mail.connection().await?;
        let client = &mut mail.client;
        if email_flows::email_exists(&*client, &input.email).await? {
            return Err(ErrorCode::EmailAlreadyInUse.into());
        }
        let password_hash = match password {
            Some(p) => Some(self.passwords.hash(p.expose()).await?),
            None => None,
        };
        let mail = match input.sign_in_method {
            SignInMethod::Passwordless => Some((
                TicketKind::PasswordlessEmail,
                TemplateName::SigninPasswordless,
            )),
            SignInMethod::EmailPassword
                if self.settings.config().signup.email_verification_required =>
            {
                Some((TicketKind::VerifyEmail, TemplateName::EmailVerify))
            }
            SignInMethod::EmailPassword => None,
        };
        let ticket = mail.map(|(kind, _)| tickets::issue(kind));

        let tx = client.transaction().await?;
        let changed = email_flows::deanonymize(
            &tx,
            &email_flows::Deanonymized {
                user_id,
                email,
                password_hash: password_hash.as_deref(),
                default_role: &options.default_role,
                display_name: &options.display_name,
                locale: &options.locale,
                // SQL NULL when the client gave none, as upstream.
                metadata: Some(&options.metadata).filter(|m| !m.is_null()),
                ticket: ticket
                    .as_ref()
                    .zip(mail)
                    .map(|(t, (kind, _))| (t.stored.as_str(), kind.ttl_secs())),
                roles: &options.allowed_roles,
            },
        )
        .await?;
        if !changed {
            return Err(ErrorCode::UserNotAnonymous.into());
        }
        if let (Some(ticket), Some((kind, template))) = (&ticket, mail) {
            refresh_tokens::delete_all_for_user(&tx, user_id).await?;
            self.mail
                .send_ticket(TicketEmail {
                    template,
                    kind,
                    to: email,
                    locale: &options.locale,
                    display_name: &options.display_name,
                    email,
                    new_email: "",
                    ticket: &ticket.value,
                    redirect_to: &options.redirect_to,
                    code_challenge: input.code_challenge.as_ref(),
                })
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
