//! A namespace's settings: its named schemas, which schema each configuration follows, and
//! whether every change needs a comment. One record per namespace under the reserved prefix
//! (never inside the keys the original Confo reads), changed like any configuration: compared on
//! its revision and audited with a patch, so its history can be shown and diffed.
//!
//! Every write to a configuration reads its namespace's record in the same round trip and
//! compares it in the same transaction, so a change is checked against the schema in force when
//! it lands: see [`Store::edit`](super::Store).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Change, Decision, Draft, Plan, Reads, Store, Written, parse_json};
use crate::audit::Action;
use crate::error::{Error, Result};
use crate::kv::KeyValue;
use crate::names::{ConfigurationName, NamespaceName};
use crate::request::ReviewPolicy;
use crate::schema::{self, Problem};

/// Which schema a configuration follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaChoice {
    /// A schema of its own.
    Own(Value),
    /// One of its namespace's named schemas, shared with other configurations.
    Named(String),
}

/// The settings record of one namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamespaceSettings {
    /// Named schemas, by name, that configurations of the namespace can share.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub schemas: BTreeMap<String, Value>,
    /// The schema of each configuration that has one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub assignments: BTreeMap<String, SchemaChoice>,
    /// Every change to the namespace's configurations must say why.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_comment: bool,
    /// Changes go through change requests, reviewed as this says (`None`: written directly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewPolicy>,
}

impl NamespaceSettings {
    pub(crate) fn parse(read: Option<&KeyValue>) -> Result<Self> {
        match read {
            None => Ok(Self::default()),
            Some(kv) => serde_json::from_value(parse_json(kv)?).map_err(|e| Error::Corrupt {
                key: kv.key.clone(),
                reason: format!("not a namespace settings record ({e})"),
            }),
        }
    }

    /// The schema `configuration` follows, if any.
    pub fn schema_of(&self, configuration: &str) -> Option<&Value> {
        match self.assignments.get(configuration)? {
            SchemaChoice::Own(schema) => Some(schema),
            SchemaChoice::Named(name) => self.schemas.get(name),
        }
    }

    /// The configurations that follow the named schema `name`.
    pub fn users_of(&self, name: &str) -> Vec<String> {
        self.assignments
            .iter()
            .filter(|(_, choice)| matches!(choice, SchemaChoice::Named(n) if n == name))
            .map(|(configuration, _)| configuration.clone())
            .collect()
    }

    pub(crate) fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("settings always serialise")
    }
}

/// A namespace's settings and the revision they were read at (0: never written).
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsRead {
    pub settings: NamespaceSettings,
    pub revision: i64,
}

/// What a schema change would do to one configuration that follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRun {
    pub configuration: String,
    /// Problems the configuration would have under the new schema and has not now.
    pub new_problems: Vec<Problem>,
}

/// A change to the settings record.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsChange {
    /// Adds or replaces the named schema.
    PutSchema {
        name: String,
        schema: Value,
    },
    /// Removes the named schema; refused while a configuration follows it.
    DeleteSchema {
        name: String,
    },
    /// Gives a configuration a schema, or none.
    Assign {
        configuration: ConfigurationName,
        choice: Option<SchemaChoice>,
    },
    RequireComment(bool),
    /// Makes the namespace reviewed under a policy, or direct (`None`). Checked against the
    /// users there are by [`Store::set_review_policy`], the one way to make it.
    Review(Option<ReviewPolicy>),
}

/// Checks a schema name: like a field name, 1 to 64 characters, no control characters.
fn check_schema_name(name: &str) -> Result<()> {
    let len = name.chars().count();
    if name.trim().is_empty() || len > 64 || name.chars().any(char::is_control) {
        return Err(Error::InvalidValue(format!(
            "invalid schema name {name:?}: give it 1 to 64 characters, without line breaks or tabs"
        )));
    }
    Ok(())
}

