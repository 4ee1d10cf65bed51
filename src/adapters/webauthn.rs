//! The relying party: webauthn-rs does every cryptographic check (attestation, COSE
//! keys, signatures, origins, RP ID hash, user presence/verification, counters); this
//! module only shapes its input and output to upstream's contract (go-webauthn's
//! option JSON, upstream's stored key format).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use url::Url;
use uuid::Uuid;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::internals::AuthenticatorData;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AttestationFormat, Authentication, AuthenticationState,
    AuthenticatorAssertionResponseRaw, AuthenticatorAttestationResponseRaw, AuthenticatorTransport,
    COSEAlgorithm, COSEKey, Credential, ParsedAttestation, PublicKeyCredential,
    RegisterPublicKeyCredential, RegisteredExtensions, Registration, RegistrationState,
    UserVerificationPolicy,
};

use crate::config::Config;
use crate::db::webauthn::{KeyFlags, NewKey, StoredKey};
use crate::domain::webauthn::{CredentialAssertion, CredentialCreation};

/// go-webauthn's ceremony timeout, used when `AUTH_WEBAUTHN_ATTESTATION_TIMEOUT` is 0.
const DEFAULT_TIMEOUT_MS: u64 = 300_000;

/// Why a ceremony was refused; clients see `invalid-request` with this text.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("{0}")]
    Library(#[from] webauthn_rs_core::error::WebauthnError),
    #[error("the credential is not registered for this user")]
    UnknownCredential,
    #[error("{0}")]
    Malformed(String),
}

pub struct RelyingParty {
    core: WebauthnCore,
    rp_id: String,
    rp_name: String,
    timeout_ms: u32,
}

/// `PublicKeyCredentialCreationOptions` as go-webauthn writes them (the bare
/// `publicKey` member).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    pub rp: RpEntity,
    pub user: UserEntity,
    pub challenge: String,
    pub pub_key_cred_params: Vec<CredentialParameter>,
    pub timeout: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_credentials: Vec<CredentialDescriptor>,
    pub authenticator_selection: AuthenticatorSelection,
    pub attestation: &'static str,
}

#[derive(Debug, Serialize)]
pub struct RpEntity {
    pub name: String,
    pub id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEntity {
    pub name: String,
    pub display_name: String,
    /// The user id as a plain UUID string (go-webauthn's `EncodeUserIDAsString`).
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct CredentialParameter {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub alg: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelection {
    pub require_resident_key: bool,
    pub resident_key: &'static str,
    pub user_verification: &'static str,
}

#[derive(Debug, Serialize)]
pub struct CredentialDescriptor {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
}

/// `PublicKeyCredentialRequestOptions` as go-webauthn writes them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptions {
    pub challenge: String,
    pub timeout: u32,
    pub rp_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow_credentials: Vec<CredentialDescriptor>,
    pub user_verification: &'static str,
}

/// A credential that passed registration, in upstream's storage format.
#[derive(Debug)]
pub struct RegisteredKey {
    pub credential_id: String,
    pub public_key: Vec<u8>,
    pub counter: i64,
    pub transports: String,
    pub flags: KeyFlags,
}

impl RegisteredKey {
    /// The row to insert into `auth.user_security_keys` (and its flags).
    pub fn to_store<'a>(&'a self, nickname: Option<&'a str>) -> NewKey<'a> {
        NewKey {
            credential_id: &self.credential_id,
            public_key: &self.public_key,
            counter: self.counter,
            transports: &self.transports,
            nickname,
            flags: self.flags,
        }
    }
}

/// The outcome of a verified assertion, to be recorded.
#[derive(Debug)]
pub struct KeyUse {
    pub key_id: Uuid,
    pub credential_id: String,
    pub verified_against: i64,
    pub counter: i64,
    pub flags: KeyFlags,
}

impl RelyingParty {
    /// The relying party of the configuration, `None` when WebAuthn is disabled.
    pub fn from_config(config: &Config) -> Result<Option<RelyingParty>, String> {
        if !config.webauthn.webauthn_enabled {
            return Ok(None);
        }
        let rp_id = config.webauthn_rp_id();
        if rp_id.is_empty() {
            return Err(
                "AUTH_WEBAUTHN_ENABLED is true but the relying party ID is empty: set \
                 AUTH_WEBAUTHN_RP_ID (or AUTH_CLIENT_URL, whose host name is the default)"
                    .to_owned(),
            );
        }
        // An RP ID is a bare domain: no scheme, port or path.
        let as_host = Url::parse(&format!("https://{rp_id}/"))
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned));
        if as_host.as_deref() != Some(rp_id.as_str()) || rp_id.contains(':') {
            return Err(format!(
                "AUTH_WEBAUTHN_RP_ID {rp_id:?} is not a domain (no scheme, port or path)"
            ));
        }
        let origins = config
            .webauthn_rp_origins()
            .iter()
            .map(|o| {
                Url::parse(o)
                    .map_err(|e| format!("AUTH_WEBAUTHN_RP_ORIGINS: {o:?} is not a URL: {e}"))
            })
            .collect::<Result<Vec<Url>, String>>()?;
        if origins.is_empty() {
            return Err(
                "AUTH_WEBAUTHN_ENABLED is true but no origin is allowed: set \
                 AUTH_WEBAUTHN_RP_ORIGINS or AUTH_CLIENT_URL"
                    .to_owned(),
            );
        }
        let timeout_ms = match config.webauthn.webauthn_attestation_timeout {
            0 => DEFAULT_TIMEOUT_MS,
            ms => ms,
        };
        // The library keeps milliseconds in a u32.
        let timeout_ms = u32::try_from(timeout_ms).unwrap_or(u32::MAX);
        let rp_name = config.webauthn_rp_name();
        let core = WebauthnCore::new_unsafe_experts_only(
            &rp_name,
            &rp_id,
            origins,
            Duration::from_millis(u64::from(timeout_ms)),
            Some(false),
            Some(false),
        );
        Ok(Some(RelyingParty {
            core,
            rp_id,
            rp_name,
            timeout_ms,
        }))
    }

