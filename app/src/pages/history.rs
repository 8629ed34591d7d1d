//! A configuration's history: its versions (who, when, comment), the field-level difference
//! between any two, any version's content, and reverting to one. Every view has its own address.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::configuration::DiffTable;
use super::{failure, loaded, loaded_part};
use crate::api::configurations::{
    Comparison, HistoryView, RevertConfiguration, TakeBack, TakeBackView, configuration_at,
    configuration_history, take_back_preview, version_diff,
};

#[component]
pub fn HistoryPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let namespace = move || params.read().get("ns").unwrap_or_default();
    let name = move || params.read().get("cfg").unwrap_or_default();
    let number = move |key: &str| query.read().get(key).and_then(|v| v.parse::<u64>().ok());
    let revert = ServerAction::<RevertConfiguration>::new();
    let take_back = ServerAction::<TakeBack>::new();
    let history = Resource::new(
        move || (namespace(), name(), revert.version().get()),
        |(namespace, name, _)| configuration_history(namespace, name),
    );
    let diff = Resource::new(
        move || (namespace(), name(), number("from"), number("to")),
        |(namespace, name, from, to)| async move {
            Some(version_diff(namespace, name, from, to?).await)
        },
    );
    let at = Resource::new(
        move || (namespace(), name(), number("at")),
        |(namespace, name, at)| async move {
            match at {
                Some(seq) => Some((seq, configuration_at(namespace, name, seq).await)),
                None => None,
            }
        },
    );
    // Taking back one change (?take_back=N): what it would do, shown before it is done.
    let preview = Resource::new(
        move || (namespace(), name(), number("take_back")),
        |(namespace, name, seq)| async move { Some(take_back_preview(namespace, name, seq?).await) },
    );
    let body = move |history: HistoryView| {
        let HistoryView {
            namespace: ns,
            name: cfg,
            versions,
            revision,
            can_edit,
        } = history;
        let base = format!("/ns/{ns}/{cfg}/history");
        let rows = versions
            .iter()
            .map(|v| {
                view! {
                    <tr>
                        <td><a href=format!("{base}?at={}", v.seq) title=format!("The configuration as change {} left it", v.seq)>{format!("#{}", v.seq)}</a></td>
                        <td><span title=v.at.clone()>{v.when.clone()}</span></td>
                        <td>{v.who.clone()}</td>
                        <td>{v.what.clone()}</td>
                        <td>{v.comment.clone().unwrap_or_default()}</td>
                        <td>
                            <a href=format!("{base}?to={}", v.seq)>"What changed"</a>
                            {can_edit.then(|| view! {
                                " · " <a href=format!("{base}?take_back={}#take-back", v.seq)
                                    aria-label=format!("Take back version {} alone", v.seq)>"Take back"</a>
                            })}
                        </td>
                    </tr>
                }
            })
            .collect_view();
        // Opens on the last change: the version before it against the newest.
        let newest = versions.first().map(|v| v.seq);
        let before_newest = versions.get(1).map(|v| v.seq).or(newest);
        let options = move |selected: Option<u64>| {
            versions
                .iter()
                .map(|v| view! { <option value=v.seq.to_string() selected=selected == Some(v.seq)>{format!("#{} · {}", v.seq, v.when)}</option> })
                .collect_view()
        };
        let compare = view! {
            <form method="get" class="compare" id="compare">
                <label>"Compare " <select name="from">{options(number("from").or(before_newest))}</select></label>
                <label>" with " <select name="to">{options(number("to").or(newest))}</select></label>
                " " <button type="submit">"Compare"</button>
            </form>
        };
        let (ns2, cfg2) = (ns.clone(), cfg.clone());
        let version_view = move || {
            let (ns, cfg) = (ns2.clone(), cfg2.clone());
            Suspend::new(async move {
                let (seq, result) = at.await?;
                Some(loaded_part(result, move |json| {
                    view! {
                        <section id="version" aria-labelledby="version-heading">
                            <h2 id="version-heading">{format!("Version #{seq}")}</h2>
                            {if json.is_empty() {
                                view! { <p class="hint">"The configuration did not exist after this change."</p> }.into_any()
                            } else {
                                view! { <pre id="version-json">{json}</pre> }.into_any()
                            }}
                            {can_edit.then(|| view! {
                                <ActionForm action=revert attr:class="stacked" attr:id="revert">
                                    <super::ReturnHere/>
                                    <input type="hidden" name="namespace" value=ns.clone()/>
                                    <input type="hidden" name="name" value=cfg.clone()/>
                                    <input type="hidden" name="seq" value=seq.to_string()/>
                                    <input type="hidden" name="revision" value=revision.to_string()/>
                                    <label>"Comment for the history (optional) " <input type="text" name="comment"/></label>
                                    <label><input type="checkbox" required/> " Yes, make this version the current one"</label>
                                    <button type="submit">"Revert to this version"</button>
                                </ActionForm>
                            })}
                        </section>
                    }
                }))
            })
        };
        let one_change = number("from").is_none();
        let diff_base = base.clone();
        let diff_view = move || {
            let base = diff_base.clone();
            Suspend::new(async move {
                let result = diff.await?;
                Some(loaded_part(
                    result,
                    move |Comparison { from, to, changes }| {
                        view! {
                            <section id="diff" aria-labelledby="diff-heading">
                                <h2 id="diff-heading">{if from == 0 { format!("Version #{to} against nothing") } else { format!("Version #{from} → #{to}") }}</h2>
                                <DiffTable changes=changes/>
                                {(one_change && can_edit).then(|| view! {
                                    <p><a href=format!("{base}?take_back={to}#take-back") id="take-back-link">"Take back this change"</a>
                                    " (only what it changed; changes made since stay)"</p>
                                })}
                            </section>
                        }
                    },
                ))
            })
        };
        let (ns3, cfg3) = (ns.clone(), cfg.clone());
        let take_back_view = move || {
            let (ns, cfg) = (ns3.clone(), cfg3.clone());
            let here = format!("/ns/{ns}/{cfg}/history");
            Suspend::new(async move {
                let result = preview.await?;
                Some(match result {
                    Err(error) => view! {
                        <section id="take-back" class="review">
                            <h2>"This change cannot be taken back alone"</h2>
                            <super::ErrorMessage error/>
                            <a href=here>"Back to the history"</a>
                        </section>
                    }
                    .into_any(),
                    Ok(TakeBackView { seq, change, changes, comment_required }) => view! {
                        <section id="take-back" class="review" aria-labelledby="take-back-heading">
                            <h2 id="take-back-heading">{format!("Take back version #{seq}")}</h2>
                            <p class="summary">{format!("{} {} ({}). Taking it back changes only this; changes made since stay:", change.who, change.what, change.when)}</p>
                            <DiffTable changes=changes/>
                            <ActionForm action=take_back attr:class="stacked" attr:id="take-back-form">
                                <super::ReturnHere/>
                                <input type="hidden" name="namespace" value=ns.clone()/>
                                <input type="hidden" name="name" value=cfg.clone()/>
                                <input type="hidden" name="seq" value=seq.to_string()/>
                                <label>
                                    {if comment_required { "Comment for the history (required in this namespace) " } else { "Comment for the history (optional) " }}
                                    <input type="text" name="comment" required=comment_required/>
                                </label>
                                <button type="submit">"Take back this change"</button>
                            </ActionForm>
                            <a href=here>"Cancel"</a>
                        </section>
                    }
                    .into_any(),
                })
            })
        };
        view! {
            <nav class="crumbs" aria-label="Breadcrumbs">
                <a href="/">"Namespaces"</a> " › " <a href=format!("/ns/{ns}")>{ns.clone()}</a> " › "
                <a href=format!("/ns/{ns}/{cfg}")>{cfg.clone()}</a> " › history"
            </nav>
            <h1>{format!("History of {cfg}")}</h1>
            {move || failure(revert.value().get())}
            {move || failure(take_back.value().get())}
            <Suspense fallback=|| ()>{take_back_view}</Suspense>
            <Suspense fallback=|| ()>{version_view}</Suspense>
            <Suspense fallback=|| ()>{diff_view}</Suspense>
            {compare}
            <p class="hint" id="version-numbers">
                "A version is named by the number of the change that made it. Changes are counted across all of Confo, as in the audit log, so one configuration's versions skip numbers: #12 is the configuration as change 12 left it."
            </p>
            <table id="versions">
                <thead><tr><th>"Version"</th><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Comment"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { loaded(history.await, body) })}
        </Transition>
    }
}
