//! A stream of changes to namespaces and configurations, for live pages and services, and to
//! the accounts and sessions under the reserved prefix, so that whoever serves a signed-in user
//! for long hears at once when that user's access changes.

use std::time::Duration;

use tokio::sync::mpsc;

use super::Store;
use crate::audit::{Actor, AuditEntry};
use crate::kv::{KeyValue, WatchEnd};
use crate::names::ROOT_NAME;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// The list of namespaces.
    Namespaces,
    /// A namespace's list of configurations.
    Namespace(String),
    /// A configuration's fields.
    Configuration {
        namespace: String,
        configuration: String,
    },
    /// The profile of the user with this name (written or removed): their role, grants or
    /// disabled flag may have changed.
    User(String),
    /// A dashboard session's record (written or removed), named by the last part of its key
    /// (see [`crate::KeyLayout::session`]).
    Session(String),
    /// Who has a configuration open (see [`crate::presence`]): a page opened or closed.
    Presence {
        namespace: String,
        configuration: String,
    },
    /// A namespace's settings (see [`crate::store::NamespaceSettings`]): its schemas or rules.
    Settings(String),
    /// A change request of `namespace` (see [`crate::request`]): opened, changed, approved,
    /// published, closed.
    Request { namespace: String, id: u64 },
}

/// One item of [`Store::watch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// What one revision changed, and who changed it (`None` when it was written by another
    /// tool, such as `etcdctl` or the original Confo).
    Changed {
        revision: i64,
        targets: Vec<Target>,
        actor: Option<Actor>,
    },
    /// Changes may have been missed (etcd compacted its history, or the watcher fell behind):
    /// re-read whatever is shown. Watching goes on from `revision`.
    Resync { revision: i64 },
}

impl Store {
    /// Streams every change made after this call returns, in revision order, none twice. A
    /// broken connection is re-established from the next revision; when revisions were lost
    /// meanwhile, a [`WatchEvent::Resync`] says so. The stream ends when the receiver is dropped.
    pub async fn watch(&self) -> crate::Result<mpsc::Receiver<WatchEvent>> {
        let current = self.kv.revision().await?;
        Ok(self.watch_from(current + 1))
    }

    /// Like [`Store::watch`], from `revision` on (for a watcher that resumes where it stopped).
    pub fn watch_from(&self, revision: i64) -> mpsc::Receiver<WatchEvent> {
        let (sender, receiver) = mpsc::channel(256);
        let store = self.clone();
        tokio::spawn(async move { store.watch_loop(sender, revision).await });
        receiver
    }

