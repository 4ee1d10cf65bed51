//! The token side of the identity provider (reference §2.1.4–2.1.8): `POST /oauth2/token`
//! (the `authorization_code` and `refresh_token` grants), the access and ID token
//! formats, `/oauth2/userinfo`, `/oauth2/introspect`, `/oauth2/revoke`, and the
//! occasional clean-up of expired rows.
//!
//! Codes and refresh tokens are random UUIDs (v4) the client holds; the database keeps
//! only their hex SHA-256 ([`token_hash`]). A code is consumed and its refresh token
//! inserted by one statement, so a code yields tokens once, however many requests race
//! for it; a refresh token is rotated in place (same row, new hash, new expiry) by a
//! compare-and-swap on its hash, so a token presented twice yields tokens once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::OAuth2Provider;
use super::clients::{Client, Credentials};
use super::error::OAuth2Error;
use super::scopes;
use crate::db::users::UserRow;
use crate::db::{DbPool, oauth2_tokens as sql};
use crate::service::audit::{self, Outcome};
use crate::service::session::allowed_roles_with_default;
use crate::service::user_check::Tolerate;
use crate::tokens::secret::Redacted;
use crate::tokens::{AccessClaims, JwtKeys};

/// The stored form of a code or refresh token: lowercase hex SHA-256 of the value.
pub use super::login::stored_hash as token_hash;

/// A fresh code or refresh token: a v4 UUID from the operating system's CSPRNG.
pub fn new_token() -> String {
    super::login::random_uuid().to_string()
}

/// Longest code, refresh token or access token read from a request; longer values are
/// unknown without any hashing or database work.
pub const MAX_TOKEN_LEN: usize = 8192;

/// The grants `/oauth2/token` serves.
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
/// RFC 8628 §3.4 (see [`super::device`]).
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A token request as received (form fields; credentials already read).
#[derive(Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub device_code: Option<String>,
    pub credentials: Option<Credentials>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// The body of a successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: Redacted,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: Redacted,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Redacted>,
    pub scope: String,
}

/// Deletes expired authorization requests, codes and OAuth2 refresh tokens after about
/// one successful token call in [`Cleanup::DEFAULT_ONE_IN`] (upstream: 1/1000), in a
/// background task: never on the request's path, one at a time, failures only logged.
#[derive(Clone)]
pub struct Cleanup {
    running: Arc<AtomicBool>,
    one_in: Arc<AtomicU32>,
}

impl Default for Cleanup {
    fn default() -> Self {
        Cleanup {
            running: Arc::default(),
            one_in: Arc::new(AtomicU32::new(Self::DEFAULT_ONE_IN)),
        }
    }
}

/// Rows of each kind deleted by one clean-up at most.
const CLEANUP_BATCH: i64 = 1000;
/// A clean-up taking longer is abandoned (the next one carries on).
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

impl Cleanup {
    pub const DEFAULT_ONE_IN: u32 = 1000;

    /// Changes the odds (`1` runs it after every successful call, `0` never); for tests
    /// and operators' tools.
    pub fn set_one_in(&self, one_in: u32) {
        self.one_in.store(one_in, Ordering::Relaxed);
    }

    pub(super) fn maybe_start(&self, db: &DbPool) {
        use rand::Rng;
        let one_in = self.one_in.load(Ordering::Relaxed);
        if one_in == 0 || !rand::thread_rng().gen_ratio(1, one_in) {
            return;
        }
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let running = self.running.clone();
        let db = db.clone();
        tokio::spawn(async move {
            let sweep = async {
                let client = db.get().await?;
                let deleted = sql::delete_expired(&client, CLEANUP_BATCH).await?;
                Ok::<_, crate::db::DbError>(
                    deleted
                        + crate::db::oauth2_device::delete_expired(&client, CLEANUP_BATCH).await?,
                )
            };
            match tokio::time::timeout(CLEANUP_TIMEOUT, sweep).await {
                Ok(Ok(deleted)) => tracing::debug!(deleted, "expired OAuth2 rows deleted"),
                Ok(Err(e)) => tracing::warn!(error = %e, "deleting expired OAuth2 rows failed"),
                Err(_) => tracing::warn!("deleting expired OAuth2 rows timed out"),
            }
            running.store(false, Ordering::Release);
        });
    }
}

