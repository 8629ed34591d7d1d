//! Change requests in the store (see [`crate::request`] for what they are).
//!
//! A request is two keys under the reserved prefix: its record ([`ChangeRequest`]: state,
//! approvals, comments, timeline) and its changes (each configuration's edits with the revision
//! and fields they were made on). Every step (open, edit, approve, reject, withdraw, re-base,
//! publish) is one compare-and-swap transaction through the committer, with an audit entry that
//! names the request. Publishing writes every configuration of the request, each with its own
//! audit entry linked to the request, and the request's new state, in one transaction: all of
//! it or nothing. A configuration changed since the request was made stops the publish
//! ([`Error::RequestStale`]); [`Store::request_conflicts`] shows the three sides and
//! [`Store::rebase_request`] re-bases the edits that touch places nobody else touched.
//!
//! The dashboard's guard checks that a person may read (or edit) the namespace; the rules of
//! requests themselves (never approving one's own request, who approves, how many approvals,
//! emergency publishing by administrators only) are checked here, on the profile stored with
//! the request, in the same transaction.

use chrono::Utc;
use serde_json::{Map, Value};

use super::configurations::{action_of, as_object};
use super::namespaces::{CONFIGURATIONS, NAMESPACES};
use super::settings::{NamespaceSettings, SettingsChange, check_write};
use super::users::parse_user;
use super::{Change, Decision, Draft, Index, Plan, Reads, Store, Written, parse_json};
use crate::audit::{Action, ActorKind};
use crate::edit;
use crate::error::{Error, Result};
use crate::kv::KeyValue;
use crate::names::{ConfigurationName, NamespaceName, configuration_name, namespace_name};
use crate::request::{
    Approval, ChangeRequest, Comment, Event, EventKind, MAX_COMMENTS, MAX_TEXT_CHARS,
    MAX_TITLE_CHARS, Proposed, ProposedChange, RequestState, check_publishable, check_text,
    merge_change,
};
use crate::users::{Role, User};

/// A request to open.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub title: String,
    pub description: String,
    /// Each configuration's change, with the revision it was made on (`None`: on what is stored
    /// now). A change made on an older revision than the stored one is a conflict.
    pub changes: Vec<(ConfigurationName, Proposed, Option<i64>)>,
    /// Changes to the namespace's schemas (administrators only), made on its settings as they
    /// are now.
    pub schemas: Vec<SettingsChange>,
    /// The revision of the namespace's settings the schema changes were made on, when known: a
    /// change to them since is a conflict, and nothing is opened.
    pub settings_revision: Option<i64>,
    /// Kept as a draft by its author instead of being sent for review.
    pub draft: bool,
}

/// A request as read: its record, its changes and the revision of its record.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRead {
    pub request: ChangeRequest,
    pub changes: Vec<ProposedChange>,
    /// The revision of its record when read.
    pub revision: i64,
}

/// One configuration of a request that changed since the request was made: the three sides.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleConfiguration {
    pub configuration: String,
    /// The fields the request's change was made on (`None`: it did not exist).
    pub base: Option<Map<String, Value>>,
    /// What is stored now (`None`: it does not exist), at `theirs_revision`.
    pub theirs: Option<Map<String, Value>>,
    pub theirs_revision: i64,
    /// The request's change, as made on its base.
    pub mine: Option<Map<String, Value>>,
    /// The places both changed, in words; empty when the change re-bases cleanly.
    pub overlap: Vec<String>,
}

/// What re-basing a request did.
#[derive(Debug, Clone, PartialEq)]
pub struct RebaseReport {
    /// The configurations re-based on their latest version.
    pub rebased: Vec<String>,
    /// Those whose changes overlap another change: to be resolved by hand.
    pub overlapping: Vec<StaleConfiguration>,
}

/// One step in a request's life, checked and applied in the step's transaction.
enum Step {
    AddChange(ProposedChange),
    ReplaceChange(ProposedChange),
    RemoveChange(String),
    SetText {
        title: String,
        description: String,
    },
    Submit,
    /// Approves the version its reviewer saw (`None`: whatever is there).
    Approve(Option<u64>),
    Reject(String),
    Withdraw,
    Comment(Comment),
    Rebase,
    ProposeSchema(SettingsChange),
    RemoveSchemas,
}

fn not_found(id: u64) -> Error {
    Error::NotFound(format!("change request {id}"))
}

fn parse_request(kv: &KeyValue) -> Result<ChangeRequest> {
    serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
        key: kv.key.clone(),
        reason: format!("not a change request ({e})"),
    })
}

fn parse_changes(kv: Option<&KeyValue>) -> Result<Vec<ProposedChange>> {
    match kv {
        None => Ok(Vec::new()),
        Some(kv) => serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
            key: kv.key.clone(),
            reason: format!("not a change request's changes ({e})"),
        }),
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("requests always serialise")
}

fn record_bytes(request: &ChangeRequest) -> usize {
    serde_json::to_vec(request).map_or(0, |v| v.len())
}

