//! The audit log: one entry per change, chained by hashes so that an edited, removed or
//! re-ordered entry is detectable.
//!
//! Each entry records who did what to which namespace, configuration or field, with a JSON Patch
//! from the configuration before to after (`patch`) and one back (`unpatch`). Storing the two
//! patches instead of two copies keeps the entry small for a small change to a large
//! configuration, and the history of a configuration can be rebuilt from its current value by
//! applying `unpatch`es newest first.

use chrono::{DateTime, SecondsFormat, Utc};
use json_patch::Patch;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person signed in to the dashboard.
    User,
    /// A service using an API token.
    Token,
    /// Confo itself (start-up registration, retention).
    System,
}

impl Actor {
    pub fn user(name: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::User,
            name: name.into(),
        }
    }

    pub fn token(name: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Token,
            name: name.into(),
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            name: "confo".into(),
        }
    }
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "namespace.create")]
    NamespaceCreate,
    #[serde(rename = "namespace.delete")]
    NamespaceDelete,
    #[serde(rename = "configuration.create")]
    ConfigurationCreate,
    #[serde(rename = "configuration.replace")]
    ConfigurationReplace,
    #[serde(rename = "configuration.delete")]
    ConfigurationDelete,
    #[serde(rename = "configuration.register")]
    ConfigurationRegister,
    #[serde(rename = "configuration.revert")]
    ConfigurationRevert,
    /// Namespaces were exported as a file (which, in the comment), from the dashboard or the
    /// command line.
    #[serde(rename = "configuration.export")]
    ConfigurationExport,
    /// One earlier change was taken back (its places alone), as an undo.
    #[serde(rename = "change.revert")]
    ChangeRevert,
    #[serde(rename = "field.set")]
    FieldSet,
    #[serde(rename = "field.rename")]
    FieldRename,
    #[serde(rename = "field.delete")]
    FieldDelete,
    /// A named schema of a namespace was added or changed.
    #[serde(rename = "schema.put")]
    SchemaPut,
    #[serde(rename = "schema.delete")]
    SchemaDelete,
    /// A configuration was given a schema (its own or a named one), or none.
    #[serde(rename = "schema.assign")]
    SchemaAssign,
    /// A namespace's rules changed (such as a comment being required).
    #[serde(rename = "namespace.settings")]
    NamespaceSettings,
    /// A namespace was switched between direct and reviewed, or its review rules changed.
    #[serde(rename = "namespace.review")]
    NamespaceReview,
    /// A change request was opened (or started as a draft).
    #[serde(rename = "request.open")]
    RequestOpen,
    /// A change request's changes, title or description changed, or it was sent for review.
    #[serde(rename = "request.edit")]
    RequestEdit,
    #[serde(rename = "request.approve")]
    RequestApprove,
    #[serde(rename = "request.reject")]
    RequestReject,
    #[serde(rename = "request.withdraw")]
    RequestWithdraw,
    /// A change request was re-based on the latest versions of its configurations.
    #[serde(rename = "request.rebase")]
    RequestRebase,
    #[serde(rename = "user.create")]
    UserCreate,
    #[serde(rename = "user.disable")]
    UserDisable,
    #[serde(rename = "user.enable")]
    UserEnable,
    /// An invitation link was made for a new account.
    #[serde(rename = "user.invite")]
    UserInvite,
    /// A password reset link was made for an account.
    #[serde(rename = "user.reset_password")]
    UserResetPassword,
    /// An invitation or reset link was used to set a password.
    #[serde(rename = "user.accept_invitation")]
    UserAcceptInvitation,
    /// A user's role or namespace grants changed.
    #[serde(rename = "user.update")]
    UserUpdate,
    /// A user changed their own password.
    #[serde(rename = "user.change_password")]
    UserChangePassword,
    /// Sessions of an account were ended by someone else (or all of them at once).
    #[serde(rename = "auth.end_sessions")]
    EndSessions,
    #[serde(rename = "auth.sign_in")]
    SignIn,
    #[serde(rename = "auth.sign_in_failed")]
    SignInFailed,
    #[serde(rename = "auth.sign_out")]
    SignOut,
}

