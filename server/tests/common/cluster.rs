//! A real three-member etcd cluster on loopback for fault tests, and a TCP proxy in front of each
//! member that delays what it forwards and cuts connections on demand (losing answers in
//! flight). Members are killed with SIGKILL and started again; ports are checked free, and
//! members are waited for, never slept on.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub const MEMBERS: usize = 3;

struct Member {
    name: String,
    client_url: String,
    peer_url: String,
    child: Option<Child>,
}

pub struct Cluster {
    members: Vec<Member>,
    dir: tempfile::TempDir,
    initial_cluster: String,
}

/// `count` loopback ports that were free a moment ago: each was bound, and all are released
/// together just before use.
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

impl Cluster {
    /// Starts the members and waits for a leader; `None` (reported) where etcd tests are
    /// skipped on purpose.
    pub async fn start() -> Option<Self> {
        if Command::new("etcd").arg("--version").output().is_err() {
            return super::etcd_env::skip_or_fail("the etcd binary is not installed");
        }
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .unwrap();
        let ports = free_ports(2 * MEMBERS);
        let members: Vec<Member> = (0..MEMBERS)
            .map(|i| Member {
                name: format!("m{i}"),
                client_url: format!("http://127.0.0.1:{}", ports[2 * i]),
                peer_url: format!("http://127.0.0.1:{}", ports[2 * i + 1]),
                child: None,
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            members,
            dir,
            initial_cluster,
        };
        for i in 0..MEMBERS {
            cluster.spawn(i, "new");
        }
        cluster.leader().await;
        Some(cluster)
    }

    /// Starts member `i` (`state`: `new` at first, `existing` after a kill).
    pub fn spawn(&mut self, i: usize, state: &str) {
        let member = &self.members[i];
        let log =
            std::fs::File::create(self.dir.path().join(format!("{}.log", member.name))).unwrap();
        let child = Command::new("etcd")
            .args(["--name", &member.name])
            .arg("--data-dir")
            .arg(self.dir.path().join(&member.name))
            .args(["--listen-client-urls", &member.client_url])
            .args(["--advertise-client-urls", &member.client_url])
            .args(["--listen-peer-urls", &member.peer_url])
            .args(["--initial-advertise-peer-urls", &member.peer_url])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-state", state])
            .args(["--initial-cluster-token", "confo-fault-test"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        self.members[i].child = Some(child);
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// The members' client addresses (`host:port`).
    pub fn addresses(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| m.client_url.trim_start_matches("http://").to_owned())
            .collect()
    }

    /// The index of the member that leads, once one does (at most 30 s).
    pub async fn leader(&self) -> usize {
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
            tokio::time::sleep(Duration::from_millis(50)).await;
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

/// A TCP proxy in front of one address: forwards both ways, each chunk after a random delay of
/// up to [`Proxy::set_delay`], and closes every open connection when told to
/// ([`Proxy::cut`]): requests sent on them may or may not have arrived, and their answers are
/// lost.
pub struct Proxy {
    pub address: String,
    max_delay_ms: Arc<AtomicU64>,
    cuts: watch::Sender<u64>,
    /// Connections cut so far.
    pub cut_connections: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let max_delay_ms = Arc::new(AtomicU64::new(0));
        let cut_connections = Arc::new(AtomicU64::new(0));
        let (cuts, _) = watch::channel(0u64);
        let task = {
            let (max_delay_ms, cuts, cut_connections) =
                (max_delay_ms.clone(), cuts.clone(), cut_connections.clone());
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        continue; // the member is down: the client sees the connection close
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    for (from, to) in [(client_read, server_write), (server_read, client_write)] {
                        tokio::spawn(pipe(
                            from,
                            to,
                            max_delay_ms.clone(),
                            cuts.subscribe(),
                            cut_connections.clone(),
                        ));
                    }
                }
            })
        };
        Self {
            address,
            max_delay_ms,
            cuts,
            cut_connections,
            task,
        }
    }

    pub fn set_delay(&self, max: Duration) {
        self.max_delay_ms
            .store(max.as_millis() as u64, Ordering::Relaxed);
    }

    /// Closes every connection open now; new ones are accepted as before.
    pub fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

/// Forwards one direction of a connection until it closes or is cut.
async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    max_delay_ms: Arc<AtomicU64>,
    mut cuts: watch::Receiver<u64>,
    cut_connections: Arc<AtomicU64>,
) {
    cuts.mark_unchanged();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            _ = cuts.changed() => {
                cut_connections.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let max = max_delay_ms.load(Ordering::Relaxed);
        if max > 0 {
            let delay = rand::random_range(0..=max);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(delay)) => {}
                _ = cuts.changed() => {
                    cut_connections.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
