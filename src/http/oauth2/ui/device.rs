//! The built-in device verification page (RFC 8628 §3.3): `GET /oauth2/ui/device`
//! (`?user_code=…` from the form or `verification_uri_complete`) shows the code form, or
//! the client and its scopes with the sign-in form, or, once signed in for that
//! authorization, Approve / Deny; `POST /oauth2/ui/device` takes the sign-in steps
//! (`step=password|totp`) and the decision (`decision=approve|deny`). Every POST carries
//! the user code and its CSRF token; lookups and decisions are `/oauth2/device/verify`'s
//! (same guessing budget, same rate-limit bucket).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::login::{alert, query_param, scopes_block, signin_failure};
use super::{PageAnswer, Refusal, cookie, message_page, read_form, see_other, set_cookie};
use crate::adapters::html_page::{self, Markup, Page, PageError, Slot};
use crate::error::{ApiError, ErrorCode};
use crate::service::oauth2_provider::device::DeviceDecision;
use crate::service::oauth2_provider::ui::{
    Bound, DEVICE_COOKIE_NAME, DevicePageRequest, LoginPage, SIGNIN_TTL_SECS, SignInStep,
};

/// The longest typed code shown back in the form.
const MAX_ECHO: usize = 64;

/// The page of `user_code`, relative to the page's own URL (right whatever the prefix).
fn device_location(user_code: &str) -> String {
    let mut location = "device?user_code=".to_owned();
    location.extend(url::form_urlencoded::byte_serialize(user_code.as_bytes()));
    location
}

/// The views of the page.
enum View<'a> {
    /// The code form, maybe with why the last code was refused.
    Code {
        typed: &'a str,
        error: Option<&'a str>,
    },
    SignIn {
        req: &'a DevicePageRequest,
        email: &'a str,
        error: Option<&'a str>,
    },
    Totp {
        req: &'a DevicePageRequest,
        ticket: &'a str,
    },
    Consent {
        req: &'a DevicePageRequest,
        email: &'a str,
    },
    Done(&'a DeviceDecision),
}

fn client_name(req: &DevicePageRequest) -> &str {
    req.client_name.as_deref().unwrap_or(&req.device.client_id)
}

fn render_view(page: &LoginPage, view: View<'_>) -> Result<(&'static str, Markup), PageError> {
    let client = |req: &DevicePageRequest| {
        scopes_block(client_name(req), &req.device.client_id, &req.scopes)
    };
    match view {
        View::Code { typed, error } => {
            let (alert, described) = alert(error)?;
            let typed: String = typed.chars().take(MAX_ECHO).collect();
            let content = html_page::render(
                Page::DeviceCode,
                &[
                    ("alert", Slot::Html(&alert)),
                    ("userCode", Slot::Text(&typed)),
                    ("describedBy", Slot::Html(&described)),
                ],
            )?;
            Ok(("Connect a device", content))
        }
        View::SignIn { req, email, error } => {
            let (alert, described) = alert(error)?;
            let code = &req.device.user_code;
            let content = html_page::render(
                Page::DeviceSignIn,
                &[
                    ("clientName", Slot::Text(client_name(req))),
                    ("alert", Slot::Html(&alert)),
                    ("userCode", Slot::Text(code)),
                    ("csrf", Slot::Text(&page.device_csrf_token(code))),
                    ("email", Slot::Text(email)),
                    ("describedBy", Slot::Html(&described)),
                    ("client", Slot::Html(&client(req)?)),
                ],
            )?;
            Ok(("Sign in", content))
        }
        View::Totp { req, ticket } => {
            let code = &req.device.user_code;
            let content = html_page::render(
                Page::DeviceTotp,
                &[
                    ("clientName", Slot::Text(client_name(req))),
                    ("userCode", Slot::Text(code)),
                    ("csrf", Slot::Text(&page.device_csrf_token(code))),
                    ("ticket", Slot::Text(ticket)),
                ],
            )?;
            Ok(("Two-step verification", content))
        }
        View::Consent { req, email } => {
            let code = &req.device.user_code;
            let content = html_page::render(
                Page::DeviceConsent,
                &[
                    ("clientName", Slot::Text(client_name(req))),
                    ("userCode", Slot::Text(code)),
                    ("email", Slot::Text(email)),
                    ("csrf", Slot::Text(&page.device_csrf_token(code))),
                    ("client", Slot::Html(&client(req)?)),
                ],
            )?;
            Ok(("Allow access?", content))
        }
        View::Done(decision) => {
            let (heading, message) = if decision.status == "approved" {
                (
                    "Device connected",
                    "You can return to your device: it will continue on its own.",
                )
            } else {
                (
                    "Access denied",
                    "The device was not given access. You can close this page.",
                )
            };
            let content = html_page::render(
                Page::DeviceDone,
                &[
                    ("heading", Slot::Text(heading)),
                    ("message", Slot::Text(message)),
                ],
            )?;
            Ok((heading, content))
        }
    }
}

fn answer(page: &LoginPage, status: StatusCode, view: View<'_>) -> Response {
    answer_with_cookie(page, status, view, None)
}

