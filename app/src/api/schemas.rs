//! Schemas and namespace settings: which schema a configuration follows (its own, a shared one
//! of its namespace, or none), the namespace's shared schemas, and whether every change needs a
//! comment. Reading needs the viewer role for the namespace; changing needs the administrator
//! role, since a schema decides what everyone else may save. Every change is checked in a dry
//! run first ([`check_schema`]) and saved compared on the settings' revision.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::configurations::ProblemView;
use crate::error::AppError;

/// A shared schema of a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedSchema {
    pub name: String,
    /// Indented JSON.
    pub json: String,
    /// The configurations that follow it.
    pub users: Vec<String>,
}

/// A namespace's settings, as its settings page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    pub namespace: String,
    pub schemas: Vec<NamedSchema>,
    pub require_comment: bool,
    /// Whether changes are reviewed, and how.
    pub review: crate::api::requests::PolicyView,
    /// Sent back with a change, so that one made in between is not overwritten.
    pub revision: i64,
    pub can_change: bool,
}

/// Which schema a configuration follows, as its schema page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaView {
    pub namespace: String,
    pub name: String,
    /// `none`, `own` or `named`.
    pub mode: String,
    /// The shared schema it follows (mode `named`).
    pub named: Option<String>,
    /// The schema it follows now, as indented JSON (empty: none).
    pub json: String,
    /// A starting schema that its current value matches.
    pub suggestion: String,
    /// Where its current value breaks the schema it follows.
    pub problems: Vec<ProblemView>,
    /// The namespace's shared schemas, by name.
    pub shared: Vec<String>,
    pub revision: i64,
    pub can_change: bool,
    /// Its namespace is reviewed: a schema change is sent for review, not saved.
    pub reviewed: bool,
}

/// One change to a namespace's settings, from the audit log: who, when, and what it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsChangeView {
    pub seq: u64,
    pub who: String,
    pub when: String,
    /// `schema.put`, `schema.delete`, `schema.assign` or `namespace.settings`.
    pub action: String,
    pub configuration: Option<String>,
    pub comment: Option<String>,
    /// The change, one line per JSON Patch operation on the settings record: `replace
    /// /schemas/limits/properties/retries/maximum: 5`.
    pub changes: Vec<String>,
}

