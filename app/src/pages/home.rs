//! The home page: every namespace, a filter, and a form to create one.

use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::api::auth::who_am_i;
use crate::api::configurations::{
    DeleteNamespace, NamespaceSummary, RegisterConfigurations, namespaces_overview,
};
use crate::api::namespaces::CreateNamespace;

/// Lists the namespaces and creates new ones.
#[component]
pub fn Home() -> impl IntoView {
    let create = ServerAction::<CreateNamespace>::new();
    let delete = ServerAction::<DeleteNamespace>::new();
    let register = ServerAction::<RegisterConfigurations>::new();
    let namespaces = Resource::new(move || create.version().get(), |_| namespaces_overview());
    // Without JavaScript the filter is a form; with it, the list is filtered as you type.
    let query = leptos_router::hooks::use_query_map();
    let filter = move || query.read().get("filter").unwrap_or_default();
    // Only administrators are offered the form; the server refuses everyone else anyway.
    let me = Resource::new(|| (), |_| who_am_i());

    view! {
        <Guide/>
        <h1>"Namespaces"</h1>
        {move || query.read().get("deleted").filter(|n| !n.is_empty()).map(|name| view! {
            <p class="notice saved" role="status" id="deleted">
                {format!("Deleted the namespace {name}. Its history stays in the audit log.")}
            </p>
        })}
        <super::live::Live namespace="" configuration="" editing=false/>
        <p class="hint">
            "A namespace groups the configurations of one team, service or environment."
        </p>
        <form method="get" role="search">
            <NamespaceFilter filter=filter()/>
        </form>
        // What live updates bring up to date.
        <div id="namespaces-live" data-live="">
        <Transition fallback=|| view! { <p>"Loading namespaces…"</p> }>
            {move || Suspend::new(async move {
                let admin = matches!(me.await, Ok(Some(user)) if user.role == "admin");
                match namespaces.await {
                    Ok(names) if names.is_empty() => view! {
                        <p class="empty" id="namespace-empty">
                            "No namespaces yet. A namespace holds the configurations of one team, "
                            "service or environment (for example "<em>"shop"</em>" or "<em>"staging"</em>"). "
                            "An administrator creates them."
                        </p>
                    }
                    .into_any(),
                    Ok(names) => view! {
                        {unregistered_banner(&names, register)}
                        {move || super::failure(delete.value().get())}
                        <ul class="namespaces" id="namespace-list">
                            {names
                                .into_iter()
                                .map(|summary| {
                                    let name = summary.name.clone();
                                    view! {
                                        <li class="namespace" data-name=name.clone() hidden=!shows(&filter(), &name)>
                                            <a href=format!("/ns/{name}")>{name.clone()}</a>
                                            <span class="meta">
                                                {format!(" · {} configuration{}", summary.configurations, if summary.configurations == 1 { "" } else { "s" })}
                                                {summary.last_change.map(|c| format!(" · last change {} by {}", c.when, c.who))}
                                            </span>
                                            {admin.then(|| view! { <DeleteNamespaceForm name=name.clone() action=delete/> })}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(error) => super::page_error(error, false),
                }
            })}
        </Transition>
        </div>

        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let admin = matches!(me.await, Ok(Some(user)) if user.role == "admin");
                admin.then(|| view! {
                    <h2>"Create a namespace"</h2>
                    <ActionForm action=create attr:class="create-namespace">
                        <super::ReturnHere/>
                        <super::KeepTyped names="name"/>
                        <label>
                            "Name "
                            <input type="text" name="name" value=super::kept(query, "name") required autocomplete="off"/>
                        </label>
                        <button type="submit">"Create"</button>
                        <p class="rules">
                            "Letters, digits, '_' and '.'; start with a letter or digit; at most 64 characters."
                        </p>
                    </ActionForm>
                })
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => Some(view! { <super::ExportForm namespace=None admin=user.role == "admin"/> }),
                    _ => None,
                }
            })}
        </Suspense>
        {move || {
            create
                .value()
                .get()
                .and_then(Result::err)
                .map(|error| view! { <div id="create-error"><super::ErrorMessage error/></div> })
        }}
    }
}

/// Whether a namespace called `name` passes the filter `needle` (any part of the name, in any
/// case).
fn shows(needle: &str, name: &str) -> bool {
    name.to_lowercase().contains(&needle.to_lowercase())
}

/// The filter box: hides, as you type, the namespaces whose names do not contain the text.
#[island]
fn NamespaceFilter(filter: String) -> impl IntoView {
    let filter = RwSignal::new(filter);
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        // Also after live updates have put a new list in place.
        let refreshed = crate::browser::refreshed();
        Effect::new(move || {
            refreshed.track();
            let needle = filter.get();
            let Ok(items) = document().query_selector_all("#namespace-list li") else {
                return;
            };
            for item in (0..items.length()).filter_map(|i| items.item(i)) {
                if let Ok(item) = item.dyn_into::<leptos::web_sys::Element>() {
                    let name = item.get_attribute("data-name").unwrap_or_default();
                    let _ = item.toggle_attribute_with_force("hidden", !shows(&needle, &name));
                }
            }
        });
    }
    view! {
        <label class="filter">
            "Filter "
            <input
                type="search"
                name="filter"
                placeholder="Type to filter"
                value=filter.get_untracked()
                on:input=move |ev| filter.set(event_target_value(&ev))
            />
        </label>
    }
}

