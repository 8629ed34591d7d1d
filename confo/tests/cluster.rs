//! Fault tests on a real three-member etcd cluster on loopback: members are killed with SIGKILL
//! (the leader first) while writers keep writing.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use confo::audit::Verification;
use confo::kv::etcd::{EtcdConfig, EtcdKv};
use confo::{Actor, Change, ConfigurationName, Error, KeyLayout, NamespaceName, Store};
use serde_json::json;

const MEMBERS: usize = 3;
const BASE_PORT: u16 = 24379;

struct Member {
    name: String,
    client_url: String,
    child: Option<Child>,
}

struct Cluster {
    members: Vec<Member>,
    dir: tempfile::TempDir,
    initial_cluster: String,
}

impl Cluster {
    fn start() -> Option<Self> {
        if Command::new("etcd").arg("--version").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "etcd must be installed in CI"
            );
            eprintln!("skipped: no etcd binary (scripts/test.sh installs it)");
            return None;
        }
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .unwrap();
        let peer = |i: usize| format!("http://127.0.0.1:{}", BASE_PORT + 10 * i as u16 + 1);
        let initial_cluster = (0..MEMBERS)
            .map(|i| format!("m{i}={}", peer(i)))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            members: Vec::new(),
            dir,
            initial_cluster,
        };
        for i in 0..MEMBERS {
            cluster.members.push(Member {
                name: format!("m{i}"),
                client_url: format!("http://127.0.0.1:{}", BASE_PORT + 10 * i as u16),
                child: None,
            });
            cluster.spawn(i, "new");
        }
        Some(cluster)
    }

    fn spawn(&mut self, i: usize, state: &str) {
        let member = &self.members[i];
        let peer = format!("http://127.0.0.1:{}", BASE_PORT + 10 * i as u16 + 1);
        let log =
            std::fs::File::create(self.dir.path().join(format!("{}.log", member.name))).unwrap();
        let child = Command::new("etcd")
            .args(["--name", &member.name])
            .arg("--data-dir")
            .arg(self.dir.path().join(&member.name))
            .args(["--listen-client-urls", &member.client_url])
            .args(["--advertise-client-urls", &member.client_url])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-state", state])
            .args(["--initial-cluster-token", "confo-fault-test"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        self.members[i].child = Some(child);
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// The index of the member that leads, once one does.
    async fn leader(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            for (i, member) in self.members.iter().enumerate() {
                if member.child.is_none() {
                    continue;
                }
                let Ok(Ok(mut client)) = tokio::time::timeout(
                    Duration::from_secs(1),
                    etcd_client::Client::connect([member.client_url.as_str()], None),
                )
                .await
                else {
                    continue;
                };
                if let Ok(Ok(status)) =
                    tokio::time::timeout(Duration::from_secs(1), client.status()).await
                    && let Some(header) = status.header()
                    && status.leader() != 0
                    && status.leader() == header.member_id()
                {
                    return i;
                }
            }
            assert!(Instant::now() < deadline, "no leader within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}

/// What a writer was told about each of its writes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Saved(i64),
    Unknown,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_members_loses_and_duplicates_nothing() {
    let Some(mut cluster) = Cluster::start() else {
        return;
    };
    cluster.leader().await;
    let config = EtcdConfig {
        endpoints: cluster.endpoints(),
        timeout: Duration::from_secs(1),
        credentials: None,
    };
    let kv = EtcdKv::connect(&config).await.expect("the cluster answers");
    let store = Store::new(Arc::new(kv), KeyLayout::default());
    let (n, c) = (
        NamespaceName::new("ops").unwrap(),
        ConfigurationName::new("fault").unwrap(),
    );
    let change = Change::by(Actor::user("tester"));
    store.ensure_root().await.unwrap();
    store.create_namespace(&n, &change).await.unwrap();
    store
        .create_configuration(&n, &c, Default::default(), &change)
        .await
        .unwrap();

    const WRITERS: usize = 4;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, n, c, change, stop) = (
                store.clone(),
                n.clone(),
                c.clone(),
                change.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut outcomes: Vec<(u64, Outcome, Instant)> = Vec::new();
                let mut value = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    value += 1;
                    let field = format!("w{w}");
                    match store
                        .set_field(&n, &c, &field, json!(value), None, &change)
                        .await
                    {
                        Ok(written) => {
                            outcomes.push((value, Outcome::Saved(written.revision), Instant::now()))
                        }
                        Err(Error::Unavailable(_)) => {
                            outcomes.push((value, Outcome::Unknown, Instant::now()))
                        }
                        Err(other) => panic!("writer {w}: {other}"),
                    }
                }
                outcomes
            })
        })
        .collect();

    // Kill the leader, let it come back, then kill a follower.
    let mut recoveries = Vec::new();
    for round in 0..2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let leader = cluster.leader().await;
        let victim = if round == 0 {
            leader
        } else {
            (leader + 1) % MEMBERS
        };
        let killed_at = Instant::now();
        cluster.kill(victim);
        recoveries.push(killed_at);
        tokio::time::sleep(Duration::from_secs(4)).await;
        cluster.spawn(victim, "existing");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for writer in writers {
        outcomes.push(writer.await.unwrap());
    }

    // Requests succeed again within a few seconds of each kill.
    for killed_at in &recoveries {
        let first_success_after = outcomes
            .iter()
            .flatten()
            .filter(|(_, outcome, at)| matches!(outcome, Outcome::Saved(_)) && at > killed_at)
            .map(|(_, _, at)| at.duration_since(*killed_at))
            .min()
            .expect("writes succeeded after the kill");
        eprintln!("first write saved {first_success_after:?} after a kill");
        assert!(
            first_success_after < Duration::from_secs(10),
            "{first_success_after:?}"
        );
    }

    // Every saved write is in the history exactly once; nothing appears twice; nothing appears
    // that its writer was not told about.
    let history = store.history(&n, &c).await.unwrap();
    for (w, writer) in outcomes.iter().enumerate() {
        let field = format!("w{w}");
        let mut recorded: Vec<u64> = history
            .iter()
            .rev()
            .filter(|v| v.entry.field.as_deref() == Some(field.as_str()))
            .filter_map(|v| {
                let patch = serde_json::to_value(v.entry.patch.as_ref()?).ok()?;
                patch.as_array()?.first()?.get("value")?.as_u64()
            })
            .collect();
        let in_order = recorded.clone();
        recorded.dedup();
        assert_eq!(recorded, in_order, "writer {w}: a write was recorded twice");
        assert!(
            recorded.windows(2).all(|p| p[0] < p[1]),
            "writer {w}: out of order {recorded:?}"
        );
        for (value, outcome, _) in writer {
            let found = recorded.contains(value);
            match outcome {
                Outcome::Saved(_) => assert!(found, "writer {w}: saved write {value} is missing"),
                Outcome::Unknown => {}
            }
        }
        let told: Vec<u64> = writer.iter().map(|(v, _, _)| *v).collect();
        assert!(
            recorded.iter().all(|v| told.contains(v)),
            "writer {w}: a phantom write"
        );
        let saved = writer
            .iter()
            .filter(|(_, o, _)| matches!(o, Outcome::Saved(_)))
            .count();
        eprintln!(
            "writer {w}: {} writes, {saved} saved, {} recorded",
            writer.len(),
            recorded.len()
        );
        assert!(saved > 0);
    }
    assert!(matches!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}
