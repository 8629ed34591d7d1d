//! People who use the dashboard: names, roles and grants, and password rules and hashing.
//!
//! A user's profile ([`User`]) is safe to show and to send to the browser. The password hash is
//! a [`PasswordHash`], kept in a key of its own and never serialised with the profile.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// The shortest password allowed, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password allowed, in characters (passphrases welcome).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// The longest user name, in characters.
pub const MAX_USER_NAME_CHARS: usize = 64;
/// The longest link token looked at, in characters (the tokens made here have 64).
pub const MAX_LINK_TOKEN_CHARS: usize = 128;

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

/// Whether `text` has the shape of a token made by [`random_token`] (or a hash made by
/// [`sha256_hex`]): 64 lowercase hex digits.
pub fn is_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Why a link cannot be used, in the same words whether it never existed, was used already, was
/// replaced, or its token is wrong: the answer tells nothing about which.
pub(crate) const LINK_NOT_VALID: &str = "this link is not valid: it was used already, replaced by a newer one, or mistyped; ask an administrator for a new one";

/// The answer to a link that cannot be used, whatever the reason: see [`check_link`].
pub fn link_not_valid() -> Error {
    Error::InvalidValue(LINK_NOT_VALID.into())
}

/// The pending link `invitation` (the one stored under the link's name, if any), if it may be
/// used with `token` at `now`. The one rule, checked cheaply before a new password is hashed and
/// again in the transaction that uses the link.
pub fn check_link(
    invitation: Option<Invitation>,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Invitation> {
    let invitation = invitation
        .filter(|invitation| invitation.accepts(token))
        .ok_or_else(link_not_valid)?;
    if invitation.is_expired(now) {
        return Err(Error::InvalidValue(
            "this link has expired; ask an administrator for a new one".into(),
        ));
    }
    Ok(invitation)
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

/// How long a request waits for a free hashing slot before it is refused with
/// [`Error::Overloaded`] (and told to retry after as many seconds).
pub const HASHING_WAIT: Duration = Duration::from_secs(2);

/// How many password hashes may run at once in this process: one per core. Each holds 19 MiB
/// and a core for tens of milliseconds, so this caps the memory and CPU that sign-ins can take,
/// however many arrive at once.
pub fn hashing_slot_count() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// The one process-wide set of hashing slots.
fn hashing_slots() -> &'static Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SLOTS.get_or_init(|| Arc::new(Semaphore::new(hashing_slot_count())))
}

static HASHES_RUNNING: AtomicUsize = AtomicUsize::new(0);
static HASHES_PEAK: AtomicUsize = AtomicUsize::new(0);
static HASHES_STARTED: AtomicU64 = AtomicU64::new(0);

/// How much password hashing this process does, as counted where the work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLoad {
    /// How many may run at once ([`hashing_slot_count`]).
    pub slots: usize,
    /// How many are running now.
    pub running: usize,
    /// The most that ever ran at once.
    pub peak: usize,
    /// How many were started since the process began (hashes and checks alike).
    pub started: u64,
}

/// The current [`HashingLoad`].
pub fn hashing_load() -> HashingLoad {
    HashingLoad {
        slots: hashing_slot_count(),
        running: HASHES_RUNNING.load(Ordering::SeqCst),
        peak: HASHES_PEAK.load(Ordering::SeqCst),
        started: HASHES_STARTED.load(Ordering::SeqCst),
    }
}

/// Takes every hashing slot until the answer is dropped, so that tests can see what a request
/// meets when the server is saturated. Waits for the slots in use to be given back.
#[cfg(any(test, feature = "test-hooks"))]
pub async fn hold_every_hashing_slot() -> tokio::sync::OwnedSemaphorePermit {
    let slots = u32::try_from(hashing_slot_count()).expect("fewer than 2^32 cores");
    hashing_slots()
        .clone()
        .acquire_many_owned(slots)
        .await
        .expect("the hashing slots are never closed")
}

/// Runs `work` (an argon2 hash or check) on a blocking thread once a hashing slot is free,
/// waiting [`HASHING_WAIT`] at most. A waiting request holds no hashing memory: argon2's
/// 19 MiB are taken only inside `work`. The slot is given back when `work` ends, even if the
/// request that asked for it was dropped meanwhile, so that the bound holds for the work itself.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let permit = tokio::time::timeout(HASHING_WAIT, hashing_slots().clone().acquire_owned())
        .await
        .map_err(|_| Error::Overloaded {
            retry_after_seconds: HASHING_WAIT.as_secs(),
        })?
        .map_err(|_| Error::Backend("the password-hashing slots were closed".into()))?;
    tokio::task::spawn_blocking(move || {
        /// Counts the work as running until it ends, even by a panic.
        struct Running;
        impl Drop for Running {
            fn drop(&mut self) {
                HASHES_RUNNING.fetch_sub(1, Ordering::SeqCst);
            }
        }
        // Declared first, so dropped last: the slot is free only once the count is down.
        let _permit = permit;
        HASHES_STARTED.fetch_add(1, Ordering::SeqCst);
        let running = HASHES_RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
        HASHES_PEAK.fetch_max(running, Ordering::SeqCst);
        let _running = Running;
        work()
    })
    .await
    .map_err(|e| Error::Backend(format!("password hashing failed: {e}")))
}

