//! The endpoints that answer a file: a browser asks for them by following a link or sending a
//! GET form, with `Accept: text/html` as for any page, which would make the server-function
//! layer answer with a redirect back (its way of serving plain form posts) instead of the file.
//! For these paths the request is marked as asking for anything.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

/// The paths that answer a file.
pub const DOWNLOADS: [&str; 2] = ["/api/export", "/api/audit/export"];

/// The middleware; see the module documentation.
pub async fn as_files(mut request: Request, next: Next) -> Response {
    if request.method() == Method::GET && DOWNLOADS.contains(&request.uri().path()) {
        request
            .headers_mut()
            .insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    }
    next.run(request).await
}
