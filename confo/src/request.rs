//! Change requests: in a namespace whose policy is *reviewed*, a change is not written but
//! proposed, reviewed by someone other than its author, and published, all of it in one
//! compare-and-swap transaction (see [`crate::Store::publish_request`]).
//!
//! A request bundles changes to one or more configurations of one namespace. Each change is kept
//! with the revision it was made on and the fields as they were then (its *base*), so that a
//! request whose configurations changed meanwhile can show the three sides (base, theirs, the
//! request's) and re-base the edits that touch places nobody else touched ([`crate::edit::rebase`]).
//!
//! This module is pure: the types, the rules of who may do what, and the size a request would
//! have as one transaction. [`crate::store`] reads and writes them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::audit::{Actor, ActorKind};
use crate::edit::{self, Edit, Rebased};
use crate::error::{Error, Result};
use crate::kv::{MAX_REQUEST_BYTES, MAX_TXN_OPS};
use crate::store::{NamespaceSettings, SchemaChoice, SettingsChange};
use crate::users::{Role, User};

/// The most approvals a namespace can ask for.
pub const MAX_APPROVALS: u8 = 5;
/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest description, comment or reason, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// The most comments one request keeps.
pub const MAX_COMMENTS: usize = 500;

/// How a namespace takes changes: written at once (no policy), or through requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewPolicy {
    /// Approvals a request needs before it can be published: 1 to [`MAX_APPROVALS`].
    pub approvals: u8,
    pub approvers: Approvers,
}

/// Who may approve (never a request's own author; administrators always).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approvers {
    /// Everyone who may edit the namespace.
    Editors,
    /// Only these users (who must be able to read the namespace).
    Named(Vec<String>),
}

impl ReviewPolicy {
    /// Whether `user` may approve requests in `namespace` (authors are refused apart).
    pub fn may_approve(&self, user: &User, namespace: &str) -> bool {
        if user.disabled {
            return false;
        }
        if user.role == Role::Admin {
            return true;
        }
        if !user.grants.covers(namespace) {
            return false;
        }
        match &self.approvers {
            Approvers::Editors => user.role == Role::Editor,
            Approvers::Named(names) => names.iter().any(|n| n == &user.name),
        }
    }

    /// Checks the policy against the users there are: a number of approvals in range, named
    /// approvers that exist, and no more approvals asked for than people who may give them.
    pub fn check(&self, namespace: &str, users: &[User]) -> Result<()> {
        if !(1..=MAX_APPROVALS).contains(&self.approvals) {
            return Err(Error::InvalidValue(format!(
                "a reviewed namespace needs 1 to {MAX_APPROVALS} approvals per request, not {}",
                self.approvals
            )));
        }
        if let Approvers::Named(names) = &self.approvers {
            if names.is_empty() {
                return Err(Error::InvalidValue(
                    "name at least one person who may approve".to_owned(),
                ));
            }
            for name in names {
                let Some(user) = users.iter().find(|u| &u.name == name) else {
                    return Err(Error::NotFound(format!("user {name:?}")));
                };
                if user.disabled || !user.grants.covers(namespace) {
                    return Err(Error::InvalidValue(format!(
                        "{name} cannot approve here: {}",
                        if user.disabled {
                            "the account is disabled"
                        } else {
                            "they may not read this namespace"
                        }
                    )));
                }
            }
        }
        let eligible = users
            .iter()
            .filter(|u| self.may_approve(u, namespace))
            .count();
        // A request's author never approves it, and may be one of those people.
        if usize::from(self.approvals) >= eligible {
            return Err(Error::InvalidValue(format!(
                "this asks for {} approval{}, but only {eligible} {} may approve in namespace {namespace:?}, and never the author of a request: ask for at most {}",
                self.approvals,
                if self.approvals == 1 { "" } else { "s" },
                if eligible == 1 { "person" } else { "people" },
                eligible.saturating_sub(1)
            )));
        }
        Ok(())
    }
}

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Being prepared by its author; nobody is asked to review it yet.
    Draft,
    /// Waiting for approvals.
    Open,
    /// Has the approvals it needs; can be published.
    Approved,
    /// Written to the configurations.
    Published,
    /// Withdrawn or rejected; nothing was written.
    Closed,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Draft => "draft",
            RequestState::Open => "in review",
            RequestState::Approved => "approved",
            RequestState::Published => "published",
            RequestState::Closed => "closed",
        }
    }

    /// Whether it can still change (be edited, approved, published).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            RequestState::Draft | RequestState::Open | RequestState::Approved
        )
    }
}

