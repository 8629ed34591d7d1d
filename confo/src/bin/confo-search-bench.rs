//! Measures the search index (see `confo::search`) on a large store: how long building it takes
//! beside reading the same keys from etcd directly, how much memory it holds, and the latency of
//! the first page of results for a name, a path and a value query, beside one etcd read. Then an
//! import (see `confo::import`) of 10,000 configurations into an empty store: its preview, its
//! writes and their transactions, beside raw etcd writing the same keys.
//!
//! ```text
//! cargo run --release -p confo --bin confo-search-bench -- --etcd 127.0.0.1:2379 \
//!     [--namespaces 1000] [--configurations 100] [--queries 200]
//! ```
//! `scripts/bench-search.sh` starts a throw-away etcd and runs it. Keys are written under a
//! fresh prefix (`search-bench-<time>/`) in the original Confo's layout, 20 fields each.

use std::time::{Duration, Instant};

use confo::kv::etcd::{EtcdConfig, EtcdKv};
use confo::search::{Query, Scope, SearchIndex};
use confo::{KeyLayout, Store};
use etcd_client::{Client, GetOptions, Txn, TxnOp};
use serde_json::json;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Options {
    etcd: String,
    namespaces: usize,
    configurations: usize,
    queries: usize,
    /// Configurations to import (in namespaces of 100).
    import: usize,
}

