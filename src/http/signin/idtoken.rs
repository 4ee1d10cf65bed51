//! `POST /signin/idtoken`: sign in (or up) with an Apple or Google id token.

use axum::{Json, extract::State};
use serde::Deserialize;

use crate::app::SharedState;
use crate::domain::SignUpOptionsInput;
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::service::oauth::IdTokenProvider;
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
    State(state): State<SharedState>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Json<SessionPayload>, ApiError> {
    let session = state
        .sign_in_id_token(
            body.provider,
            &body.id_token,
            body.nonce.as_deref(),
            body.options,
        )
        .await?;
    Ok(Json(SessionPayload { session }))
}
