//! Confo's operations on namespaces, configurations and fields, on any [`Kv`] backend.
//!
//! Every write goes through [`Store::commit`]: it reads the keys a change depends on and the audit
//! head in one round trip, lets a pure planner decide the change, and sends one transaction that
//! compares every revision it read and writes the change together with its audit entries. When a
//! comparison fails the planner runs again on fresh reads; a planner given an expected revision
//! that no longer holds answers [`Error::Conflict`] instead. When the answer to a transaction is
//! lost, the write is neither assumed nor sent again: [`Store::commit`] reads to find out and
//! fences the audit head so that a late delivery cannot apply it behind the caller's back.

mod configurations;
mod history;
mod namespaces;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::{Map, Value};

pub use configurations::{Configuration, ConfigurationListing};
pub use history::{FieldChange, Version};

use crate::audit::{Action, Actor, AuditEntry, AuditHead};
use crate::error::{Error, Result};
use crate::keys::KeyLayout;
use crate::kv::{Compare, KeyValue, Kv, Op, TxnOutcome};
use crate::names::{ConfigurationName, NamespaceName};

/// How often a change is planned again on fresh reads after other writers got in first. Each
/// try follows a definite "compare failed" answer, never an ambiguous one.
const ATTEMPTS: usize = 200;

/// The entry point for every read and write of configuration.
#[derive(Clone)]
pub struct Store {
    kv: Arc<dyn Kv>,
    layout: KeyLayout,
}

/// Who makes a change, and why: recorded in the audit log with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub actor: Actor,
    pub comment: Option<String>,
}

impl Change {
    pub fn by(actor: Actor) -> Self {
        Self {
            actor,
            comment: None,
        }
    }

    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        let comment = comment.into();
        self.comment = (!comment.trim().is_empty()).then_some(comment);
        self
    }
}

/// What a committed change produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// The store revision of the change (the new revision of every key it wrote).
    pub revision: i64,
    /// The number of its (last) audit entry.
    pub seq: u64,
}

/// The keys a change read, by key.
pub(crate) struct Reads(HashMap<String, Option<KeyValue>>);

impl Reads {
    pub(crate) fn get(&self, key: &str) -> Option<&KeyValue> {
        self.0.get(key).and_then(Option::as_ref)
    }
}

/// One audit entry a change will write.
pub(crate) struct Draft {
    pub action: Action,
    pub namespace: Option<String>,
    pub configuration: Option<String>,
    pub field: Option<String>,
    /// The configuration before and after (`Null` where it does not exist), for its patches.
    pub before_after: Option<(Value, Value)>,
    /// Also index the entry in this configuration's history.
    pub history: Option<(NamespaceName, ConfigurationName)>,
}

/// What a planner decided: the comparisons and writes of one transaction, and its audit entries.
#[derive(Default)]
pub(crate) struct Plan {
    pub compares: Vec<Compare>,
    pub ops: Vec<Op>,
    pub drafts: Vec<Draft>,
}

impl Plan {
    /// The key must still be as it was read.
    pub(crate) fn compare(&mut self, key: &str, reads: &Reads) {
        self.compares.push(Compare::unchanged(key, reads.get(key)));
    }

    pub(crate) fn put_json(&mut self, key: &str, value: &Value) {
        self.ops.push(Op::Put {
            key: key.to_owned(),
            value: serde_json::to_vec(value).expect("JSON values always serialise"),
        });
    }

    pub(crate) fn delete(&mut self, key: &str) {
        self.ops.push(Op::Delete {
            key: key.to_owned(),
        });
    }
}

/// A planner's answer: a plan, or nothing to do (with the revision that already holds).
pub(crate) enum Decision {
    Write(Plan),
    Unchanged(i64),
}

/// Parses a stored JSON value, reporting a bad one with its key.
pub(crate) fn parse_json(kv: &KeyValue) -> Result<Value> {
    serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
        key: kv.key.clone(),
        reason: format!("not valid JSON ({e})"),
    })
}

pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A parsed index key (`confo` or `<namespace>`): its list of names, plus any other members the
/// object holds, which are written back untouched.
pub(crate) struct Index {
    object: Map<String, Value>,
    field: &'static str,
}

