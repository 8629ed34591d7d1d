//! Dashboard sessions kept in Confo's own store, so that several dashboard instances share them
//! and a restart signs nobody out.
//!
//! A session is one key under the reserved prefix holding its record and expiry. The key is the
//! SHA-256 of the session id and the record does not hold the id, so whoever reads the store (or a
//! backup of it) learns no cookie that works. In etcd the key is attached to a lease that ends
//! with the session, so etcd removes it; the embedded store has no leases, so
//! [`StoreSessions::sweep_expired`] removes expired sessions there (it is harmless on etcd). An
//! expired session is never handed out, whether or not it has been removed yet. A session is
//! only ever written back while its record is still there: one that was ended (signed out, ended
//! by an administrator) is not brought back by a request that was refreshing it at that moment.
//!
//! The session layer writes a changed record back whole when its request ends, so of two requests
//! of one session at once, the later write wins. The record therefore holds only what sign-in
//! writes and the time of its last refresh, which may be lost without harm; what a request hands
//! to a later one (a one-time link to show) waits in a key of its own
//! ([`StoreSessions::keep_link`]).
//!
//! Besides serving tower-sessions, it lists and ends the sessions of an account. A session is
//! shown by a handle (the start of its stored hash), never by its id, which is the secret in the
//! cookie.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use async_trait::async_trait;
use confo::Store;
use confo::kv::{Compare, Op, TxnOutcome};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// Sessions in a [`Store`].
#[derive(Clone)]
pub struct StoreSessions {
    store: Store,
}

impl std::fmt::Debug for StoreSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreSessions")
    }
}

fn backend(error: confo::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn time_left(record: &Record) -> Option<Duration> {
    let left = record.expiry_date - OffsetDateTime::now_utc();
    (left.is_positive()).then(|| Duration::try_from(left).unwrap_or(Duration::ZERO))
}

/// What a session's data says about who holds it. Written at sign-in (see
/// [`crate::api::ssr::sign_in_as`]).
pub mod data {
    pub const USER: &str = "user";
    pub const SIGNED_IN_AT: &str = "signed_in_at";
    pub const REFRESHED_AT: &str = "refreshed_at";
    pub const ADDRESS: &str = "address";
    pub const AGENT: &str = "agent";
}

/// A live session, as shown to its owner and to administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Names the session in requests to end it; not its id.
    pub handle: String,
    pub user: String,
    /// Unix seconds.
    pub signed_in_at: i64,
    /// Unix seconds: the last time the session's expiry moved on (within half the idle time of
    /// its last use).
    pub last_seen: i64,
    pub address: Option<String>,
    pub agent: Option<String>,
}

/// What the store keeps of session `id`: the SHA-256 of the id, in hex (its key, which names it
/// in the store's watch events too).
pub fn stored_hash(id: &Id) -> String {
    confo::users::sha256_hex(&id.to_string())
}

/// The handle of session `id`.
pub fn handle(id: &Id) -> String {
    handle_of(&stored_hash(id))
}

fn handle_of(stored_hash: &str) -> String {
    stored_hash.chars().take(16).collect()
}

/// Whether `suffix` (what follows the sessions prefix in a key) is a stored hash, as this
/// module writes it (64 hex digits); records under the raw session id were written by earlier
/// versions.
fn is_stored_hash(suffix: &str) -> bool {
    confo::users::is_token(suffix)
}

/// A session record as stored: everything but its id.
#[derive(Serialize, Deserialize)]
struct Stored {
    data: std::collections::HashMap<String, serde_json::Value>,
    expiry_date: OffsetDateTime,
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    serde_json::to_vec(&Stored {
        data: record.data.clone(),
        expiry_date: record.expiry_date,
    })
    .map_err(|e| session_store::Error::Encode(e.to_string()))
}

/// The record stored as `bytes`, given back the id it is stored for (a placeholder when only
/// listing).
fn decode(bytes: &[u8], id: Id) -> Option<Record> {
    let stored: Stored = serde_json::from_slice(bytes).ok()?;
    Some(Record {
        id,
        data: stored.data,
        expiry_date: stored.expiry_date,
    })
}

