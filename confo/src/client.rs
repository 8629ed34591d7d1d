//! The original Confo's API for services, in Rust: load a backend, choose a namespace, read and
//! change configurations, persist. Every failure is an [`Error`]; nothing is printed.
//!
//! Reads come from a local copy of the chosen namespace, taken by [`Confo::use_namespace`] and
//! refreshed by [`Confo::reload`]. Changes are kept locally until [`Confo::persist`] writes each
//! changed configuration, compared on the revision it was read at, so a change someone else made
//! in between is reported as [`Error::Conflict`] and never overwritten. In a namespace whose
//! changes are reviewed, persisting opens a change request instead ([`Persisted::Requested`]).
//!
//! ```
//! use confo::client::{Backend, Confo, Persisted};
//! use confo::Actor;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Database {
//!     host: String,
//!     port: u16,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> confo::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let data_dir = dir.path().to_path_buf();
//! let mut confo = Confo::load(Backend::Embedded(data_dir), Actor::token("billing")).await?;
//! confo.create_namespace("HR_dept").await?;
//! confo.use_namespace("HR_dept").await?;
//!
//! confo.set("database", "host", "127.0.0.1")?;
//! confo.set("database", "port", 5432)?;
//! assert_eq!(confo.persist().await?, Persisted::Written);
//!
//! let database: Database = confo.get_as("database")?;
//! assert_eq!((database.host.as_str(), database.port), ("127.0.0.1", 5432));
//! assert_eq!(confo.get_field("database", "port")?, &serde_json::json!(5432));
//! assert_eq!(confo.count(), 1);
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::audit::Actor;
use crate::edit::Edit;
use crate::error::{Error, Result};
use crate::keys::KeyLayout;
use crate::kv::embedded::EmbeddedKv;
use crate::kv::etcd::{EtcdConfig, EtcdKv};
use crate::names::{ConfigurationName, NamespaceName, configuration_name, namespace_name};
use crate::request::Proposed;
use crate::store::{Change, NewRequest, Store};

/// What [`Confo::persist`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "in a reviewed namespace, persisting opens a change request instead of writing"]
pub enum Persisted {
    /// Every changed configuration was written (or nothing had changed).
    Written,
    /// The namespace's changes are reviewed: nothing was written; the changes wait in change
    /// request `id`, shown by the dashboard at `address` (a path under its address, such as
    /// `/requests/7`), until someone approves and publishes it.
    Requested { id: u64, address: String },
}

/// The original Confo's etcd credentials: `host`, `port`, optional `user` and `password`, and
/// `namespaces` to register when loading.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Credentials {
    pub host: String,
    pub port: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
}

/// Where configuration is kept.
#[derive(Debug, Clone)]
pub enum Backend {
    /// An etcd cluster, given as the original Confo's credentials.
    Etcd(Credentials),
    /// An etcd cluster with several members and a request time-out.
    EtcdCluster(EtcdConfig),
    /// The embedded store in this directory.
    Embedded(PathBuf),
}

/// A configuration as read, with the revision it was read at (`None`: not stored yet).
#[derive(Debug, Clone)]
struct Cached {
    fields: Map<String, Value>,
    revision: Option<i64>,
}

/// A service's handle on its configuration.
pub struct Confo {
    store: Store,
    actor: Actor,
    namespace: Option<NamespaceName>,
    configurations: BTreeMap<String, Cached>,
    /// Configurations of the namespace in use whose key another listed namespace may own too
    /// (see [`crate::keys`]): reading or setting them answers this error, while the others work.
    refused: BTreeMap<String, Error>,
    changed: BTreeSet<String>,
}

fn usage(message: impl Into<String>) -> Error {
    Error::InvalidValue(message.into())
}

impl Confo {
    /// Connects to `backend`, creates the root key if it is missing and registers the
    /// credentials' namespaces. Changes are recorded in the audit log as made by `actor`.
    pub async fn load(backend: Backend, actor: Actor) -> Result<Self> {
        let (store, namespaces) = match backend {
            Backend::Embedded(dir) => {
                let kv = EmbeddedKv::open(&dir)?;
                (Store::new(Arc::new(kv), KeyLayout::default()), Vec::new())
            }
            Backend::Etcd(credentials) => {
                let config = EtcdConfig {
                    endpoints: vec![format!("{}:{}", credentials.host, credentials.port)],
                    timeout: Duration::from_secs(5),
                    credentials: credentials.user.clone().zip(credentials.password.clone()),
                };
                let kv = EtcdKv::connect(&config).await?;
                (
                    Store::new(Arc::new(kv), KeyLayout::default()),
                    credentials.namespaces,
                )
            }
            Backend::EtcdCluster(config) => {
                let kv = EtcdKv::connect(&config).await?;
                (Store::new(Arc::new(kv), KeyLayout::default()), Vec::new())
            }
        };
        store.ensure_root().await?;
        let namespaces = namespaces
            .iter()
            .map(|name| namespace_name(name))
            .collect::<Result<Vec<_>>>()?;
        store.register_namespaces(&namespaces).await?;
        Ok(Self::from_store(store, actor))
    }