/// What a request does to one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proposed {
    /// Edits to its fields, in order.
    Edits(Vec<Edit>),
    /// Creates it with these fields.
    Create(Map<String, Value>),
    /// Deletes it.
    Delete,
}

/// One configuration's change in a request, with what it was made on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedChange {
    pub configuration: String,
    pub proposed: Proposed,
    /// The configuration's revision when the change was made (0: it did not exist).
    pub base_revision: i64,
    /// Its fields then (`None`: it did not exist).
    pub base: Option<Map<String, Value>>,
}

impl ProposedChange {
    /// The fields after the change, applied on `on` (`None`: the configuration is deleted).
    pub fn apply(&self, on: Option<&Map<String, Value>>) -> Result<Option<Map<String, Value>>> {
        match (&self.proposed, on) {
            (Proposed::Edits(edits), Some(fields)) => edit::preview(fields, edits).map(Some),
            (Proposed::Create(fields), None) => Ok(Some(fields.clone())),
            (Proposed::Delete, Some(_)) => Ok(None),
            (Proposed::Create(_), Some(_)) => Err(Error::AlreadyExists(format!(
                "configuration {:?}",
                self.configuration
            ))),
            (Proposed::Edits(_) | Proposed::Delete, None) => Err(Error::NotFound(format!(
                "configuration {:?}",
                self.configuration
            ))),
        }
    }

    /// The fields after the change, as it was made (on its base).
    pub fn after(&self) -> Result<Option<Map<String, Value>>> {
        self.apply(self.base.as_ref())
    }

    /// The change re-made on `current` (what is stored now, at `revision`): with the same
    /// edits when nobody else touched their places, or the places both changed.
    pub fn rebase(
        &self,
        current: Option<&Map<String, Value>>,
        revision: i64,
    ) -> Result<std::result::Result<ProposedChange, Vec<String>>> {
        let whole = || Ok(Err(vec!["the whole configuration".to_owned()]));
        let proposed = match (&self.proposed, self.base.as_ref(), current) {
            (Proposed::Edits(edits), Some(base), Some(current)) => {
                match edit::rebase(base, current, edits)? {
                    // Kept as the edits themselves: they re-apply as they are.
                    Rebased::Merged(_) => Proposed::Edits(edits.clone()),
                    Rebased::Overlap(places) => return Ok(Err(places)),
                }
            }
            // Deleting what someone changed meanwhile, or creating what someone created: their
            // change would be lost, so a person decides.
            (Proposed::Delete, Some(base), Some(current)) if base == current => Proposed::Delete,
            _ => return whole(),
        };
        Ok(Ok(ProposedChange {
            configuration: self.configuration.clone(),
            proposed,
            base_revision: revision,
            base: current.cloned(),
        }))
    }
}

/// One place of a namespace's settings that a request changes: as it was when the change was
/// proposed, and as the request would have it (`None`: not there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place<T> {
    pub base: Option<T>,
    pub proposed: Option<T>,
}

/// What a request does to its namespace's schemas: the shared schemas it adds, replaces or
/// removes, and the schema each configuration follows. Kept place by place, each with what was
/// there when it was proposed, so that a place someone else changed meanwhile stops the publish
/// and is named, while the rest of the settings (changed or not) are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaProposal {
    /// Shared schemas, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub schemas: BTreeMap<String, Place<Value>>,
    /// The schema of each configuration, by configuration.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub assignments: BTreeMap<String, Place<SchemaChoice>>,
}

/// Proposes `proposed` for the place `key`, made on what is there `now`: a place proposed again
/// is made on the value now (the same one, or a newer one when an overlap is resolved by hand).
/// A place proposed back to what it is leaves the proposal.
fn propose_place<T: Clone + PartialEq>(
    places: &mut BTreeMap<String, Place<T>>,
    key: &str,
    now: Option<&T>,
    proposed: Option<T>,
) {
    if now == proposed.as_ref() {
        places.remove(key);
    } else {
        let base = now.cloned();
        places.insert(key.to_owned(), Place { base, proposed });
    }
}

