//! `POST /pat`: create a personal access token (elevated where the policy says so).

use std::sync::Arc;

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::http::extract::{ApiJson, ElevatedBearer};
use crate::service::pat::CreatedPat;
use crate::service::pat::PersonalAccessTokens;

/// An RFC 3339 date-time (the contract's `format: date-time`).
pub struct Rfc3339(DateTime<Utc>);

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Rfc3339(t.with_timezone(&Utc)))
            .map_err(|e| serde::de::Error::custom(format!("expiresAt is not RFC 3339: {e}")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    expires_at: Rfc3339,
    metadata: Option<Map<String, Value>>,
}

pub async fn create(
    State(pats): State<Arc<PersonalAccessTokens>>,
    ElevatedBearer(token): ElevatedBearer,
    ApiJson(body): ApiJson<Body>,
) -> Result<Json<CreatedPat>, ApiError> {
    Ok(Json(
        pats.create_pat(&token, body.expires_at.0, body.metadata)
            .await?,
    ))
}
