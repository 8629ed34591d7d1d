//! The application driven without a socket, as the tests see it: a store of its own, users, and
//! requests with or without a signed-in session.
//!
//! The store is the etcd named by `CONFO_TEST_ETCD_ENDPOINTS` when it is set (the README's test
//! command starts one and sets it), each application under a prefix of its own so that tests run
//! in parallel on one cluster. Without it the tests fail, unless `CONFO_TEST_SKIP_ETCD=1` asks
//! to run them on an embedded store in a scratch directory instead (and each says so).
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fixtures"
)]

pub mod binary;
pub mod cluster;
#[path = "../../../confo/tests/common/etcd_env.rs"]
pub mod etcd_env;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use confo::users::{Grants, Role, User, hash_password};
use leptos::config::LeptosOptions;
use server::routes::{AppState, SessionSettings, router_with_live};
use std::sync::Arc;
use tower::ServiceExt;

pub struct TestApp {
    pub router: axum::Router,
    pub store: confo::Store,
    pub cookie: Option<String>,
    _dir: Arc<tempfile::TempDir>,
}

pub const PASSWORD: &str = "correct horse battery staple";

/// The longest any one request of a test may take.
pub const REQUEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

impl TestApp {
    /// An application with an administrator `ada`, signed in.
    pub async fn new() -> Self {
        let mut app = Self::anonymous().await;
        app.add_user("ada", Role::Admin).await;
        app.sign_in("ada").await;
        app
    }

    pub async fn anonymous() -> Self {
        Self::build(app::api::live::ssr::MAX_STREAMS, SessionSettings::default()).await
    }

    /// Like [`TestApp::anonymous`], serving at most `limit` live streams at once.
    pub async fn with_live_limit(limit: usize) -> Self {
        Self::build(limit, SessionSettings::default()).await
    }

    /// An application without users, whose sessions behave as `sessions` says.
    pub async fn anonymous_with(sessions: SessionSettings) -> Self {
        Self::build(app::api::live::ssr::MAX_STREAMS, sessions).await
    }

    async fn build(limit: usize, sessions: SessionSettings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        Self::build_on(store, dir, limit, sessions).await
    }