impl Action {
    /// The name used in the log and in filters, e.g. `field.set`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NamespaceCreate => "namespace.create",
            Action::NamespaceDelete => "namespace.delete",
            Action::ConfigurationCreate => "configuration.create",
            Action::SchemaPut => "schema.put",
            Action::SchemaDelete => "schema.delete",
            Action::SchemaAssign => "schema.assign",
            Action::NamespaceSettings => "namespace.settings",
            Action::ConfigurationReplace => "configuration.replace",
            Action::ConfigurationDelete => "configuration.delete",
            Action::ConfigurationRegister => "configuration.register",
            Action::ConfigurationRevert => "configuration.revert",
            Action::ConfigurationExport => "configuration.export",
            Action::ChangeRevert => "change.revert",
            Action::FieldSet => "field.set",
            Action::FieldRename => "field.rename",
            Action::FieldDelete => "field.delete",
            Action::NamespaceReview => "namespace.review",
            Action::RequestOpen => "request.open",
            Action::RequestEdit => "request.edit",
            Action::RequestApprove => "request.approve",
            Action::RequestReject => "request.reject",
            Action::RequestWithdraw => "request.withdraw",
            Action::RequestRebase => "request.rebase",
            Action::UserCreate => "user.create",
            Action::UserDisable => "user.disable",
            Action::UserEnable => "user.enable",
            Action::UserInvite => "user.invite",
            Action::UserResetPassword => "user.reset_password",
            Action::UserAcceptInvitation => "user.accept_invitation",
            Action::UserUpdate => "user.update",
            Action::UserChangePassword => "user.change_password",
            Action::EndSessions => "auth.end_sessions",
            Action::SignIn => "auth.sign_in",
            Action::SignInFailed => "auth.sign_in_failed",
            Action::SignOut => "auth.sign_out",
        }
    }

    /// The action in plain words, for people (its code, [`Self::as_str`], stays for filters,
    /// exports and whoever asks).
    pub fn in_words(self) -> &'static str {
        match self {
            Action::NamespaceCreate => "created a namespace",
            Action::NamespaceDelete => "deleted a namespace",
            Action::ConfigurationCreate => "created a configuration",
            Action::ConfigurationReplace => "saved the configuration as a whole",
            Action::ConfigurationDelete => "deleted a configuration",
            Action::ConfigurationRegister => "registered a configuration",
            Action::ConfigurationRevert => "went back to an earlier version",
            Action::ConfigurationExport => "exported configurations",
            Action::ChangeRevert => "took back a change",
            Action::FieldSet => "set a field",
            Action::FieldRename => "renamed a field",
            Action::FieldDelete => "removed a field",
            Action::SchemaPut => "saved a shared schema",
            Action::SchemaDelete => "deleted a shared schema",
            Action::SchemaAssign => "chose a schema",
            Action::NamespaceSettings => "changed the namespace's rules",
            Action::NamespaceReview => "changed how changes are reviewed",
            Action::RequestOpen => "opened a change request",
            Action::RequestEdit => "changed a change request",
            Action::RequestApprove => "approved a change request",
            Action::RequestReject => "rejected a change request",
            Action::RequestWithdraw => "withdrew a change request",
            Action::RequestRebase => "re-based a change request",
            Action::UserCreate => "created an account",
            Action::UserDisable => "disabled an account",
            Action::UserEnable => "enabled an account",
            Action::UserInvite => "invited someone",
            Action::UserResetPassword => "made a password reset link",
            Action::UserAcceptInvitation => "chose a password with a link",
            Action::UserUpdate => "changed a role or access",
            Action::UserChangePassword => "changed their password",
            Action::EndSessions => "ended sessions",
            Action::SignIn => "signed in",
            Action::SignInFailed => "failed to sign in",
            Action::SignOut => "signed out",
        }
    }

    /// Whether the change alters the fields of one configuration (and so is part of its history).
    pub fn changes_configuration(self) -> bool {
        matches!(
            self,
            Action::ConfigurationCreate
                | Action::ConfigurationReplace
                | Action::ConfigurationDelete
                | Action::ConfigurationRegister
                | Action::ConfigurationRevert
                | Action::ChangeRevert
                | Action::FieldSet
                | Action::FieldRename
                | Action::FieldDelete
        )
    }
}

/// One change, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1 for the first change, then one more for each.
    pub seq: u64,
    /// When the change was made (UTC).
    pub time: DateTime<Utc>,
    pub actor: Actor,
    pub action: Action,
    pub namespace: Option<String>,
    pub configuration: Option<String>,
    pub field: Option<String>,
    /// The user account a `user.*` change is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The change request this entry is about, or that published this change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<u64>,
    /// The configuration before -> after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<Patch>,
    /// The configuration after -> before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpatch: Option<Patch>,
    /// A random id of the write, used to find out whether a write whose answer was lost was
    /// applied.
    pub write_id: String,
    /// The previous entry's `hash` ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// SHA-256 over `prev_hash` and this entry without its `hash`.
    pub hash: String,
}

impl AuditEntry {
    /// The hash this entry should carry.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        let body = serde_json::to_vec(&unhashed).expect("an audit entry always serialises");
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(b"\n");
        hasher.update(&body);
        hex::encode(hasher.finalize())
    }

    /// The time as RFC 3339 with seconds, e.g. `2026-11-29T05:26:16Z`.
    pub fn time_text(&self) -> String {
        self.time.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// The newest entry's number and hash, kept in one key so that every write can compare it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

impl Default for AuditHead {
    fn default() -> Self {
        Self {
            seq: 0,
            hash: GENESIS_HASH.into(),
        }
    }
}

/// Walks a chain of entries in order and reports the first broken link.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    prev: AuditHead,
    checked: u64,
}

impl ChainCheck {
    /// Starts after `anchor` (the genesis for a whole chain).
    pub fn after(anchor: AuditHead) -> Self {
        Self {
            prev: anchor,
            checked: 0,
        }
    }

