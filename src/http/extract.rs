//! Extractors that turn a request into parsed domain values, failing with the contract's
//! error body instead of axum's plain-text rejections.
//!
//! Two edge rules live here, once for every route:
//! - a JSON body must be declared JSON (`application/json`, `application/*+json`):
//!   browsers send `text/plain`, form and untyped bodies cross-site without a CORS
//!   preflight, so accepting them would let any page post to sign-up, passwordless or
//!   password reset in a visitor's name. Upstream's clients always declare JSON;
//! - no string may carry NUL (`\u0000`, `%00`): PostgreSQL's `text` and `jsonb` refuse it,
//!   so it would otherwise surface as a 500 wherever the value reaches the database.

use axum::{
    Form,
    body::{Body, Bytes},
    extract::{FromRequest, FromRequestParts, Query, Request},
    http::{
        HeaderMap, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE},
        request::Parts,
    },
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, AuthRefusal, ErrorCode, SecurityScheme};
use crate::http::state::SharedState;
use crate::service::accounts::Elevation;
use crate::tokens::VerifiedToken;

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::custom(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidRequest,
                "request body too large",
            )
        } else {
            ApiError::request_invalid(format!("cannot read request body: {rejection}"))
        }
    })
}

/// Whether the request declares a JSON body: exactly one `Content-Type`, naming
/// `application/json` or an `application/*+json` type (parameters such as `charset` are
/// allowed).
fn declares_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        })
}

fn not_json() -> ApiError {
    ApiError::Code(ErrorCode::UnsupportedMediaType)
}

fn nul_refused(what: &str) -> ApiError {
    ApiError::request_invalid(format!(
        "{what} contains a NUL character, which is not accepted"
    ))
}

/// Whether a JSON value holds NUL in any string or object key.
fn json_has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Decodes JSON text, refusing NUL anywhere in it. The only way JSON text carries NUL is
/// the escape `\u0000` (raw control characters are invalid JSON), so text without that
/// sequence is decoded in one pass; text with it (which may be an escaped backslash
/// followed by `u0000`) is decoded to a value first and searched.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let invalid = |e: serde_json::Error| {
        let message = format!("invalid request body: {e}");
        // Well-formed JSON of the wrong shape breaks the schema; text that is not JSON
        // cannot be checked against it.
        match e.classify() {
            serde_json::error::Category::Data => ApiError::schema_violation(message),
            _ => ApiError::request_invalid(message),
        }
    };
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return serde_json::from_slice(bytes).map_err(invalid);
    }
    let value: Value = serde_json::from_slice(bytes).map_err(invalid)?;
    if json_has_nul(&value) {
        return Err(nul_refused("the request body"));
    }
    serde_json::from_value(value).map_err(invalid)
}

/// A request body of the API: every one is a JSON object. Checked before decoding
/// because serde also reads a struct from an array of its fields in order, so
/// `["+331…"]` would otherwise pass for `{"phoneNumber": "+331…"}`.
fn parse_json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    // Well-formed JSON of another kind breaks the schema; text that is not JSON at all
    // gets the decoder's own message.
    if !object && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return Err(ApiError::schema_violation(
            "invalid request body: expected a JSON object",
        ));
    }
    parse_json(bytes)
}

/// Reads a JSON body: `None` when it is empty (whatever its type), else the bytes of a
/// body declared JSON.
async fn read_json_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<Option<Bytes>, ApiError> {
    let json = declares_json(req.headers());
    let bytes = read_body(req, state).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if !json {
        return Err(not_json());
    }
    Ok(Some(bytes))
}

/// A required JSON body, decoded into a type that rejects what the contract rejects.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_json_body(req, state)
            .await?
            .ok_or_else(|| ApiError::request_invalid("request body is required"))?;
        Ok(ApiJson(parse_json_object(&bytes)?))
    }
}

