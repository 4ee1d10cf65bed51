//! A local OAuth 2.0 / OpenID Connect provider. It speaks the protocol strictly
//! (client authentication, redirect URI, single-use codes, PKCE S256, refresh tokens,
//! bearer-protected profile endpoints) and serves whatever profile JSON a test gives it,
//! in the shape of the provider being imitated.

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
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::keys::SigningKeys;

/// How the fake expects the client to authenticate at its token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    Basic,
    Body,
}

/// Id tokens the fake issues (OpenID Connect, Apple).
#[derive(Clone)]
pub struct IdTokens {
    /// `iss` of the id tokens (the fake's base URL when `None`).
    pub issuer: Option<String>,
    /// Claims besides iss/aud/iat/exp/nonce (sub, email, …).
    pub claims: Value,
    /// Put the id token in the token answer.
    pub in_token_response: bool,
}

#[derive(Clone)]
pub struct Settings {
    pub client_id: String,
    pub client_secret: String,
    pub client_auth: ClientAuth,
    /// GET path → JSON served to a valid bearer access token.
    pub profiles: HashMap<String, Value>,
    /// Headers every profile request must carry (e.g. Twitch's `client-id`).
    pub profile_headers: Vec<(String, String)>,
    /// Token answer tweaks: fields to add (`null` removes a field).
    pub token_extra: Value,
    pub id_tokens: Option<IdTokens>,
    /// Check of the client secret instead of equality (Apple's signed JWT).
    pub secret_check: Option<fn(&str) -> bool>,
    /// Serve `/.well-known/openid-configuration`.
    pub discovery: bool,
    /// Extra fields of a `form_post` answer (Apple's `user`).
    pub form_extra: Vec<(String, String)>,
}

impl Settings {
    pub fn new(client_id: &str, client_secret: &str, client_auth: ClientAuth) -> Settings {
        Settings {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            client_auth,
            profiles: HashMap::new(),
            profile_headers: Vec::new(),
            token_extra: json!({}),
            id_tokens: None,
            secret_check: None,
            discovery: false,
            form_extra: Vec::new(),
        }
    }

    pub fn profile(mut self, path: &str, body: Value) -> Settings {
        self.profiles.insert(path.into(), body);
        self
    }
}

struct Grant {
    redirect_uri: String,
    code_challenge: Option<String>,
    nonce: Option<String>,
}

#[derive(Default)]
struct Behaviour {
    authorize_error: Option<(String, String)>,
    token_fails: bool,
    profile_fails: bool,
}

struct Fake {
    base: String,
    settings: Mutex<Settings>,
    keys: Arc<SigningKeys>,
    codes: Mutex<HashMap<String, Grant>>,
    access_tokens: Mutex<Vec<String>>,
    refresh_tokens: Mutex<Vec<String>>,
    behaviour: Mutex<Behaviour>,
    authorize_requests: Mutex<Vec<HashMap<String, String>>>,
    token_requests: Mutex<Vec<HashMap<String, String>>>,
    profile_requests: Mutex<Vec<String>>,
}

pub struct FakeProvider {
    pub base: String,
    fake: Arc<Fake>,
    pub keys: Arc<SigningKeys>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn random() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn query_map(query: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn oauth_error(error: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, json!({ "error": error }))
}

impl FakeProvider {
    pub async fn start(settings: Settings) -> FakeProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake provider");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        Self::serve_on(listener, base, settings)
    }