    /// A handle on an already opened store.
    pub fn from_store(store: Store, actor: Actor) -> Self {
        Self {
            store,
            actor,
            namespace: None,
            configurations: BTreeMap::new(),
            refused: BTreeMap::new(),
            changed: BTreeSet::new(),
        }
    }

    /// Every namespace, and the one in use.
    pub async fn namespaces(&self) -> Result<(Vec<String>, Option<String>)> {
        let all = self.store.list_namespaces().await?;
        Ok((all, self.namespace.as_ref().map(ToString::to_string)))
    }

    /// Creates a namespace.
    pub async fn create_namespace(&self, name: &str) -> Result<()> {
        let namespace = namespace_name(name)?;
        self.store
            .create_namespace(&namespace, &Change::by(self.actor.clone()))
            .await
            .map(|_| ())
    }

    /// Reads every configuration of `name` and makes it the namespace in use. Refused while
    /// changes to the current namespace are not persisted (the original Confo lost them).
    pub async fn use_namespace(&mut self, name: &str) -> Result<()> {
        self.refuse_unsaved("switching namespace")?;
        let namespace = namespace_name(name)?;
        if !self.store.namespace_exists(&namespace).await? {
            return Err(Error::NotFound(format!("namespace {name:?}")));
        }
        (self.configurations, self.refused) = self.read_all(&namespace).await?;
        self.namespace = Some(namespace);
        Ok(())
    }

    /// Reads the namespace in use again. Refused while changes are not persisted.
    pub async fn reload(&mut self) -> Result<()> {
        self.refuse_unsaved("reloading")?;
        let namespace = self.current()?.clone();
        (self.configurations, self.refused) = self.read_all(&namespace).await?;
        Ok(())
    }

    /// Drops the changes not persisted yet, keeping what was last read.
    pub async fn discard_changes(&mut self) -> Result<()> {
        self.changed.clear();
        self.reload().await
    }

    /// How many configurations the namespace in use holds (with new ones not yet persisted).
    pub fn count(&self) -> usize {
        self.configurations.len()
    }

    /// The names of the configurations in the namespace in use.
    pub fn configurations(&self) -> Vec<&str> {
        self.configurations.keys().map(String::as_str).collect()
    }

    /// All fields of a configuration.
    pub fn get(&self, configuration: &str) -> Result<&Map<String, Value>> {
        self.cached(configuration).map(|c| &c.fields)
    }

    /// One field of a configuration.
    pub fn get_field(&self, configuration: &str, field: &str) -> Result<&Value> {
        self.get(configuration)?.get(field).ok_or_else(|| {
            Error::NotFound(format!(
                "field {field:?} of configuration {configuration:?}"
            ))
        })
    }

    /// A configuration deserialised into `T`.
    pub fn get_as<T: DeserializeOwned>(&self, configuration: &str) -> Result<T> {
        let fields = self.get(configuration)?;
        serde_json::from_value(Value::Object(fields.clone())).map_err(|e| {
            Error::InvalidValue(format!(
                "configuration {configuration:?} does not have the expected shape: {e}"
            ))
        })
    }

    /// Sets one field (creating the configuration if it does not exist). Kept locally until
    /// [`Confo::persist`].
    pub fn set(&mut self, configuration: &str, field: &str, value: impl Serialize) -> Result<()> {
        crate::store::check_field_name(field)?;
        let value = serde_json::to_value(value).map_err(|e| {
            Error::InvalidValue(format!(
                "the value of {field:?} cannot be stored as JSON: {e}"
            ))
        })?;
        let entry = self.entry(configuration)?;
        entry.fields.insert(field.to_owned(), value);
        Ok(())
    }

    /// Replaces every field of a configuration (creating it if it does not exist).
    pub fn set_all(&mut self, configuration: &str, fields: Map<String, Value>) -> Result<()> {
        for name in fields.keys() {
            crate::store::check_field_name(name)?;
        }
        self.entry(configuration)?.fields = fields;
        Ok(())
    }

    /// Writes every changed configuration of the namespace in use, each compared on the
    /// revision it was read at. Stops at the first failure; what was written before it stays
    /// written, and the failed one keeps its local changes.
    ///
    /// In a namespace whose changes are reviewed, nothing is written: the changes are sent for
    /// review in one change request, authored by this client's actor, and the answer is
    /// [`Persisted::Requested`]. The local copy is then read again (it shows what is stored;
    /// the changes live in the request until someone publishes it).
    pub async fn persist(&mut self) -> Result<Persisted> {
        self.persist_with_comment("").await
    }

