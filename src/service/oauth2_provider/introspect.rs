//! `/oauth2/userinfo` (OIDC Core §5.3), `/oauth2/introspect` (RFC 7662) and
//! `/oauth2/revoke` (RFC 7009).
//!
//! Only access tokens issued by the provider are accepted at userinfo and introspected
//! as access tokens: a JWT signed by the service's key, with the provider's issuer, a
//! `scope` and an `aud`. An ordinary session access token (no `scope`, no client
//! audience) is not one: userinfo answers it `invalid_token`, introspection `inactive`.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::OAuth2Provider;
use super::clients::Credentials;
use super::error::OAuth2Error;
use super::tokens::{MAX_TOKEN_LEN, hasura_roles, profile_claims, token_hash};
use crate::db::{oauth2_tokens as sql, users};
use crate::service::audit::{self, Outcome};
use crate::service::user_check::Tolerate;

/// A verified access token of the provider.
pub struct AccessToken {
    pub payload: Map<String, Value>,
    pub user_id: Uuid,
    pub scopes: Vec<String>,
    /// The `aud` claim as a list (a string is a list of one).
    pub audience: Vec<String>,
}

/// The token kinds of `token_type_hint` (RFC 7009 §2.1, RFC 7662 §2.1).
const HINT_ACCESS_TOKEN: &str = "access_token";

impl OAuth2Provider {
    /// Verifies a provider access token: signature and key, expiry, the provider's
    /// issuer, a subject that is a user id, a `scope` string and an audience.
    pub fn verify_access_token(&self, token: &str) -> Option<AccessToken> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let payload = self.jwt.verify_oauth2(token, &self.settings.issuer).ok()?;
        let user_id = payload
            .get("sub")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())?;
        let scopes = payload
            .get("scope")
            .and_then(Value::as_str)?
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let audience = match payload.get("aud")? {
            Value::String(a) => vec![a.clone()],
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        if audience.is_empty() {
            return None;
        }
        Some(AccessToken {
            payload,
            user_id,
            scopes,
            audience,
        })
    }

    /// `GET|POST /oauth2/userinfo`: `sub`, the claims the token's scopes release, and
    /// with a graphql scope the Hasura claims with their JSON types. Every refusal is a
    /// 401 `invalid_token` with `WWW-Authenticate`.
    pub async fn userinfo(&self, bearer: Option<&str>) -> Result<Value, OAuth2Error> {
        self.ensure_enabled()?;
        let refuse = |msg: &'static str| OAuth2Error::invalid_token(msg).with_bearer_challenge();
        let token = bearer.ok_or_else(|| refuse("Missing bearer token"))?;
        let token = self
            .verify_access_token(token)
            .ok_or_else(|| refuse("Invalid or expired access token"))?;
        let db = self.db.get().await?;
        let (user, roles) = users::find_by_id_with_roles(&db, token.user_id)
            .await?
            .ok_or_else(|| refuse("User not found"))?;
        drop(db);
        if self.accounts.check(&user, Tolerate::default()).is_err() {
            return Err(refuse("User account is not active"));
        }
        let mut body = Map::new();
        body.insert("sub".into(), json!(user.id.to_string()));
        profile_claims(&token.scopes, &user, &mut body);
        let hasura = hasura_roles(&token.scopes, &user, roles)
            .map_err(|_| refuse("The user no longer has a role the token names"))?;
        if let Some((allowed, default)) = hasura {
            let mut claims = Map::new();
            claims.insert("x-hasura-allowed-roles".into(), json!(allowed));
            claims.insert("x-hasura-default-role".into(), json!(default));
            claims.insert("x-hasura-user-id".into(), json!(user.id.to_string()));
            claims.insert(
                "x-hasura-user-is-anonymous".into(),
                json!(user.is_anonymous),
            );
            for (name, value) in self.claims.custom_claims_json(user.id).await {
                claims.entry(name).or_insert(value);
            }
            self.jwt.place_hasura(&mut body, Value::Object(claims));
        }
        Ok(Value::Object(body))
    }

    /// Client authentication of introspection and revocation: required, whatever the
    /// client's type.
    async fn caller(&self, creds: &Credentials) -> Result<String, OAuth2Error> {
        if creds.client_id.is_none() {
            return Err(OAuth2Error::invalid_client(
                "Client authentication required",
            ));
        }
        Ok(self.authenticate_client(creds).await?.id().to_owned())
    }

    /// `POST /oauth2/introspect`: `{"active":false}` for anything that is not a live
    /// token of the calling client.
    pub async fn introspect(
        &self,
        creds: &Credentials,
        token: Option<&str>,
        hint: Option<&str>,
    ) -> Result<Value, OAuth2Error> {
        self.ensure_enabled()?;
        let client_id = self.caller(creds).await?;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuth2Error::invalid_request("token is required"))?;
        let inactive = json!({ "active": false });
        if token.len() > MAX_TOKEN_LEN {
            return Ok(inactive);
        }
        // The hint says where to look first; the other kind is looked at too (RFC 7662
        // §2.1: a wrong hint must not hide a token).
        let answer = if hint == Some(HINT_ACCESS_TOKEN) {
            match self.introspect_access(token, &client_id) {
                Some(a) => Some(a),
                None => self.introspect_refresh(token, &client_id).await?,
            }
        } else {
            match self.introspect_refresh(token, &client_id).await? {
                Some(a) => Some(a),
                None => self.introspect_access(token, &client_id),
            }
        };
        Ok(answer.unwrap_or(inactive))
    }

    async fn introspect_refresh(
        &self,
        token: &str,
        client_id: &str,
    ) -> Result<Option<Value>, OAuth2Error> {
        let db = self.db.get().await?;
        let found = sql::find_refresh_of_client(&db, &token_hash(token), client_id).await?;
        Ok(found.map(|t| {
            json!({
                "active": true,
                "client_id": t.client_id,
                "sub": t.user_id.to_string(),
                "scope": t.scopes.join(" "),
                "exp": t.expires_at.timestamp(),
                "iat": t.created_at.timestamp(),
                "iss": self.settings.issuer,
                "token_type": "refresh_token",
            })
        }))
    }

    fn introspect_access(&self, token: &str, client_id: &str) -> Option<Value> {
        let t = self.verify_access_token(token)?;
        if !t.audience.iter().any(|a| a == client_id) {
            return None;
        }
        Some(json!({
            "active": true,
            "client_id": t.audience[0],
            "sub": t.user_id.to_string(),
            "scope": t.scopes.join(" "),
            "exp": t.payload.get("exp"),
            "iat": t.payload.get("iat"),
            "iss": t.payload.get("iss"),
            "token_type": "access_token",
        }))
    }

    /// `POST /oauth2/revoke`: deletes the refresh token if it is the calling client's;
    /// unknown tokens and access tokens (which cannot be revoked) are no error.
    pub async fn revoke(
        &self,
        creds: &Credentials,
        token: Option<&str>,
    ) -> Result<(), OAuth2Error> {
        self.ensure_enabled()?;
        let client_id = self.caller(creds).await?;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuth2Error::invalid_request("token is required"))?;
        if token.len() > MAX_TOKEN_LEN {
            return Ok(());
        }
        let db = self.db.get().await?;
        if let Some(user_id) =
            sql::delete_refresh_of_client(&db, &token_hash(token), &client_id).await?
        {
            audit::event("oauth2-revoke", Outcome::Success)
                .user(user_id)
                .record();
        }
        Ok(())
    }
}