impl Index {
    pub(crate) fn parse(read: Option<&KeyValue>, field: &'static str) -> Result<Self> {
        let object = match read {
            None => Map::new(),
            Some(kv) => match parse_json(kv)? {
                Value::Object(object) => object,
                other => {
                    return Err(Error::Corrupt {
                        key: kv.key.clone(),
                        reason: format!("expected a JSON object, found {}", kind_of(&other)),
                    });
                }
            },
        };
        match object.get(field) {
            None | Some(Value::Array(_)) => Ok(Self { object, field }),
            Some(other) => Err(Error::Corrupt {
                key: read.map(|kv| kv.key.clone()).unwrap_or_default(),
                reason: format!("\"{field}\" should be a list, found {}", kind_of(other)),
            }),
        }
    }

    pub(crate) fn names(&self) -> Vec<String> {
        match self.object.get(self.field) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        match self.object.get(self.field) {
            Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(name)),
            _ => false,
        }
    }

    /// The index with each of `names` appended if missing (in order, never twice).
    pub(crate) fn with(&self, names: &[&str]) -> Value {
        let mut object = self.object.clone();
        let list = object
            .entry(self.field)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            for name in names {
                if !items.iter().any(|v| v.as_str() == Some(name)) {
                    items.push(Value::String((*name).to_owned()));
                }
            }
        }
        Value::Object(object)
    }

    /// The index without `name`.
    pub(crate) fn without(&self, name: &str) -> Value {
        let mut object = self.object.clone();
        if let Some(Value::Array(items)) = object.get_mut(self.field) {
            items.retain(|v| v.as_str() != Some(name));
        }
        Value::Object(object)
    }

    /// An empty index of this kind, as the original Confo writes it.
    pub(crate) fn empty(field: &'static str) -> Value {
        let mut object = Map::new();
        object.insert(field.to_owned(), Value::Array(Vec::new()));
        Value::Object(object)
    }
}

fn new_write_id() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

impl Store {
    pub fn new(kv: Arc<dyn Kv>, layout: KeyLayout) -> Self {
        Self { kv, layout }
    }

    pub fn layout(&self) -> &KeyLayout {
        &self.layout
    }

    /// The backend, for callers that need raw access (benchmarks, tests).
    pub fn kv(&self) -> &Arc<dyn Kv> {
        &self.kv
    }

    /// Checks that the backend answers.
    pub async fn ping(&self) -> Result<()> {
        self.kv.ping().await
    }

    pub(crate) async fn read_head(&self) -> Result<(Option<KeyValue>, AuditHead)> {
        let key = self.layout.audit_head();
        let read = self.kv.get(&key).await?;
        let head = parse_head(read.as_ref())?;
        Ok((read, head))
    }

    /// Reads `keys` and the audit head, asks `planner` what to write, and writes it with its
    /// audit entries in one compare-and-swap transaction (see the module documentation).
    pub(crate) async fn commit<F>(
        &self,
        change: &Change,
        keys: Vec<String>,
        mut planner: F,
    ) -> Result<Written>
    where
        F: FnMut(&Reads) -> Result<Decision>,
    {
        let head_key = self.layout.audit_head();
        let mut all_keys = keys;
        all_keys.push(head_key.clone());
        let target = all_keys.first().cloned().unwrap_or_default();
        for _ in 0..ATTEMPTS {
            let values = self.kv.get_many(&all_keys).await?;
            let reads = Reads(all_keys.iter().cloned().zip(values).collect());
            let head_read = reads.get(&head_key).cloned();
            let head = parse_head(head_read.as_ref())?;
            let mut plan = match planner(&reads)? {
                Decision::Write(plan) => plan,
                Decision::Unchanged(revision) => {
                    return Ok(Written {
                        revision,
                        seq: head.seq,
                    });
                }
            };
            let entries = self.entries(change, &head, std::mem::take(&mut plan.drafts));
            let last = entries.last().expect("every change is audited").0.clone();
            for (entry, history) in &entries {
                plan.put_json(
                    &self.layout.audit_entry(entry.seq),
                    &serde_json::to_value(entry).expect("entries serialise"),
                );
                if let Some((namespace, configuration)) = history {
                    plan.ops.push(Op::Put {
                        key: self
                            .layout
                            .history_entry(namespace, configuration, entry.seq),
                        value: Vec::new(),
                    });
                }
            }
            plan.put_json(
                &head_key,
                &serde_json::to_value(AuditHead {
                    seq: last.seq,
                    hash: last.hash.clone(),
                })
                .expect("heads serialise"),
            );
            plan.compares
                .push(Compare::unchanged(&head_key, head_read.as_ref()));
            match self.kv.txn(plan.compares, plan.ops).await {
                Ok(TxnOutcome::Committed { revision }) => {
                    return Ok(Written {
                        revision,
                        seq: last.seq,
                    });
                }
                Ok(TxnOutcome::CompareFailed) => continue,
                Err(Error::Unavailable(detail)) => {
                    match self.settle(&last, head_read.as_ref()).await? {
                        Some(written) => return Ok(written),
                        // Fenced: it will never apply, so planning it again is safe.
                        None => {
                            tracing::warn!(%detail, "a write's answer was lost; it was not applied and is tried again");
                            continue;
                        }
                    }
                }
                Err(error) => return Err(error),
            }
        }
        Err(Error::Busy(target))
    }

