//! Password hashing under load, through the router: a request that cannot get a hashing slot
//! in time is refused with 503 and `Retry-After`.

mod common;

use axum::http::{StatusCode, header};
use common::{PASSWORD, TestApp, done, sign_in_request};
use confo::users::{Role, hashing_load};
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