/// What a schema would do to one configuration that would follow it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunView {
    pub configuration: String,
    /// The problems it would have that it has not now (empty: it would still match).
    pub problems: Vec<ProblemView>,
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::api::configurations::hints::problem_views;
    use crate::api::ssr::{reject, require};
    use confo::users::Role;

    pub fn parse_schema(json: &str) -> Result<serde_json::Value, AppError> {
        serde_json::from_str(json).map_err(|e| {
            reject(AppError::Invalid(format!(
                "The schema is not valid JSON at {}.",
                crate::json_words::json_problem(&e)
            )))
        })
    }

    pub fn pretty(value: &serde_json::Value) -> String {
        serde_json::to_string_pretty(value).unwrap_or_default()
    }

    pub async fn guard(
        role: Role,
        namespace: &str,
    ) -> Result<(confo::users::User, confo::NamespaceName, confo::Store), AppError> {
        let user = require(role, Some(namespace)).await?;
        let ns = crate::api::configurations::ssr::namespace(namespace)?;
        Ok((user, ns, crate::api::ssr::store()?))
    }

    pub fn runs(runs: Vec<confo::store::DryRun>) -> Vec<DryRunView> {
        runs.into_iter()
            .map(|run| DryRunView {
                configuration: run.configuration,
                problems: problem_views(&run.new_problems),
            })
            .collect()
    }

    /// Changes the settings of `namespace`, compared on `revision`. In a reviewed namespace a
    /// schema change is proposed in a new change request instead, and the person is sent to
    /// it: `Ok(false)`. `Ok(true)`: written.
    pub async fn change(
        user: &confo::users::User,
        namespace: &confo::NamespaceName,
        store: &confo::Store,
        settings_change: confo::store::SettingsChange,
        revision: i64,
    ) -> Result<bool, AppError> {
        let written = store
            .change_settings(
                namespace,
                settings_change.clone(),
                Some(revision),
                &crate::api::ssr::change(user),
            )
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(confo::Error::Conflict { .. }) => Err(reject(AppError::Conflict(
                "Someone else changed this namespace's settings meanwhile; nothing was saved. Reload the page and try again.".into(),
            ))),
            // A reviewed namespace: the schema change is proposed in a request of its own.
            Err(confo::Error::ReviewRequired(_)) => {
                propose(user, namespace, store, settings_change, revision)
                    .await
                    .map(|()| false)
            }
            Err(other) => Err(reject(other)),
        }
    }

    /// Opens a change request with `settings_change` (a schema change) and sends the person
    /// to it.
    async fn propose(
        user: &confo::users::User,
        namespace: &confo::NamespaceName,
        store: &confo::Store,
        settings_change: confo::store::SettingsChange,
        revision: i64,
    ) -> Result<(), AppError> {
        use confo::store::SettingsChange;
        let title = match &settings_change {
            SettingsChange::PutSchema { name, .. } => format!("Shared schema {name}"),
            SettingsChange::DeleteSchema { name } => format!("Remove shared schema {name}"),
            SettingsChange::Assign { configuration, .. } => {
                format!("The schema of {configuration}")
            }
            _ => "Schema change".to_owned(),
        };
        let new = confo::store::NewRequest {
            title,
            description: String::new(),
            changes: Vec::new(),
            schemas: vec![settings_change],
            // Made on the settings the page showed.
            settings_revision: Some(revision),
            draft: false,
        };
        let id = store
            .open_request(namespace, new, &crate::api::ssr::change(user))
            .await
            .map_err(|e| match e {
                confo::Error::Conflict { .. } => reject(AppError::Conflict(
                    "Someone else changed this namespace's settings meanwhile; nothing was sent for review. Reload the page and try again.".into(),
                )),
                other => reject(other),
            })?
            .request
            .id;
        crate::api::requests::ssr::back_to(id, "?sent=1");
        Ok(())
    }
}

/// A namespace's shared schemas and rules.
#[server(endpoint = "schemas/settings", input = leptos::server_fn::codec::GetUrl)]
pub async fn namespace_settings(namespace: String) -> Result<SettingsView, AppError> {
    use crate::api::ssr::{may, reject};
    let (user, ns, store) = ssr::guard(confo::users::Role::Viewer, &namespace).await?;
    let read = store.get_settings(&ns).await.map_err(reject)?;
    // A namespace that is not there, and never had settings, has no settings page.
    if read.revision == 0
        && !store
            .list_namespaces()
            .await
            .map_err(reject)?
            .contains(&namespace)
    {
        return Err(reject(AppError::NotFound(format!(
            "Namespace {namespace:?} does not exist."
        ))));
    }
    Ok(SettingsView {
        schemas: read
            .settings
            .schemas
            .iter()
            .map(|(name, schema)| NamedSchema {
                name: name.clone(),
                json: ssr::pretty(schema),
                users: read.settings.users_of(name),
            })
            .collect(),
        require_comment: read.settings.require_comment,
        review: crate::api::requests::ssr::policy_view(read.settings.review.as_ref()),
        revision: read.revision,
        can_change: may(&user, confo::users::Role::Admin, Some(&namespace)),
        namespace,
    })
}

