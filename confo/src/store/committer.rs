//! The committer: one task per [`Store`](super::Store) that turns planned changes into
//! compare-and-swap transactions.
//!
//! Changes that arrive while a transaction is under way wait and are then planned together, one
//! after another, each seeing the ones before it, and committed in one transaction (group
//! commit). So writers in one process never collide with each other, only with other processes,
//! and a burst of changes costs a few round trips instead of one each.
//!
//! A round: read every key the waiting changes named, plus the audit head, in one request; run
//! each planner on those values as changed by the planners before it; chain their audit entries;
//! send one transaction comparing the revision of every key read. If a comparison fails (another
//! process wrote first) the whole round is planned again on fresh values. A planner that
//! answered a conflict only because of an earlier change in the same round is planned again next
//! round, on real revisions. If the transaction's answer is lost, [`settle`] finds out whether it
//! was applied, and makes sure it never will be if it was not.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use super::{Change, Decision, Reads, Written};
use crate::audit::{AuditEntry, AuditHead};
use crate::error::{Error, Result};
use crate::keys::KeyLayout;
use crate::kv::{
    Compare, KeyValue, Kv, MAX_REQUEST_BYTES, MAX_TXN_OPS, Op, TxnOutcome, check_txn_limits,
    txn_size,
};

/// How long a change keeps being planned again while other processes get in first, before it
/// gives up as [`Error::Busy`].
const RETRY_FOR: Duration = Duration::from_secs(30);
/// The longest random pause after a round lost to another process.
const MAX_BACKOFF_MS: u64 = 32;
/// The most changes planned in one round.
const MAX_BATCH: usize = 256;
/// Room left in each transaction for the audit head and the protocol's own bytes.
const HEADROOM_BYTES: usize = 4096;

pub(crate) type Planner = Box<dyn FnMut(&Reads) -> Result<Decision> + Send>;

struct Request {
    change: Change,
    keys: Vec<String>,
    planner: Planner,
    reply: oneshot::Sender<Result<Written>>,
    started: Instant,
}

/// Sends changes to the committer task.
pub(crate) struct Handle {
    requests: mpsc::UnboundedSender<Request>,
}

impl Handle {
    pub(crate) async fn submit(
        &self,
        change: Change,
        keys: Vec<String>,
        planner: Planner,
    ) -> Result<Written> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            change,
            keys,
            planner,
            reply,
            started: Instant::now(),
        };
        self.requests
            .send(request)
            .map_err(|_| Error::Backend("the store's committer has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Backend("the store's committer stopped during a change".into()))?
    }
}

/// What a store's committer has done so far: how often another process got in first, and how
/// often a transaction's answer was lost and what [`Committer::settle`] then found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions sent.
    pub transactions: u64,
    /// Rounds whose comparison failed because another process wrote first; their changes were
    /// planned again on fresh values.
    pub rounds_lost: u64,
    /// Transactions whose answer was lost (the store reported it unavailable).
    pub answers_lost: u64,
    /// ... of which the transaction turned out to be applied: reported saved.
    pub lost_but_applied: u64,
    /// ... of which it was not applied and was fenced off: planned again.
    pub lost_and_fenced: u64,
    /// ... of which the store could not tell: reported unavailable to the caller.
    pub lost_unknown: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    transactions: AtomicU64,
    rounds_lost: AtomicU64,
    answers_lost: AtomicU64,
    lost_but_applied: AtomicU64,
    lost_and_fenced: AtomicU64,
    lost_unknown: AtomicU64,
}

impl Counters {
    pub(crate) fn read(&self) -> CommitStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CommitStats {
            transactions: get(&self.transactions),
            rounds_lost: get(&self.rounds_lost),
            answers_lost: get(&self.answers_lost),
            lost_but_applied: get(&self.lost_but_applied),
            lost_and_fenced: get(&self.lost_and_fenced),
            lost_unknown: get(&self.lost_unknown),
        }
    }
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Starts the committer task; it ends when the last [`Handle`] is dropped.
pub(crate) fn start(kv: Arc<dyn Kv>, layout: KeyLayout, counters: Arc<Counters>) -> Handle {
    let (requests, receiver) = mpsc::unbounded_channel();
    tokio::spawn(run(
        Committer {
            kv,
            layout,
            counters,
        },
        receiver,
    ));
    Handle { requests }
}

