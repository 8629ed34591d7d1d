//! The endpoints that answer a file: a browser asks for them by following a link or sending a
//! GET form, with `Accept: text/html` as for any page, which would make the server-function
//! layer answer with a redirect back (its way of serving plain form posts) instead of the file.
//! For these paths the request is marked as asking for anything.
//!
//! A download is recorded in the audit log (and may hold secret values), so, like a change, it
//! must come from the dashboard's own pages: one another site's page asks for is refused (see
//! [`crate::same_origin`]).

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::same_origin::from_same_origin;

/// The paths that answer a file.
pub const DOWNLOADS: [&str; 2] = ["/api/export", "/api/audit/export"];

/// The middleware; see the module documentation.
pub async fn as_files(mut request: Request, next: Next) -> Response {
    if request.method() == Method::GET && DOWNLOADS.contains(&request.uri().path()) {
        if !from_same_origin(request.headers()) {
            tracing::warn!(path = %request.uri().path(), "refused a cross-site download");
            return (
                StatusCode::FORBIDDEN,
                "This download was asked for by another site, so it was refused. Download from the Confo dashboard itself.",
            )
                .into_response();
        }
        request
            .headers_mut()
            .insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    }
    next.run(request).await
}