/// What a grant hands to token issuance.
pub(super) struct Grant<'a> {
    pub user: &'a UserRow,
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub auth_time: Option<DateTime<Utc>>,
    pub nonce: Option<&'a str>,
}

/// `invalid_grant` "User account is not active" (disabled, unverified, anonymous, or an
/// email the access lists refuse).
pub(super) fn inactive() -> OAuth2Error {
    OAuth2Error::invalid_grant("User account is not active")
}

/// A value of a request that cannot be a token: empty, too long, or not text we issued.
pub(super) fn usable(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty() && v.len() <= MAX_TOKEN_LEN)
}

/// Constant-time comparison of two ASCII strings (PKCE).
fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// RFC 7636 `S256`: `BASE64URL(SHA256(ASCII(code_verifier)))`.
fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// OIDC Core §3.1.3.6 `at_hash`: the left half of the hash of the access token's ASCII
/// octets, base64url; the hash is the one of the signing algorithm (SHA-256 for
/// RS256/ES256, SHA-384 for RS384/ES384, SHA-512 for RS512 and EdDSA).
pub fn at_hash(access_token: &str, bits: u16) -> String {
    let digest: Vec<u8> = match bits {
        384 => Sha384::digest(access_token.as_bytes()).to_vec(),
        512 => Sha512::digest(access_token.as_bytes()).to_vec(),
        _ => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// The roles of the Hasura claims a grant carries: `None` without a graphql scope;
/// with `graphql`, the user's roles and default role; with `graphql:role:a …`, exactly
/// the roles named, the first as default. A named role the user does not have (any
/// more) is `access_denied`.
pub fn hasura_roles(
    scopes: &[String],
    user: &UserRow,
    user_roles: Vec<String>,
) -> Result<Option<(Vec<String>, String)>, OAuth2Error> {
    if !scopes::grants_graphql(scopes) {
        return Ok(None);
    }
    let allowed = allowed_roles_with_default(user_roles, &user.default_role);
    let named = scopes::roles(scopes);
    let Some(first) = named.first() else {
        return Ok(Some((allowed, user.default_role.clone())));
    };
    if let Some(missing) = named.iter().find(|r| !allowed.iter().any(|a| a == *r)) {
        return Err(OAuth2Error::access_denied(format!(
            "The user does not have the role {missing}"
        )));
    }
    let mut narrowed: Vec<String> = Vec::with_capacity(named.len());
    for role in &named {
        if !narrowed.iter().any(|n| n == role) {
            narrowed.push((*role).to_owned());
        }
    }
    Ok(Some((narrowed, (*first).to_owned())))
}

/// The standard claims the scopes release about a user (ID token and userinfo):
/// `profile` → `name`, `picture`, `locale` when not empty; `email` → `email` and
/// `email_verified` when the user has an email; `phone` → `phone_number` and
/// `phone_number_verified` when the user has a phone number.
pub fn profile_claims(scopes: &[String], user: &UserRow, into: &mut Map<String, Value>) {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    if has("profile") {
        for (name, value) in [
            ("name", &user.display_name),
            ("picture", &user.avatar_url),
            ("locale", &user.locale),
        ] {
            if !value.is_empty() {
                into.insert(name.into(), json!(value));
            }
        }
    }
    if has("email")
        && let Some(email) = user.email.as_deref().filter(|e| !e.is_empty())
    {
        into.insert("email".into(), json!(email));
        into.insert("email_verified".into(), json!(user.email_verified));
    }
    if has("phone")
        && let Some(phone) = user.phone_number.as_deref().filter(|p| !p.is_empty())
    {
        into.insert("phone_number".into(), json!(phone));
        into.insert(
            "phone_number_verified".into(),
            json!(user.phone_number_verified),
        );
    }
}

/// What every token of a grant shares.
pub struct Common<'a> {
    pub issuer: &'a str,
    pub user: &'a UserRow,
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub iat: i64,
    pub ttl: i64,
}

impl Common<'_> {
    /// `iss`, `iat`, `exp`, `sub`, `aud`.
    fn registered(&self, capacity: usize) -> Map<String, Value> {
        let mut payload = Map::with_capacity(capacity);
        payload.insert("iss".into(), json!(self.issuer));
        payload.insert("iat".into(), json!(self.iat));
        payload.insert("exp".into(), json!(self.iat + self.ttl));
        payload.insert("sub".into(), json!(self.user.id.to_string()));
        payload.insert("aud".into(), json!(self.client_id));
        payload
    }
}

