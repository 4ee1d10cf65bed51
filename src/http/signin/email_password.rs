//! `POST /signin/email-password`.

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};

use crate::domain::{Email, Password};
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::service::session::Session;
use crate::service::signin::EmailPasswordSignIn;
use crate::service::signin::{MfaChallenge, PasswordSignIn};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    email: Email,
    password: Password,
}

#[derive(Serialize)]
pub struct Response {
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<Session>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa: Option<MfaChallenge>,
}

pub async fn handle(
    State(signin): State<Arc<EmailPasswordSignIn>>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Json<Response>, ApiError> {
    Ok(Json(
        match signin
            .signin_email_password(body.email, body.password)
            .await?
        {
            PasswordSignIn::Session(s) => Response {
                session: Some(*s),
                mfa: None,
            },
            PasswordSignIn::Mfa(m) => Response {
                session: None,
                mfa: Some(m),
            },
        },
    ))
}
