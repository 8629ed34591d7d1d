//! Opens the configured backend and prepares it for use.

use std::sync::Arc;

use anyhow::Context;
use confo::kv::Kv;
use confo::kv::embedded::EmbeddedKv;
use confo::kv::etcd::{EtcdConfig, EtcdKv};
use confo::{KeyLayout, NamespaceName, Store};

use crate::config::StoreArgs;

/// Connects to etcd (or opens the embedded store), makes sure the root key exists and lists the
/// namespaces asked for at start-up.
pub async fn open(args: &StoreArgs) -> anyhow::Result<Store> {
    let namespaces = args
        .namespaces
        .iter()
        .map(|name| {
            NamespaceName::new(name.trim())
                .with_context(|| format!("--namespaces: {name:?} is not a valid namespace name"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    let embedded = args.etcd_endpoints.is_empty();
    let kv: Arc<dyn Kv> = if embedded {
        let kv = EmbeddedKv::open(&args.data_dir).with_context(|| {
            format!(
                "cannot use the data directory {} (set --data-dir to a writable directory)",
                args.data_dir.display()
            )
        })?;
        tracing::info!(data_dir = %args.data_dir.display(), "using the embedded store");
        Arc::new(kv)
    } else {
        let config = EtcdConfig {
            endpoints: args.etcd_endpoints.clone(),
            timeout: args.etcd_timeout,
            credentials: args.etcd_user.clone().zip(args.etcd_password.clone()),
        };
        let kv = EtcdKv::connect(&config).await.with_context(|| {
            format!(
                "cannot reach etcd at {} (check --etcd-endpoints and that etcd is running)",
                args.etcd_endpoints.join(",")
            )
        })?;
        tracing::info!(endpoints = %args.etcd_endpoints.join(","), "using etcd");
        Arc::new(kv)
    };

    let store = Store::new(kv, KeyLayout::with_prefix(args.key_prefix.clone()));
    store
        .ensure_root()
        .await
        .context("cannot prepare the store")?;
    if embedded {
        // One process uses it: no page is open yet, whatever a previous run left.
        confo::presence::clear(&store)
            .await
            .context("cannot prepare the store")?;
    }
    store
        .register_namespaces(&namespaces)
        .await
        .context("cannot register the --namespaces")?;
    Ok(store)
}