/// The payload of an access token: `iss`, `iat`, `exp`, `sub`, `aud` (the client),
/// `scope`, and the Hasura claims (as the signing key lays them out) when given.
pub fn access_payload(
    jwt: &JwtKeys,
    common: &Common<'_>,
    hasura: Option<&AccessClaims<'_>>,
) -> Map<String, Value> {
    let mut payload = common.registered(7);
    payload.insert("scope".into(), json!(common.scopes.join(" ")));
    if let Some(claims) = hasura {
        jwt.place_hasura(&mut payload, jwt.hasura_claims(claims));
    }
    payload
}

/// The payload of an ID token.
pub fn id_payload(
    common: &Common<'_>,
    auth_time: Option<DateTime<Utc>>,
    at_hash: &str,
    nonce: Option<&str>,
) -> Map<String, Value> {
    let mut payload = common.registered(16);
    if let Some(t) = auth_time {
        payload.insert("auth_time".into(), json!(t.timestamp()));
    }
    payload.insert("at_hash".into(), json!(at_hash));
    if let Some(nonce) = nonce.filter(|n| !n.is_empty()) {
        payload.insert("nonce".into(), json!(nonce));
    }
    profile_claims(common.scopes, common.user, &mut payload);
    payload
}

impl OAuth2Provider {
    fn jwt(&self) -> &JwtKeys {
        &self.jwt
    }

    /// `POST /oauth2/token`.
    pub async fn token(&self, req: TokenRequest) -> Result<TokenResponse, OAuth2Error> {
        self.ensure_enabled()?;
        let result = match req.grant_type.as_deref() {
            None | Some("") => Err(OAuth2Error::invalid_request("grant_type is required")),
            Some(GRANT_AUTHORIZATION_CODE) => self.code_grant(&req).await,
            Some(GRANT_REFRESH_TOKEN) => self.refresh_grant(&req).await,
            // Off without a verification page, as discovery then says.
            Some(GRANT_DEVICE_CODE) if !self.settings.device_verify_url.is_empty() => {
                self.device_grant(&req).await
            }
            Some(_) => Err(OAuth2Error::new(
                super::OAuth2ErrorCode::UnsupportedGrantType,
                "Unsupported grant_type",
            )),
        };
        match &result {
            Ok(_) => self.cleanup.maybe_start(&self.db),
            Err(e) => {
                if matches!(
                    e.code,
                    super::OAuth2ErrorCode::InvalidGrant
                        | super::OAuth2ErrorCode::InvalidClient
                        | super::OAuth2ErrorCode::AccessDenied
                ) {
                    audit::event("oauth2-token", Outcome::Failure)
                        .reason(e.code.as_str())
                        .record();
                }
            }
        }
        result
    }

    /// The client of a grant: the id presented must be the grant's client (or absent
    /// with no credentials at all, which only a public client may do — and then it
    /// must name itself), and the credentials must authenticate it.
    pub(super) async fn client_of_grant(
        &self,
        creds: &Credentials,
        grant_client: &str,
    ) -> Result<Client, OAuth2Error> {
        match creds.client_id.as_deref() {
            Some(id) if id != grant_client => {
                Err(OAuth2Error::invalid_client("Client ID mismatch"))
            }
            Some(_) => self.authenticate_client(creds).await,
            None => Err(OAuth2Error::invalid_client("client_id is required")),
        }
    }

