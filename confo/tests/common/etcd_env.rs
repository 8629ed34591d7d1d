//! Whether the tests that need etcd run. They use the etcd named by `CONFO_TEST_ETCD_ENDPOINTS`
//! (the README's test command starts one and sets it). Without it they fail, unless
//! `CONFO_TEST_SKIP_ETCD=1` asks to skip them; a skipped test says so on the terminal, past the
//! test harness's output capture, so that a skip is never read as a pass.

use std::io::Write;
use std::time::Duration;

use confo::kv::etcd::{EtcdConfig, EtcdKv};

/// The variable that asks to skip the tests that need etcd.
pub const SKIP: &str = "CONFO_TEST_SKIP_ETCD";

/// The etcd endpoints to test against, or `None` (reported) when skipping was asked for.
pub fn etcd_endpoints() -> Option<String> {
    match std::env::var("CONFO_TEST_ETCD_ENDPOINTS") {
        Ok(endpoints) => Some(endpoints),
        Err(_) => skip_or_fail("CONFO_TEST_ETCD_ENDPOINTS is not set"),
    }
}

/// Skips (reported) when skipping was asked for; otherwise fails with `missing`.
pub fn skip_or_fail<T>(missing: &str) -> Option<T> {
    if std::env::var(SKIP).as_deref() == Ok("1") {
        let test = std::thread::current().name().unwrap_or("a test").to_owned();
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: {missing}, and {SKIP}=1 asks to skip"
        );
        return None;
    }
    panic!(
        "this test needs etcd: {missing}. Run scripts/test.sh (it starts an etcd), or set {SKIP}=1 to skip the etcd tests"
    );
}

/// Connects to the etcd members `endpoints` (comma-separated), each request bounded by `timeout`.
pub async fn connect(endpoints: &str, timeout: Duration) -> EtcdKv {
    EtcdKv::connect(&EtcdConfig {
        endpoints: endpoints.split(',').map(str::to_owned).collect(),
        timeout,
        credentials: None,
    })
    .await
    .expect("the test etcd answers")
}
