//! The OAuth2 error model (RFC 6749 §5.2, Nhost Auth 0.52's `oauth2/errors.go`): a code
//! and a description, answered as `{"error","error_description"}` with status 401 for
//! `invalid_client` and `invalid_token`, 500 for `server_error`, 400 for the rest. The
//! token and userinfo endpoints add `WWW-Authenticate: Bearer …` to their 401s, and token
//! responses carry `Cache-Control: no-store` and `Pragma: no-cache` (see the builders).
//!
//! This is the provider's only error type: the endpoints answer OAuth2 errors, not the
//! service's usual `{"status","error","message"}` body (except `/oauth2/login`, the
//! consent UI's API, which answers the usual body through [`OAuth2Error::into_api`]).

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db::DbError;
use crate::error::{ApiError, ErrorCode};

/// The error codes of RFC 6749, 6750 and 7009 the provider answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuth2ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    InvalidToken,
    /// RFC 8628 §3.5: the device flow's polling answers.
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
}

impl OAuth2ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::InvalidToken => "invalid_token",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
        }
    }

    /// Upstream's mapping: 401 for client and token errors, 500 for `server_error`.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl std::fmt::Display for OAuth2ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth2 error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Error {
    pub code: OAuth2ErrorCode,
    pub description: Cow<'static, str>,
    /// Adds `WWW-Authenticate: Bearer error=…` when the status is 401 (token, userinfo).
    bearer_challenge: bool,
    /// Adds `Cache-Control: no-store` and `Pragma: no-cache` (token responses).
    no_store: bool,
}

/// What the provider says when it is not enabled (`AUTH_OAUTH2_PROVIDER_ENABLED=false`).
pub const DISABLED: &str = "OAuth2 provider is disabled";

impl OAuth2Error {
    pub fn new(code: OAuth2ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuth2Error {
            code,
            description: description.into(),
            bearer_challenge: false,
            no_store: false,
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuth2ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuth2ErrorCode::InvalidClient, description)
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuth2ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuth2ErrorCode::InvalidScope, description)
    }

    pub fn access_denied(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuth2ErrorCode::AccessDenied, description)
    }

    pub fn invalid_token(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuth2ErrorCode::InvalidToken, description)
    }

    /// `server_error` "OAuth2 provider is disabled".
    pub fn disabled() -> Self {
        Self::new(OAuth2ErrorCode::ServerError, DISABLED)
    }

    /// An unexpected failure: the cause is logged, the client sees a generic
    /// `server_error`.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(
            error = %cause,
            trace_id = crate::request_log::current_trace_id().as_str(),
            "OAuth2 request failed"
        );
        Self::new(OAuth2ErrorCode::ServerError, "Internal server error")
    }

    /// With `WWW-Authenticate` on a 401 (RFC 6750 §3; the token and userinfo endpoints).
    pub fn with_bearer_challenge(mut self) -> Self {
        self.bearer_challenge = true;
        self
    }

    /// With `Cache-Control: no-store` and `Pragma: no-cache` (token endpoint answers).
    pub fn no_store(mut self) -> Self {
        self.no_store = true;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The same error as the service's usual body (`/oauth2/login`): `invalid-request`
    /// with the status of the OAuth2 mapping, the description as message.
    pub fn into_api(self) -> ApiError {
        let code = match self.code {
            OAuth2ErrorCode::ServerError => ErrorCode::InternalServerError,
            _ => ErrorCode::InvalidRequest,
        };
        ApiError::custom(self.status(), code, self.description)
    }
}

impl std::fmt::Display for OAuth2Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuth2Error {}

impl From<DbError> for OAuth2Error {
    fn from(e: DbError) -> Self {
        OAuth2Error::internal(format!("database: {e}"))
    }
}

impl From<deadpool_postgres::PoolError> for OAuth2Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        DbError::from(e).into()
    }
}

impl From<ApiError> for OAuth2Error {
    fn from(e: ApiError) -> Self {
        OAuth2Error::internal(e)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// A quoted-string value for `WWW-Authenticate` (RFC 7235): `"` and `\` escaped,
/// control characters dropped.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl IntoResponse for OAuth2Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut res = (
            status,
            Json(Body {
                error: self.code.as_str(),
                error_description: &self.description,
            }),
        )
            .into_response();
        let headers = res.headers_mut();
        if self.bearer_challenge && status == StatusCode::UNAUTHORIZED {
            let value = format!(
                "Bearer error={}, error_description={}",
                quoted(self.code.as_str()),
                quoted(&self.description)
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        if self.no_store {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(res: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(res.into_body(), 4096)
            .await
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[test]
    fn statuses_follow_upstreams_mapping() {
        use OAuth2ErrorCode::*;
        for (code, status) in [
            (InvalidClient, 401),
            (InvalidToken, 401),
            (ServerError, 500),
            (InvalidRequest, 400),
            (InvalidGrant, 400),
            (InvalidScope, 400),
            (UnsupportedResponseType, 400),
            (UnsupportedGrantType, 400),
            (AccessDenied, 400),
            (UnauthorizedClient, 400),
            (AuthorizationPending, 400),
            (SlowDown, 400),
            (ExpiredToken, 400),
        ] {
            assert_eq!(code.status().as_u16(), status, "{code}");
        }
    }

    #[tokio::test]
    async fn body_and_headers() {
        let res = OAuth2Error::invalid_client("Unknown \"client\"")
            .with_bearer_challenge()
            .no_store()
            .into_response();
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_client", error_description="Unknown \"client\"""#
        );
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(res.headers()[header::PRAGMA], "no-cache");
        assert_eq!(
            body(res).await,
            serde_json::json!({"error": "invalid_client", "error_description": "Unknown \"client\""})
        );
    }

    #[tokio::test]
    async fn no_challenge_unless_asked_or_not_401() {
        let res = OAuth2Error::invalid_client("x").into_response();
        assert!(res.headers().get(header::WWW_AUTHENTICATE).is_none());
        assert!(res.headers().get(header::CACHE_CONTROL).is_none());
        let res = OAuth2Error::invalid_grant("x")
            .with_bearer_challenge()
            .into_response();
        assert!(res.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[tokio::test]
    async fn disabled_is_a_server_error() {
        let res = OAuth2Error::disabled().into_response();
        assert_eq!(res.status(), 500);
        assert_eq!(
            body(res).await,
            serde_json::json!({"error": "server_error", "error_description": "OAuth2 provider is disabled"})
        );
    }
}
