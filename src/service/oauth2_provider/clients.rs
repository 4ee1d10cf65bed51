//! Clients of the identity provider: lookup (a registered row of `auth.oauth2_clients`,
//! or, with `AUTH_OAUTH2_PROVIDER_CIMD_ENABLED`, a URL client id whose metadata document
//! is fetched) and client authentication at the token, introspection and revocation
//! endpoints: `client_secret_basic` (HTTP Basic), `client_secret_post` (form fields) or
//! `none` (public clients, which have no secret and must use PKCE). Sending credentials
//! both ways at once is `invalid_request`; a wrong secret is `invalid_client`. Secrets
//! are bcrypt hashes at rest and checked with bcrypt (which compares in constant time).

use base64::Engine;

use super::OAuth2Provider;
use super::error::OAuth2Error;
use crate::db::oauth2_provider::{self as sql, ClientRow};

/// `auth.oauth2_clients.type` of clients created from a metadata document.
pub const CIMD_TYPE: &str = "client_id_metadata_document";

/// A client as the flows see it.
#[derive(Debug, Clone)]
pub struct Client {
    pub row: ClientRow,
}

impl Client {
    pub fn id(&self) -> &str {
        &self.row.client_id
    }

    /// A client without a secret: it authenticates with `none` and must use PKCE.
    pub fn is_public(&self) -> bool {
        self.row.client_secret_hash.is_none()
    }

    pub fn redirect_uris(&self) -> &[String] {
        &self.row.redirect_uris
    }

    /// The scopes the client may ask for.
    pub fn scopes(&self) -> &[String] {
        &self.row.scopes
    }

    /// Whether `uri` is exactly one of the registered redirect URIs.
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.row.redirect_uris.iter().any(|r| r == uri)
    }
}

/// How the client authenticated (RFC 6749 §2.3, OIDC Core §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

/// The client credentials of a request, before they are checked.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    pub method: AuthMethod,
}

/// Never prints the secret.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "********"))
            .field("method", &self.method)
            .finish()
    }
}

/// Reads the credentials of a request: the `Authorization` header (when it is `Basic`)
/// and the form's `client_id` and `client_secret`. Basic credentials are form-urlencoded
/// before base64 (RFC 6749 §2.3.1) and decoded here.
pub fn credentials(
    authorization: Option<&str>,
    form_client_id: Option<&str>,
    form_client_secret: Option<&str>,
) -> Result<Credentials, OAuth2Error> {
    let form_id = form_client_id.filter(|s| !s.is_empty());
    let form_secret = form_client_secret.filter(|s| !s.is_empty());
    let basic = authorization.and_then(|h| {
        let (scheme, rest) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
    });
    let Some(encoded) = basic else {
        return Ok(Credentials {
            client_id: form_id.map(str::to_owned),
            secret: form_secret.map(str::to_owned),
            method: if form_secret.is_some() {
                AuthMethod::ClientSecretPost
            } else {
                AuthMethod::None
            },
        });
    };
    if form_secret.is_some() {
        return Err(OAuth2Error::invalid_request(
            "Client credentials must be sent in the Authorization header or in the body, \
             not both",
        ));
    }
    let malformed = || OAuth2Error::invalid_request("Malformed Basic authorization header");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| malformed())?;
    let text = String::from_utf8(raw).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id).ok_or_else(malformed)?;
    let secret = form_decode(secret).ok_or_else(malformed)?;
    if id.is_empty() {
        return Err(malformed());
    }
    if form_id.is_some_and(|f| f != id) {
        return Err(OAuth2Error::invalid_request(
            "client_id differs from the Authorization header's",
        ));
    }
    Ok(Credentials {
        client_id: Some(id),
        secret: Some(secret),
        method: AuthMethod::ClientSecretBasic,
    })
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space).
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// How long a fetched metadata document is used before it is fetched again.
pub const CIMD_CACHE_SECS: i64 = 3600;

fn fresh(row: &ClientRow) -> bool {
    row.metadata_document_fetched_at
        .is_some_and(|t| chrono::Utc::now() - t < chrono::Duration::seconds(CIMD_CACHE_SECS))
}

/// Longest client id looked up (a URL client id included); longer ones are unknown.
pub const MAX_CLIENT_ID_LEN: usize = 2048;

impl OAuth2Provider {
    /// The client with this id: a registered row, or (CIMD enabled, URL-shaped id) the
    /// client its metadata document describes. `None` when there is no such client.
    pub async fn find_client(&self, client_id: &str) -> Result<Option<Client>, OAuth2Error> {
        if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_LEN || client_id.contains('\0') {
            return Ok(None);
        }
        let cimd = self.settings.cimd_enabled && crate::adapters::cimd::is_url_client_id(client_id);
        let db = self.db.get().await?;
        let row = sql::find_client(&db, client_id).await?;
        drop(db);
        match row {
            // A URL client id is re-read once its document is an hour old.
            Some(row) if cimd && row.kind == CIMD_TYPE && !fresh(&row) => {
                self.fetch_cimd_client(client_id).await.map(Some)
            }
            Some(row) => Ok(Some(Client { row })),
            None if cimd => self.fetch_cimd_client(client_id).await.map(Some),
            None => Ok(None),
        }
    }

