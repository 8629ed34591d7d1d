//! The storage contract: every test here runs unchanged against the embedded store and against
//! a real etcd (the one the test script starts, named by `CONFO_TEST_ETCD_ENDPOINTS`).

use std::sync::Arc;
use std::time::Duration;

use confo::kv::embedded::EmbeddedKv;
use confo::kv::etcd::{EtcdConfig, EtcdKv};
use confo::kv::{Compare, Kv, MAX_REQUEST_BYTES, Op, TxnOutcome};
use confo::{Actor, Change, Error, KeyLayout, NamespaceName, Store};

/// A backend for one test, with a key prefix no other test uses.
struct Backend {
    kv: Arc<dyn Kv>,
    prefix: String,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn store(&self) -> Store {
        Store::new(self.kv.clone(), KeyLayout::with_prefix(self.prefix.clone()))
    }

    async fn put(&self, name: &str, value: &str) {
        let key = self.key(name);
        let outcome = self
            .kv
            .txn(
                vec![],
                vec![Op::Put {
                    key,
                    value: value.as_bytes().to_vec(),
                }],
            )
            .await
            .unwrap();
        assert!(matches!(outcome, TxnOutcome::Committed { .. }));
    }

    async fn value(&self, name: &str) -> Option<String> {
        self.kv
            .get(&self.key(name))
            .await
            .unwrap()
            .map(|kv| String::from_utf8(kv.value).unwrap())
    }
}

fn change() -> Change {
    Change::by(Actor::user("tester"))
}

fn unique_prefix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "test{}x{}x{}/",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn embedded() -> Option<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let kv = EmbeddedKv::open(dir.path()).unwrap();
    Some(Backend {
        kv: Arc::new(kv),
        prefix: unique_prefix(),
        _dir: Some(dir),
    })
}

async fn etcd() -> Option<Backend> {
    let Ok(endpoints) = std::env::var("CONFO_TEST_ETCD_ENDPOINTS") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CONFO_TEST_ETCD_ENDPOINTS must name an etcd in CI (scripts/test.sh starts one)"
        );
        eprintln!("skipped: set CONFO_TEST_ETCD_ENDPOINTS (scripts/test.sh does) to test etcd");
        return None;
    };
    let config = EtcdConfig {
        endpoints: endpoints.split(',').map(str::to_owned).collect(),
        timeout: Duration::from_secs(5),
        credentials: None,
    };
    let kv = EtcdKv::connect(&config)
        .await
        .expect("the test etcd answers");
    Some(Backend {
        kv: Arc::new(kv),
        prefix: unique_prefix(),
        _dir: None,
    })
}

macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod embedded_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    if let Some(backend) = super::embedded().await {
                        super::$test(backend).await;
                    }
                }
            )*
        }
        mod etcd_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    if let Some(backend) = super::etcd().await {
                        super::$test(backend).await;
                    }
                }
            )*
        }
    };
}

contract!(
    absent_key_reads_as_none,
    put_then_get_carries_revision,
    compare_on_stale_revision_writes_nothing,
    transaction_is_all_or_nothing,
    delete_removes_the_key,
    prefix_listing_is_ordered_and_bounded,
    oversized_change_is_refused_before_sending,
    root_is_created_with_the_seed_shape,
    namespaces_keep_their_order,
    duplicate_namespace_is_refused,
    unlisted_namespace_key_is_listed_not_overwritten,
    corrupt_root_is_reported_with_its_key,
    concurrent_creators_lose_nothing,
);

async fn absent_key_reads_as_none(b: Backend) {
    assert_eq!(b.kv.get(&b.key("nothing")).await.unwrap(), None);
}

async fn put_then_get_carries_revision(b: Backend) {
    b.put("k", "one").await;
    let first = b.kv.get(&b.key("k")).await.unwrap().unwrap();
    assert_eq!(first.value, b"one");
    b.put("k", "two").await;
    let second = b.kv.get(&b.key("k")).await.unwrap().unwrap();
    assert_eq!(second.value, b"two");
    assert!(second.mod_revision > first.mod_revision);
}