/// A shared schema, as a place in words (how a stale place is named).
pub fn schema_place(name: &str) -> String {
    format!("shared schema {name}")
}

/// The schema a configuration follows, as a place in words.
pub fn assignment_place(configuration: &str) -> String {
    format!("the schema of {configuration}")
}

impl SchemaProposal {
    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty() && self.assignments.is_empty()
    }

    /// Adds `change` (a change to a schema or to which schema a configuration follows),
    /// proposed on `current`. Refused when it is no schema change, or when the request's
    /// settings would not hold together (a configuration following a shared schema that is
    /// not there).
    pub fn add(&mut self, change: &SettingsChange, current: &NamespaceSettings) -> Result<()> {
        change.check()?;
        match change {
            SettingsChange::PutSchema { name, schema } => propose_place(
                &mut self.schemas,
                name,
                current.schemas.get(name),
                Some(schema.clone()),
            ),
            SettingsChange::DeleteSchema { name } => {
                if !current.schemas.contains_key(name)
                    && self.schemas.get(name).is_none_or(|p| p.proposed.is_none())
                {
                    return Err(Error::NotFound(format!("schema {name:?}")));
                }
                propose_place(&mut self.schemas, name, current.schemas.get(name), None)
            }
            SettingsChange::Assign {
                configuration,
                choice,
            } => propose_place(
                &mut self.assignments,
                configuration.as_str(),
                current.assignments.get(configuration.as_str()),
                choice.clone(),
            ),
            SettingsChange::RequireComment(_) | SettingsChange::Review(_) => {
                return Err(Error::InvalidValue(
                    "only schema changes are made through change requests".to_owned(),
                ));
            }
        }
        self.apply(current).map(drop)
    }

    /// The places someone else changed since they were proposed, in words.
    pub fn stale(&self, current: &NamespaceSettings) -> Vec<String> {
        let schemas = self
            .schemas
            .iter()
            .filter(|(name, place)| current.schemas.get(*name) != place.base.as_ref())
            .map(|(name, _)| schema_place(name));
        let assignments = self
            .assignments
            .iter()
            .filter(|(cfg, place)| current.assignments.get(*cfg) != place.base.as_ref())
            .map(|(cfg, _)| assignment_place(cfg));
        schemas.chain(assignments).collect()
    }

    /// `current` with the proposed places as the request would have them (the places'
    /// staleness is [`Self::stale`]'s business). Refused when a configuration would follow a
    /// shared schema that is not there.
    pub fn apply(&self, current: &NamespaceSettings) -> Result<NamespaceSettings> {
        let mut after = current.clone();
        for (name, place) in &self.schemas {
            match &place.proposed {
                Some(schema) => after.schemas.insert(name.clone(), schema.clone()),
                None => after.schemas.remove(name),
            };
        }
        for (configuration, place) in &self.assignments {
            match &place.proposed {
                Some(choice) => after
                    .assignments
                    .insert(configuration.clone(), choice.clone()),
                None => after.assignments.remove(configuration),
            };
        }
        for (configuration, choice) in &after.assignments {
            if let SchemaChoice::Named(name) = choice
                && !after.schemas.contains_key(name)
            {
                return Err(if current.schemas.contains_key(name) {
                    Error::InUse(format!(
                        "schema {name:?} is followed by {configuration}; give it another schema first"
                    ))
                } else {
                    Error::NotFound(format!("schema {name:?}"))
                });
            }
        }
        Ok(after)
    }

    /// The audit action of publishing it.
    pub fn action(&self) -> crate::audit::Action {
        use crate::audit::Action;
        if self.schemas.values().any(|p| p.proposed.is_some()) {
            Action::SchemaPut
        } else if !self.schemas.is_empty() {
            Action::SchemaDelete
        } else {
            Action::SchemaAssign
        }
    }
}

/// An approval, by whom and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
    pub time: DateTime<Utc>,
}