fn options() -> BenchResult<Options> {
    let mut options = Options {
        etcd: "127.0.0.1:2379".into(),
        namespaces: 1000,
        configurations: 100,
        queries: 200,
        import: 10_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--etcd" => options.etcd = value()?,
            "--namespaces" => options.namespaces = value()?.parse()?,
            "--configurations" => options.configurations = value()?.parse()?,
            "--queries" => options.queries = value()?.parse()?,
            "--import" => options.import = value()?.parse()?,
            "--help" | "-h" => {
                println!(
                    "confo-search-bench [--etcd HOST:PORT] [--namespaces N] [--configurations N] [--queries N] [--import N]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok(options)
}

/// Twenty fields (places holding a value): strings, numbers, booleans, a null, a list, a list
/// of objects and an object.
fn fields(ns: usize, cfg: usize) -> serde_json::Value {
    let region = ["eu-west-1", "us-east-1", "ap-south-1"][cfg % 3];
    json!({
        "name": format!("service {ns}-{cfg}"),
        "host": format!("db-{ns}-{cfg}.internal"),
        "port": 5000 + cfg,
        "enabled": cfg.is_multiple_of(2),
        "ratio": 0.25,
        "owner": format!("team-{}", ns % 37),
        "region": region,
        "timeout_ms": 1500,
        "retries": 3,
        "note": null,
        "url": format!("https://api-{ns}.example.com/v1/{cfg}"),
        "tier": "gold",
        "queue": format!("orders-{}", cfg % 10),
        "debug": false,
        "tags": ["a", "b"],
        "servers": [{"host": format!("replica-{ns}-{cfg}"), "port": 5432}],
        "limits": {"cpu": 2, "memory": "512Mi"},
    })
}

/// Confo's connection to the bench's etcd, patient with the large reads.
async fn connect(options: &Options) -> BenchResult<EtcdKv> {
    Ok(EtcdKv::connect(&EtcdConfig {
        endpoints: vec![options.etcd.clone()],
        timeout: Duration::from_secs(30),
        credentials: None,
    })
    .await?)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// This process's resident memory, in bytes (Linux).
fn resident() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let options = options()?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let prefix = format!("search-bench-{stamp}/");
    let mut raw = Client::connect([options.etcd.as_str()], None).await?;

    // The store, written in the original layout, 100 keys or so a transaction.
    let started = Instant::now();
    let names: Vec<String> = (0..options.namespaces)
        .map(|n| format!("ns{n:04}"))
        .collect();
    let mut ops: Vec<TxnOp> = vec![TxnOp::put(
        format!("{prefix}confo"),
        json!({"namespaces": names}).to_string(),
        None,
    )];
    let mut written = 0usize;
    for (n, namespace) in names.iter().enumerate() {
        let configurations: Vec<String> = (0..options.configurations)
            .map(|c| format!("cfg{c:03}"))
            .collect();
        ops.push(TxnOp::put(
            format!("{prefix}{namespace}"),
            json!({"configurations": configurations}).to_string(),
            None,
        ));
        for (c, configuration) in configurations.iter().enumerate() {
            ops.push(TxnOp::put(
                format!("{prefix}{namespace}-{configuration}"),
                fields(n, c).to_string(),
                None,
            ));
            if ops.len() >= 100 {
                written += ops.len();
                raw.txn(Txn::new().and_then(std::mem::take(&mut ops)))
                    .await?;
            }
        }
    }
    written += ops.len();
    raw.txn(Txn::new().and_then(ops)).await?;
    let fields_total = options.namespaces * options.configurations * 20;
    println!(
        "store: {} namespaces x {} configurations x 20 fields ({} fields, {written} keys) written in {:.1} s",
        options.namespaces,
        options.configurations,
        fields_total,
        started.elapsed().as_secs_f64()
    );

    // Raw etcd: every key of the store, in range reads of 1,000 keys (what any index must read
    // at least).
    let started = Instant::now();
    let end = confo::kv::prefix_end(&prefix);
    let mut from = prefix.clone().into_bytes();
    let mut raw_bytes = 0usize;
    loop {
        let page = raw
            .get(
                from.clone(),
                Some(GetOptions::new().with_range(end.as_str()).with_limit(1000)),
            )
            .await?;
        raw_bytes += page.kvs().iter().map(|kv| kv.value().len()).sum::<usize>();
        match page.kvs().last() {
            Some(last) if page.more() => {
                from = last.key().to_vec();
                from.push(0);
            }
            _ => break,
        }
    }
    let raw_read = started.elapsed();

    let kv = connect(&options).await?;
    let store = Store::new(
        std::sync::Arc::new(kv),
        KeyLayout::with_prefix(prefix.clone()),
    );
    let index = SearchIndex::new(confo::search::DEFAULT_VALUE_CEILING);
    let before = resident();
    let started = Instant::now();
    index.rebuild(&store).await?;
    let build = started.elapsed();
    let after = resident();
    let size = index.size();
    println!();
    println!("index build                  {:>9.0} ms", ms(build));
    println!(
        "raw etcd range of every key  {:>9.0} ms  ({:.1} MiB of values)   ratio {:.1}x",
        ms(raw_read),
        raw_bytes as f64 / 1048576.0,
        build.as_secs_f64() / raw_read.as_secs_f64()
    );
    println!(
        "index memory: {:.0} MiB by its own count, {:.0} MiB more resident ({} configurations, {} fields, {:.0} bytes a field)",
        size.bytes as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / 1048576.0,
        size.configurations,
        size.fields,
        size.bytes as f64 / size.fields.max(1) as f64
    );

    // One etcd read of one key, for scale.
    let mut gets = Vec::with_capacity(options.queries);
    for i in 0..options.queries {
        let key = format!(
            "{prefix}ns{:04}-cfg{:03}",
            i % options.namespaces,
            i % options.configurations
        );
        let started = Instant::now();
        store.kv().get(&key).await?;
        gets.push(started.elapsed());
    }
    gets.sort();
    println!();
    println!(
        "{:<44} {:>9} {:>9} {:>9}  {:>8}",
        "first page of 25 (every match counted)", "p50 ms", "p99 ms", "matches", "p99/get"
    );
    let get_p99 = percentile(&gets, 0.99);
    println!(
        "{:<44} {:>9.2} {:>9.2} {:>9}",
        "raw etcd: get one key",
        ms(percentile(&gets, 0.5)),
        ms(get_p99),
        "-"
    );
    let last = options.namespaces - 1;
    let queries: [(&str, String, Scope); 5] = [
        ("name: cfg042 (names only)", "cfg042".into(), names_only()),
        ("path: servers.0.host", "servers.0.host".into(), Scope::ALL),
        (
            "value, one match: db-<last>-7.internal",
            format!("db-{last}-7.internal"),
            Scope::ALL,
        ),
        ("value, many matches: eu-west", "eu-west".into(), Scope::ALL),
        (
            "nothing matches: zzz-nowhere",
            "zzz-nowhere".into(),
            Scope::ALL,
        ),
    ];
    for (label, text, scope) in queries {
        let mut times = Vec::with_capacity(options.queries);
        let mut total = 0;
        for _ in 0..options.queries {
            let started = Instant::now();
            let results = index.search(&Query {
                text: &text,
                namespace: None,
                scope,
                readable: &|_| true,
                offset: 0,
                limit: 25,
            });
            times.push(started.elapsed());
            total = results.total;
        }
        times.sort();
        let p99 = percentile(&times, 0.99);
        println!(
            "{:<44} {:>9.2} {:>9.2} {:>9}  {:>7.1}x",
            label,
            ms(percentile(&times, 0.5)),
            ms(p99),
            total,
            p99.as_secs_f64() / get_p99.as_secs_f64()
        );
    }

    // Leave the shared cluster as it was.
    raw.delete(
        prefix.as_str(),
        Some(etcd_client::DeleteOptions::new().with_prefix()),
    )
    .await?;

    import(&options, &mut raw, stamp).await
}

/// An import of `options.import` configurations into an empty store, beside raw etcd writing
/// the same keys in transactions of 100.
async fn import(options: &Options, raw: &mut Client, stamp: u128) -> BenchResult<()> {
    use confo::import::{Existing, Options as ImportOptions};
    let per = 100;
    let namespaces = options.import.div_ceil(per);
    let mut incoming: confo::import::Incoming = Vec::new();
    for n in 0..namespaces {
        let configurations = (0..per.min(options.import - n * per))
            .map(|c| {
                let fields = fields(n, c).as_object().cloned().unwrap_or_default();
                (format!("cfg{c:03}"), fields)
            })
            .collect();
        incoming.push((format!("imp{n:04}"), configurations));
    }
    let prefix = format!("import-bench-{stamp}/");
    let kv = connect(options).await?;
    let store = Store::new(
        std::sync::Arc::new(kv),
        KeyLayout::with_prefix(prefix.clone()),
    );
    store.ensure_root().await?;
    let import_options = ImportOptions {
        existing: Existing::Skip,
        delete_missing: false,
        renames: Default::default(),
        schemas: Default::default(),
    };
    let started = Instant::now();
    let preview = store.preview_import(&incoming, &import_options).await?;
    let previewed = started.elapsed();
    let before = store.commit_stats().transactions;
    let started = Instant::now();
    let report = store
        .apply_import(&preview, &confo::Change::by(confo::Actor::system()))
        .await?;
    let applied = started.elapsed();
    let transactions = store.commit_stats().transactions - before;
    if report.failed() > 0 {
        return Err(format!("{} configurations were not written", report.failed()).into());
    }

    // Raw etcd: the same configuration keys, 100 to a transaction, no index, no audit.
    let raw_prefix = format!("import-bench-raw-{stamp}/");
    let started = Instant::now();
    let mut raw_transactions = 0;
    for (namespace, configurations) in &incoming {
        let ops: Vec<TxnOp> = configurations
            .iter()
            .map(|(name, fields)| {
                TxnOp::put(
                    format!("{raw_prefix}{namespace}-{name}"),
                    serde_json::Value::Object(fields.clone()).to_string(),
                    None,
                )
            })
            .collect();
        raw.txn(Txn::new().and_then(ops)).await?;
        raw_transactions += 1;
    }
    let raw_time = started.elapsed();
    println!();
    println!(
        "import of {} configurations into {namespaces} new namespaces: preview {:.2} s; writing {:.2} s in {transactions} transactions ({} configurations written)",
        options.import,
        previewed.as_secs_f64(),
        applied.as_secs_f64(),
        report.outcomes.len()
    );
    println!(
        "raw etcd, the same keys 100 to a transaction (no index, no audit): {:.2} s in {raw_transactions} transactions   ratio {:.1}x",
        raw_time.as_secs_f64(),
        applied.as_secs_f64() / raw_time.as_secs_f64()
    );
    for p in [&prefix, &raw_prefix] {
        raw.delete(
            p.as_str(),
            Some(etcd_client::DeleteOptions::new().with_prefix()),
        )
        .await?;
    }
    Ok(())
}

fn names_only() -> Scope {
    Scope {
        names: true,
        paths: false,
        values: false,
    }
}
