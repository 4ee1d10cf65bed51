//! Access tokens in the layout Hasura expects, configured by `HASURA_GRAPHQL_JWT_SECRET`
//! (one key) or `HASURA_GRAPHQL_JWT_SECRETS` (a list; its first entry signs, every entry
//! verifies; docs/keys.md).
//!
//! Supported secret keys: `type` (HS256/384/512, RS256/384/512, ES256/384, Ed25519), `key`
//! (HMAC secret, or the PEM public key or certificate), `signing_key` (PEM private key for
//! the asymmetric types), `kid`, `issuer` (default `hasura-auth`), `claims_namespace`
//! (default `https://hasura.io/jwt/claims`), `claims_namespace_path` (e.g.
//! `$.hasura.claims`; wins over `claims_namespace`, as in Hasura), `claims_format` (`json`
//! or `stringified_json`) and `audience`. Upstream ignores the last three, which makes
//! Hasura reject its tokens when they are set; we honour them so the same secret works on
//! both sides.

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
    jwk::{AlgorithmParameters, Jwk, ThumbprintHash},
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

pub const DEFAULT_ISSUER: &str = "hasura-auth";
pub const DEFAULT_NAMESPACE: &str = "https://hasura.io/jwt/claims";

#[derive(Debug, thiserror::Error)]
pub enum JwtConfigError {
    #[error("HASURA_GRAPHQL_JWT_SECRET (or HASURA_GRAPHQL_JWT_SECRETS) is required")]
    Missing,
    #[error("HASURA_GRAPHQL_JWT_SECRET is not valid JSON: {0}")]
    Json(String),
    #[error(
        "HASURA_GRAPHQL_JWT_SECRET: unsupported jwt type {0:?} (use HS256/384/512, RS256/384/512, ES256/384 or Ed25519)"
    )]
    UnsupportedType(String),
    // jsonwebtoken has no ES512 (P-521); refusing beats signing tokens we cannot verify.
    #[error(
        "HASURA_GRAPHQL_JWT_SECRET: jwt type \"ES512\" is not supported (the JWT library has no P-521); use ES256 or ES384"
    )]
    Es512,
    #[error("HASURA_GRAPHQL_JWT_SECRET: {0}")]
    Key(String),
    #[error("HASURA_GRAPHQL_JWT_SECRETS must be a non-empty JSON array of secrets: {0}")]
    List(String),
    #[error("HASURA_GRAPHQL_JWT_SECRETS entry {index}: {source}")]
    Entry {
        index: usize,
        #[source]
        source: Box<JwtConfigError>,
    },
    #[error(
        "HASURA_GRAPHQL_JWT_SECRETS: entries {0} and {1} share the kid {2:?}; each key needs its own"
    )]
    DuplicateKid(usize, usize, String),
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("invalid token: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct SecretJson {
    #[serde(rename = "type")]
    alg: Option<String>,
    key: Option<String>,
    signing_key: Option<String>,
    kid: Option<String>,
    issuer: Option<String>,
    claims_namespace: Option<String>,
    claims_namespace_path: Option<String>,
    claims_format: Option<String>,
    audience: Option<Value>,
}

/// Where the Hasura claims object lives inside the payload.
#[derive(Debug, Clone)]
enum ClaimsLocation {
    /// A top-level key (`claims_namespace`).
    Namespace(String),
    /// A path of object keys (`claims_namespace_path`); empty means the payload root.
    Path(Vec<String>),
}

/// Every configured key: the first signs, all verify (rotation, docs/keys.md).
pub struct JwtKeys {
    /// Never empty.
    keys: Vec<JwtKey>,
    jwks: Value,
    /// `jwks` serialized once: the JWKS route answers these bytes without re-encoding.
    jwks_json: bytes::Bytes,
}

