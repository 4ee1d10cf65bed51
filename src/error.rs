//! The error policy, in one place.
//!
//! Every failure a client can see is an [`ApiError`]. Application errors carry an
//! [`ErrorCode`] and are rendered as upstream's body
//! `{"error":"<code>","message":"<text>","status":<int>}`. Input that cannot be parsed
//! (malformed JSON, wrong types, unknown fields, values outside the contract, missing or
//! invalid bearer tokens) is a [`ApiError::Validation`]: upstream answers those with a
//! 400 and a non-standard or empty body; we keep the 400 but always send the standard
//! shape with `invalid-request` and a message that says what was wrong.
//!
//! `AUTH_CONCEAL_ERRORS` is applied by `http::middleware::conceal_errors`, which rewrites
//! sensitive codes (found through [`rendered_code`]) after the handler ran, so handlers
//! never need to know about it.
//! Internal errors are logged with their cause and never leak it to the client.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// Error identifiers of upstream's contract (OpenAPI `ErrorResponse.error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    DefaultRoleMustBeInAllowedRoles,
    DisabledEndpoint,
    DisabledUser,
    EmailAlreadyInUse,
    EmailAlreadyVerified,
    ForbiddenAnonymous,
    InternalServerError,
    InvalidEmailPassword,
    InvalidRequest,
    LocaleNotAllowed,
    PasswordTooShort,
    PasswordInHibpDatabase,
    RedirectToNotAllowed,
    RoleNotAllowed,
    SignupDisabled,
    UnverifiedUser,
    UserNotAnonymous,
    InvalidPat,
    InvalidRefreshToken,
    InvalidTicket,
    DisabledMfaTotp,
    NoTotpSecret,
    InvalidTotp,
    MfaTypeNotFound,
    TotpAlreadyActive,
    InvalidState,
    OauthTokenExchangeFailed,
    OauthProfileFetchFailed,
    OauthProviderError,
    InvalidOtp,
    CannotSendSms,
    /// Nhost Auth 0.50's code for the explicit sign-up routes (`/signup/idtoken`,
    /// `/signup/provider/{provider}`): the account already exists.
    UserAlreadyExists,
    /// Not in the OpenAPI enum: upstream's validator rejects non-elevated tokens on
    /// `BearerAuthElevated` routes with a 400 whose text contains this identifier.
    ElevatedClaimRequired,
    /// Not upstream's: the database cannot be reached or answer in time (upstream answers
    /// 500 `internal-server-error`); sent with `Retry-After`.
    ServiceUnavailable,
    /// Not upstream's (upstream decodes any body as JSON): a request body that is not
    /// declared as JSON on a JSON route, refused with 415.
    UnsupportedMediaType,
}