    /// The chained audit entries of `drafts`, each with the configuration whose history it
    /// belongs to.
    fn entries(
        &self,
        change: &Change,
        head: &AuditHead,
        drafts: Vec<Draft>,
    ) -> Vec<(AuditEntry, Option<(NamespaceName, ConfigurationName)>)> {
        let write_id = new_write_id();
        let time = Utc::now();
        let mut prev = head.clone();
        let mut entries = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let (patch, unpatch) = match &draft.before_after {
                Some((before, after)) => (
                    Some(json_patch::diff(before, after)),
                    Some(json_patch::diff(after, before)),
                ),
                None => (None, None),
            };
            let mut entry = AuditEntry {
                seq: prev.seq + 1,
                time,
                actor: change.actor.clone(),
                action: draft.action,
                namespace: draft.namespace,
                configuration: draft.configuration,
                field: draft.field,
                comment: change.comment.clone(),
                patch,
                unpatch,
                write_id: write_id.clone(),
                prev_hash: prev.hash.clone(),
                hash: String::new(),
            };
            entry.hash = entry.compute_hash();
            prev = AuditHead {
                seq: entry.seq,
                hash: entry.hash.clone(),
            };
            entries.push((entry, draft.history));
        }
        entries
    }

    /// Finds out whether a transaction whose answer was lost was applied. If it was not, writes
    /// the audit head back unchanged so that its revision moves on: the lost transaction compares
    /// the old revision and can then never apply. Answers the write if it was applied, `None` if
    /// it was fenced off, and `Unavailable` if the store cannot tell.
    async fn settle(
        &self,
        last: &AuditEntry,
        head_read: Option<&KeyValue>,
    ) -> Result<Option<Written>> {
        let unknown = |detail: String| {
            Error::Unavailable(format!(
                "the store stopped answering during a change, and whether it was saved is unknown ({detail}); reload to see"
            ))
        };
        let entry_key = self.layout.audit_entry(last.seq);
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
                return Ok((entry.write_id == last.write_id).then_some(Written {
                    revision: found.mod_revision,
                    seq: last.seq,
                }));
            }
            let head_key = self.layout.audit_head();
            let fence = match head_read {
                Some(kv) => vec![Op::Put {
                    key: head_key.clone(),
                    value: kv.value.clone(),
                }],
                None => vec![Op::Put {
                    key: head_key.clone(),
                    value: serde_json::to_vec(&AuditHead::default()).expect("heads serialise"),
                }],
            };
            match self
                .kv
                .txn(vec![Compare::unchanged(&head_key, head_read)], fence)
                .await
            {
                Ok(TxnOutcome::Committed { .. }) => return Ok(None),
                // The head moved: either our write or someone else's landed; look again.
                Ok(TxnOutcome::CompareFailed) => continue,
                Err(e) => return Err(unknown(e.to_string())),
            }
        }
        Err(unknown("the audit head kept moving".into()))
    }
}

fn parse_head(read: Option<&KeyValue>) -> Result<AuditHead> {
    match read {
        None => Ok(AuditHead::default()),
        Some(kv) => serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
            key: kv.key.clone(),
            reason: format!("not an audit head ({e})"),
        }),
    }
}
