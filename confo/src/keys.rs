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

use crate::names::{ConfigurationName, NamespaceName, ROOT_NAME};

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
