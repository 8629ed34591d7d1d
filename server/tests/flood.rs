//! A flood of anonymous sign-ins with huge names, against the real `confo` binary and a real
//! etcd: neither the store nor the server's memory grows with it.
//!
//! Needs `CONFO_TEST_ETCD_ENDPOINTS` (the README's test command starts an etcd and sets it);
//! without it the test fails, unless `CONFO_TEST_SKIP_ETCD` is set, which skips it (and says so).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::binary::{Server, unique_prefix};
use common::etcd_env::etcd_endpoints;
use confo::kv::Kv;
use confo::kv::etcd::EtcdKv;

/// The bytes kept under `prefix` (keys and values).
async fn stored_bytes(kv: &EtcdKv, prefix: &str) -> usize {
    kv.list_prefix(prefix)
        .await
        .unwrap()
        .iter()
        .map(|kv| kv.key.len() + kv.value.len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_huge_anonymous_sign_ins_grows_neither_the_store_nor_the_server() {
    let Some(endpoints) = etcd_endpoints() else {
        return;
    };
    let prefix = unique_prefix("flood");
    let server = Arc::new(Server::start(&endpoints, &prefix).await);
    let kv = common::etcd_env::connect(&endpoints, Duration::from_secs(5)).await;
    let stored_before = stored_bytes(&kv, &prefix).await;
    let memory_before = server.memory_kib("VmRSS:");

    // 1,000 sign-ins with names of 1 MB, 200 at a time.
    let body = Arc::new(format!("name={}&password=wrong", "n".repeat(1_000_000)).into_bytes());
    let started = Instant::now();
    let (mut refused, mut broken) = (0, 0);
    for _ in 0..5 {
        let round = (0..200).map(|_| {
            let (server, body) = (server.clone(), body.clone());
            tokio::spawn(async move { server.request("POST /api/auth/sign-in", &body).await })
        });
        for answer in futures::future::join_all(round).await {
            match answer.unwrap() {
                Ok((413, text)) => {
                    assert!(text.contains("at most 16 KiB"), "{text}");
                    refused += 1;
                }
                Ok((status, text)) => panic!("a huge sign-in got {status}: {text}"),
                // Refused while the body was still being sent.
                Err(_) => broken += 1,
            }
        }
    }
    let took = started.elapsed();
    // Names just under the body limit reach the sign-in, which refuses them before the store.
    let body = format!("name={}&password=wrong", "n".repeat(15_000)).into_bytes();
    for _ in 0..50 {
        let (status, text) = server
            .request("POST /api/auth/sign-in", &body)
            .await
            .unwrap();
        assert_eq!(status, 400, "{text}");
        assert!(text.contains("at most 64 characters"), "{text}");
    }

    let grown = stored_bytes(&kv, &prefix).await - stored_before;
    let memory_peak = server.memory_kib("VmHWM:");
    let memory_grown_kib = memory_peak.saturating_sub(memory_before);
    println!(
        "1000 anonymous sign-ins with 1 MB names in {:.1} s: {refused} answered 413, {broken} cut off while sending; store grew by {grown} bytes; server memory {memory_before} KiB before, peak {memory_peak} KiB (+{memory_grown_kib} KiB)",
        took.as_secs_f64()
    );
    assert!(refused > 0, "no request was answered");
    assert!(grown <= 1_000_000, "the store grew by {grown} bytes");
    assert!(
        memory_grown_kib <= 50 * 1024,
        "the server's memory grew by {memory_grown_kib} KiB"
    );
    // The server still serves.
    let (status, _) = server.request("GET /healthz", &[]).await.unwrap();
    assert_eq!(status, 200);
}