/// One configured secret with everything needed to lay out and check claims.
struct JwtKey {
    alg: Algorithm,
    kid: Option<String>,
    /// The signing key prepared once: `jsonwebtoken` re-parses a DER key on every
    /// signature, which tripled the cost of an RS256 token, and re-derives the HMAC
    /// pads of a secret, a fifth of an HS256 token's cost.
    signer: Option<KeyPairSigner>,
    /// The JOSE header is the same for every token: encoded once.
    header_b64: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    header: Header,
    validation: Validation,
    /// Signature, algorithm, expiry and `nbf` only: OAuth2 tokens carry the provider's
    /// issuer and the client as audience, checked by their caller.
    oauth2_validation: Validation,
    issuer: String,
    /// The secret names its `issuer` (else [`DEFAULT_ISSUER`] or the contract's default).
    issuer_configured: bool,
    location: ClaimsLocation,
    stringified: bool,
    audience: Option<Value>,
    /// This key's JWKS entry (asymmetric keys only).
    public_jwk: Option<Value>,
}

/// A key ready to sign (aws-lc): an HMAC secret or an asymmetric private key.
enum KeyPairSigner {
    // Boxed: the HMAC state (1.2 KB) would make every variant that large.
    Hmac(Box<aws_lc_rs::hmac::Key>),
    Rsa {
        key: aws_lc_rs::signature::RsaKeyPair,
        encoding: &'static dyn aws_lc_rs::signature::RsaEncoding,
        rng: aws_lc_rs::rand::SystemRandom,
    },
    Ecdsa {
        key: aws_lc_rs::signature::EcdsaKeyPair,
        rng: aws_lc_rs::rand::SystemRandom,
    },
    Ed25519(aws_lc_rs::signature::Ed25519KeyPair),
}

impl KeyPairSigner {
    fn from_pem(pem: &str, alg: Algorithm) -> Result<KeyPairSigner, JwtConfigError> {
        use aws_lc_rs::signature as sig;
        use rustls::pki_types::{PrivateKeyDer, pem::PemObject};
        let bad = |e: String| JwtConfigError::Key(format!("signing_key: {e}"));
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let rng = aws_lc_rs::rand::SystemRandom::new;
        match (alg, &der) {
            (Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512, _) => {
                let key = match &der {
                    PrivateKeyDer::Pkcs8(k) => sig::RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
                    PrivateKeyDer::Pkcs1(k) => sig::RsaKeyPair::from_der(k.secret_pkcs1_der()),
                    _ => return Err(bad("not an RSA private key".into())),
                }
                .map_err(|e| bad(e.to_string()))?;
                let encoding: &'static dyn sig::RsaEncoding = match alg {
                    Algorithm::RS384 => &sig::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &sig::RSA_PKCS1_SHA512,
                    _ => &sig::RSA_PKCS1_SHA256,
                };
                Ok(KeyPairSigner::Rsa {
                    key,
                    encoding,
                    rng: rng(),
                })
            }
            (Algorithm::ES256 | Algorithm::ES384, PrivateKeyDer::Pkcs8(k)) => {
                let curve = if alg == Algorithm::ES256 {
                    &sig::ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &sig::ECDSA_P384_SHA384_FIXED_SIGNING
                };
                let key =
                    sig::EcdsaKeyPair::from_pkcs8(curve, k.secret_pkcs8_der()).map_err(|e| {
                        bad(format!(
                            "not a PKCS#8 private key of the {alg:?} curve ({e})"
                        ))
                    })?;
                Ok(KeyPairSigner::Ecdsa { key, rng: rng() })
            }
            (Algorithm::EdDSA, PrivateKeyDer::Pkcs8(k)) => {
                sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(k.secret_pkcs8_der())
                    .map(KeyPairSigner::Ed25519)
                    .map_err(|e| bad(format!("not a PKCS#8 Ed25519 private key ({e})")))
            }
            _ => Err(bad(
                "EC and Ed25519 keys must be PKCS#8 (-----BEGIN PRIVATE KEY-----)".into(),
            )),
        }
    }

    /// `<header>.<payload>.<signature>`, each base64url without padding (RFC 7515).
    fn sign(&self, header_b64: &str, payload: &[u8]) -> Result<String, JwtError> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut token = String::with_capacity(header_b64.len() + payload.len() * 4 / 3 + 360);
        token.push_str(header_b64);
        token.push('.');
        b64.encode_string(payload, &mut token);
        let failed = |e: aws_lc_rs::error::Unspecified| JwtError::Invalid(format!("signing: {e}"));
        let signature = match self {
            KeyPairSigner::Rsa { key, encoding, rng } => {
                let mut signature = vec![0u8; key.public_modulus_len()];
                key.sign(*encoding, rng, token.as_bytes(), &mut signature)
                    .map_err(failed)?;
                signature
            }
            KeyPairSigner::Ecdsa { key, rng } => key
                .sign(rng, token.as_bytes())
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            KeyPairSigner::Ed25519(key) => key.sign(token.as_bytes()).as_ref().to_vec(),
            KeyPairSigner::Hmac(key) => aws_lc_rs::hmac::sign(key, token.as_bytes())
                .as_ref()
                .to_vec(),
        };
        token.push('.');
        b64.encode_string(&signature, &mut token);
        Ok(token)
    }
}

