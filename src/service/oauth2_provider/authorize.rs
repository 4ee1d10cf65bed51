//! `GET|POST /oauth2/authorize` (reference §2.1.2): the start of the authorization-code
//! flow. The checks run in upstream's order, and where an error goes depends on whether
//! the redirect URI can be trusted yet:
//!
//! 1. the client (unknown: JSON 401 `invalid_client`), then the redirect URI (not exactly
//!    one of the client's: JSON 400 `invalid_request`): until both hold, errors are JSON
//!    answers, never redirects (an open redirector otherwise);
//! 2. from then on, errors are 302 redirects to the redirect URI carrying `error`,
//!    `error_description`, `iss` and `state`: `response_type` must be `code`, the scopes
//!    must be allowed, PKCE is `S256` only and mandatory for public clients;
//! 3. success stores the request (ten minutes) and sends the browser to the consent page:
//!    `<login URL>?request_id=<uuid>[&prompt=<prompt>]`.

use std::collections::BTreeMap;

use super::error::OAuth2Error;
use super::{AUTH_REQUEST_TTL_SECS, OAuth2Provider, scopes};
use crate::db::oauth2_provider::{self as sql, NewAuthRequest};

/// The longest value accepted for a parameter (a `redirect_uri`, a `state`…).
pub const MAX_PARAM_LEN: usize = 4096;

/// The parameters of an authorization request (query string or form), with the names
/// given more than once (RFC 6749 §3.1: parameters must not repeat).
#[derive(Debug, Default)]
pub struct AuthorizeParams {
    values: BTreeMap<String, String>,
    repeated: Vec<String>,
    /// A name or value holds NUL (which PostgreSQL text cannot store).
    has_nul: bool,
}

impl AuthorizeParams {
    /// Parses `application/x-www-form-urlencoded` text (a query string or a form body).
    /// Empty values count as absent.
    pub fn parse(encoded: &[u8]) -> AuthorizeParams {
        let mut params = AuthorizeParams::default();
        for (name, value) in url::form_urlencoded::parse(encoded) {
            params.has_nul |= name.contains('\0') || value.contains('\0');
            if value.is_empty() {
                continue;
            }
            if params.values.contains_key(name.as_ref()) {
                if !params.repeated.iter().any(|r| r == name.as_ref()) {
                    params.repeated.push(name.into_owned());
                }
            } else {
                params.values.insert(name.into_owned(), value.into_owned());
            }
        }
        params
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    fn repeated(&self, name: &str) -> bool {
        self.repeated.iter().any(|r| r == name)
    }
}

/// Where `/oauth2/authorize` sends the browser (a 302): the consent page, or the
/// client's redirect URI with an error.
pub type Location = String;

/// A PKCE `S256` challenge: 43 base64url characters (a SHA-256 digest, unpadded).
fn valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The redirect URI with the error, `iss` and `state` added to its query.
pub fn error_redirect(
    redirect_uri: &url::Url,
    error: &OAuth2Error,
    issuer: &str,
    state: Option<&str>,
) -> Location {
    let mut url = redirect_uri.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("error", error.code.as_str());
        q.append_pair("error_description", &error.description);
        q.append_pair("iss", issuer);
        if let Some(state) = state {
            q.append_pair("state", state);
        }
    }
    url.into()
}