    async fn code_grant(&self, req: &TokenRequest) -> Result<TokenResponse, OAuth2Error> {
        let code = usable(req.code.as_deref())
            .ok_or_else(|| OAuth2Error::invalid_request("code is required"))?;
        let creds = req.credentials.clone().unwrap_or_else(no_credentials);
        let db = self.db.get().await?;
        let invalid = || OAuth2Error::invalid_grant("Invalid authorization code");
        let grant = sql::find_code(&db, &token_hash(code))
            .await?
            .ok_or_else(invalid)?;
        let Some((user, roles)) = grant.user.as_ref().filter(|_| grant.done) else {
            return Err(OAuth2Error::invalid_grant("Authorization not completed"));
        };
        if req.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
            return Err(OAuth2Error::invalid_grant("redirect_uri mismatch"));
        }
        if let Some(challenge) = grant.code_challenge.as_deref() {
            let verifier = req
                .code_verifier
                .as_deref()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| OAuth2Error::invalid_grant("code_verifier is required"))?;
            // Only S256 is ever stored (`/oauth2/authorize` refuses `plain`).
            if grant.code_challenge_method.as_deref().unwrap_or("S256") != "S256"
                || !valid_verifier(verifier)
                || !same(&s256(verifier), challenge)
            {
                return Err(OAuth2Error::invalid_grant("Invalid code_verifier"));
            }
        }
        drop(db);
        let client = self.client_of_grant(&creds, &grant.client_id).await?;
        if client.is_public() && grant.code_challenge.is_none() {
            return Err(OAuth2Error::invalid_grant(
                "PKCE is required for public clients",
            ));
        }
        if self.accounts.check(user, Tolerate::default()).is_err() {
            return Err(inactive());
        }
        let hasura = hasura_roles(&grant.scopes, user, roles.clone())?;
        let refresh = new_token();
        let db = self.db.get().await?;
        let ttl = self.settings.refresh_token_ttl;
        sql::consume_code(&db, grant.code_id, &token_hash(&refresh), ttl)
            .await?
            .ok_or_else(invalid)?;
        drop(db);
        audit::event("oauth2-token", Outcome::Success)
            .user(user.id)
            .reason(GRANT_AUTHORIZATION_CODE)
            .record();
        self.issue(
            Grant {
                user,
                client_id: &grant.client_id,
                scopes: &grant.scopes,
                auth_time: grant.auth_time,
                nonce: grant.nonce.as_deref(),
            },
            hasura,
            refresh,
        )
        .await
    }

    async fn refresh_grant(&self, req: &TokenRequest) -> Result<TokenResponse, OAuth2Error> {
        let presented = usable(req.refresh_token.as_deref())
            .ok_or_else(|| OAuth2Error::invalid_request("refresh_token is required"))?;
        let creds = req.credentials.clone().unwrap_or_else(no_credentials);
        let invalid = || OAuth2Error::invalid_grant("Invalid refresh token");
        let old_hash = token_hash(presented);
        let db = self.db.get().await?;
        let grant = sql::find_refresh(&db, &old_hash)
            .await?
            .ok_or_else(invalid)?;
        drop(db);
        self.client_of_grant(&creds, &grant.client_id).await?;
        if self
            .accounts
            .check(&grant.user, Tolerate::default())
            .is_err()
        {
            return Err(inactive());
        }
        // Narrowed roles are checked again: the user may have lost one since.
        let hasura = hasura_roles(&grant.scopes, &grant.user, grant.roles.clone())?;
        let next = new_token();
        let db = self.db.get().await?;
        let rotated = sql::rotate_refresh(
            &db,
            grant.token_id,
            &old_hash,
            &token_hash(&next),
            self.settings.refresh_token_ttl,
        )
        .await?;
        drop(db);
        if !rotated {
            return Err(invalid());
        }
        audit::event("oauth2-token", Outcome::Success)
            .user(grant.user.id)
            .reason(GRANT_REFRESH_TOKEN)
            .record();
        self.issue(
            Grant {
                user: &grant.user,
                client_id: &grant.client_id,
                scopes: &grant.scopes,
                auth_time: grant.auth_time,
                nonce: None,
            },
            hasura,
            next,
        )
        .await
    }

    /// Signs the access token (and the ID token when `openid` was granted).
    pub(super) async fn issue(
        &self,
        grant: Grant<'_>,
        hasura: Option<(Vec<String>, String)>,
        refresh: String,
    ) -> Result<TokenResponse, OAuth2Error> {
        let settings = &self.settings;
        let ttl = settings.access_token_ttl;
        let iat = Utc::now().timestamp();
        let custom = match &hasura {
            Some(_) => self.claims.custom_claims(grant.user.id).await,
            None => Vec::new(),
        };
        let claims = hasura.as_ref().map(|(allowed, default)| AccessClaims {
            user_id: grant.user.id,
            allowed_roles: allowed,
            default_role: default,
            is_anonymous: grant.user.is_anonymous,
            extra: &custom,
            elevated: false,
        });
        let jwt = self.jwt();
        let common = Common {
            issuer: &settings.issuer,
            user: grant.user,
            client_id: grant.client_id,
            scopes: grant.scopes,
            iat,
            ttl,
        };
        let payload = access_payload(jwt, &common, claims.as_ref());
        let access_token = jwt.sign_payload(&payload).map_err(OAuth2Error::internal)?;
        let id_token = if grant.scopes.iter().any(|s| s == "openid") {
            let at_hash = at_hash(&access_token, jwt.at_hash_bits());
            let payload = id_payload(&common, grant.auth_time, &at_hash, grant.nonce);
            Some(Redacted::new(
                jwt.sign_payload(&payload).map_err(OAuth2Error::internal)?,
            ))
        } else {
            None
        };
        Ok(TokenResponse {
            access_token: Redacted::new(access_token),
            token_type: "Bearer",
            expires_in: ttl,
            refresh_token: Redacted::new(refresh),
            id_token,
            scope: grant.scopes.join(" "),
        })
    }
}

