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

use crate::contract::Generation;

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
    /// Nhost Auth 0.43's: the provider account is already linked to another user (0.52
    /// contract only; v0.42 answers `invalid-request`).
    ProviderAccountAlreadyLinked,
    /// Nhost Auth 0.51's: the one-time code was burned by too many wrong guesses (0.52
    /// contract only).
    OtpTooManyAttempts,
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
            ProviderAccountAlreadyLinked => "provider-account-already-linked",
            OtpTooManyAttempts => "otp-too-many-attempts",
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
            ProviderAccountAlreadyLinked => "This provider account is already linked to a user",
            OtpTooManyAttempts => "Too many incorrect attempts, please request a new OTP",
            ElevatedClaimRequired => "Elevated claim required",
            ServiceUnavailable => "The service is temporarily unavailable, try again later",
            UnsupportedMediaType => {
                "The request body must be JSON (Content-Type: application/json)"
            }
        }
    }

    /// The code the given contract uses for what v0.42 calls `self` (Nhost Auth 0.52
    /// renamed `email-already-in-use` to `user-already-exists`).
    pub fn in_generation(self, generation: Generation) -> ErrorCode {
        match (self, generation) {
            (ErrorCode::EmailAlreadyInUse, Generation::V0_52) => ErrorCode::UserAlreadyExists,
            (code, _) => code,
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
                | OtpTooManyAttempts
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
    /// A request refused while it was decoded, before any handler logic (the JSON body,
    /// the query, the form): v0.42 answers it as [`ApiError::Validation`]; 0.52's request
    /// validator answers 400 `{"error":"schema-validation-error"|"request-validation-error",
    /// "reason":…}` ([`Violation`]).
    #[error("invalid request: {message}")]
    Decoding { kind: Violation, message: String },
    /// A response outside the code's own status and message: the 404 fallback, 413,
    /// Turnstile refusals (upstream's statuses and texts for those).
    #[error("{code} ({status}): {message}")]
    Custom {
        status: StatusCode,
        code: ErrorCode,
        message: String,
    },
    /// A bearer-protected route refused the caller: v0.42 answers 400 (`invalid-request`,
    /// or `elevated-claim-required`), 0.52 answers 401 `unauthorized`.
    #[error("unauthorized ({scheme:?}): {refusal}")]
    Unauthorized {
        refusal: AuthRefusal,
        scheme: SecurityScheme,
    },
    /// An answer whose code changed between the contracts: the code each one sends.
    #[error("{v0_42} (0.52: {v0_52})")]
    Changed { v0_42: ErrorCode, v0_52: ErrorCode },
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

    /// The request breaks the schema: a wrong type, a missing or unknown property, a value
    /// outside its format (0.52: `schema-validation-error`).
    pub fn schema_violation(msg: impl Into<String>) -> Self {
        ApiError::Decoding {
            kind: Violation::Schema,
            message: msg.into(),
        }
    }

    /// The request cannot be validated at all: malformed JSON, a missing body or required
    /// query argument, an unreadable body (0.52: `request-validation-error`).
    pub fn request_invalid(msg: impl Into<String>) -> Self {
        ApiError::Decoding {
            kind: Violation::Request,
            message: msg.into(),
        }
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
            ApiError::Validation(_) | ApiError::Decoding { .. } => ErrorCode::InvalidRequest,
            ApiError::Unauthorized {
                refusal: AuthRefusal::NotElevated,
                ..
            } => ErrorCode::ElevatedClaimRequired,
            ApiError::Unauthorized { .. } => ErrorCode::InvalidRequest,
            ApiError::Changed { v0_42, .. } => *v0_42,
            ApiError::Internal(_) => ErrorCode::InternalServerError,
            ApiError::Unavailable(_) => ErrorCode::ServiceUnavailable,
        }
    }
}

/// An error code as each contract spells it, for answers that are not JSON error bodies
/// (the `error=` of a redirect), which [`for_contract`] cannot rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractCode {
    pub v0_42: ErrorCode,
    pub v0_52: ErrorCode,
}

