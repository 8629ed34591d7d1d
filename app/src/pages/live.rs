//! The client side of live updates: listens to the server's stream of changes for what the page
//! shows and reconnects by itself, with a growing pause, when the connection drops.

use leptos::prelude::*;

/// Calls `on_change` with who changed what the page shows (or "someone" when changes may have
/// been missed). Shows whether the page is live.
#[component]
pub fn Live(
    #[prop(into)] namespace: String,
    #[prop(into)] configuration: String,
    on_change: Callback<String>,
) -> impl IntoView {
    let status = RwSignal::new("Live updates: connecting…");
    #[cfg(feature = "hydrate")]
    {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let alive = Arc::new(AtomicBool::new(true));
        let running = alive.clone();
        on_cleanup(move || alive.store(false, Ordering::Relaxed));
        leptos::task::spawn_local(async move {
            use futures::StreamExt;
            let mut pause = 500;
            while running.load(Ordering::Relaxed) {
                if let Ok(stream) =
                    crate::api::live::live_updates(namespace.clone(), configuration.clone()).await
                {
                    let mut stream = stream.into_inner();
                    let mut pending = String::new();
                    while let Some(Ok(chunk)) = stream.next().await {
                        if !running.load(Ordering::Relaxed) {
                            return;
                        }
                        pending.push_str(&chunk);
                        while let Some(end) = pending.find('\n') {
                            let line: String = pending.drain(..=end).collect();
                            match line.trim_end() {
                                "ready" => {
                                    pause = 500;
                                    status.set("Live updates: on");
                                }
                                "resync" => on_change.run("someone".into()),
                                changed if changed.starts_with("changed ") => {
                                    on_change.run(changed["changed ".len()..].to_owned());
                                }
                                _ => {}
                            }
                        }
                    }
                }
                if !running.load(Ordering::Relaxed) {
                    return;
                }
                status.set("Live updates: reconnecting…");
                sleep(pause).await;
                pause = (pause * 2).min(10_000);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (namespace, configuration, on_change);
    view! { <p class="live hint" id="live-status" aria-live="polite">{move || status.get()}</p> }
}

#[cfg(feature = "hydrate")]
async fn sleep(millis: u64) {
    let (done, wait) = futures::channel::oneshot::channel::<()>();
    set_timeout(
        move || {
            let _ = done.send(());
        },
        std::time::Duration::from_millis(millis),
    );
    let _ = wait.await;
}