    /// Fetches, checks and stores the client a metadata document describes.
    async fn fetch_cimd_client(&self, client_id: &str) -> Result<Client, OAuth2Error> {
        let rejected = |e: &dyn std::fmt::Display| {
            OAuth2Error::invalid_client(format!("Client metadata document rejected: {e}"))
        };
        let meta = crate::adapters::cimd::fetch(
            &self.tls,
            client_id,
            self.settings.cimd_allow_insecure_transport,
        )
        .await
        .map_err(|e| rejected(&e))?;
        let scopes: Vec<String> = match meta.scope {
            Some(list) => {
                if let Some(bad) = list.iter().find(|s| !super::scopes::is_valid(s)) {
                    return Err(rejected(&format!("unsupported scope {bad:?}")));
                }
                list
            }
            None => super::scopes::SUPPORTED
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        let db = self.db.get().await?;
        let row = sql::upsert_cimd_client(
            &db,
            &sql::CimdClient {
                client_id,
                redirect_uris: &meta.redirect_uris,
                scopes: &scopes,
                metadata: &meta.document,
            },
        )
        .await?
        .ok_or_else(|| OAuth2Error::invalid_client("Unknown client"))?;
        Ok(Client { row })
    }

    /// Authenticates the client of a token, introspection or revocation request.
    /// Unknown client, missing or wrong secret: `invalid_client`. A public client
    /// presents no secret.
    pub async fn authenticate_client(&self, creds: &Credentials) -> Result<Client, OAuth2Error> {
        let Some(client_id) = creds.client_id.as_deref() else {
            return Err(OAuth2Error::invalid_client("Client authentication failed"));
        };
        let client = self.find_client(client_id).await?;
        let Some(client) = client else {
            // Costs one bcrypt verification, as a known client would.
            if let Some(secret) = creds.secret.as_deref() {
                let _ = self.passwords.verify(secret, None).await;
            }
            return Err(OAuth2Error::invalid_client("Unknown client"));
        };
        match (
            client.row.client_secret_hash.as_deref(),
            creds.secret.as_deref(),
        ) {
            (None, None) => Ok(client),
            (None, Some(_)) => Err(OAuth2Error::invalid_client(
                "Public clients authenticate without a secret",
            )),
            (Some(_), None) => Err(OAuth2Error::invalid_client("Client secret is required")),
            (Some(hash), Some(secret)) => {
                if self.passwords.verify(secret, Some(hash)).await? {
                    Ok(client)
                } else {
                    Err(OAuth2Error::invalid_client("Invalid client credentials"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::oauth2_provider::OAuth2ErrorCode;

    fn b64(s: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    }

    #[test]
    fn basic_post_and_none() {
        let c = credentials(Some(&b64("nhoa_1:s%3Acret+x")), None, None).unwrap();
        assert_eq!(c.client_id.as_deref(), Some("nhoa_1"));
        assert_eq!(c.secret.as_deref(), Some("s:cret x"));
        assert_eq!(c.method, AuthMethod::ClientSecretBasic);
        let c = credentials(None, Some("nhoa_1"), Some("pw")).unwrap();
        assert_eq!(c.method, AuthMethod::ClientSecretPost);
        assert_eq!(c.secret.as_deref(), Some("pw"));
        let c = credentials(None, Some("nhoa_1"), None).unwrap();
        assert_eq!(c.method, AuthMethod::None);
        assert_eq!(c.secret, None);
        // Another scheme is not client authentication.
        let c = credentials(Some("Bearer abc"), Some("nhoa_1"), None).unwrap();
        assert_eq!(c.method, AuthMethod::None);
        // The same id in the body as in the header is fine.
        assert!(credentials(Some(&b64("nhoa_1:pw")), Some("nhoa_1"), None).is_ok());
    }

    #[test]
    fn both_ways_or_malformed_is_invalid_request() {
        for (header, id, secret) in [
            (b64("nhoa_1:pw"), None, Some("pw")),
            (b64("nhoa_1:pw"), Some("nhoa_2"), None),
            ("Basic !!!".to_owned(), None, None),
            (b64("no-colon"), None, None),
            (b64(":pw"), None, None),
            (b64("id:%zz"), None, None),
            (b64("id:%e9"), None, None),
        ] {
            let e = credentials(Some(&header), id, secret).unwrap_err();
            assert_eq!(e.code, OAuth2ErrorCode::InvalidRequest, "{header}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = credentials(None, Some("id"), Some("hunter2")).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
