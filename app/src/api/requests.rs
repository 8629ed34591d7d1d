//! Change requests (see `confo::request`): the list, one request with the field-level diff of
//! each configuration it changes, and every step of its life (approve, reject, withdraw,
//! comment, re-base, publish, emergency publish), plus a namespace's review policy.
//!
//! Guards: a request is visible to whoever may read its namespace; one that is not is answered
//! as missing, so that request numbers tell nothing about other namespaces. The rules of the
//! request itself (the author never approves; who approves; approvals needed; emergency
//! publishing by administrators only) are checked by the store, on the stored profile, in the
//! step's own transaction.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::configurations::{FieldDiff, ProblemView};
use crate::error::AppError;

/// A request in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSummary {
    pub id: u64,
    pub namespace: String,
    pub title: String,
    pub author: String,
    /// In words: `draft`, `in review`, `approved`, `published`, `closed`.
    pub state: String,
    pub configurations: Vec<String>,
    pub approvals: usize,
    /// Approvals its namespace asks for (0: a direct namespace).
    pub needed: usize,
    /// RFC 3339.
    pub updated: String,
    /// The signed-in person may approve it, and has not yet.
    pub waiting_for_me: bool,
}

/// The requests page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestsView {
    pub requests: Vec<RequestSummary>,
    /// How many wait for the signed-in person's review.
    pub waiting: usize,
    /// The namespaces the person's requests are in, to filter by.
    pub namespaces: Vec<String>,
}

/// What a request does to one configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestChangeView {
    pub configuration: String,
    /// `changes it`, `creates it`, `deletes it`.
    pub what: String,
    /// Its fields before (as the request was made) and after; write-only values masked.
    pub changes: Vec<FieldDiff>,
    /// Problems the result would have under the configuration's schema.
    pub problems: Vec<ProblemView>,
    /// When it changed since the request was made: what the others changed, and where both
    /// changed the same places (empty: the request's change re-bases cleanly).
    pub stale: Option<StaleView>,
}

/// The three sides of a configuration that changed since the request was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleView {
    /// Each field that the others or the request changed.
    pub rows: Vec<ThreeWayRow>,
    pub overlap: Vec<String>,
}

/// One field, three ways: as the request found it, as it is stored now, as the request has it
/// (`None`: not there). Values are shown as [`FieldDiff`] shows them, write-only parts masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreeWayRow {
    pub field: String,
    pub base: Option<String>,
    pub theirs: Option<String>,
    pub mine: Option<String>,
    pub theirs_changed: bool,
    pub mine_changed: bool,
}

impl ThreeWayRow {
    /// Both sides changed it, differently.
    pub fn overlaps(&self) -> bool {
        self.theirs_changed && self.mine_changed && self.theirs != self.mine
    }
}

/// Merges two diffs from one base (the others', the request's) into three-way rows.
pub fn three_way(theirs: Vec<FieldDiff>, mine: Vec<FieldDiff>) -> Vec<ThreeWayRow> {
    let mut rows: Vec<ThreeWayRow> = theirs
        .into_iter()
        .map(|d| ThreeWayRow {
            field: d.field,
            base: d.before.clone(),
            theirs: d.after,
            mine: d.before,
            theirs_changed: true,
            mine_changed: false,
        })
        .collect();
    for d in mine {
        match rows.iter_mut().find(|r| r.field == d.field) {
            Some(row) => {
                row.mine = d.after;
                row.mine_changed = true;
            }
            None => rows.push(ThreeWayRow {
                field: d.field,
                base: d.before.clone(),
                theirs: d.before,
                mine: d.after,
                theirs_changed: false,
                mine_changed: true,
            }),
        }
    }
    rows.sort_by(|a, b| a.field.cmp(&b.field));
    rows
}

/// One place of the namespace's settings that a request changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaChangeView {
    /// In words: `shared schema limits`, `the schema of db`.
    pub place: String,
    /// As it was when proposed, and as the request has it, in words or indented JSON.
    pub before: String,
    pub after: String,
    /// Someone changed this place since: the request cannot be published as it is.
    pub stale: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentView {
    pub by: String,
    pub time: String,
    pub text: String,
    pub configuration: Option<String>,
    pub field: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    pub by: String,
    pub time: String,
    pub what: String,
    pub reason: Option<String>,
    pub emergency: bool,
}