pub(super) fn no_credentials() -> Credentials {
    Credentials {
        client_id: None,
        secret: None,
        method: super::clients::AuthMethod::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::oauth2_provider::OAuth2ErrorCode;
    use uuid::Uuid;

    fn user() -> UserRow {
        UserRow {
            id: Uuid::nil(),
            created_at: Utc::now(),
            display_name: "Ada".into(),
            avatar_url: String::new(),
            locale: "en".into(),
            email: Some("ada@example.com".into()),
            phone_number: None,
            password_hash: None,
            email_verified: true,
            phone_number_verified: false,
            default_role: "user".into(),
            is_anonymous: false,
            disabled: false,
            active_mfa_type: None,
            metadata: None,
            new_email: None,
            totp_secret: None,
        }
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn at_hash_is_the_left_half_of_the_algorithms_hash() {
        // Computed independently (Python hashlib + urlsafe base64).
        let token = "eyJhbGciOiJSUzI1NiJ9.payload.sig";
        assert_eq!(at_hash(token, 256), "KnyKq4dTsIxs5R0iaEP0iQ");
        assert_eq!(at_hash(token, 384), "V5BRN0jxXiOgFUVUjhOWo5q8HrWTL_cM");
        assert_eq!(
            at_hash(token, 512),
            "8ByWEtEHfCdm_HkTy-6ZxsyBXrW1lXiquQm0-iAVU6E"
        );
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(valid_verifier(verifier));
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(!valid_verifier("short"));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}+", "a".repeat(43))));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }

    #[test]
    fn hasura_roles_follow_the_graphql_scopes() {
        let u = user();
        let roles = vec!["user".to_owned(), "editor".to_owned()];
        assert_eq!(
            hasura_roles(&scopes(&["openid"]), &u, roles.clone()).unwrap(),
            None
        );
        let (allowed, default) = hasura_roles(&scopes(&["graphql"]), &u, roles.clone())
            .unwrap()
            .unwrap();
        assert_eq!(allowed, ["user", "editor"]);
        assert_eq!(default, "user");
        // The default role counts even without a user_roles row.
        let (allowed, _) = hasura_roles(&scopes(&["graphql"]), &u, vec!["editor".into()])
            .unwrap()
            .unwrap();
        assert_eq!(allowed, ["editor", "user"]);
        let (allowed, default) = hasura_roles(
            &scopes(&[
                "graphql:role:editor",
                "graphql:role:user",
                "graphql:role:editor",
            ]),
            &u,
            roles.clone(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(allowed, ["editor", "user"]);
        assert_eq!(default, "editor");
        let e = hasura_roles(&scopes(&["graphql:role:admin"]), &u, roles).unwrap_err();
        assert_eq!(e.code, OAuth2ErrorCode::AccessDenied);
    }

    #[test]
    fn profile_claims_only_as_the_scopes_allow_and_when_present() {
        let mut u = user();
        let mut out = Map::new();
        profile_claims(&scopes(&["openid"]), &u, &mut out);
        assert!(out.is_empty());
        profile_claims(&scopes(&["profile", "email", "phone"]), &u, &mut out);
        assert_eq!(
            Value::Object(out),
            json!({"name": "Ada", "locale": "en", "email": "ada@example.com", "email_verified": true})
        );
        u.phone_number = Some("+15555550100".into());
        u.email = None;
        let mut out = Map::new();
        profile_claims(&scopes(&["email", "phone"]), &u, &mut out);
        assert_eq!(
            Value::Object(out),
            json!({"phone_number": "+15555550100", "phone_number_verified": false})
        );
    }

    #[test]
    fn stored_hash_is_lowercase_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let a = new_token();
        assert_eq!(a.len(), 36);
        assert_ne!(a, new_token());
    }
}
