//! Namespaces: the root index `confo` and one index key per namespace.

use serde_json::Value;

use super::{Change, Decision, Draft, Index, Plan, Reads, Store, Written};
use crate::audit::{Action, Actor};
use crate::error::{Error, Result};
use crate::kv::{Compare, Op};
use crate::names::{ConfigurationName, NamespaceName};

pub(crate) const NAMESPACES: &str = "namespaces";

/// A listed namespace and, if its name breaks Confo's rules, which rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NamespaceReport {
    pub name: String,
    pub problem: Option<String>,
}
pub(crate) const CONFIGURATIONS: &str = "configurations";

/// The most configurations deleted together with their namespace: one transaction deletes each
/// with its audit entry and history index entry (three operations), plus the root, the
/// namespace's index, the namespace's audit entry and the audit head (four), within etcd's
/// [`MAX_TXN_OPS`](crate::kv::MAX_TXN_OPS).
pub const MAX_DELETED_WITH_NAMESPACE: usize = (crate::kv::MAX_TXN_OPS - 4) / 3;

impl Store {
    /// Writes the root key `{"namespaces":[]}` if it is absent, as the original Confo does when it
    /// loads a backend, and checks that an existing one is readable.
    pub async fn ensure_root(&self) -> Result<()> {
        let key = self.layout.root();
        let read = self.kv.get(&key).await?;
        Index::parse(read.as_ref(), NAMESPACES)?;
        if read.is_none() {
            let value = serde_json::to_vec(&Index::empty(NAMESPACES)).expect("static JSON");
            // If another process created it first, the comparison fails and theirs stands.
            self.kv
                .txn(
                    vec![Compare::unchanged(&key, None)],
                    vec![Op::Put { key, value }],
                )
                .await?;
        }
        Ok(())
    }

    /// The namespaces listed in the root key, in their stored order. Names written by other
    /// tools that break Confo's rules are listed too.
    pub async fn list_namespaces(&self) -> Result<Vec<String>> {
        let read = self.kv.get(&self.layout.root()).await?;
        Ok(Index::parse(read.as_ref(), NAMESPACES)?.names())
    }

    /// Every listed namespace with the rule its name breaks, if any: names written by other tools
    /// stay readable (see [`Store::read_legacy`]) but Confo writes only names that keep the rules.
    pub async fn namespace_report(&self) -> Result<Vec<NamespaceReport>> {
        Ok(self
            .list_namespaces()
            .await?
            .into_iter()
            .map(|name| {
                let problem = NamespaceName::new(name.as_str())
                    .err()
                    .map(|e| e.to_string());
                NamespaceReport { name, problem }
            })
            .collect())
    }

