//! Fixtures shared by the storage test suites: a backend per test (embedded in a scratch
//! directory, or the etcd named by `CONFO_TEST_ETCD_ENDPOINTS`), with a key prefix of its own,
//! and the macro that runs one test body on every backend.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fixtures"
)]

pub mod etcd_env;
pub mod faulty;

use std::sync::Arc;
use std::time::Duration;

use confo::kv::embedded::EmbeddedKv;
use confo::kv::{Kv, Op, TxnOutcome};
use confo::store::WatchEvent;
use confo::{Actor, Change, ConfigurationName, KeyLayout, NamespaceName, Store};

/// A backend for one test, with a key prefix no other test uses.
pub struct Backend {
    pub kv: Arc<dyn Kv>,
    pub prefix: String,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn store(&self) -> Store {
        Store::new(self.kv.clone(), KeyLayout::with_prefix(self.prefix.clone()))
    }

    pub async fn put(&self, name: &str, value: &str) {
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

    pub async fn value(&self, name: &str) -> Option<String> {
        self.kv
            .get(&self.key(name))
            .await
            .unwrap()
            .map(|kv| String::from_utf8(kv.value).unwrap())
    }
}

pub fn change() -> Change {
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

/// Embedded stores go to memory where possible: the tests check semantics, not the disk's fsync.
fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

pub async fn embedded() -> Option<Backend> {
    let dir = scratch_dir();
    let kv = EmbeddedKv::open(dir.path()).unwrap();
    Some(Backend {
        kv: Arc::new(kv),
        prefix: unique_prefix(),
        _dir: Some(dir),
    })
}

pub async fn etcd() -> Option<Backend> {
    let endpoints = etcd_env::etcd_endpoints()?;
    let kv = etcd_env::connect(&endpoints, Duration::from_secs(5)).await;
    Some(Backend {
        kv: Arc::new(kv),
        prefix: unique_prefix(),
        _dir: None,
    })
}

pub fn ns(name: &str) -> NamespaceName {
    NamespaceName::new(name).unwrap()
}

pub fn cfg(name: &str) -> ConfigurationName {
    ConfigurationName::new(name).unwrap()
}

pub fn object(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

pub async fn with_namespace(b: &Backend, name: &str) -> Store {
    let store = b.store();
    store.ensure_root().await.unwrap();
    store.create_namespace(&ns(name), &change()).await.unwrap();
    store
}

/// Creates empty configurations `<prefix>0` .. `<prefix><count - 1>` in `namespace`.
pub async fn create_empty(store: &Store, namespace: &str, prefix: &str, count: usize) {
    for i in 0..count {
        store
            .create_configuration(
                &ns(namespace),
                &cfg(&format!("{prefix}{i}")),
                Default::default(),
                &change(),
            )
            .await
            .unwrap();
    }
}

/// The next event, waiting at most ten seconds for it.
pub async fn next_event(events: &mut tokio::sync::mpsc::Receiver<WatchEvent>) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event within ten seconds")
        .expect("the watch is still open")
}

/// Runs each named test body against every backend. Used from a test binary that declares
/// `mod common;`.
#[macro_export]
#[expect(
    clippy::crate_in_macro_def,
    reason = "the fixtures live in each test binary's own `common` module"
)]
macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod embedded_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    if let Some(backend) = crate::common::embedded().await {
                        super::$test(backend).await;
                    }
                }
            )*
        }
        mod etcd_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    if let Some(backend) = crate::common::etcd().await {
                        super::$test(backend).await;
                    }
                }
            )*
        }
    };
}
