//! The real `confo` binary: start-up failures say what is wrong in one line and exit non-zero;
//! a running server answers its health checks and stops cleanly on SIGTERM.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A directory that looks like a built site, so the binary gets past its bundle check.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    dir
}

fn confo(site: &tempfile::TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_confo"));
    command
        .env("LEPTOS_SITE_ROOT", site.path())
        .env("RUST_LOG", "warn")
        .env_remove("CONFO_ETCD_ENDPOINTS")
        .stdin(Stdio::null());
    command
}

fn run(mut command: Command) -> Output {
    command.output().expect("the binary runs")
}

/// The one line the binary printed last on stderr, after checking it failed.
fn failure_line(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let line = stderr.lines().last().unwrap_or_default().to_owned();
    assert!(line.starts_with("confo: "), "{stderr}");
    line
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn port_in_use_is_one_clear_line() {
    let site = site();
    let data = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut command = confo(&site);
    command.args([
        "serve",
        "--listen",
        &taken.local_addr().unwrap().to_string(),
    ]);
    command.arg("--data-dir").arg(data.path());
    let line = failure_line(&run(command));
    assert!(line.contains("cannot listen on 127.0.0.1:"), "{line}");
    assert!(line.contains("in use"), "{line}");
}

#[test]
fn unreachable_etcd_fails_within_the_timeout() {
    let site = site();
    let mut command = confo(&site);
    let dead = format!("127.0.0.1:{}", free_port());
    command.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--etcd-endpoints",
        &dead,
        "--etcd-timeout",
        "1s",
    ]);
    let started = Instant::now();
    let line = failure_line(&run(command));
    assert!(
        line.contains(&format!("cannot reach etcd at {dead}")),
        "{line}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn unusable_data_dir_is_one_clear_line() {
    let site = site();
    let parent = tempfile::NamedTempFile::new().unwrap();
    let mut command = confo(&site);
    command.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]);
    command.arg(parent.path().join("data"));
    let line = failure_line(&run(command));
    assert!(line.contains("cannot use the data directory"), "{line}");
}

#[test]
fn missing_site_bundle_is_one_clear_line() {
    let empty = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut command = confo(&empty);
    command.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]);
    command.arg(data.path());
    let line = failure_line(&run(command));
    assert!(line.contains("the dashboard's files are missing"), "{line}");
}

#[test]
fn bad_option_values_are_refused() {
    let site = site();
    let mut command = confo(&site);
    command.args(["serve", "--namespaces", "ok,bad-name"]);
    let data = tempfile::tempdir().unwrap();
    command.arg("--data-dir").arg(data.path());
    let line = failure_line(&run(command));
    assert!(
        line.contains("\"bad-name\" is not a valid namespace name"),
        "{line}"
    );
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

fn wait_until_up(child: &mut Child, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(response) = get(port, "/healthz") {
            assert!(response.starts_with("HTTP/1.0 200"), "{response}");
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server exited early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not answer /healthz in time");
}

#[test]
fn serves_health_checks_and_stops_on_sigterm() {
    let site = site();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = confo(&site);
    command.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ]);
    command.arg(data.path());
    let mut child = command.spawn().unwrap();
    wait_until_up(&mut child, port);

    let ready = get(port, "/readyz").unwrap();
    assert!(ready.starts_with("HTTP/1.0 200"), "{ready}");
    assert!(data.path().join("confo.redb").is_file());

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn audit_commands_check_and_archive_the_log() {
    let site = site();
    let data = tempfile::tempdir().unwrap();
    let archive = tempfile::tempdir().unwrap();
    let mut verify = confo(&site);
    verify
        .args(["audit", "verify", "--data-dir"])
        .arg(data.path());
    verify.arg("--archive-dir").arg(archive.path());
    // No archive file yet: that is an error worth a clear line.
    let line = failure_line(&run(verify));
    assert!(line.contains("cannot check the archive"), "{line}");

    let mut archive_cmd = confo(&site);
    archive_cmd.args([
        "audit",
        "archive",
        "--older-than",
        "1s",
        "--namespaces",
        "ops",
        "--data-dir",
    ]);
    archive_cmd
        .arg(data.path())
        .arg("--archive-dir")
        .arg(archive.path());
    let output = run(archive_cmd);
    assert!(output.status.success(), "{output:?}");
    // The registration of `ops` is newer than a second, so nothing moves yet.
    assert!(String::from_utf8_lossy(&output.stdout).contains("moved 0 audit entries"));

    let mut verify = confo(&site);
    verify
        .args(["audit", "verify", "--data-dir"])
        .arg(data.path());
    let output = run(verify);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("audit log: intact (1 entries checked)"),
        "{stdout}"
    );
}

#[test]
fn user_add_creates_an_account_from_a_script() {
    let site = site();
    let data = tempfile::tempdir().unwrap();
    let add = |name: &str, password: &str, admin: bool| {
        let mut command = confo(&site);
        command
            .args(["user", "add", name, "--data-dir"])
            .arg(data.path());
        if admin {
            command.arg("--admin");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let output = add("ada", "correct horse battery staple", true);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "created admin user ada\n"
    );

    let line = failure_line(&add("ada", "another good passphrase", false));
    assert!(line.contains("already exists"), "{line}");
    let line = failure_line(&add("bob", "password", false));
    assert!(line.contains("too easy to guess"), "{line}");
    let line = failure_line(&add("bob", "short", false));
    assert!(line.contains("at least 8"), "{line}");
    let line = failure_line(&add("bob smith", "correct horse battery staple", false));
    assert!(line.contains("invalid user name"), "{line}");

    let mut verify = confo(&site);
    verify
        .args(["audit", "verify", "--data-dir"])
        .arg(data.path());
    let output = run(verify);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("intact (1 entries checked)"),
        "{output:?}"
    );
}
