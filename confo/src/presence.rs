//! Who has a configuration open right now, across every dashboard server on one store.
//!
//! Each open page holds one key under the reserved prefix ([`crate::KeyLayout::presence`]),
//! written once when the page opens and attached to a lease that a background task renews
//! ([`RENEW_EVERY`]); nothing is written per request. When the page goes, the key is released at
//! once; when its server dies, etcd drops the key as the lease runs out ([`LEASE`]). Watchers see
//! both as a [`crate::store::Target::Presence`] change. The embedded store has no leases and is
//! used by one process, which clears what a previous run left ([`clear`]).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::kv::Kv;

/// How long a page's key outlives its server.
pub const LEASE: Duration = Duration::from_secs(10);
/// How often a page's lease is renewed.
pub const RENEW_EVERY: Duration = Duration::from_secs(3);

/// One open page, as stored and as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Present {
    /// The page (random; never shown).
    #[serde(default)]
    pub page: String,
    /// The stored hash of the page's session: a person's own pages in one browser are not
    /// "someone else" (never shown).
    #[serde(default)]
    pub session: String,
    pub user: String,
    /// In the middle of a change: reviewing one, or with a field open for editing.
    pub editing: bool,
}

/// An open page's key, held until dropped.
pub struct Held {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Says that `who.user` has `namespace` / `configuration` open in page `who.page`, for as long
/// as the answer is held.
pub async fn enter(
    store: &crate::Store,
    namespace: &str,
    configuration: &str,
    who: &Present,
) -> Result<Held> {
    let kv: Arc<dyn Kv> = store.kv().clone();
    let key = store.layout().presence(namespace, configuration, &who.page);
    let value = serde_json::to_vec(who).expect("serializable");
    let mut lease = kv.put_leased(&key, value.clone(), LEASE).await?;
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut renew = tokio::time::interval(RENEW_EVERY);
        renew.tick().await;
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = renew.tick() => match kv.keep_alive(lease).await {
                    Ok(true) => {}
                    // Ran out (the store was away longer than the lease): say it again.
                    Ok(false) => match kv.put_leased(&key, value.clone(), LEASE).await {
                        Ok(new) => lease = new,
                        Err(error) => tracing::debug!(%error, "presence not renewed"),
                    },
                    Err(error) => tracing::debug!(%error, "presence not renewed"),
                },
            }
        }
        if let Err(error) = kv.release(lease, &key).await {
            // The lease runs out by itself.
            tracing::debug!(%error, "presence not released");
        }
    });
    Ok(Held { stop: Some(stop) })
}

/// The pages open on `namespace` / `configuration`, oldest first.
pub async fn present(
    store: &crate::Store,
    namespace: &str,
    configuration: &str,
) -> Result<Vec<Present>> {
    let prefix = store.layout().presence_of(namespace, configuration);
    let mut found: Vec<(i64, Present)> = store
        .kv()
        .list_prefix(&prefix)
        .await?
        .into_iter()
        .filter_map(|kv| {
            let present = serde_json::from_slice::<Present>(&kv.value).ok()?;
            Some((kv.mod_revision, present))
        })
        .collect();
    found.sort_by_key(|(revision, _)| *revision);
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// Removes every open page's key: for the embedded store at start, where no page can be open
/// yet and a previous run may have left some.
pub async fn clear(store: &crate::Store) -> Result<()> {
    let kv = store.kv();
    for key in kv.list_keys(&store.layout().presence_prefix()).await? {
        kv.txn(Vec::new(), vec![crate::kv::Op::Delete { key }])
            .await?;
    }
    Ok(())
}
