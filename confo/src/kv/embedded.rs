//! The embedded backend: a [redb](https://docs.rs/redb) database file on local disk.
//!
//! redb is a pure-Rust, ACID, copy-on-write B-tree store: a committed transaction survives a crash
//! or power loss, and an interrupted one leaves the previous state intact. Its write transactions
//! are serialised, which gives the same compare-and-swap semantics as etcd's `Txn`. Revisions are
//! kept the way etcd keeps them: one counter for the whole store, bumped by each committed write.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{
    Compare, KeyValue, Kv, KvChange, Op, TxnOutcome, WatchEnd, WatchReceiver, check_txn_limits,
};
use crate::error::{Error, Result};

/// Each key's value and the revision of its last change.
const KEYS: TableDefinition<&str, (i64, &[u8])> = TableDefinition::new("keys");
/// The store's current revision, under [`REVISION`].
const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
const REVISION: &str = "revision";

/// The file name inside the data directory.
pub const FILE_NAME: &str = "confo.redb";

/// How many recent revisions the embedded store keeps for watchers that fall behind.
const WATCH_BUFFER: usize = 4096;

/// An embedded store in one file.
#[derive(Clone)]
pub struct EmbeddedKv {
    db: Arc<Database>,
    changes: Arc<Changes>,
}

