//! The dashboard's pages.

mod account;
mod audit;
mod auth;
mod configuration;
mod edit_table;
mod history;
mod home;
mod import;
mod live;
mod namespace;
mod requests;
mod schema;
mod search;
mod users;

pub use account::{AccountPage, InvitationPage};
pub use audit::AuditPage;
pub use auth::{SetUpPage, SignInPage};
pub use configuration::ConfigurationPage;
pub use history::HistoryPage;
pub use home::Home;
pub use import::ImportPage;
pub use namespace::NamespacePage;
pub use requests::{RequestPage, RequestsPage};
pub use schema::{NamespaceSettingsPage, SchemaPage};
pub use search::SearchPage;
pub use users::{UserPage, UsersPage};

use crate::error::AppError;

/// An error in words a person can act on, with the technical detail (status and kind) folded
/// away for whoever asks.
#[component]
pub(crate) fn ErrorMessage(error: AppError) -> impl IntoView {
    view! {
        <div class="error-message" role="alert">
            <p class="error">{error.to_string()}</p>
            <details class="technical">
                <summary>"Technical details"</summary>
                <code>{format!("HTTP {} · {}", error.status(), error.kind())}</code>
            </details>
        </div>
    }
}

/// The page a form is sent from, carried in the form (`__return`): pages are sent with
/// `Referrer-Policy: no-referrer`, so a form posted without JavaScript comes back to its page,
/// with its error, through this (the server reads it; see `server::return_path`). What a
/// previous answer put into the address (`__path`, `__err`) is left out.
#[component]
pub(crate) fn ReturnHere() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let here = move || {
        let search = location.search.get();
        let kept: Vec<&str> = search
            .trim_start_matches('?')
            .split('&')
            .filter(|pair| {
                !pair.is_empty()
                    && !pair.starts_with("__path=")
                    && !pair.starts_with("__err=")
                    && !pair.starts_with("__kept_")
            })
            .collect();
        let path = location.pathname.get();
        if kept.is_empty() {
            path
        } else {
            format!("{path}?{}", kept.join("&"))
        }
    };
    view! { <input type="hidden" name="__return" value=here/> }
}

/// What was typed into form field `name` of a form that was refused (the server brings it back
/// as `__kept_<name>`, for the fields the form lists in `__keep`; see `server::return_path`).
/// `query` is the page's `use_query_map()`, taken where the page starts.
pub(crate) fn kept(query: Memo<leptos_router::params::ParamsMap>, name: &str) -> String {
    query
        .read_untracked()
        .get(&format!("__kept_{name}"))
        .unwrap_or_default()
}

/// Asks for the text of form fields `names` (comma-separated) to come back if the form is
/// refused.
#[component]
pub(crate) fn KeepTyped(names: &'static str) -> impl IntoView {
    view! { <input type="hidden" name="__keep" value=names/> }
}

/// The error of a finished action, as an alert; nothing while it has not failed.
pub(crate) fn failure<T>(result: Option<Result<T, AppError>>) -> Option<impl IntoView> {
    let error = result?.err()?;
    Some(view! { <ErrorMessage error/> })
}

/// A loaded page body, or, in its place, a page that says what went wrong, with a way on.
pub(crate) fn loaded<T, V: IntoView + 'static>(
    result: Result<T, AppError>,
    body: impl FnOnce(T) -> V,
) -> AnyView {
    loaded_as(result, body, true)
}

/// [`loaded`] for a part of a page that has its own heading.
pub(crate) fn loaded_part<T, V: IntoView + 'static>(
    result: Result<T, AppError>,
    body: impl FnOnce(T) -> V,
) -> AnyView {
    loaded_as(result, body, false)
}

fn loaded_as<T, V: IntoView + 'static>(
    result: Result<T, AppError>,
    body: impl FnOnce(T) -> V,
    whole: bool,
) -> AnyView {
    match result {
        Ok(value) => body(value).into_any(),
        Err(error) => page_error(error, whole),
    }
}

/// Why a page (or, when not `whole`, a part of one) could not be shown: sign-in first, or a
/// heading, the error in words and a way on; when the store cannot be reached, the page comes
/// back by itself once it answers.
pub(crate) fn page_error(error: AppError, whole: bool) -> AnyView {
    let title = match &error {
        AppError::SignInRequired => return view! { <SignInFirst/> }.into_any(),
        AppError::NotFound(_) => "Not found",
        AppError::Forbidden(_) => "Not allowed",
        AppError::Unavailable => "The configuration store cannot be reached",
        _ => "This could not be shown",
    };
    // The page's status says it too (a page load asks for HTML, so the server function's own
    // error status is not set; see `reject`). Pages whose loading failed render whole before
    // they are sent.
    #[cfg(feature = "ssr")]
    if whole && let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(
            http::StatusCode::from_u16(error.status())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    let heading = if whole {
        view! { <h1 id="error-heading">{title}</h1> }.into_any()
    } else {
        view! { <h2 id="error-heading">{title}</h2> }.into_any()
    };
    let way_on = match &error {
        AppError::Unavailable => view! { <ComesBack/> }.into_any(),
        AppError::Forbidden(_) => view! {
            <p class="way-on"><a href="/">"Go to the namespaces"</a> " · " <a href="/account">"Your account and access"</a></p>
        }
        .into_any(),
        _ => view! { <p class="way-on"><a href="/">"Go to the namespaces"</a></p> }.into_any(),
    };
    view! {
        {heading}
        <ErrorMessage error/>
        {way_on}
    }
    .into_any()
}

/// Asks the server every two seconds whether the store answers again (`/readyz`), and then
/// shows the page again.
#[island]
pub fn ComesBack() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async {
        crate::browser::store_back().await;
        crate::browser::reload();
    });
    view! {
        <p class="hint" id="store-status" aria-live="polite">
            "This page shows itself again as soon as the store answers (without JavaScript, reload it in a moment)."
        </p>
    }
}