/// What goes into an access token.
pub struct AccessClaims<'a> {
    pub user_id: Uuid,
    pub allowed_roles: &'a [String],
    pub default_role: &'a str,
    pub is_anonymous: bool,
    /// Extra `x-hasura-*` claims, already named and encoded (custom claims).
    pub extra: &'a [(String, String)],
    /// Adds `x-hasura-auth-elevated` (tokens from a WebAuthn elevation).
    pub elevated: bool,
}

/// A verified access token.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub subject: String,
    pub claims: Map<String, Value>,
}

impl VerifiedToken {
    fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// `x-hasura-user-id`, as upstream reads it in most handlers.
    pub fn user_id(&self) -> Option<Uuid> {
        self.claim_str("x-hasura-user-id")
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    /// `sub` parsed as a user id.
    pub fn subject_id(&self) -> Option<Uuid> {
        Uuid::parse_str(&self.subject).ok()
    }

    pub fn is_anonymous(&self) -> bool {
        self.claim_str("x-hasura-user-is-anonymous") == Some("true")
    }

    /// True when the token carries `x-hasura-auth-elevated` equal to its subject.
    pub fn is_elevated(&self) -> bool {
        self.claim_str("x-hasura-auth-elevated") == Some(self.subject.as_str())
    }
}

/// Hasura's `type` values; EdDSA is spelled `Ed25519` there (the curve), and we accept
/// the JOSE name too.
fn parse_alg(s: &str) -> Result<Algorithm, JwtConfigError> {
    Ok(match s {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "Ed25519" | "EdDSA" => Algorithm::EdDSA,
        "ES512" => return Err(JwtConfigError::Es512),
        _ => return Err(JwtConfigError::UnsupportedType(s.to_owned())),
    })
}

/// The JOSE `alg` name (what tokens and the JWKS carry).
fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

/// The JWKS entry of a public key (RFC 7517 members, sorted as before for RSA).
fn jwks_entry(alg: Algorithm, kid: &str, jwk: &Jwk) -> Option<Value> {
    Some(match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => json!({
            "alg": alg_name(alg), "e": rsa.e, "kid": kid, "kty": "RSA", "n": rsa.n, "use": "sig",
        }),
        AlgorithmParameters::EllipticCurve(ec) => json!({
            "alg": alg_name(alg), "crv": ec.curve, "kid": kid, "kty": "EC",
            "use": "sig", "x": ec.x, "y": ec.y,
        }),
        AlgorithmParameters::OctetKeyPair(okp) => json!({
            "alg": alg_name(alg), "crv": okp.curve, "kid": kid, "kty": "OKP",
            "use": "sig", "x": okp.x,
        }),
        _ => return None,
    })
}

/// Hasura's `claims_namespace_path` syntax: `$` or `$.a.b` (also `$['a'].b`-free dot form).
fn parse_namespace_path(path: &str) -> Result<Vec<String>, JwtConfigError> {
    let rest = path.strip_prefix('$').ok_or_else(|| {
        JwtConfigError::Key(format!("claims_namespace_path {path:?} must start with $"))
    })?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let rest = rest.strip_prefix('.').ok_or_else(|| {
        JwtConfigError::Key(format!(
            "claims_namespace_path {path:?} must look like $.a.b"
        ))
    })?;
    let parts: Vec<String> = rest.split('.').map(str::to_owned).collect();
    if parts.iter().any(String::is_empty) {
        return Err(JwtConfigError::Key(format!(
            "claims_namespace_path {path:?} has an empty segment"
        )));
    }
    Ok(parts)
}

