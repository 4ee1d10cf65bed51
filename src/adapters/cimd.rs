//! Client ID Metadata Documents (reference §2.1.9; draft-ietf-oauth-client-id-metadata-
//! document): a client whose `client_id` is an `https://` URL describes itself in a JSON
//! document served at that URL. This fetches and checks one, defensively: the URL is
//! the attacker's choice, so
//!
//! - only `https` (plus `http` with `allow_insecure`), no credentials or fragment in it;
//! - the host is resolved here and **every** address must be public (not loopback,
//!   private, link-local, unspecified, multicast, CGNAT, documentation, …) unless
//!   `allow_insecure`; the connection is then pinned to those addresses (no second DNS
//!   answer can point it elsewhere);
//! - redirects are not followed (an answer other than 200 is an error);
//! - 5 seconds in all, at most 5 KB of body;
//! - the document must name the same `client_id`, list `redirect_uris` that are
//!   same-origin with the client id (or loopback: `localhost`, `127.0.0.1`, `[::1]`),
//!   and not ask for a client secret: these clients are always public.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde_json::Value;

use crate::tls::Tls;

/// Largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// Time limit of a fetch (connect, headers and body).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a metadata document was not accepted (said to the client as `invalid_client`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CimdError {
    #[error("client_id is not an acceptable metadata document URL: {0}")]
    Url(&'static str),
    #[error("client_id host resolves to a non-public address")]
    PrivateAddress,
    #[error("client_id host cannot be resolved")]
    Resolve,
    #[error("metadata document fetch failed: {0}")]
    Fetch(String),
    #[error("metadata document is larger than 5 KB")]
    TooLarge,
    #[error("metadata document is invalid: {0}")]
    Invalid(String),
}

/// What the document says about the client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientMetadata {
    pub redirect_uris: Vec<String>,
    /// The document's `scope`, split; `None` when absent.
    pub scope: Option<Vec<String>>,
    /// The whole document, stored as `metadata`.
    pub document: Value,
}

/// Whether a client id is URL-shaped (then it names a metadata document).
pub fn is_url_client_id(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Checks the shape of a client-id URL.
pub fn check_url(client_id: &str, allow_insecure: bool) -> Result<url::Url, CimdError> {
    let url = url::Url::parse(client_id).map_err(|_| CimdError::Url("not a URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        _ => return Err(CimdError::Url("the scheme must be https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(CimdError::Url("credentials are not allowed"));
    }
    if url.fragment().is_some() {
        return Err(CimdError::Url("a fragment is not allowed"));
    }
    if url.host().is_none() {
        return Err(CimdError::Url("a host is required"));
    }
    // The URL must be exactly what the client sent (no normalisation hiding `..`).
    if url.as_str() != client_id {
        return Err(CimdError::Url("the URL is not in normal form"));
    }
    Ok(url)
}

/// Whether an address may be fetched from without `allow_insecure`.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 CGNAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x64 && s[1] == 0xff9b)) // NAT64 (may reach private IPv4)
        }
    }
}

/// Whether a redirect URI is loopback (`localhost`, `127.0.0.1`, `[::1]`, any port).
fn is_loopback_redirect(uri: &url::Url) -> bool {
    match uri.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks a fetched document against its client id.
pub fn parse_document(client_id: &url::Url, body: &[u8]) -> Result<ClientMetadata, CimdError> {
    let invalid = |m: &str| CimdError::Invalid(m.to_owned());
    let document: Value = serde_json::from_slice(body).map_err(|_| invalid("not JSON"))?;
    let obj = document
        .as_object()
        .ok_or_else(|| invalid("not a JSON object"))?;
    if obj.get("client_id").and_then(Value::as_str) != Some(client_id.as_str()) {
        return Err(invalid("client_id does not match the document's URL"));
    }
    if let Some(method) = obj.get("token_endpoint_auth_method")
        && method.as_str() != Some("none")
    {
        return Err(invalid("token_endpoint_auth_method must be none"));
    }
    if obj.contains_key("client_secret") {
        return Err(invalid("a metadata document cannot carry a client_secret"));
    }
    let uris = obj
        .get("redirect_uris")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| invalid("redirect_uris must be a non-empty array"))?;
    let mut redirect_uris = Vec::with_capacity(uris.len());
    for uri in uris {
        let text = uri
            .as_str()
            .ok_or_else(|| invalid("redirect_uris must be strings"))?;
        let parsed = url::Url::parse(text).map_err(|_| invalid("a redirect URI is not a URL"))?;
        if parsed.origin() != client_id.origin() && !is_loopback_redirect(&parsed) {
            return Err(invalid(
                "redirect URIs must be same-origin with the client_id (or loopback)",
            ));
        }
        redirect_uris.push(text.to_owned());
    }
    let scope = match obj.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            s.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Some(_) => return Err(invalid("scope must be a string")),
    };
    Ok(ClientMetadata {
        redirect_uris,
        scope,
        document,
    })
}