    /// How long a ceremony may take, in milliseconds.
    pub fn timeout_ms(&self) -> u32 {
        self.timeout_ms
    }

    /// Begins a registration for `user_id`; `name` is both the user name and the
    /// display name, as upstream sends them.
    pub fn start_registration(
        &self,
        user_id: Uuid,
        name: &str,
        existing: &[StoredKey],
    ) -> Result<(CreationOptions, RegistrationState), Rejection> {
        let exclude: Vec<(Vec<u8>, &StoredKey)> = existing
            .iter()
            .filter_map(|k| decode_credential_id(&k.credential_id).map(|id| (id, k)))
            .collect();
        let handle = user_handle(user_id);
        // The library wants non-empty names; they only reach the client through our options.
        let lib_name = if name.is_empty() { "user" } else { name };
        let builder = self
            .core
            .new_challenge_register_builder(&handle, lib_name, lib_name)?
            .attestation(AttestationConveyancePreference::Indirect)
            .user_verification_policy(UserVerificationPolicy::Preferred)
            .credential_algorithms(COSEAlgorithm::secure_algs())
            .require_resident_key(false)
            .exclude_credentials(Some(exclude.iter().map(|(id, _)| id.clone()).collect()));
        let (_, state) = self.core.generate_challenge_register(builder)?;
        let challenge = registration_challenge(&state)?;
        let options = CreationOptions {
            rp: RpEntity {
                name: self.rp_name.clone(),
                id: self.rp_id.clone(),
            },
            user: UserEntity {
                name: name.to_owned(),
                display_name: name.to_owned(),
                id: user_id.to_string(),
            },
            challenge,
            pub_key_cred_params: COSEAlgorithm::secure_algs()
                .into_iter()
                .map(|alg| CredentialParameter {
                    type_: "public-key",
                    alg: alg as i64,
                })
                .collect(),
            timeout: self.timeout_ms,
            exclude_credentials: exclude.iter().map(|(_, k)| descriptor(k)).collect(),
            authenticator_selection: AuthenticatorSelection {
                require_resident_key: false,
                resident_key: "preferred",
                user_verification: "preferred",
            },
            attestation: "indirect",
        };
        Ok((options, state))
    }

