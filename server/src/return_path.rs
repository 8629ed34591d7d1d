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

/// The form field that names the fields whose typed text comes back with an error (see
/// [`KEPT_FIELDS`]), comma-separated.
pub const KEEP_FIELD: &str = "__keep";

/// The only fields whose text may come back in an address: names, never a password, a token,
/// a value (which may be secret) or a comment. Each comes back as `__kept_<field>`, up to
/// [`KEPT_LENGTH`] characters.
pub const KEPT_FIELDS: [&str; 2] = ["name", "copy_from"];
pub const KEPT_LENGTH: usize = 200;

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
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let mut path = app::api::redirect::site_path(field(RETURN_FIELD)?)?;
    // What was typed into the fields the form asks to keep, so that a refused form shows it
    // again (also without JavaScript).
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for name in field(KEEP_FIELD)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
    {
        if let Some(value) = field(name).filter(|_| KEPT_FIELDS.contains(&name))
            && value.chars().count() <= KEPT_LENGTH
        {
            kept.append_pair(&format!("__kept_{name}"), value);
            any = true;
        }
    }
    if any {
        path.push(if path.contains('?') { '&' } else { '?' });
        path.push_str(&kept.finish());
    }
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

    #[test]
    fn only_names_asked_for_come_back_with_the_page_never_a_password() {
        let cases = [
            (
                "__return=%2Flogin&__keep=name&name=ada+l%C3%B6&password=secret",
                "http://confo.example:3000/login?__kept_name=ada+l%C3%B6",
            ),
            // A password asked for is not kept; nor is a field not asked for.
            (
                "__return=%2Fusers%3Fx%3D1&__keep=password,name&password=secret&name=bo",
                "http://confo.example:3000/users?x=1&__kept_name=bo",
            ),
            (
                "__return=%2Flogin&name=ada",
                "http://confo.example:3000/login",
            ),
        ];
        for (body, expected) in cases {
            let got = referer(body.as_bytes(), &host(), false).unwrap();
            assert_eq!(got.to_str().unwrap(), expected, "{body}");
        }
        let long = format!("__return=%2F&__keep=name&name={}", "a".repeat(201));
        let got = referer(long.as_bytes(), &host(), false).unwrap();
        assert_eq!(got.to_str().unwrap(), "http://confo.example:3000/");
    }
}
