//! Where a form posted without JavaScript comes back to.
//!
//! Pages are sent with `Referrer-Policy: no-referrer` (links carry tokens), so the browser does
//! not say which page a form was sent from. Each form carries that page's path instead, in the
//! hidden field `__return` (see `app::pages::ReturnHere`); for a form post that has no
//! `Referer`, this layer reads it from the body and hands it on as the `Referer` the server
//! function layer sends the browser back to (with its error, if any). Only a path on this site
//! is taken. Requests from scripts (which ask for JSON) and other bodies pass untouched.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::routes::{AppState, MAX_BODY_BYTES};

/// The form field that holds the page a form was sent from.
pub const RETURN_FIELD: &str = "__return";

/// The middleware; see the module documentation.
pub async fn return_path(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !is_plain_form_post(&request) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    if let Some(referer) = referer(&bytes, &parts.headers, state.sessions.secure) {
        parts.headers.insert(header::REFERER, referer);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A form sent by the browser itself to a server function, without a `Referer`.
fn is_plain_form_post(request: &Request) -> bool {
    let text = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    request.method() == Method::POST
        && request.uri().path().starts_with("/api/")
        && !request.headers().contains_key(header::REFERER)
        && text(header::ACCEPT).contains("text/html")
        && text(header::CONTENT_TYPE).starts_with("application/x-www-form-urlencoded")
}

/// The `Referer` a browser would have sent: this site's address of the form's `__return` path.
fn referer(body: &[u8], headers: &HeaderMap, secure: bool) -> Option<HeaderValue> {
    let page = url::form_urlencoded::parse(body)
        .find(|(key, _)| key == RETURN_FIELD)
        .map(|(_, value)| value.into_owned())?;
    let path = app::api::redirect::site_path(&page)?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = if secure { "https" } else { "http" };
    HeaderValue::from_str(&format!("{scheme}://{host}{path}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("confo.example:3000"));
        headers
    }

    #[test]
    fn only_a_path_on_this_site_becomes_the_referer() {
        let cases = [
            (
                "name=x&__return=%2Fns%2Fa%3Fop%3Dset",
                Some("http://confo.example:3000/ns/a?op=set"),
            ),
            ("__return=https%3A%2F%2Fevil.example%2F", None),
            ("__return=%2F%2Fevil.example", None),
            ("__return=%2F%09%2Fevil.example", None),
            ("name=x", None),
        ];
        for (body, expected) in cases {
            let got = referer(body.as_bytes(), &host(), false);
            assert_eq!(
                got.as_ref().map(|v| v.to_str().unwrap()),
                expected,
                "{body}"
            );
        }
        let secure = referer(b"__return=%2F", &host(), true).unwrap();
        assert_eq!(secure, "https://confo.example:3000/");
    }
}
