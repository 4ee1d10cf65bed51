//! Access tokens in the layout Hasura expects, configured by `HASURA_GRAPHQL_JWT_SECRET`.
//!
//! Supported secret keys: `type` (HS256/384/512, RS256/384/512), `key` (HMAC secret, or
//! the PEM public key for RS*), `signing_key` (PEM private key for RS*), `kid`, `issuer`
//! (default `hasura-auth`), `claims_namespace` (default `https://hasura.io/jwt/claims`),
//! `claims_namespace_path` (e.g. `$.hasura.claims`; wins over `claims_namespace`, as in
//! Hasura), `claims_format` (`json` or `stringified_json`) and `audience`. Upstream
//! ignores the last three, which makes Hasura reject its tokens when they are set; we
//! honour them so the same secret works on both sides.

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode,
    jwk::{AlgorithmParameters, Jwk, ThumbprintHash},
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

pub const DEFAULT_ISSUER: &str = "hasura-auth";
pub const DEFAULT_NAMESPACE: &str = "https://hasura.io/jwt/claims";

#[derive(Debug, thiserror::Error)]
pub enum JwtConfigError {
    #[error("HASURA_GRAPHQL_JWT_SECRET is required")]
    Missing,
    #[error("HASURA_GRAPHQL_JWT_SECRET is not valid JSON: {0}")]
    Json(String),
    #[error(
        "HASURA_GRAPHQL_JWT_SECRET: unsupported jwt type {0:?} (use HS256/384/512 or RS256/384/512)"
    )]
    UnsupportedType(String),
    #[error("HASURA_GRAPHQL_JWT_SECRET: {0}")]
    Key(String),
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

/// Signing and verification keys with everything needed to lay out claims.
pub struct JwtKeys {
    alg: Algorithm,
    /// RS* signing key parsed once: `jsonwebtoken` re-parses the DER key on every
    /// signature, which tripled the cost of an RS256 token.
    rsa_signer: Option<RsaSigner>,
    /// The JOSE header is the same for every token: encoded once.
    header_b64: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    header: Header,
    validation: Validation,
    issuer: String,
    location: ClaimsLocation,
    stringified: bool,
    audience: Option<Value>,
    jwks: Value,
}

/// An RSA private key ready to sign (aws-lc), with the padding/hash of the `alg`.
struct RsaSigner {
    key: aws_lc_rs::signature::RsaKeyPair,
    encoding: &'static dyn aws_lc_rs::signature::RsaEncoding,
    rng: aws_lc_rs::rand::SystemRandom,
}

impl RsaSigner {
    fn from_pem(pem: &str, alg: Algorithm) -> Result<RsaSigner, JwtConfigError> {
        use rustls::pki_types::{PrivateKeyDer, pem::PemObject};
        let bad = |e: String| JwtConfigError::Key(format!("signing_key: {e}"));
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let key = match &der {
            PrivateKeyDer::Pkcs8(k) => {
                aws_lc_rs::signature::RsaKeyPair::from_pkcs8(k.secret_pkcs8_der())
            }
            PrivateKeyDer::Pkcs1(k) => {
                aws_lc_rs::signature::RsaKeyPair::from_der(k.secret_pkcs1_der())
            }
            _ => return Err(bad("not an RSA private key".into())),
        }
        .map_err(|e| bad(e.to_string()))?;
        let encoding: &'static dyn aws_lc_rs::signature::RsaEncoding = match alg {
            Algorithm::RS384 => &aws_lc_rs::signature::RSA_PKCS1_SHA384,
            Algorithm::RS512 => &aws_lc_rs::signature::RSA_PKCS1_SHA512,
            _ => &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        };
        Ok(RsaSigner {
            key,
            encoding,
            rng: aws_lc_rs::rand::SystemRandom::new(),
        })
    }

    /// `<header>.<payload>.<signature>`, each base64url without padding (RFC 7515).
    fn sign(&self, header_b64: &str, payload: &[u8]) -> Result<String, JwtError> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut token = String::with_capacity(header_b64.len() + payload.len() * 4 / 3 + 360);
        token.push_str(header_b64);
        token.push('.');
        b64.encode_string(payload, &mut token);
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(self.encoding, &self.rng, token.as_bytes(), &mut signature)
            .map_err(|e| JwtError::Invalid(format!("signing: {e}")))?;
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

fn parse_alg(s: &str) -> Option<Algorithm> {
    Some(match s {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        _ => return None,
    })
}

fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        _ => "unsupported",
    }
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