struct Committer {
    kv: Arc<dyn Kv>,
    layout: KeyLayout,
    counters: Arc<Counters>,
}

async fn run(committer: Committer, mut receiver: mpsc::UnboundedReceiver<Request>) {
    let mut pending: VecDeque<Request> = VecDeque::new();
    let mut lost_rounds: u32 = 0;
    loop {
        if pending.is_empty() {
            match receiver.recv().await {
                Some(request) => pending.push_back(request),
                None => return,
            }
        }
        while let Ok(request) = receiver.try_recv() {
            pending.push_back(request);
        }
        if lost_rounds > 0 {
            backoff(lost_rounds).await;
        }
        let take = pending.len().min(MAX_BATCH);
        let batch: Vec<Request> = pending.drain(..take).collect();
        let outcome = committer.round(batch).await;
        lost_rounds = if outcome.lost { lost_rounds + 1 } else { 0 };
        for request in outcome.again.into_iter().rev() {
            if request.started.elapsed() > RETRY_FOR {
                let target = request.keys.first().cloned().unwrap_or_default();
                let _ = request.reply.send(Err(Error::Busy(target)));
            } else {
                pending.push_front(request);
            }
        }
    }
}

/// What a round leaves to do.
#[derive(Default)]
struct RoundOutcome {
    /// Changes to plan again next round, in order.
    again: Vec<Request>,
    /// Whether another process got in first.
    lost: bool,
}

/// A change accepted into this round's transaction.
struct Accepted {
    request: Request,
    last_seq: u64,
}

