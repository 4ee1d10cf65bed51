//! Test data, prepared through the public API only.
//!
//! Each user is created with `POST /signup/email-password` (so the server must run with
//! `AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED=false`), which answers a session: an access
//! token and a first refresh token. Refresh tokens are single-use, so each one is the
//! head of a chain: a `/token` call consumes it and answers the next one. During the
//! `/token` scenarios each connection holds one chain (one user) and follows it; a
//! broken chain (a non-2xx answer) is dropped and the connection takes a spare one.

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
    /// Heads of the refresh-token chains not held by a connection.
    pub chains: Mutex<Vec<String>>,
}

impl Data {
    pub fn take_chain(&self) -> Option<String> {
        self.chains.lock().ok()?.pop()
    }

    pub fn put_chain(&self, head: String) {
        if let Ok(mut c) = self.chains.lock() {
            c.push(head);
        }
    }
}

fn sign_up_request(target: &Target, email: &str) -> Vec<u8> {
    let body = serde_json::json!({ "email": email, "password": PASSWORD }).to_string();
    target.request("POST", "/signup/email-password", "", Some(&body))
}

/// Checks the server answers, then creates `users` users.
pub async fn prepare(target: &Target, users: usize) -> Result<Arc<Data>, String> {
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

    let mut tasks = Vec::new();
    for k in 0..SETUP_CONNECTIONS.min(users) {
        let target = target.clone();
        let mine: Vec<String> = emails
            .iter()
            .skip(k)
            .step_by(SETUP_CONNECTIONS)
            .cloned()
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(target.addr)
                .await
                .map_err(|e| e.to_string())?;
            let mut sessions = Vec::new();
            for email in mine {
                let (status, body) = conn
                    .send(&sign_up_request(&target, &email))
                    .await
                    .map_err(|e| format!("POST /signup/email-password: {e}"))?;
                let body = String::from_utf8_lossy(body).into_owned();
                if status != 200 {
                    return Err(format!(
                        "POST /signup/email-password answered {status}: {body}"
                    ));
                }
                sessions.push(session_tokens(&body).ok_or_else(|| {
                    format!(
                        "POST /signup/email-password answered no session ({body}); run the \
                         server with AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED=false"
                    )
                })?);
            }
            Ok::<_, String>(sessions)
        }));
    }
    let mut access = Vec::new();
    let mut chains = Vec::new();
    for t in tasks {
        for (a, r) in t.await.map_err(|e| e.to_string())?? {
            access.push(a);
            chains.push(r);
        }
    }
    Ok(Arc::new(Data {
        emails,
        access: Mutex::new(access),
        chains: Mutex::new(chains),
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

/// Renews every user's access token by following each refresh-token chain once (so
/// that long runs never meet an expired access token). Not measured.
pub async fn refresh_access_tokens(target: &Target, data: &Data) -> Result<(), String> {
    let heads: Vec<String> = std::mem::take(&mut *data.chains.lock().map_err(|e| e.to_string())?);
    let mut tasks = Vec::new();
    for k in 0..SETUP_CONNECTIONS.min(heads.len()) {
        let target = target.clone();
        let mine: Vec<String> = heads
            .iter()
            .skip(k)
            .step_by(SETUP_CONNECTIONS)
            .cloned()
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(target.addr)
                .await
                .map_err(|e| e.to_string())?;
            let mut req = Vec::new();
            let mut out = Vec::new();
            for head in mine {
                token_request(&target, &head, &mut req);
                let (status, body) = conn
                    .send(&req)
                    .await
                    .map_err(|e| format!("POST /token: {e}"))?;
                if status == 200
                    && let (Some(a), Some(r)) = (
                        json_str(body, "accessToken"),
                        json_str(body, "refreshToken"),
                    )
                {
                    out.push((a.to_owned(), r.to_owned()));
                }
            }
            Ok::<_, String>(out)
        }));
    }
    let mut access = Vec::new();
    let mut chains = Vec::new();
    for t in tasks {
        for (a, r) in t.await.map_err(|e| e.to_string())?? {
            access.push(a);
            chains.push(r);
        }
    }
    if access.is_empty() {
        return Err("POST /token: no refresh token chain is left".into());
    }
    *data.access.lock().map_err(|e| e.to_string())? = access;
    *data.chains.lock().map_err(|e| e.to_string())? = chains;
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