impl JwtKey {
    /// Parses one secret object (`HASURA_GRAPHQL_JWT_SECRET`, or an entry of the list).
    fn from_json(cfg: SecretJson) -> Result<JwtKey, JwtConfigError> {
        let alg = parse_alg(cfg.alg.as_deref().unwrap_or_default())?;
        let key = cfg
            .key
            .as_deref()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| JwtConfigError::Key("`key` is required".into()))?;

        let signer;
        let (encoding, decoding, public_jwk) = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => (
                {
                    use aws_lc_rs::hmac;
                    let algorithm = match alg {
                        Algorithm::HS384 => hmac::HMAC_SHA384,
                        Algorithm::HS512 => hmac::HMAC_SHA512,
                        _ => hmac::HMAC_SHA256,
                    };
                    signer = Some(KeyPairSigner::Hmac(Box::new(hmac::Key::new(
                        algorithm,
                        key.as_bytes(),
                    ))));
                    EncodingKey::from_secret(key.as_bytes())
                },
                DecodingKey::from_secret(key.as_bytes()),
                None,
            ),
            _ => {
                let signing = cfg
                    .signing_key
                    .as_deref()
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| {
                        JwtConfigError::Key(format!(
                            "`signing_key` (PEM private key) is required for {} keys",
                            alg_name(alg)
                        ))
                    })?;
                let private = |e: jsonwebtoken::errors::Error| {
                    JwtConfigError::Key(format!("signing_key: {e}"))
                };
                let public =
                    |e: jsonwebtoken::errors::Error| JwtConfigError::Key(format!("key: {e}"));
                signer = Some(KeyPairSigner::from_pem(signing, alg)?);
                let (encoding, decoding) = match alg {
                    Algorithm::ES256 | Algorithm::ES384 => (
                        EncodingKey::from_ec_pem(signing.as_bytes()).map_err(private)?,
                        DecodingKey::from_ec_pem(key.as_bytes()).map_err(public)?,
                    ),
                    Algorithm::EdDSA => (
                        EncodingKey::from_ed_pem(signing.as_bytes()).map_err(private)?,
                        DecodingKey::from_ed_pem(key.as_bytes()).map_err(public)?,
                    ),
                    _ => (
                        EncodingKey::from_rsa_pem(signing.as_bytes()).map_err(private)?,
                        DecodingKey::from_rsa_pem(key.as_bytes()).map_err(public)?,
                    ),
                };
                let jwk = Jwk::from_decoding_key(&decoding, Some(alg)).map_err(public)?;
                // The public key must belong to the signing key (same curve, same point),
                // or every token we issue would be rejected by Hasura.
                let from_private = Jwk::from_encoding_key(&encoding, alg).map_err(private)?;
                if from_private.algorithm != jwk.algorithm {
                    return Err(JwtConfigError::Key(
                        "`key` is not the public key of `signing_key`".into(),
                    ));
                }
                (encoding, decoding, Some(jwk))
            }
        };

        // A stable key id: the configured one, else the RFC 7638 thumbprint of the public
        // key (what RS* keys have always had).
        let kid = match (&cfg.kid, &public_jwk) {
            (Some(kid), _) if !kid.is_empty() => Some(kid.clone()),
            (_, Some(jwk)) => Some(
                jwk.thumbprint(ThumbprintHash::SHA256)
                    .map_err(|e| JwtConfigError::Key(format!("thumbprint: {e}")))?,
            ),
            _ => None,
        };
        let public_jwk = public_jwk
            .as_ref()
            .and_then(|jwk| jwks_entry(alg, kid.as_deref().unwrap_or_default(), jwk));

        let configured_issuer = cfg.issuer.clone().filter(|s| !s.is_empty());
        let issuer_configured = configured_issuer.is_some();
        let issuer = configured_issuer.unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
        let location = match cfg
            .claims_namespace_path
            .as_deref()
            .filter(|p| !p.is_empty())
        {
            Some(path) => ClaimsLocation::Path(parse_namespace_path(path)?),
            None => ClaimsLocation::Namespace(
                cfg.claims_namespace
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            ),
        };
        let stringified = match cfg.claims_format.as_deref() {
            None | Some("") | Some("json") => false,
            Some("stringified_json") => true,
            Some(other) => {
                return Err(JwtConfigError::Key(format!(
                    "claims_format {other:?} (use json or stringified_json)"
                )));
            }
        };
        let audience = match cfg.audience {
            None | Some(Value::Null) => None,
            Some(v @ Value::String(_)) => Some(v),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                Some(Value::Array(items))
            }
            Some(_) => {
                return Err(JwtConfigError::Key(
                    "audience must be a string or a list of strings".into(),
                ));
            }
        };

        let mut header = Header::new(alg);
        header.kid = kid.clone();
        let header_b64 = {
            use base64::Engine;
            let json =
                serde_json::to_vec(&header).map_err(|e| JwtConfigError::Key(e.to_string()))?;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        };

        // One algorithm per key: a token naming another `alg` never reaches this key
        // (no HS256 token checked against a public key used as an HMAC secret).
        let mut validation = Validation::new(alg);
        validation.leeway = 0;
        // jsonwebtoken ignores `nbf` unless asked; a token not yet valid is refused
        // (with the same zero leeway as `exp`).
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        match &audience {
            Some(Value::String(a)) => validation.set_audience(&[a.as_str()]),
            Some(Value::Array(items)) => {
                let auds: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                validation.set_audience(&auds);
            }
            _ => validation.validate_aud = false,
        }

        let mut oauth2_validation = Validation::new(alg);
        oauth2_validation.leeway = 0;
        oauth2_validation.validate_nbf = true;
        oauth2_validation.validate_aud = false;
        oauth2_validation.set_required_spec_claims(&["exp", "iss", "sub"]);

        Ok(JwtKey {
            alg,
            kid,
            signer,
            header_b64,
            encoding,
            decoding,
            header,
            validation,
            oauth2_validation,
            issuer,
            issuer_configured,
            location,
            stringified,
            audience,
            public_jwk,
        })
    }

    /// The Hasura claims object of a token (stringified when the secret says so).
    fn hasura_claims(&self, claims: &AccessClaims<'_>) -> Value {
        let user_id = claims.user_id.to_string();
        let mut hasura = Map::with_capacity(5 + claims.extra.len());
        hasura.insert("x-hasura-allowed-roles".into(), json!(claims.allowed_roles));
        hasura.insert("x-hasura-default-role".into(), json!(claims.default_role));
        hasura.insert("x-hasura-user-id".into(), json!(user_id));
        hasura.insert(
            "x-hasura-user-is-anonymous".into(),
            json!(if claims.is_anonymous { "true" } else { "false" }),
        );
        for (name, value) in claims.extra {
            // Custom claims never overwrite the default ones.
            hasura.entry(name.clone()).or_insert_with(|| json!(value));
        }
        if claims.elevated {
            hasura.insert("x-hasura-auth-elevated".into(), json!(user_id));
        }
        if self.stringified {
            Value::String(Value::Object(hasura).to_string())
        } else {
            Value::Object(hasura)
        }
    }

    /// Puts a Hasura claims object where the secret says it lives.
    fn place_hasura(&self, payload: &mut Map<String, Value>, hasura: Value) {
        match &self.location {
            ClaimsLocation::Namespace(ns) => {
                payload.insert(ns.clone(), hasura);
            }
            ClaimsLocation::Path(path) => insert_at_path(payload, path, hasura),
        }
    }

    /// Signs a payload as it is, with this key's header (and `kid`).
    fn sign_payload(&self, payload: &Map<String, Value>) -> Result<String, JwtError> {
        match &self.signer {
            Some(signer) => {
                let bytes =
                    serde_json::to_vec(payload).map_err(|e| JwtError::Invalid(e.to_string()))?;
                signer.sign(&self.header_b64, &bytes)
            }
            None => encode(&self.header, payload, &self.encoding)
                .map_err(|e| JwtError::Invalid(e.to_string())),
        }
    }

    fn sign_at(
        &self,
        claims: &AccessClaims<'_>,
        iat: i64,
        ttl_seconds: i64,
    ) -> Result<String, JwtError> {
        let hasura = self.hasura_claims(claims);
        let mut payload = Map::with_capacity(6);
        payload.insert("sub".into(), json!(claims.user_id.to_string()));
        payload.insert("iss".into(), json!(self.issuer));
        payload.insert("iat".into(), json!(iat));
        payload.insert("exp".into(), json!(iat + ttl_seconds));
        if let Some(aud) = &self.audience {
            payload.insert("aud".into(), aud.clone());
        }
        self.place_hasura(&mut payload, hasura);
        self.sign_payload(&payload)
    }

    /// Signature, algorithm, expiry, `nbf`, `iat` not in the future and `iss` equal to
    /// `issuer`; the payload as it is (no Hasura claims required, `aud` not checked).
    fn verify_oauth2(&self, token: &str, issuer: &str) -> Result<Map<String, Value>, JwtError> {
        let data = decode::<Map<String, Value>>(token, &self.decoding, &self.oauth2_validation)
            .map_err(|e| JwtError::Invalid(e.to_string()))?;
        let payload = data.claims;
        if payload.get("iss").and_then(Value::as_str) != Some(issuer) {
            return Err(JwtError::Invalid("wrong issuer".into()));
        }
        let now = chrono::Utc::now().timestamp();
        if payload
            .get("iat")
            .and_then(Value::as_i64)
            .is_some_and(|iat| iat > now)
        {
            return Err(JwtError::Invalid("token used before issued".into()));
        }
        Ok(payload)
    }

    fn verify(&self, token: &str) -> Result<VerifiedToken, JwtError> {
        let data = decode::<Map<String, Value>>(token, &self.decoding, &self.validation)
            .map_err(|e| JwtError::Invalid(e.to_string()))?;
        let payload = data.claims;
        let now = chrono::Utc::now().timestamp();
        match payload.get("iat").and_then(Value::as_i64) {
            Some(iat) if iat > now => {
                return Err(JwtError::Invalid("token used before issued".into()));
            }
            _ => {}
        }
        // An access token of the OAuth2 provider (the only tokens with `scope`) grants a
        // third-party client what its scopes say, through Hasura; it is not a session
        // of this service (no account changes, no personal access tokens with it).
        if payload.contains_key("scope") {
            return Err(JwtError::Invalid(
                "an OAuth2 access token is not a session token".into(),
            ));
        }
        let subject = payload
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let hasura = match &self.location {
            ClaimsLocation::Namespace(ns) => payload.get(ns).cloned(),
            ClaimsLocation::Path(path) if path.is_empty() => Some(Value::Object(payload.clone())),
            ClaimsLocation::Path(path) => get_at_path(&payload, path).cloned(),
        };
        let claims = match hasura {
            Some(Value::Object(map)) => map,
            Some(Value::String(s)) if self.stringified => match serde_json::from_str(&s) {
                Ok(Value::Object(map)) => map,
                _ => return Err(JwtError::Invalid("malformed hasura claims".into())),
            },
            _ => return Err(JwtError::Invalid("missing hasura claims".into())),
        };
        Ok(VerifiedToken { subject, claims })
    }
}

