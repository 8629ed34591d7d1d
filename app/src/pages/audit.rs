//! The audit log page: every change the user may read, newest first, filtered by person,
//! namespace, configuration, action and days; each entry links to its diff; the filtered view
//! exports as CSV or JSON Lines; a chart of changes per day; whether the chain verifies.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{encode_component, loaded, thousands};
use crate::api::audit::{AuditFilter, AuditView, CHART_MAX_ENTRIES, audit_log};

/// Bars of changes per day, as an SVG anyone can read without JavaScript. `partial`: more
/// changes happened in those days than the chart counts.
fn chart(per_day: &[(String, usize)], partial: bool) -> impl IntoView + use<> {
    let most = per_day.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let total: usize = per_day.iter().map(|(_, n)| n).sum();
    let bars = per_day
        .iter()
        .enumerate()
        .map(|(i, (day, count))| {
            let height = (*count as f64 / most as f64 * 60.0).round();
            view! {
                <rect x=(i * 10).to_string() y=(64.0 - height).to_string() width="8" height=height.to_string()>
                    <title>{format!("{day}: {count}")}</title>
                </rect>
            }
        })
        .collect_view();
    let rows = per_day
        .iter()
        .map(|(day, count)| view! { <tr><th scope="row">{day.clone()}</th><td>{*count}</td></tr> })
        .collect_view();
    let first = per_day.first().map(|(d, _)| d.clone()).unwrap_or_default();
    let last = per_day.last().map(|(d, _)| d.clone()).unwrap_or_default();
    view! {
        <figure class="chart">
            <svg viewBox="0 0 300 64" role="img" aria-label=format!("{total} changes in the last 30 days") preserveAspectRatio="none">
                {bars}
            </svg>
            <figcaption>{chart_caption(&first, &last, total, partial)}</figcaption>
            <details class="chart-table">
                <summary>"The same as a table"</summary>
                <table id="chart-table">
                    <thead><tr><th scope="col">"Day"</th><th scope="col">"Changes"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
}

/// What the chart shows, and how far it counts.
fn chart_caption(first: &str, last: &str, total: usize, partial: bool) -> String {
    let bound = thousands(CHART_MAX_ENTRIES);
    if partial {
        format!(
            "Changes per day, {first} to {last}: the newest {bound} changes only; \
             older ones of these days are not counted."
        )
    } else {
        format!(
            "Changes per day, {first} to {last}: {total} in all (the chart counts at most the newest {bound})."
        )
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |key: &str| query.read().get(key).unwrap_or_default();
    let filter = move || AuditFilter {
        who: get("who"),
        namespace: get("namespace"),
        configuration: get("configuration"),
        action: get("action"),
        since: get("since"),
        until: get("until"),
    };
    let before = move || get("before").parse::<u64>().ok();
    let log = Resource::new(move || (filter(), before()), |(f, b)| audit_log(f, b));
    let body = move |view: AuditView| {
        let f = filter();
        let params = [
            ("who", &f.who),
            ("namespace", &f.namespace),
            ("configuration", &f.configuration),
            ("action", &f.action),
            ("since", &f.since),
            ("until", &f.until),
        ];
        let page_query: String = params
            .iter()
            .map(|(k, v)| format!("{k}={}&", encode_component(v)))
            .collect();
        let export_query: String = params
            .iter()
            .map(|(k, v)| format!("filter%5B{k}%5D={}&", encode_component(v)))
            .collect();
        let actions = view
            .actions
            .iter()
            .map(|(code, words)| view! { <option value=code.clone() selected=f.action == *code>{words.clone()}</option> })
            .collect_view();
        let rows = view
            .rows
            .into_iter()
            .map(|r| {
                let place = [r.namespace.as_str(), r.configuration.as_str(), r.field.as_str(), r.user.as_str()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" › ");
                view! {
                    <tr id=format!("entry-{}", r.seq) data-action=r.action.clone()>
                        <td><a href=format!("/audit?before={}#entry-{}", r.seq + 1, r.seq)>{format!("#{}", r.seq)}</a></td>
                        <td>{r.when}</td>
                        <td>{r.who}</td>
                        <td><span title=r.action.clone()>{r.what}</span></td>
                        <td>{place}</td>
                        <td>{r.comment}</td>
                        <td>
                            {r.link.map(|href| view! { <a href=href>"Diff"</a> })}
                            {r.request.map(|id| view! { " " <a href=format!("/requests/{id}") data-request=id.to_string()>{format!("Request {id}")}</a> })}
                        </td>
                    </tr>
                }
            })
            .collect_view();
        let empty = view.per_day.iter().all(|(_, n)| *n == 0) && view.next_before.is_none();
        view! {
            // What live updates bring up to date: the chain's status, the chart and the entries.
            <div id="audit-summary" data-live="">
                <p class=if view.chain_intact { "notice" } else { "error" } id="chain" role="status">{view.chain}</p>
                {chart(&view.per_day, view.chart_partial)}
            </div>
            <form method="get" class="filters" id="audit-filter">
                <label>"Person " <input type="text" name="who" value=f.who.clone()/></label>
                <label>"Namespace " <input type="text" name="namespace" value=f.namespace.clone()/></label>
                <label>"Configuration " <input type="text" name="configuration" value=f.configuration.clone()/></label>
                <label>"Action " <select name="action"><option value="">"any"</option>{actions}</select></label>
                <label>"From day " <input type="date" name="since" value=f.since.clone()/></label>
                <label>"To day " <input type="date" name="until" value=f.until.clone()/></label>
                <button type="submit">"Filter"</button>
                " " <a href="/audit">"Clear"</a>
            </form>
            <p>
                "Export what the filter shows: "
                <a href=format!("/api/audit/export?{export_query}format=csv") download="confo-audit.csv" id="export-csv">"CSV"</a>
                " · "
                <a href=format!("/api/audit/export?{export_query}format=jsonl") download="confo-audit.jsonl" id="export-jsonl">"JSON Lines"</a>
            </p>
            <div id="audit-entries" data-live="">
            {if empty {
                view! { <p class="empty">"No changes match. The audit log records every change: who made it, when, and what it was."</p> }.into_any()
            } else {
                view! {
                    <table id="audit">
                        <thead><tr><th>"Entry"</th><th>"When (UTC)"</th><th>"Who"</th><th>"Action"</th><th>"What"</th><th>"Comment"</th><th></th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
            {view.next_before.map(|b| view! { <a href=format!("/audit?{page_query}before={b}") rel="next">"Older entries"</a> })}
            </div>
        }
    };
    view! {
        <h1>"Audit log"</h1>
        <super::live::Live namespace="" configuration="" editing=false/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { loaded(log.await, body) })}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caption_states_the_chart_s_bound() {
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        let whole = chart_caption("2026-10-31", "2026-11-29", 12, false);
        assert_eq!(
            whole,
            "Changes per day, 2026-10-31 to 2026-11-29: 12 in all (the chart counts at most the newest 10,000)."
        );
        let partial = chart_caption("2026-10-31", "2026-11-29", 10_000, true);
        assert!(
            partial.contains("the newest 10,000 changes only"),
            "{partial}"
        );
    }
}
