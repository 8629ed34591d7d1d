//! Live updates through the router: a stream lasts only as long as its session and its user's
//! access, carries only changes the user may read, and is limited per session and per server.

mod common;

use std::time::{Duration, Instant};

use axum::body::{Body, BodyDataStream};
use axum::http::{Request, StatusCode, header};
use common::{TestApp, done};
use confo::users::{Grants, Role};
use confo::{Actor, Change, ConfigurationName, NamespaceName};
use futures::StreamExt;
use tower::ServiceExt;

/// The longest a stream may outlive the access it was opened with.
const END_WITHIN: Duration = Duration::from_secs(6);

/// A live stream's lines, read as they come.
struct Lines {
    body: BodyDataStream,
    pending: String,
    /// The revisions that `changed` lines named, in order.
    revisions: Vec<i64>,
}

fn live_request(cookie: &str, namespace: &str, configuration: &str) -> Request<Body> {
    Request::get(format!(
        "/api/live?namespace={namespace}&configuration={configuration}"
    ))
    .header(header::COOKIE, cookie)
    .body(Body::empty())
    .unwrap()
}

async fn live_response(app: &TestApp, cookie: &str, namespace: &str) -> axum::response::Response {
    app.router
        .clone()
        .oneshot(live_request(cookie, namespace, ""))
        .await
        .unwrap()
}

impl Lines {
    /// Opens the stream of the page for `namespace` (empty: the overview) with session
    /// `cookie`, and reads its `ready`.
    async fn open(app: &TestApp, cookie: &str, namespace: &str) -> Self {
        let response = live_response(app, cookie, namespace).await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut lines = Self {
            body: response.into_body().into_data_stream(),
            pending: String::new(),
            revisions: Vec::new(),
        };
        assert_eq!(lines.next().await.as_deref(), Some("ready"));
        lines
    }

    /// The next line other than `ping`, or `None` once the stream has ended.
    async fn next(&mut self) -> Option<String> {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("a line, or the end, within ten seconds")
    }

    /// Like [`Lines::next`], `Err` when nothing came within `wait`.
    async fn next_within(&mut self, wait: Duration) -> Result<Option<String>, ()> {
        let read = async {
            loop {
                if let Some(end) = self.pending.find('\n') {
                    let line: String = self.pending.drain(..=end).collect();
                    match line.trim_end() {
                        "ping" => continue,
                        // `changed <revision> <who>`: the revision is kept aside.
                        changed if changed.starts_with("changed ") => {
                            let (revision, who) = changed["changed ".len()..]
                                .split_once(' ')
                                .expect("a revision and who");
                            self.revisions.push(revision.parse().expect("a revision"));
                            return Some(format!("changed {who}"));
                        }
                        line => return Some(line.to_owned()),
                    }
                }
                match self.body.next().await {
                    Some(chunk) => self
                        .pending
                        .push_str(std::str::from_utf8(&chunk.unwrap()).unwrap()),
                    None => return None,
                }
            }
        };
        tokio::time::timeout(wait, read).await.map_err(|_| ())
    }

    /// Reads until the stream ends, which must happen within [`END_WITHIN`] of `since`; answers
    /// when it ended, counted from `since`.
    async fn ends(&mut self, since: Instant) -> Duration {
        loop {
            match self
                .next_within(END_WITHIN.saturating_sub(since.elapsed()))
                .await
            {
                Ok(None) => return since.elapsed(),
                Ok(Some(_)) => continue,
                Err(()) => panic!("the stream was still open {END_WITHIN:?} later"),
            }
        }
    }
}

/// Signs `name` in with a session of its own and answers its cookie.
async fn session_of(app: &mut TestApp, name: &str) -> String {
    app.sign_in(name).await;
    app.cookie.clone().unwrap()
}

fn by(name: &str) -> Change {
    Change::by(Actor::user(name))
}

fn ns(name: &str) -> NamespaceName {
    NamespaceName::new(name).unwrap()
}

async fn create_namespace(app: &TestApp, name: &str, who: &str) {
    app.store
        .create_namespace(&ns(name), &by(who))
        .await
        .unwrap();
}