/// The schema a configuration follows.
#[server(endpoint = "schemas/get", input = leptos::server_fn::codec::GetUrl)]
pub async fn configuration_schema(namespace: String, name: String) -> Result<SchemaView, AppError> {
    use crate::api::configurations::hints::problem_views;
    use crate::api::ssr::{may, reject};
    let opened =
        crate::api::configurations::ssr::open(confo::users::Role::Viewer, &namespace, &name)
            .await?;
    let configuration = opened.current().await?;
    let read = opened
        .store
        .get_settings(&opened.namespace)
        .await
        .map_err(reject)?;
    let settings = read.settings;
    let (mode, named) = match settings.assignments.get(opened.name.as_str()) {
        None => ("none", None),
        Some(confo::store::SchemaChoice::Own(_)) => ("own", None),
        Some(confo::store::SchemaChoice::Named(n)) => ("named", Some(n.clone())),
    };
    let schema = settings.schema_of(opened.name.as_str());
    let problems = match schema {
        Some(schema) => confo::schema::problems(schema, &configuration.fields).map_err(reject)?,
        None => Vec::new(),
    };
    Ok(SchemaView {
        mode: mode.to_owned(),
        named,
        json: schema.map(ssr::pretty).unwrap_or_default(),
        suggestion: ssr::pretty(&confo::schema::suggest(&configuration.fields)),
        problems: problem_views(&problems),
        shared: settings.schemas.keys().cloned().collect(),
        revision: read.revision,
        can_change: may(&opened.user, confo::users::Role::Admin, Some(&namespace)),
        reviewed: settings.review.is_some(),
        namespace,
        name,
    })
}

/// The dry run of a schema change, before it is saved: for `json` as the own schema of
/// configuration `name`, or as the shared schema `shared` (checked against every configuration
/// that follows it, or would: `name`), what would no longer match. Reads only. A schema that is
/// not valid JSON Schema (draft 2020-12) is refused with where it is wrong.
#[server(endpoint = "schemas/check", input = leptos::server_fn::codec::GetUrl)]
pub async fn check_schema(
    namespace: String,
    name: String,
    shared: String,
    json: String,
) -> Result<Vec<DryRunView>, AppError> {
    use crate::api::ssr::reject;
    let (_, ns, store) = ssr::guard(confo::users::Role::Admin, &namespace).await?;
    let settings = store.get_settings(&ns).await.map_err(reject)?.settings;
    let shared = shared.trim();
    let schema = if json.trim().is_empty() && !shared.is_empty() {
        settings.schemas.get(shared).cloned().ok_or_else(|| {
            reject(AppError::NotFound(format!(
                "The shared schema {shared:?} does not exist."
            )))
        })?
    } else {
        ssr::parse_schema(&json)?
    };
    let mut targets = if shared.is_empty() {
        Vec::new()
    } else {
        settings.users_of(shared)
    };
    let name = name.trim();
    if !name.is_empty() && !targets.iter().any(|t| t == name) {
        targets.push(name.to_owned());
    }
    let runs = store
        .dry_run_schema(&ns, &targets, &schema)
        .await
        .map_err(reject)?;
    Ok(ssr::runs(runs))
}

/// Gives configuration `name` a schema: `mode` `own` (the schema `json`), `named` (the shared
/// schema `shared`) or `none`.
#[server(endpoint = "schemas/assign")]
pub async fn assign_schema(
    namespace: String,
    name: String,
    mode: String,
    shared: String,
    json: String,
    revision: i64,
) -> Result<(), AppError> {
    use crate::api::ssr::reject;
    use confo::store::{SchemaChoice, SettingsChange};
    let (user, ns, store) = ssr::guard(confo::users::Role::Admin, &namespace).await?;
    let configuration = crate::api::configurations::ssr::configuration(&name)?;
    let choice = match mode.as_str() {
        "own" => Some(SchemaChoice::Own(ssr::parse_schema(&json)?)),
        "named" => Some(SchemaChoice::Named(shared.trim().to_owned())),
        "none" => None,
        other => {
            return Err(reject(AppError::Invalid(format!(
                "{other:?} is not a kind of schema; choose own, named or none."
            ))));
        }
    };
    let settings_change = SettingsChange::Assign {
        configuration,
        choice,
    };
    if ssr::change(&user, &ns, &store, settings_change, revision).await? {
        crate::api::redirect::redirect(&format!("/ns/{namespace}/{name}/schema"));
    }
    Ok(())
}

