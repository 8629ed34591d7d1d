//! Configurations: the view types the pages share, name parsing and the guard every function
//! runs first (in [`ssr`]), and listing, creating, deleting and reading configurations. Changing
//! their fields is in [`fields`], their history in [`history`]. Every function checks the
//! caller's role for the namespace first; namespaces a user may not read do not exist for them.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub mod drafts;
pub mod fields;
pub mod history;

pub use crate::api::namespaces::{
    DeleteNamespace, NamespacesOverview, delete_namespace, namespaces_overview,
};
pub use drafts::*;
pub use fields::*;
pub use history::*;

/// Configurations shown per page of a namespace.
pub const PAGE_SIZE: usize = 50;

/// Who changed something, when, and how, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSummary {
    pub seq: u64,
    pub who: String,
    /// How long ago, in words ("5 minutes ago").
    pub when: String,
    /// The exact time, UTC.
    pub at: String,
    pub what: String,
    pub comment: Option<String>,
}

/// A namespace in the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceSummary {
    pub name: String,
    pub configurations: usize,
    /// Configurations stored under the namespace's prefix without being listed in it.
    pub unregistered: usize,
    pub last_change: Option<ChangeSummary>,
    /// The signed-in user may register its unlisted configurations.
    pub can_edit: bool,
}

/// A configuration in a namespace's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigurationRow {
    pub name: String,
    pub last_change: Option<ChangeSummary>,
}

/// One page of a namespace's configurations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigurationList {
    pub namespace: String,
    pub rows: Vec<ConfigurationRow>,
    /// Configurations matching the filter.
    pub matching: usize,
    /// Configurations in the namespace.
    pub total: usize,
    /// From 1.
    pub page: usize,
    pub pages: usize,
    /// Stored under the namespace but missing from its list (written by other tools).
    pub unregistered: Vec<String>,
    pub can_edit: bool,
}

/// One field as the form view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldView {
    pub name: String,
    /// "text", "number", "true/false", "empty", "list" or "object".
    pub kind: String,
    /// The value as JSON.
    pub json: String,
    /// For a list or an object: its items and keys, depth first, each editable on its own.
    pub inner: Vec<InnerRow>,
    /// The newest change that touched it (see `Store::last_changes`).
    pub last_change: Option<ChangeSummary>,
    /// What the configuration's schema says about it.
    pub hints: Option<Hints>,
}

/// What a configuration's schema says about one place, for its row in the form view. The
/// constraints become HTML attributes, so the browser checks them too, with or without
/// JavaScript; the server checks everything again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hints {
    /// The label (`title`).
    pub title: Option<String>,
    /// Inline help (`description`).
    pub description: Option<String>,
    /// `examples` and `default`, as JSON.
    pub examples: Vec<String>,
    pub default: Option<String>,
    /// The allowed values, as typed into the form, with their labels (`enum`, or `oneOf` of
    /// `const`s with `title`s).
    pub choices: Vec<(String, String)>,
    /// The kind of value the schema asks for, as the form names kinds; `None`: any.
    pub kind: Option<String>,
    /// The `type` of the HTML input (`number`, `email`, `url`, `text`).
    pub input_type: String,
    pub min: Option<String>,
    pub max: Option<String>,
    pub step: Option<String>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    /// The format, in words (`an email address`).
    pub format: Option<String>,
    pub required: bool,
    pub read_only: bool,
    pub deprecated: bool,
    /// Never shown: replaced only by typing a new value.
    pub write_only: bool,
    /// The schema says more than the form can (`anyOf`, `if`/`then`, ...): edited as JSON,
    /// still checked on save.
    pub as_json: bool,
    /// The problems the stored value has here, in words.
    pub problems: Vec<String>,
}

/// One way a configuration breaks its schema, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemView {
    /// In words: `retries`, `servers › 0 › port`.
    pub place: String,
    pub message: String,
}

/// An item of a list or a key of an object inside a field's value, as the form view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InnerRow {
    /// Where it is inside the field's value (a JSON Pointer, such as `/servers/0`).
    pub path: String,
    /// Where it is in words, such as `servers › 0`.
    pub place: String,
    /// 1 for the field's own items and keys, 2 for theirs, and so on.
    pub depth: usize,
    /// Its key, or its number in the list.
    pub label: String,
    /// An item of a list (numbered; cannot be renamed) rather than a key of an object.
    pub in_list: bool,
    pub kind: String,
    pub json: String,
    /// The newest change that touched it, or a place inside or around it.
    pub last_change: Option<ChangeSummary>,
    pub hints: Option<Hints>,
}

/// How deep the form view shows lists and objects row by row; deeper values are edited as JSON.
/// (`style/main.css` indents each depth with a class of its own.)
pub const MAX_INNER_DEPTH: usize = 4;
/// How many items of one list or object the form view shows row by row.
pub const MAX_INNER_ITEMS: usize = 100;
/// How many rows the form view shows at most (fields, and the items and keys inside them), so
/// that a huge configuration is no huge page; the fields past them are shown as JSON.
pub const MAX_FORM_ROWS: usize = 1_000;

