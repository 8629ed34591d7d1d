//! People who use the dashboard: names, roles and grants, and password rules and hashing.
//!
//! A user's profile ([`User`]) is safe to show and to send to the browser. The password hash is
//! a [`PasswordHash`], kept in a key of its own and never serialised with the profile.

use std::fmt;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The shortest password allowed, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password allowed, in characters (passphrases welcome).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// The longest user name, in characters.
pub const MAX_USER_NAME_CHARS: usize = 64;

/// Passwords too common to accept, compared without regard to case.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read the namespaces granted.
    Viewer,
    /// Change configurations in the namespaces granted.
    Editor,
    /// Everything, including users.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "{other:?} is not a role; use viewer, editor or admin"
            )),
        }
    }
}

/// Which namespaces a user's role applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grants {
    All,
    Namespaces(Vec<String>),
}

impl Grants {
    pub fn covers(&self, namespace: &str) -> bool {
        match self {
            Grants::All => true,
            Grants::Namespaces(names) => names.iter().any(|n| n == namespace),
        }
    }
}

/// A user's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub grants: Grants,
    pub disabled: bool,
    pub created: DateTime<Utc>,
}

/// How long an invitation or reset link works unless told otherwise.
pub const DEFAULT_INVITATION_HOURS: i64 = 72;

/// Whether a one-time link creates an account or sets a new password for an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationKind {
    /// A new account, with the role and grants given.
    NewAccount,
    /// A new password for an existing account.
    PasswordReset,
}

/// A pending one-time link, stored by the user's name. Only the SHA-256 of its token is kept,
/// so that reading the store does not give anyone a working link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub name: String,
    pub kind: InvitationKind,
    /// For a new account: its role and grants.
    pub role: Role,
    pub grants: Grants,
    pub invited_by: String,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    token_sha256: String,
}

impl Invitation {
    /// A new invitation and its token, the secret part of the link (shown once, never stored).
    pub fn new(
        name: &str,
        kind: InvitationKind,
        role: Role,
        grants: Grants,
        invited_by: &str,
        valid_for: chrono::Duration,
    ) -> (Self, String) {
        let token = random_token();
        let created = Utc::now();
        let invitation = Self {
            name: name.to_owned(),
            kind,
            role,
            grants,
            invited_by: invited_by.to_owned(),
            created,
            expires: created + valid_for,
            token_sha256: sha256_hex(&token),
        };
        (invitation, token)
    }

    /// Whether `token` is this invitation's, compared in constant time.
    pub fn accepts(&self, token: &str) -> bool {
        let expected = self.token_sha256.as_bytes();
        let given = sha256_hex(token);
        expected.len() == given.len()
            && expected
                .iter()
                .zip(given.as_bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires
    }
}

/// How long a browser stays known to an account after signing in with it (its device cookie).
pub const KNOWN_DEVICE_DAYS: i64 = 90;

/// A browser that signed in to an account: whoever holds its device cookie is not kept waiting
/// by failed sign-ins from other clients. Stored by the SHA-256 of the cookie's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownDevice {
    pub user: String,
    pub created: DateTime<Utc>,
}

impl KnownDevice {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.created + chrono::Duration::days(KNOWN_DEVICE_DAYS)
    }
}

/// Whether `text` has the shape of a token made by [`random_token`].
pub fn is_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// 32 random bytes from the operating system's CSPRNG, as 64 hex digits.
pub fn random_token() -> String {
    use argon2::password_hash::rand_core::RngCore;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// SHA-256 of `text`, as hex.
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// An argon2id hash in PHC string form. Not serialisable, not printable.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    /// A hash as stored.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The text to store.
    pub fn as_stored(&self) -> &str {
        &self.0
    }
}