/// One request, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    pub summary: RequestSummary,
    pub description: String,
    pub changes: Vec<RequestChangeView>,
    /// What it does to the namespace's schemas.
    pub schemas: Vec<SchemaChangeView>,
    /// The configurations whose schema it changes, with the problems they would have under
    /// it (empty problems: they would still match).
    pub schema_checks: Vec<crate::api::schemas::DryRunView>,
    pub comments: Vec<CommentView>,
    pub events: Vec<EventView>,
    pub approved_by: Vec<String>,
    /// The namespace's policy, in words.
    pub policy: String,
    pub can_review: bool,
    pub can_edit: bool,
    pub can_publish: bool,
    pub can_emergency: bool,
    /// It was published in an emergency, without approval: the reason.
    pub emergency: Option<String>,
    /// The version shown: an approval names it.
    pub version: u64,
}

/// A namespace's review policy, as its settings page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    pub reviewed: bool,
    pub approvals: u8,
    /// `editors` or `named`.
    pub approvers: String,
    pub named: Vec<String>,
    /// In words.
    pub described: String,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::api::ssr::{may, reject, require_user, store};
    use confo::request::{Approvers, ChangeRequest, ReviewPolicy};
    use confo::users::{Role, User};

    pub fn describe(policy: Option<&ReviewPolicy>) -> String {
        match policy {
            None => "Changes here are saved directly.".to_owned(),
            Some(policy) => {
                let who = match &policy.approvers {
                    Approvers::Editors => "editors of this namespace or administrators".to_owned(),
                    Approvers::Named(names) => {
                        format!("{} or administrators", names.join(", "))
                    }
                };
                format!(
                    "Changes here are sent for review: each needs {} approval{} from {who}, never from its author.",
                    policy.approvals,
                    if policy.approvals == 1 { "" } else { "s" }
                )
            }
        }
    }

    pub fn policy_view(policy: Option<&ReviewPolicy>) -> PolicyView {
        PolicyView {
            reviewed: policy.is_some(),
            approvals: policy.map_or(1, |p| p.approvals),
            approvers: match policy.map(|p| &p.approvers) {
                Some(Approvers::Named(_)) => "named".into(),
                _ => "editors".into(),
            },
            named: match policy.map(|p| &p.approvers) {
                Some(Approvers::Named(names)) => names.clone(),
                _ => Vec::new(),
            },
            described: describe(policy),
        }
    }

    pub fn summary(
        request: &ChangeRequest,
        policy: Option<&ReviewPolicy>,
        user: &User,
    ) -> RequestSummary {
        let open = matches!(request.state, confo::request::RequestState::Open);
        RequestSummary {
            id: request.id,
            namespace: request.namespace.clone(),
            title: request.title.clone(),
            author: request.author.name.clone(),
            state: request.state.as_str().to_owned(),
            configurations: request
                .configurations
                .iter()
                .cloned()
                .chain((!request.schemas.is_empty()).then(|| "(schemas)".to_owned()))
                .collect(),
            approvals: request.approvals.len(),
            needed: policy.map_or(0, |p| usize::from(p.approvals)),
            updated: request.updated.to_rfc3339(),
            waiting_for_me: open
                && request.may_review(user, policy)
                && !request.approvals.iter().any(|a| a.by == user.name),
        }
    }

    /// The signed-in user and request `id`, if they may read its namespace; a request they may
    /// not read is answered as missing.
    pub async fn guard(
        id: u64,
    ) -> Result<(User, confo::Store, confo::store::RequestRead), AppError> {
        let user = require_user().await?;
        let store = store()?;
        let missing = || {
            reject(AppError::NotFound(format!(
                "Change request {id} does not exist."
            )))
        };
        let read = match store.get_request(id).await {
            Ok(read) => read,
            Err(confo::Error::NotFound(_)) => return Err(missing()),
            Err(other) => return Err(reject(other)),
        };
        if !may(&user, Role::Viewer, Some(&read.request.namespace)) {
            return Err(missing());
        }
        Ok((user, store, read))
    }

    /// The policy of `namespace` (`None`: direct).
    pub async fn policy(
        store: &confo::Store,
        namespace: &str,
    ) -> Result<Option<ReviewPolicy>, AppError> {
        let ns = crate::api::configurations::ssr::namespace(namespace)?;
        Ok(store
            .get_settings(&ns)
            .await
            .map_err(reject)?
            .settings
            .review)
    }

    /// Every request the user may read, with its namespace's policy.
    pub async fn readable(
        store: &confo::Store,
        user: &User,
    ) -> Result<Vec<(ChangeRequest, Option<ReviewPolicy>)>, AppError> {
        let mut policies: std::collections::HashMap<String, Option<ReviewPolicy>> =
            Default::default();
        let mut out = Vec::new();
        for request in store.list_requests().await.map_err(reject)? {
            if !may(user, Role::Viewer, Some(&request.namespace)) {
                continue;
            }
            if !policies.contains_key(&request.namespace) {
                let policy = policy(store, &request.namespace).await?;
                policies.insert(request.namespace.clone(), policy);
            }
            let policy = policies[&request.namespace].clone();
            out.push((request, policy));
        }
        Ok(out)
    }

    /// How many requests wait for `user`'s review.
    pub async fn waiting_for(store: &confo::Store, user: &User) -> Result<usize, AppError> {
        Ok(readable(store, user)
            .await?
            .iter()
            .filter(|(request, policy)| summary(request, policy.as_ref(), user).waiting_for_me)
            .count())
    }

    fn choice_in_words(choice: Option<&confo::store::SchemaChoice>) -> String {
        use confo::store::SchemaChoice;
        match choice {
            None => "(no schema)".to_owned(),
            Some(SchemaChoice::Named(name)) => format!("follows shared schema {name}"),
            Some(SchemaChoice::Own(schema)) => format!(
                "its own schema: {}",
                serde_json::to_string_pretty(schema).unwrap_or_default()
            ),
        }
    }

    fn schema_in_words(schema: Option<&serde_json::Value>) -> String {
        schema.map_or_else(
            || "(not there)".to_owned(),
            |s| serde_json::to_string_pretty(s).unwrap_or_default(),
        )
    }

    /// What `request` does to its namespace's schemas, place by place, and the schema check of
    /// every configuration whose schema it changes (each with the value the request leaves).
    pub async fn schema_views(
        store: &confo::Store,
        ns: &confo::NamespaceName,
        request: &ChangeRequest,
        settings: &confo::store::NamespaceSettings,
        after: &confo::store::NamespaceSettings,
        changes: &[confo::request::ProposedChange],
    ) -> Result<(Vec<SchemaChangeView>, Vec<crate::api::schemas::DryRunView>), AppError> {
        use crate::api::configurations::hints::problem_views;
        let stale = if request.state.is_active() {
            request.schemas.stale(settings)
        } else {
            Vec::new()
        };
        let mut views = Vec::new();
        for (name, place) in &request.schemas.schemas {
            let label = confo::request::schema_place(name);
            views.push(SchemaChangeView {
                stale: stale.contains(&label),
                place: label,
                before: schema_in_words(place.base.as_ref()),
                after: schema_in_words(place.proposed.as_ref()),
            });
        }
        for (configuration, place) in &request.schemas.assignments {
            let label = confo::request::assignment_place(configuration);
            views.push(SchemaChangeView {
                stale: stale.contains(&label),
                place: label,
                before: choice_in_words(place.base.as_ref()),
                after: choice_in_words(place.proposed.as_ref()),
            });
        }
        let mut checks = Vec::new();
        if request.schemas.is_empty() {
            return Ok((views, checks));
        }
        let mut names = store
            .list_configurations(ns)
            .await
            .map_err(reject)?
            .registered;
        for change in changes {
            if !names.contains(&change.configuration) {
                names.push(change.configuration.clone());
            }
        }
        for name in names {
            let Some(schema) = after.schema_of(&name) else {
                continue;
            };
            if settings.schema_of(&name) == Some(schema) {
                continue;
            }
            // The value the request leaves, or the stored one.
            let fields = match changes.iter().find(|c| c.configuration == name) {
                Some(change) => match change.after().map_err(reject)? {
                    Some(fields) => fields,
                    None => continue,
                },
                None => {
                    let Ok(configuration) = confo::ConfigurationName::new(name.as_str()) else {
                        continue;
                    };
                    match store.get_configuration(ns, &configuration).await {
                        Ok(c) => c.fields,
                        Err(confo::Error::NotFound(_)) => continue,
                        Err(e) => return Err(reject(e)),
                    }
                }
            };
            let problems = confo::schema::problems(schema, &fields).unwrap_or_default();
            checks.push(crate::api::schemas::DryRunView {
                configuration: name,
                problems: problem_views(&problems),
            });
        }
        Ok((views, checks))
    }

    /// One step of request `id` by the signed-in person, past [`guard`]: `step` runs with the
    /// store and the person's change, then a form posted without JavaScript goes back to the
    /// request's page, with `suffix`.
    pub async fn step<T>(
        id: u64,
        suffix: &str,
        step: impl AsyncFnOnce(&confo::Store, &confo::Change) -> confo::Result<T>,
    ) -> Result<T, AppError> {
        let (user, store, _) = guard(id).await?;
        let done = step(&store, &crate::api::ssr::change(&user))
            .await
            .map_err(reject)?;
        back_to(id, suffix);
        Ok(done)
    }

    /// The page of request `id`, with `suffix` (such as `?published=1`).
    pub fn back_to(id: u64, suffix: &str) {
        crate::api::redirect::redirect(&format!("{}{suffix}", confo::request::address(id)));
    }
}

