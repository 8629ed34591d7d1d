//! The real `confo` binary, started on a free loopback port against an etcd, and a minimal
//! HTTP/1.1 client for it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A key prefix no other run uses, starting with `label`.
pub fn unique_prefix(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{label}{nanos}/")
}

/// Makes administrator `name` with `password` with `confo user add`, on the store `store_args`
/// names (`--data-dir ...` or `--etcd-endpoints ... --key-prefix ...`).
pub fn add_admin(store_args: &[&str], name: &str, password: &str) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_confo"))
        .args(["user", "add", "--admin", name])
        .args(store_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success());
}

pub struct Server {
    child: Child,
    pub address: String,
    _site: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub async fn start(endpoints: &str, prefix: &str) -> Self {
        let args = ["--etcd-endpoints", endpoints, "--key-prefix", prefix];
        Self::start_with(&args, Stdio::null()).await
    }

    /// Starts `confo serve` with `args` (and a listening address), its log going to `log`.
    pub async fn start_with(args: &[&str], log: impl Into<Stdio>) -> Self {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir(site.path().join("pkg")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_confo"))
            .args(["serve", "--listen", &address])
            .args(args)
            .env("LEPTOS_SITE_ROOT", site.path())
            .env("RUST_LOG", "error,server=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Self {
            child,
            address,
            _site: site,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((status, _)) = server.request("GET /healthz", &[]).await
                && status == 200
            {
                break server;
            }
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the server and waits for it to end.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends one request (`line` is its request line without the version) and answers the
    /// status and body; `Err` when the connection broke before an answer arrived.
    pub async fn request(&self, line: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
        self.request_with(line, "", body).await
    }

    /// Like [`Server::request`], with more header lines (`headers`: each ending in `\r\n`).
    pub async fn request_with(
        &self,
        line: &str,
        headers: &str,
        body: &[u8],
    ) -> std::io::Result<(u16, String)> {
        let mut stream = self.send_head(line, headers, body.len()).await?;
        // The server may answer and close before the body is sent: what it answered still
        // counts, so a failed write is not the end.
        let _ = stream.write_all(body).await;
        let mut answer = Vec::new();
        let read = stream.read_to_end(&mut answer).await;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok());
        match (status, read) {
            (Some(status), _) => Ok((status, text)),
            (None, Err(error)) => Err(error),
            (None, Ok(_)) => Err(std::io::Error::other(format!("no answer: {text:?}"))),
        }
    }

    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }

    async fn send_head(
        &self,
        line: &str,
        headers: &str,
        length: usize,
    ) -> std::io::Result<tokio::net::TcpStream> {
        let mut stream = tokio::net::TcpStream::connect(&self.address).await?;
        let head = format!(
            "{line} HTTP/1.1\r\nHost: {}\r\n{headers}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
            self.address,
        );
        stream.write_all(head.as_bytes()).await?;
        Ok(stream)
    }

    /// Opens a streamed answer (a live page's updates) and gives the connection to read from,
    /// once `first` has arrived.
    pub async fn open_stream(
        &self,
        line: &str,
        headers: &str,
        first: &str,
    ) -> tokio::net::TcpStream {
        let mut stream = self.send_head(line, headers, 0).await.unwrap();
        read_until(&mut stream, first).await;
        stream
    }
}

/// Reads from `stream` until `needle` arrives (at most ten seconds); answers what was read.
pub async fn read_until(stream: &mut tokio::net::TcpStream, needle: &str) -> String {
    let mut read = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&read).contains(needle) {
        let n = tokio::time::timeout_at(deadline.into(), stream.read(&mut buffer))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{needle:?} did not arrive within ten seconds: {:?}",
                    String::from_utf8_lossy(&read)
                )
            })
            .unwrap();
        assert!(
            n > 0,
            "the stream ended before {needle:?}: {:?}",
            String::from_utf8_lossy(&read)
        );
        read.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&read).into_owned()
}
