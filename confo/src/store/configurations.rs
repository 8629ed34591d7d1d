//! Configurations and their fields.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Map, Value};

use super::namespaces::{CONFIGURATIONS, NAMESPACES};
use super::settings::{NamespaceSettings, check_direct, check_write};
use super::{Change, Decision, Draft, Index, Plan, Reads, Store, Written, kind_of, parse_json};
use crate::audit::Action;
use crate::edit::{self, Edit};
use crate::error::{Error, Result};
use crate::kv::KeyValue;
use crate::names::{ConfigurationName, NamespaceName};

/// The longest field name allowed, in characters.
pub const MAX_FIELD_NAME_LEN: usize = 256;

/// A configuration's fields and the revision they were read at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Configuration {
    pub namespace: String,
    pub name: String,
    pub fields: Map<String, Value>,
    /// Pass back when changing it, so that a change made in between is not overwritten.
    pub revision: i64,
}

/// The configurations of a namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigurationListing {
    /// Listed in the namespace's index, in stored order.
    pub registered: Vec<String>,
    /// Stored under the namespace's prefix but missing from its index (the original Confo's
    /// `persist` writes them so); [`Store::register_configurations`] lists them.
    pub unregistered: Vec<String>,
}

/// Checks a field name: 1 to 256 characters, no control characters.
pub fn check_field_name(name: &str) -> Result<()> {
    let invalid =
        |reason: &str| Error::InvalidValue(format!("invalid field name {name:?}: {reason}"));
    if name.is_empty() {
        return Err(invalid("it is empty; give it at least one character"));
    }
    let len = name.chars().count();
    if len > MAX_FIELD_NAME_LEN {
        return Err(invalid(&format!(
            "it is {len} characters long; the limit is {MAX_FIELD_NAME_LEN}"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            "it contains a control character (such as a line break or tab)",
        ));
    }
    Ok(())
}

pub(crate) fn as_object(kv: &KeyValue) -> Result<Map<String, Value>> {
    match parse_json(kv)? {
        Value::Object(fields) => Ok(fields),
        other => Err(Error::Corrupt {
            key: kv.key.clone(),
            reason: format!(
                "a configuration must be a JSON object, found {}",
                kind_of(&other)
            ),
        }),
    }
}

fn conflict(kv: Option<&KeyValue>, key: &str) -> Error {
    Error::Conflict {
        key: key.to_owned(),
        current_revision: kv.map_or(0, |kv| kv.mod_revision),
        current: kv.and_then(|kv| parse_json(kv).ok()).map(Box::new),
    }
}

fn not_found(namespace: &NamespaceName, configuration: &ConfigurationName) -> Error {
    Error::NotFound(format!(
        "configuration {configuration:?} in namespace {namespace:?}"
    ))
}

/// The audit action of `edits` made together, and the one field they are in when it is one.
pub(crate) fn action_of(edits: &[Edit]) -> (Action, Option<String>) {
    match edits {
        [edit @ (Edit::Set { .. } | Edit::Insert { .. })] => (Action::FieldSet, edit.field()),
        [edit @ Edit::Remove { path }] => {
            let action = if edit::pointer(&[edit.field().unwrap_or_default()]) == *path {
                Action::FieldDelete
            } else {
                Action::FieldSet
            };
            (action, edit.field())
        }
        [edit @ Edit::Rename { path, .. }] => {
            let action = if edit::pointer(&[edit.field().unwrap_or_default()]) == *path {
                Action::FieldRename
            } else {
                Action::FieldSet
            };
            (action, edit.field())
        }
        _ => (Action::ConfigurationReplace, None),
    }
}

impl Store {
    /// The configurations of `namespace`: those its index lists, and those stored under its
    /// prefix without being listed.
    pub async fn list_configurations(
        &self,
        namespace: &NamespaceName,
    ) -> Result<ConfigurationListing> {
        let root_key = self.layout.root();
        let ns_key = self.layout.namespace(namespace);
        let reads = self.kv.get_many(&[root_key, ns_key]).await?;
        let root = Index::parse(reads[0].as_ref(), NAMESPACES)?;
        self.listing(&root, namespace, reads[1].as_ref())
            .await?
            .ok_or_else(|| Error::NotFound(format!("namespace {namespace:?}")))
    }

    /// [`Store::list_configurations`] for each of `namespaces` (`None` for one that does not
    /// exist), reading the namespace list once and a few namespaces' keys at a time.
    pub async fn list_configurations_of(
        &self,
        namespaces: &[NamespaceName],
    ) -> Result<Vec<Option<ConfigurationListing>>> {
        use futures::{StreamExt, TryStreamExt};
        let root_read = self.kv.get(&self.layout.root()).await?;
        let root = Index::parse(root_read.as_ref(), NAMESPACES)?;
        let keys: Vec<String> = namespaces
            .iter()
            .map(|n| self.layout.namespace(n))
            .collect();
        let mut reads = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(crate::kv::MAX_TXN_OPS) {
            reads.extend(self.kv.get_many(chunk).await?);
        }
        let root = &root;
        let listings: Vec<_> =
            namespaces
                .iter()
                .zip(reads)
                .map(|(namespace, read)| async move {
                    self.listing(root, namespace, read.as_ref()).await
                })
                .collect();
        futures::stream::iter(listings)
            .buffered(16)
            .try_collect()
            .await
    }

    /// Every configuration stored under `namespace`'s prefix that no namespace of `listed` but
    /// it may own (see [`crate::KeyLayout::check_owner`]), by name, read in one range read; and
    /// the namespace's settings as they were while it was read (read before and after, and again
    /// if they changed in between), so that what a schema marks secret is known for these values.
    pub(crate) async fn read_namespace_whole(
        &self,
        namespace: &NamespaceName,
        listed: &[String],
    ) -> Result<(super::SettingsRead, Vec<(String, KeyValue)>)> {
        let prefix = self.layout.configurations_prefix(namespace);
        let mut tries = 0;
        let (settings, keys) = loop {
            let before = self.get_settings(namespace).await?;
            let keys = self.kv.list_prefix(&prefix).await?;
            let after = self.get_settings(namespace).await?;
            tries += 1;
            if after.revision == before.revision {
                break (after, keys);
            }
            if tries == 5 {
                return Err(Error::Busy(format!("the schemas of namespace {namespace}")));
            }
        };
        let owned = keys
            .into_iter()
            .filter(|kv| {
                self.layout
                    .check_owner(&kv.key, namespace.as_str(), listed)
                    .is_ok()
            })
            .filter_map(|kv| Some((kv.key.strip_prefix(&prefix)?.to_owned(), kv)))
            .collect();
        Ok((settings, owned))
    }

    /// The listing of `namespace`, given the namespace list and the read of its index; `None`
    /// when it is neither listed nor has an index.
    async fn listing(
        &self,
        root: &Index,
        namespace: &NamespaceName,
        index: Option<&KeyValue>,
    ) -> Result<Option<ConfigurationListing>> {
        if !root.contains(namespace.as_str()) && index.is_none() {
            return Ok(None);
        }
        let registered = Index::parse(index, CONFIGURATIONS)?.names();
        let prefix = self.layout.configurations_prefix(namespace);
        // Keys under `<namespace>-` that another listed namespace may own (one whose name has a
        // dash, written by another tool) are not offered: see `crate::keys`.
        let listed_namespaces = root.names();
        let listed: HashSet<&str> = registered.iter().map(String::as_str).collect();
        let unregistered = self
            .kv
            .list_keys(&prefix)
            .await?
            .into_iter()
            .filter(|key| {
                self.layout
                    .check_owner(key, namespace.as_str(), &listed_namespaces)
                    .is_ok()
            })
            .filter_map(|key| key.strip_prefix(&prefix).map(str::to_owned))
            .filter(|name| !listed.contains(name.as_str()))
            .collect();
        Ok(Some(ConfigurationListing {
            registered,
            unregistered,
        }))
    }

    /// Reads a configuration with its revision. A stored value that is not a JSON object is
    /// reported as [`Error::Corrupt`] with its key; a key another listed namespace may own too
    /// as [`Error::AmbiguousKey`].
    pub async fn get_configuration(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
    ) -> Result<Configuration> {
        let key = self.layout.configuration(namespace, configuration);
        let kv = self
            .read_owned(namespace.as_str(), &key)
            .await?
            .ok_or_else(|| not_found(namespace, configuration))?;
        Ok(Configuration {
            namespace: namespace.to_string(),
            name: configuration.to_string(),
            fields: as_object(&kv)?,
            revision: kv.mod_revision,
        })
    }

    /// Creates a configuration with `fields` and lists it in its namespace, in one transaction.
    pub async fn create_configuration(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        fields: Map<String, Value>,
        change: &Change,
    ) -> Result<Written> {
        for name in fields.keys() {
            check_field_name(name)?;
        }
        let root_key = self.layout.root();
        let ns_key = self.layout.namespace(namespace);
        let key = self.layout.configuration(namespace, configuration);
        let settings_key = self.layout.settings(namespace);
        let (namespace, configuration) = (namespace.clone(), configuration.clone());
        let value = Value::Object(fields);
        let layout = self.layout.clone();
        let by = change.clone();
        self.commit(
            change,
            vec![
                key.clone(),
                root_key.clone(),
                ns_key.clone(),
                settings_key.clone(),
            ],
            move |reads: &Reads| {
                let root = Index::parse(reads.get(&root_key), NAMESPACES)?;
                layout.check_owner(&key, namespace.as_str(), &root.names())?;
                if !root.contains(namespace.as_str()) {
                    return Err(Error::NotFound(format!("namespace {namespace:?}")));
                }
                if reads.get(&key).is_some() {
                    return Err(Error::AlreadyExists(format!(
                        "configuration {configuration:?} in namespace {namespace:?}"
                    )));
                }
                let settings = NamespaceSettings::parse(reads.get(&settings_key))?;
                check_direct(&settings, &namespace)?;
                check_write(
                    &settings,
                    configuration.as_str(),
                    &by,
                    None,
                    value.as_object(),
                )?;
                let index = Index::parse(reads.get(&ns_key), CONFIGURATIONS)?;
                let mut plan = Plan::default();
                plan.compare(&root_key, reads);
                plan.compare(&key, reads);
                plan.compare(&ns_key, reads);
                plan.compare(&settings_key, reads);
                plan.put_json(&key, &value);
                plan.put_json(&ns_key, &index.with(&[configuration.as_str()]));
                plan.drafts.push(Draft::configuration(
                    Action::ConfigurationCreate,
                    &namespace,
                    &configuration,
                    None,
                    (Value::Null, value.clone()),
                ));
                Ok(Decision::Write(plan))
            },
        )
        .await
    }

    /// Applies `edits`, in order, to a configuration and writes the result with one audit entry:
    /// the one way every change to a configuration's fields is made (see [`crate::edit`]). With
    /// `expected_revision`, a configuration changed since that revision is not touched: the
    /// answer is [`Error::Conflict`] with what is there now. What the edits do not touch is
    /// written back as stored, in the same order; nothing is written when they change nothing.
    pub async fn apply_edits(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        edits: Vec<Edit>,
        expected_revision: Option<i64>,
        change: &Change,
    ) -> Result<Written> {
        if edits.is_empty() {
            return Err(Error::InvalidValue(
                "There is nothing to change.".to_owned(),
            ));
        }
        let (action, field) = action_of(&edits);
        // Checked before anything is read, so that bad input costs no store access.
        edit::check(&edits)?;
        self.edit(
            namespace,
            configuration,
            expected_revision,
            change,
            action,
            field.as_deref(),
            move |current| {
                *current = edit::preview(current, &edits)?;
                Ok(())
            },
        )
        .await
    }

    /// Replaces every field of a configuration: [`Store::apply_edits`] with one
    /// [`Edit::Replace`].
    pub async fn replace_configuration(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        fields: Map<String, Value>,
        expected_revision: Option<i64>,
        change: &Change,
    ) -> Result<Written> {
        let edits = vec![Edit::Replace { fields }];
        self.apply_edits(namespace, configuration, edits, expected_revision, change)
            .await
    }

    /// Sets one field to any JSON value, adding it if missing (at the end); an existing field
    /// keeps its place.
    pub async fn set_field(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        field: &str,
        value: Value,
        expected_revision: Option<i64>,
        change: &Change,
    ) -> Result<Written> {
        check_field_name(field)?;
        let edits = vec![Edit::Set {
            path: edit::pointer(&[field]),
            value,
        }];
        self.apply_edits(namespace, configuration, edits, expected_revision, change)
            .await
    }

    /// Renames a field, keeping its value and its place. The new name must be free.
    pub async fn rename_field(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        field: &str,
        new_name: &str,
        expected_revision: Option<i64>,
        change: &Change,
    ) -> Result<Written> {
        check_field_name(new_name)?;
        let edits = vec![Edit::Rename {
            path: edit::pointer(&[field]),
            to: new_name.to_owned(),
        }];
        self.apply_edits(namespace, configuration, edits, expected_revision, change)
            .await
    }

    /// Deletes a field.
    pub async fn delete_field(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        field: &str,
        expected_revision: Option<i64>,
        change: &Change,
    ) -> Result<Written> {
        let edits = vec![Edit::Remove {
            path: edit::pointer(&[field]),
        }];
        self.apply_edits(namespace, configuration, edits, expected_revision, change)
            .await
    }

    /// Reads a configuration, applies `edit` to its fields and writes the result, compared on
    /// the revision read (and on `expected_revision` when given). Writes nothing when the edit
    /// changes nothing.
    #[expect(
        clippy::too_many_arguments,
        reason = "every caller names each part of the edit"
    )]
    pub(crate) async fn edit(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        expected_revision: Option<i64>,
        change: &Change,
        action: Action,
        field: Option<&str>,
        mut edit: impl FnMut(&mut Map<String, Value>) -> Result<()> + Send + 'static,
    ) -> Result<Written> {
        let root_key = self.layout.root();
        let key = self.layout.configuration(namespace, configuration);
        let (namespace, configuration) = (namespace.clone(), configuration.clone());
        let field = field.map(str::to_owned);
        let layout = self.layout.clone();
        let settings_key = self.layout.settings(&namespace);
        let by = change.clone();
        let keys = vec![key.clone(), root_key.clone(), settings_key.clone()];
        self.commit(change, keys, move |reads: &Reads| {
            let root = Index::parse(reads.get(&root_key), NAMESPACES)?;
            layout.check_owner(&key, namespace.as_str(), &root.names())?;
            let read = reads.get(&key);
            if let Some(expected) = expected_revision
                && read.map(|kv| kv.mod_revision) != Some(expected)
            {
                return Err(conflict(read, &key));
            }
            let kv = read.ok_or_else(|| not_found(&namespace, &configuration))?;
            let settings = NamespaceSettings::parse(reads.get(&settings_key))?;
            check_direct(&settings, &namespace)?;
            let before = as_object(kv)?;
            let mut after = before.clone();
            edit(&mut after)?;
            // Compared with the order: a save that only reorders keys is a change.
            if edit::identical_fields(&after, &before) {
                return Ok(Decision::Unchanged(kv.mod_revision));
            }
            check_write(
                &settings,
                configuration.as_str(),
                &by,
                Some(&before),
                Some(&after),
            )?;
            let (before, after) = (Value::Object(before), Value::Object(after));
            let mut plan = Plan::default();
            plan.compare(&root_key, reads);
            plan.compare(&key, reads);
            plan.compare(&settings_key, reads);
            plan.put_json(&key, &after);
            plan.drafts.push(Draft::configuration(
                action,
                &namespace,
                &configuration,
                field.clone(),
                (before, after),
            ));
            Ok(Decision::Write(plan))
        })
        .await
    }

    /// Deletes a configuration and removes it from its namespace's index.
    pub async fn delete_configuration(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        expected_revision: Option<i64>,
        change: &Change,
    ) -> Result<Written> {
        let root_key = self.layout.root();
        let key = self.layout.configuration(namespace, configuration);
        let ns_key = self.layout.namespace(namespace);
        let settings_key = self.layout.settings(namespace);
        let (namespace, configuration) = (namespace.clone(), configuration.clone());
        let layout = self.layout.clone();
        let by = change.clone();
        self.commit(
            change,
            vec![
                key.clone(),
                ns_key.clone(),
                root_key.clone(),
                settings_key.clone(),
            ],
            move |reads: &Reads| {
                let root = Index::parse(reads.get(&root_key), NAMESPACES)?;
                layout.check_owner(&key, namespace.as_str(), &root.names())?;
                let read = reads.get(&key);
                if let Some(expected) = expected_revision
                    && read.map(|kv| kv.mod_revision) != Some(expected)
                {
                    return Err(conflict(read, &key));
                }
                let kv = read.ok_or_else(|| not_found(&namespace, &configuration))?;
                let before = parse_json(kv).unwrap_or(Value::Null);
                let index = Index::parse(reads.get(&ns_key), CONFIGURATIONS)?;
                let settings = NamespaceSettings::parse(reads.get(&settings_key))?;
                check_direct(&settings, &namespace)?;
                check_write(&settings, configuration.as_str(), &by, None, None)?;
                let mut plan = Plan::default();
                plan.compare(&root_key, reads);
                plan.compare(&key, reads);
                plan.compare(&ns_key, reads);
                plan.compare(&settings_key, reads);
                plan.delete(&key);
                // Its schema stays, as its history does: the history's write-only values stay
                // masked, and a configuration made again under the name follows it (deleting
                // and re-creating is no way around a schema).
                if index.contains(configuration.as_str()) {
                    plan.put_json(&ns_key, &index.without(configuration.as_str()));
                }
                plan.drafts.push(Draft::configuration(
                    Action::ConfigurationDelete,
                    &namespace,
                    &configuration,
                    None,
                    (before, Value::Null),
                ));
                Ok(Decision::Write(plan))
            },
        )
        .await
    }

    /// Lists, in the namespace's index, every configuration stored under its prefix but not
    /// listed (see [`ConfigurationListing::unregistered`]). Names that break Confo's rules are
    /// left out and stay readable as they are; keys another listed namespace may own are not
    /// offered, and if one is listed meanwhile the registration is refused as
    /// [`Error::AmbiguousKey`].
    pub async fn register_configurations(
        &self,
        namespace: &NamespaceName,
        change: &Change,
    ) -> Result<Vec<String>> {
        let listing = self.list_configurations(namespace).await?;
        let names: Vec<ConfigurationName> = listing
            .unregistered
            .iter()
            .filter_map(|name| ConfigurationName::new(name.as_str()).ok())
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let root_key = self.layout.root();
        let ns_key = self.layout.namespace(namespace);
        let mut keys = vec![ns_key.clone(), root_key.clone()];
        keys.extend(
            names
                .iter()
                .map(|c| self.layout.configuration(namespace, c)),
        );
        let registered: Vec<String> = names.iter().map(ToString::to_string).collect();
        let namespace = namespace.clone();
        let layout = self.layout.clone();
        self.commit(change, keys, move |reads: &Reads| {
            let root = Index::parse(reads.get(&root_key), NAMESPACES)?.names();
            let index = Index::parse(reads.get(&ns_key), CONFIGURATIONS)?;
            let mut plan = Plan::default();
            plan.compare(&root_key, reads);
            plan.compare(&ns_key, reads);
            let mut added = Vec::new();
            for configuration in &names {
                let key = layout.configuration(&namespace, configuration);
                layout.check_owner(&key, namespace.as_str(), &root)?;
                plan.compare(&key, reads);
                if reads.get(&key).is_none() || index.contains(configuration.as_str()) {
                    continue;
                }
                added.push(configuration.as_str());
                plan.drafts.push(Draft::namespace(
                    Action::ConfigurationRegister,
                    &namespace,
                    Some(configuration),
                ));
            }
            if added.is_empty() {
                return Ok(Decision::Unchanged(
                    reads.get(&ns_key).map_or(0, |kv| kv.mod_revision),
                ));
            }
            plan.put_json(&ns_key, &index.with(&added));
            Ok(Decision::Write(plan))
        })
        .await?;
        Ok(registered)
    }
}