/// The requests the signed-in user may read: `filter` is `open` (draft, in review, approved),
/// `waiting` (for their review), `mine`, `published`, `closed` or anything else for all; of one
/// `namespace` when given.
#[server(endpoint = "requests/list", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_requests(
    filter: String,
    #[server(default)] namespace: String,
) -> Result<RequestsView, AppError> {
    use crate::api::ssr::{require_user, store};
    let user = require_user().await?;
    let store = store()?;
    let all = ssr::readable(&store, &user).await?;
    let summaries: Vec<RequestSummary> = all
        .iter()
        .map(|(request, policy)| ssr::summary(request, policy.as_ref(), &user))
        .collect();
    let waiting = summaries.iter().filter(|s| s.waiting_for_me).count();
    let mut namespaces: Vec<String> = summaries.iter().map(|s| s.namespace.clone()).collect();
    namespaces.sort();
    namespaces.dedup();
    let requests = summaries
        .into_iter()
        .filter(|s| match filter.as_str() {
            "open" => matches!(s.state.as_str(), "draft" | "in review" | "approved"),
            "waiting" => s.waiting_for_me,
            "mine" => s.author == user.name,
            "published" => s.state == "published",
            "closed" => s.state == "closed",
            _ => true,
        })
        .filter(|s| namespace.is_empty() || s.namespace == namespace)
        .collect();
    Ok(RequestsView {
        requests,
        waiting,
        namespaces,
    })
}

