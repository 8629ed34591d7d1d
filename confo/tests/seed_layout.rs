//! Data shared with the original Confo through etcd, checked with the real `etcdctl`: what it
//! lays out is read correctly, and what Confo writes has exactly its shapes. Keys are unprefixed,
//! as the original writes them; names carry a random suffix so runs do not meet.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use confo::{Actor, Change, ConfigurationName, Error, KeyLayout, NamespaceName, Store};
use serde_json::{Value, json};

/// The tests below rewrite the shared root key with plain `etcdctl put`, as the original Confo
/// does (read, modify, write, no comparison): they take turns so as not to lose each other's
/// namespaces.
static ROOT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[path = "common/etcd_env.rs"]
mod etcd_env;
use etcd_env::etcd_endpoints as endpoints;

fn etcdctl(endpoints: &str, args: &[&str]) -> String {
    let output = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .args(["--endpoints", endpoints])
        .args(args)
        .output()
        .expect("etcdctl runs");
    assert!(output.status.success(), "etcdctl {args:?}: {output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .trim_end()
        .to_owned()
}

fn get(endpoints: &str, key: &str) -> Value {
    let text = etcdctl(endpoints, &["get", key, "--print-value-only"]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{key}: {e}: {text:?}"))
}

async fn store(endpoints: &str) -> Store {
    let kv = etcd_env::connect(endpoints, Duration::from_secs(5)).await;
    Store::new(Arc::new(kv), KeyLayout::default())
}

fn suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}", nanos % 1_000_000_000)
}