impl SettingsChange {
    /// Checks what can be checked without the record: names and schemas.
    pub(crate) fn check(&self) -> Result<()> {
        match self {
            SettingsChange::PutSchema { name, schema } => {
                check_schema_name(name)?;
                schema::compile(schema).map(drop)
            }
            SettingsChange::DeleteSchema { name } => check_schema_name(name),
            SettingsChange::Assign {
                choice: Some(SchemaChoice::Own(schema)),
                ..
            } => schema::compile(schema).map(drop),
            SettingsChange::Review(Some(policy))
                if !(1..=crate::request::MAX_APPROVALS).contains(&policy.approvals) =>
            {
                Err(Error::InvalidValue(format!(
                    "a reviewed namespace needs 1 to {} approvals per request, not {}",
                    crate::request::MAX_APPROVALS,
                    policy.approvals
                )))
            }
            SettingsChange::Assign { .. }
            | SettingsChange::RequireComment(_)
            | SettingsChange::Review(_) => Ok(()),
        }
    }

    pub(crate) fn apply(&self, settings: &mut NamespaceSettings) -> Result<()> {
        match self {
            SettingsChange::PutSchema { name, schema } => {
                settings.schemas.insert(name.clone(), schema.clone());
            }
            SettingsChange::DeleteSchema { name } => {
                if !settings.schemas.contains_key(name) {
                    return Err(Error::NotFound(format!("schema {name:?}")));
                }
                let users = settings.users_of(name);
                if !users.is_empty() {
                    return Err(Error::InUse(format!(
                        "schema {name:?} is followed by {}; give {} another schema first",
                        users.join(", "),
                        if users.len() == 1 { "it" } else { "them" }
                    )));
                }
                settings.schemas.remove(name);
            }
            SettingsChange::Assign {
                configuration,
                choice,
            } => {
                if let Some(SchemaChoice::Named(name)) = choice
                    && !settings.schemas.contains_key(name)
                {
                    return Err(Error::NotFound(format!("schema {name:?}")));
                }
                match choice {
                    Some(choice) => {
                        settings
                            .assignments
                            .insert(configuration.to_string(), choice.clone());
                    }
                    None => {
                        settings.assignments.remove(configuration.as_str());
                    }
                }
            }
            SettingsChange::RequireComment(on) => settings.require_comment = *on,
            SettingsChange::Review(policy) => settings.review = policy.clone(),
        }
        Ok(())
    }

    fn action(&self) -> Action {
        match self {
            SettingsChange::PutSchema { .. } => Action::SchemaPut,
            SettingsChange::DeleteSchema { .. } => Action::SchemaDelete,
            SettingsChange::Assign { .. } => Action::SchemaAssign,
            SettingsChange::RequireComment(_) => Action::NamespaceSettings,
            SettingsChange::Review(_) => Action::NamespaceReview,
        }
    }

    /// Whether it changes what a configuration must hold (and so, in a reviewed namespace,
    /// would need a review of its own).
    pub(crate) fn changes_schemas(&self) -> bool {
        matches!(
            self,
            SettingsChange::PutSchema { .. }
                | SettingsChange::DeleteSchema { .. }
                | SettingsChange::Assign { .. }
        )
    }
}

/// The review rule of every direct write to a configuration: refused in a reviewed namespace,
/// where changes are published from change requests instead.
pub(crate) fn check_direct(settings: &NamespaceSettings, namespace: &NamespaceName) -> Result<()> {
    if settings.review.is_some() {
        return Err(Error::ReviewRequired(namespace.to_string()));
    }
    Ok(())
}

/// The schema rule of every configuration write: the settings read with the change, the
/// configuration's fields before (`None` when it is being created) and after. Refuses a change
/// that adds a schema problem, and one without a comment where the namespace asks for one.
pub(crate) fn check_write(
    settings: &NamespaceSettings,
    configuration: &str,
    change: &Change,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
) -> Result<()> {
    if settings.require_comment && change.comment.is_none() {
        return Err(Error::CommentRequired);
    }
    let (Some(schema), Some(after)) = (settings.schema_of(configuration), after) else {
        return Ok(());
    };
    let before = match before {
        Some(before) => schema::problems(schema, before)?,
        None => Vec::new(),
    };
    let added = schema::added(&before, &schema::problems(schema, after)?);
    if added.is_empty() {
        Ok(())
    } else {
        Err(Error::SchemaViolation { problems: added })
    }
}

impl Store {
    /// The settings of `namespace` (the defaults when it has none).
    pub async fn get_settings(&self, namespace: &NamespaceName) -> Result<SettingsRead> {
        let read = self.kv.get(&self.layout.settings(namespace)).await?;
        Ok(SettingsRead {
            settings: NamespaceSettings::parse(read.as_ref())?,
            revision: read.map_or(0, |kv| kv.mod_revision),
        })
    }