impl ErrorCode {
    /// The wire identifier (note upstream's spelling of `oauth-token-echange-failed`).
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            DefaultRoleMustBeInAllowedRoles => "default-role-must-be-in-allowed-roles",
            DisabledEndpoint => "disabled-endpoint",
            DisabledUser => "disabled-user",
            EmailAlreadyInUse => "email-already-in-use",
            EmailAlreadyVerified => "email-already-verified",
            ForbiddenAnonymous => "forbidden-anonymous",
            InternalServerError => "internal-server-error",
            InvalidEmailPassword => "invalid-email-password",
            InvalidRequest => "invalid-request",
            LocaleNotAllowed => "locale-not-allowed",
            PasswordTooShort => "password-too-short",
            PasswordInHibpDatabase => "password-in-hibp-database",
            RedirectToNotAllowed => "redirectTo-not-allowed",
            RoleNotAllowed => "role-not-allowed",
            SignupDisabled => "signup-disabled",
            UnverifiedUser => "unverified-user",
            UserNotAnonymous => "user-not-anonymous",
            InvalidPat => "invalid-pat",
            InvalidRefreshToken => "invalid-refresh-token",
            InvalidTicket => "invalid-ticket",
            DisabledMfaTotp => "disabled-mfa-totp",
            NoTotpSecret => "no-totp-secret",
            InvalidTotp => "invalid-totp",
            MfaTypeNotFound => "mfa-type-not-found",
            TotpAlreadyActive => "totp-already-active",
            InvalidState => "invalid-state",
            OauthTokenExchangeFailed => "oauth-token-echange-failed",
            OauthProfileFetchFailed => "oauth-profile-fetch-failed",
            OauthProviderError => "oauth-provider-error",
            InvalidOtp => "invalid-otp",
            CannotSendSms => "cannot-send-sms",
            UserAlreadyExists => "user-already-exists",
            ElevatedClaimRequired => "elevated-claim-required",
            ServiceUnavailable => "service-unavailable",
            UnsupportedMediaType => "unsupported-media-type",
        }
    }

    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            DisabledEndpoint | EmailAlreadyInUse | UserAlreadyExists => StatusCode::CONFLICT,
            DisabledUser | InvalidEmailPassword | UnverifiedUser | InvalidPat
            | InvalidRefreshToken | InvalidTicket | DisabledMfaTotp | InvalidTotp => {
                StatusCode::UNAUTHORIZED
            }
            ForbiddenAnonymous | SignupDisabled => StatusCode::FORBIDDEN,
            InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn message(self) -> &'static str {
        use ErrorCode::*;
        match self {
            DefaultRoleMustBeInAllowedRoles => "Default role must be in allowed roles",
            DisabledEndpoint => "This endpoint is disabled",
            DisabledUser => "User is disabled",
            EmailAlreadyInUse => "Email already in use",
            EmailAlreadyVerified => "User's email is already verified",
            ForbiddenAnonymous => "Forbidden, user is anonymous.",
            InternalServerError => "Internal server error",
            InvalidEmailPassword => "Incorrect email or password",
            InvalidRequest => "The request payload is incorrect",
            LocaleNotAllowed => "Locale not allowed",
            PasswordTooShort => "Password is too short",
            PasswordInHibpDatabase => "Password is in HIBP database",
            RedirectToNotAllowed => "The value of \"options.redirectTo\" is not allowed.",
            RoleNotAllowed => "Role not allowed",
            SignupDisabled => "Sign up is disabled.",
            UnverifiedUser => "User is not verified.",
            UserNotAnonymous => "Logged in user is not anonymous",
            InvalidPat => "Invalid or expired personal access token",
            InvalidRefreshToken => "Invalid or expired refresh token",
            InvalidTicket => "Invalid ticket",
            DisabledMfaTotp => "User does not have TOTP MFA enabled",
            NoTotpSecret => "User does not have a TOTP secret",
            InvalidTotp => "Invalid TOTP code",
            MfaTypeNotFound => "MFA type not found",
            TotpAlreadyActive => "TOTP MFA is already active",
            InvalidState => "Invalid state",
            OauthTokenExchangeFailed => "Failed to exchange token",
            OauthProfileFetchFailed => "Failed to get user profile",
            OauthProviderError => "Provider returned an error",
            InvalidOtp => "Invalid or expired OTP",
            CannotSendSms => "Cannot send SMS, check your phone number is correct",
            UserAlreadyExists => "User already exists",
            ElevatedClaimRequired => "Elevated claim required",
            ServiceUnavailable => "The service is temporarily unavailable, try again later",
            UnsupportedMediaType => {
                "The request body must be JSON (Content-Type: application/json)"
            }
        }
    }

    /// Codes that reveal something about an account; hidden by `AUTH_CONCEAL_ERRORS`.
    pub fn is_sensitive(self) -> bool {
        use ErrorCode::*;
        matches!(
            self,
            DisabledUser
                | EmailAlreadyInUse
                | UserAlreadyExists
                | EmailAlreadyVerified
                | ForbiddenAnonymous
                | InvalidEmailPassword
                | RoleNotAllowed
                | SignupDisabled
                | UnverifiedUser
                | InvalidPat
                | InvalidRefreshToken
                | InvalidTicket
                | DisabledMfaTotp
                | NoTotpSecret
                | InvalidTotp
                | InvalidOtp
        )
    }

    /// The code a client sees, given the conceal setting.
    pub fn visible(self, conceal: bool) -> ErrorCode {
        if conceal && self.is_sensitive() {
            ErrorCode::InvalidRequest
        } else {
            self
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a request handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An application error with upstream's code, status and message.
    #[error("{0}")]
    Code(ErrorCode),
    /// Input that does not satisfy the contract (decoding, schema, bearer token).
    #[error("invalid request: {0}")]
    Validation(String),
    /// A response outside the code's own status and message: the 404 fallback, 413,
    /// Turnstile refusals (upstream's statuses and texts for those).
    #[error("{code} ({status}): {message}")]
    Custom {
        status: StatusCode,
        code: ErrorCode,
        message: String,
    },
    /// An unexpected failure; the cause is logged, the client sees `internal-server-error`.
    #[error("internal error: {0}")]
    Internal(String),
    /// A dependency (the database) cannot serve now, or the request ran out of time; the
    /// cause is logged, the client sees 503 `service-unavailable` with `Retry-After`.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl ApiError {
    pub fn validation(msg: impl Into<String>) -> Self {
        ApiError::Validation(msg.into())
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    /// The standard error body with a status and message of the caller's choosing.
    pub fn custom(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Custom {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404 with `invalid-request`: something the caller named by id does not exist for
    /// them (whether it exists for someone else is not said).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::custom(StatusCode::NOT_FOUND, ErrorCode::InvalidRequest, message)
    }

    /// 429 with `code` and a message of the caller's: an account temporarily locked
    /// after repeated failures (`AUTH_LOCKOUT_REVEAL`).
    pub fn locked(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::custom(StatusCode::TOO_MANY_REQUESTS, code, message)
    }

    /// The code this error shows on the wire (before concealment).
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Code(c) => *c,
            ApiError::Custom { code, .. } => *code,
            ApiError::Validation(_) => ErrorCode::InvalidRequest,
            ApiError::Internal(_) => ErrorCode::InternalServerError,
            ApiError::Unavailable(_) => ErrorCode::ServiceUnavailable,
        }
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::Code(code)
    }
}

/// What a 503 asks the client to wait: about the time a database restart takes.
const RETRY_AFTER_SECONDS: &str = "5";

/// Upstream's error body; built here only (every error response is an [`ApiError`]).
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    status: u16,
}

