//! Confo's operations on namespaces and configurations, on any [`Kv`] backend.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::keys::KeyLayout;
use crate::kv::{Compare, KeyValue, Kv, Op, TxnOutcome};
use crate::names::NamespaceName;

/// How often an index update is re-read and tried again after another writer changed the index
/// first. Each try follows a definite "compare failed" answer, never an ambiguous one.
const INDEX_ATTEMPTS: usize = 64;

/// The entry point for every read and write of configuration.
#[derive(Clone)]
pub struct Store {
    kv: Arc<dyn Kv>,
    layout: KeyLayout,
}

/// A parsed index key (`confo` or `<namespace>`): its list, plus any other members it holds,
/// which are written back untouched.
struct Index {
    read: Option<KeyValue>,
    object: Map<String, Value>,
    field: &'static str,
}

impl Index {
    fn parse(key: &str, read: Option<KeyValue>, field: &'static str) -> Result<Self> {
        let corrupt = |reason: String| Error::Corrupt {
            key: key.to_owned(),
            reason,
        };
        let object = match &read {
            None => Map::new(),
            Some(kv) => match serde_json::from_slice::<Value>(&kv.value) {
                Ok(Value::Object(object)) => object,
                Ok(other) => {
                    return Err(corrupt(format!(
                        "expected a JSON object, found {}",
                        kind_of(&other)
                    )));
                }
                Err(e) => return Err(corrupt(format!("not valid JSON ({e})"))),
            },
        };
        match object.get(field) {
            None | Some(Value::Array(_)) => {}
            Some(other) => {
                return Err(corrupt(format!(
                    "\"{field}\" should be a list, found {}",
                    kind_of(other)
                )));
            }
        }
        Ok(Self {
            read,
            object,
            field,
        })
    }

    fn names(&self) -> Vec<String> {
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

    fn contains(&self, name: &str) -> bool {
        self.names().iter().any(|n| n == name)
    }

    /// The index's value with `name` appended (kept in order, never twice).
    fn with(&self, name: &str) -> Vec<u8> {
        let mut object = self.object.clone();
        let list = object
            .entry(self.field)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list
            && !items.iter().any(|v| v.as_str() == Some(name))
        {
            items.push(Value::String(name.to_owned()));
        }
        serde_json::to_vec(&Value::Object(object)).expect("a JSON object always serialises")
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Store {
    pub fn new(kv: Arc<dyn Kv>, layout: KeyLayout) -> Self {
        Self { kv, layout }
    }

    pub fn layout(&self) -> &KeyLayout {
        &self.layout
    }

    /// Checks that the backend answers.
    pub async fn ping(&self) -> Result<()> {
        self.kv.ping().await
    }

    async fn root_index(&self) -> Result<Index> {
        let key = self.layout.root();
        let read = self.kv.get(&key).await?;
        Index::parse(&key, read, "namespaces")
    }

    /// Writes the root key `{"namespaces":[]}` if it is absent, as the original Confo does when it
    /// loads a backend, and checks that an existing one is readable.
    pub async fn ensure_root(&self) -> Result<()> {
        let key = self.layout.root();
        let index = self.root_index().await?;
        if index.read.is_some() {
            return Ok(());
        }
        let value = serde_json::to_vec(&json!({ "namespaces": [] })).expect("static JSON");
        let outcome = self
            .kv
            .txn(
                vec![Compare::unchanged(&key, None)],
                vec![Op::Put { key, value }],
            )
            .await?;
        // Someone else created it first; either way it exists now.
        let _ = outcome;
        Ok(())
    }

    /// The namespaces listed in the root key, in their stored order.
    pub async fn list_namespaces(&self) -> Result<Vec<String>> {
        Ok(self.root_index().await?.names())
    }

    /// Creates `namespace` (an empty `{"configurations":[]}` index) and lists it in the root key,
    /// in one transaction. A namespace key that exists but is not listed (written by another
    /// tool) is listed and left as it is.
    pub async fn create_namespace(&self, namespace: &NamespaceName) -> Result<()> {
        self.add_namespace(namespace, true).await
    }

    /// Lists each of `namespaces` that is not listed yet (the original Confo's `namespaces`
    /// credential). Existing ones are left alone.
    pub async fn register_namespaces(&self, namespaces: &[NamespaceName]) -> Result<()> {
        for namespace in namespaces {
            self.add_namespace(namespace, false).await?;
        }
        Ok(())
    }

    async fn add_namespace(&self, namespace: &NamespaceName, must_be_new: bool) -> Result<()> {
        let root_key = self.layout.root();
        let ns_key = self.layout.namespace(namespace);
        let mut last_revision = 0;
        for _ in 0..INDEX_ATTEMPTS {
            let root = self.root_index().await?;
            if root.contains(namespace.as_str()) {
                return if must_be_new {
                    Err(Error::AlreadyExists(format!("namespace {namespace:?}")))
                } else {
                    Ok(())
                };
            }
            let ns_read = self.kv.get(&ns_key).await?;
            // An existing namespace key must be a valid index before it is listed.
            Index::parse(&ns_key, ns_read.clone(), "configurations")?;
            let mut ops = vec![Op::Put {
                key: root_key.clone(),
                value: root.with(namespace.as_str()),
            }];
            if ns_read.is_none() {
                ops.push(Op::Put {
                    key: ns_key.clone(),
                    value: serde_json::to_vec(&json!({ "configurations": [] }))
                        .expect("static JSON"),
                });
            }
            let compares = vec![
                Compare::unchanged(&root_key, root.read.as_ref()),
                Compare::unchanged(&ns_key, ns_read.as_ref()),
            ];
            last_revision = root.read.as_ref().map_or(0, |kv| kv.mod_revision);
            match self.kv.txn(compares, ops).await? {
                TxnOutcome::Committed { .. } => return Ok(()),
                TxnOutcome::CompareFailed => continue,
            }
        }
        Err(Error::Conflict {
            key: root_key,
            current_revision: last_revision,
        })
    }
}
