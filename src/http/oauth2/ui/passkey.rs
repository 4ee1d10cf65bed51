//! Passkey sign-in on the built-in page (with `AUTH_WEBAUTHN_ENABLED`): `GET
//! /oauth2/ui/passkey.js` (the page's one script), `POST /oauth2/ui/passkey-options` and
//! `POST /oauth2/ui/passkey-verify`. The two posts are the page's forms (urlencoded, the
//! request id and its CSRF token) sent by the script, so they answer JSON: the options
//! of `POST /signin/webauthn`, then `{"location": …}` with the sign-in cookie; a refusal
//! is the service's error body whose `message` is a sentence for the user (the script
//! shows it in the page's alert). All three are 404 while WebAuthn is off.
//!
//! The routes sit in the page's own directory (`passkey-verify`, not `passkey/verify`):
//! the sign-in cookie has no `Path`, so the browser scopes it to the directory of the
//! URL that set it, and it must reach `login`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::login::{checked_form, login_location, signin_failure};
use super::{Refusal, read_form, set_cookie};
use crate::domain::webauthn::CredentialAssertion;
use crate::error::{ApiError, ErrorCode};
use crate::service::oauth2_provider::ui::{COOKIE_NAME, LoginPage, SIGNIN_TTL_SECS};

const SCRIPT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/page-templates/en/oauth2-ui/passkey.js"
));

/// A JSON answer for the script, never cached, maybe with the sign-in cookie.
fn json_answer(status: StatusCode, body: serde_json::Value, cookie: Option<String>) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    no_store(&mut res);
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    res
}

fn no_store(res: &mut Response) {
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// A refusal as the service's error body, whose `message` the script shows as it is.
fn refused(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::NOT_FOUND => ErrorCode::DisabledEndpoint,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        _ => ErrorCode::InvalidRequest,
    };
    let mut res = ApiError::custom(status, code, message).into_response();
    no_store(&mut res);
    res
}

fn refusal(r: Refusal) -> Response {
    refused(r.status, r.message)
}

fn not_offered() -> Response {
    refused(
        StatusCode::NOT_FOUND,
        "Passkey sign-in is not available. Sign in another way.",
    )
}

/// An error of the workflow for the script: the user's doing as a sentence, an
/// unusable request as its message, anything else (the database) the usual answer.
fn failure(e: ApiError, rejected: &'static str) -> Response {
    match e {
        ApiError::Validation(_) => refused(StatusCode::BAD_REQUEST, rejected),
        ApiError::Custom {
            code: ErrorCode::InvalidRequest,
            ref message,
            ..
        } => refused(StatusCode::BAD_REQUEST, message),
        e => match signin_failure(&e) {
            Some(message) => {
                let status = match &e {
                    ApiError::Custom { status, .. } => *status,
                    e => e.code().status(),
                };
                let mut res = ApiError::custom(status, e.code(), message).into_response();
                no_store(&mut res);
                res
            }
            None => e.into_response(),
        },
    }
}

pub async fn script(State(page): State<Arc<LoginPage>>) -> Response {
    if !page.passkeys() {
        return not_offered();
    }
    let mut res = SCRIPT.into_response();
    let headers = res.headers_mut();
    let pairs = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        // The same for every page and user: cacheable, for an hour (a new version of
        // the service is picked up soon after).
        (header::CACHE_CONTROL, "public, max-age=3600"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
    res
}

pub async fn options(
    State(page): State<Arc<LoginPage>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !page.passkeys() {
        return not_offered();
    }
    let form = match read_form(&headers, body) {
        Ok(form) => form,
        Err(r) => return refusal(r),
    };
    let id = match checked_form(&page, &form) {
        Ok(id) => id,
        Err(r) => return refusal(r),
    };
    let email = form.get("email").map(String::as_str);
    match page.passkey_options(id, email).await {
        Ok(options) => match serde_json::to_value(options) {
            Ok(options) => json_answer(StatusCode::OK, options, None),
            Err(e) => ApiError::internal(e).into_response(),
        },
        // An unknown address and one without a passkey read the same.
        Err(e) if e.code() == ErrorCode::InvalidEmailPassword => refused(
            StatusCode::BAD_REQUEST,
            "No passkey can be used for this email address.",
        ),
        Err(e) => failure(e, "No passkey can be used for this email address."),
    }
}

pub async fn verify(
    State(page): State<Arc<LoginPage>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !page.passkeys() {
        return not_offered();
    }
    let form = match read_form(&headers, body) {
        Ok(form) => form,
        Err(r) => return refusal(r),
    };
    let id = match checked_form(&page, &form) {
        Ok(id) => id,
        Err(r) => return refusal(r),
    };
    let credential = form.get("credential").map(String::as_str).unwrap_or("");
    let Ok(assertion) = serde_json::from_str::<CredentialAssertion>(credential) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "The passkey's answer could not be read. Try again.",
        );
    };
    match page.sign_in_passkey(id, &assertion).await {
        Ok(value) => json_answer(
            StatusCode::OK,
            json!({ "location": login_location(id) }),
            Some(set_cookie(
                COOKIE_NAME,
                Some(&value),
                SIGNIN_TTL_SECS,
                page.secure_cookies(),
            )),
        ),
        Err(e) => failure(e, "The passkey was not accepted. Try again."),
    }
}
