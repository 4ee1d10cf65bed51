//! `AUTH_ENCRYPTION_KEY`: encryption of TOTP secrets at rest, in Nhost Auth 0.52's format
//! (`services/auth/go/cryto/crypto.go`), so a database is readable by either service.
//!
//! Format: AES-GCM (key of 16, 24 or 32 bytes given as hex; 12-byte random nonce, 16-byte
//! tag, no associated data), stored as lowercase hex of `nonce ‖ ciphertext ‖ tag`. 0.52
//! tells an encrypted value from a plain base32 secret by its length (64 characters or
//! more is encrypted); we also require it to be hex, which no base32 secret we or
//! upstream ever made is.

use std::fmt;

use aws_lc_rs::aead::{
    AES_128_GCM, AES_192_GCM, AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey,
};

/// The shortest stored value 0.52 takes for an encrypted secret.
pub const ENCRYPTED_MIN_LEN: usize = 64;
const TAG_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionError {
    #[error(
        "AUTH_ENCRYPTION_KEY must be hex of 16, 24 or 32 bytes (32 advised: `openssl rand -hex 32`)"
    )]
    BadKey,
    #[error("the value is not an encrypted secret")]
    NotEncrypted,
    #[error("decryption failed (another key, or a damaged value)")]
    DecryptionFailed,
    #[error("encryption failed")]
    EncryptionFailed,
}

/// Whether a stored `totp_secret` is in the encrypted form (see the module comment).
pub fn looks_encrypted(stored: &str) -> bool {
    stored.len() >= ENCRYPTED_MIN_LEN && stored.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The AES-GCM key of `AUTH_ENCRYPTION_KEY`. `Debug` shows nothing of it.
pub struct SecretCipher {
    // Not `RandomizedNonceKey`, which has no AES-192; each nonce is drawn from the
    // system generator in `encrypt` (96 random bits, as Go's `Encrypt` does).
    key: LessSafeKey,
}

impl fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretCipher(********)")
    }
}

impl SecretCipher {
    /// From the hex form of the setting (either case, surrounding spaces ignored).
    pub fn from_hex(hex_key: &str) -> Result<SecretCipher, EncryptionError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| EncryptionError::BadKey)?;
        let algorithm = match bytes.len() {
            16 => &AES_128_GCM,
            24 => &AES_192_GCM,
            32 => &AES_256_GCM,
            _ => return Err(EncryptionError::BadKey),
        };
        let key = UnboundKey::new(algorithm, &bytes).map_err(|_| EncryptionError::BadKey)?;
        Ok(SecretCipher {
            key: LessSafeKey::new(key),
        })
    }

    /// Encrypts `plain` with a fresh random nonce: lowercase hex of nonce ‖ ciphertext ‖ tag.
    pub fn encrypt(&self, plain: &str) -> Result<String, EncryptionError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| EncryptionError::EncryptionFailed)?;
        let mut in_out = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut in_out,
            )
            .map_err(|_| EncryptionError::EncryptionFailed)?;
        let mut out = Vec::with_capacity(NONCE_LEN + in_out.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&in_out);
        Ok(hex::encode(out))
    }

    /// Decrypts a value made by [`SecretCipher::encrypt`] or by Nhost Auth 0.52.
    pub fn decrypt(&self, stored: &str) -> Result<String, EncryptionError> {
        if !looks_encrypted(stored) {
            return Err(EncryptionError::NotEncrypted);
        }
        let bytes = hex::decode(stored).map_err(|_| EncryptionError::NotEncrypted)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(EncryptionError::DecryptionFailed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| EncryptionError::DecryptionFailed)?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut sealed)
            .map_err(|_| EncryptionError::DecryptionFailed)?;
        String::from_utf8(plain.to_vec()).map_err(|_| EncryptionError::DecryptionFailed)
    }
}