    /// The fake on any listener (e.g. one that speaks TLS), reached at `base`.
    pub fn serve_on<L>(listener: L, base: String, settings: Settings) -> FakeProvider
    where
        L: axum::serve::Listener,
        L::Addr: std::fmt::Debug,
    {
        let keys = Arc::new(SigningKeys::new());
        let fake = Arc::new(Fake {
            base: base.clone(),
            settings: Mutex::new(settings),
            keys: keys.clone(),
            codes: Mutex::default(),
            access_tokens: Mutex::default(),
            refresh_tokens: Mutex::default(),
            behaviour: Mutex::default(),
            authorize_requests: Mutex::default(),
            token_requests: Mutex::default(),
            profile_requests: Mutex::default(),
        });
        let app = Router::new().fallback(handle).with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeProvider { base, fake, keys }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn set_profile(&self, path: &str, body: Value) {
        lock(&self.fake.settings).profiles.insert(path.into(), body);
    }

    pub fn set_id_token_claims(&self, claims: Value) {
        if let Some(t) = lock(&self.fake.settings).id_tokens.as_mut() {
            t.claims = claims;
        }
    }

    /// Whether the token answer carries the id token.
    pub fn id_token_in_token_response(&self, yes: bool) {
        if let Some(t) = lock(&self.fake.settings).id_tokens.as_mut() {
            t.in_token_response = yes;
        }
    }

    /// The next authorization answers with this error instead of a code.
    pub fn fail_authorization(&self, error: &str, description: &str) {
        lock(&self.fake.behaviour).authorize_error = Some((error.into(), description.into()));
    }

    pub fn fail_token(&self, fails: bool) {
        lock(&self.fake.behaviour).token_fails = fails;
    }

    pub fn fail_profile(&self, fails: bool) {
        lock(&self.fake.behaviour).profile_fails = fails;
    }

    /// Query of the last request to `/authorize`.
    pub fn last_authorize(&self) -> HashMap<String, String> {
        lock(&self.fake.authorize_requests)
            .last()
            .cloned()
            .unwrap_or_default()
    }

    /// Form of the last request to `/token`.
    pub fn last_token_request(&self) -> HashMap<String, String> {
        lock(&self.fake.token_requests)
            .last()
            .cloned()
            .unwrap_or_default()
    }

    /// Full URIs of the profile requests.
    pub fn profile_requests(&self) -> Vec<String> {
        lock(&self.fake.profile_requests).clone()
    }

    /// A refresh token the fake accepts (as if issued earlier).
    pub fn issue_refresh_token(&self) -> String {
        let rt = format!("rt-{}", random());
        lock(&self.fake.refresh_tokens).push(rt.clone());
        rt
    }
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match (method.as_str(), uri.path()) {
        ("GET", "/authorize") => authorize(&fake, &uri),
        ("POST", "/token") => token(&fake, &headers, &body),
        ("GET", "/.well-known/openid-configuration") if lock(&fake.settings).discovery => {
            discovery(&fake)
        }
        ("GET", "/jwks") => json_response(StatusCode::OK, fake.keys.jwks()),
        ("GET", path) => profile(&fake, path, &uri, &headers),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn discovery(fake: &Fake) -> Response {
    let b = &fake.base;
    json_response(
        StatusCode::OK,
        json!({
            "issuer": b,
            "authorization_endpoint": format!("{b}/authorize"),
            "token_endpoint": format!("{b}/token"),
            "userinfo_endpoint": format!("{b}/userinfo"),
            "jwks_uri": format!("{b}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }),
    )
}

fn id_token(fake: &Fake, settings: &Settings, nonce: Option<&str>) -> Option<String> {
    let t = settings.id_tokens.as_ref()?;
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": t.issuer.clone().unwrap_or_else(|| fake.base.clone()),
        "aud": settings.client_id,
        "iat": now,
        "exp": now + 600,
    });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    if let (Some(c), Some(extra)) = (claims.as_object_mut(), t.claims.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    Some(fake.keys.sign(&claims))
}

fn authorize(fake: &Fake, uri: &Uri) -> Response {
    let q = query_map(uri.query());
    lock(&fake.authorize_requests).push(q.clone());
    let settings = lock(&fake.settings).clone();
    let Some(redirect_uri) = q.get("redirect_uri").cloned() else {
        return (StatusCode::BAD_REQUEST, "redirect_uri missing").into_response();
    };
    if q.get("client_id") != Some(&settings.client_id) {
        return (StatusCode::BAD_REQUEST, "unknown client").into_response();
    }
    let response_type = q.get("response_type").cloned().unwrap_or_default();
    if !response_type.split(' ').any(|t| t == "code") {
        return (StatusCode::BAD_REQUEST, "unsupported response_type").into_response();
    }
    let state = q.get("state").cloned().unwrap_or_default();
    let mut answer: Vec<(String, String)> = Vec::new();
    if let Some((error, description)) = lock(&fake.behaviour).authorize_error.take() {
        answer.push(("error".into(), error));
        answer.push(("error_description".into(), description));
    } else {
        if let Some(method) = q.get("code_challenge_method")
            && method != "S256"
        {
            return (StatusCode::BAD_REQUEST, "only S256").into_response();
        }
        let code = format!("code-{}", random());
        let nonce = q.get("nonce").cloned();
        lock(&fake.codes).insert(
            code.clone(),
            Grant {
                redirect_uri: redirect_uri.clone(),
                code_challenge: q.get("code_challenge").cloned(),
                nonce: nonce.clone(),
            },
        );
        answer.push(("code".into(), code));
        if response_type.split(' ').any(|t| t == "id_token")
            && let Some(token) = id_token(fake, &settings, nonce.as_deref())
        {
            answer.push(("id_token".into(), token));
        }
    }
    answer.push(("state".into(), state));
    if q.get("response_mode").map(String::as_str) == Some("form_post") {
        answer.extend(settings.form_extra.iter().cloned());
        // A browser would auto-submit this form; the test client posts it.
        let form: serde_json::Map<String, Value> =
            answer.into_iter().map(|(k, v)| (k, json!(v))).collect();
        return json_response(
            StatusCode::OK,
            json!({ "action": redirect_uri, "form": form }),
        );
    }
    let mut to = url::Url::parse(&redirect_uri).expect("redirect_uri is a URL");
    to.query_pairs_mut().extend_pairs(answer);
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

/// Client id and secret.
type Credentials = (String, String);

fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> (Option<Credentials>, Option<Credentials>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':').map(|(i, p)| {
                let dec = |x: &str| {
                    url::form_urlencoded::parse(format!("x={x}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                (dec(i), dec(p))
            })
        });
    let body = match (form.get("client_id"), form.get("client_secret")) {
        (Some(i), Some(s)) => Some((i.clone(), s.clone())),
        _ => None,
    };
    (basic, body)
}

fn token(fake: &Fake, headers: &HeaderMap, body: &[u8]) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    lock(&fake.token_requests).push(form.clone());
    let settings = lock(&fake.settings).clone();
    if lock(&fake.behaviour).token_fails {
        return oauth_error("server_error");
    }
    let (basic, in_body) = client_credentials(headers, &form);
    let presented = match settings.client_auth {
        ClientAuth::Basic => basic,
        ClientAuth::Body => in_body,
    };
    let Some((id, secret)) = presented else {
        return json_response(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    };
    let secret_ok = match settings.secret_check {
        Some(check) => check(&secret),
        None => secret == settings.client_secret,
    };
    if id != settings.client_id || !secret_ok {
        return json_response(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    }
    let mut nonce = None;
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = form.get("code").cloned().unwrap_or_default();
            let Some(grant) = lock(&fake.codes).remove(&code) else {
                return oauth_error("invalid_grant");
            };
            if form.get("redirect_uri") != Some(&grant.redirect_uri) {
                return oauth_error("invalid_grant");
            }
            if let Some(challenge) = &grant.code_challenge {
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(Sha256::digest(verifier.as_bytes()));
                if &computed != challenge {
                    return oauth_error("invalid_grant");
                }
            }
            nonce = grant.nonce;
        }
        Some("refresh_token") => {
            let rt = form.get("refresh_token").cloned().unwrap_or_default();
            let mut known = lock(&fake.refresh_tokens);
            let Some(pos) = known.iter().position(|t| *t == rt) else {
                return oauth_error("invalid_grant");
            };
            known.remove(pos);
        }
        _ => return oauth_error("unsupported_grant_type"),
    }
    let access = format!("at-{}", random());
    let refresh = format!("rt-{}", random());
    lock(&fake.access_tokens).push(access.clone());
    lock(&fake.refresh_tokens).push(refresh.clone());
    let mut answer = json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": refresh,
        "scope": "openid email profile",
    });
    if let Some(t) = &settings.id_tokens
        && t.in_token_response
        && let Some(token) = id_token(fake, &settings, nonce.as_deref())
    {
        answer["id_token"] = json!(token);
    }
    if let (Some(a), Some(extra)) = (answer.as_object_mut(), settings.token_extra.as_object()) {
        for (k, v) in extra {
            if v.is_null() {
                a.remove(k);
            } else {
                a.insert(k.clone(), v.clone());
            }
        }
    }
    json_response(StatusCode::OK, answer)
}

fn profile(fake: &Fake, path: &str, uri: &Uri, headers: &HeaderMap) -> Response {
    lock(&fake.profile_requests).push(uri.to_string());
    let settings = lock(&fake.settings).clone();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    if !lock(&fake.access_tokens).contains(&bearer) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Bad credentials"}),
        );
    }
    for (name, value) in &settings.profile_headers {
        if headers.get(name.as_str()).and_then(|v| v.to_str().ok()) != Some(value.as_str()) {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"message": format!("{name} missing")}),
            );
        }
    }
    if lock(&fake.behaviour).profile_fails {
        return json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"message": "boom"}),
        );
    }
    match settings.profiles.get(path) {
        Some(body) => json_response(StatusCode::OK, body.clone()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