/// One request, with the field-level diff of each configuration it changes, the schema check
/// of each result, what changed since it was made, its discussion and timeline.
#[server(endpoint = "requests/get", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_request(id: u64) -> Result<RequestView, AppError> {
    use crate::api::configurations::hints::problem_views;
    use crate::api::configurations::ssr::{Rules, configuration, namespace};
    use crate::api::ssr::reject;
    use confo::request::{EventKind, Proposed, RequestState};
    use confo::users::Role;
    let (user, store, read) = ssr::guard(id).await?;
    let request = &read.request;
    let ns = namespace(&request.namespace)?;
    let settings = store.get_settings(&ns).await.map_err(reject)?.settings;
    let policy = settings.review.clone();
    // The schemas as the request would leave them: what its changes are checked against.
    let settings_after = request
        .schemas
        .apply(&settings)
        .unwrap_or_else(|_| settings.clone());
    // Only a request that can still be published can be stale.
    let stale = if request.state.is_active() {
        store.conflicts_of(&read).await.map_err(reject)?
    } else {
        Vec::new()
    };
    let mut changes = Vec::new();
    for change in &read.changes {
        let name = configuration(&change.configuration)?;
        let rules = Rules::of(&settings, &name);
        let schema_after = settings_after.schema_of(name.as_str());
        let before = change.base.clone().unwrap_or_default();
        let after = change.after().map_err(reject)?;
        let problems = match (schema_after, &after) {
            (Some(schema), Some(after)) => {
                problem_views(&confo::schema::problems(schema, after).unwrap_or_default())
            }
            _ => Vec::new(),
        };
        let diffs = rules.masked_diffs(confo::store::diff_fields(
            &before,
            &after.clone().unwrap_or_default(),
        ));
        let stale = stale
            .iter()
            .find(|s| s.configuration == change.configuration)
            .map(|s| StaleView {
                rows: three_way(
                    rules.masked_diffs(confo::store::diff_fields(
                        &before,
                        &s.theirs.clone().unwrap_or_default(),
                    )),
                    diffs.clone(),
                ),
                overlap: s.overlap.clone(),
            });
        changes.push(RequestChangeView {
            configuration: change.configuration.clone(),
            what: match change.proposed {
                Proposed::Edits(_) => "changes it",
                Proposed::Create(_) => "creates it",
                Proposed::Delete => "deletes it",
            }
            .to_owned(),
            changes: diffs,
            problems,
            stale,
        });
    }
    let (schemas, schema_checks) = ssr::schema_views(
        &store,
        &ns,
        request,
        &settings,
        &settings_after,
        &read.changes,
    )
    .await?;
    let active = request.state.is_active();
    let is_admin = user.role == Role::Admin;
    let ready = request.approvals_missing(policy.as_ref()) == 0;
    let emergency = request
        .last(EventKind::PublishedInEmergency)
        .and_then(|e| e.reason.clone());
    Ok(RequestView {
        summary: ssr::summary(request, policy.as_ref(), &user),
        description: request.description.clone(),
        changes,
        schemas,
        schema_checks,
        comments: request
            .comments
            .iter()
            .map(|c| CommentView {
                by: c.by.clone(),
                time: c.time.to_rfc3339(),
                text: c.text.clone(),
                configuration: c.configuration.clone(),
                field: c.field.clone(),
            })
            .collect(),
        events: request
            .events
            .iter()
            .map(|e| EventView {
                by: e.by.clone(),
                time: e.time.to_rfc3339(),
                what: e.what.in_words().to_owned(),
                reason: e.reason.clone(),
                emergency: e.what == EventKind::PublishedInEmergency,
            })
            .collect(),
        approved_by: request.approvals.iter().map(|a| a.by.clone()).collect(),
        policy: ssr::describe(policy.as_ref()),
        can_review: active
            && request.state != RequestState::Draft
            && request.may_review(&user, policy.as_ref())
            && !request.approvals.iter().any(|a| a.by == user.name),
        can_edit: active && request.may_edit(&user),
        can_publish: matches!(request.state, RequestState::Open | RequestState::Approved)
            && ready
            && request.may_publish(&user, policy.as_ref()),
        can_emergency: matches!(request.state, RequestState::Open | RequestState::Approved)
            && !ready
            && is_admin,
        emergency,
        version: request.version,
    })
}

