//! Namespaces stay apart even when other tools list names with a `-` in them (`a-b`), whose keys
//! Confo's own names could also spell (`a` + `b-c` is the key `a-b-c`, as is `a-b` + `c`).
//!
//! Over generated listed namespaces and generated requests, every key a request for namespace `X`
//! writes, and every key it reads unless it is refused as ambiguous, belongs to `X` alone. The
//! store runs on the embedded backend behind a [`Kv`] that records every key it is asked for.
//! Ownership is computed here from its definition, not with the code under test.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use confo::kv::embedded::EmbeddedKv;
use confo::kv::{Compare, KeyValue, Kv, Op, TxnOutcome, WatchReceiver};
use confo::{Actor, Change, ConfigurationName, Error, KeyLayout, NamespaceName, Store};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

/// Passes every call to the embedded store and notes the keys read and written.
struct Recording {
    inner: Arc<dyn Kv>,
    reads: Mutex<Vec<String>>,
    writes: Mutex<Vec<String>>,
}

impl Recording {
    fn read(&self, keys: impl IntoIterator<Item = String>) {
        self.reads.lock().unwrap().extend(keys);
    }

    /// The keys read and written since the last call.
    fn take(&self) -> (Vec<String>, Vec<String>) {
        (
            std::mem::take(&mut *self.reads.lock().unwrap()),
            std::mem::take(&mut *self.writes.lock().unwrap()),
        )
    }
}

#[async_trait]
impl Kv for Recording {
    async fn get(&self, key: &str) -> confo::Result<Option<KeyValue>> {
        self.read([key.to_owned()]);
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[String]) -> confo::Result<Vec<Option<KeyValue>>> {
        self.read(keys.iter().cloned());
        self.inner.get_many(keys).await
    }

    /// Names only, no values: what a listing offers is checked on its answer instead.
    async fn list_keys(&self, prefix: &str) -> confo::Result<Vec<String>> {
        self.inner.list_keys(prefix).await
    }

    async fn range(
        &self,
        start: &str,
        end: &str,
        limit: usize,
        reverse: bool,
    ) -> confo::Result<Vec<KeyValue>> {
        let found = self.inner.range(start, end, limit, reverse).await?;
        self.read(found.iter().map(|kv| kv.key.clone()));
        Ok(found)
    }

    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> confo::Result<TxnOutcome> {
        self.writes
            .lock()
            .unwrap()
            .extend(ops.iter().map(|op| match op {
                Op::Put { key, .. } | Op::Delete { key } => key.clone(),
            }));
        self.inner.txn(compares, ops).await
    }

    async fn ping(&self) -> confo::Result<()> {
        self.inner.ping().await
    }

    async fn revision(&self) -> confo::Result<i64> {
        self.inner.revision().await
    }

    async fn watch(&self, prefix: &str, from: i64) -> confo::Result<WatchReceiver> {
        self.inner.watch(prefix, from).await
    }

    async fn put_expiring(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
        only_if: Option<Compare>,
    ) -> confo::Result<bool> {
        self.writes.lock().unwrap().push(key.to_owned());
        self.inner.put_expiring(key, value, ttl, only_if).await
    }

    async fn put_leased(&self, key: &str, value: Vec<u8>, ttl: Duration) -> confo::Result<i64> {
        self.writes.lock().unwrap().push(key.to_owned());
        self.inner.put_leased(key, value, ttl).await
    }

    async fn keep_alive(&self, lease: i64) -> confo::Result<bool> {
        self.inner.keep_alive(lease).await
    }

    async fn release(&self, lease: i64, key: &str) -> confo::Result<()> {
        self.writes.lock().unwrap().push(key.to_owned());
        self.inner.release(lease, key).await
    }

    async fn compact(&self, revision: i64) -> confo::Result<()> {
        self.inner.compact(revision).await
    }
}

/// The namespaces among `namespaces` that own `key` (without the global prefix): it is their
/// index, or `<namespace>-<anything>`. The root key and reserved keys belong to none.
fn owners<'a>(key: &str, namespaces: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    if key == "confo" || key.starts_with("__confo/") {
        return Vec::new();
    }
    let mut owners: Vec<&str> = namespaces
        .into_iter()
        .filter(|n| key == *n || key.strip_prefix(*n).is_some_and(|r| r.starts_with('-')))
        .collect();
    owners.sort_unstable();
    owners.dedup();
    owners
}

#[derive(Debug, Clone)]
enum Request {
    Get(String, String),
    Set(String, String),
    Delete(String, String),
    Create(String, String),
    VersionOf(String, String, u64),
    ReadLegacy(String, String),
    CreateNamespace(String),
    DeleteNamespace(String),
    Register(String),
    List(String),
}

impl Request {
    fn namespace(&self) -> &str {
        match self {
            Request::Get(n, _)
            | Request::Set(n, _)
            | Request::Delete(n, _)
            | Request::Create(n, _)
            | Request::VersionOf(n, _, _)
            | Request::ReadLegacy(n, _)
            | Request::CreateNamespace(n)
            | Request::DeleteNamespace(n)
            | Request::Register(n)
            | Request::List(n) => n,
        }
    }
}

