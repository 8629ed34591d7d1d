//! Puts the address a request came from into the request, for the sign-in throttle and the
//! session list: the socket's peer, or behind a trusted reverse proxy the last address of
//! `X-Forwarded-For` (the one the proxy added).

use std::net::SocketAddr;

use app::api::ssr::ClientAddress;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::routes::AppState;

/// The middleware; see the module documentation.
pub async fn client_address(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let forwarded = state
        .trust_forwarded_for
        .then(|| last_forwarded(request.headers()))
        .flatten();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string());
    if let Some(address) = forwarded.or(peer) {
        request.extensions_mut().insert(ClientAddress(address));
    }
    next.run(request).await
}

fn last_forwarded(headers: &axum::http::HeaderMap) -> Option<String> {
    let header = headers.get_all("x-forwarded-for").iter().next_back()?;
    let last = header.to_str().ok()?.rsplit(',').next()?.trim();
    last.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::last_forwarded;
    use axum::http::HeaderMap;

    #[test]
    fn takes_the_last_forwarded_address_only_if_it_is_one() {
        let mut headers = HeaderMap::new();
        assert_eq!(last_forwarded(&headers), None);
        headers.insert("x-forwarded-for", "203.0.113.9, 10.0.0.7".parse().unwrap());
        assert_eq!(last_forwarded(&headers).as_deref(), Some("10.0.0.7"));
        headers.append("x-forwarded-for", "2001:db8::1".parse().unwrap());
        assert_eq!(last_forwarded(&headers).as_deref(), Some("2001:db8::1"));
        headers.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(last_forwarded(&headers), None);
    }
}