/// Configurations that another tool stored in a namespace without listing them there.
fn unregistered_banner(
    names: &[NamespaceSummary],
    register: ServerAction<RegisterConfigurations>,
) -> Option<impl IntoView + use<>> {
    let found: Vec<&NamespaceSummary> = names.iter().filter(|n| n.unregistered > 0).collect();
    if found.is_empty() {
        return None;
    }
    let rows = found
        .into_iter()
        .map(|n| {
            let name = n.name.clone();
            view! {
                <li>
                    <a href=format!("/ns/{name}")>{name.clone()}</a>
                    {format!(": {} not listed ", n.unregistered)}
                    {n.can_edit.then(|| view! {
                        <ActionForm action=register attr:class="inline">
                            <super::ReturnHere/>
                            <input type="hidden" name="namespace" value=name.clone()/>
                            <button type="submit" aria-label=format!("Register them in {name}")>"Register them"</button>
                        </ActionForm>
                    })}
                </li>
            }
        })
        .collect_view();
    Some(view! {
        <div class="banner" role="status" id="unregistered">
            <p>
                "Some configurations are stored in a namespace but not listed in it, so clients "
                "that read the list do not see them. Another tool wrote them; registering lists them."
            </p>
            <ul>{rows}</ul>
        </div>
    })
}

/// Deleting a namespace: the name typed to confirm, and its configurations deleted too only
/// when asked. Open, with the error, when the last try failed (also without JavaScript).
#[component]
pub(crate) fn DeleteNamespaceForm(
    name: String,
    action: ServerAction<DeleteNamespace>,
    #[prop(optional)] summary: Option<String>,
    #[prop(optional)] id: Option<&'static str>,
    #[prop(optional)] open: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <details class="danger" open=open>
            <summary>{summary.unwrap_or_else(|| format!("Delete {name}…"))}</summary>
            <ActionForm action=action attr:class="stacked delete-namespace" attr:id=id>
                <super::ReturnHere/>
                <input type="hidden" name="name" value=name.clone()/>
                <label>"Type the namespace's name to confirm " <input type="text" name="confirm" required autocomplete="off"/></label>
                <label><input type="checkbox" name="with_configurations" value="yes"/> " Also delete all its configurations"</label>
                <button type="submit" class="danger">"Delete the namespace"</button>
            </ActionForm>
            {children.map(|c| c())}
        </details>
    }
}

/// The getting-started guide for someone who joined through an invitation, shown until they
/// dismiss it: what namespaces, configurations and fields are, and how review, history and
/// revert protect a change, for their role.
#[component]
fn Guide() -> impl IntoView {
    let dismiss = ServerAction::<crate::api::account::DismissGuide>::new();
    let pending = Resource::new(
        move || dismiss.version().get(),
        |_| crate::api::account::guide_pending(),
    );
    let body = move |role: String| {
        let editor = role != "viewer";
        view! {
            <section class="notice guide" id="guide" aria-labelledby="guide-heading">
                <h2 id="guide-heading">"Getting started"</h2>
                <p>
                    "Services read their settings from Confo. Settings are grouped like this: a "
                    <strong>"namespace"</strong>" holds the configurations of one team, service or environment; a "
                    <strong>"configuration"</strong>" is the set of settings one service reads; a "
                    <strong>"field"</strong>" is one setting, a name and a value (such as "<em>"Retry limit: 3"</em>")."
                </p>
                {if editor {
                    view! {
                        <ul>
                            <li>"To change a setting, open its configuration, choose "<em>"Edit"</em>" next to it, type the new value and choose "<em>"Review change"</em>". You see exactly what will change, in plain words, before anything is saved."</li>
                            <li>"Settings with a schema say what they mean and which values are allowed; a value that is not allowed is refused with the reason, and nothing is saved."</li>
                            <li>"If someone else saved in the meantime, nothing of yours overwrites theirs: you are shown both changes."</li>
                            <li>"Every change is kept in the configuration's "<em>"History"</em>", with who made it and why; any earlier version can be brought back with "<em>"Revert"</em>"."</li>
                        </ul>
                    }
                    .into_any()
                } else {
                    view! {
                        <p>"You can read the namespaces you were given. Each configuration's "<em>"History"</em>" shows who changed what, when and why."</p>
                    }
                    .into_any()
                }}
                {(role == "admin").then(|| view! {
                    <p>"As an administrator you also create namespaces, invite people on the "<a href="/users">"users page"</a>", and give configurations schemas."</p>
                })}
                <ActionForm action=dismiss attr:id="guide-dismiss">
                    <super::ReturnHere/>
                    <button type="submit">"Got it, hide this guide"</button>
                </ActionForm>
            </section>
        }
    };
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move { pending.await.ok().flatten().map(body) })}
        </Suspense>
    }
}