/// Checks a user name: 1 to 64 characters, ASCII letters, digits, `_`, `.`, `@` and `-`, starting
/// with a letter or digit.
pub fn check_user_name(name: &str) -> Result<()> {
    let invalid =
        |reason: String| Error::InvalidValue(format!("invalid user name {name:?}: {reason}"));
    let Some(first) = name.chars().next() else {
        return Err(invalid("it is empty".into()));
    };
    if name.chars().count() > MAX_USER_NAME_CHARS {
        return Err(invalid(format!(
            "it is longer than {MAX_USER_NAME_CHARS} characters"
        )));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(invalid("it must start with a letter or a digit".into()));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-')))
    {
        return Err(invalid(format!(
            "it contains {bad:?}; use letters, digits, '_', '.', '@' and '-'"
        )));
    }
    Ok(())
}

/// Checks a new password: 8 to 128 characters, not a well-known one, not the user's name. No
/// rules about character classes.
pub fn check_password(password: &str, user: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Error::InvalidValue(format!(
            "the password has {chars} characters; use at least {MIN_PASSWORD_CHARS} (a few words make a good one)"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(Error::InvalidValue(format!(
            "the password has {chars} characters; the limit is {MAX_PASSWORD_CHARS}"
        )));
    }
    let lower = password.to_lowercase();
    if lower == user.to_lowercase() || COMMON_PASSWORDS.lines().any(|common| common == lower) {
        return Err(Error::InvalidValue(
            "that password is too easy to guess; choose another".into(),
        ));
    }
    Ok(())
}

/// Argon2id with OWASP's parameters: 19 MiB of memory, 2 iterations, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password on a blocking thread (it takes tens of milliseconds on purpose).
pub async fn hash_password(password: String) -> Result<PasswordHash> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| PasswordHash(hash.to_string()))
            .map_err(|e| Error::Backend(format!("cannot hash the password: {e}")))
    })
    .await
    .map_err(|e| Error::Backend(e.to_string()))?
}

/// Spends the time of a real password check for a user that does not exist, so that a sign-in
/// attempt does not reveal by its speed whether the name exists. Always `false`.
pub async fn verify_unknown_user(password: String) -> bool {
    static STAND_IN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    tokio::task::spawn_blocking(move || {
        let stand_in = STAND_IN.get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            hasher()
                .hash_password(b"a stand-in that no sign-in matches", &salt)
                .map(|hash| hash.to_string())
                .unwrap_or_default()
        });
        if let Ok(parsed) = argon2::password_hash::PasswordHash::new(stand_in) {
            let _ = hasher().verify_password(password.as_bytes(), &parsed);
        }
        false
    })
    .await
    .unwrap_or(false)
}

/// Whether `password` matches `hash`, checked on a blocking thread.
pub async fn verify_password(password: String, hash: PasswordHash) -> bool {
    tokio::task::spawn_blocking(move || {
        argon2::password_hash::PasswordHash::new(&hash.0).is_ok_and(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        let cases = [
            ("short", false),
            ("correct horse battery staple", true),
            ("Password", false),
            ("PASSWORD123", false),
            ("ada.lovelace", false),
            ("éàüöñ漢字かな", true),
            (&"x".repeat(64) as &str, true),
            (&"x".repeat(129) as &str, false),
        ];
        for (password, ok) in cases {
            assert_eq!(
                check_password(password, "ada.lovelace").is_ok(),
                ok,
                "{password:?}"
            );
        }
    }

    #[test]
    fn user_name_rules() {
        for ok in ["ada", "ada.lovelace@example.com", "x-1_2"] {
            assert!(check_user_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-ada", "ada lovelace", "ädä", &"a".repeat(65) as &str] {
            assert!(check_user_name(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let hash = hash_password("correct horse battery staple".into())
            .await
            .unwrap();
        assert!(
            hash.as_stored()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_stored()
        );
        assert!(verify_password("correct horse battery staple".into(), hash.clone()).await);
        assert!(!verify_password("correct horse battery stapler".into(), hash.clone()).await);
        assert!(!verify_password("x".into(), PasswordHash::from_stored("garbage".into())).await);
        assert_eq!(format!("{hash:?}"), "PasswordHash(..)");
        assert!(!verify_unknown_user("a stand-in that no sign-in matches".into()).await);
    }
}