#[tokio::test]
async fn reads_the_seed_layout_written_with_etcdctl() {
    let Some(endpoints) = endpoints() else { return };
    let _turn = ROOT.lock().await;
    let hr = format!("HR_dept{}", suffix());
    // Exactly the seed's example, spaces and all, as Python's json.dumps writes it.
    let root = get_or_empty_root(&endpoints);
    let mut names: Vec<Value> = root["namespaces"].as_array().cloned().unwrap_or_default();
    names.push(json!(hr));
    etcdctl(
        &endpoints,
        &["put", "confo", &json!({"namespaces": names}).to_string()],
    );
    etcdctl(
        &endpoints,
        &["put", &hr, r#"{"configurations": ["database"]}"#],
    );
    etcdctl(
        &endpoints,
        &[
            "put",
            &format!("{hr}-database"),
            r#"{"driver": "pgsql", "host": "127.0.0.1", "database": "portal", "user": "gemuser", "password": "gempass", "prefix": ""}"#,
        ],
    );
    // What the original's `persist` leaves: a configuration its namespace does not list.
    etcdctl(
        &endpoints,
        &[
            "put",
            &format!("{hr}-mail"),
            r#"{"smtp": "mx.example.com"}"#,
        ],
    );

    let store = store(&endpoints).await;
    assert!(store.list_namespaces().await.unwrap().contains(&hr));
    let ns = NamespaceName::new(hr.as_str()).unwrap();
    let listing = store.list_configurations(&ns).await.unwrap();
    assert_eq!(listing.registered, ["database"]);
    assert_eq!(listing.unregistered, ["mail"]);
    let database = store
        .get_configuration(&ns, &ConfigurationName::new("database").unwrap())
        .await
        .unwrap();
    assert_eq!(database.fields["driver"], json!("pgsql"));
    assert_eq!(database.fields["prefix"], json!(""));
}

fn get_or_empty_root(endpoints: &str) -> Value {
    let text = etcdctl(endpoints, &["get", "confo", "--print-value-only"]);
    if text.is_empty() {
        json!({"namespaces": []})
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

#[tokio::test]
async fn writes_exactly_the_seed_shapes() {
    let Some(endpoints) = endpoints() else { return };
    let _turn = ROOT.lock().await;
    let store = store(&endpoints).await;
    store.ensure_root().await.unwrap();
    let change = Change::by(Actor::user("tester"));
    let name = format!("sales{}", suffix());
    let ns = NamespaceName::new(name.as_str()).unwrap();
    store.create_namespace(&ns, &change).await.unwrap();
    let leads = ConfigurationName::new("leads-2026").unwrap();
    let Value::Object(fields) = json!({"owner": "Zoë", "limit": 10, "regions": ["EU", "ZA"]})
    else {
        unreachable!()
    };
    store
        .create_configuration(&ns, &leads, fields, &change)
        .await
        .unwrap();
    store
        .set_field(&ns, &leads, "limit", json!(12), None, &change)
        .await
        .unwrap();

    let root = get(&endpoints, "confo");
    assert_eq!(
        root.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["namespaces"]
    );
    assert!(
        root["namespaces"]
            .as_array()
            .unwrap()
            .contains(&json!(name))
    );
    assert_eq!(
        get(&endpoints, &name),
        json!({"configurations": ["leads-2026"]})
    );
    assert_eq!(
        get(&endpoints, &format!("{name}-leads-2026")),
        json!({"owner": "Zoë", "limit": 12, "regions": ["EU", "ZA"]})
    );
    // Nothing else was written outside the reserved prefix.
    let keys = etcdctl(&endpoints, &["get", &name, "--prefix", "--keys-only"]);
    let keys: Vec<&str> = keys.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(keys, [name.clone(), format!("{name}-leads-2026")]);
}

#[tokio::test]
async fn names_outside_the_rules_are_reported_and_never_written() {
    let Some(endpoints) = endpoints() else { return };
    let _turn = ROOT.lock().await;
    let base = format!("HR{}", suffix());
    let legacy = format!("{base}-legacy");
    let root = get_or_empty_root(&endpoints);
    let mut names: Vec<Value> = root["namespaces"].as_array().cloned().unwrap_or_default();
    names.push(json!(legacy));
    etcdctl(
        &endpoints,
        &["put", "confo", &json!({"namespaces": names}).to_string()],
    );
    etcdctl(
        &endpoints,
        &["put", &legacy, r#"{"configurations": ["x"]}"#],
    );
    etcdctl(&endpoints, &["put", &format!("{legacy}-x"), r#"{"a": 1}"#]);

    let store = store(&endpoints).await;
    let report = store.namespace_report().await.unwrap();
    let entry = report.iter().find(|n| n.name == legacy).expect("listed");
    assert!(
        entry.problem.as_deref().is_some_and(|p| p.contains("'-'")),
        "{entry:?}"
    );
    assert_eq!(
        store.read_legacy(&legacy, "x").await.unwrap(),
        json!({"a": 1})
    );

    // Every way a caller could write under that name, or to its keys, is refused.
    let kv = store.kv().clone();
    let before = (
        kv.list_prefix(&base).await.unwrap(),
        kv.get("confo").await.unwrap(),
    );
    let change = Change::by(Actor::user("tester"));
    // A valid namespace whose keys would be the legacy namespace's own.
    let shadow = NamespaceName::new(base.as_str()).unwrap();
    let refused = store.create_namespace(&shadow, &change).await;
    assert!(
        matches!(&refused, Err(Error::AmbiguousKey { key, .. }) if *key == legacy),
        "{refused:?}"
    );
    // Through the client library, which takes names as text.
    let mut client = confo::client::Confo::from_store(store.clone(), Actor::token("svc"));
    for refused in [
        client.create_namespace(&legacy).await,
        client.use_namespace(&legacy).await,
    ] {
        assert!(
            matches!(&refused, Err(Error::InvalidName { name, .. }) if *name == legacy),
            "{refused:?}"
        );
    }
    assert!(client.set("x", "a", 2).is_err(), "no namespace is in use");
    let after = (
        kv.list_prefix(&base).await.unwrap(),
        kv.get("confo").await.unwrap(),
    );
    assert_eq!(
        after, before,
        "a refused write changed a key or its revision"
    );
    assert_eq!(get(&endpoints, &format!("{legacy}-x")), json!({"a": 1}));
}

#[tokio::test]
async fn client_loads_from_the_original_credentials() {
    let Some(endpoints) = endpoints() else { return };
    let _turn = ROOT.lock().await;
    let (host, port) = endpoints.rsplit_once(':').expect("host:port");
    let preset = format!("preset{}", suffix());
    let credentials: confo::client::Credentials = serde_json::from_value(json!({
        "host": host,
        "port": port,
        "namespaces": [preset],
    }))
    .unwrap();
    let mut confo = confo::client::Confo::load(
        confo::client::Backend::Etcd(credentials),
        Actor::token("svc"),
    )
    .await
    .unwrap();
    let (all, current) = confo.namespaces().await.unwrap();
    assert!(all.contains(&preset), "{all:?}");
    assert_eq!(current, None);
    confo.use_namespace(&preset).await.unwrap();
    confo.set("feature-flags", "dark_mode", true).unwrap();
    assert_eq!(
        confo.persist().await.unwrap(),
        confo::client::Persisted::Written
    );
    assert_eq!(
        get(&endpoints, &format!("{preset}-feature-flags")),
        json!({"dark_mode": true})
    );
    assert_eq!(
        get(&endpoints, &preset),
        json!({"configurations": ["feature-flags"]})
    );
}