/// Hashes a password on a blocking thread (it takes tens of milliseconds on purpose), once a
/// hashing slot is free; [`Error::Overloaded`] if none frees up within [`HASHING_WAIT`].
pub async fn hash_password(password: String) -> Result<PasswordHash> {
    bounded(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| PasswordHash(hash.to_string()))
            .map_err(|e| Error::Backend(format!("cannot hash the password: {e}")))
    })
    .await?
}

/// Spends the time of a real password check for a user that does not exist, so that a sign-in
/// attempt does not reveal by its speed whether the name exists. Bounded like
/// [`verify_password`], and refused in the same way when the server is saturated, so that the
/// answer does not tell either.
pub async fn verify_unknown_user(password: String) -> Result<()> {
    static STAND_IN: OnceLock<String> = OnceLock::new();
    bounded(move || {
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
    })
    .await
}

/// Whether `password` matches `hash`, checked on a blocking thread once a hashing slot is free;
/// [`Error::Overloaded`] if none frees up within [`HASHING_WAIT`].
pub async fn verify_password(password: String, hash: PasswordHash) -> Result<bool> {
    bounded(move || {
        argon2::password_hash::PasswordHash::new(&hash.0).is_ok_and(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
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

    /// Tests that hash take turns: one of them holds every hashing slot on purpose.
    static HASHING_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let _turn = HASHING_TESTS.lock().await;
        let hash = hash_password("correct horse battery staple".into())
            .await
            .unwrap();
        assert!(
            hash.as_stored()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_stored()
        );
        let verify =
            |password: &str, hash: &PasswordHash| verify_password(password.into(), hash.clone());
        assert_eq!(
            verify("correct horse battery staple", &hash).await,
            Ok(true)
        );
        assert_eq!(
            verify("correct horse battery stapler", &hash).await,
            Ok(false)
        );
        let garbage = PasswordHash::from_stored("garbage".into());
        assert_eq!(verify("x", &garbage).await, Ok(false));
        assert_eq!(format!("{hash:?}"), "PasswordHash(..)");
        assert_eq!(
            verify_unknown_user("a stand-in that no sign-in matches".into()).await,
            Ok(())
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn no_more_hashes_run_at_once_than_there_are_cores() {
        let _turn = HASHING_TESTS.lock().await;
        let cores = hashing_slot_count();
        assert_eq!(
            cores,
            std::thread::available_parallelism().unwrap().get(),
            "one slot per core"
        );
        HASHES_PEAK.store(0, Ordering::SeqCst);
        let before = hashing_load();
        let hashes: Vec<_> = (0..cores * 4)
            .map(|i| tokio::spawn(hash_password(format!("passphrase number {i}"))))
            .collect();
        for hash in hashes {
            hash.await.unwrap().unwrap();
        }
        let after = hashing_load();
        assert_eq!(after.started - before.started, (cores * 4) as u64);
        assert!(
            (1..=cores).contains(&after.peak),
            "{} ran at once on {cores} cores",
            after.peak
        );
        assert_eq!(after.running, 0);
    }

    #[tokio::test]
    async fn with_every_slot_busy_a_hash_is_refused_after_two_seconds_without_running() {
        let _turn = HASHING_TESTS.lock().await;
        let held = hold_every_hashing_slot().await;
        let started = hashing_load().started;
        let timed = |work: std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send>>| async move {
            let asked = std::time::Instant::now();
            (work.await, asked.elapsed())
        };
        let stored = PasswordHash::from_stored("$argon2id$v=19$m=19456,t=2,p=1$x$y".into());
        let answers = futures::future::join_all([
            timed(Box::pin(async {
                hash_password("a passphrase".into()).await.map(drop)
            })),
            timed(Box::pin(async {
                verify_password("a passphrase".into(), stored)
                    .await
                    .map(drop)
            })),
            timed(Box::pin(verify_unknown_user("a passphrase".into()))),
        ])
        .await;
        for (answer, waited) in answers {
            assert_eq!(
                answer,
                Err(Error::Overloaded {
                    retry_after_seconds: 2
                })
            );
            assert!(
                waited >= HASHING_WAIT && waited < HASHING_WAIT * 3,
                "waited {waited:?}"
            );
            eprintln!("refused as overloaded after {waited:?}");
        }
        assert_eq!(hashing_load().started, started, "nothing ran while waiting");
        drop(held);
        assert!(hash_password("a passphrase".into()).await.is_ok());
    }
}