/// Marker left on error responses so the concealment middleware can rewrite them.
#[derive(Clone, Copy)]
struct RenderedCode(ErrorCode);

/// The error code an error response was rendered with, if it is one.
pub fn rendered_code(res: &Response) -> Option<ErrorCode> {
    res.extensions().get::<RenderedCode>().map(|r| r.0)
}

pub fn error_response(code: ErrorCode, message: &str) -> Response {
    render(code.status(), code, message)
}

fn render(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let mut res = (
        status,
        Json(ErrorBody {
            error: code.as_str(),
            message,
            status: status.as_u16(),
        }),
    )
        .into_response();
    res.extensions_mut().insert(RenderedCode(code));
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Code(code) => error_response(code, code.message()),
            ApiError::Validation(msg) => error_response(ErrorCode::InvalidRequest, &msg),
            ApiError::Custom {
                status,
                code,
                message,
            } => render(status, code, &message),
            ApiError::Internal(cause) => {
                tracing::error!(
                    error = %cause,
                    trace_id = crate::request_log::current_trace_id().as_str(),
                    "request failed"
                );
                error_response(
                    ErrorCode::InternalServerError,
                    ErrorCode::InternalServerError.message(),
                )
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(
                    error = %cause,
                    trace_id = crate::request_log::current_trace_id().as_str(),
                    "request failed: service unavailable"
                );
                let code = ErrorCode::ServiceUnavailable;
                let mut res = error_response(code, code.message());
                res.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
                );
                res
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(res: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(res.into_body(), 1024)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("JSON body")
    }

    #[tokio::test]
    async fn custom_error_has_its_own_status_in_the_body() {
        let res = ApiError::custom(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidRequest,
            "request body too large",
        )
        .into_response();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(rendered_code(&res), Some(ErrorCode::InvalidRequest));
        assert_eq!(
            body(res).await,
            serde_json::json!({"error": "invalid-request", "message": "request body too large", "status": 413})
        );
    }

    #[tokio::test]
    async fn unavailable_is_a_503_with_retry_after_and_no_cause() {
        let res = ApiError::Unavailable("database: connection refused".into()).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[axum::http::header::RETRY_AFTER], "5");
        let body = body(res).await;
        assert_eq!(body["error"], "service-unavailable");
        assert_eq!(body["status"], 503);
        assert!(!body.to_string().contains("refused"), "{body}");
    }

    /// Every `.rs` file under `dir`, recursively.
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir)
            .expect("readable source dir")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The error shape has one author: no other file writes a JSON object with an
    /// `"error"` key (redirects with an `error` query parameter are not bodies).
    #[test]
    fn no_error_body_is_built_outside_this_module() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let json_error = regex::Regex::new(r#"json!\(\s*\{[^}]*"error"\s*:"#).expect("regex");
        let offenders: Vec<String> = files
            .iter()
            .filter(|f| !f.ends_with("src/error.rs"))
            .filter(|f| {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                json_error.is_match(&text) || text.contains("ErrorBody")
            })
            .map(|f| f.display().to_string())
            .collect();
        assert!(files.len() > 50, "the source tree was found");
        assert!(offenders.is_empty(), "error bodies built in {offenders:?}");
    }
}