async fn compare_on_stale_revision_writes_nothing(b: Backend) {
    b.put("k", "one").await;
    let read = b.kv.get(&b.key("k")).await.unwrap();
    b.put("k", "two").await;
    let outcome =
        b.kv.txn(
            vec![Compare::unchanged(b.key("k"), read.as_ref())],
            vec![Op::Put {
                key: b.key("k"),
                value: b"lost".to_vec(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(outcome, TxnOutcome::CompareFailed);
    assert_eq!(b.value("k").await.as_deref(), Some("two"));

    // "must not exist" fails on an existing key.
    let outcome =
        b.kv.txn(
            vec![Compare::unchanged(b.key("k"), None)],
            vec![Op::Put {
                key: b.key("k"),
                value: b"lost".to_vec(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(outcome, TxnOutcome::CompareFailed);
}

async fn transaction_is_all_or_nothing(b: Backend) {
    b.put("a", "1").await;
    let a = b.kv.get(&b.key("a")).await.unwrap();
    b.put("a", "2").await;
    let outcome =
        b.kv.txn(
            vec![
                Compare::unchanged(b.key("new"), None),
                Compare::unchanged(b.key("a"), a.as_ref()),
            ],
            vec![
                Op::Put {
                    key: b.key("new"),
                    value: b"x".to_vec(),
                },
                Op::Put {
                    key: b.key("a"),
                    value: b"3".to_vec(),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(outcome, TxnOutcome::CompareFailed);
    assert_eq!(b.value("new").await, None);

    let a = b.kv.get(&b.key("a")).await.unwrap();
    let outcome =
        b.kv.txn(
            vec![
                Compare::unchanged(b.key("new"), None),
                Compare::unchanged(b.key("a"), a.as_ref()),
            ],
            vec![
                Op::Put {
                    key: b.key("new"),
                    value: b"x".to_vec(),
                },
                Op::Put {
                    key: b.key("a"),
                    value: b"3".to_vec(),
                },
            ],
        )
        .await
        .unwrap();
    let TxnOutcome::Committed { revision } = outcome else {
        panic!("expected a commit, got {outcome:?}");
    };
    let new = b.kv.get(&b.key("new")).await.unwrap().unwrap();
    let a = b.kv.get(&b.key("a")).await.unwrap().unwrap();
    assert_eq!((new.mod_revision, a.mod_revision), (revision, revision));
}

async fn delete_removes_the_key(b: Backend) {
    b.put("gone", "x").await;
    let read = b.kv.get(&b.key("gone")).await.unwrap();
    let outcome =
        b.kv.txn(
            vec![Compare::unchanged(b.key("gone"), read.as_ref())],
            vec![Op::Delete { key: b.key("gone") }],
        )
        .await
        .unwrap();
    assert!(matches!(outcome, TxnOutcome::Committed { .. }));
    assert_eq!(b.value("gone").await, None);
}

async fn prefix_listing_is_ordered_and_bounded(b: Backend) {
    for name in ["ns-b", "ns-a", "ns", "nt-a", "ns-c"] {
        b.put(name, name).await;
    }
    let listed: Vec<String> =
        b.kv.list_prefix(&b.key("ns-"))
            .await
            .unwrap()
            .into_iter()
            .map(|kv| kv.key)
            .collect();
    assert_eq!(listed, [b.key("ns-a"), b.key("ns-b"), b.key("ns-c")]);
}

async fn oversized_change_is_refused_before_sending(b: Backend) {
    let outcome =
        b.kv.txn(
            vec![],
            vec![Op::Put {
                key: b.key("big"),
                value: vec![b'x'; MAX_REQUEST_BYTES + 1],
            }],
        )
        .await;
    assert!(
        matches!(outcome, Err(Error::TooLarge { .. })),
        "{outcome:?}"
    );
    assert_eq!(b.value("big").await, None);
}

async fn root_is_created_with_the_seed_shape(b: Backend) {
    let store = b.store();
    store.ensure_root().await.unwrap();
    assert_eq!(
        b.value("confo").await.as_deref(),
        Some(r#"{"namespaces":[]}"#)
    );
    // A second start leaves an existing root alone.
    b.put("confo", r#"{"namespaces":["HR_dept"]}"#).await;
    store.ensure_root().await.unwrap();
    assert_eq!(store.list_namespaces().await.unwrap(), ["HR_dept"]);
}

async fn namespaces_keep_their_order(b: Backend) {
    let store = b.store();
    for name in ["zeta", "alpha", "mid"] {
        store
            .create_namespace(&NamespaceName::new(name).unwrap(), &change())
            .await
            .unwrap();
    }
    assert_eq!(
        store.list_namespaces().await.unwrap(),
        ["zeta", "alpha", "mid"]
    );
    assert_eq!(
        b.value("confo").await.as_deref(),
        Some(r#"{"namespaces":["zeta","alpha","mid"]}"#)
    );
    assert_eq!(
        b.value("alpha").await.as_deref(),
        Some(r#"{"configurations":[]}"#)
    );
}

async fn duplicate_namespace_is_refused(b: Backend) {
    let store = b.store();
    let name = NamespaceName::new("HR_dept").unwrap();
    store.create_namespace(&name, &change()).await.unwrap();
    let root_before = b.kv.get(&b.key("confo")).await.unwrap();
    let again = store.create_namespace(&name, &change()).await;
    assert!(matches!(again, Err(Error::AlreadyExists(_))), "{again:?}");
    assert_eq!(b.kv.get(&b.key("confo")).await.unwrap(), root_before);
}

/// The original Confo can leave a namespace key that the root does not list.
async fn unlisted_namespace_key_is_listed_not_overwritten(b: Backend) {
    b.put("confo", r#"{"namespaces":[]}"#).await;
    b.put("sales", r#"{"configurations":["leads"]}"#).await;
    let store = b.store();
    store
        .create_namespace(&NamespaceName::new("sales").unwrap(), &change())
        .await
        .unwrap();
    assert_eq!(store.list_namespaces().await.unwrap(), ["sales"]);
    assert_eq!(
        b.value("sales").await.as_deref(),
        Some(r#"{"configurations":["leads"]}"#)
    );
}

async fn corrupt_root_is_reported_with_its_key(b: Backend) {
    b.put("confo", "not json").await;
    let store = b.store();
    match store.list_namespaces().await {
        Err(Error::Corrupt { key, .. }) => assert_eq!(key, b.key("confo")),
        other => panic!("expected a corrupt-value error, got {other:?}"),
    }
    let create = store
        .create_namespace(&NamespaceName::new("x").unwrap(), &change())
        .await;
    assert!(matches!(create, Err(Error::Corrupt { .. })), "{create:?}");
    assert_eq!(b.value("confo").await.as_deref(), Some("not json"));

    b.put("confo", r#"{"namespaces":"HR"}"#).await;
    assert!(matches!(
        store.list_namespaces().await,
        Err(Error::Corrupt { .. })
    ));
}

/// Many writers add namespaces to one root index at once; compare-and-swap loses none.
async fn concurrent_creators_lose_nothing(b: Backend) {
    let store = b.store();
    store.ensure_root().await.unwrap();
    let writers: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_namespace(&NamespaceName::new(format!("ns{i}")).unwrap(), &change())
                    .await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let mut listed = store.list_namespaces().await.unwrap();
    listed.sort();
    let mut expected: Vec<String> = (0..16).map(|i| format!("ns{i}")).collect();
    expected.sort();
    assert_eq!(listed, expected);
}
