//! Bounds what a request without a signed-in session may send: its body is at most
//! [`ANONYMOUS_BODY_BYTES`], whatever endpoint it is sent to, so that anonymous callers cannot
//! make the server hold (or the store receive) large values. A larger body is refused with 413
//! before it is read; the check reads no more than the limit.
//!
//! Signed-in requests keep the larger limit set in [`crate::routes`].

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::routes::AppState;

/// The largest body of a request without a signed-in session: 16 KiB.
pub const ANONYMOUS_BODY_BYTES: usize = 16 * 1024;

/// The middleware; see the module documentation. It runs inside the session layer.
pub async fn limit_anonymous(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let session = request.extensions().get::<Session>().cloned();
    if signed_in(session, &state).await {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > ANONYMOUS_BODY_BYTES as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, ANONYMOUS_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => too_large(),
    }
}

/// Whether the request's session names a user and is within its lifetime. The session is read
/// once here and kept for the handler; a request without a session cookie reads nothing.
async fn signed_in(session: Option<Session>, state: &AppState) -> bool {
    use app::sessions::data::{SIGNED_IN_AT, USER};
    let Some(session) = session else {
        return false;
    };
    let user: Option<String> = session.get(USER).await.ok().flatten();
    let since: Option<i64> = session.get(SIGNED_IN_AT).await.ok().flatten();
    match (user, since) {
        (Some(_), Some(since)) => {
            chrono::Utc::now().timestamp() - since <= state.sessions.lifetime.as_secs() as i64
        }
        _ => false,
    }
}

fn too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        [(header::CONNECTION, "close")],
        format!(
            "Requests from someone who is not signed in may carry at most {} KiB; sign in first.",
            ANONYMOUS_BODY_BYTES / 1024
        ),
    )
        .into_response()
}