async fn create_configuration(app: &TestApp, namespace: &str, who: &str) {
    app.store
        .create_configuration(
            &ns(namespace),
            &ConfigurationName::new("svc").unwrap(),
            Default::default(),
            &by(who),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_stream_ends_when_its_session_signs_out_and_the_others_go_on() {
    let mut app = TestApp::new().await;
    app.add_user("vera", Role::Viewer).await;
    let elsewhere = session_of(&mut app, "vera").await;
    let here = session_of(&mut app, "vera").await;
    let mut ending = Lines::open(&app, &here, "").await;
    let mut staying = Lines::open(&app, &elsewhere, "").await;

    let since = Instant::now();
    assert!(done(app.post("auth/sign-out", &[]).await.0));
    let took = ending.ends(since).await;
    eprintln!("the stream ended {took:?} after sign-out");

    create_namespace(&app, "later", "ada").await;
    assert_eq!(staying.next().await.as_deref(), Some("changed ada"));
    // The line names the change's revision, by which a page knows its own saves.
    let root = app.store.layout().root();
    let written = app
        .store
        .kv()
        .get(&root)
        .await
        .unwrap()
        .unwrap()
        .mod_revision;
    assert_eq!(staying.revisions, [written]);
}

/// Disabled in the store alone (as another server or the command line may do), so that only
/// the profile says so: the session record stays.
#[tokio::test]
async fn a_stream_ends_when_its_user_is_disabled() {
    let mut app = TestApp::new().await;
    app.add_user("vera", Role::Viewer).await;
    let vera = session_of(&mut app, "vera").await;
    let mut lines = Lines::open(&app, &vera, "").await;

    let since = Instant::now();
    app.store
        .set_user_disabled("vera", true, &by("ada"))
        .await
        .unwrap();
    let took = lines.ends(since).await;
    eprintln!("the stream ended {took:?} after the user was disabled");
}

#[tokio::test]
async fn a_stream_ends_when_its_user_loses_the_grant_for_its_namespace() {
    let mut app = TestApp::new().await;
    create_namespace(&app, "a", "ada").await;
    app.add_user("vera", Role::Viewer).await;
    let only = |names: &[&str]| Grants::Namespaces(names.iter().map(|n| n.to_string()).collect());
    app.store
        .update_user("vera", Role::Viewer, only(&["a"]), &by("ada"))
        .await
        .unwrap();
    let vera = session_of(&mut app, "vera").await;
    let mut lines = Lines::open(&app, &vera, "a").await;

    let since = Instant::now();
    app.store
        .update_user("vera", Role::Viewer, only(&["b"]), &by("ada"))
        .await
        .unwrap();
    let took = lines.ends(since).await;
    eprintln!("the stream ended {took:?} after the grant was removed");
}

/// The lines name who made a change; each change here is made by someone named after the
/// namespace it touches, so that a line about a namespace not granted would show.
#[tokio::test]
async fn a_user_hears_only_of_namespaces_they_may_read() {
    let mut app = TestApp::new().await;
    for name in ["a", "b"] {
        create_namespace(&app, name, "setup").await;
    }
    app.add_user("vera", Role::Viewer).await;
    let granted = Grants::Namespaces(vec!["a".into(), "d".into()]);
    app.store
        .update_user("vera", Role::Viewer, granted, &by("setup"))
        .await
        .unwrap();
    let vera = session_of(&mut app, "vera").await;
    let ada = session_of(&mut app, "ada").await;
    let mut overview = Lines::open(&app, &vera, "").await;
    let mut admin = Lines::open(&app, &ada, "").await;

    create_configuration(&app, "b", "writer-of-b").await;
    create_namespace(&app, "c", "writer-of-c").await;
    create_namespace(&app, "d", "writer-of-d").await;
    create_configuration(&app, "a", "writer-of-a").await;

    for writer in ["b", "c", "d", "a"] {
        assert_eq!(
            admin.next().await,
            Some(format!("changed writer-of-{writer}"))
        );
    }
    // In order: a line for `b` or `c` would come first.
    assert_eq!(
        overview.next().await.as_deref(),
        Some("changed writer-of-d")
    );
    assert_eq!(
        overview.next().await.as_deref(),
        Some("changed writer-of-a")
    );
}

#[tokio::test]
async fn the_ninth_stream_of_a_session_closes_the_first() {
    let app = TestApp::new().await;
    let ada = app.cookie.clone().unwrap();
    let mut streams = Vec::new();
    for _ in 0..9 {
        streams.push(Lines::open(&app, &ada, "").await);
    }
    assert_eq!(streams[0].next().await.as_deref(), Some("closed"));
    assert_eq!(streams[0].next().await, None);

    create_namespace(&app, "later", "ada").await;
    for stream in &mut streams[1..] {
        assert_eq!(stream.next().await.as_deref(), Some("changed ada"));
    }
}

#[tokio::test]
async fn past_the_servers_limit_a_stream_is_refused_with_503_and_retry_after() {
    let mut app = TestApp::with_live_limit(2).await;
    app.add_user("ada", Role::Admin).await;
    app.add_user("vera", Role::Viewer).await;
    let vera = session_of(&mut app, "vera").await;
    let ada = session_of(&mut app, "ada").await;
    let first = Lines::open(&app, &ada, "").await;
    let _second = Lines::open(&app, &vera, "").await;

    let refused = live_response(&app, &ada, "").await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let wait = refused
        .headers()
        .get(header::RETRY_AFTER)
        .expect("Retry-After");
    assert_eq!(wait, "30");

    // A stream whose page went away makes room.
    drop(first);
    Lines::open(&app, &ada, "").await;
}