impl Committer {
    async fn round(&self, batch: Vec<Request>) -> RoundOutcome {
        let head_key = self.layout.audit_head();
        let mut keys: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for key in batch.iter().flat_map(|r| r.keys.iter()).chain([&head_key]) {
            if seen.insert(key.clone()) {
                keys.push(key.clone());
            }
        }
        let base = match self.read(&keys).await {
            Ok(base) => base,
            Err(error) => {
                for request in batch {
                    let _ = request.reply.send(Err(error.clone()));
                }
                return RoundOutcome::default();
            }
        };
        let head_read = base.get(&head_key).cloned();
        let head = match parse_head(head_read.as_ref()) {
            Ok(head) => head,
            Err(error) => {
                for request in batch {
                    let _ = request.reply.send(Err(error.clone()));
                }
                return RoundOutcome::default();
            }
        };

        let write_id = new_write_id();
        let time = Utc::now();
        let mut overlay = base.clone();
        let mut touched: HashSet<String> = HashSet::new();
        let mut compared: HashSet<String> = HashSet::new();
        let mut ops: Vec<Op> = Vec::new();
        let mut bytes = HEADROOM_BYTES;
        let mut chain = head.clone();
        let mut accepted: Vec<Accepted> = Vec::new();
        let mut outcome = RoundOutcome::default();

        for mut request in batch {
            let depends_on_round = request.keys.iter().any(|k| touched.contains(k));
            let plan = match (request.planner)(&overlay) {
                Ok(Decision::Write(plan)) => plan,
                Ok(Decision::Unchanged(revision)) if !depends_on_round => {
                    let _ = request.reply.send(Ok(Written {
                        revision,
                        seq: head.seq,
                    }));
                    continue;
                }
                // Decided on values this round has not written yet: decide again on real ones.
                Ok(Decision::Unchanged(_)) | Err(Error::Conflict { .. }) if depends_on_round => {
                    outcome.again.push(request);
                    continue;
                }
                Ok(Decision::Unchanged(_)) => unreachable!("handled above"),
                Err(error) => {
                    let _ = request.reply.send(Err(error));
                    continue;
                }
            };

            let mut plan_ops = plan.ops;
            let mut entries_chain = chain.clone();
            let mut last_seq = chain.seq;
            for draft in plan.drafts {
                let (patch, unpatch) = match &draft.before_after {
                    Some((before, after)) => (
                        Some(json_patch::diff(before, after)),
                        Some(json_patch::diff(after, before)),
                    ),
                    None => (None, None),
                };
                let mut entry = AuditEntry {
                    seq: entries_chain.seq + 1,
                    time,
                    actor: request.change.actor.clone(),
                    action: draft.action,
                    namespace: draft.namespace,
                    configuration: draft.configuration,
                    field: draft.field,
                    user: draft.user,
                    comment: draft.comment.or_else(|| request.change.comment.clone()),
                    request: draft.request,
                    patch,
                    unpatch,
                    write_id: write_id.clone(),
                    prev_hash: entries_chain.hash.clone(),
                    hash: String::new(),
                };
                entry.hash = entry.compute_hash();
                plan_ops.push(Op::Put {
                    key: self.layout.audit_entry(entry.seq),
                    value: serde_json::to_vec(&entry).expect("entries serialise"),
                });
                if let Some((namespace, configuration)) = &draft.history {
                    plan_ops.push(Op::Put {
                        key: self
                            .layout
                            .history_entry(namespace, configuration, entry.seq),
                        value: Vec::new(),
                    });
                }
                entries_chain = AuditHead {
                    seq: entry.seq,
                    hash: entry.hash,
                };
                last_seq = entries_chain.seq;
            }

            // A change too large on its own is refused; one that does not fit beside the others
            // waits for the next round.
            let own_compares: Vec<Compare> = plan.compares.clone();
            let alone = with_head(
                &own_compares,
                &plan_ops,
                (&head_key, head_read.as_ref()),
                &entries_chain,
            );
            if let Err(error) = check_txn_limits(&alone.0, &alone.1) {
                let _ = request.reply.send(Err(error));
                continue;
            }
            let plan_bytes = txn_size(&own_compares, &plan_ops);
            if !accepted.is_empty()
                && (ops.len() + plan_ops.len() + 1 > MAX_TXN_OPS
                    || bytes + plan_bytes > MAX_REQUEST_BYTES)
            {
                outcome.again.push(request);
                continue;
            }

            for Compare::ModRevision { key, .. } in &own_compares {
                compared.insert(key.clone());
            }
            for op in &plan_ops {
                match op {
                    Op::Put { key, value } => {
                        touched.insert(key.clone());
                        overlay.0.insert(
                            key.clone(),
                            Some(KeyValue {
                                key: key.clone(),
                                value: value.clone(),
                                mod_revision: -1,
                            }),
                        );
                    }
                    Op::Delete { key } => {
                        touched.insert(key.clone());
                        overlay.0.insert(key.clone(), None);
                    }
                }
            }
            bytes += plan_bytes;
            ops.extend(plan_ops);
            chain = entries_chain;
            accepted.push(Accepted { request, last_seq });
        }

        if accepted.is_empty() {
            return outcome;
        }
        // Every comparison is against the values read at the start of the round.
        let mut compares: Vec<Compare> = compared
            .iter()
            .map(|key| Compare::unchanged(key, base.get(key)))
            .collect();
        compares.push(Compare::unchanged(&head_key, head_read.as_ref()));
        ops.push(Op::Put {
            key: head_key.clone(),
            value: serde_json::to_vec(&chain).expect("heads serialise"),
        });
        let ops = last_write_per_key(ops);

        count(&self.counters.transactions);
        let answer = match self.kv.txn(compares, ops).await {
            Ok(TxnOutcome::Committed { revision }) => Ok(Some(revision)),
            Ok(TxnOutcome::CompareFailed) => {
                count(&self.counters.rounds_lost);
                Ok(None)
            }
            Err(Error::Unavailable(detail)) => {
                count(&self.counters.answers_lost);
                let last = AuditHead {
                    seq: chain.seq,
                    hash: chain.hash.clone(),
                };
                match self.settle(&last, &write_id, head_read.as_ref()).await {
                    Ok(Some(revision)) => {
                        count(&self.counters.lost_but_applied);
                        Ok(Some(revision))
                    }
                    Ok(None) => {
                        count(&self.counters.lost_and_fenced);
                        tracing::warn!(%detail, "a write's answer was lost; it was not applied and is planned again");
                        Ok(None)
                    }
                    Err(error) => {
                        count(&self.counters.lost_unknown);
                        Err(error)
                    }
                }
            }
            Err(error) => Err(error),
        };
        match answer {
            Ok(Some(revision)) => {
                for Accepted { request, last_seq } in accepted {
                    let _ = request.reply.send(Ok(Written {
                        revision,
                        seq: last_seq,
                    }));
                }
            }
            Ok(None) => {
                outcome.lost = true;
                let mut again: Vec<Request> = accepted.into_iter().map(|a| a.request).collect();
                again.append(&mut outcome.again);
                outcome.again = again;
            }
            Err(error) => {
                for Accepted { request, .. } in accepted {
                    let _ = request.reply.send(Err(error.clone()));
                }
            }
        }
        outcome
    }

