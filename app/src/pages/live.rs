//! Live updates in the browser: listens to the server's stream of changes for what the page
//! shows, brings the page up to date without reloading it, and reconnects by itself, with a
//! growing pause, when the connection drops. Someone with unsaved edits is told instead, so that
//! nothing they typed is lost.

use leptos::prelude::*;

/// Keeps the page showing `namespace` / `configuration` (empty: all of them) live; on a
/// configuration, shows who else has it open (`editing`: this page is in the middle of a
/// change, which they see).
#[island]
pub fn Live(
    #[prop(into)] namespace: String,
    #[prop(into)] configuration: String,
    editing: bool,
) -> impl IntoView {
    // Empty until the page's JavaScript runs: without it there are no live updates to speak of.
    let status = RwSignal::new("");
    let elsewhere = RwSignal::new(None::<String>);
    let here = RwSignal::new(Vec::<crate::api::live::Here>::new());
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
        use crate::error::AppError;
        use futures::StreamExt;
        status.set("Live updates: connecting…");
        let mut pause = 500;
        // Whether the stream was connected before: a new `ready` then means it reconnected, and
        // what changed meanwhile was not heard.
        let mut connected = false;
        loop {
            let mut replaced = false;
            let mut signed_out = false;
            match crate::api::live::live_updates(namespace.clone(), configuration.clone(), editing)
                .await
            {
                Ok(stream) => {
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
                                    if std::mem::replace(&mut connected, true) {
                                        changed_by = Some(String::new());
                                    }
                                }
                                "resync" => changed_by = Some("someone".to_owned()),
                                "closed" => replaced = true,
                                others if others.starts_with("here ") => {
                                    if let Ok(others) =
                                        serde_json::from_str(&others["here ".len()..])
                                    {
                                        here.set(others);
                                    }
                                }
                                changed if changed.starts_with("changed ") => {
                                    let rest = &changed["changed ".len()..];
                                    let (revision, who) =
                                        rest.split_once(' ').unwrap_or(("0", rest));
                                    // The page's own save: it has brought itself up to date.
                                    if !revision.parse().is_ok_and(browser::written_here) {
                                        changed_by = Some(who.to_owned());
                                    }
                                }
                                _ => {}
                            }
                        }
                        // (An empty name: reconnected, changes unknown; nobody to name.)
                        if let Some(who) = changed_by {
                            if browser::unsaved() {
                                if !who.is_empty() {
                                    elsewhere.set(Some(who));
                                }
                            } else {
                                elsewhere.set(None);
                                if browser::refresh_for_others().await.is_err() {
                                    status.set("Live updates: could not refresh; reload the page to see the latest.");
                                }
                            }
                        }
                    }
                }
                // Signed out meanwhile (or access taken away): keep trying, slowly, in case
                // the user signs in again in another tab.
                Err(AppError::SignInRequired | AppError::Forbidden(_)) => {
                    signed_out = true;
                    pause = 10_000;
                }
                Err(AppError::Overloaded(seconds)) => pause = seconds.saturating_mul(1000),
                Err(_) => {}
            }
            // Whoever was here is not known until the stream is back.
            here.set(Vec::new());
            if replaced {
                // Newer pages of this session took this one's place: do not take it back.
                status.set(
                    "Live updates: off, as many other pages are open; reload to turn them on here.",
                );
                return;
            }
            status.set(if signed_out {
                "Live updates: off; sign in again to see changes as they happen."
            } else {
                "Live updates: reconnecting…"
            });
            browser::sleep(pause).await;
            pause = (pause * 2).min(10_000);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (namespace, configuration, editing);
    let present = move || {
        let others = here.get();
        (!others.is_empty()).then(|| {
            let names = others
                .iter()
                .map(|h| {
                    let who = if h.you {
                        format!("{} (you, in another page)", h.user)
                    } else {
                        h.user.clone()
                    };
                    if h.editing {
                        format!("{who}, in the middle of a change")
                    } else {
                        who
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            let busy = others.iter().any(|h| h.editing && !h.you);
            view! {
                <p class="notice present" class:busy=busy id="present">
                    {format!("Also here now: {names}.")}
                    {busy.then_some(" Talk to them before you change the same setting.")}
                </p>
            }
        })
    };
    view! {
        <p class="live hint" id="live-status" aria-live="polite">{move || status.get()}</p>
        <div aria-live="polite">{present}</div>
        {move || elsewhere.get().map(|who| view! {
            <p class="notice" role="alert" id="changed-elsewhere">
                {format!("{who} changed {what} while you were editing. {then}")}
            </p>
        })}
    }
}
