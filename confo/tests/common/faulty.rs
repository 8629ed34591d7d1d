//! A key-value layer that fails on purpose, deterministically: it wraps a real backend and, for
//! the next transaction only, loses its answer in one of the ways a network can.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use confo::kv::{Compare, KeyValue, Kv, Op, TxnOutcome, WatchReceiver};
use confo::{Error, Result};

/// How the next transaction fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The transaction is applied, then the answer is lost (`Unavailable`).
    ApplyThenLose,
    /// The answer is `Unavailable` and the transaction is held back, not applied. It arrives
    /// just before the `n`-th request after it, as a slow network delivers it
    /// (`deliver_before: Some(n)`), or when [`FaultyKv::deliver_late`] sends it.
    LoseBeforeApply { deliver_before: Option<usize> },
    /// Like [`Fault::LoseBeforeApply`] (held until [`FaultyKv::deliver_late`]), and every read
    /// after it fails too, until [`FaultyKv::heal`].
    LoseAndFailReads,
}

pub struct FaultyKv {
    inner: Arc<dyn Kv>,
    next: Mutex<Option<Fault>>,
    held: Mutex<Option<Held>>,
    /// What the store did with a held transaction that arrived on its own.
    arrived: Mutex<Option<TxnOutcome>>,
    reads_fail: AtomicBool,
}

struct Held {
    compares: Vec<Compare>,
    ops: Vec<Op>,
    /// Requests still to come before it arrives on its own.
    countdown: Option<usize>,
}

fn lost() -> Error {
    Error::Unavailable("the connection closed before the answer came (injected)".into())
}

impl FaultyKv {
    pub fn new(inner: Arc<dyn Kv>) -> Self {
        Self {
            inner,
            next: Mutex::new(None),
            held: Mutex::new(None),
            arrived: Mutex::new(None),
            reads_fail: AtomicBool::new(false),
        }
    }

    /// Makes the next transaction fail as `fault` says.
    pub fn arm(&self, fault: Fault) {
        *self.next.lock().unwrap() = Some(fault);
    }

    /// Whether the armed fault has happened.
    pub fn fired(&self) -> bool {
        self.next.lock().unwrap().is_none()
    }

    pub fn heal(&self) {
        self.reads_fail.store(false, Ordering::SeqCst);
    }

    /// Sends the transaction a [`Fault::LoseBeforeApply`] held back, as a network that delivers
    /// it late would, and answers what the store did with it.
    pub async fn deliver_late(&self) -> TxnOutcome {
        let held = self
            .held
            .lock()
            .unwrap()
            .take()
            .expect("a held transaction");
        self.inner.txn(held.compares, held.ops).await.unwrap()
    }

    /// Makes another writer's `ops` land just before the `n`-th request from now (as the
    /// original Confo, writing without comparisons, might at that moment).
    pub fn write_before(&self, n: usize, ops: Vec<Op>) {
        *self.held.lock().unwrap() = Some(Held {
            compares: vec![],
            ops,
            countdown: Some(n),
        });
    }

    /// What the store did with the held transaction when it arrived on its own.
    pub fn arrived(&self) -> Option<TxnOutcome> {
        self.arrived.lock().unwrap().clone()
    }

    /// Counts a request: delivers a held transaction whose turn it is, then fails if reads
    /// fail.
    async fn request(&self) -> Result<()> {
        let due = {
            let mut held = self.held.lock().unwrap();
            match held.as_mut().and_then(|h| h.countdown.as_mut()) {
                Some(countdown) if *countdown <= 1 => held.take(),
                Some(countdown) => {
                    *countdown -= 1;
                    None
                }
                None => None,
            }
        };
        if let Some(held) = due {
            let outcome = self.inner.txn(held.compares, held.ops).await.unwrap();
            *self.arrived.lock().unwrap() = Some(outcome);
        }
        if self.reads_fail.load(Ordering::SeqCst) {
            return Err(lost());
        }
        Ok(())
    }
}

#[async_trait]
impl Kv for FaultyKv {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.request().await?;
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<KeyValue>>> {
        self.request().await?;
        self.inner.get_many(keys).await
    }

    async fn range(
        &self,
        start: &str,
        end: &str,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<KeyValue>> {
        self.request().await?;
        self.inner.range(start, end, limit, reverse).await
    }

    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnOutcome> {
        self.request().await?;
        let fault = self.next.lock().unwrap().take();
        match fault {
            None => self.inner.txn(compares, ops).await,
            Some(Fault::ApplyThenLose) => {
                self.inner.txn(compares, ops).await?;
                Err(lost())
            }
            Some(Fault::LoseBeforeApply { deliver_before }) => {
                *self.held.lock().unwrap() = Some(Held {
                    compares,
                    ops,
                    countdown: deliver_before,
                });
                Err(lost())
            }
            Some(Fault::LoseAndFailReads) => {
                *self.held.lock().unwrap() = Some(Held {
                    compares,
                    ops,
                    countdown: None,
                });
                self.reads_fail.store(true, Ordering::SeqCst);
                Err(lost())
            }
        }
    }

    async fn ping(&self) -> Result<()> {
        self.request().await?;
        self.inner.ping().await
    }

    async fn revision(&self) -> Result<i64> {
        self.request().await?;
        self.inner.revision().await
    }

    async fn watch(&self, prefix: &str, from: i64) -> Result<WatchReceiver> {
        self.inner.watch(prefix, from).await
    }

    async fn put_expiring(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: std::time::Duration,
        only_if: Option<Compare>,
    ) -> Result<bool> {
        self.request().await?;
        self.inner.put_expiring(key, value, ttl, only_if).await
    }

    async fn put_leased(&self, key: &str, value: Vec<u8>, ttl: std::time::Duration) -> Result<i64> {
        self.request().await?;
        self.inner.put_leased(key, value, ttl).await
    }

    async fn keep_alive(&self, lease: i64) -> Result<bool> {
        self.request().await?;
        self.inner.keep_alive(lease).await
    }

    async fn release(&self, lease: i64, key: &str) -> Result<()> {
        self.request().await?;
        self.inner.release(lease, key).await
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.inner.compact(revision).await
    }
}
