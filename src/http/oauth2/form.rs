//! The form bodies of the provider's client endpoints (token, introspection,
//! revocation): `application/x-www-form-urlencoded` (RFC 6749 §3.2), read into a map.
//! Every failure is an OAuth2 `invalid_request` (never the service's usual error body):
//! another content type, a body that is not valid form text, NUL anywhere, or a
//! parameter given twice (RFC 6749 §3.2: parameters must not repeat). Unknown parameters
//! are ignored, as the RFC requires.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::service::oauth2_provider::OAuth2Error;
use crate::service::oauth2_provider::clients::{self, Credentials};

/// The parameters of a form body, each at most once.
#[derive(Default)]
pub struct OAuth2Form {
    fields: HashMap<String, String>,
    authorization: Option<String>,
}

impl std::fmt::Debug for OAuth2Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: values are codes, tokens and secrets.
        f.debug_struct("OAuth2Form")
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A form refusal, with the token endpoint's headers when asked.
pub struct FormRejection(pub OAuth2Error, StatusCode);

impl IntoResponse for FormRejection {
    fn into_response(self) -> Response {
        let mut res = self.0.no_store().into_response();
        *res.status_mut() = self.1;
        res
    }
}

fn declares_form(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "application/x-www-form-urlencoded")
}

/// Parses form text; `Err` with the reason when it cannot be accepted.
pub fn parse(body: &[u8]) -> Result<HashMap<String, String>, &'static str> {
    if std::str::from_utf8(body).is_err() {
        return Err("The request body is not valid UTF-8");
    }
    let mut fields = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if name.contains('\0') || value.contains('\0') {
            return Err("The request contains a NUL character");
        }
        if fields
            .insert(name.into_owned(), value.into_owned())
            .is_some()
        {
            return Err("A parameter is repeated");
        }
    }
    Ok(fields)
}

impl<S: Send + Sync> FromRequest<S> for OAuth2Form {
    type Rejection = FormRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bad = |msg: &'static str| {
            FormRejection(OAuth2Error::invalid_request(msg), StatusCode::BAD_REQUEST)
        };
        let authorization = req
            .headers()
            .get(AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned))
            .transpose()
            .map_err(|_| bad("Malformed Authorization header"))?;
        let form = declares_form(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                FormRejection(
                    OAuth2Error::invalid_request("Request body too large"),
                    StatusCode::PAYLOAD_TOO_LARGE,
                )
            } else {
                bad("The request body cannot be read")
            }
        })?;
        if !form {
            return Err(bad(
                "The request body must be application/x-www-form-urlencoded",
            ));
        }
        Ok(OAuth2Form {
            fields: parse(&bytes).map_err(bad)?,
            authorization,
        })
    }
}

impl OAuth2Form {
    /// A parameter's value (an empty value counts as given).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// A parameter's value, by value.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.fields.remove(name)
    }

    /// The client credentials: `Authorization: Basic`, or `client_id` /
    /// `client_secret` in the body (both ways at once is `invalid_request`).
    pub fn credentials(&self) -> Result<Credentials, OAuth2Error> {
        clients::credentials(
            self.authorization.as_deref(),
            self.get("client_id"),
            self.get("client_secret"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_or_nul_parameters_are_refused() {
        assert!(parse(b"a=1&b=2").is_ok());
        assert_eq!(parse(b"a=1&a=2").err(), Some("A parameter is repeated"));
        assert!(parse(b"a=%00").is_err());
        assert!(parse(b"a%00=1").is_err());
        assert!(parse(b"a=\xff").is_err());
        let f = parse(b"code=a+b%2Bc&empty=").unwrap();
        assert_eq!(f["code"], "a b+c");
        assert_eq!(f["empty"], "");
    }

    #[test]
    fn only_form_bodies() {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8"
                .parse()
                .unwrap(),
        );
        assert!(declares_form(&h));
        h.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(!declares_form(&h));
        assert!(!declares_form(&HeaderMap::new()));
    }
}