/// An optional JSON body: an empty body means `None`.
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match read_json_body(req, state).await? {
            None => Ok(OptionalJson(None)),
            Some(bytes) => Ok(OptionalJson(Some(parse_json_object(&bytes)?))),
        }
    }
}

/// Whether `application/x-www-form-urlencoded` text (a query string or a form body)
/// decodes to a name or value holding NUL.
fn form_has_nul(encoded: &[u8]) -> bool {
    url::form_urlencoded::parse(encoded).any(|(k, v)| k.contains('\0') || v.contains('\0'))
}

/// A query or form that does not decode: a missing required argument cannot be validated
/// (`request-validation-error` under 0.52), any other failure is a value outside the
/// schema (`schema-validation-error`).
pub fn query_error(what: &str, cause: &str) -> ApiError {
    let message = format!("{what}: {cause}");
    if cause.contains(": missing field `") || cause.starts_with("missing field `") {
        ApiError::request_invalid(message)
    } else {
        ApiError::schema_violation(message)
    }
}

/// Query parameters, with NUL refused.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if form_has_nul(parts.uri.query().unwrap_or_default().as_bytes()) {
            return Err(nul_refused("the query"));
        }
        Query::try_from_uri(&parts.uri)
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| query_error("invalid query", &e.to_string()))
    }
}

/// A form body (`application/x-www-form-urlencoded`), with NUL refused.
pub struct ApiForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = read_body(Request::from_parts(parts.clone(), body), state).await?;
        if form_has_nul(&bytes) {
            return Err(nul_refused("the form"));
        }
        let req = Request::from_parts(parts, Body::from(bytes));
        Form::from_request(req, state)
            .await
            .map(|Form(value)| ApiForm(value))
            .map_err(|e| query_error("invalid form", &e.to_string()))
    }
}

/// The raw token of an `Authorization: Bearer <jwt>` header (case-sensitive, one space).
fn bearer_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .filter(|t| !t.is_empty())
}

/// A valid access token is required (v0.42 answers 400 when it is missing or invalid,
/// 0.52 401: [`ApiError::Unauthorized`]).
pub struct Bearer(pub VerifiedToken);

impl FromRequestParts<SharedState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let refused = |refusal| ApiError::Unauthorized {
            refusal,
            scheme: SecurityScheme::BearerAuth,
        };
        let token = bearer_token(parts).ok_or_else(|| refused(AuthRefusal::Missing))?;
        state
            .jwt
            .verify(token)
            .map(Bearer)
            .map_err(|e| refused(AuthRefusal::Invalid(e.to_string())))
    }
}

/// Optional authentication: a missing or invalid token counts as none.
pub struct OptionalBearer(pub Option<VerifiedToken>);

impl FromRequestParts<SharedState> for OptionalBearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        Ok(OptionalBearer(
            bearer_token(parts).and_then(|t| state.jwt.verify(t).ok()),
        ))
    }
}

/// [`Bearer`] on a `BearerAuthElevated` route (the scheme 0.52 names when refusing).
async fn elevated_bearer(parts: &mut Parts, state: &SharedState) -> Result<Bearer, ApiError> {
    Bearer::from_request_parts(parts, state)
        .await
        .map_err(|e| match e {
            ApiError::Unauthorized { refusal, .. } => ApiError::Unauthorized {
                refusal,
                scheme: SecurityScheme::BearerAuthElevated,
            },
            other => other,
        })
}

/// A valid access token that also satisfies `AUTH_REQUIRE_ELEVATED_CLAIM`
/// (upstream's `BearerAuthElevated`). Refusal: 400 `elevated-claim-required`.
pub struct ElevatedBearer(pub VerifiedToken);

impl FromRequestParts<SharedState> for ElevatedBearer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let Bearer(token) = elevated_bearer(parts, state).await?;
        if state
            .workflows
            .accounts
            .satisfies_elevation(&token, Elevation::Policy)
            .await?
        {
            Ok(ElevatedBearer(token))
        } else {
            Err(ApiError::Unauthorized {
                refusal: AuthRefusal::NotElevated,
                scheme: SecurityScheme::BearerAuthElevated,
            })
        }
    }
}