    /// Verifies a registration response against its ceremony state.
    pub fn finish_registration(
        &self,
        response: &CredentialCreation,
        state: &RegistrationState,
    ) -> Result<RegisteredKey, Rejection> {
        check_envelope(&response.id, &response.raw_id.0, &response.type_)?;
        let transports: Vec<AuthenticatorTransport> = response
            .response
            .transports
            .iter()
            .flatten()
            .filter_map(|t| t.parse().ok())
            .filter(|t| !matches!(t, AuthenticatorTransport::Unknown))
            .collect();
        let reg = RegisterPublicKeyCredential {
            id: response.id.clone(),
            raw_id: response.raw_id.0.clone(),
            response: AuthenticatorAttestationResponseRaw {
                attestation_object: response.response.attestation_object.0.clone(),
                client_data_json: response.response.client_data_json.0.clone(),
                transports: Some(transports.clone()),
            },
            type_: response.type_.clone(),
            extensions: Default::default(),
        };
        let credential = self.core.register_credential(&reg, state, None)?;
        let public_key = cose_key_bytes(&response.response.attestation_object.0)?;
        Ok(RegisteredKey {
            credential_id: URL_SAFE_NO_PAD.encode(&credential.cred_id),
            public_key,
            counter: i64::from(credential.counter),
            transports: transports
                .iter()
                .map(transport_name)
                .collect::<Vec<_>>()
                .join(","),
            flags: KeyFlags {
                user_verified: credential.user_verified,
                backup_eligible: credential.backup_eligible,
                backup_state: credential.backup_state,
            },
        })
    }

    /// Begins an authentication: with `keys` listed in `allowCredentials`, or, when
    /// `keys` is empty, a discoverable one (the authenticator picks the credential).
    pub fn start_authentication(
        &self,
        keys: &[StoredKey],
    ) -> Result<(RequestOptions, AuthenticationState), Rejection> {
        let usable: Vec<(&StoredKey, Credential)> = keys
            .iter()
            .filter_map(|k| {
                let observed = k.flags.unwrap_or(KeyFlags {
                    user_verified: false,
                    backup_eligible: false,
                    backup_state: false,
                });
                library_credential(k, observed).map(|c| (k, c))
            })
            .collect();
        if !keys.is_empty() && usable.is_empty() {
            return Err(Rejection::Malformed(
                "none of the user's security keys can be read".to_owned(),
            ));
        }
        // The state needs no credentials: `finish_authentication` puts in the user's
        // keys as they are then (current counters).
        let builder = self.core.new_challenge_authenticate_builder(
            Vec::new(),
            Some(UserVerificationPolicy::Preferred),
        )?;
        let (_, state) = self.core.generate_challenge_authenticate(builder)?;
        let challenge = authentication_challenge(&state)?;
        let options = RequestOptions {
            challenge,
            timeout: self.timeout_ms,
            rp_id: self.rp_id.clone(),
            allow_credentials: usable.iter().map(|(k, _)| descriptor(k)).collect(),
            user_verification: "preferred",
        };
        Ok((options, state))
    }

    /// Verifies an assertion made with one of `keys` (read fresh from the database, so
    /// the counter is the current one).
    pub fn finish_authentication(
        &self,
        response: &CredentialAssertion,
        mut state: AuthenticationState,
        keys: &[StoredKey],
    ) -> Result<KeyUse, Rejection> {
        check_envelope(&response.id, &response.raw_id.0, &response.type_)?;
        let key = keys
            .iter()
            .find(|k| decode_credential_id(&k.credential_id).as_deref() == Some(&response.raw_id.0))
            .ok_or(Rejection::UnknownCredential)?;
        // Keys registered by upstream carry no flags: take the authenticator's word for
        // them, as upstream does, and keep them from now on.
        let observed = AuthenticatorData::<Authentication>::try_from(
            response.response.authenticator_data.0.as_slice(),
        )?;
        let flags = key.flags.unwrap_or(KeyFlags {
            user_verified: false,
            backup_eligible: observed.backup_eligible,
            backup_state: observed.backup_state,
        });
        let credential = library_credential(key, flags).ok_or_else(|| {
            Rejection::Malformed("the stored public key of this credential cannot be read".into())
        })?;
        state.set_allowed_credentials(vec![credential]);
        let rsp = PublicKeyCredential {
            id: response.id.clone(),
            raw_id: response.raw_id.0.clone(),
            response: AuthenticatorAssertionResponseRaw {
                authenticator_data: response.response.authenticator_data.0.clone(),
                client_data_json: response.response.client_data_json.0.clone(),
                signature: response.response.signature.0.clone(),
                user_handle: response.response.user_handle.as_ref().map(|h| h.0.clone()),
            },
            extensions: Default::default(),
            type_: response.type_.clone(),
        };
        let result = self.core.authenticate_credential(&rsp, &state)?;
        Ok(KeyUse {
            key_id: key.id,
            credential_id: key.credential_id.clone(),
            verified_against: key.counter,
            counter: i64::from(result.counter()),
            flags: KeyFlags {
                user_verified: key
                    .flags
                    .map_or(result.user_verified(), |f| f.user_verified),
                backup_eligible: result.backup_eligible(),
                backup_state: result.backup_state(),
            },
        })
    }
}

