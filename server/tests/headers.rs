//! The headers every response carries (see `server/src/security_headers.rs`), and the nonce that
//! ties the page's inline scripts to its Content-Security-Policy.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::TestApp;
use server::routes::SessionSettings;

fn text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// The nonce the Content-Security-Policy allows scripts and styles with.
fn header_nonce(headers: &HeaderMap) -> String {
    let policy = text(headers, header::CONTENT_SECURITY_POLICY).expect("a policy");
    let start = policy.find("'nonce-").expect("a nonce in the policy") + "'nonce-".len();
    policy[start..].split('\'').next().unwrap().to_owned()
}

/// Every opening `<script ...>` and `<style ...>` tag of `html`.
fn inline_tags(html: &str) -> Vec<&str> {
    ["<script", "<style"]
        .iter()
        .flat_map(|open| html.match_indices(open))
        .map(|(at, _)| {
            let end = html[at..].find('>').expect("a closed tag");
            &html[at..=at + end]
        })
        .collect()
}

fn assert_common_headers(what: &str, headers: &HeaderMap) {
    assert_eq!(
        text(headers, header::X_CONTENT_TYPE_OPTIONS),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        text(headers, header::REFERRER_POLICY),
        Some("no-referrer"),
        "{what}"
    );
    let policy = text(headers, header::CONTENT_SECURITY_POLICY).unwrap_or_default();
    let nonce = header_nonce(headers);
    assert_eq!(
        policy,
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
        ),
        "{what}"
    );
    assert_eq!(
        text(headers, header::STRICT_TRANSPORT_SECURITY),
        None,
        "{what}: HSTS without --secure-cookies"
    );
}

/// The tests of this file render pages, each on its own runtime; rendered at the same moment on
/// several runtimes, a page now and then never finishes (seen about once in five runs of the
/// file, never with one test at a time), so they take turns.
static TURNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn pages_answers_and_errors_carry_the_headers_and_are_not_stored() {
    let _turn = TURNS.lock().await;
    let app = TestApp::new().await;
    let cross_site = Request::post("/api/namespaces/create")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from("name=x"))
        .unwrap();
    let requests = [
        ("a page", Request::get("/").body(Body::empty()).unwrap()),
        (
            "a server function's answer",
            Request::get("/api/namespaces/list")
                .body(Body::empty())
                .unwrap(),
        ),
        (
            "an error page",
            Request::get("/no/such/page").body(Body::empty()).unwrap(),
        ),
        ("a refused request", cross_site),
        (
            "a health check",
            Request::get("/healthz").body(Body::empty()).unwrap(),
        ),
    ];
    for (what, request) in requests {
        let (status, headers, _) = app.send_for_headers(request).await;
        assert_common_headers(what, &headers);
        assert_eq!(
            text(&headers, header::CACHE_CONTROL),
            Some("no-store"),
            "{what} ({status})"
        );
    }
}

#[tokio::test]
async fn static_assets_carry_the_headers_and_may_be_kept() {
    let _turn = TURNS.lock().await;
    let app = TestApp::new().await;
    app.add_site_file("pkg/confo.css", "body { margin: 0; }");
    let (status, headers, body) = app
        .send_for_headers(Request::get("/pkg/confo.css").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "body { margin: 0; }")
    );
    assert_common_headers("an asset", &headers);
    assert_ne!(text(&headers, header::CACHE_CONTROL), Some("no-store"));
    // An asset that is not there is an error page, and is not kept.
    let (status, headers, _) = app
        .send_for_headers(Request::get("/pkg/missing.js").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(text(&headers, header::CACHE_CONTROL), Some("no-store"));
}

