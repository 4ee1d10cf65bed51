//! The discovery document (reference §2.1.1), served identically at
//! `/.well-known/openid-configuration` (OpenID Connect Discovery) and
//! `/.well-known/oauth-authorization-server` (RFC 8414). Every endpoint is the issuer
//! followed by `/oauth2/…`, so the issuer must be the service's public base URL.

use serde_json::{Value, json};

use super::error::OAuth2Error;
use super::{OAuth2Provider, ProviderSettings, scopes};

/// The claims the ID token and userinfo may carry.
pub const CLAIMS_SUPPORTED: [&str; 8] = [
    "sub",
    "name",
    "email",
    "email_verified",
    "picture",
    "locale",
    "phone_number",
    "phone_number_verified",
];

/// The document for these settings.
pub fn document(settings: &ProviderSettings) -> Value {
    let mut doc = json!({
        "issuer": settings.issuer,
        "authorization_endpoint": settings.endpoint("/oauth2/authorize"),
        "token_endpoint": settings.endpoint("/oauth2/token"),
        "userinfo_endpoint": settings.endpoint("/oauth2/userinfo"),
        "jwks_uri": settings.endpoint("/oauth2/jwks"),
        "revocation_endpoint": settings.endpoint("/oauth2/revoke"),
        "introspection_endpoint": settings.endpoint("/oauth2/introspect"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": scopes::SUPPORTED,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [settings.signing_alg],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "request_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    });
    // The device flow is on when it has a verification page to send users to.
    if !settings.device_verify_url.is_empty()
        && let Some(map) = doc.as_object_mut()
    {
        map.insert(
            "device_authorization_endpoint".into(),
            Value::String(settings.endpoint("/oauth2/device")),
        );
        if let Some(Value::Array(grants)) = map.get_mut("grant_types_supported") {
            grants.push(Value::String(super::tokens::GRANT_DEVICE_CODE.into()));
        }
    }
    if settings.cimd_enabled
        && let Some(map) = doc.as_object_mut()
    {
        map.insert(
            "client_id_metadata_document_supported".into(),
            Value::Bool(true),
        );
    }
    doc
}

impl OAuth2Provider {
    /// The discovery document; `server_error` while the provider is off.
    pub fn discovery(&self) -> Result<Value, OAuth2Error> {
        self.ensure_enabled()?;
        Ok(document(&self.settings))
    }

    /// The key set clients verify tokens with (the service's JWKS); `server_error` while
    /// the provider is off.
    pub fn jwks(&self) -> Result<bytes::Bytes, OAuth2Error> {
        self.ensure_enabled()?;
        Ok(self.jwt.jwks_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(issuer: &str, cimd: bool) -> ProviderSettings {
        ProviderSettings {
            enabled: true,
            issuer: issuer.into(),
            login_url: "https://app.example.com/oauth2/login".into(),
            device_verify_url: if cimd {
                String::new()
            } else {
                "https://app.example.com/oauth2/device".into()
            },
            builtin_login_page: false,
            builtin_login_url: "https://auth.example.com/v1/oauth2/ui/login".into(),
            page_key: crate::service::oauth2_provider::ui::PageKey::from_secret("k"),
            access_token_ttl: 900,
            refresh_token_ttl: 60,
            cimd_enabled: cimd,
            cimd_allow_insecure_transport: false,
            signing_alg: "RS256",
        }
    }

    #[test]
    fn endpoints_follow_the_issuer() {
        let doc = document(&settings("https://auth.example.com/v1", false));
        assert_eq!(
            doc["token_endpoint"],
            "https://auth.example.com/v1/oauth2/token"
        );
        assert!(doc.get("client_id_metadata_document_supported").is_none());
        assert_eq!(
            doc["device_authorization_endpoint"],
            "https://auth.example.com/v1/oauth2/device"
        );
        assert_eq!(
            doc["grant_types_supported"],
            json!([
                "authorization_code",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        let doc = document(&settings("https://auth.example.com/v1/", true));
        assert_eq!(doc["issuer"], "https://auth.example.com/v1/");
        assert_eq!(doc["jwks_uri"], "https://auth.example.com/v1/oauth2/jwks");
        assert_eq!(doc["client_id_metadata_document_supported"], true);
        // No verification page: no device flow advertised.
        assert!(doc.get("device_authorization_endpoint").is_none());
        assert_eq!(
            doc["grant_types_supported"].as_array().map(Vec::len),
            Some(2)
        );
    }
}
