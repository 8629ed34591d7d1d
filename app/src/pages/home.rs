//! The home page: every namespace, a filter, and a form to create one.

use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::api::auth::who_am_i;
use crate::api::configurations::namespaces_overview;
use crate::api::namespaces::CreateNamespace;

/// Lists the namespaces and creates new ones.
#[component]
pub fn Home() -> impl IntoView {
    let create = ServerAction::<CreateNamespace>::new();
    let changes = RwSignal::new(0u32);
    let namespaces = Resource::new(
        move || (create.version().get(), changes.get()),
        |_| namespaces_overview(),
    );
    let filter = RwSignal::new(String::new());
    // Only administrators are offered the form; the server refuses everyone else anyway.
    let me = Resource::new(|| (), |_| who_am_i());

    view! {
        <h1>"Namespaces"</h1>
        <super::live::Live namespace="" configuration="" on_change=Callback::new(move |_| changes.update(|n| *n += 1))/>
        <p class="hint">
            "A namespace groups the configurations of one team, service or environment."
        </p>
        <label class="filter">
            "Filter "
            <input
                type="search"
                name="filter"
                placeholder="Type to filter"
                prop:value=move || filter.get()
                on:input=move |ev| filter.set(event_target_value(&ev))
            />
        </label>
        <Transition fallback=|| view! { <p>"Loading namespaces…"</p> }>
            {move || Suspend::new(async move {
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
                        <ul class="namespaces" id="namespace-list">
                            {names
                                .into_iter()
                                .map(|summary| {
                                    let name = summary.name.clone();
                                    let shown = name.clone();
                                    let visible = move || {
                                        let needle = filter.get().to_lowercase();
                                        needle.is_empty() || shown.to_lowercase().contains(&needle)
                                    };
                                    view! {
                                        <li class="namespace" style:display=move || (!visible()).then_some("none")>
                                            <a href=format!("/ns/{name}")>{name.clone()}</a>
                                            <span class="meta">
                                                {format!(" · {} configuration{}", summary.configurations, if summary.configurations == 1 { "" } else { "s" })}
                                                {summary.last_change.map(|c| format!(" · last change {} by {}", c.when, c.who))}
                                            </span>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(crate::error::AppError::SignInRequired) => {
                        view! { <super::SignInFirst/> }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>

        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let admin = matches!(me.await, Ok(Some(user)) if user.role == "admin");
                admin.then(|| view! {
                    <h2>"Create a namespace"</h2>
                    <ActionForm action=create attr:class="create-namespace">
                        <label>
                            "Name "
                            <input type="text" name="name" required autocomplete="off"/>
                        </label>
                        <button type="submit">"Create"</button>
                        <p class="rules">
                            "Letters, digits, '_' and '.'; start with a letter or digit; at most 64 characters."
                        </p>
                    </ActionForm>
                })
            })}
        </Suspense>
        {move || {
            create
                .value()
                .get()
                .and_then(Result::err)
                .map(|e| view! { <p class="error" role="alert" id="create-error">{e.to_string()}</p> })
        }}
    }
}