/// Like [`ElevatedBearer`], but a user without any security key may proceed even in
/// `required` mode (adding a first key).
pub struct ElevatedBearerFirstKey(pub VerifiedToken);

impl FromRequestParts<SharedState> for ElevatedBearerFirstKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let Bearer(token) = elevated_bearer(parts, state).await?;
        if state
            .workflows
            .accounts
            .satisfies_elevation(&token, Elevation::FirstKeyExempt)
            .await?
        {
            Ok(ElevatedBearerFirstKey(token))
        } else {
            Err(ApiError::Unauthorized {
                refusal: AuthRefusal::NotElevated,
                scheme: SecurityScheme::BearerAuthElevated,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(content_types: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for ct in content_types {
            h.append(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        h
    }

    #[test]
    fn json_content_types_are_recognised() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON;charset=UTF-8",
            "application/vnd.api+json",
            "application/merge-patch+json",
        ] {
            assert!(declares_json(&headers(&[ok])), "{ok}");
        }
        for refused in [
            "text/plain",
            "text/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonx",
            "application/json-seq",
            "json",
            "",
        ] {
            assert!(!declares_json(&headers(&[refused])), "{refused}");
        }
        assert!(!declares_json(&headers(&[])), "no type");
        assert!(
            !declares_json(&headers(&["application/json", "text/plain"])),
            "two types"
        );
    }

    #[test]
    fn parse_json_refuses_nul_anywhere_but_not_an_escaped_backslash() {
        type Any = serde_json::Value;
        for bad in [
            r#"{"a":"x\u0000"}"#,
            r#"{"a\u0000":1}"#,
            r#"{"a":[{"b":["\u0000"]}]}"#,
            r#""\u0000""#,
        ] {
            assert!(parse_json::<Any>(bad.as_bytes()).is_err(), "{bad}");
        }
        let escaped: Any = parse_json(br#"{"a":"\\u0000"}"#).unwrap();
        assert_eq!(escaped["a"], "\\u0000");
        let other: Any = parse_json(br#"{"a":"\u0001 \u00e9"}"#).unwrap();
        assert_eq!(other["a"], "\u{1} é");
        // The slow path decodes into the target type as the fast path does.
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Strict {
            #[allow(dead_code)]
            a: String,
        }
        assert!(parse_json::<Strict>(br#"{"a":"\\u0000","b":1}"#).is_err());
        assert!(parse_json::<Strict>(br#"{"a":"\\u0000"}"#).is_ok());
    }

    #[test]
    fn api_bodies_are_objects_not_arrays_of_their_fields() {
        #[derive(serde::Deserialize, Debug)]
        struct Phone {
            #[allow(dead_code)]
            phone_number: String,
        }
        assert!(
            parse_json::<Phone>(br#"["+33611111111"]"#).is_ok(),
            "what serde allows"
        );
        for bad in [
            &br#"["+33611111111"]"#[..],
            b" [1]",
            b"\"x\"",
            b"12",
            b"true",
            b"null",
        ] {
            assert!(parse_json_object::<Phone>(bad).is_err(), "{bad:?}");
        }
        assert!(parse_json_object::<Phone>(br#" {"phone_number":"+33611111111"}"#).is_ok());
        assert!(parse_json_object::<Phone>(b"{oops").is_err());
        assert!(parse_json_object::<Phone>(b"not json").is_err());
    }

    #[test]
    fn form_nul_is_found_after_decoding() {
        assert!(form_has_nul(b"a=x%00y"));
        assert!(form_has_nul(b"a%00=1"));
        assert!(form_has_nul(b"a=1&b=%%00"));
        assert!(!form_has_nul(b"a=%2500"), "an encoded percent sign");
        assert!(!form_has_nul(b"a=00&b=%0"));
    }
}
