//! The storage layer's one error type. The web layer maps each variant to a status in one table
//! (`app/src/error.rs`); the status each maps to is noted here.

use crate::keys::KeyOwner;
use crate::names::NameError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A name broke one of the rules in [`crate::names`]. (400)
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidName {
        kind: &'static str,
        name: String,
        reason: NameError,
    },
    /// The value given is not acceptable (a bad field name, a configuration that is not a JSON
    /// object, a version to revert to that did not exist). (400)
    #[error("{0}")]
    InvalidValue(String),
    /// The change would add problems under the configuration's schema; nothing was written.
    /// (400)
    #[error("{}", describe_problems(problems))]
    SchemaViolation {
        problems: Vec<crate::schema::Problem>,
    },
    /// The namespace asks for a comment with every change, and none was given. (400)
    #[error("this namespace asks for a comment with every change: say why you make it")]
    CommentRequired,
    /// A change cannot be taken back on its own: changes made after it touched what it changed
    /// (or shifted the list items it changed). Nothing was written. (409)
    #[error("{}", describe_later(*change, later))]
    ChangedSince {
        /// The version asked to be taken back.
        change: u64,
        /// The later changes in its way, oldest first.
        later: Vec<LaterChange>,
    },
    /// The namespace is reviewed: a change to it is proposed in a change request, never written
    /// directly (see [`crate::request`]). Nothing was written. (409)
    #[error(
        "namespace {0:?} is reviewed: changes to it are sent for review in a change request; nothing was written"
    )]
    ReviewRequired(String),
    /// Configurations of a change request changed since the request was made: nothing was
    /// published. Re-base it, or resolve the overlaps by hand. (409)
    #[error(
        "request {id} was not published: {} changed since it was made; nothing was written. Re-base it on the latest versions",
        describe_names(configurations)
    )]
    RequestStale {
        id: u64,
        configurations: Vec<String>,
    },
    /// The rules of change requests do not allow this (approving one's own request, publishing
    /// without the approvals needed, changing a published request). Nothing was written. (403)
    #[error("{0}")]
    NotAllowed(String),
    /// The thing to remove is still used (a named schema that configurations follow). (409)
    #[error("{0}")]
    InUse(String),
    /// The thing to create is already there. (409)
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The thing asked for is not there. (404)
    #[error("{0} does not exist")]
    NotFound(String),
    /// Someone else changed `key` after it was read; nothing was written. Carries what is there
    /// now (`None` if it was deleted). (409)
    #[error(
        "{key} was changed by someone else (now at revision {current_revision}); nothing was written"
    )]
    Conflict {
        key: String,
        current_revision: i64,
        current: Option<Box<serde_json::Value>>,
    },
    /// The key this request would read or write belongs to more than one listed namespace (one of
    /// them named by another tool with a `-` in it; see [`crate::keys`]), so Confo touches it on
    /// behalf of none of them; or a name to create would make a key so. (409)
    #[error(
        "the key {key:?} belongs to {}; Confo reads and writes {} through it; rename one of them with the tool that created it",
        describe_owners(owners),
        if owners.len() > 2 { "none of them" } else { "neither" }
    )]
    AmbiguousKey { key: String, owners: Vec<KeyOwner> },
    /// A namespace still holds configurations. (409)
    #[error(
        "namespace {namespace:?} still holds {count} configuration(s); delete them first or ask for them to be deleted too"
    )]
    NotEmpty { namespace: String, count: usize },
    /// The request is larger than the backend accepts. (413)
    #[error("{what} is {size} {unit}; the limit is {limit} {unit}")]
    TooLarge {
        what: String,
        size: usize,
        limit: usize,
        /// `bytes`, or `operations` for a transaction's count of writes.
        unit: &'static str,
    },
    /// A namespace holds more configurations than can be deleted with it in one transaction;
    /// nothing was deleted. (413)
    #[error(
        "namespace {namespace:?} holds {count} configurations, and at most {limit} can be deleted together with it; delete some of them first"
    )]
    TooManyToDelete {
        namespace: String,
        count: usize,
        limit: usize,
    },
    /// So many other writers changed the same keys that this change could not get in; nothing
    /// was written. (503)
    #[error("too many concurrent changes to {0}; nothing was written, try again")]
    Busy(String),
    /// Every password-hashing slot stayed busy for as long as a request may wait for one
    /// (see [`crate::users::hash_password`]); nothing was checked or written. (503, with a
    /// `Retry-After` of `retry_after_seconds`)
    #[error(
        "the server is busy checking other passwords; try again in {retry_after_seconds} seconds"
    )]
    Overloaded { retry_after_seconds: u64 },
    /// The backend could not be reached in time. From the store's operations: nothing was
    /// written (a write whose answer was lost is looked for first, and reported as
    /// [`Error::OutcomeUnknown`] when that cannot be told). From a raw [`crate::kv::Kv::txn`]:
    /// the transaction may or may not have been applied. (503)
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The backend stopped answering while a change was sent, and whether it was applied cannot
    /// be told yet. It is never sent again: at most the one request already on its way can still
    /// land. Reading the data once the store answers tells whether it did. (503)
    #[error(
        "the store stopped answering during a change, and whether it was saved is unknown: {0}"
    )]
    OutcomeUnknown(String),
    /// A stored value is not what the layout says it should be. (500; reported with its key)
    #[error("the value stored under {key:?} is not valid: {reason}")]
    Corrupt { key: String, reason: String },
    /// Any other backend failure. (500)
    #[error("the store failed: {0}")]
    Backend(String),
}

/// `Not saved: Retry limit must be between 0 and 10.`
fn describe_problems(problems: &[crate::schema::Problem]) -> String {
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    format!("not saved: {}", messages.join(" "))
}

/// `"a"`, `"a" and "b"`, `"a", "b" and "c"`.
fn describe_names(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

/// `namespace "a" (configuration "b-c") and to namespace "a-b" (configuration "c")`.
fn describe_owners(owners: &[KeyOwner]) -> String {
    let each: Vec<String> = owners
        .iter()
        .map(|owner| match &owner.configuration {
            Some(configuration) => format!(
                "namespace {:?} (configuration {configuration:?})",
                owner.namespace
            ),
            None => format!(
                "namespace {:?} (its list of configurations)",
                owner.namespace
            ),
        })
        .collect();
    match each.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and to {last}", rest.join(", to ")),
        _ => each.join(""),
    }
}

impl Error {
    /// The namespaces an [`Error::AmbiguousKey`] names (empty for any other error).
    pub fn namespaces(&self) -> Vec<&str> {
        match self {
            Error::AmbiguousKey { owners, .. } => {
                owners.iter().map(|o| o.namespace.as_str()).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// A change made after another one that it overlaps (see [`Error::ChangedSince`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LaterChange {
    pub seq: u64,
    /// Who made it.
    pub who: String,
    pub time: chrono::DateTime<chrono::Utc>,
    /// The places both changed, in words (`servers › 0 › port`).
    pub places: Vec<String>,
}

fn describe_later(change: u64, later: &[LaterChange]) -> String {
    if later.is_empty() {
        return format!(
            "version {change} cannot be taken back: what it changed was changed again just now; nothing was written. Reload and try again"
        );
    }
    let each: Vec<String> = later
        .iter()
        .map(|l| {
            format!(
                "version {} by {} ({}) changed {}",
                l.seq,
                l.who,
                l.time.format("%Y-%m-%d %H:%M UTC"),
                l.places.join(", ")
            )
        })
        .collect();
    format!(
        "version {change} cannot be taken back on its own: {} since; nothing was written. Change the value by hand, or take back the later changes first",
        each.join("; ")
    )
}