/// Fetches and checks the document a client id names.
pub async fn fetch(
    tls: &Tls,
    client_id: &str,
    allow_insecure: bool,
) -> Result<ClientMetadata, CimdError> {
    let url = check_url(client_id, allow_insecure)?;
    let host = url.host_str().ok_or(CimdError::Url("a host is required"))?;
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup = tokio::time::timeout(FETCH_TIMEOUT, async {
        // An IP literal (bracketed for IPv6 in URLs) resolves to itself.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        tokio::net::lookup_host((bare, port))
            .await
            .map(|addrs| addrs.collect::<Vec<_>>())
    })
    .await
    .map_err(|_| CimdError::Resolve)?
    .map_err(|_| CimdError::Resolve)?;
    if lookup.is_empty() {
        return Err(CimdError::Resolve);
    }
    if !allow_insecure && lookup.iter().any(|a| !is_public(a.ip())) {
        return Err(CimdError::PrivateAddress);
    }
    let client = tls
        .http_client()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT)
        .no_proxy()
        .resolve_to_addrs(host, &lookup)
        .build()
        .map_err(|e| CimdError::Fetch(e.to_string()))?;
    let body = tokio::time::timeout(FETCH_TIMEOUT, async {
        let mut res = client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| CimdError::Fetch(without_url(&e)))?;
        if res.status() != reqwest::StatusCode::OK {
            return Err(CimdError::Fetch(format!(
                "HTTP status {}",
                res.status().as_u16()
            )));
        }
        if res
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(CimdError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| CimdError::Fetch(without_url(&e)))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(CimdError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    })
    .await
    .map_err(|_| CimdError::Fetch("timed out".into()))??;
    parse_document(&url, &body)
}

fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        "transport error".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert!(check_url("https://app.example.com/client.json", false).is_ok());
        assert!(check_url("http://app.example.com/client.json", false).is_err());
        assert!(check_url("http://127.0.0.1:8080/c.json", true).is_ok());
        for bad in [
            "https://u:p@app.example.com/c.json",
            "https://app.example.com/c.json#x",
            "https://app.example.com/a/../c.json",
            "ftp://app.example.com/c.json",
            "https:///c.json",
        ] {
            assert!(check_url(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn address_rules() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "255.255.255.255",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn document_rules() {
        let id = url::Url::parse("https://app.example.com/client.json").unwrap();
        let ok = br#"{"client_id":"https://app.example.com/client.json",
            "redirect_uris":["https://app.example.com/cb","http://localhost:8080/cb","http://127.0.0.1/cb"],
            "scope":"openid email"}"#;
        let m = parse_document(&id, ok).unwrap();
        assert_eq!(m.redirect_uris.len(), 3);
        assert_eq!(m.scope, Some(vec!["openid".into(), "email".into()]));
        for (bad, why) in [
            (&b"not json"[..], "not JSON"),
            (b"[]", "not a JSON object"),
            (br#"{"client_id":"https://other.example.com/client.json","redirect_uris":["https://app.example.com/cb"]}"#,
             "client_id does not match"),
            (br#"{"client_id":"https://app.example.com/client.json","redirect_uris":["https://evil.example.com/cb"]}"#,
             "same-origin"),
            (br#"{"client_id":"https://app.example.com/client.json","redirect_uris":["http://app.example.com/cb"]}"#,
             "same-origin"),
            (br#"{"client_id":"https://app.example.com/client.json","redirect_uris":[]}"#, "non-empty"),
            (br#"{"client_id":"https://app.example.com/client.json","redirect_uris":["https://app.example.com/cb"],
                "token_endpoint_auth_method":"client_secret_basic"}"#, "must be none"),
        ] {
            let e = parse_document(&id, bad).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }
}
