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
    /// Only time the reads of a namespace page: the key prefix and namespace to read.
    page: Option<(String, String)>,
    updates: usize,
    creators: usize,
    per_creator: usize,
}

fn options() -> BenchResult<Options> {
    let mut options = Options {
        etcd: "127.0.0.1:2379".into(),
        page: None,
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
            "--page" => {
                let prefix = value()?;
                options.page = Some((prefix, value()?));
            }
            "--help" | "-h" => {
                println!(
                    "confo-bench [--etcd HOST:PORT] [--updates N] [--creators N] [--per-creator N] [--page PREFIX NAMESPACE]"
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
    if let Some((prefix, namespace)) = &options.page {
        return page_reads(&options, prefix, namespace).await;
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let prefix = format!("bench-{stamp}/");
    let kv = EtcdKv::connect(&kv_config(&options)).await?;
    let store = Store::new(Arc::new(kv), KeyLayout::with_prefix(prefix.clone()));
    let mut raw = Client::connect([options.etcd.as_str()], None).await?;
    let version = raw.status().await?.version().to_owned();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cores} cores; etcd {version}");
    println!();
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

    println!("RAW_UPDATE_P50_US={:.0}", micros(percentile(&theirs, 0.5)));

    // 1b. The same field update on a configuration of 50 fields, with a 50-property schema
    //     (each field titled and bounded) against without one, and a raw read and
    //     compare-and-swap of the same value; interleaved.
    schema_saves(&options, &store, &mut raw, &prefix, &ns, &change).await?;

    // 1c. Publishing a change request that touches 20 configurations (one transaction) against
    //     20 single saves of the same changes, and the raw equivalents of both.
    request_publish(&store, &mut raw, &prefix, &change).await?;

    // 2. Many creators in one namespace at once: Confo's create_configuration against the best a
    //    raw etcd-client program does for the same result (the same keys, batched into
    //    compare-and-swap transactions by one task, as Confo's committer batches), in
    //    alternating order on fresh keys; then the same with two of each (two processes).
    let total = options.creators * options.per_creator;
    println!();
    println!(
        "{} creators x {} configurations in one namespace (two rounds each, alternating)",
        options.creators, options.per_creator
    );
    println!(
        "{:<34}{:>12}{:>14}{:>14}",
        "", "configs/s", "p50 ms", "p99 ms"
    );
    let mut rows: Vec<(String, f64, Vec<Duration>)> = Vec::new();
    // (namespace, what, writers): each pair alternates Confo and raw on fresh keys.
    let runs = [
        ("r0confo", "confo, one store", 1),
        ("r0raw", "raw batched, one writer", 1),
        ("r1confo", "confo, one store", 1),
        ("r1raw", "raw batched, one writer", 1),
        ("twoconfo", "confo, two stores", 2),
        ("tworaw", "raw batched, two writers", 2),
    ];
    for (name, label, writers) in runs {
        let (elapsed, latencies) = if label.starts_with("confo") {
            confo_creators(&options, &prefix, name, writers).await?
        } else {
            raw_creators(&options, &prefix, name, writers).await?
        };
        add_row(&mut rows, label, total, elapsed, latencies);
    }
    for (label, rate, latencies) in &mut rows {
        latencies.sort();
        println!(
            "{:<34}{:>12.0}{:>14.1}{:>14.1}",
            label,
            rate,
            micros(percentile(latencies, 0.5)) / 1000.0,
            micros(percentile(latencies, 0.99)) / 1000.0
        );
    }
    let rate = |label: &str| rows.iter().find(|r| r.0 == label).map_or(0.0, |r| r.1);
    println!(
        "{:<34}{:>12.2}",
        "throughput ratio, one writer",
        rate("confo, one store") / rate("raw batched, one writer")
    );
    println!(
        "{:<34}{:>12.2}",
        "throughput ratio, two writers",
        rate("confo, two stores") / rate("raw batched, two writers")
    );

    raw.delete(
        prefix.as_str(),
        Some(etcd_client::DeleteOptions::new().with_prefix()),
    )
    .await?;
    Ok(())
}

async fn schema_saves(
    options: &Options,
    store: &Store,
    raw: &mut Client,
    prefix: &str,
    ns: &NamespaceName,
    change: &Change,
) -> BenchResult<()> {
    use confo::store::{SchemaChoice, SettingsChange};
    let mut fields = serde_json::Map::new();
    let mut properties = serde_json::Map::new();
    for n in 0..50 {
        fields.insert(format!("f{n}"), json!(n));
        properties.insert(
            format!("f{n}"),
            json!({"title": format!("Setting {n}"), "description": "A bounded number.", "type": "integer", "minimum": 0, "maximum": 1_000_000_000}),
        );
    }
    let schema = json!({"type": "object", "properties": properties, "required": ["f0", "f1"]});
    let (with, without) = (
        ConfigurationName::new("schema50")?,
        ConfigurationName::new("plain50")?,
    );
    for name in [&with, &without] {
        store
            .create_configuration(ns, name, fields.clone(), change)
            .await?;
    }
    let assign = SettingsChange::Assign {
        configuration: with.clone(),
        choice: Some(SchemaChoice::Own(schema)),
    };
    store.change_settings(ns, assign, None, change).await?;
    let raw_key = format!("{prefix}bench-raw50");
    raw.put(raw_key.as_str(), serde_json::to_vec(&fields)?, None)
        .await?;
    let (mut schema_times, mut plain_times, mut raw_times) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..options.updates {
        let started = Instant::now();
        store
            .set_field(ns, &with, "f7", json!(i), None, change)
            .await?;
        schema_times.push(started.elapsed());
        let started = Instant::now();
        store
            .set_field(ns, &without, "f7", json!(i), None, change)
            .await?;
        plain_times.push(started.elapsed());
        let started = Instant::now();
        let read = raw.get(raw_key.as_str(), None).await?;
        let kv = &read.kvs()[0];
        let mut value: Value = serde_json::from_slice(kv.value())?;
        value["f7"] = json!(i);
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
        assert!(raw.txn(txn).await?.succeeded());
        raw_times.push(started.elapsed());
    }
    for times in [&mut schema_times, &mut plain_times, &mut raw_times] {
        times.sort();
    }
    let p = |t: &[Duration], q: f64| micros(percentile(t, q));
    println!();
    println!(
        "field update of a 50-field configuration, {} sequential writes each (µs)",
        options.updates
    );
    println!("{:<34}{:>12}{:>12}", "", "p50", "p99");
    for (label, times) in [
        ("confo, 50-property schema", &schema_times),
        ("confo, no schema", &plain_times),
        ("raw get + txn", &raw_times),
    ] {
        println!(
            "{:<34}{:>12.0}{:>12.0}",
            label,
            p(times, 0.5),
            p(times, 0.99)
        );
    }
    println!(
        "{:<34}{:>12.2}{:>12.2}",
        "ratio schema / no schema",
        p(&schema_times, 0.5) / p(&plain_times, 0.5),
        p(&schema_times, 0.99) / p(&plain_times, 0.99)
    );
    println!(
        "{:<34}{:>12.2}{:>12.2}",
        "ratio schema / raw",
        p(&schema_times, 0.5) / p(&raw_times, 0.5),
        p(&schema_times, 0.99) / p(&raw_times, 0.99)
    );
    Ok(())
}

/// Rounds of the change request figures.
const PUBLISH_ROUNDS: usize = 30;
/// Configurations one request touches.
const PUBLISHED: usize = 20;

async fn request_publish(
    store: &Store,
    raw: &mut Client,
    prefix: &str,
    change: &Change,
) -> BenchResult<()> {
    use confo::edit::Edit;
    use confo::request::{Approvers, Proposed, ReviewPolicy};
    use confo::store::NewRequest;
    use confo::users::{Grants, PasswordHash, Role, User};
    let hash = PasswordHash::from_stored("not a real hash".into());
    for name in ["author", "approver"] {
        let user = User {
            name: name.into(),
            role: Role::Editor,
            grants: Grants::All,
            disabled: false,
            created: chrono::Utc::now(),
        };
        store.create_user(&user, &hash, change).await?;
    }
    let (reviewed, direct) = (
        NamespaceName::new("reviewed")?,
        NamespaceName::new("direct")?,
    );
    let names: Vec<ConfigurationName> = (0..PUBLISHED)
        .map(|i| ConfigurationName::new(format!("c{i}")))
        .collect::<Result<_, _>>()?;
    let fields = json!({"host": "db.internal", "port": 5432, "pool": {"min": 1, "max": 10}});
    let Value::Object(fields) = fields else {
        unreachable!()
    };
    let raw_keys: Vec<String> = (0..PUBLISHED)
        .map(|i| format!("{prefix}raw-c{i}"))
        .collect();
    for ns in [&reviewed, &direct] {
        store.create_namespace(ns, change).await?;
        for name in &names {
            store
                .create_configuration(ns, name, fields.clone(), change)
                .await?;
        }
    }
    for key in &raw_keys {
        raw.put(key.as_str(), serde_json::to_vec(&fields)?, None)
            .await?;
    }
    let policy = ReviewPolicy {
        approvals: 1,
        approvers: Approvers::Editors,
    };
    store
        .set_review_policy(&reviewed, Some(policy), change)
        .await?;
    let (author, approver) = (
        Change::by(Actor::user("author")),
        Change::by(Actor::user("approver")),
    );
    let (mut publish, mut saves, mut raw_one, mut raw_each) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..PUBLISH_ROUNDS {
        let port = json!(round);
        let new = NewRequest {
            title: format!("round {round}"),
            description: String::new(),
            changes: names
                .iter()
                .map(|name| {
                    let edits = vec![Edit::Set {
                        path: "/port".into(),
                        value: port.clone(),
                    }];
                    (name.clone(), Proposed::Edits(edits), None)
                })
                .collect(),
            schemas: Vec::new(),
            settings_revision: None,
            draft: false,
        };
        let id = store
            .open_request(&reviewed, new, &author)
            .await?
            .request
            .id;
        store.approve_request(id, None, &approver).await?;
        let transactions = store.commit_stats().transactions;
        let started = Instant::now();
        store.publish_request(id, None, &author).await?;
        publish.push(started.elapsed());
        assert_eq!(
            store.commit_stats().transactions,
            transactions + 1,
            "a publish is one transaction"
        );
        let check = store
            .get_configuration(&reviewed, &names[PUBLISHED - 1])
            .await?;
        assert_eq!(check.fields["port"], port, "the publish wrote the change");

        let started = Instant::now();
        for name in &names {
            store
                .set_field(&direct, name, "port", port.clone(), None, change)
                .await?;
        }
        saves.push(started.elapsed());

        // Raw: the 20 keys read in one request and written in one compare-and-swap...
        let started = Instant::now();
        let gets: Vec<TxnOp> = raw_keys
            .iter()
            .map(|k| TxnOp::get(k.as_str(), None))
            .collect();
        let read = raw.txn(Txn::new().and_then(gets)).await?;
        let mut compares = Vec::new();
        let mut puts = Vec::new();
        for (key, response) in raw_keys.iter().zip(read.op_responses()) {
            let etcd_client::TxnOpResponse::Get(get) = response else {
                return Err("a read in a transaction answered something else".into());
            };
            let kv = &get.kvs()[0];
            let mut value: Value = serde_json::from_slice(kv.value())?;
            value["port"] = port.clone();
            compares.push(Compare::mod_revision(
                key.as_str(),
                CompareOp::Equal,
                kv.mod_revision(),
            ));
            puts.push(TxnOp::put(key.as_str(), serde_json::to_vec(&value)?, None));
        }
        assert!(
            raw.txn(Txn::new().when(compares).and_then(puts))
                .await?
                .succeeded()
        );
        raw_one.push(started.elapsed());

        // ... and one read and compare-and-swap per key.
        let started = Instant::now();
        for key in &raw_keys {
            let read = raw.get(key.as_str(), None).await?;
            let kv = &read.kvs()[0];
            let mut value: Value = serde_json::from_slice(kv.value())?;
            value["port"] = port.clone();
            let txn = Txn::new()
                .when([Compare::mod_revision(
                    key.as_str(),
                    CompareOp::Equal,
                    kv.mod_revision(),
                )])
                .and_then([TxnOp::put(key.as_str(), serde_json::to_vec(&value)?, None)]);
            assert!(raw.txn(txn).await?.succeeded());
        }
        raw_each.push(started.elapsed());
    }
    for times in [&mut publish, &mut saves, &mut raw_one, &mut raw_each] {
        times.sort();
    }
    let ms = |t: &[Duration], q: f64| micros(percentile(t, q)) / 1000.0;
    println!();
    println!("a change request touching {PUBLISHED} configurations, {PUBLISH_ROUNDS} rounds (ms)");
    println!("{:<44}{:>10}{:>10}", "", "p50", "p99");
    for (label, times) in [
        ("confo publish (one transaction)", &publish),
        ("confo, 20 single saves", &saves),
        ("raw, one read + one transaction", &raw_one),
        ("raw, 20 reads + 20 transactions", &raw_each),
    ] {
        println!(
            "{:<44}{:>10.2}{:>10.2}",
            label,
            ms(times, 0.5),
            ms(times, 0.99)
        );
    }
    println!(
        "{:<44}{:>10.2}{:>10.2}",
        "ratio publish / 20 saves",
        ms(&publish, 0.5) / ms(&saves, 0.5),
        ms(&publish, 0.99) / ms(&saves, 0.99)
    );
    println!(
        "{:<44}{:>10.2}{:>10.2}",
        "ratio publish / raw one transaction",
        ms(&publish, 0.5) / ms(&raw_one, 0.5),
        ms(&publish, 0.99) / ms(&raw_one, 0.99)
    );
    Ok(())
}

fn kv_config(options: &Options) -> EtcdConfig {
    EtcdConfig {
        endpoints: vec![options.etcd.clone()],
        timeout: Duration::from_secs(5),
        credentials: None,
    }
}

/// Adds a row, merging it with an earlier row of the same label (the alternating rounds).
fn add_row(
    rows: &mut Vec<(String, f64, Vec<Duration>)>,
    label: &str,
    total: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
) {
    let rate = total as f64 / elapsed.as_secs_f64();
    match rows.iter_mut().find(|r| r.0 == label) {
        Some(row) => {
            row.1 = (row.1 + rate) / 2.0;
            row.2.extend(latencies);
        }
        None => rows.push((label.to_owned(), rate, latencies)),
    }
}

/// `options.creators` tasks, spread over `stores` stores (each with its own connection and
/// committer, as separate processes have), create their configurations in namespace `name`.
/// Answers the time taken and each creation's latency.
async fn confo_creators(
    options: &Options,
    prefix: &str,
    name: &str,
    stores: usize,
) -> BenchResult<(Duration, Vec<Duration>)> {
    let mut all = Vec::new();
    for _ in 0..stores {
        let kv = EtcdKv::connect(&kv_config(options)).await?;
        all.push(Store::new(
            Arc::new(kv),
            KeyLayout::with_prefix(prefix.to_owned()),
        ));
    }
    let change = Change::by(Actor::system());
    let ns = NamespaceName::new(name)?;
    all[0].create_namespace(&ns, &change).await?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..options.creators)
        .map(|w| {
            let (store, ns, change) = (all[w % stores].clone(), ns.clone(), change.clone());
            let per = options.per_creator;
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per);
                for i in 0..per {
                    let name = ConfigurationName::new(format!("c{w}x{i}")).expect("valid");
                    let one = Instant::now();
                    store
                        .create_configuration(&ns, &name, Default::default(), &change)
                        .await?;
                    latencies.push(one.elapsed());
                }
                Ok::<_, confo::Error>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    let listed = all[0].list_configurations(&ns).await?.registered.len();
    if listed != options.creators * options.per_creator {
        return Err(format!("{listed} configurations listed").into());
    }
    Ok((elapsed, latencies))
}

/// The best a raw etcd-client program does for the same result: the creators hand their names
/// to `writers` batching tasks, each of which reads the index, appends every waiting name, and
/// writes the index and the new keys in one compare-and-swap transaction (at most 126 names),
/// planning again on a lost comparison.
async fn raw_creators(
    options: &Options,
    prefix: &str,
    name: &str,
    writers: usize,
) -> BenchResult<(Duration, Vec<Duration>)> {
    type Ask = (String, tokio::sync::oneshot::Sender<()>);
    let index_key = format!("{prefix}{name}");
    let mut raw = Client::connect([options.etcd.as_str()], None).await?;
    raw.put(index_key.as_str(), r#"{"configurations":[]}"#, None)
        .await?;
    let mut senders = Vec::new();
    let mut batchers = Vec::new();
    for _ in 0..writers {
        let (send, mut asks) = tokio::sync::mpsc::unbounded_channel::<Ask>();
        senders.push(send);
        let mut raw = Client::connect([options.etcd.as_str()], None).await?;
        let (index_key, prefix, name) = (index_key.clone(), prefix.to_owned(), name.to_owned());
        batchers.push(tokio::spawn(async move {
            let mut waiting: Vec<Ask> = Vec::new();
            loop {
                if waiting.is_empty() {
                    match asks.recv().await {
                        Some(ask) => waiting.push(ask),
                        None => return Ok::<_, Box<dyn std::error::Error + Send + Sync>>(()),
                    }
                }
                while waiting.len() < 126
                    && let Ok(ask) = asks.try_recv()
                {
                    waiting.push(ask);
                }
                let read = raw.get(index_key.as_str(), None).await?;
                let kv = &read.kvs()[0];
                let mut index: Value = serde_json::from_slice(kv.value())?;
                let list = index["configurations"].as_array_mut().ok_or("a list")?;
                let mut ops = Vec::new();
                let mut compares = vec![Compare::mod_revision(
                    index_key.as_str(),
                    CompareOp::Equal,
                    kv.mod_revision(),
                )];
                for (config, _) in &waiting {
                    list.push(json!(config));
                    let key = format!("{prefix}{name}-{config}");
                    compares.push(Compare::mod_revision(key.as_str(), CompareOp::Equal, 0));
                    ops.push(TxnOp::put(key.as_str(), "{}", None));
                }
                ops.push(TxnOp::put(
                    index_key.as_str(),
                    serde_json::to_vec(&index)?,
                    None,
                ));
                let txn = Txn::new().when(compares).and_then(ops);
                if raw.txn(txn).await?.succeeded() {
                    for (_, done) in waiting.drain(..) {
                        let _ = done.send(());
                    }
                }
            }
        }));
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..options.creators)
        .map(|w| {
            let send = senders[w % writers].clone();
            let per = options.per_creator;
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per);
                for i in 0..per {
                    let (done, wait) = tokio::sync::oneshot::channel();
                    let one = Instant::now();
                    send.send((format!("c{w}x{i}"), done))
                        .map_err(|_| "the batcher stopped")?;
                    wait.await?;
                    latencies.push(one.elapsed());
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    drop(senders);
    for batcher in batchers {
        batcher.await??;
    }
    let read = raw.get(index_key.as_str(), None).await?;
    let index: Value = serde_json::from_slice(read.kvs()[0].value())?;
    let listed = index["configurations"].as_array().map_or(0, Vec::len);
    if listed != options.creators * options.per_creator {
        return Err(format!("{listed} configurations listed by the raw writers").into());
    }
    Ok((elapsed, latencies))
}

/// The median of 20 runs of `work`.
async fn median_of_20<F, Fut>(mut work: F) -> BenchResult<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = BenchResult<()>>,
{
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        work().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(percentile(&times, 0.5))
}

/// The reads a namespace page makes for its data (the page of the first 50 configurations),
/// through Confo's store and as raw etcd-client (gRPC) requests for the same keys: the root and
/// the namespace's index, the keys under the namespace (for ones not listed), the newest
/// history entry of each configuration shown and their audit entries.
async fn page_reads(options: &Options, prefix: &str, namespace: &str) -> BenchResult<()> {
    const SHOWN: usize = 50;
    let kv = EtcdKv::connect(&kv_config(options)).await?;
    let layout = KeyLayout::with_prefix(prefix.to_owned());
    let store = Store::new(Arc::new(kv), layout.clone());
    let ns = NamespaceName::new(namespace)?;
    let listed = store.list_configurations(&ns).await?.registered.len();
    let confo_time = median_of_20(|| {
        let (store, ns) = (store.clone(), ns.clone());
        async move {
            let listing = store.list_configurations(&ns).await?;
            let shown: Vec<ConfigurationName> = listing
                .registered
                .iter()
                .take(SHOWN)
                .filter_map(|n| ConfigurationName::new(n.as_str()).ok())
                .collect();
            store.latest_versions(&ns, &shown).await?;
            Ok(())
        }
    })
    .await?;
    let raw = Client::connect([options.etcd.as_str()], None).await?;
    let raw_time = median_of_20(|| {
        let (mut raw, layout, ns) = (raw.clone(), layout.clone(), ns.clone());
        async move {
            let txn = Txn::new().and_then([
                TxnOp::get(layout.root(), None),
                TxnOp::get(layout.namespace(&ns), None),
            ]);
            let read = raw.txn(txn).await?;
            let index = read
                .op_responses()
                .into_iter()
                .nth(1)
                .and_then(|r| match r {
                    etcd_client::TxnOpResponse::Get(get) => get.kvs().first().cloned(),
                    _ => None,
                })
                .ok_or("no index")?;
            let index: Value = serde_json::from_slice(index.value())?;
            let names: Vec<String> = index["configurations"]
                .as_array()
                .ok_or("a list")?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            let own = format!("{}{}-", layout.prefix(), ns);
            raw.get(
                own.as_str(),
                Some(
                    etcd_client::GetOptions::new()
                        .with_prefix()
                        .with_keys_only(),
                ),
            )
            .await?;
            let newest = names.iter().take(SHOWN).map(|name| {
                let mut raw = raw.clone();
                let history = layout
                    .history_prefix(&ns, &ConfigurationName::new(name.as_str()).expect("valid"));
                async move {
                    let options = etcd_client::GetOptions::new()
                        .with_prefix()
                        .with_limit(1)
                        .with_sort(
                            etcd_client::SortTarget::Key,
                            etcd_client::SortOrder::Descend,
                        )
                        .with_keys_only();
                    let found = raw.get(history.as_str(), Some(options)).await?;
                    Ok::<_, etcd_client::Error>(found.kvs().first().and_then(|kv| {
                        kv.key_str()
                            .ok()?
                            .strip_prefix(history.as_str())?
                            .parse::<u64>()
                            .ok()
                    }))
                }
            });
            let seqs = futures::future::try_join_all(newest).await?;
            let gets: Vec<TxnOp> = seqs
                .iter()
                .flatten()
                .map(|seq| TxnOp::get(layout.audit_entry(*seq), None))
                .collect();
            raw.txn(Txn::new().and_then(gets)).await?;
            Ok(())
        }
    })
    .await?;
    println!(
        "namespace page reads, {listed} configurations (median of 20, ms): confo {:.2}, raw gRPC {:.2}, ratio {:.2}",
        micros(confo_time) / 1000.0,
        micros(raw_time) / 1000.0,
        confo_time.as_secs_f64() / raw_time.as_secs_f64()
    );
    println!("PAGE_RAW_MS={:.3}", micros(raw_time) / 1000.0);
    Ok(())
}
