//! Hasura integration and abuse protection (issue 5): metadata sync, custom claims, rate
//! limits (in-process and memcached, shared by two instances), breached passwords and
//! Turnstile. Local fakes stand in for Hasura, HIBP and Cloudflare and record exactly
//! what they receive; memcached is a real server started per test.

#[path = "../support/mod.rs"]
mod support;

mod claims;
mod fakes;
mod hibp;
mod memcached;
mod metadata;
mod rate_limits;
mod redis_server;
mod turnstile;

use base64::Engine;
use serde_json::Value;

pub const ADMIN_SECRET: &str = "nhost-admin-secret";
pub const NO_VERIFY: &str = "--email-verification-required=false";

/// The Hasura claims object of an access token (signature not checked here).
pub fn hasura_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    let payload: Value = serde_json::from_slice(&bytes).expect("JSON payload");
    payload["https://hasura.io/jwt/claims"].clone()
}
