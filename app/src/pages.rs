//! The dashboard's pages.

mod home;

pub use home::Home;

use leptos::prelude::*;

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
