//! The headers every response carries, so that browsers hold the dashboard to what it needs.
//!
//! - `Content-Security-Policy`: scripts and styles come from this server only, and an inline
//!   `<script>` or `<style>` runs only when it carries this response's nonce. The nonce is drawn
//!   here, per request (128 random bits, base64), and handed to the pages through a request
//!   extension, so that every inline script Leptos writes (the islands loader, streamed resources)
//!   carries the same value as the header. Injected markup cannot guess it.
//! - `X-Content-Type-Options: nosniff`: a download (an audit export) is never run as a script.
//! - `Referrer-Policy: no-referrer`: set-up and invitation links carry tokens in their address,
//!   which no request tells anyone, this site included. A form posted without JavaScript comes
//!   back to its page through the path it carries instead (see [`crate::return_path`]); and
//!   with no referrer, browsers send `Origin: null` with a form, so the cross-site check goes by
//!   `Sec-Fetch-Site` (see [`crate::same_origin`]).
//! - `Cache-Control: no-store`, except on static assets: signed-in pages and server-function
//!   answers are not kept by the browser, so Back after signing out shows nothing from before.
//! - `Strict-Transport-Security`, only when the server is reached over HTTPS (`--secure-cookies`).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context};

use crate::routes::SessionSettings;

/// The policy, with `{nonce}` standing for the response's nonce. `'wasm-unsafe-eval'` lets the
/// islands' WebAssembly compile (it allows no JavaScript `eval`); `data:` images are the browser's
/// own form controls.
const POLICY: &str = "default-src 'self'; \
    script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
    style-src 'self' 'nonce-{nonce}'; \
    img-src 'self' data:; \
    connect-src 'self'; \
    base-uri 'none'; \
    form-action 'self'; \
    frame-ancestors 'none'; \
    object-src 'none'";

/// One year, as browsers' preload lists expect.
const HSTS: &str = "max-age=31536000";

/// The middleware; see the module documentation.
pub async fn security_headers(
    State(settings): State<SessionSettings>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    let policy = content_security_policy(&nonce);
    let static_asset = is_static_asset(request.uri().path());
    request.extensions_mut().insert(nonce);
    let mut response = next.run(request).await;
    let cacheable =
        static_asset && (response.status().is_success() || response.status().is_redirection());
    set_headers(response.headers_mut(), &policy, cacheable, settings.secure);
    response
}

/// Hands this request's nonce to Leptos, in place of the one it would draw itself, so that the
/// inline scripts it writes match the header. Called where the pages' context is provided.
pub fn provide_request_nonce() {
    let nonce = use_context::<Parts>().and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

/// The policy for a response whose inline scripts and styles carry `nonce`.
pub fn content_security_policy(nonce: &str) -> String {
    POLICY.replace("{nonce}", nonce)
}

/// Files served from the site root as they are: the bundle and the icon. Everything else is a
/// page or an answer made for one person at one time.
fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.ico" || path == "/favicon.svg"
}

fn set_headers(headers: &mut HeaderMap, policy: &str, cacheable: bool, secure: bool) {
    if let Ok(value) = HeaderValue::from_str(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !cacheable {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bundle_and_the_icon_are_static() {
        let cases = [
            ("/pkg/confo.js", true),
            ("/pkg/confo_bg.wasm", true),
            ("/pkg/confo.css", true),
            ("/favicon.ico", true),
            ("/favicon.svg", true),
            ("/", false),
            ("/pkg", false),
            ("/ns/pkg/x", false),
            ("/api/audit/export", false),
            ("/favicon.ico/x", false),
        ];
        for (path, expected) in cases {
            assert_eq!(is_static_asset(path), expected, "{path}");
        }
    }

    #[test]
    fn the_policy_names_the_nonce_for_scripts_and_styles() {
        let policy = content_security_policy("abc");
        assert!(policy.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(policy.contains("style-src 'self' 'nonce-abc';"));
        assert!(!policy.contains("{nonce}"));
        assert!(!policy.contains("unsafe-inline"));
    }
}