/// Recent committed changes, for watchers: a buffer to start from and a channel for new ones.
struct Changes {
    /// Held from a write's start to its publication, so that watchers see revisions in order.
    writing: std::sync::Mutex<()>,
    recent: std::sync::Mutex<std::collections::VecDeque<KvChange>>,
    /// No change before this revision is kept (after [`Kv::compact`]).
    compacted: std::sync::Mutex<i64>,
    live: tokio::sync::broadcast::Sender<KvChange>,
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

impl EmbeddedKv {
    /// Opens (or creates) the store in `data_dir`, creating the directory if needed.
    pub fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            Error::Unavailable(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let path: PathBuf = data_dir.join(FILE_NAME);
        let db = Database::create(&path)
            .map_err(|e| Error::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(KEYS).map_err(backend)?;
        txn.open_table(META).map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(Self {
            db: Arc::new(db),
            changes: Arc::new(Changes {
                writing: std::sync::Mutex::new(()),
                compacted: std::sync::Mutex::new(0),
                recent: std::sync::Mutex::new(std::collections::VecDeque::new()),
                live: tokio::sync::broadcast::channel(WATCH_BUFFER).0,
            }),
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(backend)?
    }
}

fn row(key: &str, value: (i64, &[u8])) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: value.1.to_vec(),
        mod_revision: value.0,
    }
}

#[async_trait]
impl Kv for EmbeddedKv {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let key = key.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(KEYS).map_err(backend)?;
            let found = table.get(key.as_str()).map_err(backend)?;
            Ok(found.map(|v| row(&key, v.value())))
        })
        .await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<KeyValue>>> {
        let keys = keys.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(KEYS).map_err(backend)?;
            keys.iter()
                .map(|key| {
                    let found = table.get(key.as_str()).map_err(backend)?;
                    Ok(found.map(|v| row(key, v.value())))
                })
                .collect()
        })
        .await
    }

    async fn range(
        &self,
        start: &str,
        end: &str,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<KeyValue>> {
        let (start, end) = (start.to_owned(), end.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(KEYS).map_err(backend)?;
            let range = table.range(start.as_str()..end.as_str()).map_err(backend)?;
            let limit = if limit == 0 { usize::MAX } else { limit };
            let rows: Box<dyn Iterator<Item = _>> = if reverse {
                Box::new(range.rev())
            } else {
                Box::new(range)
            };
            rows.take(limit)
                .map(|entry| {
                    let (k, v) = entry.map_err(backend)?;
                    Ok(row(k.value(), v.value()))
                })
                .collect()
        })
        .await
    }

    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnOutcome> {
        check_txn_limits(&compares, &ops)?;
        let changes = self.changes.clone();
        self.blocking(move |db| {
            let _writing = changes.writing.lock().expect("not poisoned");
            let txn = db.begin_write().map_err(backend)?;
            let revision = {
                let keys = txn.open_table(KEYS).map_err(backend)?;
                for Compare::ModRevision { key, revision } in &compares {
                    let current = keys
                        .get(key.as_str())
                        .map_err(backend)?
                        .map_or(0, |v| v.value().0);
                    if current != *revision {
                        return Ok(TxnOutcome::CompareFailed);
                    }
                }
                drop(keys);
                let mut meta = txn.open_table(META).map_err(backend)?;
                let revision = meta
                    .get(REVISION)
                    .map_err(backend)?
                    .map_or(1, |v| v.value())
                    + 1;
                meta.insert(REVISION, revision).map_err(backend)?;
                let mut keys = txn.open_table(KEYS).map_err(backend)?;
                for op in &ops {
                    match op {
                        Op::Put { key, value } => {
                            keys.insert(key.as_str(), (revision, value.as_slice()))
                                .map_err(backend)?;
                        }
                        Op::Delete { key } => {
                            keys.remove(key.as_str()).map_err(backend)?;
                        }
                    }
                }
                revision
            };
            let change = KvChange {
                revision,
                changes: ops
                    .into_iter()
                    .map(|op| match op {
                        Op::Put { key, value } => (key, Some(value)),
                        Op::Delete { key } => (key, None),
                    })
                    .collect(),
            };
            txn.commit().map_err(backend)?;
            changes.publish(change);
            Ok(TxnOutcome::Committed { revision })
        })
        .await
    }

    async fn revision(&self) -> Result<i64> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(backend)?;
            let meta = txn.open_table(META).map_err(backend)?;
            Ok(meta
                .get(REVISION)
                .map_err(backend)?
                .map_or(1, |v| v.value()))
        })
        .await
    }

    async fn watch(&self, prefix: &str, from: i64) -> Result<WatchReceiver> {
        let (sender, receiver) = tokio::sync::mpsc::channel(256);
        let mut live = self.changes.live.subscribe();
        let current = self.revision().await?;
        // Everything from `from` on must be in the buffer, unless nothing was written since.
        let backlog: Option<Vec<KvChange>> = {
            let recent = self.changes.recent.lock().expect("not poisoned");
            let compacted = *self.changes.compacted.lock().expect("not poisoned");
            let buffered_from = recent
                .front()
                .map_or(current + 1, |c| c.revision)
                .max(compacted);
            (from > current || buffered_from <= from).then(|| {
                recent
                    .iter()
                    .filter(|c| c.revision >= from)
                    .cloned()
                    .collect()
            })
        };
        let prefix = prefix.to_owned();
        tokio::spawn(async move {
            let only_prefix = |change: KvChange| {
                let changes: Vec<_> = change
                    .changes
                    .into_iter()
                    .filter(|(key, _)| key.starts_with(&prefix))
                    .collect();
                (!changes.is_empty()).then_some(KvChange {
                    revision: change.revision,
                    changes,
                })
            };
            let Some(backlog) = backlog else {
                // Revisions older than the buffer were asked for: they are gone.
                let _ = sender.send(Err(WatchEnd::Compacted)).await;
                return;
            };
            let mut next = from;
            for change in backlog {
                next = change.revision + 1;
                if let Some(change) = only_prefix(change)
                    && sender.send(Ok(change)).await.is_err()
                {
                    return;
                }
            }
            loop {
                match live.recv().await {
                    Ok(change) if change.revision < next => continue,
                    Ok(change) => {
                        next = change.revision + 1;
                        if let Some(change) = only_prefix(change)
                            && sender.send(Ok(change)).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let _ = sender.send(Err(WatchEnd::Compacted)).await;
                        return;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        let _ = sender
                            .send(Err(WatchEnd::Disconnected("the store was closed".into())))
                            .await;
                        return;
                    }
                }
            }
        });
        Ok(receiver)
    }

    async fn put_expiring(
        &self,
        key: &str,
        value: Vec<u8>,
        _ttl: std::time::Duration,
        only_if: Option<Compare>,
    ) -> Result<bool> {
        let op = Op::Put {
            key: key.to_owned(),
            value,
        };
        let outcome = self.txn(only_if.into_iter().collect(), vec![op]).await?;
        Ok(matches!(outcome, TxnOutcome::Committed { .. }))
    }

    async fn put_leased(
        &self,
        key: &str,
        value: Vec<u8>,
        _ttl: std::time::Duration,
    ) -> Result<i64> {
        let op = Op::Put {
            key: key.to_owned(),
            value,
        };
        self.txn(Vec::new(), vec![op]).await?;
        Ok(0)
    }

    async fn keep_alive(&self, _lease: i64) -> Result<bool> {
        Ok(true)
    }

    async fn release(&self, _lease: i64, key: &str) -> Result<()> {
        let op = Op::Delete {
            key: key.to_owned(),
        };
        self.txn(Vec::new(), vec![op]).await?;
        Ok(())
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        let mut recent = self.changes.recent.lock().expect("not poisoned");
        while recent.front().is_some_and(|c| c.revision < revision) {
            recent.pop_front();
        }
        if recent.is_empty() {
            *self.changes.compacted.lock().expect("not poisoned") = revision;
        }
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        self.blocking(|db| db.begin_read().map(|_| ()).map_err(backend))
            .await
    }
}

impl Changes {
    fn publish(&self, change: KvChange) {
        {
            let mut recent = self.recent.lock().expect("not poisoned");
            if recent.len() == WATCH_BUFFER {
                recent.pop_front();
            }
            recent.push_back(change.clone());
        }
        // No receiver is fine: nobody is watching.
        let _ = self.live.send(change);
    }
}