fn info(stored_hash: &str, record: &Record) -> Option<SessionInfo> {
    let text = |name: &str| record.data.get(name)?.as_str().map(str::to_owned);
    let number = |name: &str| record.data.get(name)?.as_i64();
    Some(SessionInfo {
        handle: handle_of(stored_hash),
        user: text(data::USER)?,
        signed_in_at: number(data::SIGNED_IN_AT)?,
        last_seen: number(data::REFRESHED_AT).or(number(data::SIGNED_IN_AT))?,
        address: text(data::ADDRESS),
        agent: text(data::AGENT),
    })
}

impl StoreSessions {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Every live signed-in session with its stored record, `user`'s alone when given.
    async fn live(
        &self,
        user: Option<&str>,
    ) -> confo::Result<Vec<(confo::kv::KeyValue, SessionInfo)>> {
        let prefix = self.store.layout().sessions_prefix();
        Ok(self
            .store
            .kv()
            .list_prefix(&prefix)
            .await?
            .into_iter()
            .filter_map(|kv| {
                let hash = kv.key.strip_prefix(&prefix)?;
                if !is_stored_hash(hash) {
                    return None;
                }
                let record = decode(&kv.value, Id::default())?;
                time_left(&record)?;
                let info = info(hash, &record)?;
                user.is_none_or(|u| u == info.user).then_some((kv, info))
            })
            .collect())
    }

    /// The live sessions of `user` (of everyone when `None`), most recently used first.
    pub async fn list(&self, user: Option<&str>) -> confo::Result<Vec<SessionInfo>> {
        let mut sessions: Vec<SessionInfo> = self
            .live(user)
            .await?
            .into_iter()
            .map(|(_, info)| info)
            .collect();
        sessions.sort_by_key(|s| std::cmp::Reverse(s.last_seen));
        Ok(sessions)
    }

    /// Ends `user`'s sessions: the one with `handle`, or all when `None`, except the one with
    /// handle `keep`. Answers how many ended.
    pub async fn end(
        &self,
        user: &str,
        handle: Option<&str>,
        keep: Option<&str>,
    ) -> confo::Result<usize> {
        let mut ended = 0;
        for (kv, info) in self.live(Some(user)).await? {
            if handle.is_some_and(|h| h != info.handle) || keep == Some(info.handle.as_str()) {
                continue;
            }
            self.store
                .kv()
                .txn(Vec::new(), vec![Op::Delete { key: kv.key }])
                .await?;
            ended += 1;
        }
        Ok(ended)
    }

    fn key(&self, id: &Id) -> String {
        self.store.layout().session(&stored_hash(id))
    }

