//! Sign in with Apple: the authorization answer is POSTed back (`form_post`) with an id
//! token; the client secret is an ES256 JWT signed with the team's key.

use std::sync::{Arc, Mutex};

use base64::Engine;
use futures_util::future::BoxFuture;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde::Deserialize;
use serde_json::json;

use crate::config::providers::{AppleEndpoints, AppleProvider};

use super::Provider;
use super::idtoken::APPLE_ISSUER;
use super::idtoken::{IdTokenVerifier, Nonce};
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::Secret as ClientSecret;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, bool_field, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};
use crate::config::Secret;

/// Apple accepts client secrets valid for up to six months; upstream uses 180 days.
pub const SECRET_LIFETIME_SECS: i64 = 180 * 24 * 3600;
/// A new secret is signed once the current one is this old, long before it expires.
/// (Upstream signs one at start-up and never again, so a process running for half a
/// year loses Apple sign-in.)
pub const SECRET_RENEW_AFTER_SECS: i64 = 150 * 24 * 3600;

/// The client secret JWT, renewed before it expires.
pub struct AppleClientSecret {
    team_id: String,
    key_id: String,
    client_id: String,
    key: EncodingKey,
    current: Mutex<Option<(String, i64)>>,
}

/// Reads `AUTH_PROVIDER_APPLE_PRIVATE_KEY`: a PEM (literal `\n` sequences accepted, as
/// in a one-line env var) or the base64 of a PEM, as upstream accepts.
pub fn parse_private_key(raw: &str) -> Result<EncodingKey, String> {
    let mut pem = raw.trim().replace("\\n", "\n");
    if !pem.starts_with("-----BEGIN") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(pem.as_bytes())
            .map_err(|e| {
                format!("AUTH_PROVIDER_APPLE_PRIVATE_KEY is neither PEM nor base64: {e}")
            })?;
        pem = String::from_utf8(decoded).map_err(|_| {
            "AUTH_PROVIDER_APPLE_PRIVATE_KEY: base64 of something that is not a PEM".to_owned()
        })?;
    }
    EncodingKey::from_ec_pem(pem.as_bytes())
        .map_err(|e| format!("AUTH_PROVIDER_APPLE_PRIVATE_KEY is not an EC private key: {e}"))
}

impl AppleClientSecret {
    pub fn new(team_id: String, key_id: String, client_id: String, key: EncodingKey) -> Self {
        AppleClientSecret {
            team_id,
            key_id,
            client_id,
            key,
            current: Mutex::new(None),
        }
    }

    pub fn current(&self) -> Result<String, String> {
        self.at(chrono::Utc::now().timestamp())
    }

    /// The secret to use at time `now` (seconds): the cached one, or a new one when the
    /// cached one is due for renewal.
    pub fn at(&self, now: i64) -> Result<String, String> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((secret, issued)) = current.as_ref()
            && now - issued < SECRET_RENEW_AFTER_SECS
            && now >= *issued
        {
            return Ok(secret.clone());
        }
        let secret = self.sign(now)?;
        *current = Some((secret.clone(), now));
        Ok(secret)
    }

    fn sign(&self, now: i64) -> Result<String, String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = json!({
            "iss": self.team_id,
            "iat": now,
            "exp": now + SECRET_LIFETIME_SECS,
            "aud": "https://appleid.apple.com",
            "sub": self.client_id,
        });
        encode(&header, &claims, &self.key)
            .map_err(|e| format!("signing the Apple client secret: {e}"))
    }
}

pub struct Apple {
    pub config: OAuth2Config,
    pub id_tokens: Arc<IdTokenVerifier>,
}

impl FromProviderSettings for Apple {
    type Settings = AppleProvider;
    type Endpoints = AppleEndpoints;

