//! The search index on every backend (see `confo::search`): built from the store, kept current
//! by its watch (a write by another tool included), secret values never indexed, and keys
//! another namespace may own never shown under the wrong one.

mod common;

use std::time::Duration;

use common::{Backend, cfg, change, ns, object, with_namespace};
use confo::search::{Query, Results, Scope, SearchIndex};
use confo::store::{SchemaChoice, SettingsChange};
use serde_json::json;
use tokio::sync::broadcast;

contract!(
    the_index_finds_what_is_stored_and_follows_every_change,
    secret_values_and_keys_of_other_namespaces_are_never_found,
);

fn find(index: &SearchIndex, text: &str) -> Results {
    index.search(&Query {
        text,
        namespace: None,
        scope: Scope::ALL,
        readable: &|_| true,
        offset: 0,
        limit: 50,
    })
}

/// Where the results are: `namespace/configuration:path`.
fn places(results: &Results) -> Vec<String> {
    results
        .hits
        .iter()
        .map(|h| {
            format!(
                "{}/{}:{}",
                h.namespace,
                h.configuration.as_deref().unwrap_or(""),
                h.path.as_deref().unwrap_or("")
            )
        })
        .collect()
}

/// Waits (ten seconds at most) until searching `text` finds exactly `expected`.
async fn until_found(index: &SearchIndex, text: &str, expected: &[&str]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = places(&find(index, text));
        if found == expected {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("searching {text:?} found {found:?}, not {expected:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An index of `b`'s store, built and following its watch.
async fn following(b: &Backend) -> SearchIndex {
    let store = b.store();
    let index = SearchIndex::new(confo::search::DEFAULT_VALUE_CEILING);
    let (sender, events) = broadcast::channel(64);
    let mut watch = store.watch().await.unwrap();
    tokio::spawn(async move {
        while let Some(event) = watch.recv().await {
            let _ = sender.send(event);
        }
    });
    index.rebuild(&store).await.unwrap();
    assert!(index.is_ready());
    let follower = index.clone();
    tokio::spawn(async move { follower.follow(store, events).await });
    index
}

async fn the_index_finds_what_is_stored_and_follows_every_change(b: Backend) {
    let store = with_namespace(&b, "shop").await;
    store
        .create_configuration(
            &ns("shop"),
            &cfg("db"),
            object(json!({"host": "old-db.internal", "servers": [{"host": "a"}]})),
            &change(),
        )
        .await
        .unwrap();
    let index = following(&b).await;
    assert_eq!(places(&find(&index, "old-db")), vec!["shop/db:host"]);
    assert_eq!(
        places(&find(&index, "servers.0.host")),
        vec!["shop/db:servers/0/host"]
    );

    // A change through the store.
    store
        .set_field(
            &ns("shop"),
            &cfg("db"),
            "host",
            json!("new-db"),
            None,
            &change(),
        )
        .await
        .unwrap();
    until_found(&index, "new-db", &["shop/db:host"]).await;
    assert_eq!(find(&index, "old-db").total, 0);

    // A write by another tool (as `etcdctl put` would): a configuration never listed.
    b.put("shop-cache", r#"{"url": "redis://old-db:6379"}"#)
        .await;
    until_found(&index, "old-db", &["shop/cache:url"]).await;

    // A new namespace and its configuration, then the configuration removed.
    store
        .create_namespace(&ns("billing"), &change())
        .await
        .unwrap();
    store
        .create_configuration(
            &ns("billing"),
            &cfg("api"),
            object(json!({"endpoint": "https://old-db.example"})),
            &change(),
        )
        .await
        .unwrap();
    until_found(
        &index,
        "old-db",
        &["billing/api:endpoint", "shop/cache:url"],
    )
    .await;
    store
        .delete_configuration(&ns("billing"), &cfg("api"), None, &change())
        .await
        .unwrap();
    until_found(&index, "old-db", &["shop/cache:url"]).await;
    until_found(&index, "billing", &["billing/:"]).await;
    store
        .delete_namespace(&ns("billing"), false, &change())
        .await
        .unwrap();
    until_found(&index, "billing", &[]).await;
}

async fn secret_values_and_keys_of_other_namespaces_are_never_found(b: Backend) {
    let store = with_namespace(&b, "shop").await;
    store
        .create_configuration(
            &ns("shop"),
            &cfg("db"),
            object(json!({"user": "app", "password": "hunter2-secret"})),
            &change(),
        )
        .await
        .unwrap();
    // A namespace written by another tool whose name the rules refuse ("shop-eu": the
    // original Confo allowed dashes): its key `shop-eu-x` is under `shop-` too.
    let root = b.value("confo").await.unwrap();
    let mut root: serde_json::Value = serde_json::from_str(&root).unwrap();
    root["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!("shop-eu"));
    b.put("confo", &root.to_string()).await;
    b.put("shop-eu", r#"{"configurations": ["x"]}"#).await;
    b.put("shop-eu-x", r#"{"leak": "eu-only-value"}"#).await;

    let index = following(&b).await;
    assert_eq!(places(&find(&index, "hunter2")), vec!["shop/db:password"]);
    assert_eq!(find(&index, "eu-only").total, 0, "not shown as shop's");

    // A key under `shop-` is shop's until another tool lists a namespace that owns it too.
    b.put("shop-eu2-y", r#"{"w": "later-listed"}"#).await;
    until_found(&index, "later-listed", &["shop/eu2-y:w"]).await;
    let mut root: serde_json::Value =
        serde_json::from_str(&b.value("confo").await.unwrap()).unwrap();
    root["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!("shop-eu2"));
    b.put("confo", &root.to_string()).await;
    until_found(&index, "later-listed", &[]).await;

    // Marked secret by a schema: the value goes from the index; the path stays.
    store
        .change_settings(
            &ns("shop"),
            SettingsChange::Assign {
                configuration: cfg("db"),
                choice: Some(SchemaChoice::Own(
                    json!({"properties": {"password": {"type": "string", "writeOnly": true}}}),
                )),
            },
            None,
            &change(),
        )
        .await
        .unwrap();
    until_found(&index, "hunter2", &[]).await;
    let found = find(&index, "password");
    assert_eq!(places(&found), vec!["shop/db:password"]);
    assert_eq!(found.hits[0].value, None);
    // A later change to the configuration keeps it secret.
    store
        .set_field(
            &ns("shop"),
            &cfg("db"),
            "password",
            json!("hunter3-secret"),
            None,
            &change(),
        )
        .await
        .unwrap();
    store
        .set_field(
            &ns("shop"),
            &cfg("db"),
            "user",
            json!("app2"),
            None,
            &change(),
        )
        .await
        .unwrap();
    until_found(&index, "app2", &["shop/db:user"]).await;
    assert_eq!(find(&index, "hunter").total, 0);
    // A rebuild from scratch too.
    index.rebuild(&b.store()).await.unwrap();
    assert_eq!(find(&index, "hunter").total, 0);
    assert_eq!(find(&index, "eu-only").total, 0);
}
