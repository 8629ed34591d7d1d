//! Confo's operations on namespaces, configurations and fields, on any [`Kv`] backend.
//!
//! Every write goes through [`Store::commit`]: it names the keys a change depends on and hands a
//! pure planner to the store's committer (see [`committer`]), which reads those keys and the audit
//! head in one round trip, lets the planner decide the change, and sends one transaction that
//! compares every revision read and writes the change together with its audit entries. Changes
//! that arrive together are planned one after another and committed in one transaction. When a
//! comparison fails the planner runs again on fresh reads; a planner given an expected revision
//! that no longer holds answers [`Error::Conflict`] instead. When the answer to a transaction is
//! lost, the write is neither assumed nor sent again: the committer reads to find out and fences
//! the audit head so that a late delivery cannot apply it behind the caller's back.

mod committer;
mod configurations;
mod history;
mod namespaces;
mod requests;
mod retention;
mod settings;
mod users;
mod watch;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

pub use committer::CommitStats;
pub(crate) use configurations::as_object;
pub use configurations::{Configuration, ConfigurationListing, check_field_name};
pub use history::{FieldChange, Version, diff_fields};
pub use namespaces::{MAX_DELETED_WITH_NAMESPACE, NamespaceReport};
pub use requests::{NewRequest, RebaseReport, RequestRead, StaleConfiguration};
pub use retention::{ARCHIVE_FILE, ArchiveReport};
pub use settings::{DryRun, NamespaceSettings, SchemaChoice, SettingsChange, SettingsRead};
pub use users::{SignInAttempts, SignInClient};
pub use watch::{Target, WatchEvent};

use crate::audit::{Action, Actor, AuditHead};
use crate::error::{Error, Result};
use crate::keys::KeyLayout;
use crate::kv::{Compare, KeyValue, Kv, Op};
use crate::names::{ConfigurationName, NamespaceName};

/// The entry point for every read and write of configuration.
#[derive(Clone)]
pub struct Store {
    kv: Arc<dyn Kv>,
    layout: KeyLayout,
    /// The committer task, started by the first write.
    committer: Arc<OnceLock<committer::Handle>>,
    counters: Arc<committer::Counters>,
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
#[derive(Clone, Default)]
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
    /// The user account the change is about (for `user.*` actions).
    pub user: Option<String>,
    /// Also index the entry in this configuration's history.
    pub history: Option<(NamespaceName, ConfigurationName)>,
    /// The change request the entry is about, or that published the change.
    pub request: Option<u64>,
    /// This entry's own comment, in place of the change's.
    pub comment: Option<String>,
}

impl Draft {
    /// A change to one configuration's fields, indexed in its history.
    pub(crate) fn configuration(
        action: Action,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        field: Option<String>,
        before_after: (Value, Value),
    ) -> Self {
        Self {
            action,
            namespace: Some(namespace.to_string()),
            configuration: Some(configuration.to_string()),
            field,
            before_after: Some(before_after),
            user: None,
            history: Some((namespace.clone(), configuration.clone())),
            request: None,
            comment: None,
        }
    }

    /// An event about user account `user` (created, disabled, signed in, ...).
    /// An event about nothing in particular (such as an export), its words in its comment.
    pub(crate) fn event(action: Action) -> Self {
        Self {
            action,
            namespace: None,
            configuration: None,
            field: None,
            before_after: None,
            user: None,
            history: None,
            request: None,
            comment: None,
        }
    }

    pub(crate) fn user(action: Action, user: &str) -> Self {
        Self {
            action,
            namespace: None,
            configuration: None,
            field: None,
            before_after: None,
            user: Some(user.to_owned()),
            history: None,
            request: None,
            comment: None,
        }
    }

    /// A change to a namespace, or to which configurations it lists (`configuration`).
    pub(crate) fn namespace(
        action: Action,
        namespace: &NamespaceName,
        configuration: Option<&ConfigurationName>,
    ) -> Self {
        Self {
            action,
            namespace: Some(namespace.to_string()),
            configuration: configuration.map(ToString::to_string),
            field: None,
            before_after: None,
            user: None,
            history: None,
            request: None,
            comment: None,
        }
    }

    /// An event of change request `id` in `namespace`.
    pub(crate) fn request(action: Action, namespace: &str, id: u64) -> Self {
        Self {
            action,
            namespace: Some(namespace.to_owned()),
            configuration: None,
            field: None,
            before_after: None,
            user: None,
            history: None,
            request: Some(id),
            comment: None,
        }
    }
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

pub fn kind_of(value: &Value) -> &'static str {
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

    /// The index with `add` appended (where missing) and `remove` taken out; `None` when that
    /// changes nothing.
    pub(crate) fn edited(&self, add: &[String], remove: &[String]) -> Option<Value> {
        let adds = add.iter().any(|name| !self.contains(name));
        let removes = remove.iter().any(|name| self.contains(name));
        if !adds && !removes {
            return None;
        }
        let names: Vec<&str> = add.iter().map(String::as_str).collect();
        let mut value = self.with(&names);
        if let Some(Value::Array(items)) = value.get_mut(self.field) {
            items.retain(|v| !remove.iter().any(|r| v.as_str() == Some(r)));
        }
        Some(value)
    }

    /// An empty index of this kind, as the original Confo writes it.
    pub(crate) fn empty(field: &'static str) -> Value {
        let mut object = Map::new();
        object.insert(field.to_owned(), Value::Array(Vec::new()));
        Value::Object(object)
    }
}

impl Store {
    pub fn new(kv: Arc<dyn Kv>, layout: KeyLayout) -> Self {
        Self {
            kv,
            layout,
            committer: Arc::new(OnceLock::new()),
            counters: Arc::default(),
        }
    }

    /// What this store's committer has done so far (see [`CommitStats`]).
    pub fn commit_stats(&self) -> CommitStats {
        self.counters.read()
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
        let head = committer::parse_head(read.as_ref())?;
        Ok((read, head))
    }

    /// Reads `key` on behalf of `namespace`, together with the root key in one request (so at
    /// one revision), and refuses it as [`Error::AmbiguousKey`] when another namespace listed
    /// there may own it too (see [`crate::keys`]).
    pub(crate) async fn read_owned(&self, namespace: &str, key: &str) -> Result<Option<KeyValue>> {
        let mut reads = self
            .kv
            .get_many(&[self.layout.root(), key.to_owned()])
            .await?
            .into_iter();
        let (root, read) = (reads.next().flatten(), reads.next().flatten());
        let listed = Index::parse(root.as_ref(), namespaces::NAMESPACES)?.names();
        self.layout.check_owner(key, namespace, &listed)?;
        Ok(read)
    }

    /// Reads `keys` and the audit head, asks `planner` what to write, and writes it with its
    /// audit entries in one compare-and-swap transaction (see the module documentation). Must be
    /// called inside a Tokio runtime: the first write starts the committer task.
    pub(crate) async fn commit(
        &self,
        change: &Change,
        keys: Vec<String>,
        planner: impl FnMut(&Reads) -> Result<Decision> + Send + 'static,
    ) -> Result<Written> {
        let handle = self.committer.get_or_init(|| {
            committer::start(self.kv.clone(), self.layout.clone(), self.counters.clone())
        });
        handle.submit(change.clone(), keys, Box::new(planner)).await
    }
}
