//! `GET /verify?ticket=…&redirectTo=…`: always answers with a redirect once `redirectTo`
//! is known to be allowed; failures travel as `error`/`errorDescription` parameters.

use std::sync::Arc;

use axum::{
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header::LOCATION},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use url::Url;

use crate::contract::Generation;
use crate::domain::CodeChallenge;
use crate::error::{ApiError, ErrorCode};
use crate::service::tickets::Ticket;
use crate::service::verify::{TicketVerification, VerifyOutcome, with_query};
use crate::settings::SettingsHandle;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Params {
    ticket: Option<String>,
    redirect_to: Option<String>,
    #[serde(rename = "type")]
    link_type: Option<String>,
    code_challenge: Option<String>,
}

const LINK_TYPES: [&str; 4] = [
    "emailVerify",
    "emailConfirmChange",
    "signinPasswordless",
    "passwordReset",
];

pub fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(LOCATION, v)]).into_response(),
        Err(_) => ApiError::internal("redirect location is not a valid header").into_response(),
    }
}

/// A redirect to `base` carrying an error, concealed when configured.
pub fn error_redirect(settings: &SettingsHandle, base: &Url, code: ErrorCode) -> Response {
    let code = code.visible(settings.config().server.conceal_errors);
    redirect(&with_query(
        base,
        &[
            ("error", code.as_str()),
            ("errorDescription", code.message()),
        ],
    ))
}

pub async fn handle(
    State(verification): State<Arc<TicketVerification>>,
    State(settings): State<SettingsHandle>,
    State(generation): State<Generation>,
    // Not `ApiQuery`: a ticket holding NUL must get the error redirect of any unknown
    // ticket (`Ticket::kind` refuses it before the database), which a 400 would not give.
    // The other parameters never reach the database.
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) =
        params.map_err(|e| crate::http::extract::query_error("invalid query", &e.to_string()))?;
    let ticket = params
        .ticket
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::request_invalid("query argument ticket is required"))?;
    let redirect_to = params
        .redirect_to
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::request_invalid("query argument redirectTo is required"))?;
    if let Some(t) = &params.link_type
        && !LINK_TYPES.contains(&t.as_str())
    {
        return Err(ApiError::schema_violation(format!(
            "type must be one of {}",
            LINK_TYPES.join(", ")
        )));
    }
    let challenge = params
        .code_challenge
        .filter(|c| !c.is_empty())
        .map(|c| CodeChallenge::parse(&c))
        .transpose()
        .map_err(ApiError::schema_violation)?;
    let target = Url::parse(&redirect_to).map_err(|_| ApiError::Code(ErrorCode::InvalidRequest))?;
    if !settings.policy().redirects.allows(&redirect_to) {
        let client = Url::parse(&settings.config().client.client_url)
            .map_err(|_| ApiError::Code(ErrorCode::RedirectToNotAllowed))?;
        return Ok(error_redirect(
            &settings,
            &client,
            ErrorCode::RedirectToNotAllowed,
        ));
    }
    Ok(
        match verification
            .verify_ticket(&Ticket::presented(ticket), challenge.as_ref(), &redirect_to)
            .await
        {
            Ok(VerifyOutcome::SignedIn {
                refresh_token,
                ticket_type,
            }) => redirect(&with_query(
                &target,
                &[("refreshToken", &refresh_token), ("type", ticket_type)],
            )),
            Ok(VerifyOutcome::Code { code, ticket_type }) => redirect(&with_query(
                &target,
                &[("code", &code), ("type", ticket_type)],
            )),
            Err(code) => error_redirect(&settings, &target, code.in_generation(generation)),
        },
    )
}
