//! One namespace: its configurations, filtered and paginated on the server (so that the page
//! stays fast with thousands), with forms to create, register and delete.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{encode_component, failure, loaded};
use crate::api::configurations::{
    ChangeSummary, ConfigurationList, CreateConfiguration, DeleteNamespace, RegisterConfigurations,
    namespace_page,
};

/// "edited by ada, 2026-11-29 08:12 UTC", or a dash.
pub(crate) fn last_change_text(change: &Option<ChangeSummary>) -> String {
    change.as_ref().map_or_else(
        || "—".to_owned(),
        |c| format!("{} by {}, {}", c.what, c.who, c.when),
    )
}

#[component]
pub fn NamespacePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    // A configuration just deleted (?deleted=name), confirmed here.
    let deleted = move || query.read().get("deleted").filter(|n| !n.is_empty());
    let namespace = move || params.read().get("ns").unwrap_or_default();
    let filter = move || query.read().get("filter").unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1usize)
    };
    let create = ServerAction::<CreateConfiguration>::new();
    let register = ServerAction::<RegisterConfigurations>::new();
    let delete = ServerAction::<DeleteNamespace>::new();
    let me = Resource::new(|| (), |_| crate::api::auth::who_am_i());
    let list = Resource::new(
        move || (namespace(), filter(), page(), register.version().get()),
        |(namespace, filter, page, ..)| namespace_page(namespace, filter, page),
    );
    let body = move |list: ConfigurationList, admin: bool| {
        let ns = list.namespace.clone();
        let link = {
            let ns = ns.clone();
            move |page: usize| {
                format!(
                    "/ns/{ns}?filter={}&page={page}",
                    encode_component(&filter())
                )
            }
        };
        let banner = (!list.unregistered.is_empty()).then(|| {
            let ns = ns.clone();
            view! {
                <div class="banner" role="status" id="unregistered">
                    <p>
                        {format!("{} configuration(s) are stored in this namespace but not listed in it: {}. ", list.unregistered.len(), list.unregistered.join(", "))}
                        "Another tool wrote them; registering lists them here and for every client."
                    </p>
                    {list.can_edit.then(|| view! {
                        <ActionForm action=register>
                            <super::ReturnHere/>
                            <input type="hidden" name="namespace" value=ns/>
                            <button type="submit">"Register them"</button>
                        </ActionForm>
                    })}
                </div>
            }
        });
        let rows = list
            .rows
            .into_iter()
            .map(|row| {
                view! {
                    <tr>
                        <td><a href=format!("/ns/{}/{}", ns, row.name)>{row.name.clone()}</a></td>
                        <td>{last_change_text(&row.last_change)}</td>
                    </tr>
                }
            })
            .collect_view();
        let table = if list.total == 0 {
            view! {
                <p class="empty" id="configuration-empty">
                    "No configurations yet. A configuration is a named set of fields that a service reads "
                    "(for example a "<em>"database"</em>" configuration with fields "<em>"host"</em>" and "<em>"port"</em>"). "
                    {if list.can_edit { "Create the first one below." } else { "An editor can create one." }}
                </p>
            }
            .into_any()
        } else {
            view! {
                <table id="configurations">
                    <thead><tr><th>"Configuration"</th><th>"Last change"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                <p class="hint" id="paging">
                    {format!("{} of {} configurations match. Page {} of {}. ", list.matching, list.total, list.page, list.pages)}
                    {(list.page > 1).then(|| view! { <a href=link(list.page - 1) rel="prev">"Previous page"</a> " " })}
                    {(list.page < list.pages).then(|| view! { <a href=link(list.page + 1) rel="next">"Next page"</a> })}
                </p>
            }
            .into_any()
        };
        let editing = list.can_edit.then(|| {
            let ns = ns.clone();
            view! {
                <h2>"Create a configuration"</h2>
                <ActionForm action=create attr:class="stacked" attr:id="create-configuration">
                    <super::ReturnHere/>
                    <input type="hidden" name="namespace" value=ns/>
                    <super::KeepTyped names="name,copy_from"/>
                    <label>"Name " <input type="text" name="name" value=super::kept(query, "name") required autocomplete="off"/></label>
                    <label>
                        "Copy the fields of (optional) "
                        <input type="text" name="copy_from" value=super::kept(query, "copy_from") autocomplete="off" placeholder="an existing configuration"/>
                    </label>
                    <label>"Comment for the history " <input type="text" name="comment" autocomplete="off"/></label>
                    <button type="submit">"Create"</button>
                </ActionForm>
                {move || failure(create.value().get())}
            }
        });
        view! {
            <nav class="crumbs" aria-label="Breadcrumbs"><a href="/">"Namespaces"</a> " › " {ns.clone()}</nav>
            <h1>{ns.clone()}</h1>
            {deleted().map(|name| view! {
                <p class="notice saved" role="status" id="deleted">
                    {format!("Deleted the configuration {name}. Its history stays in the audit log, where whoever may read {ns} can see what it held.")}
                </p>
            })}
            <p class="meta"><a href=format!("/ns/{ns}/settings") id="namespace-settings">"Shared schemas and rules"</a></p>
            <super::live::Live namespace=ns.clone() configuration="" editing=false/>
            // What live updates bring up to date: the banner and the list.
            <div id="namespace-banner" data-live="">{banner}</div>
            {move || failure(register.value().get())}
            <form method="get" class="filter" role="search">
                <ConfigurationFilter namespace=ns.clone() filter=filter()/>
                " " <button type="submit">"Filter"</button>
            </form>
            <div id="namespace-live" data-live="">{table}</div>
            {editing}
            <super::ExportForm namespace=Some(ns.clone()) admin/>
            // Only for a namespace that is there: an unknown one is a page not found.
            {admin.then(|| view! {
                <super::home::DeleteNamespaceForm
                    name=ns.clone()
                    action=delete
                    summary="Delete this namespace".to_owned()
                    id="delete-namespace"
                    open=delete.value().get_untracked().is_some_and(|r| r.is_err())
                >
                    {move || failure(delete.value().get())}
                </super::home::DeleteNamespaceForm>
            })}
        }
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let admin = matches!(me.await, Ok(Some(user)) if user.role == "admin");
                loaded(list.await, |list| body(list, admin))
            })}
        </Transition>
    }
}

/// The filter box: a form without JavaScript (Enter); with it, the list follows as you type
/// (the address changes too, so that the filtered list can still be shared).
#[island]
fn ConfigurationFilter(namespace: String, filter: String) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let typed = {
        let typing = StoredValue::new(0u32);
        move |text: String| {
            // Waits for a pause in the typing, then shows the first page of what matches.
            let this = typing.get_value() + 1;
            typing.set_value(this);
            let href = format!(
                "/ns/{namespace}?filter={}&page=1",
                super::encode_component(&text)
            );
            set_timeout(
                move || {
                    if typing.get_value() == this {
                        leptos::task::spawn_local(async move {
                            let _ = crate::browser::navigate_in_place(&href).await;
                        });
                    }
                },
                std::time::Duration::from_millis(250),
            );
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let typed = {
        let _ = namespace;
        |_: String| {}
    };
    view! {
        <label>
            "Filter by name "
            <input
                type="search"
                name="filter"
                value=filter
                placeholder="part of a name"
                on:input=move |ev| typed(event_target_value(&ev))
            />
        </label>
    }
}
