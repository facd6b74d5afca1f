//! Cryptography in one place: password hashing (Argon2id), random tokens, SHA-256 digests,
//! HMAC, and the master key that encrypts secrets at rest (XChaCha20-Poly1305).

use std::path::Path;

use anyhow::Context;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::Secret;

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash of a fixed password, verified against when no user matches so that a wrong e-mail
/// costs the same time as a wrong password.
pub fn dummy_verify(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("atende-timing-equaliser").unwrap_or_default());
    let _ = verify_password(password, hash);
}

/// `n` random bytes as URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A random password people can type: 16 characters without look-alikes.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

pub fn sha256_hex(data: &str) -> String {
    hex::encode(Sha256::digest(data.as_bytes()))
}

/// SHA-256 of raw bytes, lower-case hex (content addresses of files).
pub fn sha256_bytes_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// HMAC-SHA256 of `data` under `key`, lower-case hex.
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    // HMAC accepts keys of any length, so this never takes the `else` branch.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(data);
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison of two strings (tokens, signatures).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The key that encrypts secrets at rest (connection tokens, passwords of mailboxes…).
#[derive(Clone)]
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

const SEALED_PREFIX: &str = "v1:";

impl MasterKey {
    pub fn from_base64(text: &str) -> anyhow::Result<MasterKey> {
        let bytes = STANDARD.decode(text.trim()).context("master key is not valid base64")?;
        anyhow::ensure!(bytes.len() == 32, "master key must be 32 bytes (base64 of 32 random bytes)");
        Ok(MasterKey {
            cipher: XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| anyhow::anyhow!("bad key length"))?,
        })
    }

    /// The configured key, or the one in `data_dir/master.key`, generated there on first run
    /// (readable by the owner only).
    pub fn load_or_create(configured: Option<&Secret>, data_dir: &Path) -> anyhow::Result<MasterKey> {
        if let Some(key) = configured {
            return MasterKey::from_base64(key.expose()).context("ATENDE_MASTER_KEY");
        }
        let path = data_dir.join("master.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return MasterKey::from_base64(&text).with_context(|| format!("{}", path.display()));
        }
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let text = STANDARD.encode(bytes);
        write_private(&path, &text).with_context(|| format!("writing {}", path.display()))?;
        tracing::info!(path = %path.display(), "generated a new master key; back it up with the database");
        MasterKey::from_base64(&text)
    }

    /// Encrypts a secret into `v1:<base64(nonce ‖ ciphertext)>`.
    pub fn seal(&self, plaintext: &str) -> anyhow::Result<String> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self.cipher.encrypt(&nonce, plaintext.as_bytes()).map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(out)))
    }

    /// Decrypts what [`seal`](Self::seal) produced; fails on tampering or a different key.
    pub fn open(&self, sealed: &str) -> anyhow::Result<Secret> {
        let body = sealed.strip_prefix(SEALED_PREFIX).context("not a sealed secret")?;
        let bytes = STANDARD.decode(body).context("sealed secret is not base64")?;
        anyhow::ensure!(bytes.len() > 24, "sealed secret too short");
        let (nonce, ct) = bytes.split_at(24);
        let pt = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| anyhow::anyhow!("secret cannot be decrypted with this master key"))?;
        Ok(Secret::new(String::from_utf8(pt).context("sealed secret is not UTF-8")?))
    }
}

/// A ticket's own data key (credential vault): 32 random bytes that seal that ticket's secrets,
/// itself stored only wrapped by the master key, so erasing the wrapped key makes every secret
/// of the ticket unreadable at once.
pub struct DataKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

impl DataKey {
    /// A fresh random key and its wrapped form (sealed with `master`), the only one stored.
    pub fn generate(master: &MasterKey) -> anyhow::Result<(DataKey, String)> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let wrapped = master.seal(&STANDARD.encode(bytes))?;
        let key = DataKey::from_bytes(&bytes)?;
        bytes.fill(0);
        Ok((key, wrapped))
    }

    /// The key inside `wrapped`; fails with another master key or a tampered value.
    pub fn unwrap_with(master: &MasterKey, wrapped: &str) -> anyhow::Result<DataKey> {
        let text = master.open(wrapped)?;
        let mut bytes = STANDARD.decode(text.expose()).context("wrapped data key is not base64")?;
        let key = DataKey::from_bytes(&bytes);
        bytes.fill(0);
        key
    }

    fn from_bytes(bytes: &[u8]) -> anyhow::Result<DataKey> {
        anyhow::ensure!(bytes.len() == 32, "a data key is 32 bytes");
        Ok(DataKey { cipher: XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| anyhow::anyhow!("bad key length"))? })
    }

    /// Encrypts a secret into `v1:<base64(nonce ‖ ciphertext)>`, like [`MasterKey::seal`].
    pub fn seal(&self, plaintext: &str) -> anyhow::Result<String> {
        MasterKey { cipher: self.cipher.clone() }.seal(plaintext)
    }

    /// Decrypts what [`seal`](Self::seal) produced; fails on tampering or a different key.
    pub fn open(&self, sealed: &str) -> anyhow::Result<Secret> {
        MasterKey { cipher: self.cipher.clone() }.open(sealed)
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
    }

    #[test]
    fn sealed_secrets_round_trip_and_detect_a_wrong_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::load_or_create(None, dir.path()).unwrap();
        let sealed = key.seal("EAAG-token").unwrap();
        assert!(!sealed.contains("EAAG"));
        assert_eq!(key.open(&sealed).unwrap().expose(), "EAAG-token");
        // The same data dir gives the same key back.
        let again = MasterKey::load_or_create(None, dir.path()).unwrap();
        assert_eq!(again.open(&sealed).unwrap().expose(), "EAAG-token");
        let other = MasterKey::load_or_create(None, tempfile::tempdir().unwrap().path()).unwrap();
        assert!(other.open(&sealed).is_err());
    }

    #[test]
    fn data_keys_need_their_master_key_and_seal_apart_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::load_or_create(None, dir.path()).unwrap();
        let (key, wrapped) = DataKey::generate(&master).unwrap();
        let sealed = key.seal("s3nha-do-painel").unwrap();
        assert!(!sealed.contains("s3nha"));
        let again = DataKey::unwrap_with(&master, &wrapped).unwrap();
        assert_eq!(again.open(&sealed).unwrap().expose(), "s3nha-do-painel");
        // The master key alone does not open a ticket's secret, nor does another ticket's key.
        assert!(master.open(&sealed).is_err());
        let (other, _) = DataKey::generate(&master).unwrap();
        assert!(other.open(&sealed).is_err());
        let stranger = MasterKey::load_or_create(None, tempfile::tempdir().unwrap().path()).unwrap();
        assert!(DataKey::unwrap_with(&stranger, &wrapped).is_err());
    }

    #[test]
    fn hmac_matches_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