/// Approves version `seen` of request `id` (the one the reviewer read); refused as a conflict
/// when it changed since.
#[server(endpoint = "requests/approve")]
pub async fn approve_request(id: u64, seen: u64) -> Result<(), AppError> {
    use crate::api::ssr::{change, reject};
    let (user, store, _) = ssr::guard(id).await?;
    store
        .approve_request(id, Some(seen), &change(&user))
        .await
        .map_err(|e| match e {
            confo::Error::Conflict { .. } => reject(AppError::Conflict(format!(
                "Request {id} changed since you loaded it, so nothing was approved. Read it again, then approve."
            ))),
            other => reject(other),
        })?;
    ssr::back_to(id, "?approved=1");
    Ok(())
}

/// Rejects request `id`, saying why; nothing of it is written.
#[server(endpoint = "requests/reject")]
pub async fn reject_request(id: u64, reason: String) -> Result<(), AppError> {
    ssr::step(id, "", async |store, change| {
        store.reject_request(id, &reason, change).await
    })
    .await
    .map(drop)
}

/// Withdraws request `id`; nothing of it is written.
#[server(endpoint = "requests/withdraw")]
pub async fn withdraw_request(id: u64) -> Result<(), AppError> {
    ssr::step(id, "", async |store, change| {
        store.withdraw_request(id, change).await
    })
    .await
    .map(drop)
}

/// Changes the title and description of request `id` (its author or an administrator); it
/// goes back to review.
#[server(endpoint = "requests/text")]
pub async fn set_request_text(
    id: u64,
    title: String,
    #[server(default)] description: String,
) -> Result<(), AppError> {
    ssr::step(id, "", async |store, change| {
        store
            .set_request_text(id, &title, &description, change)
            .await
    })
    .await
    .map(drop)
}

/// Sends draft `id` for review.
#[server(endpoint = "requests/submit")]
pub async fn submit_request(id: u64) -> Result<(), AppError> {
    ssr::step(id, "", async |store, change| {
        store.submit_request(id, change).await
    })
    .await
    .map(drop)
}

