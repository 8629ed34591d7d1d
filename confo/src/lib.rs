//! Confo's domain and storage, with no web framework attached.
//!
//! Configuration lives in namespaces, each holding configurations, each a JSON object of fields.
//! The layout in the key-value store is the original Confo's (see [`keys`]); the backends are
//! etcd ([`kv::etcd`]) and an embedded database on local disk ([`kv::embedded`]), both behind
//! the [`kv::Kv`] trait so that every operation in [`store`] runs unchanged on either.

pub mod audit;
pub mod client;
pub mod edit;
pub mod error;
pub mod export;
pub mod import;
pub mod keys;
pub mod kv;
pub mod names;
pub mod nested;
pub mod presence;
pub mod request;
pub mod schema;
pub mod search;
pub mod store;
pub mod users;

pub use audit::{Action, Actor, AuditEntry, AuditQuery};
pub use error::{Error, Result};
pub use keys::KeyLayout;
pub use names::{ConfigurationName, NamespaceName};
pub use store::{Change, Configuration, ConfigurationListing, Store, Written};