/// Short names over a tiny alphabet, so that keys collide often.
fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[ab]", 1 => "[ab]{2}"]
}
/// A name only other tools write: a namespace name, then dashes.
fn legacy_namespace() -> impl Strategy<Value = String> {
    (namespace(), "(-[ab]){1,2}").prop_map(|(head, tail)| head + &tail)
}
fn configuration() -> impl Strategy<Value = String> {
    "[ab](-[ab]){0,2}"
}

/// Listed namespaces, each with configurations stored under its keys (the first two listed in
/// its index, the rest not), as other tools would write them.
fn listed() -> impl Strategy<Value = Vec<(String, Vec<String>)>> {
    prop::collection::vec(
        (
            prop_oneof![namespace(), legacy_namespace()],
            prop::collection::vec(configuration(), 0..4),
        ),
        1..5,
    )
}

/// Requests, with names often cut from the listed ones (`a-b-c` gives namespace `a` and
/// configurations `b-c` and `b`) so that they land on keys other namespaces own.
fn request(listed: &[(String, Vec<String>)]) -> impl Strategy<Value = Request> + use<> {
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    let heads: Vec<String> = names
        .iter()
        .map(|n| n.split('-').next().unwrap_or(n).to_owned())
        .collect();
    let tails: Vec<String> = names
        .iter()
        .flat_map(|n| {
            n.match_indices('-')
                .map(move |(i, _)| n[i + 1..].to_owned())
        })
        .chain(["a".to_owned()])
        .collect();
    let legacy: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let namespace = || prop_oneof![namespace(), prop::sample::select(heads.clone())];
    let configuration = || {
        prop_oneof![
            configuration(),
            prop::sample::select(tails.clone()),
            (prop::sample::select(tails.clone()), configuration())
                .prop_map(|(tail, c)| format!("{tail}-{c}")),
        ]
    };
    let legacy = prop_oneof![legacy_namespace(), prop::sample::select(legacy)];
    prop_oneof![
        (namespace(), configuration()).prop_map(|(n, c)| Request::Get(n, c)),
        (namespace(), configuration()).prop_map(|(n, c)| Request::Set(n, c)),
        (namespace(), configuration()).prop_map(|(n, c)| Request::Delete(n, c)),
        (namespace(), configuration()).prop_map(|(n, c)| Request::Create(n, c)),
        (namespace(), configuration(), 1..12u64).prop_map(|(n, c, v)| Request::VersionOf(n, c, v)),
        (legacy, configuration()).prop_map(|(n, c)| Request::ReadLegacy(n, c)),
        namespace().prop_map(Request::CreateNamespace),
        namespace().prop_map(Request::DeleteNamespace),
        namespace().prop_map(Request::Register),
        namespace().prop_map(Request::List),
    ]
}

/// Runs `request` and answers its error, if any, and the unregistered names a listing offered.
async fn run(store: &Store, request: &Request) -> (Option<Error>, Vec<String>) {
    let change = Change::by(Actor::user("tester"));
    let names = |n: &str, c: &str| {
        Ok::<_, Error>((
            NamespaceName::new(n).expect("generated valid"),
            ConfigurationName::new(c).expect("generated valid"),
        ))
    };
    let namespace = |n: &str| NamespaceName::new(n).expect("generated valid");
    let mut offered = Vec::new();
    let result: Result<(), Error> = async {
        match request {
            Request::Get(n, c) => {
                let (n, c) = names(n, c)?;
                store.get_configuration(&n, &c).await.map(drop)
            }
            Request::Set(n, c) => {
                let (n, c) = names(n, c)?;
                store
                    .set_field(&n, &c, "by", json!("confo"), None, &change)
                    .await
                    .map(drop)
            }
            Request::Delete(n, c) => {
                let (n, c) = names(n, c)?;
                store
                    .delete_configuration(&n, &c, None, &change)
                    .await
                    .map(drop)
            }
            Request::Create(n, c) => {
                let (n, c) = names(n, c)?;
                let fields = serde_json::Map::new();
                store
                    .create_configuration(&n, &c, fields, &change)
                    .await
                    .map(drop)
            }
            Request::VersionOf(n, c, seq) => {
                let (n, c) = names(n, c)?;
                store.configuration_at(&n, &c, *seq).await.map(drop)
            }
            Request::ReadLegacy(n, c) => store.read_legacy(n, c).await.map(drop),
            Request::CreateNamespace(n) => store
                .create_namespace(&namespace(n), &change)
                .await
                .map(drop),
            Request::DeleteNamespace(n) => store
                .delete_namespace(&namespace(n), true, &change)
                .await
                .map(drop),
            Request::Register(n) => store
                .register_configurations(&namespace(n), &change)
                .await
                .map(drop),
            Request::List(n) => {
                let listing = store.list_configurations(&namespace(n)).await?;
                offered = listing.unregistered;
                Ok(())
            }
        }
    }
    .await;
    (result.err(), offered)
}