/// A comment on a request, on the whole or on one configuration's field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub by: String,
    pub time: DateTime<Utc>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Something that happened to a request, for its timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub by: String,
    pub time: DateTime<Utc>,
    pub what: EventKind,
    /// The reason given (a rejection, an emergency publish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Opened,
    Drafted,
    Submitted,
    Edited,
    Approved,
    Rejected,
    Withdrawn,
    Rebased,
    Published,
    /// Published by an administrator without the approvals it needed.
    PublishedInEmergency,
}

impl EventKind {
    pub fn in_words(self) -> &'static str {
        match self {
            EventKind::Opened => "opened it for review",
            EventKind::Drafted => "started it as a draft",
            EventKind::Submitted => "sent it for review",
            EventKind::Edited => "changed it (approvals given before are cleared)",
            EventKind::Approved => "approved it",
            EventKind::Rejected => "rejected it",
            EventKind::Withdrawn => "withdrew it",
            EventKind::Rebased => "re-based it on the latest versions (approvals are cleared)",
            EventKind::Published => "published it",
            EventKind::PublishedInEmergency => "published it in an emergency, without approval",
        }
    }
}

/// A change request: everything but its changes, which are kept apart (they hold whole
/// configurations; this record stays small, and publishing rewrites only it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRequest {
    pub id: u64,
    pub namespace: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub author: Actor,
    pub state: RequestState,
    /// The configurations it changes, in the order they were added.
    pub configurations: Vec<String>,
    /// Approvals given since it last changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Approval>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<Comment>,
    pub events: Vec<Event>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// One more each time what it changes (or its title or description) changes: an approval
    /// names the version its reviewer saw.
    #[serde(default)]
    pub version: u64,
    /// The people besides its author who changed what it changes (administrators may): they
    /// may not approve it either.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contributors: Vec<String>,
    /// What it does to its namespace's schemas.
    #[serde(default, skip_serializing_if = "SchemaProposal::is_empty")]
    pub schemas: SchemaProposal,
}

impl ChangeRequest {
    /// Whether `name` (a user) wrote it.
    pub fn is_author(&self, name: &str) -> bool {
        self.author.kind == ActorKind::User && self.author.name == name
    }

    /// Whether `name` wrote it or changed what it changes.
    pub fn wrote(&self, name: &str) -> bool {
        self.is_author(name) || self.contributors.iter().any(|c| c == name)
    }

    /// Whether `user` may change it or withdraw it: its author, while they may still edit the
    /// namespace, and administrators.
    pub fn may_edit(&self, user: &User) -> bool {
        let author = self.is_author(&user.name)
            && user.role >= Role::Editor
            && user.grants.covers(&self.namespace);
        !user.disabled && (author || user.role == Role::Admin)
    }

    /// Whether `user` may approve or reject it under `policy` (`None`: a direct namespace,
    /// where anyone who may edit it may): never someone who wrote any of it.
    pub fn may_review(&self, user: &User, policy: Option<&ReviewPolicy>) -> bool {
        if self.wrote(&user.name) || user.disabled {
            return false;
        }
        match policy {
            Some(policy) => policy.may_approve(user, &self.namespace),
            None => {
                user.role == Role::Admin
                    || (user.role == Role::Editor && user.grants.covers(&self.namespace))
            }
        }
    }

    /// Whether `user` may publish it once it has its approvals: its author while they may still
    /// edit the namespace, an administrator, or someone who may review it; schema changes that
    /// no policy asked anyone to review, only an administrator.
    pub fn may_publish(&self, user: &User, policy: Option<&ReviewPolicy>) -> bool {
        if user.disabled {
            return false;
        }
        if user.role == Role::Admin {
            return true;
        }
        if !self.schemas.is_empty() && policy.is_none() {
            return false;
        }
        let author = self.is_author(&user.name)
            && user.role >= Role::Editor
            && user.grants.covers(&self.namespace);
        author || self.may_review(user, policy)
    }

