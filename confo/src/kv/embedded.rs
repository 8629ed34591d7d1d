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

use super::{Compare, KeyValue, Kv, Op, TxnOutcome, check_txn_limits};
use crate::error::{Error, Result};

/// Each key's value and the revision of its last change.
const KEYS: TableDefinition<&str, (i64, &[u8])> = TableDefinition::new("keys");
/// The store's current revision, under [`REVISION`].
const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
const REVISION: &str = "revision";

/// The file name inside the data directory.
pub const FILE_NAME: &str = "confo.redb";

/// An embedded store in one file.
#[derive(Clone)]
pub struct EmbeddedKv {
    db: Arc<Database>,
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
        Ok(Self { db: Arc::new(db) })
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
        self.blocking(move |db| {
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
            txn.commit().map_err(backend)?;
            Ok(TxnOutcome::Committed { revision })
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        self.blocking(|db| db.begin_read().map(|_| ()).map_err(backend))
            .await
    }
}
