//! The OAuth2/OIDC identity provider's endpoints (reference §2.1; the domain is
//! [`crate::service::oauth2_provider`]). They answer OAuth2 errors
//! (`{"error","error_description"}`), except the consent UI's `/oauth2/login`,
//! `/oauth2/device/verify` and the built-in HTML pages of [`ui`].

pub mod authorize;
pub mod device;
pub mod discovery;
pub mod form;
pub mod introspect;
pub mod login;
pub mod revoke;
pub mod token;
pub mod ui;
pub mod userinfo;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};

use crate::service::oauth2_provider::OAuth2Error;

/// Whether the request declares an `application/x-www-form-urlencoded` body.
fn declares_form(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.type_() == mime::APPLICATION && m.subtype() == mime::WWW_FORM_URLENCODED)
}

/// The raw body of a form request (`application/x-www-form-urlencoded`), refused with an
/// OAuth2 `invalid_request` when it is of another type or cannot be read (too large).
pub struct RawForm(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawForm {
    type Rejection = OAuth2Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !declares_form(req.headers()) {
            return Err(OAuth2Error::invalid_request(
                "Content-Type must be application/x-www-form-urlencoded",
            ));
        }
        Bytes::from_request(req, state)
            .await
            .map(RawForm)
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    OAuth2Error::invalid_request("Request body too large")
                } else {
                    OAuth2Error::invalid_request("Cannot read the request body")
                }
            })
    }
}