/// The WebAuthn user handle of a user. Upstream sends the UUID string as `user.id`,
/// which clients decode as base64url: the handle is those 27 bytes, and reads back as
/// the UUID string when base64url-encoded.
pub fn user_handle(user_id: Uuid) -> Vec<u8> {
    let text = user_id.to_string();
    URL_SAFE_NO_PAD
        .decode(&text)
        .unwrap_or_else(|_| text.into_bytes())
}

/// The user a handle names: upstream's form (see [`user_handle`]), or the UUID as UTF-8
/// text (clients that did not decode `user.id`).
pub fn user_id_from_handle(handle: &[u8]) -> Option<Uuid> {
    let encoded = URL_SAFE_NO_PAD.encode(handle);
    if encoded.len() == 36
        && let Ok(id) = Uuid::try_parse(&encoded)
    {
        return Some(id);
    }
    std::str::from_utf8(handle)
        .ok()
        .filter(|s| s.len() == 36)
        .and_then(|s| Uuid::try_parse(s).ok())
}

/// `type` is `public-key` and `id` is `rawId` in base64url, as go-webauthn requires.
fn check_envelope(id: &str, raw_id: &[u8], type_: &str) -> Result<(), Rejection> {
    if type_ != "public-key" {
        return Err(Rejection::Malformed(format!(
            "credential type {type_:?} is not \"public-key\""
        )));
    }
    if decode_credential_id(id).as_deref() != Some(raw_id) {
        return Err(Rejection::Malformed(
            "credential id and rawId differ".to_owned(),
        ));
    }
    Ok(())
}