    /// Reads the value stored for `configuration` of `namespace` without checking either name,
    /// for data written by other tools under names Confo would refuse. A key another listed
    /// namespace may own too is refused as [`Error::AmbiguousKey`], as everywhere.
    pub async fn read_legacy(&self, namespace: &str, configuration: &str) -> Result<Value> {
        let key = self
            .layout
            .unchecked_configuration(namespace, configuration);
        let kv = self.read_owned(namespace, &key).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "configuration {configuration:?} in namespace {namespace:?}"
            ))
        })?;
        super::parse_json(&kv)
    }

    /// Whether `namespace` is listed in the root key.
    pub async fn namespace_exists(&self, namespace: &NamespaceName) -> Result<bool> {
        let read = self.kv.get(&self.layout.root()).await?;
        Ok(Index::parse(read.as_ref(), NAMESPACES)?.contains(namespace.as_str()))
    }

    /// Creates `namespace` (an empty `{"configurations":[]}` index) and lists it in the root key,
    /// in one transaction. A namespace key that exists but is not listed (left by the original
    /// Confo) is listed and kept as it is. A name whose keys would overlap a listed namespace's
    /// (`a` while `a-b` is listed) is refused as [`Error::AmbiguousKey`].
    pub async fn create_namespace(
        &self,
        namespace: &NamespaceName,
        change: &Change,
    ) -> Result<Written> {
        self.add_namespace(namespace, true, change).await
    }

    /// Lists each of `namespaces` that is not listed yet (the original Confo's `namespaces`
    /// credential). Listed ones are left alone.
    pub async fn register_namespaces(&self, namespaces: &[NamespaceName]) -> Result<()> {
        let change = Change::by(Actor::system()).with_comment("registered at start-up");
        for namespace in namespaces {
            self.add_namespace(namespace, false, &change).await?;
        }
        Ok(())
    }

    async fn add_namespace(
        &self,
        namespace: &NamespaceName,
        must_be_new: bool,
        change: &Change,
    ) -> Result<Written> {
        let root_key = self.layout.root();
        let ns_key = self.layout.namespace(namespace);
        let namespace = namespace.clone();
        let layout = self.layout.clone();
        self.commit(
            change,
            vec![root_key.clone(), ns_key.clone()],
            move |reads: &Reads| {
                let root = Index::parse(reads.get(&root_key), NAMESPACES)?;
                if root.contains(namespace.as_str()) {
                    return if must_be_new {
                        Err(Error::AlreadyExists(format!("namespace {namespace:?}")))
                    } else {
                        Ok(Decision::Unchanged(
                            reads.get(&root_key).map_or(0, |kv| kv.mod_revision),
                        ))
                    };
                }
                layout.check_new_namespace(namespace.as_str(), &root.names())?;
                // An existing namespace key must be a valid index before it is listed.
                Index::parse(reads.get(&ns_key), CONFIGURATIONS)?;
                let mut plan = Plan::default();
                plan.compare(&root_key, reads);
                plan.compare(&ns_key, reads);
                plan.put_json(&root_key, &root.with(&[namespace.as_str()]));
                if reads.get(&ns_key).is_none() {
                    plan.put_json(&ns_key, &Index::empty(CONFIGURATIONS));
                }
                plan.drafts
                    .push(Draft::namespace(Action::NamespaceCreate, &namespace, None));
                Ok(Decision::Write(plan))
            },
        )
        .await
    }

    /// Deletes `namespace`. One that still holds configurations is refused unless
    /// `with_configurations` is set; then they are deleted in the same transaction, each with
    /// its own audit entry. Keys another listed namespace may own are never deleted: the listing
    /// leaves them out, and a registered name whose key is one refuses the whole deletion as
    /// [`Error::AmbiguousKey`].
    pub async fn delete_namespace(
        &self,
        namespace: &NamespaceName,
        with_configurations: bool,
        change: &Change,
    ) -> Result<Written> {
        let listing = self.list_configurations(namespace).await?;
        let names: Vec<String> = listing
            .registered
            .iter()
            .chain(&listing.unregistered)
            .cloned()
            .collect();
        if !names.is_empty() && !with_configurations {
            return Err(Error::NotEmpty {
                namespace: namespace.to_string(),
                count: names.len(),
            });
        }
        if names.len() > MAX_DELETED_WITH_NAMESPACE {
            return Err(Error::TooManyToDelete {
                namespace: namespace.to_string(),
                count: names.len(),
                limit: MAX_DELETED_WITH_NAMESPACE,
            });
        }
        let configurations: Vec<(ConfigurationName, String)> = names
            .iter()
            .filter_map(|name| ConfigurationName::new(name.as_str()).ok())
            .map(|c| {
                let key = self.layout.configuration(namespace, &c);
                (c, key)
            })
            .collect();
        let root_key = self.layout.root();
        let ns_key = self.layout.namespace(namespace);
        let settings_key = self.layout.settings(namespace);
        let mut keys = vec![root_key.clone(), ns_key.clone(), settings_key.clone()];
        keys.extend(configurations.iter().map(|(_, key)| key.clone()));
        let namespace = namespace.clone();
        let layout = self.layout.clone();
        self.commit(change, keys, move |reads: &Reads| {
            // Deleting a reviewed namespace's configurations would skip their review.
            if !configurations.is_empty() {
                let settings = super::NamespaceSettings::parse(reads.get(&settings_key))?;
                super::settings::check_direct(&settings, &namespace)?;
            }
            let root = Index::parse(reads.get(&root_key), NAMESPACES)?;
            let listed = root.names();
            // A configuration listed since the list above was read would be left behind.
            let index = reads.get(&ns_key);
            let now_listed = Index::parse(index, CONFIGURATIONS)?.names();
            if now_listed.iter().any(|name| !names.contains(name)) {
                return Err(Error::Conflict {
                    key: ns_key.clone(),
                    current_revision: index.map_or(0, |kv| kv.mod_revision),
                    current: index
                        .and_then(|kv| super::parse_json(kv).ok())
                        .map(Box::new),
                });
            }
            layout.check_owner(&ns_key, namespace.as_str(), &listed)?;
            for (_, key) in &configurations {
                layout.check_owner(key, namespace.as_str(), &listed)?;
            }
            if !root.contains(namespace.as_str()) && reads.get(&ns_key).is_none() {
                return Err(Error::NotFound(format!("namespace {namespace:?}")));
            }
            let mut plan = Plan::default();
            plan.compare(&root_key, reads);
            plan.compare(&ns_key, reads);
            plan.compare(&settings_key, reads);
            for (configuration, key) in &configurations {
                plan.compare(key, reads);
                let Some(kv) = reads.get(key) else { continue };
                let before = super::parse_json(kv).unwrap_or(Value::Null);
                plan.delete(key);
                plan.drafts.push(Draft::configuration(
                    Action::ConfigurationDelete,
                    &namespace,
                    configuration,
                    None,
                    (before, Value::Null),
                ));
            }
            plan.put_json(&root_key, &root.without(namespace.as_str()));
            plan.delete(&ns_key);
            // Its settings (schemas, rules) stay, as its configurations' histories do: see
            // `delete_configuration`.
            plan.drafts
                .push(Draft::namespace(Action::NamespaceDelete, &namespace, None));
            Ok(Decision::Write(plan))
        })
        .await
    }
}