    async fn watch_loop(&self, sender: mpsc::Sender<WatchEvent>, from: i64) {
        let prefix = self.layout.root().trim_end_matches(ROOT_NAME).to_owned();
        let mut next = Some(from);
        let mut failures: u32 = 0;
        loop {
            let from = match next {
                Some(from) => from,
                None => match self.kv.revision().await {
                    Ok(current) => current + 1,
                    Err(_) => {
                        failures += 1;
                        pause(failures).await;
                        continue;
                    }
                },
            };
            let mut changes = match self.kv.watch(&prefix, from).await {
                Ok(changes) => changes,
                Err(error) => {
                    tracing::warn!(%error, "cannot watch the store; trying again");
                    failures += 1;
                    pause(failures).await;
                    if sender.is_closed() {
                        return;
                    }
                    next = Some(from);
                    continue;
                }
            };
            next = Some(from);
            // The listed namespaces, to tell which namespace a changed key belongs to; kept up
            // to date from the changes to the root key that come through this same watch.
            let mut listed = self.list_namespaces().await.unwrap_or_default();
            while let Some(item) = changes.recv().await {
                match item {
                    Ok(change) => {
                        failures = 0;
                        if next.is_some_and(|n| change.revision < n) {
                            continue;
                        }
                        next = Some(change.revision + 1);
                        let event = self.describe(change, &mut listed);
                        if let Some(event) = event
                            && sender.send(event).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(WatchEnd::Compacted) => {
                        let revision = self.kv.revision().await.unwrap_or(from);
                        next = Some(revision + 1);
                        if sender.send(WatchEvent::Resync { revision }).await.is_err() {
                            return;
                        }
                        break;
                    }
                    Err(WatchEnd::Disconnected(reason)) => {
                        tracing::warn!(%reason, "the store's watch broke; watching again");
                        failures += 1;
                        pause(failures).await;
                        break;
                    }
                }
            }
            if sender.is_closed() {
                return;
            }
        }
    }

    /// The namespaces, configurations, user profiles and sessions a revision touched, and its
    /// author. A configuration key is named after the listed namespaces that own it (see
    /// [`crate::KeyLayout::owners`]), so that a key of a namespace whose name has a dash (written
    /// by other tools) is never announced as another namespace's; `listed` follows the root key.
    fn describe(
        &self,
        change: crate::kv::KvChange,
        listed: &mut Vec<String>,
    ) -> Option<WatchEvent> {
        let root = self.layout.root();
        let prefix = root.trim_end_matches(ROOT_NAME);
        let audit_prefix = self.layout.audit_log_prefix();
        let reserved = self.layout.reserved("");
        let users = self.layout.users_prefix();
        let sessions = self.layout.sessions_prefix();
        let requests = self.layout.requests_prefix();
        let settings = self.layout.settings_prefix();
        let mut targets: Vec<Target> = Vec::new();
        let mut actor = None;
        if let Some((_, value)) = change.changes.iter().find(|(key, _)| *key == root) {
            let read = value.as_ref().map(|value| KeyValue {
                key: root.clone(),
                value: value.clone(),
                mod_revision: change.revision,
            });
            if let Ok(index) = super::Index::parse(read.as_ref(), super::namespaces::NAMESPACES) {
                *listed = index.names();
            }
        }
        for (key, value) in &change.changes {
            if key.starts_with(&audit_prefix) {
                if let Some(entry) = value
                    .as_ref()
                    .and_then(|v| serde_json::from_slice::<AuditEntry>(v).ok())
                {
                    actor = Some(entry.actor);
                }
                continue;
            }
            let owners = self.layout.owners(key, listed.iter().map(String::as_str));
            if !owners.is_empty() {
                for owner in owners {
                    let target = match owner.configuration {
                        Some(configuration) => Target::Configuration {
                            namespace: owner.namespace,
                            configuration,
                        },
                        None => Target::Namespace(owner.namespace),
                    };
                    if !targets.contains(&target) {
                        targets.push(target);
                    }
                }
                continue;
            }
            let target = if key.starts_with(&reserved) {
                if let Some(name) = key.strip_prefix(&users) {
                    Target::User(name.to_owned())
                } else if let Some(stored) = key.strip_prefix(&sessions) {
                    Target::Session(stored.to_owned())
                } else if let Some(namespace) = key.strip_prefix(&settings) {
                    Target::Settings(namespace.to_owned())
                } else if let Some((namespace, configuration)) = self.layout.presence_place(key) {
                    Target::Presence {
                        namespace,
                        configuration,
                    }
                } else if key.starts_with(&requests) {
                    // Its namespace is in the record (requests are never removed): only that
                    // is read, not the whole record with its discussion.
                    #[derive(serde::Deserialize)]
                    struct Owner {
                        namespace: String,
                        id: u64,
                    }
                    let Some(request) = value
                        .as_ref()
                        .and_then(|v| serde_json::from_slice::<Owner>(v).ok())
                    else {
                        continue;
                    };
                    Target::Request {
                        namespace: request.namespace,
                        id: request.id,
                    }
                } else {
                    continue;
                }
            } else if let Some(name) = key.strip_prefix(prefix) {
                if *key == root {
                    Target::Namespaces
                } else {
                    match name.split_once('-') {
                        Some((namespace, configuration)) => Target::Configuration {
                            namespace: namespace.to_owned(),
                            configuration: configuration.to_owned(),
                        },
                        None => Target::Namespace(name.to_owned()),
                    }
                }
            } else {
                continue;
            };
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        (!targets.is_empty()).then_some(WatchEvent::Changed {
            revision: change.revision,
            targets,
            actor,
        })
    }
}

async fn pause(failures: u32) {
    let millis = (50u64 << failures.min(5)).min(1000);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}
