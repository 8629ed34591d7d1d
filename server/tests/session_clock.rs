//! Sessions over time, with a short idle time: a session in use is written back once half its
//! idle time has passed (and not before), which keeps it alive past its first idle time; and a
//! server on the embedded store sweeps expired sessions away by itself.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::binary::{Server, add_admin};
use common::{PASSWORD, TestApp};
use confo::KeyLayout;
use confo::kv::embedded::EmbeddedKv;
use confo::users::Role;
use server::routes::SessionSettings;

/// The stored sessions of `app`'s store: key and revision.
async fn sessions(store: &confo::Store) -> Vec<(String, i64)> {
    let prefix = store.layout().sessions_prefix();
    store
        .kv()
        .list_prefix(&prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|kv| (kv.key, kv.mod_revision))
        .collect()
}

async fn until(instant: Instant) {
    tokio::time::sleep_until(instant.into()).await;
}

#[tokio::test]
async fn a_session_in_use_is_written_back_after_half_its_idle_time_and_lives_on() {
    const IDLE: Duration = Duration::from_secs(4);
    let mut app = TestApp::anonymous_with(SessionSettings {
        idle_timeout: IDLE,
        ..SessionSettings::default()
    })
    .await;
    app.add_user("ada", Role::Admin).await;
    app.sign_in("ada").await;
    // Times are kept in whole seconds: counted from after the sign-in, with a second to spare.
    let signed_in = Instant::now();
    let first = sessions(&app.store).await;
    assert_eq!(first.len(), 1, "{first:?}");

    // Before half the idle time: requests do not write the session.
    assert_eq!(app.get("/api/namespaces/list").await.0, StatusCode::OK);
    assert_eq!(sessions(&app.store).await, first, "written back too early");

    // Past half the idle time: the next request writes it back with a new expiry.
    until(signed_in + IDLE / 2 + Duration::from_millis(1100)).await;
    assert_eq!(app.get("/api/namespaces/list").await.0, StatusCode::OK);
    let refreshed = Instant::now();
    let second = sessions(&app.store).await;
    assert_eq!(second.len(), 1);
    assert!(second[0].1 > first[0].1, "not written back: {second:?}");

    // Past the first idle time, the session lives on; a full idle time unused ends it.
    until(signed_in + IDLE + Duration::from_millis(1100)).await;
    assert_eq!(app.get("/api/namespaces/list").await.0, StatusCode::OK);
    until(refreshed.max(Instant::now()) + IDLE + Duration::from_millis(1500)).await;
    assert_eq!(
        app.get("/api/namespaces/list").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_the_embedded_store_sweeps_expired_sessions_away() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    add_admin(&["--data-dir", data_dir], "ada", PASSWORD);

    let log_path = data.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = Server::start_with(&["--data-dir", data_dir, "--idle-timeout", "2s"], log).await;
    let form = format!("name=ada&password={}", PASSWORD.replace(' ', "+"));
    let (status, answer) = server
        .request("POST /api/auth/sign-in", form.as_bytes())
        .await
        .unwrap();
    assert!(status == 200 || status == 303, "{answer}");
    // The sweep runs once per idle time here; wait for it to report a removal.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log_path)
        .unwrap()
        .contains("removed expired sessions")
    {
        assert!(Instant::now() < deadline, "no sweep removed the session");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop();

    let store = confo::Store::new(
        Arc::new(EmbeddedKv::open(data.path()).unwrap()),
        KeyLayout::default(),
    );
    assert_eq!(
        sessions(&store).await,
        [],
        "the expired session is still stored"
    );
    assert!(
        store.get_user("ada").await.unwrap().is_some(),
        "the sweep took more"
    );
}
