//! Creates namespace NAMESPACE with COUNT empty configurations (`c00000`, `c00001`, ...) through
//! the store, as the dashboard would. Used by `scripts/bench.sh` to time the namespace page.
//!
//! `namespace_fill ETCD_ENDPOINTS KEY_PREFIX NAMESPACE COUNT`

use std::sync::Arc;
use std::time::Duration;

use confo::kv::etcd::{EtcdConfig, EtcdKv};
use confo::{Actor, Change, ConfigurationName, NamespaceName};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoints, prefix, namespace, count] = &args[..] else {
        anyhow::bail!("usage: namespace_fill ETCD_ENDPOINTS KEY_PREFIX NAMESPACE COUNT");
    };
    let kv = EtcdKv::connect(&EtcdConfig {
        endpoints: endpoints.split(',').map(str::to_owned).collect(),
        timeout: Duration::from_secs(10),
        credentials: None,
    })
    .await?;
    let store = confo::Store::new(Arc::new(kv), confo::KeyLayout::with_prefix(prefix.clone()));
    store.ensure_root().await?;
    let namespace = NamespaceName::new(namespace.as_str())?;
    let change = Change::by(Actor::system()).with_comment("bench");
    store.create_namespace(&namespace, &change).await?;
    let count: usize = count.parse()?;
    // 64 creators at once: the store's group commit batches them.
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..64 {
        let (store, namespace, change) = (store.clone(), namespace.clone(), change.clone());
        tasks.spawn(async move {
            for i in (worker..count).step_by(64) {
                let name = ConfigurationName::new(format!("c{i:05}").as_str()).expect("valid");
                let fields = serde_json::json!({"enabled": true, "limit": i, "owner": "bench"});
                let fields = fields.as_object().cloned().unwrap_or_default();
                store
                    .create_configuration(&namespace, &name, fields, &change)
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}