impl JwtKeys {
    /// Parses `HASURA_GRAPHQL_JWT_SECRET`.
    pub fn from_secret(secret: &str) -> Result<JwtKeys, JwtConfigError> {
        if secret.trim().is_empty() {
            return Err(JwtConfigError::Missing);
        }
        let cfg: SecretJson =
            serde_json::from_str(secret).map_err(|e| JwtConfigError::Json(e.to_string()))?;
        let alg_str = cfg.alg.clone().unwrap_or_default();
        let alg = parse_alg(&alg_str).ok_or(JwtConfigError::UnsupportedType(alg_str))?;
        let key = cfg
            .key
            .as_deref()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| JwtConfigError::Key("`key` is required".into()))?;

        let mut rsa_signer = None;
        let (encoding, decoding, public_jwk) = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => (
                EncodingKey::from_secret(key.as_bytes()),
                DecodingKey::from_secret(key.as_bytes()),
                None,
            ),
            _ => {
                let signing = cfg
                    .signing_key
                    .as_deref()
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| {
                        JwtConfigError::Key(
                            "`signing_key` (PEM private key) is required for RS* types".into(),
                        )
                    })?;
                let encoding = EncodingKey::from_rsa_pem(signing.as_bytes())
                    .map_err(|e| JwtConfigError::Key(format!("signing_key: {e}")))?;
                rsa_signer = Some(RsaSigner::from_pem(signing, alg)?);
                let decoding = DecodingKey::from_rsa_pem(key.as_bytes())
                    .map_err(|e| JwtConfigError::Key(format!("key: {e}")))?;
                let jwk = Jwk::from_decoding_key(&decoding, Some(alg))
                    .map_err(|e| JwtConfigError::Key(format!("key: {e}")))?;
                // The public key must belong to the signing key, or every token we issue
                // would be rejected by Hasura.
                let from_private = Jwk::from_encoding_key(&encoding, alg)
                    .map_err(|e| JwtConfigError::Key(format!("signing_key: {e}")))?;
                if from_private.algorithm != jwk.algorithm {
                    return Err(JwtConfigError::Key(
                        "`key` is not the public key of `signing_key`".into(),
                    ));
                }
                (encoding, decoding, Some(jwk))
            }
        };

        // A stable key id: the configured one, else the RFC 7638 thumbprint of the public key.
        let kid = match (&cfg.kid, &public_jwk) {
            (Some(kid), _) if !kid.is_empty() => Some(kid.clone()),
            (_, Some(jwk)) => Some(
                jwk.thumbprint(ThumbprintHash::SHA256)
                    .map_err(|e| JwtConfigError::Key(format!("thumbprint: {e}")))?,
            ),
            _ => None,
        };

        let jwks = match &public_jwk {
            Some(Jwk {
                algorithm: AlgorithmParameters::RSA(rsa),
                ..
            }) => json!({"keys": [{
                "alg": alg_name(alg),
                "e": rsa.e,
                "kid": kid.clone().unwrap_or_default(),
                "kty": "RSA",
                "n": rsa.n,
                "use": "sig",
            }]}),
            _ => json!({ "keys": null }),
        };

        let issuer = cfg
            .issuer
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
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
        header.kid = kid;
        let header_b64 = {
            use base64::Engine;
            let json =
                serde_json::to_vec(&header).map_err(|e| JwtConfigError::Key(e.to_string()))?;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        };

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

        Ok(JwtKeys {
            alg,
            rsa_signer,
            header_b64,
            encoding,
            decoding,
            header,
            validation,
            issuer,
            location,
            stringified,
            audience,
            jwks,
        })
    }

    pub fn algorithm(&self) -> &'static str {
        alg_name(self.alg)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The body of `GET /.well-known/jwks.json`.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// Signs an access token valid for `ttl_seconds` from now.
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
        let hasura = if self.stringified {
            Value::String(Value::Object(hasura).to_string())
        } else {
            Value::Object(hasura)
        };

        let mut payload = Map::with_capacity(6);
        payload.insert("sub".into(), json!(user_id));
        payload.insert("iss".into(), json!(self.issuer));
        payload.insert("iat".into(), json!(iat));
        payload.insert("exp".into(), json!(iat + ttl_seconds));
        if let Some(aud) = &self.audience {
            payload.insert("aud".into(), aud.clone());
        }
        match &self.location {
            ClaimsLocation::Namespace(ns) => {
                payload.insert(ns.clone(), hasura);
            }
            ClaimsLocation::Path(path) => insert_at_path(&mut payload, path, hasura),
        }
        let payload = Value::Object(payload);
        match &self.rsa_signer {
            Some(signer) => {
                let bytes =
                    serde_json::to_vec(&payload).map_err(|e| JwtError::Invalid(e.to_string()))?;
                signer.sign(&self.header_b64, &bytes)
            }
            None => encode(&self.header, &payload, &self.encoding)
                .map_err(|e| JwtError::Invalid(e.to_string())),
        }
    }

    /// Verifies signature, algorithm, issuer, expiry, `nbf` and that `iat` is not in the
    /// future.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, JwtError> {
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