    /// The approvals still needed under `policy`, counting only those given by people who
    /// may still approve it (`approvers`: their profiles now; an approver missing from it is
    /// not counted).
    pub fn approvals_missing_now(
        &self,
        policy: Option<&ReviewPolicy>,
        approvers: &[User],
    ) -> usize {
        let needed = policy.map_or(0, |p| usize::from(p.approvals.max(1)));
        let valid = self
            .approvals
            .iter()
            .filter(|a| {
                approvers
                    .iter()
                    .any(|u| u.name == a.by && self.may_review(u, policy))
            })
            .count();
        needed.saturating_sub(valid)
    }

    /// The approvals still needed under `policy`, as recorded (see
    /// [`Self::approvals_missing_now`] for the count publishing uses).
    pub fn approvals_missing(&self, policy: Option<&ReviewPolicy>) -> usize {
        let needed = policy.map_or(0, |p| usize::from(p.approvals.max(1)));
        needed.saturating_sub(self.approvals.len())
    }

    /// The last event of a kind, if any.
    pub fn last(&self, what: EventKind) -> Option<&Event> {
        self.events.iter().rev().find(|e| e.what == what)
    }
}

/// A request's title and description from a change's comment: its first line, at most
/// [`MAX_TITLE_CHARS`] characters, is the title, and all of it, when longer, the description;
/// `fallback` is the title of a change without a comment.
pub fn title_of(comment: &str, fallback: String) -> (String, String) {
    let comment = comment.trim();
    let first = comment.lines().next().unwrap_or_default().trim();
    if first.is_empty() {
        return (fallback, String::new());
    }
    let title: String = first.chars().take(MAX_TITLE_CHARS).collect();
    let description = if title == comment {
        String::new()
    } else {
        comment.to_owned()
    };
    (title, description)
}

/// The address of request `id` on the dashboard, from its root.
pub fn address(id: u64) -> String {
    format!("/requests/{id}")
}

/// Checks a title, description, comment or reason.
pub fn check_text(what: &str, text: &str, required: bool, limit: usize) -> Result<String> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(Error::InvalidValue(format!("give the request {what}")));
    }
    let len = text.chars().count();
    if len > limit {
        return Err(Error::InvalidValue(format!(
            "{what} is {len} characters long; the limit is {limit}"
        )));
    }
    Ok(text.to_owned())
}

/// The operations and bytes publishing `changes` would take as one transaction (each
/// configuration written with its audit entry and history key; the namespace's list, the
/// request's record and the audit head; the namespace's settings record, `settings_bytes` long
/// after the request, when it changes schemas), estimated generously from the changes as made.
pub fn publish_size(
    record_bytes: usize,
    settings_bytes: Option<usize>,
    changes: &[ProposedChange],
) -> Result<(usize, usize)> {
    // The request record, the audit head, and the namespace's list when a change adds or
    // removes a configuration; compared: the record, its changes, the settings, the namespace
    // list, the namespace, the publisher's profile, the audit head.
    let lists = changes
        .iter()
        .any(|c| !matches!(c.proposed, Proposed::Edits(_)));
    let mut ops = 2 + usize::from(lists);
    let mut bytes = 512 + record_bytes + 7 * 160;
    if let Some(settings) = settings_bytes {
        // The record, and its audit entry with both patches (at most the record each way).
        ops += 3;
        bytes += 3 * settings + 1024 + 3 * 160;
    }
    for change in changes {
        let after = change.after()?;
        let before = change
            .base
            .clone()
            .map(Value::Object)
            .unwrap_or(Value::Null);
        let after = after.map(Value::Object).unwrap_or(Value::Null);
        let written = if after.is_null() {
            0
        } else {
            serde_json::to_vec(&after).map_or(0, |v| v.len())
        };
        let patch = serde_json::to_vec(&json_patch::diff(&before, &after)).map_or(0, |v| v.len());
        let unpatch = serde_json::to_vec(&json_patch::diff(&after, &before)).map_or(0, |v| v.len());
        // The configuration, its audit entry (both patches and about 1 KiB of names, hashes
        // and comment), its history key, and its comparison.
        ops += 3;
        bytes += written + patch + unpatch + 1024 + 3 * 160;
    }
    Ok((ops, bytes))
}

