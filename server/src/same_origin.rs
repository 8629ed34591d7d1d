//! Refuses state-changing requests that a browser sent on behalf of another site.
//!
//! Every request other than GET, HEAD and OPTIONS must come from the dashboard's own pages: when
//! the browser says where it comes from (`Sec-Fetch-Site`, or else `Origin`), anything but the
//! same origin gets 403 and reaches no handler. Requests that carry neither header do not come from
//! a browser page (scripts, services) and are let through; cross-site request forgery needs a
//! browser.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The middleware; see the module documentation.
pub async fn same_origin(request: Request, next: Next) -> Response {
    if is_safe(request.method()) || from_same_origin(request.headers()) {
        return next.run(request).await;
    }
    tracing::warn!(
        method = %request.method(),
        path = %request.uri().path(),
        origin = ?request.headers().get(header::ORIGIN),
        "refused a cross-site request"
    );
    (
        StatusCode::FORBIDDEN,
        "This request came from another site, so it was refused. Make changes from the Confo dashboard itself.",
    )
        .into_response()
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub(crate) fn from_same_origin(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        // "none": the user typed the address or used a bookmark.
        return site == "same-origin" || site == "none";
    }
    match text(header::ORIGIN.as_str()) {
        None => true,
        Some(origin) => {
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            authority.is_some() && authority == text(header::HOST.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn decides_by_fetch_metadata_then_origin() {
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[("sec-fetch-site", "same-origin")], true),
            (&[("sec-fetch-site", "none")], true),
            (&[("sec-fetch-site", "cross-site")], false),
            (&[("sec-fetch-site", "same-site")], false),
            (
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "http://a:1"),
                    ("host", "a:1"),
                ],
                false,
            ),
            (
                &[
                    ("origin", "http://127.0.0.1:3000"),
                    ("host", "127.0.0.1:3000"),
                ],
                true,
            ),
            (
                &[
                    ("origin", "https://confo.example"),
                    ("host", "confo.example"),
                ],
                true,
            ),
            (
                &[
                    ("origin", "http://evil.example"),
                    ("host", "127.0.0.1:3000"),
                ],
                false,
            ),
            (&[("origin", "null"), ("host", "127.0.0.1:3000")], false),
            (&[("origin", "http://127.0.0.1:3000")], false),
            (&[], true),
        ];
        for (pairs, expected) in cases {
            assert_eq!(from_same_origin(&headers(pairs)), *expected, "{pairs:?}");
        }
    }
}
