//! The rules for namespace and configuration names.
//!
//! The original Confo stores configuration `c` of namespace `n` under the key `n-c`, and its list
//! of namespaces under the key `confo`. Without rules, `a-b`+`c` and `a`+`b-c` share a key and a
//! namespace named `confo` overwrites the root. These rules make every key unique:
//!
//! - both names are 1 to [`MAX_NAME_LEN`] characters long;
//! - both use only ASCII letters, digits, `_` and `.`, and start with a letter or digit;
//! - a configuration name may also contain `-`; a namespace name may not, so the key
//!   `<namespace>-<configuration>` splits at its first `-` in exactly one way;
//! - a namespace may not be called `confo` (in any letter case): that is the root key.
//!
//! No valid name contains `/`, which is what keeps the reserved prefix (see [`crate::keys`]) free.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest name allowed, in characters.
pub const MAX_NAME_LEN: usize = 64;

/// The name the root key uses; no namespace may take it.
pub const ROOT_NAME: &str = "confo";

/// Which rule a rejected name broke, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty; give it at least one character")]
    Empty,
    #[error("the name is {0} characters long; the limit is {MAX_NAME_LEN}")]
    TooLong(usize),
    #[error("the name must start with a letter or a digit, not {0:?}")]
    BadStart(char),
    #[error(
        "the name contains {0:?}; use only letters a-z and A-Z, digits, '_' and '.'{extra}",
        extra = if *.1 { " and '-'" } else { "" }
    )]
    BadCharacter(char, bool),
    #[error(
        "a namespace cannot be called {0:?}: Confo keeps its list of namespaces under that key"
    )]
    Reserved(String),
}

fn check(name: &str, allow_dash: bool) -> Result<(), NameError> {
    let mut chars = name.chars();
    let first = chars.next().ok_or(NameError::Empty)?;
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(NameError::TooLong(len));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(NameError::BadStart(first));
    }
    for c in chars {
        let ok = c.is_ascii_alphanumeric() || c == '_' || c == '.' || (allow_dash && c == '-');
        if !ok {
            return Err(NameError::BadCharacter(c, allow_dash));
        }
    }
    Ok(())
}

/// A valid namespace name (see the module documentation for the rules).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NamespaceName(String);

impl NamespaceName {
    /// Checks `name` against the namespace rules.
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        check(&name, false)?;
        if name.eq_ignore_ascii_case(ROOT_NAME) {
            return Err(NameError::Reserved(name));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid configuration name (see the module documentation for the rules).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ConfigurationName(String);

impl ConfigurationName {
    /// Checks `name` against the configuration rules.
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        check(&name, true)?;
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! name_traits {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Quoted like a string, so that messages read `configuration "svc"`.
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $ty::new(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_traits!(NamespaceName);
name_traits!(ConfigurationName);

/// `name` as a namespace name, or why it is none, as the store's error (for names read back
/// from records and asked for by callers).
pub(crate) fn namespace_name(name: &str) -> crate::Result<NamespaceName> {
    NamespaceName::new(name).map_err(|reason| crate::Error::InvalidName {
        kind: "namespace",
        name: name.to_owned(),
        reason,
    })
}

/// `name` as a configuration name, or why it is none, as the store's error.
pub(crate) fn configuration_name(name: &str) -> crate::Result<ConfigurationName> {
    ConfigurationName::new(name).map_err(|reason| crate::Error::InvalidName {
        kind: "configuration",
        name: name.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_rules() {
        let cases: &[(&str, Option<NameError>)] = &[
            ("HR_dept", None),
            ("a", None),
            ("v1.2", None),
            ("9lives", None),
            ("", Some(NameError::Empty)),
            ("a-b", Some(NameError::BadCharacter('-', false))),
            ("_x", Some(NameError::BadStart('_'))),
            (".hidden", Some(NameError::BadStart('.'))),
            ("a/b", Some(NameError::BadCharacter('/', false))),
            ("a b", Some(NameError::BadCharacter(' ', false))),
            ("café", Some(NameError::BadCharacter('é', false))),
            ("confo", Some(NameError::Reserved("confo".into()))),
            ("CONFO", Some(NameError::Reserved("CONFO".into()))),
        ];
        for (name, expected) in cases {
            assert_eq!(
                NamespaceName::new(*name).err(),
                *expected,
                "namespace {name:?}"
            );
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        assert_eq!(
            NamespaceName::new(long).err(),
            Some(NameError::TooLong(MAX_NAME_LEN + 1))
        );
        assert!(NamespaceName::new("a".repeat(MAX_NAME_LEN)).is_ok());
    }

    #[test]
    fn configuration_rules() {
        assert!(ConfigurationName::new("b-c").is_ok());
        assert!(ConfigurationName::new("confo").is_ok());
        assert_eq!(
            ConfigurationName::new("-x").err(),
            Some(NameError::BadStart('-'))
        );
        assert_eq!(
            ConfigurationName::new("a/b").err(),
            Some(NameError::BadCharacter('/', true))
        );
    }

    #[test]
    fn errors_name_the_rule() {
        let msg = NamespaceName::new("a-b").unwrap_err().to_string();
        assert!(msg.contains("'-'") && msg.contains("letters"), "{msg}");
        let msg = ConfigurationName::new("a b").unwrap_err().to_string();
        assert!(msg.contains("and '-'"), "{msg}");
    }

    #[test]
    fn deserialising_checks_the_rules() {
        assert!(serde_json::from_str::<NamespaceName>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<NamespaceName>("\"confo\"").is_err());
    }
}
