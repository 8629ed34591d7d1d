//! `/search?q=`: one search over names, field paths and values of every namespace the user may
//! read, with filters, the match marked in each result and pages. A plain GET form: it works
//! without JavaScript, and every search is an address.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{encode_component, loaded};
use crate::api::search::{SearchHit, SearchView, search};

const WITHIN: [(&str, &str); 4] = [
    ("", "Names, paths and values"),
    ("names", "Names"),
    ("paths", "Field paths"),
    ("values", "Values"),
];

/// Where a result leads: the namespace, the configuration, or the field's row (marked there).
fn link(hit: &SearchHit) -> String {
    let ns = encode_component(&hit.namespace);
    match (&hit.configuration, &hit.pointer) {
        (None, _) => format!("/ns/{ns}"),
        (Some(cfg), None) => format!("/ns/{ns}/{}", encode_component(cfg)),
        (Some(cfg), Some(pointer)) => format!(
            "/ns/{ns}/{}?found={}#found",
            encode_component(cfg),
            encode_component(pointer)
        ),
    }
}

fn matched_words(hit: &SearchHit) -> &'static str {
    match (hit.matched.as_str(), hit.exact) {
        ("namespace", _) => "Namespace",
        ("configuration", _) => "Configuration",
        ("path", true) => "Field path (exact)",
        ("path", false) => "Field path",
        ("value", true) => "Value (exact)",
        _ => "Value",
    }
}

fn result(hit: SearchHit) -> impl IntoView {
    let href = link(&hit);
    let marked = view! { {hit.before.clone()}<mark>{hit.mark.clone()}</mark>{hit.after.clone()} };
    let place = match (&hit.configuration, hit.matched.as_str()) {
        (None, _) => view! { <a href=href.clone()>{marked}</a> }.into_any(),
        (Some(_), "configuration") => view! {
            <a href=href.clone()>{hit.namespace.clone()}" / "{marked}</a>
        }
        .into_any(),
        (Some(cfg), "path") => view! {
            <a href=href.clone()>{format!("{} / {cfg} / ", hit.namespace)}<code>{marked}</code></a>
        }
        .into_any(),
        (Some(cfg), _) => view! {
            <a href=href.clone()>{format!("{} / {cfg} / ", hit.namespace)}<code>{hit.path.clone().unwrap_or_default()}</code></a>
        }
        .into_any(),
    };
    let value = match hit.matched.as_str() {
        "value" => Some(view! { <span class="value">{marked_again(&hit)}</span> }.into_any()),
        "path" => Some(match &hit.value {
            Some(v) => view! { <span class="value">{v.clone()}</span> }.into_any(),
            None => view! { <span class="value hint">"(secret or not indexed)"</span> }.into_any(),
        }),
        _ => None,
    };
    view! {
        <li data-hit=hit.matched.clone()>
            <span class="kind">{matched_words(&hit)}</span>" "
            {place}
            {value.map(|v| view! { " = " {v} })}
        </li>
    }
}

/// A value result's text, with its match marked.
fn marked_again(hit: &SearchHit) -> impl IntoView {
    view! { {hit.before.clone()}<mark>{hit.mark.clone()}</mark>{hit.after.clone()} }
}

/// The address of page `page` of the same search.
fn page_link(q: &str, ns: &str, within: &str, page: usize) -> String {
    let mut link = format!("/search?q={}", encode_component(q));
    if !ns.is_empty() {
        link.push_str(&format!("&ns={}", encode_component(ns)));
    }
    if !within.is_empty() {
        link.push_str(&format!("&in={}", encode_component(within)));
    }
    if page > 1 {
        link.push_str(&format!("&page={page}"));
    }
    link
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let ns = move || query.read().get("ns").unwrap_or_default();
    let within = move || {
        query
            .read()
            .get("in")
            .filter(|w| WITHIN.iter().any(|(k, _)| k == w))
            .unwrap_or_default()
    };
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
    };
    let results = Resource::new(
        move || (q(), ns(), within(), page()),
        |(q, ns, within, page)| search(q, ns, within, page),
    );
    let body = move |view: SearchView| {
        let (q_now, ns_now, within_now) = (q(), ns(), within());
        let searched = !q_now.trim().is_empty();
        let summary = if !searched {
            "Search the names of namespaces and configurations, field paths (servers/0/host or servers.0.host) and values, in every namespace you may read.".to_owned()
        } else if view.total == 0 {
            format!("Nothing matches “{}”.", q_now.trim())
        } else {
            let first = (view.page - 1)
                .saturating_mul(crate::api::search::PER_PAGE)
                .saturating_add(1);
            let last = first.saturating_add(view.hits.len().saturating_sub(1));
            if view.hits.is_empty() {
                format!("{} results; this page is past the last one.", view.total)
            } else {
                format!(
                    "{} {} for “{}”; {first}–{last} shown.",
                    view.total,
                    if view.total == 1 { "result" } else { "results" },
                    q_now.trim()
                )
            }
        };
        let pages = (view.pages > 1).then(|| {
            let previous = (view.page > 1).then(|| {
                view! { <a rel="prev" href=page_link(&q_now, &ns_now, &within_now, view.page - 1)>"Previous"</a> " " }
            });
            let next = (view.page < view.pages).then(|| {
                view! { " " <a rel="next" href=page_link(&q_now, &ns_now, &within_now, view.page + 1)>"Next"</a> }
            });
            view! {
                <nav aria-label="Result pages" id="search-pages">
                    {previous}
                    <span>{format!("Page {} of {}", view.page.min(view.pages), view.pages)}</span>
                    {next}
                </nav>
            }
        });
        let left_out = (view.left_out > 0).then(|| view! {
            <p class="notice" id="search-left-out">{format!(
                "{} {} longer than {} bytes {} not searched: the search index keeps at most the configured amount of value text (--search-value-ceiling). Names and paths are all searched.",
                view.left_out,
                if view.left_out == 1 { "value" } else { "values" },
                view.longer_than,
                if view.left_out == 1 { "is" } else { "are" },
            )}</p>
        });
        let not_ready = (!view.ready).then(|| view! {
            <p class="notice" id="search-not-ready">"The search index is still being built; some results may be missing. Search again in a moment."</p>
        });
        view! {
            <h1>"Search"</h1>
            <form method="get" action="/search" role="search" id="search-form" class="stacked">
                <label>"Search for "
                    <input type="search" name="q" value=q_now.clone() maxlength=crate::api::search::MAX_QUERY_CHARS.to_string()/>
                </label>
                <label>"Look in "
                    <select name="in">
                        {WITHIN.iter().map(|(k, label)| view! {
                            <option value=*k selected=*k == within_now>{*label}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Namespace "
                    <select name="ns">
                        <option value="" selected=ns_now.is_empty()>"All namespaces"</option>
                        {view.namespaces.iter().map(|n| {
                            let here = *n == ns_now;
                            view! { <option value=n.clone() selected=here>{n.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit">"Search"</button>
            </form>
            {not_ready}
            {left_out}
            <p id="search-summary" role="status">{summary}</p>
            <ol id="search-results" class="search-results">
                {view.hits.into_iter().map(result).collect_view()}
            </ol>
            {pages}
            <p class="hint">"Secret values (marked write-only in a schema) are never searched; their field paths are."</p>
        }
    };
    view! {
        <Transition fallback=|| view! { <p>"Searching…"</p> }>
            {move || Suspend::new(async move { loaded(results.await, body) })}
        </Transition>
    }
}