impl JwtKeys {
    /// Parses `HASURA_GRAPHQL_JWT_SECRET` (one key).
    pub fn from_secret(secret: &str) -> Result<JwtKeys, JwtConfigError> {
        if secret.trim().is_empty() {
            return Err(JwtConfigError::Missing);
        }
        let cfg: SecretJson =
            serde_json::from_str(secret).map_err(|e| JwtConfigError::Json(e.to_string()))?;
        JwtKeys::from_keys(vec![JwtKey::from_json(cfg)?])
    }

    /// The keys of the configuration: `HASURA_GRAPHQL_JWT_SECRETS` when set (its first
    /// entry signs), else `HASURA_GRAPHQL_JWT_SECRET`. When both are set the list wins and
    /// the single secret is ignored, as in Hasura.
    pub fn from_config(
        secret: Option<&str>,
        secrets: Option<&str>,
    ) -> Result<JwtKeys, JwtConfigError> {
        match secrets.filter(|s| !s.trim().is_empty()) {
            Some(list) => {
                if secret.is_some_and(|s| !s.trim().is_empty()) {
                    tracing::warn!(
                        "HASURA_GRAPHQL_JWT_SECRETS is set: HASURA_GRAPHQL_JWT_SECRET is ignored"
                    );
                }
                JwtKeys::from_list(list)
            }
            None => JwtKeys::from_secret(secret.unwrap_or_default()),
        }
    }