#[tokio::test]
async fn strict_transport_security_only_with_secure_cookies() {
    let _turn = TURNS.lock().await;
    let secure = TestApp::anonymous_with(SessionSettings {
        secure: true,
        ..SessionSettings::default()
    })
    .await;
    for uri in ["/login", "/healthz", "/no/such/page"] {
        let (_, headers, _) = secure
            .send_for_headers(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        assert_eq!(
            text(&headers, header::STRICT_TRANSPORT_SECURITY),
            Some("max-age=31536000"),
            "{uri}"
        );
    }
    let plain = TestApp::anonymous().await;
    let (_, headers, _) = plain
        .send_for_headers(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(text(&headers, header::STRICT_TRANSPORT_SECURITY), None);
}

#[tokio::test]
async fn every_inline_script_and_style_carries_the_nonce_of_its_response() {
    let _turn = TURNS.lock().await;
    let mut app = TestApp::new().await;
    assert_eq!(app.create_namespace("billing").await.0, StatusCode::OK);
    // A field with items and keys inside: rows indented by depth, without style attributes.
    let fields = serde_json::json!({"servers": [{"host": "a", "ports": [1, 2]}]});
    app.store
        .create_configuration(
            &confo::NamespaceName::new("billing").unwrap(),
            &confo::ConfigurationName::new("app").unwrap(),
            fields.as_object().unwrap().clone(),
            &confo::Change::by(confo::Actor::system()),
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    for uri in [
        "/",
        "/",
        "/ns/billing",
        "/ns/billing/app",
        "/audit",
        "/no/such/page",
    ] {
        let (_, headers, html) = app
            .send_for_headers(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        let nonce = header_nonce(&headers);
        assert!(nonce.len() >= 22, "128 bits in base64: {nonce}");
        let tags = inline_tags(&html);
        assert!(
            tags.iter().any(|t| t.starts_with("<script")),
            "{uri}: the islands loader is an inline script"
        );
        for tag in tags {
            assert!(tag.contains(&format!(" nonce=\"{nonce}\"")), "{uri}: {tag}");
        }
        assert!(!html.contains(" style="), "{uri}: a style attribute");
        assert!(!html.contains("javascript:"), "{uri}: a script address");
        for handler in [
            " onclick=",
            " onload=",
            " onerror=",
            " oninput=",
            " onchange=",
            " onsubmit=",
        ] {
            assert!(!html.contains(handler), "{uri}: an inline event handler");
        }
        seen.push(nonce);
    }
    // The sign-in page streams in order; its scripts carry the nonce as well.
    app.cookie = None;
    let (_, headers, html) = app
        .send_for_headers(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    let nonce = header_nonce(&headers);
    for tag in inline_tags(&html) {
        assert!(
            tag.contains(&format!(" nonce=\"{nonce}\"")),
            "/login: {tag}"
        );
    }
    seen.push(nonce);
    let count = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), count, "a nonce is drawn per response");
}

#[tokio::test]
async fn a_form_posted_without_javascript_comes_back_to_its_page_without_a_referer() {
    // As a browser sends a form under `Referrer-Policy: no-referrer`: no `Referer`, `Origin:
    // null`, the page's path in the form.
    let app = TestApp::new().await;
    let post = |back_to: &str| {
        Request::post("/api/namespaces/create")
            .header(header::HOST, "127.0.0.1:3000")
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, "null")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(format!(
                "name=not+valid&__return={}",
                common::urlencode(back_to)
            )))
            .unwrap()
    };
    let location = |headers: &HeaderMap| {
        text(headers, header::LOCATION)
            .unwrap_or_default()
            .to_owned()
    };
    // Refused (an invalid name): back to the page it came from, with the error.
    let (status, headers, _) = app.send_for_headers(post("/ns?filter=x")).await;
    assert!(status.is_redirection(), "{status}");
    let back = location(&headers);
    assert!(
        back.starts_with("http://127.0.0.1:3000/ns?filter=x&__path="),
        "{back}"
    );
    assert!(back.contains("__err="), "{back}");
    // Another site's address is not followed: the home page instead.
    for elsewhere in [
        "https://evil.example/",
        "//evil.example/x",
        "/\t/evil.example",
    ] {
        let (_, headers, _) = app.send_for_headers(post(elsewhere)).await;
        assert_eq!(location(&headers), "/", "{elsewhere:?}");
    }
}
