//! Password hashing under load, through the router: at most one hash per core runs at once, a
//! request that cannot get a slot in time is refused with 503 and `Retry-After`, and a link
//! with a wrong token is refused before any hash is spent on it.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{PASSWORD, TestApp, done, sign_in_request};
use confo::users::{Grants, Invitation, InvitationKind, Role, hashing_load};
use tower::ServiceExt;

/// The tests here count the hashes of the whole process, and one holds every slot: one at a
/// time.
static TURNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn a_sign_in_that_finds_every_hashing_slot_busy_is_refused_with_503_and_retry_after() {
    let _turn = TURNS.lock().await;
    let app = TestApp::anonymous().await;
    app.add_user("ada", Role::Admin).await;
    let held = confo::users::hold_every_hashing_slot().await;
    for name in ["ada", "nobody"] {
        let asked = std::time::Instant::now();
        let response = app
            .router
            .clone()
            .oneshot(sign_in_request(name, PASSWORD))
            .await
            .unwrap();
        let waited = asked.elapsed();
        eprintln!(
            "{name}: {} after {waited:?} with {} slots held",
            response.status(),
            hashing_load().slots
        );
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{name}");
        assert_eq!(
            response.headers().get(header::RETRY_AFTER).unwrap(),
            "2",
            "{name}"
        );
        assert!(waited >= confo::users::HASHING_WAIT, "{waited:?}");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let error: app::error::AppError = serde_json::from_slice(&body).unwrap();
        assert_eq!(error, app::error::AppError::Overloaded(2));
    }
    drop(held);
    assert!(done(app.send(sign_in_request("ada", PASSWORD)).await.0));
}

/// A link form post, as the invitation page sends it.
fn accept(name: &str, token: &str, password: &str) -> Request<Body> {
    let form = [
        ("name", name),
        ("token", token),
        ("password", password),
        ("repeat", password),
    ]
    .map(|(key, value)| format!("{key}={}", common::urlencode(value)));
    Request::post("/api/invitation/accept")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.join("&")))
        .unwrap()
}

#[tokio::test]
async fn a_link_with_a_wrong_token_is_refused_before_any_password_is_hashed() {
    let _turn = TURNS.lock().await;
    let app = TestApp::new().await;
    let (invitation, token) = Invitation::new(
        "grace",
        InvitationKind::NewAccount,
        Role::Viewer,
        Grants::All,
        "ada",
        chrono::Duration::hours(1),
    );
    let change = confo::Change::by(confo::Actor::user("ada"));
    app.store.invite(&invitation, &change).await.unwrap();
    let wrong = confo::users::random_token();
    let too_long = "a".repeat(10_000);
    let started = hashing_load().started;
    for (name, token, needle) in [
        ("grace", wrong.as_str(), "not valid"),
        ("nobody", token.as_str(), "not valid"),
        ("grace", too_long.as_str(), "not valid"),
        (too_long.as_str(), token.as_str(), "not valid"),
    ] {
        let (status, body) = app
            .send(accept(name, token, "a brand new passphrase"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains(needle), "{body}");
    }
    let (status, body) = app
        .send(accept("grace", &token, &"long passphrase ".repeat(20)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("the limit is 128"), "{body}");
    assert_eq!(hashing_load().started, started, "no hash was run");
    // The right token is worth one hash.
    let (status, body) = app
        .send(accept("grace", &token, "a brand new passphrase"))
        .await;
    assert!(done(status), "{status} {body}");
    assert_eq!(hashing_load().started, started + 1);
}
