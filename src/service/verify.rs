//! `GET /verify`: following an emailed link consumes its ticket, applies it and signs the
//! user in, then redirects back to the application.

use url::Url;

use crate::db::users;
use crate::domain::CodeChallenge;
use crate::error::ErrorCode;
use crate::service::audit::{self, Outcome};
use crate::service::tickets::{Ticket, TicketKind};
use crate::service::user_check::Tolerate;

/// Where `/verify` sends the browser.
pub enum VerifyOutcome {
    /// Success: redirect with these parameters added.
    SignedIn {
        refresh_token: String,
        ticket_type: &'static str,
    },
    /// Success of a flow started with a `codeChallenge`: redirect with a PKCE code
    /// instead of the refresh token.
    Code {
        code: String,
        ticket_type: &'static str,
    },
}

/// Emailed links (`GET /verify`).
#[derive(Clone)]
pub struct TicketVerification {
    pub(crate) db: crate::db::DbPool,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) sessions: crate::service::session::Sessions,
    pub(crate) pkce: crate::service::pkce::PkceCodes,
}

impl TicketVerification {
    /// Runs a verification ticket. Errors are reported as redirects by the caller. With
    /// a `challenge` no session is made here: the redirect carries a PKCE code for
    /// `POST /token/exchange`.
    pub async fn verify_ticket(
        &self,
        ticket: &Ticket,
        challenge: Option<&CodeChallenge>,
        redirect_to: &str,
    ) -> Result<VerifyOutcome, ErrorCode> {
        if ticket.is_otp() {
            return Err(ErrorCode::InvalidRequest);
        }
        let kind = match ticket.kind() {
            Some(TicketKind::MfaTotp) | None => return Err(ErrorCode::InvalidTicket),
            Some(kind) => kind,
        };
        let mut client = self
            .db
            .get()
            .await
            .map_err(|e| internal("database pool", e))?;
        // Consuming and applying the ticket is one transaction: a ticket is used up only
        // when it did its job (a failed check or write leaves it as it was).
        let tx = client
            .transaction()
            .await
            .map_err(|e| internal("starting a transaction", e))?;
        let forms = ticket.lookup_forms();
        let form_refs: Vec<&str> = forms.iter().map(String::as_str).collect();
        let user = users::consume_ticket(&tx, &form_refs)
            .await
            .map_err(|e| internal("consuming ticket", e))?
            .ok_or(ErrorCode::InvalidTicket)?;
        let tolerate_unverified = matches!(
            kind,
            TicketKind::VerifyEmail | TicketKind::PasswordlessEmail
        );
        self.accounts.check(
            &user,
            Tolerate {
                unverified: tolerate_unverified,
                anonymous: false,
            },
        )?;
        let applied = match kind {
            TicketKind::VerifyEmail | TicketKind::PasswordlessEmail => {
                users::mark_email_verified(&tx, user.id).await
            }
            TicketKind::EmailConfirmChange => users::confirm_email_change(&tx, user.id).await,
            TicketKind::PasswordReset | TicketKind::MfaTotp => Ok(()),
        };
        applied.map_err(|e| match e {
            crate::db::DbError::DuplicateEmail => ErrorCode::EmailAlreadyInUse,
            other => internal("applying ticket", other),
        })?;
        tx.commit()
            .await
            .map_err(|e| internal("committing ticket", e))?;
        drop(client);
        if kind == TicketKind::EmailConfirmChange {
            audit::event("email-change", Outcome::Success)
                .user(user.id)
                .reason("confirmed")
                .record();
        }
        if let Some(challenge) = challenge {
            let code = self
                .pkce
                .issue(user.id, challenge, Some(redirect_to))
                .await
                .map_err(|e| e.code())?;
            return Ok(VerifyOutcome::Code {
                code,
                ticket_type: kind.prefix(),
            });
        }
        let session = self
            .sessions
            .new_session(&user)
            .await
            .map_err(|e| e.code())?;
        Ok(VerifyOutcome::SignedIn {
            refresh_token: session.refresh_token.into_exposed(),
            ticket_type: kind.prefix(),
        })
    }
}

/// Logs an unexpected failure; the browser only sees `internal-server-error`.
fn internal(what: &str, e: impl std::fmt::Display) -> ErrorCode {
    tracing::error!(error = %e, "{what}");
    ErrorCode::InternalServerError
}

/// Adds parameters to a URL's query, keeping its own ones; keys end up sorted as upstream
/// (Go's `url.Values.Encode`) writes them.
pub fn with_query(base: &Url, params: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = base
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .filter(|(k, _)| !params.iter().any(|(p, _)| p == k))
        .collect();
    pairs.extend(
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut url = base.clone();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_query_keeps_existing_params_and_sorts() {
        let base = Url::parse("http://localhost:3000/redirect?z=1&a=b%20c").expect("url");
        let out = with_query(&base, &[("refreshToken", "t"), ("type", "verifyEmail")]);
        assert_eq!(
            out,
            "http://localhost:3000/redirect?a=b+c&refreshToken=t&type=verifyEmail&z=1"
        );
    }
}
