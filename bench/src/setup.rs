//! Test data, prepared through the public API only.
//!
//! - Users: `POST /signup/email-password` (the server must run with
//!   `AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED=false`), which answers a session: an
//!   access token (for `/user` and `/token/verify`) and a refresh token, kept to renew
//!   the access token before the scenarios that use it. Their emails and password drive
//!   the sign-in scenarios.
//! - The `/token` pool: refresh tokens are single-use, so the `/token` scenarios draw
//!   from a pool of sessions opened with `POST /signin/anonymous` (the server must run
//!   with `AUTH_ANONYMOUS_USERS_ENABLED=true`; one bcrypt-free request each). A request
//!   takes the token at the front of the pool and puts the one it receives at the back,
//!   so the pool never runs dry and each session row is rotated only once per pool-size
//!   requests — as in production, where a session refreshes every few minutes. (Each
//!   connection following its own chain would rotate the same row back to back and pile
//!   up dead row versions that every lookup must step over: a PostgreSQL artefact, not
//!   the workflow. See docs/PERFORMANCE.md.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::http::{Conn, Target, json_str};

/// Set-up traffic runs on this many connections (sign-up costs one bcrypt hash each).
const SETUP_CONNECTIONS: usize = 4;

pub const PASSWORD: &str = "bench-Password-0123456789";

pub struct Data {
    pub emails: Vec<String>,
    /// One valid access token per user (refreshed before scenarios that use them).
    pub access: Mutex<Vec<String>>,
    /// The users' refresh tokens (to renew `access`).
    pub user_refresh: Mutex<Vec<String>>,
    /// Unused refresh tokens for the `/token` scenarios.
    pub pool: Mutex<VecDeque<String>>,
}

impl Data {
    pub fn take_token(&self) -> Option<String> {
        self.pool.lock().ok()?.pop_front()
    }

    pub fn put_token(&self, token: String) {
        if let Ok(mut p) = self.pool.lock() {
            p.push_back(token);
        }
    }

    pub fn pool_len(&self) -> usize {
        self.pool.lock().map_or(0, |p| p.len())
    }
}

fn sign_up_request(target: &Target, email: &str) -> Vec<u8> {
    let body = serde_json::json!({ "email": email, "password": PASSWORD }).to_string();
    target.request("POST", "/signup/email-password", "", Some(&body))
}

/// Runs `request(i)` for i in 0..n on a few connections; each 200 answer's body goes
/// through `extract`, whose `None` is an error described by `what_missing`.
async fn on_connections<T: Send + 'static>(
    target: &Target,
    n: usize,
    what: &'static str,
    request: impl Fn(&Target, usize) -> Vec<u8> + Send + Sync + 'static,
    extract: impl Fn(&str) -> Option<T> + Send + Sync + 'static,
    what_missing: &'static str,
) -> Result<Vec<T>, String> {
    let request = Arc::new(request);
    let extract = Arc::new(extract);
    let mut tasks = Vec::new();
    for k in 0..SETUP_CONNECTIONS.min(n) {
        let target = target.clone();
        let (request, extract) = (request.clone(), extract.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(target.addr)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            for i in (k..n).step_by(SETUP_CONNECTIONS) {
                let (status, body) = conn
                    .send(&request(&target, i))
                    .await
                    .map_err(|e| format!("{what}: {e}"))?;
                let body = String::from_utf8_lossy(body);
                if status != 200 {
                    return Err(format!("{what} answered {status}: {body}"));
                }
                out.push(extract(&body).ok_or_else(|| {
                    format!("{what} answered no session ({body}); {what_missing}")
                })?);
            }
            Ok::<_, String>(out)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    Ok(all)
}

/// Checks the server answers, then creates `users` users and a `/token` pool of
/// `pool` anonymous sessions.
pub async fn prepare(target: &Target, users: usize, pool: usize) -> Result<Arc<Data>, String> {
    let mut conn = Conn::connect(target.addr)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", target.addr))?;
    let (status, _) = conn
        .send(&target.request("GET", "/healthz", "", None))
        .await
        .map_err(|e| format!("GET /healthz: {e}"))?;
    if status != 200 {
        return Err(format!("GET /healthz answered {status}"));
    }

    // A run id keeps emails unique when the benchmark runs again on the same database.
    let run_id = format!(
        "{:x}{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis()),
        std::process::id()
    );
    let emails: Vec<String> = (0..users)
        .map(|i| format!("bench-{run_id}-{i}@example.com"))
        .collect();

    let sessions = {
        let emails = emails.clone();
        on_connections(
            target,
            users,
            "POST /signup/email-password",
            move |t, i| sign_up_request(t, &emails[i]),
            session_tokens,
            "run the server with AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED=false",
        )
        .await?
    };
    let (access, user_refresh): (Vec<String>, Vec<String>) = sessions.into_iter().unzip();

    eprintln!("setting up: {pool} sessions through POST /signin/anonymous (the /token pool) …");
    let tokens = on_connections(
        target,
        pool,
        "POST /signin/anonymous",
        |t, _| t.request("POST", "/signin/anonymous", "", Some("{}")),
        |body| session_tokens(body).map(|(_, r)| r),
        "run the server with AUTH_ANONYMOUS_USERS_ENABLED=true",
    )
    .await?;
    Ok(Arc::new(Data {
        emails,
        access: Mutex::new(access),
        user_refresh: Mutex::new(user_refresh),
        pool: Mutex::new(tokens.into()),
    }))
}

/// `(accessToken, refreshToken)` of `{"session": {...}}`.
fn session_tokens(body: &str) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let s = v.get("session")?;
    Some((
        s.get("accessToken")?.as_str()?.to_owned(),
        s.get("refreshToken")?.as_str()?.to_owned(),
    ))
}

pub fn token_request(target: &Target, refresh_token: &str, out: &mut Vec<u8>) {
    let body = format!("{{\"refreshToken\":\"{refresh_token}\"}}");
    out.clear();
    out.extend_from_slice(&target.request("POST", "/token", "", Some(&body)));
}

/// Renews every user's access token with its refresh token (so that long runs never
/// meet an expired access token). Not measured.
pub async fn refresh_access_tokens(target: &Target, data: &Data) -> Result<(), String> {
    let heads: Vec<String> =
        std::mem::take(&mut *data.user_refresh.lock().map_err(|e| e.to_string())?);
    let heads = Arc::new(heads);
    let n = heads.len();
    let sessions = on_connections(
        target,
        n,
        "POST /token",
        move |t, i| {
            let mut req = Vec::new();
            token_request(t, &heads[i], &mut req);
            req
        },
        |body| {
            let b = body.as_bytes();
            Some((
                json_str(b, "accessToken")?.to_owned(),
                json_str(b, "refreshToken")?.to_owned(),
            ))
        },
        "expected a session",
    )
    .await?;
    let (access, refresh): (Vec<String>, Vec<String>) = sessions.into_iter().unzip();
    *data.access.lock().map_err(|e| e.to_string())? = access;
    *data.user_refresh.lock().map_err(|e| e.to_string())? = refresh;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_session_tokens() {
        let body = r#"{"session":{"accessToken":"a","refreshToken":"r","user":{}}}"#;
        assert_eq!(session_tokens(body), Some(("a".into(), "r".into())));
        assert_eq!(session_tokens(r#"{"session":null}"#), None);
    }
}