/// Refuses changes that could not be published in one transaction, with the numbers.
pub fn check_publishable(
    record_bytes: usize,
    settings_bytes: Option<usize>,
    changes: &[ProposedChange],
) -> Result<()> {
    let (ops, bytes) = publish_size(record_bytes, settings_bytes, changes)?;
    if ops > MAX_TXN_OPS {
        return Err(Error::TooLarge {
            what: format!(
                "this request touches {} configurations; published in one transaction it",
                changes.len()
            ),
            size: ops,
            limit: MAX_TXN_OPS,
            unit: "operations",
        });
    }
    if bytes > MAX_REQUEST_BYTES {
        return Err(Error::TooLarge {
            what: "this request, published in one transaction,".to_owned(),
            size: bytes,
            limit: MAX_REQUEST_BYTES,
            unit: "bytes",
        });
    }
    Ok(())
}

/// Adds `proposed` for `configuration` to `changes`: after the edits already there for it when
/// both are edits (keeping the first base); otherwise in their place, on a new base.
pub fn merge_change(changes: &mut Vec<ProposedChange>, new: ProposedChange) -> Result<()> {
    match changes
        .iter_mut()
        .find(|c| c.configuration == new.configuration)
    {
        None => changes.push(new),
        // Made on a newer version than the request's change to it: that change is re-based
        // there first, unless someone else changed the same places meanwhile.
        Some(existing) if existing.base_revision != new.base_revision => {
            let rebased = existing
                .rebase(new.base.as_ref(), new.base_revision)?
                .map_err(|places| {
                    Error::InvalidValue(format!(
                        "this request's change to {} overlaps a newer change to it ({}): take {} out of the request, then send your change again",
                        new.configuration,
                        places.join(", "),
                        new.configuration
                    ))
                })?;
            *existing = rebased;
            merge_change(changes, new)?;
        }
        Some(existing) => match (&mut existing.proposed, new.proposed) {
            (Proposed::Edits(edits), Proposed::Edits(more)) => {
                let mut all = edits.clone();
                all.extend(more);
                // They must apply on the base as a whole.
                if let Some(base) = &existing.base {
                    edit::preview(base, &all)?;
                }
                *edits = all;
            }
            (Proposed::Create(fields), Proposed::Edits(more)) => {
                *fields = edit::preview(fields, &more)?;
            }
            (_, proposed) => {
                *existing = ProposedChange { proposed, ..new };
            }
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::Grants;
    use serde_json::json;

    fn user(name: &str, role: Role, grants: Grants) -> User {
        User {
            name: name.into(),
            role,
            grants,
            disabled: false,
            created: Utc::now(),
        }
    }

    fn fields(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn approvers_are_editors_or_named_people_and_always_administrators() {
        let ns = |n: &str| Grants::Namespaces(vec![n.into()]);
        let ed = user("ed", Role::Editor, ns("prod"));
        let other = user("other", Role::Editor, ns("test"));
        let viewer = user("vi", Role::Viewer, ns("prod"));
        let admin = user("ad", Role::Admin, Grants::All);
        let editors = ReviewPolicy {
            approvals: 1,
            approvers: Approvers::Editors,
        };
        assert!(editors.may_approve(&ed, "prod"));
        assert!(!editors.may_approve(&other, "prod"));
        assert!(!editors.may_approve(&viewer, "prod"));
        assert!(editors.may_approve(&admin, "prod"));
        let named = ReviewPolicy {
            approvals: 1,
            approvers: Approvers::Named(vec!["vi".into()]),
        };
        assert!(named.may_approve(&viewer, "prod"));
        assert!(!named.may_approve(&ed, "prod"));
        assert!(named.may_approve(&admin, "prod"));
        let mut disabled = admin.clone();
        disabled.disabled = true;
        assert!(!named.may_approve(&disabled, "prod"));
    }

    #[test]
    fn a_policy_asking_for_more_approvers_than_exist_is_refused() {
        let users = vec![
            user("a", Role::Editor, Grants::All),
            user("b", Role::Editor, Grants::All),
            user("root", Role::Admin, Grants::All),
        ];
        let policy = |approvals, approvers| ReviewPolicy {
            approvals,
            approvers,
        };
        // Three may approve; an author is one of them, so at most two approvals can be had.
        assert!(policy(2, Approvers::Editors).check("p", &users).is_ok());
        let error = policy(3, Approvers::Editors)
            .check("p", &users)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("asks for 3 approvals, but only 3 people")
                && error.contains("at most 2"),
            "{error}"
        );
        assert!(policy(0, Approvers::Editors).check("p", &users).is_err());
        assert!(policy(6, Approvers::Editors).check("p", &users).is_err());
        assert!(matches!(
            policy(1, Approvers::Named(vec!["nobody".into()])).check("p", &users),
            Err(Error::NotFound(_))
        ));
        // a and root may approve: one approval at most.
        assert!(
            policy(1, Approvers::Named(vec!["a".into()]))
                .check("p", &users)
                .is_ok()
        );
        assert!(
            policy(2, Approvers::Named(vec!["a".into()]))
                .check("p", &users)
                .is_err()
        );
    }

    #[test]
    fn a_title_is_the_first_line_of_the_comment_and_the_rest_is_kept() {
        let fallback = || "Change to db".to_owned();
        assert_eq!(title_of("  ", fallback()), (fallback(), String::new()));
        assert_eq!(
            title_of(" bigger pool ", fallback()),
            ("bigger pool".to_owned(), String::new())
        );
        assert_eq!(
            title_of("bigger pool\nfor the sale", fallback()),
            (
                "bigger pool".to_owned(),
                "bigger pool\nfor the sale".to_owned()
            )
        );
        let long = "x".repeat(MAX_TITLE_CHARS + 5);
        let (title, description) = title_of(&long, fallback());
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS);
        assert_eq!(description, long);
        assert_eq!(address(7), "/requests/7");
    }

    #[test]
    fn the_author_never_reviews_their_own_request() {
        let author = user("a", Role::Admin, Grants::All);
        let request = ChangeRequest {
            id: 1,
            namespace: "p".into(),
            title: "t".into(),
            description: String::new(),
            author: Actor::user("a"),
            state: RequestState::Open,
            configurations: vec![],
            approvals: vec![],
            comments: vec![],
            events: vec![],
            created: Utc::now(),
            updated: Utc::now(),
            version: 0,
            contributors: vec!["c".into()],
            schemas: SchemaProposal::default(),
        };
        let policy = ReviewPolicy {
            approvals: 1,
            approvers: Approvers::Editors,
        };
        assert!(!request.may_review(&author, Some(&policy)));
        assert!(request.may_edit(&author));
        assert!(request.may_review(&user("b", Role::Editor, Grants::All), Some(&policy)));
        // Someone who changed it, administrator or not, may not approve it either.
        assert!(!request.may_review(&user("c", Role::Admin, Grants::All), Some(&policy)));
        // An author who may no longer edit the namespace may no longer change it.
        assert!(!request.may_edit(&user("a", Role::Viewer, Grants::All)));
        assert_eq!(request.approvals_missing(Some(&policy)), 1);
        assert_eq!(request.approvals_missing(None), 0);
        // An approval counts only while its giver may still approve.
        let mut approved = request.clone();
        approved.approvals.push(Approval {
            by: "b".into(),
            time: Utc::now(),
        });
        let b = user("b", Role::Editor, Grants::All);
        assert_eq!(
            approved.approvals_missing_now(Some(&policy), std::slice::from_ref(&b)),
            0
        );
        let mut gone = b.clone();
        gone.disabled = true;
        assert_eq!(approved.approvals_missing_now(Some(&policy), &[gone]), 1);
        assert_eq!(approved.approvals_missing_now(Some(&policy), &[]), 1);
        let named = ReviewPolicy {
            approvals: 1,
            approvers: Approvers::Named(vec!["someone".into()]),
        };
        assert_eq!(approved.approvals_missing_now(Some(&named), &[b]), 1);
        // A policy that asks for none (written by hand) still needs one.
        let none = ReviewPolicy {
            approvals: 0,
            approvers: Approvers::Editors,
        };
        assert_eq!(request.approvals_missing_now(Some(&none), &[]), 1);

        // Who publishes: its author while an editor of the namespace, someone who may review
        // it, an administrator; a request of schema changes no policy reviewed, only an
        // administrator.
        let editor_author = user("a", Role::Editor, Grants::All);
        assert!(request.may_publish(&editor_author, Some(&policy)));
        assert!(request.may_publish(&editor_author, None));
        assert!(!request.may_publish(&user("a", Role::Viewer, Grants::All), None));
        let mut schemas = request.clone();
        schemas.schemas.schemas.insert(
            "s".into(),
            Place {
                base: None,
                proposed: Some(serde_json::json!({"type": "object"})),
            },
        );
        assert!(schemas.may_publish(&editor_author, Some(&policy)));
        assert!(!schemas.may_publish(&editor_author, None));
        assert!(!schemas.may_publish(&user("b", Role::Editor, Grants::All), None));
        assert!(schemas.may_publish(&user("d", Role::Admin, Grants::All), None));
    }

    #[test]
    fn a_change_re_bases_when_nobody_else_touched_its_places() {
        let change = ProposedChange {
            configuration: "c".into(),
            proposed: Proposed::Edits(vec![Edit::Set {
                path: "/a".into(),
                value: json!(2),
            }]),
            base_revision: 5,
            base: Some(fields(json!({"a": 1, "b": 1}))),
        };
        let theirs = fields(json!({"a": 1, "b": 9}));
        let rebased = change.rebase(Some(&theirs), 7).unwrap().unwrap();
        assert_eq!(rebased.base_revision, 7);
        assert_eq!(
            rebased.after().unwrap().unwrap(),
            fields(json!({"a": 2, "b": 9}))
        );
        let overlapping = fields(json!({"a": 3, "b": 1}));
        assert_eq!(
            change.rebase(Some(&overlapping), 7).unwrap().unwrap_err(),
            vec!["a".to_owned()]
        );
        // Deleted meanwhile: a person decides.
        assert!(change.rebase(None, 0).unwrap().is_err());
    }

    #[test]
    fn a_request_too_big_for_one_transaction_is_measured() {
        let small: Vec<ProposedChange> = (0..40)
            .map(|i| ProposedChange {
                configuration: format!("c{i}"),
                proposed: Proposed::Edits(vec![Edit::Set {
                    path: "/a".into(),
                    value: json!(i),
                }]),
                base_revision: 1,
                base: Some(fields(json!({"a": 0}))),
            })
            .collect();
        assert!(check_publishable(1000, None, &small).is_ok());
        let mut many = small.clone();
        many.extend(small.iter().cloned().map(|mut c| {
            c.configuration.push('x');
            c
        }));
        let error = check_publishable(1000, None, &many)
            .unwrap_err()
            .to_string();
        assert!(error.contains("touches 80 configurations"), "{error}");
        assert!(error.contains("the limit is 128 operations"), "{error}");
        let big = vec![ProposedChange {
            configuration: "big".into(),
            // Created in one piece, a value is written twice: itself and its patch.
            proposed: Proposed::Create(fields(json!({"v": "x".repeat(600 * 1024)}))),
            base_revision: 0,
            base: None,
        }];
        assert!(check_publishable(1000, None, &big).is_ok());
        let mut two = big.clone();
        two.push(ProposedChange {
            configuration: "big2".into(),
            ..big[0].clone()
        });
        assert!(matches!(
            check_publishable(1000, None, &two),
            Err(Error::TooLarge { unit: "bytes", .. })
        ));
    }

    #[test]
    fn edits_to_the_same_configuration_follow_one_another_on_the_first_base() {
        let base = fields(json!({"a": 1}));
        let change = |edits| ProposedChange {
            configuration: "c".into(),
            proposed: Proposed::Edits(edits),
            base_revision: 3,
            base: Some(base.clone()),
        };
        let mut changes = vec![change(vec![Edit::Set {
            path: "/a".into(),
            value: json!(2),
        }])];
        merge_change(
            &mut changes,
            change(vec![Edit::Rename {
                path: "/a".into(),
                to: "b".into(),
            }]),
        )
        .unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].after().unwrap().unwrap(),
            fields(json!({"b": 2}))
        );
        assert!(
            merge_change(
                &mut changes,
                change(vec![Edit::Remove { path: "/a".into() }])
            )
            .is_err()
        );
    }
}
