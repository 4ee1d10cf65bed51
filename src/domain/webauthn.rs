//! WebAuthn responses as clients send them (the contract's `CredentialCreationResponse`
//! and `CredentialAssertionResponse`, i.e. `PublicKeyCredential.toJSON()`), with every
//! binary field decoded from base64url once, here.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Bytes sent as base64url, with or without padding (what go-webauthn accepts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base64Url(pub Vec<u8>);

impl Base64Url {
    pub fn decode(s: &str) -> Result<Self, String> {
        URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map(Base64Url)
            .map_err(|e| format!("not base64url: {e}"))
    }
}

impl<'de> Deserialize<'de> for Base64Url {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Base64Url::decode(&s).map_err(serde::de::Error::custom)
    }
}

/// `CredentialCreationResponse` (registration).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CredentialCreation {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub raw_id: Base64Url,
    pub client_extension_results: Option<Map<String, Value>>,
    pub authenticator_attachment: Option<String>,
    pub response: AttestationResponse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AttestationResponse {
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: Base64Url,
    pub attestation_object: Base64Url,
    pub transports: Option<Vec<String>>,
    pub authenticator_data: Option<Base64Url>,
    pub public_key: Option<Base64Url>,
    pub public_key_algorithm: Option<i64>,
}

/// `CredentialAssertionResponse` (sign-in, elevation).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CredentialAssertion {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub raw_id: Base64Url,
    pub client_extension_results: Option<Map<String, Value>>,
    pub authenticator_attachment: Option<String>,
    pub response: AssertionResponse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssertionResponse {
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: Base64Url,
    pub authenticator_data: Base64Url,
    pub signature: Base64Url,
    #[serde(default, deserialize_with = "nullable_base64url")]
    pub user_handle: Option<Base64Url>,
}

/// `userHandle` may be absent, `null` or `""` (all mean: none).
fn nullable_base64url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Base64Url>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => Base64Url::decode(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_accepts_padding_and_rejects_other_alphabets() {
        assert_eq!(Base64Url::decode("AQI").map(|b| b.0), Ok(vec![1, 2]));
        assert_eq!(Base64Url::decode("AQI=").map(|b| b.0), Ok(vec![1, 2]));
        assert!(Base64Url::decode("a+b/").is_err());
    }

    #[test]
    fn assertion_user_handle_may_be_null_or_empty() {
        for handle in [r#""userHandle":null,"#, r#""userHandle":"","#, ""] {
            let json = format!(
                r#"{{"id":"AQ","type":"public-key","rawId":"AQ","response":{{{handle}"clientDataJSON":"e30","authenticatorData":"AA","signature":"AA"}}}}"#
            );
            let parsed: CredentialAssertion = serde_json::from_str(&json).unwrap_or_else(|e| {
                panic!("{json}: {e}");
            });
            assert!(parsed.response.user_handle.is_none());
        }
    }

    #[test]
    fn creation_rejects_unknown_fields() {
        let json = r#"{"id":"AQ","type":"public-key","rawId":"AQ","extra":1,
            "response":{"clientDataJSON":"e30","attestationObject":"AA"}}"#;
        assert!(serde_json::from_str::<CredentialCreation>(json).is_err());
    }
}
