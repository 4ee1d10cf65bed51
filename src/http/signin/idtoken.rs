//! `POST /signin/idtoken`: sign in (or up, unless `AUTH_DISABLE_AUTO_SIGNUP`) with an
//! Apple or Google id token; `POST /signup/idtoken`: sign up only.

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::Deserialize;

use crate::domain::SignUpOptionsInput;
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::service::oauth::IdTokenProvider;
use crate::service::oauth::OAuthSignIn;
use crate::service::registration::Origin;
use crate::service::session::SessionPayload;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    provider: IdTokenProvider,
    id_token: String,
    nonce: Option<String>,
    options: Option<SignUpOptionsInput>,
}

pub async fn handle(
    State(oauth): State<Arc<OAuthSignIn>>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Json<SessionPayload>, ApiError> {
    id_token(&oauth, body, Origin::SignIn).await
}

/// `POST /signup/idtoken`: 409 `user-already-exists` when the account is known.
pub async fn sign_up(
    State(oauth): State<Arc<OAuthSignIn>>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Json<SessionPayload>, ApiError> {
    id_token(&oauth, body, Origin::SignUp).await
}

async fn id_token(
    oauth: &OAuthSignIn,
    body: Body,
    origin: Origin,
) -> Result<Json<SessionPayload>, ApiError> {
    let session = oauth
        .sign_in_id_token(
            body.provider,
            &body.id_token,
            body.nonce.as_deref(),
            body.options,
            origin,
        )
        .await?;
    Ok(Json(SessionPayload { session }))
}