/// How many requests ran, and how many were refused as ambiguous: the generator must reach
/// both, or the property says little.
#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    refused: AtomicU64,
}

/// One generated case: the listed namespaces written raw under a prefix of their own, then
/// each request checked against the namespaces listed just before it.
async fn check_case(
    kv: &Arc<dyn Kv>,
    prefix: &str,
    listed: &[(String, Vec<String>)],
    requests: &[Request],
    tally: &Tally,
) -> Result<(), TestCaseError> {
    let put = |name: &str, value: serde_json::Value| Op::Put {
        key: format!("{prefix}{name}"),
        value: serde_json::to_vec(&value).unwrap(),
    };
    let mut names: Vec<&str> = Vec::new();
    for (namespace, _) in listed {
        if !names.contains(&namespace.as_str()) {
            names.push(namespace);
        }
    }
    let mut setup = vec![put("confo", json!({ "namespaces": names }))];
    for (namespace, configurations) in listed {
        let registered: Vec<&String> = configurations.iter().take(2).collect();
        setup.push(put(namespace, json!({ "configurations": registered })));
        for configuration in configurations {
            setup.push(put(
                &format!("{namespace}-{configuration}"),
                json!({ "owner": format!("{namespace}/{configuration}") }),
            ));
        }
    }
    // A key written twice (two namespaces spelling it) keeps its last value.
    let mut seen = std::collections::HashSet::new();
    let setup: Vec<Op> = setup
        .into_iter()
        .rev()
        .filter(|op| {
            let (Op::Put { key, .. } | Op::Delete { key }) = op;
            seen.insert(key.clone())
        })
        .collect();
    kv.txn(vec![], setup).await.unwrap();

    let recording = Arc::new(Recording {
        inner: kv.clone(),
        reads: Mutex::default(),
        writes: Mutex::default(),
    });
    let store = Store::new(recording.clone(), KeyLayout::with_prefix(prefix));
    let strip = |key: &str| key.strip_prefix(prefix).unwrap_or(key).to_owned();
    for request in requests {
        let root_key = format!("{prefix}confo");
        let root = kv.get(&root_key).await.unwrap().unwrap();
        let root: serde_json::Value = serde_json::from_slice(&root.value).unwrap();
        let mut namespaces: Vec<String> =
            serde_json::from_value(root["namespaces"].clone()).unwrap();
        let x = request.namespace().to_owned();
        namespaces.push(x.clone());
        let all = || namespaces.iter().map(String::as_str);

        recording.take();
        let (error, offered) = run(&store, request).await;
        let (reads, writes) = recording.take();

        let refused = matches!(error, Some(Error::AmbiguousKey { .. }));
        tally.requests.fetch_add(1, Ordering::Relaxed);
        tally
            .refused
            .fetch_add(u64::from(refused), Ordering::Relaxed);
        if let Some(Error::AmbiguousKey { key, .. }) = &error {
            let owners = owners(&strip(key), all());
            prop_assert!(
                owners.len() > 1 && owners.contains(&x.as_str()),
                "{request:?} was refused for {key:?}, owned by {owners:?} only"
            );
        }
        for key in writes.iter().map(|k| strip(k)) {
            let owners = owners(&key, all());
            prop_assert!(
                owners.is_empty() || owners == [x.as_str()],
                "{request:?} wrote {key:?}, owned by {owners:?} (answer: {error:?})"
            );
        }
        if !refused {
            for key in reads.iter().map(|k| strip(k)) {
                let owners = owners(&key, all());
                prop_assert!(
                    owners.is_empty() || owners == [x.as_str()],
                    "{request:?} read {key:?}, owned by {owners:?} (answer: {error:?})"
                );
            }
        }
        for name in &offered {
            let key = format!("{x}-{name}");
            let owners = owners(&key, all());
            prop_assert!(
                owners == [x.as_str()],
                "{request:?} offered {name:?}, whose key {key:?} is owned by {owners:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn no_request_reaches_a_key_of_another_listed_namespace() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let kv: Arc<dyn Kv> = Arc::new(EmbeddedKv::open(dir.path()).unwrap());
    let case = AtomicU64::new(0);
    let tally = Tally::default();
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = listed().prop_flat_map(|listed| {
        let requests = prop::collection::vec(request(&listed), 1..8);
        (Just(listed), requests)
    });
    runner
        .run(&strategy, |(listed, requests)| {
            let n = case.fetch_add(1, Ordering::Relaxed);
            let prefix = format!("case{n}/");
            runtime.block_on(check_case(&kv, &prefix, &listed, &requests, &tally))
        })
        .unwrap();
    let (requests, refused) = (tally.requests.into_inner(), tally.refused.into_inner());
    eprintln!("{requests} requests, {refused} refused as ambiguous");
    assert!(
        refused * 20 > requests && refused * 2 < requests,
        "{refused} of {requests} refused: the generator should reach both answers often"
    );
}
