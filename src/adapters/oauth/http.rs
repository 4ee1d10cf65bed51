//! The HTTP client every provider call goes through.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;

use crate::tls::Tls;

/// Upstream gives profile requests 10 seconds; every provider call gets the same.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A client for provider calls. Redirects are not followed: the `oauth2` crate requires
/// it (a token endpoint that redirects could leak the code elsewhere).
pub fn client(tls: &Tls) -> Result<reqwest::Client, String> {
    tls.http_client()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent(concat!("hasura-auth/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// `GET url` with the provider access token as a bearer token and JSON accepted.
/// Anything but a 2xx JSON answer is an error (its text says why, for the logs).
pub async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    access_token: &str,
    extra_headers: &[(&'static str, &str)],
) -> Result<T, String> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let bearer = HeaderValue::from_str(&format!("Bearer {access_token}"))
        .map_err(|_| "access token is not a valid header value".to_owned())?;
    headers.insert(AUTHORIZATION, bearer);
    for (name, value) in extra_headers {
        let value = HeaderValue::from_str(value).map_err(|_| format!("bad {name} header"))?;
        headers.insert(HeaderName::from_static(name), value);
    }
    let res = http
        .get(url)
        .headers(headers)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = res.status();
    if !status.is_success() {
        return Err(format!("GET {url}: status {status}"));
    }
    res.json::<T>()
        .await
        .map_err(|e| format!("GET {url}: unexpected body: {e}"))
}
