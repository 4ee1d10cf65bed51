//! The built-in sign-in and consent page: `GET /oauth2/ui/login?request_id=…` (sign-in,
//! or consent once signed in for the request), `POST /oauth2/ui/login` (the password
//! step, then the TOTP step for users with MFA), `POST /oauth2/ui/magic-link` (an emailed
//! link back to the page, whose `ticket` the GET accepts) and `POST /oauth2/ui/consent`
//! (`decision=approve|deny`); passkeys are [`super::passkey`]'s. Every form carries the request id and its CSRF token.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::{
    PageAnswer, Refusal, cookie, form_action_source, message_page, read_form, see_other, set_cookie,
};
use crate::adapters::html_page::{self, Markup, Page, PageError, Slot};
use crate::error::{ApiError, ErrorCode};
use crate::service::oauth2_provider::ui::{
    COOKIE_NAME, LoginPage, PageRequest, SIGNIN_TTL_SECS, ScopeView, SignInStep,
};

const UNUSABLE: &str = "This sign-in request cannot be used";

/// Where the page of `request_id` is, relative to the page's own URL (same directory:
/// right whatever the path prefix in front of `/oauth2/ui`).
pub(super) fn login_location(request_id: Uuid) -> String {
    format!("login?request_id={request_id}")
}

fn bad_link() -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        heading: UNUSABLE,
        message: "The link has no valid authorization request.",
    }
}

/// An error of the workflow as a page: a request that cannot be used (unknown, expired,
/// completed) is a message; anything else (the database) the service's error answer.
fn problem(e: ApiError) -> Response {
    match e {
        ApiError::Custom {
            code: ErrorCode::InvalidRequest,
            ref message,
            ..
        } => message_page(StatusCode::BAD_REQUEST, UNUSABLE, message),
        e => e.into_response(),
    }
}

/// What the sign-in form says about a failed attempt; `None` when it is not the user's
/// doing. A wrong password and an unknown address read the same.
pub(super) fn signin_failure(e: &ApiError) -> Option<&'static str> {
    if matches!(e, ApiError::Internal(_) | ApiError::Unavailable(_)) {
        return None;
    }
    if let ApiError::Custom { status, .. } = e
        && *status == StatusCode::TOO_MANY_REQUESTS
    {
        return Some("Too many failed attempts. Try again later.");
    }
    Some(match e.code() {
        ErrorCode::InvalidEmailPassword => "Incorrect email or password.",
        ErrorCode::DisabledUser => "This account is disabled.",
        ErrorCode::UnverifiedUser => "Verify your email address before signing in.",
        ErrorCode::InvalidTotp
        | ErrorCode::InvalidTicket
        | ErrorCode::DisabledMfaTotp
        | ErrorCode::NoTotpSecret => "The verification code was not accepted. Sign in again.",
        ErrorCode::InvalidRequest => return None,
        _ => "Sign-in failed.",
    })
}

fn parse_id(value: Option<&str>) -> Option<Uuid> {
    value.and_then(|v| Uuid::parse_str(v).ok())
}

/// Parameter `name` of a query string (the first one).
pub(super) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The request id of a page form whose CSRF token is right.
pub(super) fn checked_form(
    page: &LoginPage,
    form: &HashMap<String, String>,
) -> Result<Uuid, Refusal> {
    let id = parse_id(form.get("request_id").map(String::as_str)).ok_or_else(bad_link)?;
    let token = form.get("csrf").map(String::as_str).unwrap_or_default();
    if !page.csrf_ok(id, token) {
        return Err(Refusal {
            status: StatusCode::FORBIDDEN,
            heading: "This form cannot be used",
            message: "The form expired or did not come from this page. Go back, reload the \
                      page and try again.",
        });
    }
    Ok(id)
}

/// The pending request, or the page saying why it cannot be used.
async fn load(page: &LoginPage, id: Uuid) -> Result<PageRequest, Response> {
    page.request(id).await.map_err(problem)
}

/// The name the page calls the client by: its `client_name`, else its id.
fn client_name(req: &PageRequest) -> &str {
    req.client_name.as_deref().unwrap_or(&req.request.client_id)
}

fn client_block(req: &PageRequest) -> Result<Markup, PageError> {
    scopes_block(client_name(req), &req.request.client_id, &req.scopes)
}