/// Takes one configuration out of request `id`.
#[server(endpoint = "requests/remove")]
pub async fn remove_from_request(id: u64, configuration: String) -> Result<(), AppError> {
    ssr::step(id, "", async |store, change| {
        store.remove_from_request(id, &configuration, change).await
    })
    .await
    .map(drop)
}

/// Takes every schema change out of request `id`.
#[server(endpoint = "requests/remove-schemas")]
pub async fn remove_schemas_from_request(id: u64) -> Result<(), AppError> {
    ssr::step(id, "", async |store, change| {
        store.remove_schemas_from_request(id, change).await
    })
    .await
    .map(drop)
}

/// Adds a comment to request `id`, on the whole or on one configuration's field.
#[server(endpoint = "requests/comment")]
pub async fn comment_request(
    id: u64,
    text: String,
    #[server(default)] configuration: String,
    #[server(default)] field: String,
) -> Result<(), AppError> {
    ssr::step(id, "#discussion", async |store, change| {
        store
            .comment_request(id, &text, Some(configuration), Some(field), change)
            .await
    })
    .await
    .map(drop)
}

/// Re-bases request `id` on the latest versions of its configurations (what overlaps another
/// change stays, to be resolved by hand).
#[server(endpoint = "requests/rebase")]
pub async fn rebase_request(id: u64) -> Result<(), AppError> {
    use crate::api::ssr::{change, reject};
    let (user, store, _) = ssr::guard(id).await?;
    let done = store
        .rebase_request(id, &change(&user))
        .await
        .map_err(reject)?;
    if done.rebased.is_empty() {
        return Err(reject(AppError::Conflict(format!(
            "Nothing in request {id} could be re-based on its own: {} changed the same places. Resolve them by hand.",
            done.overlapping
                .iter()
                .map(|s| s.configuration.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ))));
    }
    ssr::back_to(id, "?rebased=1");
    Ok(())
}

/// Publishes request `id`: every configuration it changes in one transaction, or nothing.
#[server(endpoint = "requests/publish")]
pub async fn publish_request(id: u64) -> Result<(), AppError> {
    ssr::step(id, "?published=1", async |store, change| {
        store.publish_request(id, None, change).await
    })
    .await
    .map(drop)
}

/// Publishes request `id` without the approvals it needs: administrators only, with a reason,
/// recorded on the request and in the audit log.
#[server(endpoint = "requests/emergency")]
pub async fn emergency_publish(id: u64, reason: String) -> Result<(), AppError> {
    ssr::step(id, "?published=1", async |store, change| {
        store.publish_request(id, Some(&reason), change).await
    })
    .await
    .map(drop)
}

/// Makes `namespace` reviewed (`mode` is `reviewed`: `approvals` from `approvers`, `editors` or
/// `named` with `named` separated by commas) or direct. Administrators only; audited.
#[server(endpoint = "requests/policy")]
pub async fn set_review_policy(
    namespace: String,
    mode: String,
    #[server(default)] approvals: String,
    #[server(default)] approvers: String,
    #[server(default)] named: String,
) -> Result<(), AppError> {
    use crate::api::ssr::{change, reject, require};
    use confo::request::{Approvers, ReviewPolicy};
    let user = require(confo::users::Role::Admin, Some(&namespace)).await?;
    let ns = crate::api::configurations::ssr::namespace(&namespace)?;
    let policy = match mode.as_str() {
        "direct" => None,
        "reviewed" => {
            let approvals: u8 = approvals.trim().parse().map_err(|_| {
                reject(AppError::Invalid(format!(
                    "Give the number of approvals as a whole number from 1 to {}.",
                    confo::request::MAX_APPROVALS
                )))
            })?;
            let approvers = match approvers.as_str() {
                "named" => Approvers::Named(
                    named
                        .split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ),
                "editors" | "" => Approvers::Editors,
                other => {
                    return Err(reject(AppError::Invalid(format!(
                        "{other:?} is not who may approve: choose editors or named people."
                    ))));
                }
            };
            Some(ReviewPolicy {
                approvals,
                approvers,
            })
        }
        other => {
            return Err(reject(AppError::Invalid(format!(
                "{other:?} is not a way to take changes: choose direct or reviewed."
            ))));
        }
    };
    crate::api::ssr::store()?
        .set_review_policy(&ns, policy, &change(&user))
        .await
        .map_err(reject)?;
    crate::api::redirect::redirect(&format!("/ns/{namespace}/settings#review"));
    Ok(())
}