use leptos::prelude::*;

/// Sends a visitor who is not signed in (or whose session ended) to the sign-in page, which
/// brings them back here afterwards: a `302` (with a link, should the redirect not be followed).
#[component]
pub(crate) fn SignInFirst() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let here = format!(
        "{}{}",
        location.pathname.get_untracked(),
        location.search.get_untracked()
    );
    let target = format!("/login?next={}", encode_component(&here));
    view! {
        <leptos_router::components::Redirect path=target.clone()/>
        <p class="error" role="alert">"Please " <a href=target>"sign in"</a> " to see this page."</p>
    }
}

/// Percent-encodes `text` for a query parameter.
pub(crate) fn encode_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A count as people read it: `10000` as `10,000`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Shown for any address the dashboard does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <h1>"Page not found"</h1>
        <p>"There is nothing at this address. " <a href="/">"Go to the namespaces"</a> "."</p>
    }
}

/// The signed-in user's name and a sign-out button, or a sign-in link.
#[component]
pub fn Account() -> impl IntoView {
    use crate::api::auth::{SignOut, who_am_i};
    let sign_out = ServerAction::<SignOut>::new();
    // Asked again on every navigation, so that signing in or out shows at once.
    let location = leptos_router::hooks::use_location();
    let me = Resource::new(move || location.pathname.get(), |_| who_am_i());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => view! {
                        <form method="get" action="/search" role="search" class="header-search">
                            <label class="visually-hidden" for="header-search">"Search"</label>
                            <input type="search" name="q" id="header-search" placeholder="Search names, paths, values" maxlength="200"/>
                        </form>
                        <span class="account">
                            <a href="/requests" id="requests-link">"Change requests"
                                {(user.waiting > 0).then(|| view! {
                                    " " <span class="badge" id="waiting-badge" title="Waiting for your review">{user.waiting}</span>
                                    <span class="visually-hidden">" waiting for your review"</span>
                                })}
                            </a> " · "
                            <a href="/audit">"Audit log"</a> " · "
                            {(user.role == "admin").then(|| view! { <a href="/users">"Users"</a> " · " })}
                            <a href="/account" id="signed-in-as">{user.name}</a>
                            " (" {user.role} ") "
                            <leptos::form::ActionForm action=sign_out attr:class="inline">
                                <ReturnHere/>
                                <button type="submit">"Sign out"</button>
                            </leptos::form::ActionForm>
                        </span>
                    }
                    .into_any(),
                    _ => view! { <a href="/login">"Sign in"</a> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Schema problems, each with its place in words.
pub(crate) fn problem_list(
    problems: Vec<crate::api::configurations::ProblemView>,
) -> impl IntoView {
    view! {
        <ul class="problems">
            {problems.into_iter().map(|p| view! { <li><strong>{p.place}</strong>": "{p.message}</li> }).collect_view()}
        </ul>
    }
}

/// Download namespaces as a file: a plain GET form to the export endpoint, so it works without
/// JavaScript. `namespace`: the one to export (else a box for names, empty for every namespace
/// the person may read); `admin`: offer the secret values.
#[component]
pub(crate) fn ExportForm(namespace: Option<String>, admin: bool) -> impl IntoView {
    const FORMATS: [(&str, &str); 7] = [
        ("bundle", "Confo bundle (JSON, with schemas and revisions)"),
        ("json", "JSON"),
        ("yaml", "YAML"),
        ("toml", "TOML (no null values)"),
        ("env", ".env (every value as text)"),
        ("tree", "Original Confo files (.tar.gz)"),
        ("zip", "Original Confo files (.zip)"),
    ];
    let which = match namespace {
        Some(ns) => view! { <input type="hidden" name="namespaces" value=ns/> }.into_any(),
        None => view! {
            <label>"Namespaces "
                <input type="text" name="namespaces" placeholder="all you may read" autocomplete="off"/>
            </label>
            <span class="hint">"Names separated by commas; empty for every namespace you may read."</span>
        }
        .into_any(),
    };
    view! {
        <section id="export" aria-labelledby="export-heading">
            <h2 id="export-heading">"Export"</h2>
            <p><a href="/import" id="import-link">"Import configurations from a file"</a></p>
            <form method="get" action="/api/export" class="stacked" id="export-form">
                {which}
                <label>"Format "
                    <select name="format">
                        {FORMATS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                    </select>
                </label>
                <label>".env separator " <input type="text" name="separator" value="__" size="4" maxlength="8"/></label>
                {admin.then(|| view! {
                    <label class="choice"><input type="checkbox" name="secrets" value="true"/>
                        " Include secret values (recorded in the audit log)"</label>
                })}
                <p class="hint">"Secret values (write-only in a schema) are written as a placeholder unless an administrator includes them. Every export is recorded in the audit log."</p>
                <button type="submit">"Download"</button>
            </form>
        </section>
    }
}