/// A configuration as the editor loads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigurationView {
    pub namespace: String,
    pub name: String,
    /// The fields the form view shows row by row (see [`MAX_FORM_ROWS`]).
    pub fields: Vec<FieldView>,
    /// How many fields come after those, shown as JSON only.
    pub more_fields: usize,
    /// Those fields as indented JSON (empty when there are none).
    pub more_json: String,
    /// The fields as indented JSON.
    pub json: String,
    /// Sent back with a change, so that a change made in between is noticed.
    pub revision: i64,
    /// The newest change in its history (0 if it has none), to tell later changes apart.
    pub seq: u64,
    pub last_change: Option<ChangeSummary>,
    pub can_edit: bool,
    /// Which schema it follows, in words (`its own schema`, `the shared schema "limits"`).
    pub schema: Option<String>,
    /// Where the stored value breaks its schema (another tool may have written it so).
    pub problems: Vec<ProblemView>,
    /// Fields the schema lists that the configuration does not have yet, in the schema's order.
    pub missing: Vec<FieldView>,
    /// Every change in this namespace needs a comment.
    pub comment_required: bool,
    /// Changes here are sent for review (`None`: saved directly).
    pub review: Option<ReviewNote>,
}

/// What a person changing a configuration in a reviewed namespace should know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewNote {
    /// The namespace's policy, in words.
    pub policy: String,
    /// The person's own requests in the namespace still open: number and title.
    pub mine: Vec<(u64, String)>,
    /// Open requests that change this configuration: number, title, author.
    pub touching: Vec<(u64, String, String)>,
}

/// Two versions of a configuration and how the second differs from the first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// 0: before the first version.
    pub from: u64,
    pub to: u64,
    pub changes: Vec<FieldDiff>,
}

/// What taking back one change would do (see [`take_back_preview`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TakeBackView {
    pub seq: u64,
    /// The change to take back: who made it, when, what.
    pub change: ChangeSummary,
    /// The fields as they are now, and as taking it back leaves them.
    pub changes: Vec<FieldDiff>,
    pub comment_required: bool,
}

/// How one field differs, in readable JSON (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What a save would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub changes: Vec<FieldDiff>,
    /// Where inside the field the change is, in words (`servers › 0 › port`).
    pub place: Option<String>,
    /// The revision the review was made on.
    pub revision: i64,
    /// The change in plain words, before the table: "You are changing 1 setting in
    /// payments › checkout: Retry limit from 3 to 5."
    pub summary: String,
    /// Problems the change would add under the schema: it would not be saved.
    pub problems: Vec<ProblemView>,
    /// Every change in this namespace needs a comment.
    pub comment_required: bool,
    /// What the person should know before saving (a number other programs may read rounded).
    pub notes: Vec<String>,
}

/// What a save wrote: the configuration's new revision and the number of its history entry. In
/// a reviewed namespace nothing is written: `request` is the change request it went to (and the
/// revision and version stay those the change was made on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub revision: i64,
    pub seq: u64,
    #[serde(default)]
    pub request: Option<u64>,
}

/// One change asked for in the form view (the page's address carries it, so that it is reviewed
/// before it is saved, also without JavaScript). See [`review_field`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldEdit {
    /// `set`, `delete`, `rename` or `add`.
    pub op: String,
    pub field: String,
    pub kind: String,
    pub value: String,
    /// The new name (rename), or the new key (add to an object).
    pub to: String,
    /// Where inside the field's value (a JSON Pointer; empty: the field itself).
    pub path: String,
}

/// Someone else saved after the editor loaded the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictView {
    /// What this user changed, against what they loaded.
    pub mine: Vec<FieldDiff>,
    /// What was saved in between, against what they loaded.
    pub theirs: Vec<FieldDiff>,
    /// The changes saved in between (who, when).
    pub others: Vec<ChangeSummary>,
    /// Fields both changed.
    pub overlap: Vec<String>,
    /// With no overlap: this user's changes applied to the latest version, as JSON.
    pub merged: Option<String>,
    pub latest: ConfigurationView,
}

/// A version of a configuration in its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryView {
    pub namespace: String,
    pub name: String,
    pub versions: Vec<ChangeSummary>,
    pub revision: i64,
    pub can_edit: bool,
}

#[cfg(feature = "ssr")]
pub(crate) mod hints;
#[cfg(feature = "ssr")]
pub(crate) mod ssr;

