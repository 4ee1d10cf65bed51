//! The identity provider's clients as the operator manages them (`hasura-auth
//! oauth2-clients …`, docs/cli.md): Nhost 0.52 has no admin API for them, only rows of
//! `auth.oauth2_clients` written through Hasura. A confidential client's secret is made
//! here, shown once, and stored only as a bcrypt hash (the table's trigger refuses
//! anything else); a public client has none and must use PKCE.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Serialize;

use crate::db::oauth2_clients::{self, ClientRow};
use crate::service::admin::{AdminError, UserAdmin, timestamp};

/// Bytes of randomness in a client secret (256 bits; 43 characters once encoded).
const SECRET_BYTES: usize = 32;

/// The scopes a client may be allowed: the six fixed ones, and `graphql:role:<role>`
/// (as `auth.is_valid_oauth2_scope` accepts them).
const FIXED_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "phone",
    "offline_access",
    "graphql",
];

/// A client as the commands print it (`--json` field names are stable).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientRecord {
    pub client_id: String,
    /// `confidential` (has a secret) or `public` (PKCE only).
    pub kind: &'static str,
    /// `registered`, or `client_id_metadata_document` for URL client ids.
    pub source: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ClientRow> for ClientRecord {
    fn from(row: ClientRow) -> Self {
        ClientRecord {
            client_id: row.client_id,
            kind: if row.confidential {
                "confidential"
            } else {
                "public"
            },
            source: row.kind,
            redirect_uris: row.redirect_uris,
            scopes: row.scopes,
            created_at: timestamp(row.created_at),
            updated_at: timestamp(row.updated_at),
        }
    }
}

/// A client with the secret it was just given (printed once, never stored in clear).
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientWithSecret {
    pub client: ClientRecord,
    /// `None` for a public client.
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for ClientWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientWithSecret")
            .field("client", &self.client)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// What `oauth2-clients create` asks for.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub redirect_uris: Vec<String>,
    /// `None`: the table's default (the six fixed scopes).
    pub scopes: Option<Vec<String>>,
    pub public: bool,
}

impl UserAdmin {
    fn require_client_tables(&self) -> Result<(), AdminError> {
        if self.schema.has_oauth2_tables() {
            return Ok(());
        }
        Err(AdminError::Schema(format!(
            "the auth schema is at version {}, which has no OAuth2 client table (version 20 \
             on): run `hasura-auth migrate` with AUTH_MIGRATE_TO_LATEST=true first",
            self.schema.version()
        )))
    }

    pub async fn create_client(&self, new: NewClient) -> Result<ClientWithSecret, AdminError> {
        self.require_client_tables()?;
        if new.redirect_uris.is_empty() {
            return Err(AdminError::Invalid(
                "give at least one --redirect-uri".into(),
            ));
        }
        for uri in &new.redirect_uris {
            check_redirect_uri(uri)?;
        }
        if let Some(scopes) = &new.scopes {
            check_scopes(scopes)?;
        }
        let secret = (!new.public).then(new_secret);
        let hash = match &secret {
            Some(secret) => Some(self.passwords.hash(secret).await?),
            None => None,
        };
        let db = self.db.get().await?;
        let row = oauth2_clients::insert(
            &db,
            hash.as_deref(),
            &new.redirect_uris,
            new.scopes.as_deref(),
        )
        .await?;
        Ok(ClientWithSecret {
            client: row.into(),
            client_secret: secret,
        })
    }

    pub async fn clients(&self) -> Result<Vec<ClientRecord>, AdminError> {
        self.require_client_tables()?;
        let db = self.db.get().await?;
        Ok(oauth2_clients::list(&db)
            .await?
            .into_iter()
            .map(ClientRecord::from)
            .collect())
    }

    pub async fn client(&self, client_id: &str) -> Result<ClientRecord, AdminError> {
        self.require_client_tables()?;
        let db = self.db.get().await?;
        oauth2_clients::find(&db, client_id)
            .await?
            .map(ClientRecord::from)
            .ok_or_else(|| AdminError::UnknownClient(client_id.to_owned()))
    }

