//! Live updates in the browser: listens to the server's stream of changes for what the page
//! shows, brings the page up to date without reloading it, and reconnects by itself, with a
//! growing pause, when the connection drops. Someone with unsaved edits is told instead, so that
//! nothing they typed is lost.

use leptos::prelude::*;

/// Keeps the page showing `namespace` / `configuration` (empty: all of them) live.
#[island]
pub fn Live(#[prop(into)] namespace: String, #[prop(into)] configuration: String) -> impl IntoView {
    let status = RwSignal::new("Live updates: connecting…");
    let elsewhere = RwSignal::new(None::<String>);
    let (what, then) = if configuration.is_empty() {
        (
            "what this page shows",
            "What you typed is kept; reload the page to see their change.",
        )
    } else {
        (
            "this configuration",
            "Your changes are kept; when you save, you will see both and choose.",
        )
    };
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        use crate::browser;
        use futures::StreamExt;
        let mut pause = 500;
        loop {
            if let Ok(stream) =
                crate::api::live::live_updates(namespace.clone(), configuration.clone()).await
            {
                let mut stream = stream.into_inner();
                let mut pending = String::new();
                while let Some(Ok(chunk)) = stream.next().await {
                    pending.push_str(&chunk);
                    // Several changes in one read are shown with one refresh.
                    let mut changed_by = None;
                    while let Some(end) = pending.find('\n') {
                        let line: String = pending.drain(..=end).collect();
                        match line.trim_end() {
                            "ready" => {
                                pause = 500;
                                status.set("Live updates: on");
                            }
                            "resync" => changed_by = Some("someone".to_owned()),
                            changed if changed.starts_with("changed ") => {
                                changed_by = Some(changed["changed ".len()..].to_owned());
                            }
                            _ => {}
                        }
                    }
                    if let Some(who) = changed_by {
                        if browser::unsaved() {
                            elsewhere.set(Some(who));
                        } else {
                            elsewhere.set(None);
                            if browser::refresh().await.is_err() {
                                status.set("Live updates: could not refresh; reload the page to see the latest.");
                            }
                        }
                    }
                }
            }
            status.set("Live updates: reconnecting…");
            browser::sleep(pause).await;
            pause = (pause * 2).min(10_000);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (namespace, configuration);
    view! {
        <p class="live hint" id="live-status" aria-live="polite">{move || status.get()}</p>
        {move || elsewhere.get().map(|who| view! {
            <p class="notice" role="alert" id="changed-elsewhere">
                {format!("{who} changed {what} while you were editing. {then}")}
            </p>
        })}
    }
}