    /// An application without users on `store` (which may be shared with other applications, as
    /// dashboard processes share one etcd).
    pub async fn on_store(store: confo::Store) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let limit = app::api::live::ssr::MAX_STREAMS;
        Self::build_on(store, dir, limit, SessionSettings::default()).await
    }

    async fn build_on(
        store: confo::Store,
        dir: tempfile::TempDir,
        limit: usize,
        sessions: SessionSettings,
    ) -> Self {
        store.ensure_root().await.unwrap();
        let leptos_options = LeptosOptions::builder()
            .output_name("confo")
            .site_root(dir.path().to_string_lossy().into_owned())
            .build();
        let hub = app::api::live::ssr::Hub::with_limit(store.clone(), limit);
        Self {
            router: router_with_live(
                AppState {
                    leptos_options,
                    store: store.clone(),
                    setup_token: None,
                    sessions,
                    trust_forwarded_for: true,
                    search_value_ceiling: confo::search::DEFAULT_VALUE_CEILING,
                },
                hub,
            ),
            store,
            cookie: None,
            _dir: Arc::new(dir),
        }
    }

    /// Another client of the same application (same router and store), with this one's cookie.
    pub fn clone_handle(&self) -> Self {
        Self {
            router: self.router.clone(),
            store: self.store.clone(),
            cookie: self.cookie.clone(),
            _dir: self._dir.clone(),
        }
    }

    /// Every key this application keeps (configuration and reserved) with its value and the
    /// revision of its last change: equal before and after a request when it wrote nothing.
    pub async fn snapshot(&self) -> Vec<confo::kv::KeyValue> {
        self.store
            .kv()
            .list_prefix(self.store.layout().prefix())
            .await
            .unwrap()
    }

    pub async fn add_user(&self, name: &str, role: Role) {
        let user = User {
            name: name.into(),
            role,
            grants: Grants::All,
            disabled: false,
            created: chrono::Utc::now(),
        };
        let hash = hash_password(PASSWORD.into()).await.unwrap();
        let change = confo::Change::by(confo::Actor::system());
        self.store.create_user(&user, &hash, &change).await.unwrap();
    }

    pub async fn sign_in(&mut self, name: &str) {
        self.cookie = None;
        let response = self
            .router
            .clone()
            .oneshot(sign_in_request(name, PASSWORD))
            .await
            .unwrap();
        assert!(
            response.status().is_success() || response.status().is_redirection(),
            "{:?}",
            response.status()
        );
        let cookie = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|c| c.to_str().unwrap())
            .find(|c| c.starts_with("confo_session="))
            .expect("a session cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        self.cookie = Some(cookie.split(';').next().unwrap().to_owned());
    }

    /// The response to `request`, its body not read yet (for a stream).
    pub async fn respond(&self, mut request: Request<Body>) -> axum::response::Response {
        if let Some(cookie) = &self.cookie {
            request
                .headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        self.router.clone().oneshot(request).await.unwrap()
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, String) {
        let (status, _, body) = self.send_for_headers(request).await;
        (status, body)
    }

    /// Sends `request` (with the session, if any) and answers the status, headers and body.
    pub async fn send_for_headers(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, HeaderMap, String) {
        // A request that never finishes fails its test with where it was, instead of holding
        // up the whole run.
        let what = format!("{} {}", request.method(), request.uri());
        let answer = async {
            let response = self.respond(request).await;
            let status = response.status();
            let headers = response.headers().clone();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, headers, String::from_utf8_lossy(&body).into_owned())
        };
        tokio::time::timeout(REQUEST_LIMIT, answer)
            .await
            .unwrap_or_else(|_| panic!("{what} did not finish in {REQUEST_LIMIT:?}"))
    }

    /// Writes a file under the site root, where static files are served from.
    pub fn add_site_file(&self, path: &str, contents: &str) {
        let file = self._dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, contents).unwrap();
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, String) {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// Namespaces `shop` and `other`, each with configuration `app` = `{"limit": 5}`, written
    /// by the system.
    pub async fn add_shop_and_other(&self) {
        let system = confo::Change::by(confo::Actor::system());
        for ns in ["shop", "other"] {
            let name = confo::NamespaceName::new(ns).unwrap();
            self.store.create_namespace(&name, &system).await.unwrap();
            let fields = serde_json::json!({"limit": 5}).as_object().unwrap().clone();
            self.store
                .create_configuration(
                    &name,
                    &confo::ConfigurationName::new("app").unwrap(),
                    fields,
                    &system,
                )
                .await
                .unwrap();
        }
    }

    pub async fn create_namespace(&self, name: &str) -> (StatusCode, String) {
        let body = format!("name={}", urlencode(name));
        self.send(
            Request::post("/api/namespaces/create")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

/// The store an application under test uses: see the module documentation.
async fn test_store(dir: &std::path::Path) -> confo::Store {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let Some(endpoints) = etcd_env::etcd_endpoints() else {
        let kv = confo::kv::embedded::EmbeddedKv::open(dir).unwrap();
        return confo::Store::new(Arc::new(kv), confo::KeyLayout::default());
    };
    let kv = etcd_env::connect(&endpoints, std::time::Duration::from_secs(10)).await;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!(
        "router-test-{started}-{}-{}/",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    confo::Store::new(Arc::new(kv), confo::KeyLayout::with_prefix(prefix))
}

/// A sign-in form post, as the sign-in page sends it.
pub fn sign_in_request(name: &str, password: &str) -> Request<Body> {
    Request::post("/api/auth/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "name={}&password={}",
            urlencode(name),
            urlencode(password)
        )))
        .unwrap()
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl TestApp {
    /// A form post to server function `path` (under `/api/`), as a page sends it.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        self.send(
            Request::post(format!("/api/{path}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.join("&")))
                .unwrap(),
        )
        .await
    }
}

/// Whether a server function did what it was asked (answered, or redirected to its page).
pub fn done(status: StatusCode) -> bool {
    status.is_success() || status.is_redirection()
}
