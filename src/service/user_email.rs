//! A user's email address: sending the verification link again
//! (`POST /user/email/send-verification-email`) and changing the address
//! (`POST /user/email/change`).

use crate::adapters::email::TemplateName;
use crate::db::{email_flows, users};
use crate::domain::options::RedirectOptionsInput;
use crate::domain::{CodeChallenge, Email};
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::email::{LinkTarget, TicketEmail};
use crate::service::email::{Notice, NoticeEmail};
use crate::service::tickets::{self, TicketKind};
use crate::service::user_check::Tolerate;
use crate::tokens::VerifiedToken;

/// Email change and verification emails for signed-in users.
#[derive(Clone)]
pub struct EmailChange {
    pub(crate) mail: crate::service::email::Mail,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) settings: crate::settings::SettingsHandle,
}

impl EmailChange {
    /// `POST /user/email/send-verification-email`: a new `verifyEmail` link (30 days) for
    /// an account whose address is not verified yet. As upstream, an unknown address is
    /// `invalid-email-password` and a verified one `email-already-verified`; both are
    /// hidden by `AUTH_CONCEAL_ERRORS`.
    pub async fn send_verification_email(
        &self,
        email: Email,
        options: Option<RedirectOptionsInput>,
        code_challenge: Option<CodeChallenge>,
    ) -> Result<(), ApiError> {
        let redirect_to = self
            .settings
            .policy()
            .resolve_redirect_options(options.as_ref())?;
        let mut mail = self.mail.connection().await?;
        let client = &mut mail.client;
        let user = users::find_by_email(&*client, &email)
            .await?
            .ok_or(ErrorCode::InvalidEmailPassword)?;
        self.accounts.check(
            &user,
            Tolerate {
                unverified: true,
                anonymous: false,
            },
        )?;
        if user.email_verified {
            return Err(ErrorCode::EmailAlreadyVerified.into());
        }
        let to = user
            .email
            .clone()
            .unwrap_or_else(|| email.as_str().to_owned());
        self.mail
            .new_ticket(
                client,
                &user,
                &to,
                TicketKind::VerifyEmail,
                TemplateName::EmailVerify,
                LinkTarget {
                    redirect_to: &redirect_to,
                    code_challenge: code_challenge.as_ref(),
                },
            )
            .await?;
        Ok(())
    }

    /// `POST /user/email/change`: emails an `emailConfirmChange` link (one hour) to the
    /// new address; following it swaps the address in. Until then the account keeps its
    /// current address and verification state (upstream marked the old address verified
    /// here). The new address must pass the email allow/block lists, otherwise the
    /// account would lock itself out.
    pub async fn change_email(
        &self,
        token: &VerifiedToken,
        new_email: Email,
        options: Option<RedirectOptionsInput>,
        code_challenge: Option<CodeChallenge>,
    ) -> Result<(), ApiError> {
        let redirect_to = self
            .settings
            .policy()
            .resolve_redirect_options(options.as_ref())?;
        let user = self
            .accounts
            .user_from_token(token, Tolerate::default())
            .await?;
        self.settings.policy().check_email(new_email.as_str())?;
        let mut mail = self.mail.connection().await?;
        let client = &mut mail.client;
        if email_flows::email_exists(&*client, &new_email).await? {
            return Err(ErrorCode::EmailAlreadyInUse.into());
        }
        let kind = TicketKind::EmailConfirmChange;
        let ticket = tickets::issue(kind);
        let tx = client.transaction().await?;
        email_flows::request_email_change(
            &tx,
            user.id,
            new_email.as_str(),
            &ticket.stored,
            kind.ttl_secs(),
        )
        .await?;
        self.mail
            .send_ticket(TicketEmail {
                template: TemplateName::EmailConfirmChange,
                kind,
                to: new_email.as_str(),
                locale: &user.locale,
                display_name: &user.display_name,
                email: user.email.as_deref().unwrap_or_default(),
                new_email: new_email.as_str(),
                ticket: &ticket.value,
                redirect_to: &redirect_to,
                code_challenge: code_challenge.as_ref(),
            })
            .await?;
        tx.commit().await?;
        audit::event("email-change", Outcome::Success)
            .user(user.id)
            .reason("requested")
            .record();
        // To the old address: if the change is not the owner's doing, they learn of it
        // before the new address is confirmed.
        if let Some(old) = user.email.clone().filter(|e| !e.is_empty())
            && self.mail.notice_enabled(Notice::EmailChange)
        {
            self.mail.send_notice(
                Notice::EmailChange,
                NoticeEmail {
                    to: old.clone(),
                    locale: user.locale.clone(),
                    display_name: user.display_name.clone(),
                    email: old,
                    new_email: new_email.as_str().to_owned(),
                    ..Default::default()
                },
                std::future::ready(true),
            );
        }
        Ok(())
    }
}
