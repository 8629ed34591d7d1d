//! Live updates: one watch on the store per server, fanned out to every open page that asks,
//! as a stream of lines over one long response.
//!
//! Lines: `ready` once connected, `changed <who>` when what the page shows changed (`<who>` is
//! a user name, or `another tool` for writes made outside Confo), `resync` when changes may have
//! been missed (re-read everything), and `ping` every 15 seconds so that either side notices a
//! dead connection.

use leptos::prelude::*;
use leptos::server_fn::codec::{StreamingText, TextStream};

use crate::error::AppError;

#[cfg(feature = "ssr")]
pub mod ssr {
    use confo::store::{Target, WatchEvent};
    use tokio::sync::broadcast;

    /// The server's one watch on the store, shared by every live page.
    #[derive(Clone)]
    pub struct Hub {
        sender: broadcast::Sender<WatchEvent>,
    }

    impl Hub {
        /// Starts watching `store`; the watch re-connects by itself and lives as long as the
        /// server.
        pub fn start(store: confo::Store) -> Self {
            let (sender, _) = broadcast::channel(1024);
            let hub = Self {
                sender: sender.clone(),
            };
            tokio::spawn(async move {
                let mut events = store.watch_from(store.kv().revision().await.unwrap_or(0) + 1);
                while let Some(event) = events.recv().await {
                    // Nobody listening is fine.
                    let _ = sender.send(event);
                }
            });
            hub
        }

        pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
            self.sender.subscribe()
        }
    }

    /// Set once the server is shutting down: every live stream then ends, so that the requests
    /// under way can finish.
    static CLOSING: std::sync::LazyLock<tokio::sync::watch::Sender<bool>> =
        std::sync::LazyLock::new(|| tokio::sync::watch::channel(false).0);

    /// Ends every live stream of this process (at shutdown); pages reconnect to another server.
    pub fn end_all() {
        CLOSING.send_replace(true);
    }

    pub fn closing() -> tokio::sync::watch::Receiver<bool> {
        CLOSING.subscribe()
    }

    /// Whether a change to `target` shows on the page for `namespace` (empty: the overview)
    /// and `configuration` (empty: the whole namespace), for a user with `grants`.
    pub fn shows(
        target: &Target,
        namespace: &str,
        configuration: &str,
        grants: &confo::users::Grants,
    ) -> bool {
        match target {
            Target::Namespaces => namespace.is_empty(),
            Target::Namespace(ns) => {
                grants.covers(ns)
                    && configuration.is_empty()
                    && (namespace.is_empty() || ns == namespace)
            }
            Target::Configuration {
                namespace: ns,
                configuration: cfg,
            } => {
                grants.covers(ns)
                    && (namespace.is_empty()
                        || (ns == namespace && (configuration.is_empty() || cfg == configuration)))
            }
        }
    }
}

/// Streams what changes on the page for `namespace` and `configuration` (both empty: the
/// namespaces overview). The caller must be able to read the namespace.
#[server(endpoint = "live", input = leptos::server_fn::codec::GetUrl, output = StreamingText)]
pub async fn live_updates(
    namespace: String,
    configuration: String,
) -> Result<TextStream<AppError>, AppError> {
    use super::ssr::{reject, require, require_user};
    use confo::store::WatchEvent;
    use tokio::sync::broadcast::error::RecvError;
    let user = if namespace.is_empty() {
        require_user().await?
    } else {
        require(confo::users::Role::Viewer, Some(&namespace)).await?
    };
    let hub = use_context::<ssr::Hub>().ok_or_else(|| reject(AppError::Internal))?;
    let receiver = hub.subscribe();
    let heartbeat = tokio::time::interval(std::time::Duration::from_secs(15));
    let state = (receiver, heartbeat, true, ssr::closing());
    let stream = futures::stream::unfold(
        state,
        move |(mut receiver, mut heartbeat, first, mut closing)| {
            let (namespace, configuration, grants) = (
                namespace.clone(),
                configuration.clone(),
                user.grants.clone(),
            );
            async move {
                if first {
                    heartbeat.reset();
                    return Some((
                        Ok("ready\n".to_owned()),
                        (receiver, heartbeat, false, closing),
                    ));
                }
                loop {
                    let line = tokio::select! {
                        _ = closing.changed() => return None,
                        _ = heartbeat.tick() => "ping\n".to_owned(),
                        event = receiver.recv() => match event {
                            Ok(WatchEvent::Changed { targets, actor, .. }) => {
                                if !targets
                                    .iter()
                                    .any(|t| ssr::shows(t, &namespace, &configuration, &grants))
                                {
                                    continue;
                                }
                                let who = actor.map_or_else(|| "another tool".to_owned(), |a| a.name);
                                format!("changed {who}\n")
                            }
                            Ok(WatchEvent::Resync { .. }) | Err(RecvError::Lagged(_)) => "resync\n".to_owned(),
                            Err(RecvError::Closed) => return None,
                        },
                    };
                    return Some((Ok(line), (receiver, heartbeat, false, closing)));
                }
            }
        },
    );
    Ok(TextStream::new(stream))
}
