//! Bounds what a request without a signed-in session may send: its body is at most
//! [`ANONYMOUS_BODY_BYTES`], whatever endpoint it is sent to, so that anonymous callers cannot
//! make the server hold (or the store receive) large values. A larger body is refused with 413
//! before it is read; the check reads no more than the limit.
//!
//! Signed-in requests keep the larger limit set in [`crate::routes`].

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::routes::AppState;

/// The largest body of a request without a signed-in session: 16 KiB.
pub const ANONYMOUS_BODY_BYTES: usize = 16 * 1024;

/// The middleware; see the module documentation. It runs inside the session layer, and reads
/// the session only for a body that may be over the limit: most requests (pages, assets, small
/// forms) pass without it.
pub async fn limit_anonymous(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let limit = ANONYMOUS_BODY_BYTES as u64;
    let size = request.body().size_hint();
    if size.upper().is_some_and(|most| most <= limit) {
        return next.run(request).await;
    }
    let session = request.extensions().get::<Session>().cloned();
    if signed_in(session, &state).await {
        return next.run(request).await;
    }
    // A declared length over the limit is refused before any of the body is read.
    if size.lower() > limit {
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

/// Whether the request's session names a user within the session's lifetime (the rule of
/// [`app::api::ssr::signed_in`], without reading the account). The session read here is kept
/// for the handler.
async fn signed_in(session: Option<Session>, state: &AppState) -> bool {
    use app::sessions::data::{SIGNED_IN_AT, USER};
    let Some(session) = session else {
        return false;
    };
    let user: Option<String> = session.get(USER).await.ok().flatten();
    let since: Option<i64> = session.get(SIGNED_IN_AT).await.ok().flatten();
    user.is_some() && since.is_some_and(|since| !app::api::ssr::outlived(since, &state.sessions))
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