impl ContractCode {
    pub fn in_generation(self, generation: Generation) -> ErrorCode {
        match generation {
            Generation::V0_42 => self.v0_42,
            Generation::V0_52 => self.v0_52,
        }
    }
}

impl From<ErrorCode> for ContractCode {
    fn from(code: ErrorCode) -> Self {
        ContractCode {
            v0_42: code,
            v0_52: code.in_generation(Generation::V0_52),
        }
    }
}

impl ApiError {
    /// The code of this error under each contract.
    pub fn contract_code(&self) -> ContractCode {
        match self {
            ApiError::Changed { v0_42, v0_52 } => ContractCode {
                v0_42: *v0_42,
                v0_52: *v0_52,
            },
            other => other.code().into(),
        }
    }
}

/// Which of Nhost Auth 0.52's two request-validation answers a decoding failure gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// `schema-validation-error`: the input does not match the schema.
    Schema,
    /// `request-validation-error`: the request could not be checked against it.
    Request,
}

impl Violation {
    fn as_str(self) -> &'static str {
        match self {
            Violation::Schema => "schema-validation-error",
            Violation::Request => "request-validation-error",
        }
    }
}

/// Why a bearer-protected route refused the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRefusal {
    /// No `Authorization: Bearer <token>` header.
    Missing,
    /// The token does not verify (the cause, for v0.42's message).
    Invalid(String),
    /// The route wants an elevated token (`AUTH_REQUIRE_ELEVATED_CLAIM`) and this is not.
    NotElevated,
}

impl AuthRefusal {
    /// Nhost Auth 0.52's `reason`.
    fn reason(&self) -> &'static str {
        match self {
            AuthRefusal::Missing => "missing or malformed authorization header",
            AuthRefusal::Invalid(_) => "invalid or expired token",
            AuthRefusal::NotElevated => "elevated claim required",
        }
    }
}

impl std::fmt::Display for AuthRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthRefusal::Missing => {
                f.write_str("authorization header with a bearer token is required")
            }
            AuthRefusal::Invalid(cause) => write!(f, "bearer token rejected: {cause}"),
            AuthRefusal::NotElevated => f.write_str(ErrorCode::ElevatedClaimRequired.message()),
        }
    }
}

/// The OpenAPI security scheme of a refusing route (0.52 names it in its 401 body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityScheme {
    BearerAuth,
    BearerAuthElevated,
}

impl SecurityScheme {
    fn as_str(self) -> &'static str {
        match self {
            SecurityScheme::BearerAuth => "BearerAuth",
            SecurityScheme::BearerAuthElevated => "BearerAuthElevated",
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

/// Nhost Auth 0.52's body for a refused bearer (its shared request middleware's).
#[derive(Serialize)]
struct UnauthorizedBody<'a> {
    error: &'a str,
    reason: &'a str,
    #[serde(rename = "securityScheme")]
    security_scheme: &'a str,
}

/// Nhost Auth 0.52's body for a request its validator refused.
#[derive(Serialize)]
struct ValidationBody<'a> {
    error: &'a str,
    reason: &'a str,
}

/// Marker left on error responses so [`for_contract`] can rewrite them: the code sent
/// under v0.42, and what 0.52 sends instead when that is not derived from the code.
#[derive(Clone)]
struct RenderedCode {
    code: ErrorCode,
    v0_52: Option<V052Answer>,
}

#[derive(Clone)]
enum V052Answer {
    Code(ErrorCode),
    Unauthorized {
        reason: &'static str,
        scheme: SecurityScheme,
    },
    Validation {
        kind: Violation,
        reason: std::sync::Arc<str>,
    },
}

/// The error code an error response was rendered with (v0.42's), if it is one.
pub fn rendered_code(res: &Response) -> Option<ErrorCode> {
    res.extensions().get::<RenderedCode>().map(|r| r.code)
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
    res.extensions_mut()
        .insert(RenderedCode { code, v0_52: None });
    res
}

fn with_v0_52(mut res: Response, answer: V052Answer) -> Response {
    if let Some(r) = res.extensions_mut().get_mut::<RenderedCode>() {
        r.v0_52 = Some(answer);
    }
    res
}

