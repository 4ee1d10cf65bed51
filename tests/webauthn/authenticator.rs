//! A software authenticator for the tests: ES256 keys (p256), COSE keys (coset),
//! `none` attestation, and the JSON a browser's `PublicKeyCredential.toJSON()` gives.
//! Its knobs produce what a real browser never would (another origin, another RP ID,
//! an old counter, no user verification) so the server's refusals can be tested.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use coset::cbor::value::Value as Cbor;
use coset::{CborSerializable, CoseKeyBuilder, iana};
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub struct Credential {
    pub id: Vec<u8>,
    key: SigningKey,
    pub rp_id: String,
    pub user_handle: Vec<u8>,
    pub counter: u32,
}

impl Credential {
    pub fn id_b64(&self) -> String {
        B64.encode(&self.id)
    }

    /// The COSE_Key bytes of the public key (what upstream stores).
    pub fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            panic!("uncompressed point has coordinates");
        };
        CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_256, x.to_vec(), y.to_vec())
            .algorithm(iana::Algorithm::ES256)
            .build()
            .to_vec()
            .expect("COSE key encodes")
    }
}

pub struct Authenticator {
    pub credentials: Vec<Credential>,
    /// The origin written into clientDataJSON.
    pub origin: String,
    /// When set, the RP ID hashed into authenticatorData instead of the requested one.
    pub rp_id_override: Option<String>,
    pub user_verified: bool,
    pub user_present: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
    /// Leave `userHandle` out of assertions (security keys without resident keys).
    pub omit_user_handle: bool,
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str()
        .unwrap_or_else(|| panic!("options miss {path:?}: {v}"))
}

impl Authenticator {
    pub fn new(origin: &str) -> Authenticator {
        Authenticator {
            credentials: Vec::new(),
            origin: origin.to_owned(),
            rp_id_override: None,
            user_verified: true,
            user_present: true,
            backup_eligible: false,
            backup_state: false,
            omit_user_handle: false,
        }
    }

    fn flags(&self, attested: bool) -> u8 {
        let mut f = 0u8;
        if self.user_present {
            f |= 0x01;
        }
        if self.user_verified {
            f |= 0x04;
        }
        if self.backup_eligible {
            f |= 0x08;
        }
        if self.backup_state {
            f |= 0x10;
        }
        if attested {
            f |= 0x40;
        }
        f
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    /// Makes a new credential for `rp_id` and `user_handle` without a ceremony (as if
    /// registered elsewhere, e.g. under upstream). Returns its index.
    pub fn make_credential(&mut self, rp_id: &str, user_handle: Vec<u8>) -> usize {
        let key = loop {
            if let Ok(k) = SigningKey::from_slice(&random_bytes(32)) {
                break k;
            }
        };
        self.credentials.push(Credential {
            id: random_bytes(32),
            key,
            rp_id: rp_id.to_owned(),
            user_handle,
            counter: 0,
        });
        self.credentials.len() - 1
    }

    /// `navigator.credentials.create()` with the server's creation options.
    pub fn create(&mut self, options: &Value) -> Value {
        let rp_id = str_at(options, &["rp", "id"]).to_owned();
        // Browsers decode user.id as base64url.
        let handle = B64
            .decode(str_at(options, &["user", "id"]))
            .expect("user.id is base64url");
        let i = self.make_credential(&rp_id, handle);
        self.attest(i, options)
    }

    /// A creation response for an existing credential (e.g. one registered before).
    pub fn attest(&self, i: usize, options: &Value) -> Value {
        let cred = &self.credentials[i];
        let challenge = str_at(options, &["challenge"]);
        let rp_id = self.rp_id_override.as_deref().unwrap_or(&cred.rp_id);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags(true));
        auth_data.extend_from_slice(&cred.counter.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]);
        auth_data.extend_from_slice(&(cred.id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&cred.id);
        auth_data.extend_from_slice(&cred.cose_key());
        let object = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]);
        let mut attestation = Vec::new();
        coset::cbor::ser::into_writer(&object, &mut attestation).expect("CBOR encodes");
        json!({
            "id": cred.id_b64(),
            "rawId": cred.id_b64(),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": B64.encode(self.client_data("webauthn.create", challenge)),
                "attestationObject": B64.encode(attestation),
                "transports": ["internal"],
            },
        })
    }

    /// `navigator.credentials.get()`: the first allowed credential, or for a
    /// discoverable request the first credential of the RP.
    pub fn get(&mut self, options: &Value) -> Value {
        let rp_id = str_at(options, &["rpId"]).to_owned();
        let allowed: Vec<String> = options["allowCredentials"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let i = self
            .credentials
            .iter()
            .position(|c| c.rp_id == rp_id && (allowed.is_empty() || allowed.contains(&c.id_b64())))
            .unwrap_or_else(|| panic!("no credential for {rp_id} among {allowed:?}"));
        self.assert_with(i, options)
    }

    /// An assertion by credential `i` (its counter goes up by one).
    pub fn assert_with(&mut self, i: usize, options: &Value) -> Value {
        self.credentials[i].counter += 1;
        let flags = self.flags(false);
        let cred = &self.credentials[i];
        let challenge = str_at(options, &["challenge"]);
        let rp_id = self.rp_id_override.as_deref().unwrap_or(&cred.rp_id);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(flags);
        auth_data.extend_from_slice(&cred.counter.to_be_bytes());
        let client_data = self.client_data("webauthn.get", challenge);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = cred.key.sign(&signed);
        let user_handle = if self.omit_user_handle {
            Value::Null
        } else {
            Value::String(B64.encode(&cred.user_handle))
        };
        json!({
            "id": cred.id_b64(),
            "rawId": cred.id_b64(),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": B64.encode(client_data),
                "authenticatorData": B64.encode(auth_data),
                "signature": B64.encode(signature.to_der().as_bytes()),
                "userHandle": user_handle,
            },
        })
    }
}
