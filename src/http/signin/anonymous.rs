//! `POST /signin/anonymous` (the body is optional).

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::options::LocaleCode;
use crate::error::ApiError;
use crate::http::extract::OptionalJson;
use crate::service::anonymous::AnonymousInput;
use crate::service::anonymous::AnonymousSignIn;
use crate::service::session::SessionPayload;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    display_name: Option<String>,
    locale: Option<LocaleCode>,
    metadata: Option<Map<String, Value>>,
}

pub async fn handle(
    State(anonymous): State<Arc<AnonymousSignIn>>,
    OptionalJson(body): OptionalJson<Body>,
) -> Result<Json<SessionPayload>, ApiError> {
    let body = body.unwrap_or_default();
    let session = anonymous
        .signin_anonymous(AnonymousInput {
            display_name: body.display_name,
            locale: body.locale,
            metadata: body.metadata,
        })
        .await?;
    Ok(Json(SessionPayload {
        session: Some(session),
    }))
}
