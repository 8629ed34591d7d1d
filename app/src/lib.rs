//! Confo's dashboard: the Leptos application, rendered on the server. Pages are complete HTML
//! with forms that post to server functions; only the interactive parts (islands: live updates,
//! the JSON view, the filter as you type) are compiled to WASM and hydrated in the browser.

pub mod api;
#[cfg(feature = "hydrate")]
mod browser;
pub mod error;
pub mod json_words;
mod pages;
#[cfg(feature = "ssr")]
pub mod sessions;
#[cfg(feature = "ssr")]
pub mod throttle;
#[cfg(feature = "ssr")]
pub mod when;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// The HTML document around the application, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: a header and the routed pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/confo.css"/>
        <Title text="Confo"/>
        <Router>
            <SkipLink/>
            <header class="top">
                <A href="/" attr:class="brand">"Confo"</A>
                <pages::Account/>
            </header>
            <main id="main">
                <Routes fallback=pages::NotFound>
                    // Pages are complete without JavaScript. Pages for signed-in users render
                    // whole before they are sent, so that one can still answer with a redirect
                    // to the sign-in page; the others stream in order.
                    <Route path=path!("") view=pages::Home ssr=SsrMode::Async/>
                    <Route path=path!("login") view=pages::SignInPage ssr=SsrMode::InOrder/>
                    <Route path=path!("setup") view=pages::SetUpPage ssr=SsrMode::InOrder/>
                    <Route path=path!("invitation") view=pages::InvitationPage ssr=SsrMode::InOrder/>
                    <Route path=path!("account") view=pages::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("users") view=pages::UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("users/:name") view=pages::UserPage ssr=SsrMode::Async/>
                    <Route path=path!("audit") view=pages::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("search") view=pages::SearchPage ssr=SsrMode::Async/>
                    <Route path=path!("import") view=pages::ImportPage ssr=SsrMode::Async/>
                    <Route path=path!("requests") view=pages::RequestsPage ssr=SsrMode::Async/>
                    <Route path=path!("requests/:id") view=pages::RequestPage ssr=SsrMode::Async/>
                    <Route path=path!("ns/:ns") view=pages::NamespacePage ssr=SsrMode::Async/>
                    <Route path=path!("ns/:ns/settings") view=pages::NamespaceSettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("ns/:ns/:cfg") view=pages::ConfigurationPage ssr=SsrMode::Async/>
                    <Route path=path!("ns/:ns/:cfg/history") view=pages::HistoryPage ssr=SsrMode::Async/>
                    <Route path=path!("ns/:ns/:cfg/schema") view=pages::SchemaPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The first stop of the keyboard: past the header to the page's content (on a configuration,
/// straight to its fields), shown only when it has the focus.
#[component]
fn SkipLink() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let fields = move || {
        let path = location.pathname.get();
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        parts.len() == 3 && parts[0] == "ns"
    };
    view! {
        <a class="skip-link" href=move || if fields() { "#fields-heading" } else { "#main" }>
            {move || if fields() { "Skip to the fields" } else { "Skip to the content" }}
        </a>
    }
}

/// The browser's entry point: brings the page's islands to life; the rest of the page is plain
/// server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    browser::keyboard_shortcuts();
    browser::watch_leaving();
    leptos::mount::hydrate_islands();
    browser::local_times();
}
