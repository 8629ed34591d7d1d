//! The one place that knows which key holds what.
//!
//! The layout is the original Confo's, so both can share an etcd cluster:
//!
//! | key                       | value                                |
//! |---------------------------|--------------------------------------|
//! | `confo`                   | `{"namespaces":[...]}`               |
//! | `<namespace>`             | `{"configurations":[...]}`           |
//! | `<namespace>-<config>`    | the configuration's fields (object)  |
//! | `__confo/...`             | Confo's own records (reserved)       |
//!
//! No valid name contains `/` or starts with `_` (see [`crate::names`]), so nothing a user names
//! can land under the reserved prefix. An optional global prefix, empty by default, is put in
//! front of every key so that several installations can share one cluster.
//!
//! # Which namespace a key belongs to
//!
//! Confo's own namespace names hold no `-`, but the original Confo's may (`a-b`), and other tools
//! list such names in the root key. Then one key can have two readings: `a-b-c` is configuration
//! `b-c` of `a` and configuration `c` of `a-b`; `a-b` is configuration `b` of `a` and the index of
//! `a-b`. So ownership is defined here, once: a key is *owned* by namespace `N` when it is `N`'s
//! index key or `<N>-<anything>`. A key owned by more than one of the listed namespaces (counting
//! the namespace a request names, listed or not) is *ambiguous*, and Confo neither reads nor
//! writes it on anyone's behalf: see [`KeyLayout::check_owner`].

use crate::error::{Error, Result};
use crate::names::{ConfigurationName, NamespaceName, ROOT_NAME};

/// One namespace's claim on a key: its index, or one of its configurations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub namespace: String,
    /// The configuration the key holds for this namespace; `None` when it is the namespace's
    /// index (its list of configurations).
    pub configuration: Option<String>,
}

/// The prefix under which Confo keeps everything that is not configuration.
pub const RESERVED_PREFIX: &str = "__confo/";

/// Builds every key Confo reads or writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyLayout {
    prefix: String,
}

impl KeyLayout {
    /// A layout with `prefix` in front of every key; `""` is the original Confo's layout.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix in front of every key this layout builds (`""` for the original Confo's).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key listing every namespace.
    pub fn root(&self) -> String {
        format!("{}{ROOT_NAME}", self.prefix)
    }

    /// The key listing the configurations of `namespace`.
    pub fn namespace(&self, namespace: &NamespaceName) -> String {
        format!("{}{namespace}", self.prefix)
    }

    /// The key holding the fields of `configuration` in `namespace`.
    pub fn configuration(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
    ) -> String {
        format!("{}{namespace}-{configuration}", self.prefix)
    }

    /// The key the original Confo uses for any two names, checked or not: only for reading data
    /// other tools wrote under names Confo refuses.
    pub fn unchecked_configuration(&self, namespace: &str, configuration: &str) -> String {
        format!("{}{namespace}-{configuration}", self.prefix)
    }

    /// The prefix shared by every configuration key of `namespace`.
    pub fn configurations_prefix(&self, namespace: &NamespaceName) -> String {
        format!("{}{namespace}-", self.prefix)
    }