    fn build(
        s: &AppleProvider,
        e: &AppleEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let key = parse_private_key(s.private_key.expose())?;
        let secret = AppleClientSecret::new(
            s.team_id.clone(),
            s.key_id.clone(),
            s.client_id.clone(),
            key,
        );
        // Fail at start-up, not at the first sign-in, if the key cannot sign.
        secret.current()?;
        let mut config = ctx.oauth2(
            "apple",
            &s.client_id,
            &Secret::default(),
            e.authorization_url.clone(),
            e.token_url.clone(),
            s.scopes(),
        );
        config.secret = ClientSecret::Apple(Arc::new(secret));
        config.response_type = Some("code id_token");
        config.extra_params = vec![("response_mode", "form_post".to_owned())];
        let id_tokens = Arc::new(IdTokenVerifier::new(
            vec![APPLE_ISSUER.to_owned()],
            vec![s.client_id.clone()],
            ctx.apple_jwks.clone(),
        ));
        let adapter = Apple { config, id_tokens };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

/// Apple's `user` form field (first sign-in only).
#[derive(Deserialize, Default)]
struct AppleUser {
    #[serde(default)]
    name: AppleName,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AppleName {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

impl OAuth2Adapter for Apple {
    fn id(&self) -> &'static str {
        "apple"
    }

    fn config(&self) -> &OAuth2Config {
        &self.config
    }

    fn uses_nonce(&self) -> bool {
        true
    }

    fn profile<'a>(
        &'a self,
        _http: &'a reqwest::Client,
        tokens: &'a ProviderTokens,
        callback: &'a CallbackInput<'a>,
    ) -> BoxFuture<'a, Result<Profile, OAuthError>> {
        Box::pin(async move {
            // Prefer the id token from the token endpoint (obtained with our secret); the
            // one posted to the callback came through the browser and must echo our nonce.
            let claims = match (&tokens.id_token, callback.id_token) {
                (Some(token), _) => {
                    self.id_tokens
                        .verify(token, Nonce::ExactIfPresent(callback.nonce))
                        .await
                }
                (None, Some(token)) => {
                    self.id_tokens
                        .verify(token, Nonce::Exact(callback.nonce))
                        .await
                }
                (None, None) => Err("no id token".to_owned()),
            }
            .map_err(OAuthError::Profile)?;
            let claims = serde_json::Value::Object(claims);
            let email = opt_string_field(&claims, "email");
            let user: AppleUser = callback
                .user
                .and_then(|u| serde_json::from_str(u).ok())
                .unwrap_or_default();
            let name = super::full_name(&user.name.first_name, &user.name.last_name);
            let name = if name.is_empty() {
                email.clone().unwrap_or_default()
            } else {
                name
            };
            Ok(Profile {
                id: string_field(&claims, "sub"),
                email_verified: email.is_some() && bool_field(&claims, "email_verified"),
                email,
                name,
                avatar_url: String::new(),
                locale: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = include_str!("../../../tests/fixtures/keys/ec-p256-private.pem");

    fn key() -> EncodingKey {
        parse_private_key(PEM).expect("test key parses")
    }

    #[test]
    fn secret_is_reused_then_renewed_before_it_expires() {
        let s = AppleClientSecret::new("TEAM".into(), "KID".into(), "com.example".into(), key());
        let t0 = 1_700_000_000;
        let first = s.at(t0).expect("sign");
        assert_eq!(
            s.at(t0 + 24 * 3600).expect("sign"),
            first,
            "reused within its life"
        );
        let renewed = s.at(t0 + SECRET_RENEW_AFTER_SECS).expect("sign");
        assert_ne!(renewed, first, "renewed once due");
        const { assert!(SECRET_RENEW_AFTER_SECS < SECRET_LIFETIME_SECS) };
        let claims = renewed.split('.').nth(1).expect("payload");
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .expect("base64"),
        )
        .expect("json");
        assert_eq!(claims["iat"], t0 + SECRET_RENEW_AFTER_SECS);
        assert_eq!(
            claims["exp"],
            t0 + SECRET_RENEW_AFTER_SECS + SECRET_LIFETIME_SECS
        );
        assert_eq!(claims["iss"], "TEAM");
        assert_eq!(claims["sub"], "com.example");
        assert_eq!(claims["aud"], "https://appleid.apple.com");
    }

    #[test]
    fn private_key_accepts_escaped_newlines_and_base64() {
        let pem = PEM;
        assert!(parse_private_key(&pem.replace('\n', "\\n")).is_ok());
        let b64 = base64::engine::general_purpose::STANDARD.encode(pem);
        assert!(parse_private_key(&b64).is_ok());
        assert!(parse_private_key("not a key").is_err());
    }
}