impl OAuth2Provider {
    /// Runs an authorization request: `Ok` is where to redirect (the consent page or an
    /// error redirect), `Err` an error answered as JSON (the redirect URI not trusted).
    pub async fn authorize(&self, params: &AuthorizeParams) -> Result<Location, OAuth2Error> {
        self.ensure_enabled()?;
        if params.has_nul {
            return Err(OAuth2Error::invalid_request(
                "Parameters must not contain NUL characters",
            ));
        }
        // 1. Client and redirect URI: JSON errors.
        if params.repeated("client_id") {
            return Err(OAuth2Error::invalid_request(
                "client_id must not be repeated",
            ));
        }
        let client_id = params
            .get("client_id")
            .ok_or_else(|| OAuth2Error::invalid_request("client_id is required"))?;
        let client = self
            .find_client(client_id)
            .await?
            .ok_or_else(|| OAuth2Error::invalid_client("Unknown client"))?;
        let invalid_redirect = || OAuth2Error::invalid_request("Invalid redirect_uri");
        if params.repeated("redirect_uri") {
            return Err(invalid_redirect());
        }
        let redirect_text = params.get("redirect_uri").ok_or_else(invalid_redirect)?;
        if redirect_text.len() > MAX_PARAM_LEN || !client.allows_redirect(redirect_text) {
            return Err(invalid_redirect());
        }
        let redirect_uri = url::Url::parse(redirect_text).map_err(|_| invalid_redirect())?;

        // 2. Everything else: redirects to the client.
        let state = params.get("state").filter(|s| s.len() <= MAX_PARAM_LEN);
        let fail = |e: OAuth2Error| {
            Ok(error_redirect(
                &redirect_uri,
                &e,
                &self.settings.issuer,
                state,
            ))
        };
        if let Some(name) = params.repeated.first() {
            return fail(OAuth2Error::invalid_request(format!(
                "{name} must not be repeated"
            )));
        }
        if let Some((name, _)) = params.values.iter().find(|(_, v)| v.len() > MAX_PARAM_LEN) {
            return fail(OAuth2Error::invalid_request(format!("{name} is too long")));
        }
        match params.get("response_type") {
            None => return fail(OAuth2Error::invalid_request("response_type is required")),
            Some("code") => {}
            Some(_) => {
                return fail(OAuth2Error::new(
                    super::OAuth2ErrorCode::UnsupportedResponseType,
                    "Only the code response type is supported",
                ));
            }
        }
        if params.get("request").is_some() || params.get("request_uri").is_some() {
            return fail(OAuth2Error::new(
                super::OAuth2ErrorCode::InvalidRequest,
                "Request objects are not supported",
            ));
        }
        let requested = scopes::parse(params.get("scope"));
        if let Err(e) = scopes::check(&requested, client.scopes()) {
            return fail(e);
        }
        let challenge = params.get("code_challenge");
        let method = match (challenge, params.get("code_challenge_method")) {
            (None, None) => None,
            (None, Some(_)) => {
                return fail(OAuth2Error::invalid_request(
                    "code_challenge_method requires a code_challenge",
                ));
            }
            // Absent means S256 here: the only method there is (a client sending a plain
            // challenge without saying so fails at the token endpoint).
            (Some(_), None | Some("S256")) => Some("S256"),
            (Some(_), Some(_)) => {
                return fail(OAuth2Error::invalid_request(
                    "Only the S256 code_challenge_method is supported",
                ));
            }
        };
        if let Some(challenge) = challenge
            && !valid_s256_challenge(challenge)
        {
            return fail(OAuth2Error::invalid_request(
                "code_challenge must be 43 base64url characters (S256)",
            ));
        }
        if client.is_public() && challenge.is_none() {
            return fail(OAuth2Error::invalid_request(
                "PKCE code_challenge is required for public clients",
            ));
        }

        // 3. The request, then the consent page.
        let db = self.db.get().await?;
        let id = sql::insert_auth_request(
            &db,
            &NewAuthRequest {
                client_id: client.id(),
                scopes: &requested,
                redirect_uri: redirect_text,
                state,
                nonce: params.get("nonce"),
                response_type: "code",
                code_challenge: challenge,
                code_challenge_method: method,
                resource: params.get("resource"),
            },
            AUTH_REQUEST_TTL_SECS,
        )
        .await?;
        drop(db);
        let mut login = url::Url::parse(&self.settings.login_url)
            .map_err(|e| OAuth2Error::internal(format!("login URL: {e}")))?;
        {
            let mut q = login.query_pairs_mut();
            q.append_pair("request_id", &id.to_string());
            if let Some(prompt) = params.get("prompt") {
                q.append_pair("prompt", prompt);
            }
        }
        Ok(login.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_first_values_and_notes_repeats() {
        let p = AuthorizeParams::parse(b"a=1&b=&a=2&c=x%20y&c=z&d=%zz");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert!(p.repeated("a") && p.repeated("c") && !p.repeated("b"));
        // A malformed escape is kept as text, not an error.
        assert_eq!(p.get("d"), Some("%zz"));
    }

    #[test]
    fn s256_challenges() {
        assert!(valid_s256_challenge(&"a".repeat(43)));
        assert!(valid_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!valid_s256_challenge(&"a".repeat(42)));
        assert!(!valid_s256_challenge(&"a".repeat(44)));
        assert!(!valid_s256_challenge(&format!("{}=", "a".repeat(42))));
        assert!(!valid_s256_challenge(&format!("{}+", "a".repeat(42))));
    }

    #[test]
    fn error_redirects_keep_the_query_and_add_the_error() {
        let uri = url::Url::parse("https://app.example.com/cb?x=1").unwrap();
        let e = OAuth2Error::invalid_scope("Scope not allowed");
        let loc = error_redirect(&uri, &e, "https://auth.example.com/v1", Some("s&t"));
        assert_eq!(
            loc,
            "https://app.example.com/cb?x=1&error=invalid_scope&error_description=Scope+not+allowed\
             &iss=https%3A%2F%2Fauth.example.com%2Fv1&state=s%26t"
        );
        let loc = error_redirect(&uri, &e, "i", None);
        assert!(!loc.contains("state="));
    }
}