    /// The namespaces among `namespaces` that own `key` (see the module documentation), each
    /// once, shortest name first. Reserved keys and the root key are owned by none.
    pub fn owners<'a>(
        &self,
        key: &str,
        namespaces: impl IntoIterator<Item = &'a str>,
    ) -> Vec<KeyOwner> {
        let Some(name) = key.strip_prefix(&self.prefix) else {
            return Vec::new();
        };
        if name == ROOT_NAME || name.starts_with(RESERVED_PREFIX) {
            return Vec::new();
        }
        let mut owners: Vec<KeyOwner> = Vec::new();
        for namespace in namespaces {
            let configuration = if name == namespace {
                None
            } else if let Some(configuration) = name
                .strip_prefix(namespace)
                .and_then(|rest| rest.strip_prefix('-'))
            {
                Some(configuration.to_owned())
            } else {
                continue;
            };
            if owners.iter().all(|o| o.namespace != namespace) {
                owners.push(KeyOwner {
                    namespace: namespace.to_owned(),
                    configuration,
                });
            }
        }
        owners.sort_by_key(|o| o.namespace.len());
        owners
    }

    /// Checks that `key`, about to be read or written on behalf of `namespace`, is owned by no
    /// namespace in `listed` other than `namespace` itself: otherwise [`Error::AmbiguousKey`].
    /// Permissions are granted per namespace, so a key another namespace may own would let a
    /// user granted one namespace reach the other's configuration.
    pub fn check_owner(&self, key: &str, namespace: &str, listed: &[String]) -> Result<()> {
        let owners = self.owners(
            key,
            std::iter::once(namespace).chain(listed.iter().map(String::as_str)),
        );
        if owners.len() > 1 {
            return Err(Error::AmbiguousKey {
                key: key.to_owned(),
                owners,
            });
        }
        Ok(())
    }

    /// Checks that a new namespace `namespace` would make no key ambiguous: no namespace in
    /// `listed` may be `<namespace>-...`, nor `namespace` be `<listed>-...`, since then the two
    /// share keys. The error names the first key they would share: the longer name's index.
    pub fn check_new_namespace(&self, namespace: &str, listed: &[String]) -> Result<()> {
        for other in listed.iter().filter(|other| *other != namespace) {
            let (shorter, longer) = if other.len() < namespace.len() {
                (other.as_str(), namespace)
            } else {
                (namespace, other.as_str())
            };
            if longer
                .strip_prefix(shorter)
                .is_some_and(|rest| rest.starts_with('-'))
            {
                let key = format!("{}{longer}", self.prefix);
                let owners = self.owners(&key, [namespace, other.as_str()]);
                return Err(Error::AmbiguousKey { key, owners });
            }
        }
        Ok(())
    }

    /// A key for Confo's own records, under the reserved prefix.
    pub fn reserved(&self, path: &str) -> String {
        format!("{}{RESERVED_PREFIX}{path}", self.prefix)
    }

    /// The profile of user `name` (names hold no `/`; see [`crate::users::check_user_name`]).
    pub fn user(&self, name: &str) -> String {
        self.reserved(&format!("users/{name}"))
    }

    /// The prefix of every user profile.
    pub fn users_prefix(&self) -> String {
        self.reserved("users/")
    }

    /// The password hash of user `name`, apart from the profile.
    pub fn password(&self, name: &str) -> String {
        self.reserved(&format!("passwords/{name}"))
    }

    /// The pending invitation (or password reset) of user `name`.
    pub fn invitation(&self, name: &str) -> String {
        self.reserved(&format!("invitations/{name}"))
    }

    /// The prefix of every pending invitation.
    pub fn invitations_prefix(&self) -> String {
        self.reserved("invitations/")
    }

    /// Recent failed sign-ins for an account name, by the name's SHA-256 (the name tried may be
    /// anything, so it is not used as a key itself).
    pub fn sign_in_failures(&self, account_sha256: &str) -> String {
        self.reserved(&format!("sign-in-failures/{account_sha256}"))
    }

    /// The prefix of every failed sign-in counter.
    pub fn sign_in_failures_prefix(&self) -> String {
        self.reserved("sign-in-failures/")
    }

    /// A browser known to an account (its device cookie), by the SHA-256 of the cookie's token.
    pub fn device(&self, token_sha256: &str) -> String {
        self.reserved(&format!("devices/{token_sha256}"))
    }

    /// The prefix of every known browser.
    pub fn devices_prefix(&self) -> String {
        self.reserved("devices/")
    }

    /// Dashboard session `id` (session ids hold no `/`).
    pub fn session(&self, id: &str) -> String {
        self.reserved(&format!("sessions/{id}"))
    }

    /// The prefix of every dashboard session.
    pub fn sessions_prefix(&self) -> String {
        self.reserved("sessions/")
    }

    /// The change user `name` is reviewing when it is too long for the review page's address
    /// (one per user: a newer one replaces it).
    pub fn review_draft(&self, name: &str) -> String {
        self.reserved(&format!("drafts/{name}"))
    }

    /// A one-time link (invitation or password reset) for user `name`, waiting to be shown to the
    /// dashboard session whose stored hash is `session_hash`.
    pub fn waiting_link(&self, session_hash: &str, name: &str) -> String {
        self.reserved(&format!("links/{session_hash}/{name}"))
    }

    /// The prefix of every waiting one-time link.
    pub fn waiting_links_prefix(&self) -> String {
        self.reserved("links/")
    }

    /// One open page of configuration `namespace` / `configuration` (see [`crate::presence`]),
    /// `id` naming the page.
    pub fn presence(&self, namespace: &str, configuration: &str, id: &str) -> String {
        self.reserved(&format!("presence/{namespace}/{configuration}/{id}"))
    }

    /// The prefix of the open pages of one configuration.
    pub fn presence_of(&self, namespace: &str, configuration: &str) -> String {
        self.reserved(&format!("presence/{namespace}/{configuration}/"))
    }

    /// The prefix of every open page.
    pub fn presence_prefix(&self) -> String {
        self.reserved("presence/")
    }

    /// The namespace and configuration whose open page `key` is.
    pub fn presence_place(&self, key: &str) -> Option<(String, String)> {
        let rest = key.strip_prefix(&self.presence_prefix())?;
        let mut parts = rest.splitn(3, '/');
        let (namespace, configuration, _id) = (parts.next()?, parts.next()?, parts.next()?);
        Some((namespace.to_owned(), configuration.to_owned()))
    }

    /// The newest audit entry's number and hash.
    pub fn audit_head(&self) -> String {
        self.reserved("audit/head")
    }

    /// The number and hash of the last entry moved to an archive file.
    pub fn audit_anchor(&self) -> String {
        self.reserved("audit/anchor")
    }

    /// The prefix of every audit entry; entries sort by number.
    pub fn audit_log_prefix(&self) -> String {
        self.reserved("audit/log/")
    }

    /// Audit entry number `seq`.
    pub fn audit_entry(&self, seq: u64) -> String {
        format!("{}{seq:020}", self.audit_log_prefix())
    }

    /// The number of the audit entry stored under `key`, if it is one.
    pub fn audit_seq(&self, key: &str) -> Option<u64> {
        key.strip_prefix(&self.audit_log_prefix())?.parse().ok()
    }

    /// Present while user `name` has not yet dismissed the getting-started guide (set when an
    /// invitation creates the account).
    pub fn guide(&self, name: &str) -> String {
        self.reserved(&format!("guide/{name}"))
    }

    /// The settings record of a namespace: its schemas and rules (see
    /// [`crate::store::NamespaceSettings`]).
    pub fn settings(&self, namespace: &NamespaceName) -> String {
        format!("{}{namespace}", self.settings_prefix())
    }

    /// The prefix of every namespace's settings record.
    pub fn settings_prefix(&self) -> String {
        self.reserved("settings/")
    }

    /// Change request `id` (see [`crate::request`]): its record, without its changes.
    pub fn request(&self, id: u64) -> String {
        format!("{}{id:020}", self.requests_prefix())
    }

    /// The prefix of every change request's record; records sort by number.
    pub fn requests_prefix(&self) -> String {
        self.reserved("requests/")
    }

    /// The changes of request `id`, apart from its record.
    pub fn request_changes(&self, id: u64) -> String {
        self.reserved(&format!("request-changes/{id:020}"))
    }

    /// The number of the last change request made.
    pub fn request_seq(&self) -> String {
        self.reserved("request-seq")
    }

    /// The prefix of the history index of one configuration: one key per change to it.
    pub fn history_prefix(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
    ) -> String {
        self.reserved(&format!("history/{namespace}/{configuration}/"))
    }

    /// The history index key of change `seq` to `configuration`.
    pub fn history_entry(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        seq: u64,
    ) -> String {
        format!("{}{seq:020}", self.history_prefix(namespace, configuration))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ns(s: &str) -> NamespaceName {
        NamespaceName::new(s).unwrap()
    }
    fn cfg(s: &str) -> ConfigurationName {
        ConfigurationName::new(s).unwrap()
    }

    #[test]
    fn seed_layout() {
        let k = KeyLayout::default();
        assert_eq!(k.root(), "confo");
        assert_eq!(k.namespace(&ns("HR_dept")), "HR_dept");
        assert_eq!(
            k.configuration(&ns("HR_dept"), &cfg("database")),
            "HR_dept-database"
        );
        assert_eq!(k.reserved("audit/1"), "__confo/audit/1");
        let p = KeyLayout::with_prefix("team/");
        assert_eq!(p.root(), "team/confo");
        assert_eq!(p.configuration(&ns("a"), &cfg("b")), "team/a-b");
    }

    /// The original Confo's collision: namespace `a-b` + `c` versus `a` + `b-c`.
    #[test]
    fn seed_collision_is_impossible() {
        assert!(NamespaceName::new("a-b").is_err());
        let k = KeyLayout::default();
        assert_eq!(k.configuration(&ns("a"), &cfg("b-c")), "a-b-c");
    }

    #[test]
    fn ownership_of_keys_shared_with_legacy_names() {
        let k = KeyLayout::with_prefix("p/");
        let listed: Vec<String> = ["a-b", "x", "x-y-z"].map(String::from).to_vec();
        let owner = |namespace: &str, configuration: Option<&str>| KeyOwner {
            namespace: namespace.into(),
            configuration: configuration.map(String::from),
        };
        // (key, namespace asking, owners when ambiguous)
        let cases: &[(&str, &str, Option<Vec<KeyOwner>>)] = &[
            ("p/a-x", "a", None),
            (
                "p/a-b-c",
                "a",
                Some(vec![owner("a", Some("b-c")), owner("a-b", Some("c"))]),
            ),
            (
                "p/a-b",
                "a",
                Some(vec![owner("a", Some("b")), owner("a-b", None)]),
            ),
            ("p/a-bc", "a", None),
            ("p/a-b-c", "a-b", None),
            ("p/a-b", "a-b", None),
            ("p/x-y", "x", None),
            (
                "p/x-y-z-w",
                "x",
                Some(vec![owner("x", Some("y-z-w")), owner("x-y-z", Some("w"))]),
            ),
            (
                "p/x-y-z-w",
                "x-y",
                Some(vec![
                    owner("x", Some("y-z-w")),
                    owner("x-y", Some("z-w")),
                    owner("x-y-z", Some("w")),
                ]),
            ),
        ];
        for (key, namespace, ambiguous) in cases {
            let found = k.check_owner(key, namespace, &listed);
            match ambiguous {
                None => assert_eq!(found, Ok(()), "{key} for {namespace}"),
                Some(owners) => assert_eq!(
                    found,
                    Err(Error::AmbiguousKey {
                        key: (*key).into(),
                        owners: owners.clone()
                    }),
                    "{key} for {namespace}"
                ),
            }
        }
        assert!(k.owners("p/confo", ["confo"]).is_empty());
        assert!(k.owners("p/__confo/x", ["__confo/x"]).is_empty());
        assert!(k.owners("q/a-b", ["a"]).is_empty());

        let three = k.check_owner("p/x-y-z-w", "x-y", &listed).unwrap_err();
        assert_eq!(
            three.to_string(),
            "the key \"p/x-y-z-w\" belongs to namespace \"x\" (configuration \"y-z-w\"), to namespace \"x-y\" (configuration \"z-w\") and to namespace \"x-y-z\" (configuration \"w\"); Confo reads and writes none of them through it; rename one of them with the tool that created it"
        );
    }

    #[test]
    fn a_new_namespace_may_not_share_keys_with_a_listed_one() {
        let k = KeyLayout::default();
        let listed: Vec<String> = ["a-b", "c"].map(String::from).to_vec();
        assert_eq!(
            k.check_new_namespace("a", &listed),
            Err(Error::AmbiguousKey {
                key: "a-b".into(),
                owners: vec![
                    KeyOwner {
                        namespace: "a".into(),
                        configuration: Some("b".into())
                    },
                    KeyOwner {
                        namespace: "a-b".into(),
                        configuration: None
                    },
                ],
            })
        );
        assert!(k.check_new_namespace("c-d", &listed).is_err());
        for free in ["ab", "b", "a_b", "c", "d"] {
            assert_eq!(k.check_new_namespace(free, &listed), Ok(()), "{free}");
        }
    }

    /// Names drawn from a wide alphabet, so that invalid ones are tried too.
    fn any_name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_.\\-/é]{0,8}|confo|CONFO"
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Target {
        Root,
        Namespace(String),
        Configuration(String, String),
        Reserved,
    }

    fn key_of(t: &Target, k: &KeyLayout) -> Option<String> {
        match t {
            Target::Root => Some(k.root()),
            Target::Reserved => Some(k.reserved("x")),
            Target::Namespace(n) => NamespaceName::new(n.as_str()).ok().map(|n| k.namespace(&n)),
            Target::Configuration(n, c) => {
                let n = NamespaceName::new(n.as_str()).ok()?;
                let c = ConfigurationName::new(c.as_str()).ok()?;
                Some(k.configuration(&n, &c))
            }
        }
    }

    fn any_target() -> impl Strategy<Value = Target> {
        prop_oneof![
            Just(Target::Root),
            Just(Target::Reserved),
            any_name().prop_map(Target::Namespace),
            (any_name(), any_name()).prop_map(|(n, c)| Target::Configuration(n, c)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Two different valid targets never share a key, and no valid name reaches a
        /// reserved key (the reserved prefix is itself a target here).
        #[test]
        fn distinct_targets_have_distinct_keys(a in any_target(), b in any_target()) {
            for layout in [KeyLayout::default(), KeyLayout::with_prefix("p/")] {
                if let (Some(ka), Some(kb)) = (key_of(&a, &layout), key_of(&b, &layout)) {
                    if a != b {
                        prop_assert_ne!(&ka, &kb, "{:?} and {:?}", a, b);
                    }
                    if !matches!(a, Target::Reserved) {
                        prop_assert!(!ka.starts_with(&layout.reserved("")));
                    }
                }
            }
        }
    }
}
