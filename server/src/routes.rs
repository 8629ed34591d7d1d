//! The HTTP surface: health checks, server functions, the rendered pages and static files.

use app::{App, shell};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use confo::Store;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::trace::TraceLayer;

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::anonymous;
use crate::client_address::client_address;
use crate::same_origin::same_origin;
use crate::security_headers::{provide_request_nonce, security_headers};
use app::sessions::StoreSessions;

/// Everything a request handler may need.
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    /// While no user exists: the token of the one-time set-up link.
    pub setup_token: Option<String>,
    pub sessions: SessionSettings,
    /// Take client addresses from `X-Forwarded-For` (behind a reverse proxy).
    pub trust_forwarded_for: bool,
    /// The most value text the search index keeps (see `confo::search`).
    pub search_value_ceiling: usize,
}

/// How sign-in and sessions behave.
pub use app::api::ssr::AuthSettings as SessionSettings;

fn session_layer(store: &Store, settings: &SessionSettings) -> SessionManagerLayer<StoreSessions> {
    let idle =
        time::Duration::try_from(settings.idle_timeout).unwrap_or(time::Duration::minutes(30));
    SessionManagerLayer::new(StoreSessions::new(store.clone()))
        .with_name(if settings.secure {
            "__Host-confo_session"
        } else {
            "confo_session"
        })
        .with_secure(settings.secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}

/// The largest request body read: etcd's request limit and room for form encoding.
pub(crate) const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Builds the whole application, so that tests can drive it without a socket.
pub fn router(state: AppState) -> Router {
    let hub = app::api::live::ssr::Hub::start(state.store.clone());
    router_with_live(state, hub)
}

/// Like [`router`], with live updates served by `hub` (tests give it lower limits).
pub fn router_with_live(state: AppState, hub: app::api::live::ssr::Hub) -> Router {
    let routes = generate_route_list(App);
    let store = state.store.clone();
    let options = state.leptos_options.clone();
    let setup_token = state.setup_token.clone().map(app::api::ssr::SetupToken);
    let settings = state.sessions.clone();
    let throttle = std::sync::Arc::new(app::throttle::AddressThrottle::default());
    let failed_sign_ins = app::throttle::FailedSignIns::start(state.store.clone());
    let audit_chain = app::api::audit::chain::ChainCheckpoint::default();
    let sessions = session_layer(&state.store, &state.sessions);
    let search = confo::search::SearchIndex::new(state.search_value_ceiling);
    app::api::search::ssr::start(search.clone(), state.store.clone(), &hub);
    // What every server function and page may ask for.
    let context = move || {
        provide_request_nonce();
        provide_context(store.clone());
        provide_context(settings.clone());
        provide_context(throttle.clone());
        provide_context(failed_sign_ins.clone());
        provide_context(hub.clone());
        provide_context(audit_chain.clone());
        provide_context(search.clone());
        if let Some(token) = &setup_token {
            provide_context(token.clone());
        }
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(axum::middleware::from_fn(crate::downloads::as_files))
        // Inside the anonymous limit: only a body already bounded is read for its return path.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::return_path::return_path,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            anonymous::limit_anonymous,
        ))
        .layer(sessions)
        // Bodies a little over etcd's request limit get through, so that the store can say what
        // is too large; far larger ones are refused with 413 before they are read.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_address,
        ))
        .layer(axum::middleware::from_fn(same_origin))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The store answers.
async fn readyz(State(store): State<Store>) -> (StatusCode, &'static str) {
    match store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}