/// Adds or replaces the shared schema `shared` of a namespace.
#[server(endpoint = "schemas/put")]
pub async fn put_shared_schema(
    namespace: String,
    shared: String,
    json: String,
    revision: i64,
) -> Result<(), AppError> {
    let (user, ns, store) = ssr::guard(confo::users::Role::Admin, &namespace).await?;
    let settings_change = confo::store::SettingsChange::PutSchema {
        name: shared.trim().to_owned(),
        schema: ssr::parse_schema(&json)?,
    };
    if ssr::change(&user, &ns, &store, settings_change, revision).await? {
        crate::api::redirect::redirect(&format!("/ns/{namespace}/settings"));
    }
    Ok(())
}

/// Deletes the shared schema `shared`; refused while a configuration follows it.
#[server(endpoint = "schemas/delete")]
pub async fn delete_shared_schema(
    namespace: String,
    shared: String,
    revision: i64,
) -> Result<(), AppError> {
    let (user, ns, store) = ssr::guard(confo::users::Role::Admin, &namespace).await?;
    let settings_change = confo::store::SettingsChange::DeleteSchema {
        name: shared.trim().to_owned(),
    };
    if ssr::change(&user, &ns, &store, settings_change, revision).await? {
        crate::api::redirect::redirect(&format!("/ns/{namespace}/settings"));
    }
    Ok(())
}

/// Turns the namespace's "a comment is required for every change" rule on (`require` is `on`,
/// as a checked box sends it) or off.
#[server(endpoint = "schemas/require-comment")]
pub async fn set_require_comment(
    namespace: String,
    require: Option<String>,
    revision: i64,
) -> Result<(), AppError> {
    let (user, ns, store) = ssr::guard(confo::users::Role::Admin, &namespace).await?;
    let settings_change = confo::store::SettingsChange::RequireComment(require.is_some());
    if ssr::change(&user, &ns, &store, settings_change, revision).await? {
        crate::api::redirect::redirect(&format!("/ns/{namespace}/settings"));
    }
    Ok(())
}

/// The history of a namespace's settings (its schemas and rules), newest first: every change
/// with what it changed, from the audit log.
#[server(endpoint = "schemas/history", input = leptos::server_fn::codec::GetUrl)]
pub async fn settings_history(namespace: String) -> Result<Vec<SettingsChangeView>, AppError> {
    use crate::api::ssr::reject;
    use confo::audit::{Action, AuditQuery};
    let (_, ns, store) = ssr::guard(confo::users::Role::Viewer, &namespace).await?;
    let query = AuditQuery {
        namespace: Some(ns.to_string()),
        limit: Some(1000),
        scan_limit: Some(20_000),
        ..AuditQuery::default()
    };
    let page = store.audit(&query).await.map_err(reject)?;
    let settings_actions = [
        Action::SchemaPut,
        Action::SchemaDelete,
        Action::SchemaAssign,
        Action::NamespaceSettings,
    ];
    Ok(page
        .entries
        .into_iter()
        .filter(|e| settings_actions.contains(&e.action))
        .take(100)
        .map(|e| {
            let changes = e
                .patch
                .as_ref()
                .and_then(|p| serde_json::to_value(p).ok())
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .map(|op| {
                    let what = op["op"].as_str().unwrap_or_default();
                    let path = op["path"].as_str().unwrap_or_default();
                    match op.get("value") {
                        Some(value) => {
                            let text = value.to_string();
                            let text = if text.chars().count() > 300 {
                                format!("{}…", text.chars().take(300).collect::<String>())
                            } else {
                                text
                            };
                            format!("{what} {path}: {text}")
                        }
                        None => format!("{what} {path}"),
                    }
                })
                .collect();
            SettingsChangeView {
                seq: e.seq,
                who: e.actor.name.clone(),
                when: crate::when::exact(e.time.timestamp()),
                action: e.action.as_str().to_owned(),
                configuration: e.configuration.clone(),
                comment: e.comment.clone(),
                changes,
            }
        })
        .collect())
}
