//! The provider's built-in pages (`/oauth2/ui/*`, `AUTH_OAUTH2_PROVIDER_BUILTIN_LOGIN_PAGE`):
//! what every page shares. Pages are rendered from `page-templates/` through
//! [`crate::adapters::html_page`] (values always escaped), answered with the headers of
//! [`PageAnswer`] (a CSP without script but our own `passkey.js` when the page offers
//! passkeys, no framing, no caching, no referrer), and
//! their forms are `application/x-www-form-urlencoded`, read by [`read_form`] and
//! protected by a CSRF token ([`crate::service::oauth2_provider::ui::PageKey`]).
//! [`login`] is the sign-in and consent page; [`device`] the device verification page
//! (RFC 8628), with the same pieces.

pub mod device;
pub mod login;
pub mod passkey;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::adapters::html_page::{self, Markup, Page, Slot};
use crate::error::ApiError;

/// `form-action` sources for a redirect URI: its origin (`https://app.example.com`), or
/// its scheme for a custom one (`com.example.app:`). `None` when it has no safe form.
pub fn form_action_source(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    let source = match url.origin() {
        origin @ url::Origin::Tuple(..) => origin.ascii_serialization(),
        url::Origin::Opaque(_) => format!("{}:", url.scheme()),
    };
    source
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+-.:/[]".contains(&b))
        .then_some(source)
}

/// A rendered page: its title, body and the extra origin its forms may lead to.
pub struct PageAnswer {
    pub status: StatusCode,
    pub title: &'static str,
    pub content: Markup,
    /// Where a form's answer may redirect besides this service (`form-action`).
    pub redirect_source: Option<String>,
    pub set_cookie: Option<String>,
    /// Whether the page loads `passkey.js` (its CSP then allows that script, by nonce,
    /// and requests to this origin).
    pub script: bool,
}

fn security_headers(headers: &mut HeaderMap, csp: &str) {
    let pairs = [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(csp) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
}

/// The page's policy: nothing but our nonce'd style, forms to us (and the client's
/// redirect origin, which a redirect after a form must match), no framing. With
/// `script`, also our nonce'd `passkey.js` and its `fetch` to this origin.
fn csp(nonce: Option<&str>, redirect_source: Option<&str>, script: bool) -> String {
    let style = nonce.map_or("'none'".to_owned(), |n| format!("'nonce-{n}'"));
    let forms = redirect_source.map_or("'self'".to_owned(), |s| format!("'self' {s}"));
    let script = match nonce {
        Some(n) if script => format!(" script-src 'nonce-{n}'; connect-src 'self';"),
        _ => String::new(),
    };
    format!(
        "default-src 'none'; style-src {style};{script} img-src 'none'; form-action {forms}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

impl PageAnswer {
    pub fn into_response(self) -> Response {
        let mut nonce = [0u8; 18];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let nonce = URL_SAFE_NO_PAD.encode(nonce);
        let script = if self.script {
            html_page::render(Page::Script, &[("nonce", Slot::Text(&nonce))])
        } else {
            Ok(Markup::default())
        };
        let page = script.and_then(|script| {
            html_page::render(
                Page::Layout,
                &[
                    ("title", Slot::Text(self.title)),
                    ("nonce", Slot::Text(&nonce)),
                    ("script", Slot::Html(&script)),
                    ("content", Slot::Html(&self.content)),
                ],
            )
        });
        let page = match page {
            Ok(page) => page,
            Err(e) => return ApiError::internal(e).into_response(),
        };
        let mut res = (self.status, page.into_string()).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        security_headers(
            headers,
            &csp(Some(&nonce), self.redirect_source.as_deref(), self.script),
        );
        if let Some(cookie) = self.set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::SET_COOKIE, cookie);
        }
        res
    }
}

/// A 303 to `location` (after a form), with the page headers and maybe a cookie.
pub fn see_other(location: &str, set_cookie: Option<String>) -> Response {
    let Ok(value) = HeaderValue::from_str(location) else {
        return ApiError::internal("redirect location is not a header value").into_response();
    };
    let mut res = StatusCode::SEE_OTHER.into_response();
    let headers = res.headers_mut();
    headers.insert(header::LOCATION, value);
    security_headers(headers, &csp(None, None, false));
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    res
}

/// A page with only a heading and a message (an unusable link, a refused form).
pub fn message_page(status: StatusCode, heading: &'static str, message: &str) -> Response {
    let content = html_page::render(
        Page::Message,
        &[
            ("heading", Slot::Text(heading)),
            ("message", Slot::Text(message)),
        ],
    );
    match content {
        Ok(content) => PageAnswer {
            status,
            title: heading,
            content,
            redirect_source: None,
            set_cookie: None,
            script: false,
        }
        .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A refused form or link, answered as a message page.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub heading: &'static str,
    pub message: &'static str,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        message_page(self.status, self.heading, self.message)
    }
}

/// A page form's fields, or why it is refused (another content type, a body too large
/// or unreadable, a field given twice, NUL).
pub fn read_form(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<HashMap<String, String>, Refusal> {
    let refused = |status| Refusal {
        status,
        heading: "This form cannot be read",
        message: "The form was not sent as this page sends it.",
    };
    if !super::declares_form(headers) {
        return Err(refused(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(refused(StatusCode::PAYLOAD_TOO_LARGE));
        }
        Err(_) => return Err(refused(StatusCode::BAD_REQUEST)),
    };
    super::form::parse(&body).map_err(|_| refused(StatusCode::BAD_REQUEST))
}

/// The value of cookie `name` in the request, if exactly one is given.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v);
    let value = found.next()?;
    found.next().is_none().then_some(value)
}

/// `Set-Cookie` for a page cookie: HttpOnly, SameSite=Strict, `Secure` when the service
/// is reached over https, scoped by default to the pages' directory (`…/oauth2/ui`)
/// whatever the path prefix. `None` as the value deletes it.
pub fn set_cookie(name: &str, value: Option<&str>, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match value {
        Some(v) => format!("{name}={v}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Max-Age=0; HttpOnly; SameSite=Strict{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_action_sources() {
        assert_eq!(
            form_action_source("https://app.example.com:8443/cb?x=1").as_deref(),
            Some("https://app.example.com:8443")
        );
        assert_eq!(
            form_action_source("com.example.app:/callback").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(form_action_source("not a url"), None);
    }

    #[test]
    fn cookies_are_found_once() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
        h.append(header::COOKIE, HeaderValue::from_static("b=3"));
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn the_policy_allows_no_script() {
        let p = csp(Some("abc"), Some("https://app.example.com"), false);
        assert!(p.starts_with("default-src 'none';"));
        assert!(!p.contains("script-src"));
        assert!(!p.contains("connect-src"));
        assert!(p.contains("form-action 'self' https://app.example.com;"));
        assert!(p.contains("frame-ancestors 'none'"));
        // No nonce (a redirect): no script even when asked.
        assert!(!csp(None, None, true).contains("script-src"));
    }

    #[test]
    fn the_passkey_policy_allows_only_the_nonced_script() {
        let p = csp(Some("abc"), None, true);
        assert!(p.starts_with("default-src 'none';"));
        assert!(p.contains("script-src 'nonce-abc'; connect-src 'self';"));
        assert!(!p.contains("unsafe"));
        assert!(p.contains("frame-ancestors 'none'"));
    }
}
