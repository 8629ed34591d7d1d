//! Watching from a revision the store no longer keeps, on every backend. A binary of its own:
//! etcd's compaction is cluster-wide and would disturb the watches of concurrent tests.

mod common;

use common::{Backend, cfg, change, create_empty, next_event, ns, with_namespace};
use confo::store::{Target, WatchEvent};

contract!(watch_from_a_forgotten_revision_resyncs_then_goes_on);

async fn watch_from_a_forgotten_revision_resyncs_then_goes_on(b: Backend) {
    let store = with_namespace(&b, "n").await;
    let old = b.kv.revision().await.unwrap();
    create_empty(&store, "n", "c", 3).await;
    let now = b.kv.revision().await.unwrap();
    b.kv.compact(now).await.unwrap();
    let mut events = store.watch_from(old);
    match next_event(&mut events).await {
        WatchEvent::Resync { revision } => assert!(revision >= now, "{revision} < {now}"),
        other => panic!("expected a resync, got {other:?}"),
    }
    store
        .create_configuration(&ns("n"), &cfg("after"), Default::default(), &change())
        .await
        .unwrap();
    match next_event(&mut events).await {
        WatchEvent::Changed { targets, .. } => assert!(targets.contains(&Target::Configuration {
            namespace: "n".into(),
            configuration: "after".into()
        })),
        other => panic!("expected the new change, got {other:?}"),
    }
}