    /// [`Confo::persist`], recording `comment` with each change (a namespace may ask for one
    /// with every change: [`Error::CommentRequired`]). In a reviewed namespace the comment is
    /// the request's title.
    pub async fn persist_with_comment(&mut self, comment: &str) -> Result<Persisted> {
        let namespace = self.current()?.clone();
        let change = Change::by(self.actor.clone()).with_comment(comment);
        for name in self.changed.clone() {
            let configuration = configuration_name(&name)?;
            let cached = self
                .configurations
                .get(&name)
                .cloned()
                .expect("changed ones are cached");
            let written = match cached.revision {
                Some(revision) => {
                    self.store
                        .replace_configuration(
                            &namespace,
                            &configuration,
                            cached.fields,
                            Some(revision),
                            &change,
                        )
                        .await
                }
                None => {
                    self.store
                        .create_configuration(&namespace, &configuration, cached.fields, &change)
                        .await
                }
            };
            let written = match written {
                Err(Error::ReviewRequired(_)) => return self.request(&namespace, comment).await,
                other => other?,
            };
            if let Some(entry) = self.configurations.get_mut(&name) {
                entry.revision = Some(written.revision);
            }
            self.changed.remove(&name);
        }
        Ok(Persisted::Written)
    }

    /// Sends every unsaved change for review in one change request.
    async fn request(&mut self, namespace: &NamespaceName, comment: &str) -> Result<Persisted> {
        let mut changes = Vec::new();
        for name in &self.changed {
            let cached = &self.configurations[name];
            let proposed = match cached.revision {
                Some(_) => Proposed::Edits(vec![Edit::Replace {
                    fields: cached.fields.clone(),
                }]),
                None => Proposed::Create(cached.fields.clone()),
            };
            changes.push((
                configuration_name(name)?,
                proposed,
                Some(cached.revision.unwrap_or(0)),
            ));
        }
        let (title, description) =
            crate::request::title_of(comment, format!("changes from {}", self.actor.name));
        let new = NewRequest {
            title,
            description,
            changes,
            schemas: Vec::new(),
            settings_revision: None,
            draft: false,
        };
        let change = Change::by(self.actor.clone());
        let opened = self.store.open_request(namespace, new, &change).await?;
        self.changed.clear();
        self.reload().await?;
        let id = opened.request.id;
        Ok(Persisted::Requested {
            id,
            address: crate::request::address(id),
        })
    }

    fn current(&self) -> Result<&NamespaceName> {
        self.namespace
            .as_ref()
            .ok_or_else(|| usage("no namespace is in use; call use_namespace first"))
    }

    fn refuse_unsaved(&self, doing: &str) -> Result<()> {
        if self.changed.is_empty() {
            return Ok(());
        }
        Err(usage(format!(
            "{doing} would lose the changes to {:?}; persist or discard them first",
            self.changed
        )))
    }

    fn cached(&self, configuration: &str) -> Result<&Cached> {
        let namespace = self.current()?;
        if let Some(error) = self.refused.get(configuration) {
            return Err(error.clone());
        }
        self.configurations.get(configuration).ok_or_else(|| {
            Error::NotFound(format!(
                "configuration {configuration:?} in namespace {namespace:?}"
            ))
        })
    }

    fn entry(&mut self, configuration: &str) -> Result<&mut Cached> {
        self.current()?;
        configuration_name(configuration)?;
        if let Some(error) = self.refused.get(configuration) {
            return Err(error.clone());
        }
        self.changed.insert(configuration.to_owned());
        Ok(self
            .configurations
            .entry(configuration.to_owned())
            .or_insert_with(|| Cached {
                fields: Map::new(),
                revision: None,
            }))
    }

    /// Every readable configuration of `namespace`, and those refused because another listed
    /// namespace may own their key too.
    async fn read_all(
        &self,
        namespace: &NamespaceName,
    ) -> Result<(BTreeMap<String, Cached>, BTreeMap<String, Error>)> {
        let listing = self.store.list_configurations(namespace).await?;
        let mut configurations = BTreeMap::new();
        let mut refused = BTreeMap::new();
        for name in listing.registered.iter().chain(&listing.unregistered) {
            let Ok(configuration) = ConfigurationName::new(name.as_str()) else {
                continue;
            };
            match self
                .store
                .get_configuration(namespace, &configuration)
                .await
            {
                Ok(read) => {
                    configurations.insert(
                        name.clone(),
                        Cached {
                            fields: read.fields,
                            revision: Some(read.revision),
                        },
                    );
                }
                // Listed but never written: the original Confo can leave such names behind.
                Err(Error::NotFound(_)) => {}
                Err(error @ Error::AmbiguousKey { .. }) => {
                    refused.insert(name.clone(), error);
                }
                Err(error) => return Err(error),
            }
        }
        Ok((configurations, refused))
    }
}
