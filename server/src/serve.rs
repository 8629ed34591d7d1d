//! `confo serve`: opens the store, binds the address and serves until told to stop.

use anyhow::Context;
use leptos::config::LeptosOptions;

use crate::config::ServeArgs;
use crate::routes::{AppState, router};
use crate::store;

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
    let app = router(AppState {
        leptos_options,
        store,
    });
    tracing::info!("serving the dashboard on http://{}", args.listen);
    axum::serve(listener, app)
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
}