fn answer_with_cookie(
    page: &LoginPage,
    status: StatusCode,
    view: View<'_>,
    set_cookie: Option<String>,
) -> Response {
    match render_view(page, view) {
        Ok((title, content)) => PageAnswer {
            status,
            title,
            content,
            redirect_source: None,
            set_cookie,
            // No passkey sign-in on the device page (yet): no script.
            script: false,
        }
        .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A code the service refused (unknown, used, expired, or the guessing budget spent) as
/// the code form with why; anything else (the database) the service's error answer.
fn code_problem(page: &LoginPage, e: ApiError, typed: &str) -> Response {
    let ApiError::Custom {
        status,
        code: ErrorCode::InvalidRequest,
        ref message,
        ..
    } = e
    else {
        return e.into_response();
    };
    let message = if status == StatusCode::TOO_MANY_REQUESTS {
        "Too many invalid codes were tried. Wait a minute and try again."
    } else {
        match message.as_str() {
            "User code already used" => {
                "This code has already been used. Start again on your device to get a new code."
            }
            "User code expired" => {
                "This code has expired. Start again on your device to get a new code."
            }
            _ => "This code is not valid. Check the code shown on your device and try again.",
        }
    };
    answer(
        page,
        status,
        View::Code {
            typed,
            error: Some(message),
        },
    )
}

pub async fn get(
    State(page): State<Arc<LoginPage>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let typed = query_param(query.as_deref(), "user_code").unwrap_or_default();
    if typed.trim().is_empty() {
        return answer(
            &page,
            StatusCode::OK,
            View::Code {
                typed: "",
                error: None,
            },
        );
    }
    let req = match page.device(&typed).await {
        Ok(req) => req,
        Err(e) => return code_problem(&page, e, &typed),
    };
    let bound = Bound::Device(req.device.id);
    match page
        .signed_in_for(bound, cookie(&headers, DEVICE_COOKIE_NAME))
        .await
    {
        Err(e) => e.into_response(),
        Ok(Some(user)) => {
            let email = user.email.as_deref().unwrap_or(&user.display_name);
            answer(&page, StatusCode::OK, View::Consent { req: &req, email })
        }
        Ok(None) => answer(
            &page,
            StatusCode::OK,
            View::SignIn {
                req: &req,
                email: "",
                error: None,
            },
        ),
    }
}

/// The user code of a page form whose CSRF token is right.
fn checked_form(page: &LoginPage, form: &HashMap<String, String>) -> Result<String, Refusal> {
    let code = form.get("user_code").cloned().unwrap_or_default();
    let token = form.get("csrf").map(String::as_str).unwrap_or_default();
    if !page.device_csrf_ok(&code, token) {
        return Err(Refusal {
            status: StatusCode::FORBIDDEN,
            heading: "This form cannot be used",
            message: "The form expired or did not come from this page. Go back, reload the \
                      page and try again.",
        });
    }
    Ok(code)
}

pub async fn post(
    State(page): State<Arc<LoginPage>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut form = match read_form(&headers, body) {
        Ok(form) => form,
        Err(refusal) => return refusal.into_response(),
    };
    let code = match checked_form(&page, &form) {
        Ok(code) => code,
        Err(refusal) => return refusal.into_response(),
    };
    let secure = page.secure_cookies();
    if let Some(decision) = form.get("decision") {
        let approve = match decision.as_str() {
            "approve" => true,
            "deny" => false,
            _ => {
                return message_page(
                    StatusCode::BAD_REQUEST,
                    "This form cannot be used",
                    "Choose Approve or Deny.",
                );
            }
        };
        let signed_in = cookie(&headers, DEVICE_COOKIE_NAME);
        return match page.decide_device(&code, signed_in, approve).await {
            Ok(Some(decision)) => answer_with_cookie(
                &page,
                StatusCode::OK,
                View::Done(&decision),
                Some(set_cookie(DEVICE_COOKIE_NAME, None, 0, secure)),
            ),
            // Not signed in (or no longer allowed to): back to the sign-in form.
            Ok(None) => see_other(&device_location(&code), None),
            Err(e) => code_problem(&page, e, &code),
        };
    }
    let req = match page.device(&code).await {
        Ok(req) => req,
        Err(e) => return code_problem(&page, e, &code),
    };
    let bound = Bound::Device(req.device.id);
    let signed_in = |value: &str| {
        see_other(
            &device_location(&req.device.user_code),
            Some(set_cookie(
                DEVICE_COOKIE_NAME,
                Some(value),
                SIGNIN_TTL_SECS,
                secure,
            )),
        )
    };
    let email = form.remove("email").unwrap_or_default();
    let failed = |e: ApiError, email: &str| match signin_failure(&e) {
        Some(message) => answer(
            &page,
            StatusCode::BAD_REQUEST,
            View::SignIn {
                req: &req,
                email,
                error: Some(message),
            },
        ),
        None => code_problem(&page, e, &code),
    };
    match form.get("step").map(String::as_str) {
        Some("password") => {
            let password = form.remove("password").unwrap_or_default();
            match page.password_step(bound, &email, password).await {
                Ok(SignInStep::SignedIn(value)) => signed_in(&value),
                Ok(SignInStep::Totp(ticket)) => answer(
                    &page,
                    StatusCode::OK,
                    View::Totp {
                        req: &req,
                        ticket: ticket.expose(),
                    },
                ),
                Err(e) => failed(e, &email),
            }
        }
        Some("totp") => {
            let ticket = form.remove("ticket").unwrap_or_default();
            let totp = form.remove("code").unwrap_or_default();
            match page.totp_step(bound, ticket, totp).await {
                Ok(value) => signed_in(&value),
                Err(e) => failed(e, ""),
            }
        }
        _ => message_page(
            StatusCode::BAD_REQUEST,
            "This form cannot be used",
            "The form was not sent as this page sends it.",
        ),
    }
}
