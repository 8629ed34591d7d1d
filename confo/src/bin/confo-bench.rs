//! Measures Confo's storage against raw etcd-client requests doing the same work, in one run on
//! one etcd, and prints the figures side by side with their ratios.
//!
//! ```text
//! cargo run --release -p confo --bin confo-bench -- --etcd 127.0.0.1:2379
//! ```
//! `scripts/bench.sh` starts a throw-away etcd and runs it. Every key it writes is under a fresh
//! prefix (`bench-<time>/`), so it can point at a shared cluster.

use std::sync::Arc;
use std::time::{Duration, Instant};

use confo::kv::etcd::{EtcdConfig, EtcdKv};
use confo::{Actor, Change, ConfigurationName, KeyLayout, NamespaceName, Store};
use etcd_client::{Client, Compare, CompareOp, Txn, TxnOp};
use serde_json::{Value, json};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Options {
    etcd: String,
    updates: usize,
    creators: usize,
    per_creator: usize,
}

fn options() -> BenchResult<Options> {
    let mut options = Options {
        etcd: "127.0.0.1:2379".into(),
        updates: 1000,
        creators: 64,
        per_creator: 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--etcd" => options.etcd = value()?,
            "--updates" => options.updates = value()?.parse()?,
            "--creators" => options.creators = value()?.parse()?,
            "--per-creator" => options.per_creator = value()?.parse()?,
            "--help" | "-h" => {
                println!(
                    "confo-bench [--etcd HOST:PORT] [--updates N] [--creators N] [--per-creator N]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok(options)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let options = options()?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let prefix = format!("bench-{stamp}/");
    let kv = EtcdKv::connect(&EtcdConfig {
        endpoints: vec![options.etcd.clone()],
        timeout: Duration::from_secs(5),
        credentials: None,
    })
    .await?;
    let store = Store::new(Arc::new(kv), KeyLayout::with_prefix(prefix.clone()));
    let mut raw = Client::connect([options.etcd.as_str()], None).await?;
    let change = Change::by(Actor::system());
    store.ensure_root().await?;

    // 1. One field update at a time: Confo's set_field (read, plan, compare-and-swap with its
    //    audit entry) against a raw read and compare-and-swap of the same configuration.
    let ns = NamespaceName::new("bench")?;
    store.create_namespace(&ns, &change).await?;
    let ours_cfg = ConfigurationName::new("ours")?;
    let fields = json!({"host": "db.internal", "port": 5432, "pool": {"min": 1, "max": 10}, "tags": ["a", "b"]});
    let Value::Object(fields) = fields else {
        unreachable!()
    };
    store
        .create_configuration(&ns, &ours_cfg, fields.clone(), &change)
        .await?;
    let raw_key = format!("{prefix}bench-raw");
    raw.put(raw_key.as_str(), serde_json::to_vec(&fields)?, None)
        .await?;

    let mut ours = Vec::with_capacity(options.updates);
    let mut theirs = Vec::with_capacity(options.updates);
    for i in 0..options.updates {
        // Interleaved, so that both see the same machine at the same moment.
        let started = Instant::now();
        store
            .set_field(&ns, &ours_cfg, "port", json!(i), None, &change)
            .await?;
        ours.push(started.elapsed());

        let started = Instant::now();
        let read = raw.get(raw_key.as_str(), None).await?;
        let kv = &read.kvs()[0];
        let mut value: Value = serde_json::from_slice(kv.value())?;
        value["port"] = json!(i);
        let txn = Txn::new()
            .when([Compare::mod_revision(
                raw_key.as_str(),
                CompareOp::Equal,
                kv.mod_revision(),
            )])
            .and_then([TxnOp::put(
                raw_key.as_str(),
                serde_json::to_vec(&value)?,
                None,
            )]);
        let response = raw.txn(txn).await?;
        assert!(response.succeeded());
        theirs.push(started.elapsed());
    }
    ours.sort();
    theirs.sort();
    println!("field update, {} sequential writes (µs)", options.updates);
    println!("{:<28}{:>12}{:>12}", "", "p50", "p99");
    println!(
        "{:<28}{:>12.0}{:>12.0}",
        "confo set_field",
        micros(percentile(&ours, 0.5)),
        micros(percentile(&ours, 0.99))
    );
    println!(
        "{:<28}{:>12.0}{:>12.0}",
        "raw get + txn",
        micros(percentile(&theirs, 0.5)),
        micros(percentile(&theirs, 0.99))
    );
    println!(
        "{:<28}{:>12.2}{:>12.2}",
        "ratio",
        micros(percentile(&ours, 0.5)) / micros(percentile(&theirs, 0.5)),
        micros(percentile(&ours, 0.99)) / micros(percentile(&theirs, 0.99))
    );

    // 2. Many creators in one namespace at once: Confo's create_configuration against a raw
    //    compare-and-swap loop on the same keys (the namespace index and the new key).
    let total = options.creators * options.per_creator;
    let ns_ours = NamespaceName::new("creators")?;
    store.create_namespace(&ns_ours, &change).await?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..options.creators)
        .map(|w| {
            let (store, ns, change) = (store.clone(), ns_ours.clone(), change.clone());
            let per = options.per_creator;
            tokio::spawn(async move {
                for i in 0..per {
                    let name = ConfigurationName::new(format!("c{w}x{i}")).expect("valid");
                    store
                        .create_configuration(&ns, &name, Default::default(), &change)
                        .await?;
                }
                Ok::<_, confo::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let ours_elapsed = started.elapsed();
    let listed = store.list_configurations(&ns_ours).await?.registered.len();
    assert_eq!(listed, total);

    let index_key = format!("{prefix}rawcreators");
    raw.put(index_key.as_str(), r#"{"configurations":[]}"#, None)
        .await?;
    let started = Instant::now();
    let mut conflicts = 0usize;
    let tasks: Vec<_> = (0..options.creators)
        .map(|w| {
            let (mut raw, index_key, prefix) = (raw.clone(), index_key.clone(), prefix.clone());
            let per = options.per_creator;
            tokio::spawn(async move {
                let mut conflicts = 0usize;
                for i in 0..per {
                    let name = format!("c{w}x{i}");
                    let key = format!("{prefix}rawcreators-{name}");
                    loop {
                        let read = raw.get(index_key.as_str(), None).await?;
                        let kv = &read.kvs()[0];
                        let mut index: Value = serde_json::from_slice(kv.value())?;
                        index["configurations"]
                            .as_array_mut()
                            .expect("a list")
                            .push(json!(name));
                        let txn = Txn::new()
                            .when([
                                Compare::mod_revision(
                                    index_key.as_str(),
                                    CompareOp::Equal,
                                    kv.mod_revision(),
                                ),
                                Compare::mod_revision(key.as_str(), CompareOp::Equal, 0),
                            ])
                            .and_then([
                                TxnOp::put(index_key.as_str(), serde_json::to_vec(&index)?, None),
                                TxnOp::put(key.as_str(), "{}", None),
                            ]);
                        if raw.txn(txn).await?.succeeded() {
                            break;
                        }
                        conflicts += 1;
                    }
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(conflicts)
            })
        })
        .collect();
    for task in tasks {
        conflicts += task.await??;
    }
    let raw_elapsed = started.elapsed();
    let ours_rate = total as f64 / ours_elapsed.as_secs_f64();
    let raw_rate = total as f64 / raw_elapsed.as_secs_f64();
    println!();
    println!(
        "{} creators x {} configurations in one namespace",
        options.creators, options.per_creator
    );
    println!("{:<28}{:>12}{:>14}", "", "seconds", "configs/s");
    println!(
        "{:<28}{:>12.2}{:>14.0}",
        "confo create_configuration",
        ours_elapsed.as_secs_f64(),
        ours_rate
    );
    println!(
        "{:<28}{:>12.2}{:>14.0}   ({conflicts} lost compare-and-swaps)",
        "raw compare-and-swap loop",
        raw_elapsed.as_secs_f64(),
        raw_rate
    );
    println!("{:<28}{:>26.2}", "throughput ratio", ours_rate / raw_rate);

    raw.delete(
        prefix.as_str(),
        Some(etcd_client::DeleteOptions::new().with_prefix()),
    )
    .await?;
    Ok(())
}