    /// Checks the next entry: its number follows, its link matches, its hash matches its content.
    pub fn next(&mut self, entry: &AuditEntry) -> Result<(), Verification> {
        let broken = |seq, reason: String| Err(Verification::Broken { seq, reason });
        if entry.seq != self.prev.seq + 1 {
            return broken(
                self.prev.seq + 1,
                format!(
                    "entry {} is missing (the next one kept is {})",
                    self.prev.seq + 1,
                    entry.seq
                ),
            );
        }
        if entry.prev_hash != self.prev.hash {
            return broken(
                entry.seq,
                format!(
                    "its link does not match the hash of entry {}",
                    self.prev.seq
                ),
            );
        }
        if entry.compute_hash() != entry.hash {
            return broken(
                entry.seq,
                "its content does not match its hash: it was changed after it was written".into(),
            );
        }
        self.prev = AuditHead {
            seq: entry.seq,
            hash: entry.hash.clone(),
        };
        self.checked += 1;
        Ok(())
    }

    /// Where the walk has got to.
    pub fn last(&self) -> &AuditHead {
        &self.prev
    }

    /// The chain ends at `expected` (the store's head, or the anchor the archive must reach).
    pub fn finish(self, expected: &AuditHead, what: &str) -> Verification {
        if self.prev != *expected {
            return Verification::Broken {
                seq: expected.seq,
                reason: format!(
                    "{what} names entry {} but the chain ends at entry {}",
                    expected.seq, self.prev.seq
                ),
            };
        }
        Verification::Intact {
            entries: self.checked,
        }
    }
}

/// Which entries an audit query returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub actor: Option<String>,
    /// Only entries whose actor's name starts with this, whatever the case (as a person types a
    /// name into a filter).
    pub actor_prefix: Option<String>,
    /// Only entries about this user account (`user.*` and `auth.*` actions).
    pub user: Option<String>,
    pub namespace: Option<String>,
    pub configuration: Option<String>,
    pub action: Option<Action>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only entries older than this one (the cursor of the next page).
    pub before_seq: Option<u64>,
    /// At most this many entries (default 50).
    pub limit: Option<usize>,
    /// Stop after looking at this many entries, matching or not (no bound when `None`): the
    /// page then ends early, with the cursor to go on from.
    pub scan_limit: Option<usize>,
}

impl AuditQuery {
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        self.actor.as_ref().is_none_or(|a| *a == entry.actor.name)
            && self.actor_prefix.as_ref().is_none_or(|p| {
                entry
                    .actor
                    .name
                    .to_lowercase()
                    .starts_with(&p.to_lowercase())
            })
            && self
                .user
                .as_ref()
                .is_none_or(|u| entry.user.as_ref() == Some(u))
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| entry.namespace.as_ref() == Some(n))
            && self
                .configuration
                .as_ref()
                .is_none_or(|c| entry.configuration.as_ref() == Some(c))
            && self.action.is_none_or(|a| a == entry.action)
            && self.since.is_none_or(|t| entry.time >= t)
            && self.until.is_none_or(|t| entry.time < t)
    }
}

/// A page of entries, newest first, and the cursor of the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before_seq` to get the next page; `None` on the last page.
    pub next_before_seq: Option<u64>,
    /// How many entries were looked at, matching or not.
    pub scanned: usize,
}

/// What walking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every entry's hash and link hold; `entries` were checked.
    Intact { entries: u64 },
    /// The first entry at which the chain breaks, and why.
    Broken { seq: u64, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            seq: 1,
            time: DateTime::parse_from_rfc3339("2026-11-29T05:26:16Z")
                .unwrap()
                .with_timezone(&Utc),
            actor: Actor::user("ada"),
            action: Action::FieldSet,
            namespace: Some("HR_dept".into()),
            configuration: Some("database".into()),
            field: Some("port".into()),
            user: None,
            comment: None,
            request: None,
            patch: None,
            unpatch: None,
            write_id: "w".into(),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn hash_covers_every_field_and_survives_a_round_trip() {
        let mut e = entry();
        e.hash = e.compute_hash();
        let stored = serde_json::to_string(&e).unwrap();
        let read: AuditEntry = serde_json::from_str(&stored).unwrap();
        assert_eq!(read.compute_hash(), e.hash);

        let mut tampered = read.clone();
        tampered.actor = Actor::user("eve");
        assert_ne!(tampered.compute_hash(), e.hash);
        let mut relinked = read;
        relinked.prev_hash = "1".repeat(64);
        assert_ne!(relinked.compute_hash(), e.hash);
    }

    #[test]
    fn actions_serialise_as_dotted_names() {
        for action in [Action::FieldSet, Action::NamespaceDelete] {
            assert_eq!(
                serde_json::to_string(&action).unwrap(),
                format!("\"{}\"", action.as_str())
            );
        }
    }

    #[test]
    fn a_person_filter_matches_the_start_of_a_name_in_any_case() {
        let with = |prefix: &str| AuditQuery {
            actor_prefix: Some(prefix.into()),
            ..Default::default()
        };
        for prefix in ["ada", "AD", "a", ""] {
            assert!(with(prefix).matches(&entry()), "{prefix:?}");
        }
        for prefix in ["da", "adam", "b"] {
            assert!(!with(prefix).matches(&entry()), "{prefix:?}");
        }
    }
}
