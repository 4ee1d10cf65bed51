//! Signing keys of the fake issuers, published as a JWKS, with key rotation.

use std::sync::Mutex;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

pub const KEY_A: &str = include_str!("../fixtures/keys/rsa2048-private.pem");
pub const KEY_B: &str = include_str!("../fixtures/keys/other-private.pem");
pub const APPLE_EC_PRIVATE: &str = include_str!("../fixtures/keys/ec-p256-private.pem");
pub const APPLE_EC_PUBLIC: &str = include_str!("../fixtures/keys/ec-p256-public.pem");

pub fn rsa(pem: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(pem.as_bytes()).expect("test RSA key")
}

/// The public JWK of a private key, with a key id.
pub fn jwk(pem: &str, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(&rsa(pem), Algorithm::RS256).expect("jwk");
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).expect("jwk json")
}

/// Signs claims with RS256 and a `kid`.
pub fn sign(pem: &str, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, &rsa(pem)).expect("sign")
}

struct State {
    signing: (&'static str, &'static str),
    published: Vec<(&'static str, &'static str)>,
}

pub struct SigningKeys(Mutex<State>);

impl Default for SigningKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl SigningKeys {
    /// Key A (`kid` "key-a"), published.
    pub fn new() -> SigningKeys {
        SigningKeys(Mutex::new(State {
            signing: (KEY_A, "key-a"),
            published: vec![(KEY_A, "key-a")],
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn sign(&self, claims: &Value) -> String {
        let (pem, kid) = self.state().signing;
        sign(pem, kid, claims)
    }

    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .state()
            .published
            .iter()
            .map(|(pem, kid)| jwk(pem, kid))
            .collect();
        json!({ "keys": keys })
    }

    /// Key rotation: key B (`kid` "key-b") signs from now on and is the only one
    /// published.
    pub fn rotate(&self) {
        let mut s = self.state();
        s.signing = (KEY_B, "key-b");
        s.published = vec![(KEY_B, "key-b")];
    }
}