/// Refuses a request that could not be published in one transaction on `settings` (see
/// [`check_publishable`]).
fn check_fits(
    request: &ChangeRequest,
    settings: &NamespaceSettings,
    changes: &[ProposedChange],
) -> Result<()> {
    let settings_bytes = (!request.schemas.is_empty()).then(|| {
        let after = request
            .schemas
            .apply(settings)
            .unwrap_or_else(|_| settings.clone());
        let size = |s: &NamespaceSettings| serde_json::to_vec(&s.to_value()).map_or(0, |v| v.len());
        // Written after; its audit entry's patches hold at most the record before and after.
        size(&after).max(size(settings))
    });
    check_publishable(record_bytes(request) + 64, settings_bytes, changes)
}

const NO_CHANGE: &str = "a change request changes at least one configuration or schema";

/// The stored profile of the person taking a step; a disabled or missing account takes none.
fn profile(reads: &Reads, key: &str, name: &str) -> Result<User> {
    match reads.get(key).map(parse_user).transpose()? {
        Some(user) if !user.disabled => Ok(user),
        _ => Err(Error::NotAllowed(format!(
            "the account {name:?} is missing or disabled"
        ))),
    }
}

fn event(by: &str, what: EventKind, reason: Option<String>) -> Event {
    Event {
        by: by.to_owned(),
        time: Utc::now(),
        what,
        reason,
    }
}

impl Store {
    /// Request `id` with its changes.
    pub async fn get_request(&self, id: u64) -> Result<RequestRead> {
        let reads = self
            .kv
            .get_many(&[self.layout.request(id), self.layout.request_changes(id)])
            .await?;
        let kv = reads[0].as_ref().ok_or_else(|| not_found(id))?;
        Ok(RequestRead {
            request: parse_request(kv)?,
            changes: parse_changes(reads[1].as_ref())?,
            revision: kv.mod_revision,
        })
    }

    /// Every change request, newest first (without their changes).
    pub async fn list_requests(&self) -> Result<Vec<ChangeRequest>> {
        let mut requests: Vec<ChangeRequest> = self
            .kv
            .list_prefix(&self.layout.requests_prefix())
            .await?
            .iter()
            .map(parse_request)
            .collect::<Result<_>>()?;
        requests.reverse();
        Ok(requests)
    }

    /// The change to `configuration` as made now: on the stored fields and revision, which must
    /// be `expected_revision` when given (0: the configuration does not exist).
    async fn based(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        proposed: Proposed,
        expected_revision: Option<i64>,
    ) -> Result<ProposedChange> {
        if let Proposed::Edits(edits) = &proposed {
            if edits.is_empty() {
                return Err(Error::InvalidValue(
                    "There is nothing to change.".to_owned(),
                ));
            }
            edit::check(edits)?;
        }
        if let Proposed::Create(fields) = &proposed {
            for name in fields.keys() {
                super::check_field_name(name)?;
            }
        }
        let key = self.layout.configuration(namespace, configuration);
        let read = self.read_owned(namespace.as_str(), &key).await?;
        let revision = read.as_ref().map_or(0, |kv| kv.mod_revision);
        if let Some(expected) = expected_revision
            && expected != revision
        {
            return Err(Error::Conflict {
                key,
                current_revision: revision,
                current: read
                    .as_ref()
                    .and_then(|kv| parse_json(kv).ok())
                    .map(Box::new),
            });
        }
        let change = ProposedChange {
            configuration: configuration.to_string(),
            proposed,
            base_revision: revision,
            base: read.as_ref().map(as_object).transpose()?,
        };
        // Refused now if it does not apply: a missing place, a name taken, a configuration
        // that is not there (or already is).
        change.after()?;
        Ok(change)
    }