/// The client and what it may do, in words (the consent view's, and the device page's).
pub(super) fn scopes_block(
    name: &str,
    client_id: &str,
    scopes: &[ScopeView],
) -> Result<Markup, PageError> {
    let scopes = scopes
        .iter()
        .map(|s| {
            html_page::render(
                Page::Scope,
                &[
                    ("description", Slot::Text(&s.description)),
                    ("scope", Slot::Text(&s.scope)),
                ],
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    html_page::render(
        Page::Client,
        &[
            ("clientName", Slot::Text(name)),
            ("clientId", Slot::Text(client_id)),
            ("scopes", Slot::Html(&Markup::concat(scopes))),
        ],
    )
}

/// The alert of a form and the attribute tying its inputs to it.
pub(super) fn alert(error: Option<&str>) -> Result<(Markup, Markup), PageError> {
    match error {
        None => Ok((Markup::default(), Markup::default())),
        Some(message) => Ok((
            html_page::render(Page::Alert, &[("message", Slot::Text(message))])?,
            Markup::fixed(" aria-describedby=\"form-error\" aria-invalid=\"true\""),
        )),
    }
}

/// The views of the page.
enum View<'a> {
    SignIn {
        email: &'a str,
        error: Option<&'a str>,
    },
    Totp {
        ticket: &'a str,
    },
    Consent {
        email: &'a str,
    },
    /// A magic link was asked for.
    Sent {
        email: &'a str,
    },
}

fn render_view(
    page: &LoginPage,
    req: &PageRequest,
    view: View<'_>,
) -> Result<(&'static str, Markup), PageError> {
    let csrf = page.csrf_token(req.request.request_id);
    let id = req.request.request_id.to_string();
    let client = client_block(req)?;
    let name = client_name(req);
    match view {
        View::SignIn { email, error } => {
            let (alert, described) = alert(error)?;
            let magic_link = if page.magic_links() {
                html_page::render(
                    Page::MagicLink,
                    &[("requestId", Slot::Text(&id)), ("csrf", Slot::Text(&csrf))],
                )?
            } else {
                Markup::default()
            };
            let passkey = if page.passkeys() {
                html_page::render(
                    Page::Passkey,
                    &[("requestId", Slot::Text(&id)), ("csrf", Slot::Text(&csrf))],
                )?
            } else {
                Markup::default()
            };
            let content = html_page::render(
                Page::SignIn,
                &[
                    ("clientName", Slot::Text(name)),
                    ("alert", Slot::Html(&alert)),
                    ("requestId", Slot::Text(&id)),
                    ("csrf", Slot::Text(&csrf)),
                    ("email", Slot::Text(email)),
                    ("describedBy", Slot::Html(&described)),
                    ("passkey", Slot::Html(&passkey)),
                    ("magicLink", Slot::Html(&magic_link)),
                    ("client", Slot::Html(&client)),
                ],
            )?;
            Ok(("Sign in", content))
        }
        View::Totp { ticket } => {
            let content = html_page::render(
                Page::Totp,
                &[
                    ("clientName", Slot::Text(name)),
                    ("alert", Slot::Html(&Markup::default())),
                    ("requestId", Slot::Text(&id)),
                    ("csrf", Slot::Text(&csrf)),
                    ("ticket", Slot::Text(ticket)),
                    ("describedBy", Slot::Html(&Markup::default())),
                ],
            )?;
            Ok(("Two-step verification", content))
        }
        View::Consent { email } => {
            let content = html_page::render(
                Page::Consent,
                &[
                    ("clientName", Slot::Text(name)),
                    ("email", Slot::Text(email)),
                    ("alert", Slot::Html(&Markup::default())),
                    ("requestId", Slot::Text(&id)),
                    ("csrf", Slot::Text(&csrf)),
                    ("client", Slot::Html(&client)),
                ],
            )?;
            Ok(("Allow access?", content))
        }
        View::Sent { email } => {
            let content = html_page::render(
                Page::Sent,
                &[
                    ("email", Slot::Text(email)),
                    ("clientName", Slot::Text(name)),
                ],
            )?;
            Ok(("Check your email", content))
        }
    }
}

fn answer(page: &LoginPage, req: &PageRequest, status: StatusCode, view: View<'_>) -> Response {
    // Only the sign-in view has the passkey button; every other view stays script-free.
    let script = matches!(view, View::SignIn { .. }) && page.passkeys();
    match render_view(page, req, view) {
        Ok((title, content)) => PageAnswer {
            status,
            title,
            content,
            redirect_source: form_action_source(&req.request.redirect_uri),
            set_cookie: None,
            script,
        }
        .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

pub async fn get(
    State(page): State<Arc<LoginPage>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.as_deref();
    let Some(id) = parse_id(query_param(query, "request_id").as_deref()) else {
        return bad_link().into_response();
    };
    let req = match load(&page, id).await {
        Ok(req) => req,
        Err(res) => return res,
    };
    // A magic link followed: signed in, then back to the page without the ticket.
    if let Some(ticket) = query_param(query, "ticket") {
        return match page.sign_in_link(id, ticket).await {
            Ok(value) => signed_in(&page, id, &value),
            Err(e) => match signin_failure(&e) {
                Some(_) => answer(
                    &page,
                    &req,
                    StatusCode::BAD_REQUEST,
                    View::SignIn {
                        email: "",
                        error: Some("This sign-in link is invalid or has expired."),
                    },
                ),
                None => problem(e),
            },
        };
    }
    match page.signed_in(id, cookie(&headers, COOKIE_NAME)).await {
        Err(e) => e.into_response(),
        Ok(Some(user)) => {
            let email = user.email.as_deref().unwrap_or(&user.display_name);
            answer(&page, &req, StatusCode::OK, View::Consent { email })
        }
        Ok(None) => answer(
            &page,
            &req,
            StatusCode::OK,
            View::SignIn {
                email: "",
                error: None,
            },
        ),
    }
}

/// The sign-in cookie of a sign-in, and back to the page (which now shows the consent).
fn signed_in(page: &LoginPage, id: Uuid, value: &str) -> Response {
    see_other(
        &login_location(id),
        Some(set_cookie(
            COOKIE_NAME,
            Some(value),
            SIGNIN_TTL_SECS,
            page.secure_cookies(),
        )),
    )
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
    let id = match checked_form(&page, &form) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    let req = match load(&page, id).await {
        Ok(req) => req,
        Err(res) => return res,
    };
    let email = form.remove("email").unwrap_or_default();
    let failed = |e: ApiError, email: &str| match signin_failure(&e) {
        Some(message) => answer(
            &page,
            &req,
            StatusCode::BAD_REQUEST,
            View::SignIn {
                email,
                error: Some(message),
            },
        ),
        None => problem(e),
    };
    match form.get("step").map(String::as_str) {
        Some("password") => {
            let password = form.remove("password").unwrap_or_default();
            match page.sign_in_password(id, &email, password).await {
                Ok(SignInStep::SignedIn(value)) => signed_in(&page, id, &value),
                Ok(SignInStep::Totp(ticket)) => answer(
                    &page,
                    &req,
                    StatusCode::OK,
                    View::Totp {
                        ticket: ticket.expose(),
                    },
                ),
                Err(e) => failed(e, &email),
            }
        }
        Some("totp") => {
            let ticket = form.remove("ticket").unwrap_or_default();
            let code = form.remove("code").unwrap_or_default();
            match page.sign_in_totp(id, ticket, code).await {
                Ok(value) => signed_in(&page, id, &value),
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

pub async fn consent(
    State(page): State<Arc<LoginPage>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let form = match read_form(&headers, body) {
        Ok(form) => form,
        Err(refusal) => return refusal.into_response(),
    };
    let id = match checked_form(&page, &form) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    let forget = || Some(set_cookie(COOKIE_NAME, None, 0, page.secure_cookies()));
    match form.get("decision").map(String::as_str) {
        Some("approve") => match page.approve(id, cookie(&headers, COOKIE_NAME)).await {
            Ok(Some(location)) => see_other(&location, forget()),
            // Not signed in (or no longer allowed to): back to the sign-in form.
            Ok(None) => see_other(&login_location(id), None),
            Err(e) => problem(e),
        },
        Some("deny") => match page.deny(id).await {
            Ok(location) => see_other(&location, forget()),
            Err(e) => problem(e),
        },
        _ => message_page(
            StatusCode::BAD_REQUEST,
            "This form cannot be used",
            "Choose Approve or Deny.",
        ),
    }
}

pub async fn magic_link(
    State(page): State<Arc<LoginPage>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut form = match read_form(&headers, body) {
        Ok(form) => form,
        Err(refusal) => return refusal.into_response(),
    };
    let id = match checked_form(&page, &form) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    let req = match load(&page, id).await {
        Ok(req) => req,
        Err(res) => return res,
    };
    if !page.magic_links() {
        return message_page(
            StatusCode::NOT_FOUND,
            "Sign-in links are not available",
            "Sign in with your password instead.",
        );
    }
    let email = form.remove("email").unwrap_or_default();
    match page.send_magic_link(id, &email).await {
        Ok(()) => answer(&page, &req, StatusCode::OK, View::Sent { email: &email }),
        Err(ApiError::Validation(_)) => answer(
            &page,
            &req,
            StatusCode::BAD_REQUEST,
            View::SignIn {
                email: "",
                error: Some("Enter a valid email address to get a sign-in link."),
            },
        ),
        Err(e) => problem(e),
    }
}