    /// Parses `HASURA_GRAPHQL_JWT_SECRETS`: a JSON array of secret objects.
    pub fn from_list(list: &str) -> Result<JwtKeys, JwtConfigError> {
        let entries: Vec<Value> =
            serde_json::from_str(list).map_err(|e| JwtConfigError::List(e.to_string()))?;
        if entries.is_empty() {
            return Err(JwtConfigError::List("the list is empty".into()));
        }
        let keys = entries
            .into_iter()
            .enumerate()
            .map(|(index, entry)| {
                let at = |source| JwtConfigError::Entry {
                    index,
                    source: Box::new(source),
                };
                let cfg: SecretJson = serde_json::from_value(entry)
                    .map_err(|e| at(JwtConfigError::Json(e.to_string())))?;
                JwtKey::from_json(cfg).map_err(at)
            })
            .collect::<Result<Vec<_>, _>>()?;
        JwtKeys::from_keys(keys)
    }

    fn from_keys(keys: Vec<JwtKey>) -> Result<JwtKeys, JwtConfigError> {
        // Verification picks a key by `kid`: two keys with one kid would make that choice
        // ambiguous (and the same public key twice is a configuration mistake).
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate().skip(i + 1) {
                if let (Some(x), Some(y)) = (&a.kid, &b.kid)
                    && x == y
                {
                    return Err(JwtConfigError::DuplicateKid(i, j, x.clone()));
                }
            }
        }
        // Upstream answers `{"keys":null}` (a nil Go slice) for an HMAC key; its own
        // OpenAPI document declares `keys` a required array (docs/compatibility.md).
        let published: Vec<Value> = keys.iter().filter_map(|k| k.public_jwk.clone()).collect();
        let jwks = json!({ "keys": published });
        let jwks_json = bytes::Bytes::from(jwks.to_string());
        Ok(JwtKeys {
            keys,
            jwks,
            jwks_json,
        })
    }

    fn current(&self) -> &JwtKey {
        // `from_keys` is only reached with at least one key.
        &self.keys[0]
    }

    /// The signing key's JOSE algorithm.
    pub fn algorithm(&self) -> &'static str {
        alg_name(self.current().alg)
    }

    /// The signing key's issuer.
    pub fn issuer(&self) -> &str {
        &self.current().issuer
    }

    /// The signing key's issuer when its secret names one (`issuer`), else `None`.
    pub fn configured_issuer(&self) -> Option<&str> {
        let key = self.current();
        key.issuer_configured.then_some(key.issuer.as_str())
    }

    /// Whether the signing key is a shared secret (HS256/384/512), which cannot sign
    /// tokens that third parties verify.
    pub fn signs_with_shared_secret(&self) -> bool {
        matches!(
            self.current().alg,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        )
    }

    /// Sets the issuer of every key whose secret names none (v0.42: [`DEFAULT_ISSUER`];
    /// Nhost Auth 0.52: `AUTH_SERVER_URL`). Tokens signed and accepted follow it.
    pub fn set_default_issuer(&mut self, issuer: &str) {
        if issuer.is_empty() {
            return;
        }
        for key in self.keys.iter_mut().filter(|k| !k.issuer_configured) {
            key.issuer = issuer.to_owned();
            key.validation.set_issuer(&[issuer]);
        }
    }

    /// How many keys verify tokens.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Never true: a `JwtKeys` has at least its signing key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The body of `GET /.well-known/jwks.json`: every configured public key, the signing
    /// key first.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// [`Self::jwks`] as JSON bytes, encoded when the keys were loaded (cheap to clone).
    pub fn jwks_json(&self) -> bytes::Bytes {
        self.jwks_json.clone()
    }

    /// Signs an access token valid for `ttl_seconds` from now, with the current key.
    pub fn sign(&self, claims: &AccessClaims<'_>, ttl_seconds: i64) -> Result<String, JwtError> {
        let now = chrono::Utc::now().timestamp();
        self.sign_at(claims, now, ttl_seconds)
    }

    pub fn sign_at(
        &self,
        claims: &AccessClaims<'_>,
        iat: i64,
        ttl_seconds: i64,
    ) -> Result<String, JwtError> {
        self.current().sign_at(claims, iat, ttl_seconds)
    }

    /// The Hasura claims object the signing key lays out for these claims (a JSON
    /// string when the secret's `claims_format` is `stringified_json`).
    pub fn hasura_claims(&self, claims: &AccessClaims<'_>) -> Value {
        self.current().hasura_claims(claims)
    }

    /// Puts a Hasura claims object where the signing key's secret says it lives
    /// (`claims_namespace` or `claims_namespace_path`).
    pub fn place_hasura(&self, payload: &mut Map<String, Value>, hasura: Value) {
        self.current().place_hasura(payload, hasura);
    }

    /// Signs a complete payload with the current key (the OAuth2 provider's tokens, whose
    /// claims it lays out itself).
    pub fn sign_payload(&self, payload: &Map<String, Value>) -> Result<String, JwtError> {
        self.current().sign_payload(payload)
    }

    /// The hash algorithm OpenID Connect pairs with the signing algorithm for `at_hash`
    /// (Core §3.1.3.6: the hash of the JWS `alg`; EdDSA uses SHA-512).
    pub fn at_hash_bits(&self) -> u16 {
        match self.current().alg {
            Algorithm::HS384 | Algorithm::RS384 | Algorithm::ES384 | Algorithm::PS384 => 384,
            Algorithm::HS512 | Algorithm::RS512 | Algorithm::PS512 | Algorithm::EdDSA => 512,
            _ => 256,
        }
    }

    /// Verifies a token the OAuth2 provider issued (the key chosen as in
    /// [`Self::verify`]): signature, algorithm, expiry, `nbf`, `iat` and `iss` equal to
    /// `issuer`. Returns the whole payload; the audience is the caller's to check.
    pub fn verify_oauth2(&self, token: &str, issuer: &str) -> Result<Map<String, Value>, JwtError> {
        self.verify_with(token, |key| key.verify_oauth2(token, issuer))
    }

    /// Verifies signature, algorithm, issuer, expiry, `nbf` and that `iat` is not in the
    /// future, against the configured key the token names: by `kid` (and `alg`) when it
    /// carries one that a key has, else every key of its `alg` that has no kid to match
    /// (an HMAC key without a configured kid); without a `kid`, every key of its `alg`.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, JwtError> {
        self.verify_with(token, |key| key.verify(token))
    }

    /// Tries `check` with each key that may have signed the token; the first success.
    fn verify_with<T>(
        &self,
        token: &str,
        check: impl Fn(&JwtKey) -> Result<T, JwtError>,
    ) -> Result<T, JwtError> {
        // `alg: none` and unknown algorithms fail here: jsonwebtoken has no such variant.
        let header = decode_header(token).map_err(|e| JwtError::Invalid(e.to_string()))?;
        // A kid that names a configured key selects it; an unknown kid can only match a
        // key configured without one; no kid tries every key of the algorithm.
        let kid = header.kid.as_deref();
        let kid_known =
            kid.is_some_and(|kid| self.keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
        let candidates = self
            .keys
            .iter()
            .filter(|k| k.alg == header.alg)
            .filter(|k| match kid {
                Some(kid) if kid_known => k.kid.as_deref() == Some(kid),
                Some(_) => k.kid.is_none(),
                None => true,
            });
        let mut last =
            JwtError::Invalid("no configured key matches the token's kid and alg".into());
        for key in candidates {
            match check(key) {
                Ok(verified) => return Ok(verified),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

fn insert_at_path(root: &mut Map<String, Value>, path: &[String], value: Value) {
    match path {
        [] => {
            if let Value::Object(map) = value {
                root.extend(map);
            }
        }
        [last] => {
            root.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = root
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                insert_at_path(inner, rest, value);
            }
        }
    }
}

fn get_at_path<'a>(root: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut current = root.get(first)?;
    for key in rest {
        current = current.as_object()?.get(key)?;
    }
    Some(current)
}
