//! Passwords (argon2id), session ids and API tokens. Secrets are random, shown once and stored
//! only as SHA-256 digests; passwords only as argon2id PHC strings.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::Argon2;
use sha2::{Digest, Sha256};

/// Prefix of every API token, so leaked tokens are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "plt_";
pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 256;

/// Hashes a password with argon2id and a random salt. CPU-heavy: call it from `spawn_blocking`.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a stored PHC string; a malformed hash never verifies.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Why a new password is not acceptable, if it is not.
pub fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        Some(format!("Use at least {MIN_PASSWORD_LEN} characters."))
    } else if password.len() > MAX_PASSWORD_LEN {
        Some(format!("Use at most {MAX_PASSWORD_LEN} bytes."))
    } else {
        None
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    hex::encode(buf)
}

pub fn sha256_hex(data: &str) -> String {
    hex::encode(Sha256::digest(data.as_bytes()))
}

/// A new session id for the cookie (256 bits).
pub fn new_session_id() -> String {
    random_hex(32)
}

/// A new API token secret: `plt_` and 192 random bits in hex.
pub fn new_token_secret() -> String {
    format!("{TOKEN_PREFIX}{}", random_hex(24))
}

/// The part of a token that is kept for display ("plt_1a2b3c4d").
pub fn token_display_prefix(secret: &str) -> String {
    secret.chars().take(TOKEN_PREFIX.len() + 8).collect()
}

/// Compares two digests without revealing, by timing, how much of them matched.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip_and_salting() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "argon2id PHC string, got {a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("correct horse battery", &a));
        assert!(!verify_password("correct horse batterY", &a));
        assert!(!verify_password("correct horse battery", "not-a-hash"));
    }

    #[test]
    fn password_rules() {
        assert!(password_problem("short").is_some());
        assert!(password_problem("long enough!").is_none());
        assert!(password_problem(&"x".repeat(300)).is_some());
    }

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let t1 = new_token_secret();
        let t2 = new_token_secret();
        assert!(t1.starts_with("plt_") && t1.len() == 4 + 48);
        assert_ne!(t1, t2);
        assert_eq!(token_display_prefix(&t1).len(), 12);
        let h = sha256_hex(&t1);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&t1[4..]), "the digest does not contain the secret");
        assert!(constant_time_eq(&h, &sha256_hex(&t1)));
        assert!(!constant_time_eq(&h, &sha256_hex(&t2)));
        assert_eq!(new_session_id().len(), 64);
    }
}
