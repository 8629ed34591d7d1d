//! `confo serve`: opens the store, binds the address and serves until told to stop.

use anyhow::Context;
use leptos::config::LeptosOptions;

use crate::config::ServeArgs;
use crate::routes::{AppState, SessionSettings, router};
use crate::store;
use app::sessions::StoreSessions;

/// Runs the server until SIGINT or SIGTERM, then finishes the requests under way.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let leptos_options = leptos_options(&args)?;
    let store = store::open(&args.store).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (set --listen to a free address)",
                args.listen
            )
        })?;
    if args.demo
        && crate::demo::load(&store)
            .await
            .context("cannot load the example")?
    {
        tracing::info!(
            namespace = crate::demo::NAMESPACE,
            "loaded the example namespace"
        );
    }
    let setup_token = first_run_token(&args, &store).await?;
    let plain = StoreSessions::new(store.clone())
        .remove_plain_records()
        .await
        .context("cannot read the sessions")?;
    if plain > 0 {
        tracing::warn!(
            removed = plain,
            "removed sessions stored in an older, readable form; their owners sign in again"
        );
    }
    spawn_session_sweeper(store.clone(), args.idle_timeout);
    let app = router(AppState {
        leptos_options,
        store,
        setup_token,
        sessions: SessionSettings {
            secure: args.secure_cookies,
            idle_timeout: args.idle_timeout,
            lifetime: args.session_lifetime,
            invitation_lifetime: args.invitation_lifetime,
        },
        trust_forwarded_for: args.trust_forwarded_for,
        search_value_ceiling: args.search_value_ceiling,
    });
    tracing::info!("serving the dashboard on http://{}", args.listen);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("the server stopped with an error")?;
    tracing::info!("stopped");
    Ok(())
}

/// The options Leptos needs. cargo-leptos sets `LEPTOS_*` variables; without them the defaults
/// match the layout it builds (`target/site`), and `LEPTOS_SITE_ROOT` can point elsewhere.
pub fn leptos_options(args: &ServeArgs) -> anyhow::Result<LeptosOptions> {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let site_root = env("LEPTOS_SITE_ROOT", "target/site");
    let pkg_dir = env("LEPTOS_SITE_PKG_DIR", "pkg");
    let bundle = std::path::Path::new(&site_root).join(&pkg_dir);
    if !bundle.is_dir() {
        anyhow::bail!(
            "the dashboard's files are missing: {} does not exist (build with `cargo leptos build --release`, or set LEPTOS_SITE_ROOT)",
            bundle.display()
        );
    }
    Ok(LeptosOptions::builder()
        .output_name(env("LEPTOS_OUTPUT_NAME", "confo"))
        .site_root(site_root)
        .site_pkg_dir(pkg_dir)
        .site_addr(args.listen)
        .build())
}

pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
    // Live pages hold their response open; end them so that the server can stop.
    app::api::live::ssr::end_all();
}

/// While no user exists, the token of the one-time set-up link (given, or random), printed in
/// the log.
async fn first_run_token(args: &ServeArgs, store: &confo::Store) -> anyhow::Result<Option<String>> {
    if !store
        .list_users()
        .await
        .context("cannot read the users")?
        .is_empty()
    {
        return Ok(None);
    }
    let token = args.setup_token.clone().unwrap_or_else(|| {
        use rand::Rng;
        let bytes: [u8; 24] = rand::rng().random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    });
    tracing::warn!(
        "no user exists yet: open http://{}/setup?token={token} to create the first administrator",
        args.listen
    );
    Ok(Some(token))
}

/// Removes expired sessions once a minute, or once per idle time when that is shorter (etcd's
/// leases do it there; the embedded store needs it), and expired invitation links and old
/// sign-in attempt counters.
fn spawn_session_sweeper(store: confo::Store, idle_timeout: std::time::Duration) {
    let period = idle_timeout
        .min(std::time::Duration::from_secs(60))
        .max(std::time::Duration::from_secs(1));
    tokio::spawn(async move {
        let sessions = StoreSessions::new(store.clone());
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match sessions.sweep_expired().await {
                Ok(0) => {}
                Ok(removed) => tracing::debug!(removed, "removed expired sessions"),
                Err(error) => tracing::warn!(%error, "cannot remove expired sessions"),
            }
            match store.sweep_expired_records().await {
                Ok(0) => {}
                Ok(removed) => tracing::debug!(removed, "removed expired links and counters"),
                Err(error) => tracing::warn!(%error, "cannot remove expired links"),
            }
        }
    });
}