fn unauthorized(reason: &str, scheme: SecurityScheme) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(UnauthorizedBody {
            error: "unauthorized",
            reason,
            security_scheme: scheme.as_str(),
        }),
    )
        .into_response()
}

/// The error answers of the contract being served, and `AUTH_CONCEAL_ERRORS`: the one
/// place where the generations differ in error answers (docs/compatibility.md, "Two
/// generations"). Errors are rendered in v0.42's contract first; under 0.52 this
/// rewrites the ones 0.52 answers differently:
/// - a refused bearer is 401 `{"error":"unauthorized","reason":…,"securityScheme":…}`
///   (v0.42: 400 `invalid-request` / `elevated-claim-required`);
/// - `email-already-in-use` is `user-already-exists`;
/// - [`ApiError::Changed`] answers take their 0.52 code (`invalid-otp`,
///   `otp-too-many-attempts`, `provider-account-already-linked`).
///
/// - a request refused while decoded ([`ApiError::Decoding`]) is 400
///   `{"error":"schema-validation-error"|"request-validation-error","reason":…}`.
///
/// Concealment applies to the code of the contract served (the 401 reveals nothing).
pub fn for_contract(res: Response, generation: Generation, conceal: bool) -> Response {
    let Some(rendered) = res.extensions().get::<RenderedCode>().cloned() else {
        return res;
    };
    let answer = match generation {
        Generation::V0_42 => V052Answer::Code(rendered.code),
        Generation::V0_52 => match rendered.v0_52 {
            Some(answer) => answer,
            None if rendered.code == ErrorCode::ElevatedClaimRequired => V052Answer::Unauthorized {
                reason: AuthRefusal::NotElevated.reason(),
                scheme: SecurityScheme::BearerAuthElevated,
            },
            None => V052Answer::Code(rendered.code.in_generation(generation)),
        },
    };
    match answer {
        V052Answer::Unauthorized { reason, scheme } => unauthorized(reason, scheme),
        V052Answer::Validation { kind, reason } => (
            StatusCode::BAD_REQUEST,
            Json(ValidationBody {
                error: kind.as_str(),
                reason: &reason,
            }),
        )
            .into_response(),
        V052Answer::Code(code) => {
            let shown = code.visible(conceal);
            if shown == rendered.code {
                res
            } else {
                error_response(shown, shown.message())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Code(code) => error_response(code, code.message()),
            ApiError::Validation(msg) => error_response(ErrorCode::InvalidRequest, &msg),
            ApiError::Decoding { kind, message } => with_v0_52(
                error_response(ErrorCode::InvalidRequest, &message),
                V052Answer::Validation {
                    kind,
                    reason: message.into(),
                },
            ),
            ApiError::Unauthorized { refusal, scheme } => {
                let res = match &refusal {
                    AuthRefusal::NotElevated => error_response(
                        ErrorCode::ElevatedClaimRequired,
                        ErrorCode::ElevatedClaimRequired.message(),
                    ),
                    _ => error_response(ErrorCode::InvalidRequest, &refusal.to_string()),
                };
                with_v0_52(
                    res,
                    V052Answer::Unauthorized {
                        reason: refusal.reason(),
                        scheme,
                    },
                )
            }
            ApiError::Changed { v0_42, v0_52 } => with_v0_52(
                error_response(v0_42, v0_42.message()),
                V052Answer::Code(v0_52),
            ),
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

    async fn served(err: ApiError, generation: Generation, conceal: bool) -> (u16, Value) {
        let res = for_contract(err.into_response(), generation, conceal);
        let status = res.status().as_u16();
        (status, body(res).await)
    }

    use serde_json::{Value, json};

    #[tokio::test]
    async fn a_refused_bearer_is_400_under_0_42_and_401_under_0_52() {
        let missing = || ApiError::Unauthorized {
            refusal: AuthRefusal::Missing,
            scheme: SecurityScheme::BearerAuth,
        };
        let (status, b) = served(missing(), Generation::V0_42, false).await;
        assert_eq!(status, 400);
        assert_eq!(b["error"], "invalid-request");
        assert_eq!(
            b["message"],
            "authorization header with a bearer token is required"
        );
        let (status, b) = served(missing(), Generation::V0_52, true).await;
        assert_eq!(status, 401);
        assert_eq!(
            b,
            json!({"error": "unauthorized", "reason": "missing or malformed authorization header",
                   "securityScheme": "BearerAuth"})
        );
        let not_elevated = ApiError::Unauthorized {
            refusal: AuthRefusal::NotElevated,
            scheme: SecurityScheme::BearerAuthElevated,
        };
        assert_eq!(not_elevated.code(), ErrorCode::ElevatedClaimRequired);
        let (status, b) = served(not_elevated, Generation::V0_52, false).await;
        assert_eq!(status, 401);
        assert_eq!(b["reason"], "elevated claim required");
        assert_eq!(b["securityScheme"], "BearerAuthElevated");
        // The plain code, wherever it comes from, is the same refusal under 0.52.
        let (status, b) = served(
            ErrorCode::ElevatedClaimRequired.into(),
            Generation::V0_52,
            false,
        )
        .await;
        assert_eq!((status, b["error"].clone()), (401, json!("unauthorized")));
    }

    #[tokio::test]
    async fn renamed_and_changed_codes_follow_the_contract() {
        let (status, b) = served(
            ErrorCode::EmailAlreadyInUse.into(),
            Generation::V0_42,
            false,
        )
        .await;
        assert_eq!(
            (status, b["error"].clone()),
            (409, json!("email-already-in-use"))
        );
        let (status, b) = served(
            ErrorCode::EmailAlreadyInUse.into(),
            Generation::V0_52,
            false,
        )
        .await;
        assert_eq!(
            (status, b["error"].clone()),
            (409, json!("user-already-exists"))
        );
        assert_eq!(b["status"], 409);

        let burned = || ApiError::Changed {
            v0_42: ErrorCode::InvalidTicket,
            v0_52: ErrorCode::OtpTooManyAttempts,
        };
        let (status, b) = served(burned(), Generation::V0_42, false).await;
        assert_eq!((status, b["error"].clone()), (401, json!("invalid-ticket")));
        let (status, b) = served(burned(), Generation::V0_52, false).await;
        assert_eq!(
            (status, b["error"].clone()),
            (400, json!("otp-too-many-attempts"))
        );
        // Concealment applies to the code of the contract served.
        let (status, b) = served(burned(), Generation::V0_52, true).await;
        assert_eq!(
            (status, b["error"].clone()),
            (400, json!("invalid-request"))
        );
        let (_, b) = served(burned(), Generation::V0_42, true).await;
        assert_eq!(b["error"], "invalid-request");
        // Not sensitive: shown even when concealing.
        let linked = ApiError::Changed {
            v0_42: ErrorCode::InvalidRequest,
            v0_52: ErrorCode::ProviderAccountAlreadyLinked,
        };
        let (status, b) = served(linked, Generation::V0_52, true).await;
        assert_eq!(
            (status, b["error"].clone()),
            (400, json!("provider-account-already-linked"))
        );
    }

    #[tokio::test]
    async fn other_errors_are_the_same_under_both() {
        for generation in [Generation::V0_42, Generation::V0_52] {
            let (status, b) = served(ApiError::validation("bad input"), generation, false).await;
            assert_eq!(status, 400);
            assert_eq!(
                b,
                json!({"error": "invalid-request", "message": "bad input", "status": 400})
            );
            let (status, _) =
                served(ErrorCode::InvalidEmailPassword.into(), generation, false).await;
            assert_eq!(status, 401);
        }
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

    /// The error shape has one author: no other file (but the OAuth2 error model's)
    /// writes a JSON object with an `"error"` key (redirects with an `error` query parameter are not bodies).
    #[test]
    fn no_error_body_is_built_outside_this_module() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let json_error = regex::Regex::new(r#"json!\(\s*\{[^}]*"error"\s*:"#).expect("regex");
        let offenders: Vec<String> = files
            .iter()
            // The OAuth2 error model (`{"error","error_description"}`, RFC 6749) is the
            // identity provider's own shape, authored in its one module.
            .filter(|f| {
                !f.ends_with("src/error.rs") && !f.ends_with("service/oauth2_provider/error.rs")
            })
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