/// The challenge a client answered, in the form ceremonies are stored under.
pub fn answered_challenge(client_data_json: &[u8]) -> Result<String, Rejection> {
    #[derive(serde::Deserialize)]
    struct ClientData {
        challenge: String,
    }
    let data: ClientData = serde_json::from_slice(client_data_json)
        .map_err(|e| Rejection::Malformed(format!("clientDataJSON: {e}")))?;
    let bytes = crate::domain::webauthn::Base64Url::decode(&data.challenge)
        .map_err(|e| Rejection::Malformed(format!("clientDataJSON challenge: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes.0))
}

fn registration_challenge(state: &RegistrationState) -> Result<String, Rejection> {
    challenge_of(serde_json::to_value(state))
}

fn authentication_challenge(state: &AuthenticationState) -> Result<String, Rejection> {
    challenge_of(serde_json::to_value(state))
}

/// The library keeps the challenge private; its serialised state carries it as
/// base64url, which is also how we key ceremonies.
fn challenge_of(state: Result<serde_json::Value, serde_json::Error>) -> Result<String, Rejection> {
    let state = state.map_err(|e| Rejection::Malformed(format!("ceremony state: {e}")))?;
    state
        .get("challenge")
        .and_then(|c| c.as_str())
        .map(|c| c.trim_end_matches('=').to_owned())
        .ok_or_else(|| Rejection::Malformed("ceremony state has no challenge".to_owned()))
}

fn decode_credential_id(stored: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(stored.trim_end_matches('=')).ok()
}

fn descriptor(key: &StoredKey) -> CredentialDescriptor {
    CredentialDescriptor {
        type_: "public-key",
        id: key.credential_id.clone(),
        transports: key
            .transports
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

fn transport_name(t: &AuthenticatorTransport) -> &'static str {
    match t {
        AuthenticatorTransport::Usb => "usb",
        AuthenticatorTransport::Nfc => "nfc",
        AuthenticatorTransport::Ble => "ble",
        AuthenticatorTransport::Internal => "internal",
        AuthenticatorTransport::Hybrid => "hybrid",
        AuthenticatorTransport::Test => "test",
        AuthenticatorTransport::Unknown => "",
    }
}

/// Builds the library's credential from upstream's columns: the id, the COSE key bytes
/// and the counter; `flags` fills what upstream does not store. `None` when the stored
/// key cannot be used (undecodable id, unsupported or malformed COSE key).
fn library_credential(key: &StoredKey, flags: KeyFlags) -> Option<Credential> {
    let cred_id = decode_credential_id(&key.credential_id)?;
    let cose: serde_cbor_2::Value = serde_cbor_2::from_slice(key.public_key.as_deref()?).ok()?;
    let cred = match COSEKey::try_from(&cose) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(credential_id = %key.credential_id, error = ?e, "unusable security key");
            return None;
        }
    };
    Some(Credential {
        cred_id,
        cred,
        counter: u32::try_from(key.counter.max(0)).unwrap_or(u32::MAX),
        transports: None,
        user_verified: flags.user_verified,
        backup_eligible: flags.backup_eligible,
        backup_state: flags.backup_state,
        registration_policy: UserVerificationPolicy::Preferred,
        extensions: RegisteredExtensions::none(),
        attestation: ParsedAttestation::default(),
        attestation_format: AttestationFormat::None,
    })
}

/// The credential public key exactly as the authenticator encoded it (what upstream
/// stores). The library parses the attestation object; we locate the key's bytes
/// after the credential id and keep them when they decode to the very key the library
/// read, otherwise we store the library's key re-encoded (same key, canonical CBOR).
fn cose_key_bytes(attestation_object: &[u8]) -> Result<Vec<u8>, Rejection> {
    let malformed = |what: &str| Rejection::Malformed(format!("attestation object: {what}"));
    let object: serde_cbor_2::Value =
        serde_cbor_2::from_slice(attestation_object).map_err(|_| malformed("not CBOR"))?;
    let serde_cbor_2::Value::Map(map) = object else {
        return Err(malformed("not a map"));
    };
    let Some(serde_cbor_2::Value::Bytes(auth_data)) =
        map.get(&serde_cbor_2::Value::Text("authData".to_owned()))
    else {
        return Err(malformed("no authData"));
    };
    let parsed = AuthenticatorData::<Registration>::try_from(auth_data.as_slice())?;
    let acd = parsed
        .acd
        .ok_or_else(|| malformed("no attested credential data"))?;
    // rpIdHash (32) | flags (1) | signCount (4) | aaguid (16) | idLength (2) | id | key
    let start = 55 + acd.credential_id.len();
    if let Some(rest) = auth_data.get(start..) {
        let mut de = serde_cbor_2::Deserializer::from_slice(rest);
        if let Ok(value) = <serde_cbor_2::Value as serde::Deserialize>::deserialize(&mut de)
            && value == acd.credential_pk
            && let Some(raw) = rest.get(..de.byte_offset())
        {
            return Ok(raw.to_vec());
        }
    }
    serde_cbor_2::to_vec(&acd.credential_pk).map_err(|_| malformed("credential key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_handle_reads_back_as_the_uuid_string() {
        let id = Uuid::new_v4();
        let handle = user_handle(id);
        assert_eq!(handle.len(), 27);
        assert_eq!(URL_SAFE_NO_PAD.encode(&handle), id.to_string());
        assert_eq!(user_id_from_handle(&handle), Some(id));
    }

    #[test]
    fn user_handle_as_utf8_text_is_accepted() {
        let id = Uuid::new_v4();
        assert_eq!(user_id_from_handle(id.to_string().as_bytes()), Some(id));
        assert_eq!(user_id_from_handle(b"not a user"), None);
        assert_eq!(user_id_from_handle(&[]), None);
    }

    #[test]
    fn answered_challenge_normalises_padding() {
        let cd = br#"{"type":"webauthn.get","challenge":"AQID","origin":"http://x"}"#;
        assert_eq!(answered_challenge(cd).ok().as_deref(), Some("AQID"));
        let cd = br#"{"challenge":"AQI="}"#;
        assert_eq!(answered_challenge(cd).ok().as_deref(), Some("AQI"));
        assert!(answered_challenge(b"{}").is_err());
    }
}
