//! A small etcd-shaped key-value interface that both backends implement.
//!
//! Every key carries the revision of its last change (`mod_revision`); a transaction applies its
//! operations only when every comparison holds, which is how every write in Confo avoids lost
//! updates.

pub mod embedded;
pub mod etcd;

use async_trait::async_trait;

use crate::error::Result;

/// etcd refuses requests larger than this (its default `--max-request-bytes`, 1.5 MiB).
pub const MAX_REQUEST_BYTES: usize = 1536 * 1024;
/// etcd refuses transactions with more operations than this (its default `--max-txn-ops`).
pub const MAX_TXN_OPS: usize = 128;

/// One stored key with its value and revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// The store revision of the last change to this key.
    pub mod_revision: i64,
}

/// A condition a transaction checks before it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compare {
    /// The key was last changed at this revision; `0` means the key must not exist.
    ModRevision { key: String, revision: i64 },
}

impl Compare {
    /// The key is exactly as `read` saw it (or still absent if `read` is `None`).
    pub fn unchanged(key: impl Into<String>, read: Option<&KeyValue>) -> Self {
        Compare::ModRevision {
            key: key.into(),
            revision: read.map_or(0, |kv| kv.mod_revision),
        }
    }
}

/// A change a transaction makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

/// Bytes a request item adds besides its key and value: an upper bound of etcd's protobuf framing
/// (a put: tags and lengths of its key, value, request and operation, at most 15; a comparison:
/// its target, a revision of up to ten bytes and the same wrappers, at most 21).
const ITEM_OVERHEAD: usize = 24;
/// Bytes etcd adds to every transaction before it checks the size against
/// [`MAX_REQUEST_BYTES`]: the raft request's header (id, auth revision, and the user name when
/// etcd authentication is on: room for one of up to 400 bytes) and framing.
const ENVELOPE: usize = 512;

impl Op {
    /// The bytes this operation adds to a transaction request.
    pub(crate) fn size(&self) -> usize {
        ITEM_OVERHEAD
            + match self {
                Op::Put { key, value } => key.len() + value.len(),
                Op::Delete { key } => key.len(),
            }
    }
}

impl Compare {
    /// The bytes this comparison adds to a transaction request.
    pub(crate) fn size(&self) -> usize {
        let Compare::ModRevision { key, .. } = self;
        ITEM_OVERHEAD + key.len()
    }
}

/// The bytes a transaction request carries, as [`check_txn_limits`] counts them: never fewer
/// than etcd counts, so that a change Confo lets through is never refused by etcd for its size.
pub fn txn_size(compares: &[Compare], ops: &[Op]) -> usize {
    ENVELOPE
        + compares.iter().map(Compare::size).sum::<usize>()
        + ops.iter().map(Op::size).sum::<usize>()
}

/// What a transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOutcome {
    /// Every comparison held and every operation was applied at this store revision.
    Committed { revision: i64 },
    /// A comparison failed; nothing was written.
    CompareFailed,
}

/// The keys one revision changed (`value: None` for a deletion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvChange {
    pub revision: i64,
    pub changes: Vec<(String, Option<Vec<u8>>)>,
}

/// Why a watch stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEnd {
    /// The revisions asked for are no longer kept (etcd compacted them, or the embedded store's
    /// buffer moved on): re-read, then watch from the current revision.
    Compacted,
    /// The connection broke; watching again from the next revision misses nothing.
    Disconnected(String),
}

/// What a backend's watch sends: one item per revision, in order, and at most one `Err` last.
pub type WatchReceiver = tokio::sync::mpsc::Receiver<std::result::Result<KvChange, WatchEnd>>;

/// The storage backends' common interface.
#[async_trait]
pub trait Kv: Send + Sync + 'static {
    /// Reads one key.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;
    /// Reads several keys at one revision (one round trip where the backend allows), in the order
    /// asked.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<KeyValue>>>;
    /// Reads every key that starts with `prefix`, in key order.
    async fn list_prefix(&self, prefix: &str) -> Result<Vec<KeyValue>> {
        self.range(prefix, &prefix_end(prefix), 0, false).await
    }
    /// The keys (without values) that start with `prefix`, in key order: cheaper than
    /// [`Kv::list_prefix`] where values are large or remote.
    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .list_prefix(prefix)
            .await?
            .into_iter()
            .map(|kv| kv.key)
            .collect())
    }
    /// Reads the keys in `[start, end)`, in key order or (with `reverse`) the opposite, at most
    /// `limit` of them (`0`: no limit).
    async fn range(
        &self,
        start: &str,
        end: &str,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<KeyValue>>;
    /// Applies `ops` atomically if every comparison in `compares` holds.
    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnOutcome>;
    /// Checks that the backend answers.
    async fn ping(&self) -> Result<()>;
    /// The store's current revision.
    async fn revision(&self) -> Result<i64>;
    /// Streams every change to keys under `prefix` from revision `from` on.
    async fn watch(&self, prefix: &str, from: i64) -> Result<WatchReceiver>;
    /// Writes `key` and lets it disappear after `ttl` (an etcd lease), only if `only_if` holds
    /// (always when `None`); answers whether it wrote. The embedded store keeps the key until
    /// deleted; callers that need expiry there check it on read. For records that are safe to
    /// write twice, such as sessions.
    async fn put_expiring(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: std::time::Duration,
        only_if: Option<Compare>,
    ) -> Result<bool>;
    /// Writes `key` under a new lease of `ttl` and answers the lease, which [`Kv::keep_alive`]
    /// renews and [`Kv::release`] ends. The key disappears when the lease ends, at the latest
    /// `ttl` after the last renewal (say, when this process dies). The embedded store, used by
    /// one process only, has no leases: it answers 0 and keeps the key until released.
    async fn put_leased(&self, key: &str, value: Vec<u8>, ttl: std::time::Duration) -> Result<i64>;
    /// Renews `lease` for another of its `ttl`; answers false when it had already ended (what
    /// it held is gone).
    async fn keep_alive(&self, lease: i64) -> Result<bool>;
    /// Ends `lease` now, and with it `key`.
    async fn release(&self, lease: i64, key: &str) -> Result<()>;
    /// Forgets the change history before `revision`: watches from an older revision end with
    /// [`WatchEnd::Compacted`]. Current values are untouched.
    async fn compact(&self, revision: i64) -> Result<()>;
}

/// The smallest string above every string that starts with `prefix`.
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

/// Refuses, before anything is sent, a transaction that etcd would refuse.
pub fn check_txn_limits(compares: &[Compare], ops: &[Op]) -> Result<()> {
    use crate::error::Error;
    if compares.len() > MAX_TXN_OPS {
        return Err(Error::TooLarge {
            what: "the change's comparisons".into(),
            size: compares.len(),
            limit: MAX_TXN_OPS,
            unit: "keys",
        });
    }
    if ops.len() > MAX_TXN_OPS {
        return Err(Error::TooLarge {
            what: "the change".into(),
            size: ops.len(),
            limit: MAX_TXN_OPS,
            unit: "operations",
        });
    }
    let mut written = std::collections::HashSet::new();
    for op in ops {
        let (Op::Put { key, .. } | Op::Delete { key }) = op;
        if !written.insert(key) {
            return Err(Error::Backend(format!(
                "a transaction may change each key once, and {key:?} is changed twice"
            )));
        }
    }
    let size = txn_size(compares, ops);
    if size > MAX_REQUEST_BYTES {
        return Err(Error::TooLarge {
            what: "the change".into(),
            size,
            limit: MAX_REQUEST_BYTES,
            unit: "bytes",
        });
    }
    Ok(())
}