    /// The problems `configuration` has now under its schema (empty when it has none), with the
    /// schema.
    pub async fn schema_problems(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
    ) -> Result<(Option<Value>, Vec<Problem>)> {
        let settings = self.get_settings(namespace).await?.settings;
        let Some(schema) = settings.schema_of(configuration.as_str()).cloned() else {
            return Ok((None, Vec::new()));
        };
        let fields = self
            .get_configuration(namespace, configuration)
            .await?
            .fields;
        let problems = schema::problems(&schema, &fields)?;
        Ok((Some(schema), problems))
    }

    /// What giving `configurations` the schema `schema` would do: for each, the problems it
    /// would have and has not now. Reads only; nothing is written.
    pub async fn dry_run_schema(
        &self,
        namespace: &NamespaceName,
        configurations: &[String],
        schema: &Value,
    ) -> Result<Vec<DryRun>> {
        schema::compile(schema)?;
        let settings = self.get_settings(namespace).await?.settings;
        let mut runs = Vec::new();
        for name in configurations {
            let Ok(configuration) = ConfigurationName::new(name.as_str()) else {
                continue;
            };
            let fields = match self.get_configuration(namespace, &configuration).await {
                Ok(c) => c.fields,
                Err(Error::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let now = match settings.schema_of(name) {
                Some(current) => schema::problems(current, &fields)?,
                None => Vec::new(),
            };
            let new_problems = schema::added(&now, &schema::problems(schema, &fields)?);
            runs.push(DryRun {
                configuration: name.clone(),
                new_problems,
            });
        }
        Ok(runs)
    }

    /// Makes `namespace` reviewed under `policy`, or direct (`None`): an audited change of its
    /// settings, refused when the policy asks for more approvals than there are people who may
    /// give them.
    pub async fn set_review_policy(
        &self,
        namespace: &NamespaceName,
        policy: Option<ReviewPolicy>,
        change: &Change,
    ) -> Result<Written> {
        if let Some(policy) = &policy {
            let users = self.list_users().await?;
            policy.check(namespace.as_str(), &users)?;
        }
        self.change_settings(namespace, SettingsChange::Review(policy), None, change)
            .await
    }

    /// Changes the settings of `namespace` (which must exist), compared on `expected_revision`
    /// when given, with an audit entry holding the record before and after.
    pub async fn change_settings(
        &self,
        namespace: &NamespaceName,
        settings_change: SettingsChange,
        expected_revision: Option<i64>,
        change: &Change,
    ) -> Result<Written> {
        settings_change.check()?;
        let key = self.layout.settings(namespace);
        let root_key = self.layout.root();
        let namespace = namespace.clone();
        let configuration = match &settings_change {
            SettingsChange::Assign { configuration, .. } => Some(configuration.clone()),
            _ => None,
        };
        self.commit(
            change,
            vec![key.clone(), root_key.clone()],
            move |reads: &Reads| {
                let root =
                    super::Index::parse(reads.get(&root_key), super::namespaces::NAMESPACES)?;
                if !root.contains(namespace.as_str()) {
                    return Err(Error::NotFound(format!("namespace {namespace:?}")));
                }
                let read = reads.get(&key);
                let revision = read.map_or(0, |kv| kv.mod_revision);
                if let Some(expected) = expected_revision
                    && expected != revision
                {
                    return Err(Error::Conflict {
                        key: key.clone(),
                        current_revision: revision,
                        current: read.and_then(|kv| parse_json(kv).ok()).map(Box::new),
                    });
                }
                let before = NamespaceSettings::parse(read)?;
                // Schema changes in a reviewed namespace are not taken in requests yet: the
                // namespace is switched to direct for them, which is audited.
                if settings_change.changes_schemas() {
                    check_direct(&before, &namespace)?;
                }
                let mut after = before.clone();
                settings_change.apply(&mut after)?;
                if after == before {
                    return Ok(Decision::Unchanged(revision));
                }
                let mut plan = Plan::default();
                plan.compare(&root_key, reads);
                plan.compare(&key, reads);
                plan.put_json(&key, &after.to_value());
                let mut draft =
                    Draft::namespace(settings_change.action(), &namespace, configuration.as_ref());
                draft.before_after = Some((before.to_value(), after.to_value()));
                plan.drafts.push(draft);
                Ok(Decision::Write(plan))
            },
        )
        .await
    }
}
