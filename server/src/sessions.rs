//! Dashboard sessions kept in Confo's own store, so that several dashboard instances share them
//! and a restart signs nobody out.
//!
//! A session is one key under the reserved prefix holding its record and expiry. In etcd the key
//! is attached to a lease that ends with the session, so etcd removes it; the embedded store has
//! no leases, so [`sweep_expired`] removes expired sessions there (it is harmless on etcd). An
//! expired session is never handed out, whether or not it has been removed yet.

use std::time::Duration;

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

impl StoreSessions {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    fn key(&self, id: &Id) -> String {
        self.store.layout().session(&id.to_string())
    }

    /// Removes every expired session; answers how many.
    pub async fn sweep_expired(&self) -> confo::Result<usize> {
        let prefix = self.store.layout().sessions_prefix();
        let mut removed = 0;
        for kv in self.store.kv().list_prefix(&prefix).await? {
            let expired = serde_json::from_slice::<Record>(&kv.value)
                .map(|record| time_left(&record).is_none())
                .unwrap_or(true);
            if expired {
                // Compared, so that a session saved again meanwhile stays.
                let outcome = self
                    .store
                    .kv()
                    .txn(
                        vec![Compare::unchanged(&kv.key, Some(&kv))],
                        vec![Op::Delete {
                            key: kv.key.clone(),
                        }],
                    )
                    .await?;
                if matches!(outcome, TxnOutcome::Committed { .. }) {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

#[async_trait]
impl SessionStore for StoreSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A new id must not take over an existing session: write only where nothing is.
        loop {
            let key = self.key(&record.id);
            let value = serde_json::to_vec(&*record)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?;
            let outcome = self
                .store
                .kv()
                .txn(
                    vec![Compare::unchanged(&key, None)],
                    vec![Op::Put { key, value }],
                )
                .await
                .map_err(backend)?;
            match outcome {
                TxnOutcome::Committed { .. } => break,
                TxnOutcome::CompareFailed => record.id = Id::default(),
            }
        }
        // Attach the expiry (a lease in etcd).
        self.save(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let Some(ttl) = time_left(record) else {
            return self.delete(&record.id).await;
        };
        let value =
            serde_json::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        self.store
            .kv()
            .put_expiring(&self.key(&record.id), value, ttl)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(kv) = self.store.kv().get(&self.key(id)).await.map_err(backend)? else {
            return Ok(None);
        };
        let record: Record = serde_json::from_slice(&kv.value)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
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