    /// A new secret for a confidential client; the old one stops working at once.
    pub async fn rotate_client_secret(
        &self,
        client_id: &str,
    ) -> Result<ClientWithSecret, AdminError> {
        let existing = self.client(client_id).await?;
        if existing.kind == "public" || existing.source != "registered" {
            return Err(AdminError::Invalid(format!(
                "client {client_id} is a public client: it has no secret to rotate"
            )));
        }
        let secret = new_secret();
        let hash = self.passwords.hash(&secret).await?;
        let db = self.db.get().await?;
        let row = oauth2_clients::rotate_secret(&db, client_id, &hash)
            .await?
            // Deleted (or made public) between the two statements.
            .ok_or_else(|| AdminError::UnknownClient(client_id.to_owned()))?;
        Ok(ClientWithSecret {
            client: row.into(),
            client_secret: Some(secret),
        })
    }

    /// Deletes a client with its pending requests, codes and refresh tokens.
    pub async fn delete_client(&self, client_id: &str) -> Result<ClientRecord, AdminError> {
        let existing = self.client(client_id).await?;
        let db = self.db.get().await?;
        if !oauth2_clients::delete(&db, client_id).await? {
            return Err(AdminError::UnknownClient(client_id.to_owned()));
        }
        Ok(existing)
    }
}

fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An absolute URI without a fragment (RFC 6749 §3.1.2); `http` only for loopback hosts
/// (RFC 8252 §7.3, OAuth 2.1), custom schemes allowed for native apps. The provider
/// compares redirect URIs exactly, so what is stored is what clients must send.
fn check_redirect_uri(uri: &str) -> Result<(), AdminError> {
    let invalid = |why: &str| AdminError::Invalid(format!("--redirect-uri {uri:?}: {why}"));
    let parsed = url::Url::parse(uri).map_err(|e| invalid(&e.to_string()))?;
    if parsed.fragment().is_some() {
        return Err(invalid("a redirect URI cannot have a fragment"));
    }
    match parsed.scheme() {
        "https" => {}
        "http" => {
            let loopback = match parsed.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if !loopback {
                return Err(invalid(
                    "plain http is only allowed for loopback hosts (localhost, 127.0.0.1, [::1])",
                ));
            }
        }
        "javascript" | "data" | "file" | "vbscript" => {
            return Err(invalid("this scheme cannot be a redirect URI"));
        }
        // A native app's private-use scheme (com.example.app:/callback).
        _ if parsed.cannot_be_a_base() => {
            return Err(invalid("not an absolute URI with a path"));
        }
        _ => {}
    }
    Ok(())
}

fn check_scopes(scopes: &[String]) -> Result<(), AdminError> {
    for scope in scopes {
        let role = scope.strip_prefix("graphql:role:");
        let valid = FIXED_SCOPES.contains(&scope.as_str())
            || role.is_some_and(|r| {
                !r.is_empty()
                    && r.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_:.-".contains(c))
            });
        if !valid {
            return Err(AdminError::Invalid(format!(
                "--scope {scope:?}: not a scope of the provider (one of {}, or graphql:role:<role>)",
                FIXED_SCOPES.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_safe_to_send_codes_to() {
        for ok in [
            "https://app.example.com/callback",
            "http://localhost:8080/cb",
            "http://127.0.0.1:53682/",
            "http://[::1]/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://app.example.com/cb#frag",
            "http://app.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "/relative/path",
            "not a uri",
            "",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_are_the_providers() {
        let ok: Vec<String> = [
            "openid",
            "graphql",
            "graphql:role:editor",
            "graphql:role:a.b-c",
        ]
        .map(String::from)
        .to_vec();
        assert!(check_scopes(&ok).is_ok());
        for bad in [
            "admin",
            "graphql:role:",
            "graphql:role:a b",
            "openid profile",
            "'; DROP TABLE x; --",
        ] {
            assert!(check_scopes(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_long_and_distinct() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