    /// Reads `keys` in as few requests as the backend allows.
    async fn read(&self, keys: &[String]) -> Result<Reads> {
        let mut reads = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_TXN_OPS) {
            let values = self.kv.get_many(chunk).await?;
            reads.extend(chunk.iter().cloned().zip(values));
        }
        Ok(Reads(reads))
    }

    /// Finds out whether a transaction whose answer was lost was applied: its last audit entry
    /// is there with its write id. If it is not, writes the audit head back unchanged so that its
    /// revision moves on; the lost transaction compares the old revision and can then never
    /// apply. Answers the revision if it was applied, `None` if it was fenced off, and
    /// [`Error::OutcomeUnknown`] if the store cannot tell.
    async fn settle(
        &self,
        last: &AuditHead,
        write_id: &str,
        head_read: Option<&KeyValue>,
    ) -> Result<Option<i64>> {
        let unknown = Error::OutcomeUnknown;
        let entry_key = self.layout.audit_entry(last.seq);
        let head_key = self.layout.audit_head();
        for _ in 0..3 {
            if let Some(found) = self
                .kv
                .get(&entry_key)
                .await
                .map_err(|e| unknown(e.to_string()))?
            {
                let entry: AuditEntry =
                    serde_json::from_slice(&found.value).map_err(|e| Error::Corrupt {
                        key: entry_key.clone(),
                        reason: e.to_string(),
                    })?;
                return Ok((entry.write_id == write_id).then_some(found.mod_revision));
            }
            let fence = Op::Put {
                key: head_key.clone(),
                value: match head_read {
                    Some(kv) => kv.value.clone(),
                    None => serde_json::to_vec(&AuditHead::default()).expect("heads serialise"),
                },
            };
            match self
                .kv
                .txn(vec![Compare::unchanged(&head_key, head_read)], vec![fence])
                .await
            {
                Ok(TxnOutcome::Committed { .. }) => return Ok(None),
                // The head moved: our write or another landed; look again.
                Ok(TxnOutcome::CompareFailed) => continue,
                Err(e) => return Err(unknown(e.to_string())),
            }
        }
        Err(unknown("the audit head kept moving".into()))
    }
}

/// Several changes in one round may write the same key (a namespace's index, say); a
/// transaction may write each key once, so only the last write of each stays.
fn last_write_per_key(ops: Vec<Op>) -> Vec<Op> {
    let key = |op: &Op| match op {
        Op::Put { key, .. } | Op::Delete { key } => key.clone(),
    };
    let mut last: HashMap<String, usize> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        last.insert(key(op), i);
    }
    ops.into_iter()
        .enumerate()
        .filter(|(i, op)| last.get(&key(op)) == Some(i))
        .map(|(_, op)| op)
        .collect()
}

/// A change's transaction as it would be sent alone: with the audit head compared and written.
fn with_head(
    compares: &[Compare],
    ops: &[Op],
    (head_key, head_read): (&str, Option<&KeyValue>),
    head: &AuditHead,
) -> (Vec<Compare>, Vec<Op>) {
    let mut compares = compares.to_vec();
    compares.push(Compare::unchanged(head_key, head_read));
    let mut ops = ops.to_vec();
    ops.push(Op::Put {
        key: head_key.to_owned(),
        value: serde_json::to_vec(head).expect("heads serialise"),
    });
    (compares, ops)
}

fn new_write_id() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// Waits a random time that grows with the number of rounds lost in a row.
async fn backoff(lost_rounds: u32) {
    use rand::Rng;
    let ceiling = (1u64 << lost_rounds.min(6)).min(MAX_BACKOFF_MS);
    let millis = rand::rng().random_range(0..=ceiling);
    if millis > 0 {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
}

pub(crate) fn parse_head(read: Option<&KeyValue>) -> Result<AuditHead> {
    match read {
        None => Ok(AuditHead::default()),
        Some(kv) => serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
            key: kv.key.clone(),
            reason: format!("not an audit head ({e})"),
        }),
    }
}