/// How TOTP secrets are stored: encrypted when a key is configured, as they are otherwise.
/// Reading accepts both forms whatever the setting, as 0.52's start-up leaves none plain.
#[derive(Debug, Clone, Default)]
pub struct TotpSecretStore {
    cipher: Option<std::sync::Arc<SecretCipher>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoredSecretError {
    #[error("the TOTP secret is encrypted but AUTH_ENCRYPTION_KEY is not set")]
    NoKey,
    #[error("{0}")]
    Encryption(#[from] EncryptionError),
}

impl TotpSecretStore {
    pub fn new(cipher: Option<SecretCipher>) -> TotpSecretStore {
        TotpSecretStore {
            cipher: cipher.map(std::sync::Arc::new),
        }
    }

    pub fn cipher(&self) -> Option<&SecretCipher> {
        self.cipher.as_deref()
    }

    /// The value to write to `auth.users.totp_secret` for the base32 secret `plain`.
    pub fn to_stored(&self, plain: &str) -> Result<String, EncryptionError> {
        match &self.cipher {
            Some(cipher) => cipher.encrypt(plain),
            None => Ok(plain.to_owned()),
        }
    }

    /// The base32 secret of a stored value, encrypted or not.
    pub fn from_stored(&self, stored: &str) -> Result<String, StoredSecretError> {
        if !looks_encrypted(stored) {
            return Ok(stored.to_owned());
        }
        let cipher = self.cipher.as_ref().ok_or(StoredSecretError::NoKey)?;
        Ok(cipher.decrypt(stored)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSW";

    #[test]
    fn keys_of_16_24_32_bytes_are_accepted_and_nothing_else() {
        for len in [16usize, 24, 32] {
            let key = "ab".repeat(len);
            let cipher = SecretCipher::from_hex(&key).unwrap();
            let stored = cipher.encrypt(SECRET).unwrap();
            assert_eq!(cipher.decrypt(&stored).unwrap(), SECRET);
        }
        for bad in [
            "",
            "ab",
            &"ab".repeat(31),
            &"ab".repeat(33),
            &"zz".repeat(32),
        ] {
            assert_eq!(
                SecretCipher::from_hex(bad).err(),
                Some(EncryptionError::BadKey),
                "{bad}"
            );
        }
        assert!(SecretCipher::from_hex(&KEY32.to_uppercase()).is_ok());
    }

    #[test]
    fn stored_form_is_lowercase_hex_of_nonce_ciphertext_and_tag() {
        let cipher = SecretCipher::from_hex(KEY32).unwrap();
        let a = cipher.encrypt(SECRET).unwrap();
        let b = cipher.encrypt(SECRET).unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert_eq!(a.len(), 2 * (NONCE_LEN + SECRET.len() + TAG_LEN));
        assert!(a.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        assert!(looks_encrypted(&a));
        assert!(!looks_encrypted(SECRET));
        assert_eq!(cipher.decrypt(&a.to_uppercase()).unwrap(), SECRET);
    }

    /// A vector computed independently (Python `cryptography`, AESGCM with the nonce
    /// 000102030405060708090a0b and no associated data), i.e. what Go's
    /// `gcm.Seal(nonce, nonce, plaintext, nil)` followed by hex gives.
    #[test]
    fn decrypts_a_value_made_the_way_nhost_auth_makes_it() {
        let cipher = SecretCipher::from_hex(KEY32).unwrap();
        assert_eq!(cipher.decrypt(GO_VECTOR).unwrap(), "JBSWY3DPEHPK3PXP");
    }
    const GO_VECTOR: &str =
        "000102030405060708090a0b0d40854c9cd6864bc809c7c082b9203d97269c18c94022330c5805d736ac4de8";

    #[test]
    fn tampering_or_another_key_fails() {
        let cipher = SecretCipher::from_hex(KEY32).unwrap();
        let stored = cipher.encrypt(SECRET).unwrap();
        let mut bytes = stored.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(
            cipher.decrypt(&tampered).err(),
            Some(EncryptionError::DecryptionFailed)
        );
        let other = SecretCipher::from_hex(&"cd".repeat(32)).unwrap();
        let stored = cipher.encrypt(SECRET).unwrap();
        assert_eq!(
            other.decrypt(&stored).err(),
            Some(EncryptionError::DecryptionFailed)
        );
        assert_eq!(
            cipher.decrypt(SECRET).err(),
            Some(EncryptionError::NotEncrypted)
        );
    }

    #[test]
    fn store_reads_both_forms_and_writes_by_setting() {
        let plain = TotpSecretStore::default();
        assert_eq!(plain.to_stored(SECRET).unwrap(), SECRET);
        assert_eq!(plain.from_stored(SECRET).unwrap(), SECRET);

        let keyed = TotpSecretStore::new(Some(SecretCipher::from_hex(KEY32).unwrap()));
        let stored = keyed.to_stored(SECRET).unwrap();
        assert!(looks_encrypted(&stored));
        assert_eq!(keyed.from_stored(&stored).unwrap(), SECRET);
        assert_eq!(keyed.from_stored(SECRET).unwrap(), SECRET);
        assert_eq!(
            plain.from_stored(&stored).err(),
            Some(StoredSecretError::NoKey)
        );
    }

    #[test]
    fn debug_shows_no_key() {
        let keyed = TotpSecretStore::new(Some(SecretCipher::from_hex(KEY32).unwrap()));
        let text = format!("{keyed:?}");
        assert!(!text.contains("0001020304"), "{text}");
        assert!(text.contains("********"));
    }
}