    /// Removes session records kept under the raw session id (as earlier versions stored them),
    /// which would let whoever reads the store use them; answers how many. Their owners sign in
    /// again once.
    pub async fn remove_plain_records(&self) -> confo::Result<usize> {
        let prefix = self.store.layout().sessions_prefix();
        let mut removed = 0;
        for key in self.store.kv().list_keys(&prefix).await? {
            if key.strip_prefix(&prefix).is_some_and(is_stored_hash) {
                continue;
            }
            self.store
                .kv()
                .txn(Vec::new(), vec![Op::Delete { key }])
                .await?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Removes every expired session and waiting link; answers how many.
    pub async fn sweep_expired(&self) -> confo::Result<usize> {
        let mut stale = Vec::new();
        let sessions = self.store.layout().sessions_prefix();
        for kv in self.store.kv().list_prefix(&sessions).await? {
            let expired = decode(&kv.value, Id::default())
                .map(|record| time_left(&record).is_none())
                .unwrap_or(true);
            if expired {
                stale.push(kv);
            }
        }
        let links = self.store.layout().waiting_links_prefix();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        for kv in self.store.kv().list_prefix(&links).await? {
            let expired = serde_json::from_slice::<WaitingLink>(&kv.value)
                .map(|link| link.expires <= now)
                .unwrap_or(true);
            if expired {
                stale.push(kv);
            }
        }
        let mut removed = 0;
        for kv in stale {
            if self.remove_unchanged(&kv).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes `kv` unless it was written again since it was read (then it stays); answers
    /// whether it was removed.
    async fn remove_unchanged(&self, kv: &confo::kv::KeyValue) -> confo::Result<bool> {
        let outcome = self
            .store
            .kv()
            .txn(
                vec![Compare::unchanged(&kv.key, Some(kv))],
                vec![Op::Delete {
                    key: kv.key.clone(),
                }],
            )
            .await?;
        Ok(matches!(outcome, TxnOutcome::Committed { .. }))
    }

    /// Keeps `sealed`, a one-time link for user `name`, until session `id` takes it (see
    /// [`Self::take_link`]) or `ttl` has passed. A newer link for the same person replaces it.
    ///
    /// The link waits in a key of its own, not in the session record: the session layer writes a
    /// changed record back whole at the end of its request, so of two requests of one session
    /// at once (two tabs, or an invitation made while another person's page is being shown),
    /// the one that finished last would write back the record as it read it, without the
    /// other's link.
    pub async fn keep_link(
        &self,
        id: &Id,
        name: &str,
        sealed: String,
        ttl: Duration,
    ) -> confo::Result<()> {
        let key = self.store.layout().waiting_link(&stored_hash(id), name);
        let expires = OffsetDateTime::now_utc() + ttl;
        let value = serde_json::json!({ "sealed": sealed, "expires": expires.unix_timestamp() });
        self.store
            .kv()
            .put_expiring(&key, value.to_string().into_bytes(), ttl, None)
            .await
            .map(|_| ())
    }

    /// Takes the link kept for user `name` in session `id`: it is answered once, then gone.
    pub async fn take_link(&self, id: &Id, name: &str) -> confo::Result<Option<String>> {
        let key = self.store.layout().waiting_link(&stored_hash(id), name);
        let Some(kv) = self.store.kv().get(&key).await? else {
            return Ok(None);
        };
        let link = serde_json::from_slice::<WaitingLink>(&kv.value).ok();
        // Removed only as read: of two requests taking it at once, one gets it.
        if !self.remove_unchanged(&kv).await? {
            return Ok(None);
        }
        Ok(link
            .filter(|link| link.expires > OffsetDateTime::now_utc().unix_timestamp())
            .map(|link| link.sealed))
    }
}

/// A one-time link waiting to be shown, as [`StoreSessions::keep_link`] writes it.
#[derive(Deserialize)]
struct WaitingLink {
    /// Sealed with a key derived from the session id, which the store does not hold.
    sealed: String,
    /// Unix seconds; the embedded store has no leases, so expiry is checked on read.
    expires: i64,
}

#[async_trait]
impl SessionStore for StoreSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let Some(ttl) = time_left(record) else {
            return Ok(());
        };
        // A new id must not take over an existing session: write only where nothing is.
        loop {
            let key = self.key(&record.id);
            let written = self
                .store
                .kv()
                .put_expiring(
                    &key,
                    encode(record)?,
                    ttl,
                    Some(Compare::unchanged(&key, None)),
                )
                .await
                .map_err(backend)?;
            if written {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let Some(ttl) = time_left(record) else {
            return self.delete(&record.id).await;
        };
        // Written back only over the record as it is now: a session that was ended meanwhile
        // stays ended, and a write that loses to another request's leaves theirs.
        let key = self.key(&record.id);
        let Some(current) = self.store.kv().get(&key).await.map_err(backend)? else {
            return Ok(());
        };
        self.store
            .kv()
            .put_expiring(
                &key,
                encode(record)?,
                ttl,
                Some(Compare::unchanged(&key, Some(&current))),
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(kv) = self.store.kv().get(&self.key(id)).await.map_err(backend)? else {
            return Ok(None);
        };
        let record = decode(&kv.value, *id)
            .ok_or_else(|| session_store::Error::Decode(format!("not a session: {}", kv.key)))?;
        Ok(time_left(&record).is_some().then_some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store
            .kv()
            .txn(Vec::new(), vec![Op::Delete { key: self.key(id) }])
            .await
            .map(|_| ())
            .map_err(backend)
    }
}
