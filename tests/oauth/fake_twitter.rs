//! A local Twitter speaking OAuth 1.0a. Every request's HMAC-SHA1 signature is checked
//! here independently (RFC 5849 §3.4, with the `hmac` and `sha1` crates), so a wrong
//! signature base string, key or parameter set fails the test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;

pub const CONSUMER_KEY: &str = "tw-consumer-key";
pub const CONSUMER_SECRET: &str = "tw-consumer-secret";

/// A request token's secret, callback, and verifier once authorized.
type RequestToken = (String, String, Option<String>);

struct Twitter {
    base: String,
    profile: Mutex<Value>,
    request_tokens: Mutex<HashMap<String, RequestToken>>,
    /// access token → secret
    access_tokens: Mutex<HashMap<String, String>>,
    failures: Mutex<Vec<String>>,
}

pub struct FakeTwitter {
    pub base: String,
    inner: Arc<Twitter>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// RFC 3986 percent-encoding as OAuth 1.0a requires (unreserved characters kept).
fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pct_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `OAuth k="v", …` → pairs (values decoded).
fn oauth_params(headers: &HeaderMap) -> Option<Vec<(String, String)>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let rest = value.strip_prefix("OAuth ")?;
    Some(
        rest.split(',')
            .filter_map(|part| {
                let (k, v) = part.trim().split_once('=')?;
                Some((pct_decode(k), pct_decode(v.trim_matches('"'))))
            })
            .collect(),
    )
}

impl Twitter {
    /// Checks the request's signature; returns its OAuth parameters.
    fn verify(
        &self,
        method: &str,
        uri: &Uri,
        headers: &HeaderMap,
        token_secret: &str,
    ) -> Result<HashMap<String, String>, String> {
        let oauth = oauth_params(headers).ok_or("no OAuth authorization header")?;
        let mut params: Vec<(String, String)> = oauth
            .iter()
            .filter(|(k, _)| k != "oauth_signature" && k != "realm")
            .cloned()
            .collect();
        params.extend(
            url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
        let mut encoded: Vec<(String, String)> =
            params.iter().map(|(k, v)| (pct(k), pct(v))).collect();
        encoded.sort();
        let normalized = encoded
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let base_uri = format!("{}{}", self.base, uri.path());
        let base = format!("{}&{}&{}", method, pct(&base_uri), pct(&normalized));
        let key = format!("{}&{}", pct(CONSUMER_SECRET), pct(token_secret));
        let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).map_err(|e| e.to_string())?;
        mac.update(base.as_bytes());
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let map: HashMap<String, String> = oauth.into_iter().collect();
        if map.get("oauth_signature_method").map(String::as_str) != Some("HMAC-SHA1") {
            return Err("not HMAC-SHA1".into());
        }
        if map.get("oauth_consumer_key").map(String::as_str) != Some(CONSUMER_KEY) {
            return Err("wrong consumer key".into());
        }
        if map.get("oauth_signature") != Some(&expected) {
            return Err(format!("bad signature for base string {base}"));
        }
        Ok(map)
    }
}

fn form(pairs: &[(&str, &str)]) -> Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
        body,
    )
        .into_response()
}

impl FakeTwitter {
    pub async fn start(profile: Value) -> FakeTwitter {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake twitter");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let inner = Arc::new(Twitter {
            base: base.clone(),
            profile: Mutex::new(profile),
            request_tokens: Mutex::default(),
            access_tokens: Mutex::default(),
            failures: Mutex::default(),
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTwitter { base, inner }
    }

    /// Signature failures seen so far (empty when every request was signed correctly).
    pub fn failures(&self) -> Vec<String> {
        lock(&self.inner.failures).clone()
    }

    pub fn flags(&self) -> Vec<String> {
        let b = &self.base;
        vec![
            "--twitter-enabled".into(),
            format!("--twitter-consumer-key={CONSUMER_KEY}"),
            format!("--twitter-consumer-secret={CONSUMER_SECRET}"),
            format!("--twitter-request-token-url={b}/oauth/request_token"),
            format!("--twitter-authorization-url={b}/oauth/authorize"),
            format!("--twitter-access-token-url={b}/oauth/access_token"),
            format!("--twitter-user-profile-url={b}/1.1/account/verify_credentials.json"),
        ]
    }
}

async fn handle(
    State(t): State<Arc<Twitter>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    _body: Bytes,
) -> Response {
    let fail = |msg: String| {
        lock(&t.failures).push(msg.clone());
        (StatusCode::UNAUTHORIZED, msg).into_response()
    };
    match (method.as_str(), uri.path()) {
        ("POST", "/oauth/request_token") => {
            let params = match t.verify("POST", &uri, &headers, "") {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            let Some(callback) = params.get("oauth_callback").cloned() else {
                return fail("no oauth_callback".into());
            };
            let token = format!("req-{}", uuid::Uuid::new_v4().simple());
            let secret = format!("reqsecret-{}", uuid::Uuid::new_v4().simple());
            lock(&t.request_tokens).insert(token.clone(), (secret.clone(), callback, None));
            form(&[
                ("oauth_token", &token),
                ("oauth_token_secret", &secret),
                ("oauth_callback_confirmed", "true"),
            ])
        }
        ("GET", "/oauth/authorize") => {
            let q: HashMap<String, String> =
                url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
            let token = q.get("oauth_token").cloned().unwrap_or_default();
            let mut tokens = lock(&t.request_tokens);
            let Some(entry) = tokens.get_mut(&token) else {
                return (StatusCode::BAD_REQUEST, "unknown request token").into_response();
            };
            let verifier = format!("verifier-{}", uuid::Uuid::new_v4().simple());
            entry.2 = Some(verifier.clone());
            let mut to = url::Url::parse(&entry.1).expect("callback URL");
            to.query_pairs_mut()
                .append_pair("oauth_token", &token)
                .append_pair("oauth_verifier", &verifier);
            (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
        }
        ("POST", "/oauth/access_token") => {
            let token = oauth_params(&headers)
                .and_then(|p| {
                    p.into_iter()
                        .find(|(k, _)| k == "oauth_token")
                        .map(|(_, v)| v)
                })
                .unwrap_or_default();
            let Some((secret, _, verifier)) = lock(&t.request_tokens).remove(&token) else {
                return fail("unknown request token".into());
            };
            let params = match t.verify("POST", &uri, &headers, &secret) {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            if verifier.is_none() || params.get("oauth_verifier") != verifier.as_ref() {
                return fail("wrong verifier".into());
            }
            let access = format!("acc-{}", uuid::Uuid::new_v4().simple());
            let access_secret = format!("accsecret-{}", uuid::Uuid::new_v4().simple());
            lock(&t.access_tokens).insert(access.clone(), access_secret.clone());
            form(&[
                ("oauth_token", &access),
                ("oauth_token_secret", &access_secret),
                ("user_id", "1"),
                ("screen_name", "someone"),
            ])
        }
        ("GET", "/1.1/account/verify_credentials.json") => {
            let token = oauth_params(&headers)
                .and_then(|p| {
                    p.into_iter()
                        .find(|(k, _)| k == "oauth_token")
                        .map(|(_, v)| v)
                })
                .unwrap_or_default();
            let Some(secret) = lock(&t.access_tokens).get(&token).cloned() else {
                return fail("unknown access token".into());
            };
            if let Err(e) = t.verify("GET", &uri, &headers, &secret) {
                return fail(e);
            }
            if !uri
                .query()
                .unwrap_or_default()
                .contains("include_email=true")
            {
                return fail("include_email missing".into());
            }
            let body = lock(&t.profile).clone();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