/// One page of a namespace's configurations whose names contain `filter`.
#[server(endpoint = "configurations/list", input = leptos::server_fn::codec::GetUrl)]
pub async fn namespace_page(
    namespace: String,
    filter: String,
    page: usize,
) -> Result<ConfigurationList, AppError> {
    use crate::api::ssr::{reject, require, store};
    let user = require(confo::users::Role::Viewer, Some(&namespace)).await?;
    let ns = ssr::namespace(&namespace)?;
    let store = store()?;
    let listing = store.list_configurations(&ns).await.map_err(reject)?;
    let needle = filter.trim().to_lowercase();
    let matching: Vec<&String> = listing
        .registered
        .iter()
        .filter(|n| needle.is_empty() || n.to_lowercase().contains(&needle))
        .collect();
    let pages = matching.len().div_ceil(PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let shown: Vec<confo::ConfigurationName> = matching
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .filter_map(|n| confo::ConfigurationName::new(n.as_str()).ok())
        .collect();
    let latest = store.latest_versions(&ns, &shown).await.map_err(reject)?;
    Ok(ConfigurationList {
        rows: shown
            .iter()
            .zip(latest)
            .map(|(name, last)| ConfigurationRow {
                name: name.to_string(),
                last_change: last.as_ref().map(|v| ssr::summary(&v.entry)),
            })
            .collect(),
        matching: matching.len(),
        total: listing.registered.len(),
        page,
        pages,
        unregistered: listing.unregistered,
        can_edit: ssr::can_edit(&user, &namespace),
        namespace,
    })
}

/// Creates a configuration, empty or as a copy of `copy_from` in the same namespace (without
/// its write-only values, which the copy would show). `comment` goes into the history.
#[server(endpoint = "configurations/create")]
pub async fn create_configuration(
    namespace: String,
    name: String,
    copy_from: Option<String>,
    comment: Option<String>,
) -> Result<(), AppError> {
    use crate::api::ssr::reject;
    let opened = ssr::open(confo::users::Role::Editor, &namespace, &name).await?;
    let (ns, store) = (&opened.namespace, &opened.store);
    let fields = match copy_from
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(source) => {
            let source = ssr::configuration(source)?;
            let fields = store
                .get_configuration(ns, &source)
                .await
                .map_err(reject)?
                .fields;
            ssr::rules(store, ns, &source)
                .await?
                .without_write_only(&fields)
        }
        None => Default::default(),
    };
    let comment = comment.unwrap_or_default();
    let change = ssr::change_with(&opened.user, &comment);
    match store
        .create_configuration(ns, &opened.name, fields.clone(), &change)
        .await
    {
        Ok(_) => opened.back_to(""),
        // A reviewed namespace: the new configuration is sent for review.
        Err(confo::Error::ReviewRequired(_)) => {
            let proposed = confo::request::Proposed::Create(fields);
            opened.propose(proposed, Some(0), &comment, "").await?;
        }
        Err(other) => return Err(reject(other)),
    }
    Ok(())
}

/// Deletes a configuration; `confirm` must repeat its name. `comment` goes into the history.
#[server(endpoint = "configurations/delete")]
pub async fn delete_configuration(
    namespace: String,
    name: String,
    confirm: String,
    comment: Option<String>,
) -> Result<(), AppError> {
    use crate::api::ssr::reject;
    let opened = ssr::open(confo::users::Role::Editor, &namespace, &name).await?;
    let configuration = &opened.name;
    if confirm.trim() != configuration.as_str() {
        return Err(reject(AppError::Invalid(format!(
            "To delete it, type the configuration's name, {configuration}, exactly."
        ))));
    }
    let comment = comment.unwrap_or_default();
    let deleted = opened
        .store
        .delete_configuration(
            &opened.namespace,
            configuration,
            None,
            &ssr::change_with(&opened.user, &comment),
        )
        .await;
    match deleted {
        Ok(_) => {}
        // A reviewed namespace: the deletion is sent for review.
        Err(confo::Error::ReviewRequired(_)) => {
            let proposed = confo::request::Proposed::Delete;
            opened.propose(proposed, None, &comment, "").await?;
            return Ok(());
        }
        Err(other) => return Err(reject(other)),
    }
    // Confirmed on the namespace's page.
    crate::api::redirect::redirect(&format!(
        "/ns/{namespace}?deleted={}",
        crate::pages::encode_component(&name)
    ));
    Ok(())
}

/// Lists the configurations stored under a namespace but missing from its list.
#[server(endpoint = "configurations/register")]
pub async fn register_configurations(namespace: String) -> Result<(), AppError> {
    use crate::api::ssr::{change, reject, require, store};
    let user = require(confo::users::Role::Editor, Some(&namespace)).await?;
    let ns = ssr::namespace(&namespace)?;
    store()?
        .register_configurations(&ns, &change(&user))
        .await
        .map_err(reject)?;
    crate::api::redirect::redirect(&format!("/ns/{namespace}"));
    Ok(())
}

/// A configuration, for the editor.
#[server(endpoint = "configurations/get", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_configuration(
    namespace: String,
    name: String,
) -> Result<ConfigurationView, AppError> {
    let opened = ssr::open(confo::users::Role::Viewer, &namespace, &name).await?;
    ssr::view(&opened.user, &opened.namespace, &opened.name).await
}
