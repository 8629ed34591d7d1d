//! Server functions, grouped by domain. Each one is a public endpoint: it checks its input and
//! maps storage errors through [`crate::error::AppError`].

pub mod namespaces;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use leptos::prelude::*;

    use crate::error::AppError;

    /// The store this server was started with, provided as context by the server.
    pub fn store() -> Result<confo::Store, AppError> {
        use_context::<confo::Store>().ok_or_else(|| {
            tracing::error!("no store in the server function's context");
            reject(AppError::Internal)
        })
    }

    /// Who is making a change. Until sign-in exists every change is made by the dashboard's
    /// anonymous user.
    pub fn change() -> confo::Change {
        confo::Change::by(confo::Actor::user("anonymous"))
    }

    /// Sets the response status for `error` and hands it back, for `map_err`. A plain form post
    /// (JavaScript off) keeps the redirect back to its page, which shows the error.
    pub fn reject(error: impl Into<AppError>) -> AppError {
        let error = error.into();
        let form_post = use_context::<http::request::Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"))
        });
        if !form_post && let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(
                http::StatusCode::from_u16(error.status())
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
        error
    }
}