    /// Opens a change request in `namespace` (which must exist), with an audit entry. Its
    /// changes are checked as they would be published (they apply; they fit in one
    /// transaction), and kept with the revision and fields they were made on.
    pub async fn open_request(
        &self,
        namespace: &NamespaceName,
        new: NewRequest,
        change: &Change,
    ) -> Result<RequestRead> {
        let title = check_text("a title", &new.title, true, MAX_TITLE_CHARS)?;
        let description = check_text("the description", &new.description, false, MAX_TEXT_CHARS)?;
        if new.changes.is_empty() && new.schemas.is_empty() {
            return Err(Error::InvalidValue(NO_CHANGE.to_owned()));
        }
        let mut changes: Vec<ProposedChange> = Vec::new();
        for (configuration, proposed, expected) in new.changes {
            let based = self
                .based(namespace, &configuration, proposed, expected)
                .await?;
            merge_change(&mut changes, based)?;
        }
        let now = Utc::now();
        let author = change.actor.clone();
        let opened = if new.draft {
            EventKind::Drafted
        } else {
            EventKind::Opened
        };
        let mut request = ChangeRequest {
            id: 0,
            namespace: namespace.to_string(),
            title,
            description,
            author: author.clone(),
            state: if new.draft {
                RequestState::Draft
            } else {
                RequestState::Open
            },
            configurations: changes.iter().map(|c| c.configuration.clone()).collect(),
            approvals: Vec::new(),
            comments: Vec::new(),
            events: vec![Event {
                by: author.name.clone(),
                time: now,
                what: opened,
                reason: None,
            }],
            created: now,
            updated: now,
            version: 1,
            contributors: Vec::new(),
            schemas: Default::default(),
        };
        let seq_key = self.layout.request_seq();
        let root_key = self.layout.root();
        let settings_key = self.layout.settings(namespace);
        let schema_changes = new.schemas;
        let settings_revision = new.settings_revision;
        let user_key = self.layout.user(&change.actor.name);
        let by_person = change.actor.kind == ActorKind::User;
        let layout = self.layout.clone();
        let namespace = namespace.clone();
        let planned = std::sync::Arc::new(std::sync::Mutex::new(None));
        let out = planned.clone();
        let written = self
            .commit(
                change,
                vec![
                    seq_key.clone(),
                    root_key.clone(),
                    settings_key.clone(),
                    user_key.clone(),
                ],
                move |reads: &Reads| {
                    let root = Index::parse(reads.get(&root_key), NAMESPACES)?;
                    if !root.contains(namespace.as_str()) {
                        return Err(Error::NotFound(format!("namespace {namespace:?}")));
                    }
                    let settings = NamespaceSettings::parse(reads.get(&settings_key))?;
                    if !schema_changes.is_empty() {
                        // Schema changes are an administrator's, as when written directly.
                        let admin = by_person
                            && reads
                                .get(&user_key)
                                .map(parse_user)
                                .transpose()?
                                .is_some_and(|u| u.role == Role::Admin && !u.disabled);
                        if !admin {
                            return Err(Error::NotAllowed(
                                "only an administrator proposes schema changes".to_owned(),
                            ));
                        }
                        let revision = reads.get(&settings_key).map_or(0, |kv| kv.mod_revision);
                        if settings_revision.is_some_and(|expected| expected != revision) {
                            return Err(Error::Conflict {
                                key: settings_key.clone(),
                                current_revision: revision,
                                current: None,
                            });
                        }
                    }
                    request.schemas = Default::default();
                    for schema_change in &schema_changes {
                        request.schemas.add(schema_change, &settings)?;
                    }
                    if changes.is_empty() && request.schemas.is_empty() {
                        return Err(Error::InvalidValue(
                            "the request would change nothing: its schemas are already so"
                                .to_owned(),
                        ));
                    }
                    check_fits(&request, &settings, &changes)?;
                    let last: u64 = match reads.get(&seq_key) {
                        None => 0,
                        Some(kv) => {
                            serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
                                key: kv.key.clone(),
                                reason: format!("not a request number ({e})"),
                            })?
                        }
                    };
                    request.id = last + 1;
                    let mut plan = Plan::default();
                    plan.compare(&root_key, reads);
                    plan.compare(&seq_key, reads);
                    plan.compare(&settings_key, reads);
                    plan.compare(&user_key, reads);
                    plan.put_json(&seq_key, &Value::from(request.id));
                    // Never over a request already there (a sequence restored from a backup).
                    for key in [
                        layout.request(request.id),
                        layout.request_changes(request.id),
                    ] {
                        plan.compares.push(crate::kv::Compare::unchanged(key, None));
                    }
                    plan.put_json(&layout.request(request.id), &to_value(&request));
                    plan.put_json(&layout.request_changes(request.id), &to_value(&changes));
                    let mut draft =
                        Draft::request(Action::RequestOpen, namespace.as_str(), request.id);
                    draft.comment = Some(request.title.clone());
                    plan.drafts.push(draft);
                    *out.lock().expect("not poisoned") = Some((request.clone(), changes.clone()));
                    Ok(Decision::Write(plan))
                },
            )
            .await?;
        let (request, changes) = planned
            .lock()
            .expect("not poisoned")
            .take()
            .expect("a written request was planned");
        Ok(RequestRead {
            request,
            changes,
            revision: written.revision,
        })
    }

    /// Adds a change to `configuration` to request `id`, after what it already does to it (see
    /// [`merge_change`]). Returns the request to review and clears its approvals.
    pub async fn add_to_request(
        &self,
        id: u64,
        configuration: &ConfigurationName,
        proposed: Proposed,
        expected_revision: Option<i64>,
        change: &Change,
    ) -> Result<RequestRead> {
        self.step_with_change(
            id,
            configuration,
            proposed,
            expected_revision,
            change,
            Step::AddChange,
        )
        .await
    }

    /// Replaces what request `id` does to `configuration` with `proposed`, made on what is
    /// stored now: how an overlap with another change is resolved by hand.
    pub async fn replace_in_request(
        &self,
        id: u64,
        configuration: &ConfigurationName,
        proposed: Proposed,
        expected_revision: Option<i64>,
        change: &Change,
    ) -> Result<RequestRead> {
        self.step_with_change(
            id,
            configuration,
            proposed,
            expected_revision,
            change,
            Step::ReplaceChange,
        )
        .await
    }

    /// A step that brings a change to `configuration` of request `id`, made now (see
    /// [`Store::based`]).
    async fn step_with_change(
        &self,
        id: u64,
        configuration: &ConfigurationName,
        proposed: Proposed,
        expected_revision: Option<i64>,
        change: &Change,
        step: fn(ProposedChange) -> Step,
    ) -> Result<RequestRead> {
        let namespace = self.request_namespace(id).await?;
        let based = self
            .based(&namespace, configuration, proposed, expected_revision)
            .await?;
        self.step(id, change, Vec::new(), step(based)).await
    }

    /// Takes `configuration` out of request `id`.
    pub async fn remove_from_request(
        &self,
        id: u64,
        configuration: &str,
        change: &Change,
    ) -> Result<RequestRead> {
        self.step(
            id,
            change,
            Vec::new(),
            Step::RemoveChange(configuration.to_owned()),
        )
        .await
    }

    /// Adds a change to its namespace's schemas to request `id`, made on the settings as they
    /// are now (see [`crate::request::SchemaProposal::add`]).
    pub async fn add_schema_change_to_request(
        &self,
        id: u64,
        schema_change: SettingsChange,
        change: &Change,
    ) -> Result<RequestRead> {
        self.step(id, change, Vec::new(), Step::ProposeSchema(schema_change))
            .await
    }

    /// Takes every schema change out of request `id`.
    pub async fn remove_schemas_from_request(
        &self,
        id: u64,
        change: &Change,
    ) -> Result<RequestRead> {
        self.step(id, change, Vec::new(), Step::RemoveSchemas).await
    }

    /// Changes the title and description of request `id`.
    pub async fn set_request_text(
        &self,
        id: u64,
        title: &str,
        description: &str,
        change: &Change,
    ) -> Result<RequestRead> {
        let title = check_text("a title", title, true, MAX_TITLE_CHARS)?;
        let description = check_text("the description", description, false, MAX_TEXT_CHARS)?;
        self.step(id, change, Vec::new(), Step::SetText { title, description })
            .await
    }

    /// Sends draft `id` for review.
    pub async fn submit_request(&self, id: u64, change: &Change) -> Result<RequestRead> {
        self.step(id, change, Vec::new(), Step::Submit).await
    }

    /// Approves request `id`: by someone the namespace's policy names, never by someone who
    /// wrote any of it. With `seen`, only if the request is still at that version (the one its
    /// reviewer read): otherwise [`Error::Conflict`], and nothing is approved.
    pub async fn approve_request(
        &self,
        id: u64,
        seen: Option<u64>,
        change: &Change,
    ) -> Result<RequestRead> {
        self.step(id, change, Vec::new(), Step::Approve(seen)).await
    }

    /// Rejects request `id` with a reason; it is closed and writes nothing.
    pub async fn reject_request(
        &self,
        id: u64,
        reason: &str,
        change: &Change,
    ) -> Result<RequestRead> {
        let reason = check_text("a reason", reason, true, MAX_TEXT_CHARS)?;
        self.step(id, change, Vec::new(), Step::Reject(reason))
            .await
    }

    /// Withdraws request `id` (its author or an administrator); it is closed and writes nothing.
    pub async fn withdraw_request(&self, id: u64, change: &Change) -> Result<RequestRead> {
        self.step(id, change, Vec::new(), Step::Withdraw).await
    }

    /// Adds a comment to request `id`, on the whole or on one configuration's field.
    pub async fn comment_request(
        &self,
        id: u64,
        text: &str,
        configuration: Option<String>,
        field: Option<String>,
        change: &Change,
    ) -> Result<RequestRead> {
        let text = check_text("a comment", text, true, MAX_TEXT_CHARS)?;
        let comment = Comment {
            by: change.actor.name.clone(),
            time: Utc::now(),
            text,
            configuration: configuration.filter(|c| !c.trim().is_empty()),
            field: field.filter(|f| !f.trim().is_empty()),
        };
        self.step(id, change, Vec::new(), Step::Comment(comment))
            .await
    }

    /// Re-bases request `id` on the latest versions of its configurations: each change whose
    /// places nobody else touched is made again on what is stored now; the others are left as
    /// they are and reported, with the three sides, to be resolved by hand. Returns the request
    /// to review and clears its approvals when anything was re-based.
    pub async fn rebase_request(&self, id: u64, change: &Change) -> Result<RebaseReport> {
        let read = self.get_request(id).await?;
        let namespace = namespace_name(read.request.namespace.as_str())?;
        let keys = self.configuration_keys(&namespace, &read.changes)?;
        let before = self.conflicts_of(&read).await?;
        if before.is_empty() {
            return Err(Error::InvalidValue(format!(
                "request {id} is up to date with its configurations: there is nothing to re-base"
            )));
        }
        let after = self.step(id, change, keys, Step::Rebase).await;
        let overlapping = self.request_conflicts(id).await?;
        match after {
            Ok(_) | Err(Error::InvalidValue(_)) => {}
            Err(error) => return Err(error),
        }
        let rebased = before
            .iter()
            .filter(|b| {
                !overlapping
                    .iter()
                    .any(|o| o.configuration == b.configuration)
            })
            .map(|b| b.configuration.clone())
            .collect();
        Ok(RebaseReport {
            rebased,
            overlapping,
        })
    }

    /// The configurations of request `id` that changed since it was made, with the three sides
    /// of each and where they overlap. Empty when it can be published as it is.
    pub async fn request_conflicts(&self, id: u64) -> Result<Vec<StaleConfiguration>> {
        self.conflicts_of(&self.get_request(id).await?).await
    }

    /// [`Store::request_conflicts`] of a request already read.
    pub async fn conflicts_of(&self, read: &RequestRead) -> Result<Vec<StaleConfiguration>> {
        let namespace = namespace_name(read.request.namespace.as_str())?;
        let mut stale = Vec::new();
        for change in &read.changes {
            let configuration = configuration_name(change.configuration.as_str())?;
            let key = self.layout.configuration(&namespace, &configuration);
            let current = self.read_owned(namespace.as_str(), &key).await?;
            let revision = current.as_ref().map_or(0, |kv| kv.mod_revision);
            if revision == change.base_revision {
                continue;
            }
            let theirs = current.as_ref().map(as_object).transpose()?;
            let overlap = match change.rebase(theirs.as_ref(), revision)? {
                Ok(_) => Vec::new(),
                Err(places) => places,
            };
            stale.push(StaleConfiguration {
                configuration: change.configuration.clone(),
                base: change.base.clone(),
                theirs,
                theirs_revision: revision,
                mine: change.after().ok().flatten(),
                overlap,
            });
        }
        Ok(stale)
    }

    /// Publishes request `id`: writes every configuration it changes, each with an audit entry
    /// linked to the request, and its new state, in one compare-and-swap transaction; or
    /// nothing. Needs the approvals its namespace asks for, unless an administrator publishes
    /// it in an emergency, with a reason (`emergency`), which is recorded on the request and in
    /// each audit entry. Refused as [`Error::RequestStale`] when a configuration changed since
    /// the request was made.
    pub async fn publish_request(
        &self,
        id: u64,
        emergency: Option<&str>,
        change: &Change,
    ) -> Result<Written> {
        let emergency = emergency
            .map(|reason| check_text("a reason", reason, true, MAX_TEXT_CHARS))
            .transpose()?;
        let read = self.get_request(id).await?;
        let namespace = namespace_name(read.request.namespace.as_str())?;
        let by = user_of(change)?;
        let request_key = self.layout.request(id);
        let changes_key = self.layout.request_changes(id);
        let settings_key = self.layout.settings(&namespace);
        let root_key = self.layout.root();
        let ns_key = self.layout.namespace(&namespace);
        let user_key = self.layout.user(&by);
        let mut keys = vec![
            request_key.clone(),
            changes_key.clone(),
            settings_key.clone(),
            root_key.clone(),
            ns_key.clone(),
            user_key.clone(),
        ];
        let config_keys = self.configuration_keys(&namespace, &read.changes)?;
        keys.extend(config_keys.iter().cloned());
        // The approvers' profiles as they are when it is published: an approval counts only
        // while its giver may still approve.
        let approver_keys: Vec<String> = read
            .request
            .approvals
            .iter()
            .map(|a| self.layout.user(&a.by))
            .collect();
        keys.extend(approver_keys.iter().cloned());
        let layout = self.layout.clone();
        let actor = change.actor.clone();
        self.commit(change, keys, move |reads: &Reads| {
            let kv = reads.get(&request_key).ok_or_else(|| not_found(id))?;
            let mut request = parse_request(kv)?;
            let changes = parse_changes(reads.get(&changes_key))?;
            let settings = NamespaceSettings::parse(reads.get(&settings_key))?;
            let user = profile(reads, &user_key, &by)?;
            let policy = settings.review.as_ref();
            match request.state {
                RequestState::Open | RequestState::Approved => {}
                RequestState::Draft => {
                    return Err(Error::NotAllowed(format!(
                        "request {id} is a draft: send it for review first"
                    )));
                }
                state => {
                    return Err(Error::NotAllowed(format!(
                        "request {id} is {} and cannot be published",
                        state.as_str()
                    )));
                }
            }
            // Keys read to decide, compared with the others.
            let mut plan_compares: Vec<String> = Vec::new();
            let comment = match &emergency {
                Some(reason) => {
                    if user.role != Role::Admin {
                        return Err(Error::NotAllowed(
                            "only an administrator may publish without approval".to_owned(),
                        ));
                    }
                    format!(
                        "emergency publish of request {id} without approval: {reason} (request: {})",
                        request.title
                    )
                }
                None => {
                    if !request.may_publish(&user, policy) {
                        return Err(Error::NotAllowed(
                            if !request.schemas.is_empty() && policy.is_none() {
                                format!(
                                    "request {id} changes schemas, and its namespace is no longer reviewed: an administrator publishes it"
                                )
                            } else {
                                format!("{} may not publish request {id}", user.name)
                            },
                        ));
                    }
                    let mut approvers = Vec::new();
                    for approval in &request.approvals {
                        let key = layout.user(&approval.by);
                        // Approved since its keys were named: read it again.
                        if !approver_keys.contains(&key) {
                            return Err(Error::Conflict {
                                key: request_key.clone(),
                                current_revision: kv.mod_revision,
                                current: None,
                            });
                        }
                        plan_compares.push(key.clone());
                        if let Some(profile) = reads.get(&key) {
                            approvers.push(parse_user(profile)?);
                        }
                    }
                    let missing = request.approvals_missing_now(policy, &approvers);
                    if missing > 0 {
                        return Err(Error::NotAllowed(format!(
                            "request {id} needs {missing} more approval{} before it can be published",
                            if missing == 1 { "" } else { "s" }
                        )));
                    }
                    format!("request {id}: {}", request.title)
                }
            };
            // The settings may have grown since it was edited.
            check_fits(&request, &settings, &changes)?;
            let root = Index::parse(reads.get(&root_key), NAMESPACES)?;
            if !root.contains(namespace.as_str()) {
                return Err(Error::NotFound(format!("namespace {namespace:?}")));
            }
            let index = Index::parse(reads.get(&ns_key), CONFIGURATIONS)?;
            let (mut listed, mut unlisted) = (Vec::new(), Vec::new());
            let mut plan = Plan::default();
            for key in [&request_key, &changes_key, &settings_key, &root_key, &ns_key, &user_key] {
                plan.compare(key, reads);
            }
            for key in &plan_compares {
                plan.compare(key, reads);
            }
            let mut stale = Vec::new();
            let schema_places = request.schemas.stale(&settings);
            if !schema_places.is_empty() {
                stale.push(format!("the schemas ({})", schema_places.join(", ")));
            }
            // The settings the request leaves, when it changes schemas (and may): its
            // configurations are checked against them.
            let settings_after = if request.schemas.is_empty() || !stale.is_empty() {
                None
            } else {
                Some(request.schemas.apply(&settings)?)
            };
            for proposed in &changes {
                let configuration = configuration_name(proposed.configuration.as_str())?;
                let key = layout.configuration(&namespace, &configuration);
                // The request changed since its keys were named: read it again.
                if !config_keys.contains(&key) {
                    return Err(Error::Conflict {
                        key: request_key.clone(),
                        current_revision: kv.mod_revision,
                        current: None,
                    });
                }
                layout.check_owner(&key, namespace.as_str(), &root.names())?;
                let current = reads.get(&key);
                if current.map_or(0, |kv| kv.mod_revision) != proposed.base_revision {
                    stale.push(proposed.configuration.clone());
                    continue;
                }
                let before = current.map(as_object).transpose()?;
                let after = proposed.apply(before.as_ref())?;
                let entry = Change::by(actor.clone()).with_comment(comment.clone());
                check_write(
                    settings_after.as_ref().unwrap_or(&settings),
                    configuration.as_str(),
                    &entry,
                    before.as_ref(),
                    after.as_ref(),
                )?;
                plan.compare(&key, reads);
                let (action, field) = match &proposed.proposed {
                    Proposed::Edits(edits) => action_of(edits),
                    Proposed::Create(_) => (Action::ConfigurationCreate, None),
                    Proposed::Delete => (Action::ConfigurationDelete, None),
                };
                match &after {
                    Some(fields) => plan.put_json(&key, &Value::Object(fields.clone())),
                    None => plan.delete(&key),
                }
                match (&before, &after) {
                    (None, Some(_)) => listed.push(configuration.to_string()),
                    (Some(_), None) => unlisted.push(configuration.to_string()),
                    _ => {}
                }
                let value = |fields: &Option<Map<String, Value>>| {
                    fields.clone().map(Value::Object).unwrap_or(Value::Null)
                };
                let mut draft = Draft::configuration(
                    action,
                    &namespace,
                    &configuration,
                    field,
                    (value(&before), value(&after)),
                );
                draft.request = Some(id);
                draft.comment = Some(comment.clone());
                plan.drafts.push(draft);
            }
            if !stale.is_empty() {
                return Err(Error::RequestStale {
                    id,
                    configurations: stale,
                });
            }
            if let Some(list) = index.edited(&listed, &unlisted) {
                plan.put_json(&ns_key, &list);
            }
            if let Some(after) = settings_after.filter(|after| *after != settings) {
                plan.put_json(&settings_key, &after.to_value());
                let mut draft = Draft::namespace(request.schemas.action(), &namespace, None);
                draft.before_after = Some((settings.to_value(), after.to_value()));
                draft.request = Some(id);
                draft.comment = Some(comment.clone());
                plan.drafts.push(draft);
            }
            let (what, reason) = match &emergency {
                Some(reason) => (EventKind::PublishedInEmergency, Some(reason.clone())),
                None => (EventKind::Published, None),
            };
            request.state = RequestState::Published;
            request.updated = Utc::now();
            request.events.push(event(&user.name, what, reason));
            plan.put_json(&request_key, &to_value(&request));
            Ok(Decision::Write(plan))
        })
        .await
    }

    /// The namespace of request `id` (it never changes).
    async fn request_namespace(&self, id: u64) -> Result<NamespaceName> {
        let kv = self
            .kv
            .get(&self.layout.request(id))
            .await?
            .ok_or_else(|| not_found(id))?;
        namespace_name(parse_request(&kv)?.namespace.as_str())
    }

    fn configuration_keys(
        &self,
        namespace: &NamespaceName,
        changes: &[ProposedChange],
    ) -> Result<Vec<String>> {
        changes
            .iter()
            .map(|c| {
                let configuration = configuration_name(c.configuration.as_str())?;
                Ok(self.layout.configuration(namespace, &configuration))
            })
            .collect()
    }

    /// Takes one step of request `id`'s life in one transaction: reads the request, its
    /// changes, its namespace's settings and the stored profile of the person taking the step
    /// (plus `extra` keys), checks the step's rules and writes the result with an audit entry.
    async fn step(
        &self,
        id: u64,
        change: &Change,
        extra: Vec<String>,
        mut step: Step,
    ) -> Result<RequestRead> {
        let namespace = self.request_namespace(id).await?;
        let by = user_of(change)?;
        let request_key = self.layout.request(id);
        let changes_key = self.layout.request_changes(id);
        let settings_key = self.layout.settings(&namespace);
        let user_key = self.layout.user(&by);
        let mut keys = vec![
            request_key.clone(),
            changes_key.clone(),
            settings_key.clone(),
            user_key.clone(),
        ];
        keys.extend(extra.iter().cloned());
        let layout = self.layout.clone();
        let planned = std::sync::Arc::new(std::sync::Mutex::new(None));
        let out = planned.clone();
        let written = self
            .commit(change, keys, move |reads: &Reads| {
                *out.lock().expect("not poisoned") = None;
                let kv = reads.get(&request_key).ok_or_else(|| not_found(id))?;
                let mut request = parse_request(kv)?;
                let mut changes = parse_changes(reads.get(&changes_key))?;
                let settings = NamespaceSettings::parse(reads.get(&settings_key))?;
                let user = profile(reads, &user_key, &by)?;
                let policy = settings.review.as_ref();
                let is_comment = matches!(step, Step::Comment(_));
                if !is_comment && !request.state.is_active() {
                    return Err(Error::NotAllowed(format!(
                        "request {id} is {}: it can no longer change",
                        request.state.as_str()
                    )));
                }
                let may_edit = || {
                    if request.may_edit(&user) {
                        Ok(())
                    } else {
                        Err(Error::NotAllowed(format!(
                            "only the author of request {id} or an administrator may change it"
                        )))
                    }
                };
                let may_review = || {
                    if request.wrote(&user.name) {
                        Err(Error::NotAllowed(format!(
                            "you wrote (some of) request {id}: someone else reviews it"
                        )))
                    } else if request.may_review(&user, policy) {
                        Ok(())
                    } else {
                        Err(Error::NotAllowed(format!(
                            "{} may not review requests in namespace {:?}",
                            user.name, request.namespace
                        )))
                    }
                };
                let mut changed = false;
                let mut reason = None;
                let (action, what) = match &mut step {
                    Step::AddChange(new) => {
                        may_edit()?;
                        merge_change(&mut changes, new.clone())?;
                        changed = true;
                        (Action::RequestEdit, EventKind::Edited)
                    }
                    Step::ReplaceChange(new) => {
                        may_edit()?;
                        changes.retain(|c| c.configuration != new.configuration);
                        changes.push(new.clone());
                        changed = true;
                        (Action::RequestEdit, EventKind::Edited)
                    }
                    Step::RemoveChange(configuration) => {
                        may_edit()?;
                        let before = changes.len();
                        changes.retain(|c| &c.configuration != configuration);
                        if changes.len() == before {
                            return Err(Error::NotFound(format!(
                                "configuration {configuration:?} in request {id}"
                            )));
                        }
                        changed = true;
                        (Action::RequestEdit, EventKind::Edited)
                    }
                    Step::SetText { title, description } => {
                        may_edit()?;
                        if request.title == *title && request.description == *description {
                            return Ok(Decision::Unchanged(kv.mod_revision));
                        }
                        request.title = title.clone();
                        request.description = description.clone();
                        changed = true;
                        (Action::RequestEdit, EventKind::Edited)
                    }
                    Step::Submit => {
                        may_edit()?;
                        if request.state != RequestState::Draft {
                            return Ok(Decision::Unchanged(kv.mod_revision));
                        }
                        request.state = RequestState::Open;
                        (Action::RequestEdit, EventKind::Submitted)
                    }
                    Step::Approve(seen) => {
                        may_review()?;
                        if seen.is_some_and(|v| v != request.version) {
                            return Err(Error::Conflict {
                                key: request_key.clone(),
                                current_revision: kv.mod_revision,
                                current: None,
                            });
                        }
                        if request.state == RequestState::Draft {
                            return Err(Error::NotAllowed(format!(
                                "request {id} is a draft: it is not asking for review yet"
                            )));
                        }
                        if request.approvals.iter().any(|a| a.by == user.name) {
                            return Err(Error::NotAllowed(format!(
                                "you already approved request {id}"
                            )));
                        }
                        request.approvals.push(Approval {
                            by: user.name.clone(),
                            time: Utc::now(),
                        });
                        if request.approvals_missing(policy) == 0 {
                            request.state = RequestState::Approved;
                        }
                        (Action::RequestApprove, EventKind::Approved)
                    }
                    Step::Reject(why) => {
                        may_review()?;
                        request.state = RequestState::Closed;
                        reason = Some(why.clone());
                        (Action::RequestReject, EventKind::Rejected)
                    }
                    Step::Withdraw => {
                        may_edit()?;
                        request.state = RequestState::Closed;
                        (Action::RequestWithdraw, EventKind::Withdrawn)
                    }
                    Step::Comment(comment) => {
                        if let Some(configuration) = &comment.configuration
                            && !request.configurations.contains(configuration)
                        {
                            return Err(Error::InvalidValue(format!(
                                "request {id} does not change a configuration {configuration:?}"
                            )));
                        }
                        if comment.field.as_ref().is_some_and(|f| f.chars().count() > 256) {
                            return Err(Error::InvalidValue(
                                "a field name has at most 256 characters".to_owned(),
                            ));
                        }
                        if !user.grants.covers(&request.namespace) && user.role != Role::Admin {
                            return Err(Error::NotAllowed(format!(
                                "{} may not read namespace {:?}",
                                user.name, request.namespace
                            )));
                        }
                        if request.comments.len() >= MAX_COMMENTS {
                            return Err(Error::TooLarge {
                                what: format!("request {id}'s discussion"),
                                size: request.comments.len() + 1,
                                limit: MAX_COMMENTS,
                                unit: "comments",
                            });
                        }
                        request.comments.push(comment.clone());
                        // The record is rewritten when it is published: it must still fit.
                        check_fits(&request, &settings, &changes)?;
                        request.updated = Utc::now();
                        let mut plan = Plan::default();
                        plan.compare(&request_key, reads);
                        plan.put_json(&request_key, &to_value(&request));
                        *out.lock().expect("not poisoned") =
                            Some((request.clone(), changes.clone()));
                        return Ok(Decision::Write(plan));
                    }
                    Step::Rebase => {
                        may_edit()?;
                        let mut any = false;
                        for proposed in &mut changes {
                            let configuration =
                                configuration_name(proposed.configuration.as_str())?;
                            let namespace = namespace_name(request.namespace.as_str())?;
                            let key = layout.configuration(&namespace, &configuration);
                            let current = reads.get(&key);
                            let revision = current.map_or(0, |kv| kv.mod_revision);
                            if revision == proposed.base_revision {
                                continue;
                            }
                            let theirs = current.map(as_object).transpose()?;
                            if let Ok(rebased) = proposed.rebase(theirs.as_ref(), revision)? {
                                *proposed = rebased;
                                any = true;
                            }
                        }
                        if !any {
                            return Err(Error::InvalidValue(format!(
                                "nothing in request {id} can be re-based on its own: resolve the overlaps by hand"
                            )));
                        }
                        changed = true;
                        (Action::RequestRebase, EventKind::Rebased)
                    }
                    Step::ProposeSchema(schema_change) => {
                        may_edit()?;
                        if user.role != Role::Admin {
                            return Err(Error::NotAllowed(
                                "only an administrator proposes schema changes".to_owned(),
                            ));
                        }
                        request.schemas.add(schema_change, &settings)?;
                        changed = true;
                        (Action::RequestEdit, EventKind::Edited)
                    }
                    Step::RemoveSchemas => {
                        may_edit()?;
                        if request.schemas.is_empty() {
                            return Err(Error::NotFound(format!(
                                "a schema change in request {id}"
                            )));
                        }
                        request.schemas = Default::default();
                        changed = true;
                        (Action::RequestEdit, EventKind::Edited)
                    }
                };
                let mut plan = Plan::default();
                plan.compare(&request_key, reads);
                plan.compare(&changes_key, reads);
                plan.compare(&settings_key, reads);
                plan.compare(&user_key, reads);
                for key in &extra {
                    plan.compare(key, reads);
                }
                if changed {
                    // What is left must still change something.
                    if changes.is_empty() && request.schemas.is_empty() {
                        return Err(Error::InvalidValue(format!(
                            "{NO_CHANGE}; withdraw it instead"
                        )));
                    }
                    request.version += 1;
                    // Whoever else changed it may not approve it.
                    if !request.is_author(&user.name)
                        && !request.contributors.contains(&user.name)
                    {
                        request.contributors.push(user.name.clone());
                    }
                    // Any change to what was approved needs approving again.
                    request.approvals.clear();
                    if request.state == RequestState::Approved {
                        request.state = RequestState::Open;
                    }
                    request.configurations =
                        changes.iter().map(|c| c.configuration.clone()).collect();
                    check_fits(&request, &settings, &changes)?;
                    plan.put_json(&changes_key, &to_value(&changes));
                }
                request.updated = Utc::now();
                request.events.push(event(&user.name, what, reason.clone()));
                plan.put_json(&request_key, &to_value(&request));
                let mut draft = Draft::request(action, &request.namespace, id);
                draft.comment = reason.or_else(|| Some(request.title.clone()));
                plan.drafts.push(draft);
                *out.lock().expect("not poisoned") = Some((request.clone(), changes.clone()));
                Ok(Decision::Write(plan))
            })
            .await?;
        let planned = planned.lock().expect("not poisoned").take();
        match planned {
            Some((request, changes)) => Ok(RequestRead {
                request,
                changes,
                revision: written.revision,
            }),
            // Nothing to change: read it as it is.
            None => self.get_request(id).await,
        }
    }
}

/// The user taking a step: request steps are taken by people, with their stored profile.
fn user_of(change: &Change) -> Result<String> {
    match change.actor.kind {
        ActorKind::User => Ok(change.actor.name.clone()),
        _ => Err(Error::NotAllowed(
            "only people review and publish change requests".to_owned(),
        )),
    }
}
