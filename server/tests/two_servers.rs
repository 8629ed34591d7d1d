//! Two real `confo serve` processes behind one etcd, as a load balancer would put them: a
//! session made on one works on the other, a sign-out on one ends it on both, and a change saved
//! through one appears on the other's live page.

mod common;

use common::binary::{Server, add_admin, read_until, unique_prefix};
use common::etcd_env::etcd_endpoints;

const PASSWORD: &str = "two servers share one etcd";

fn session_cookie(answer: &str) -> String {
    answer
        .lines()
        .filter_map(|line| line.strip_prefix("set-cookie: "))
        .find(|cookie| cookie.starts_with("confo_session="))
        .and_then(|cookie| cookie.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie in {answer}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_etcd_share_sessions_and_live_changes() {
    let Some(endpoints) = etcd_endpoints() else {
        return;
    };
    let prefix = unique_prefix("two-servers");
    add_admin(
        &["--etcd-endpoints", &endpoints, "--key-prefix", &prefix],
        "ada",
        PASSWORD,
    );
    let (one, two) = tokio::join!(
        Server::start(&endpoints, &prefix),
        Server::start(&endpoints, &prefix)
    );

    // Signed in on the first, the session works on the second.
    let form = format!("name=ada&password={}", PASSWORD.replace(' ', "+"));
    let (status, answer) = one
        .request("POST /api/auth/sign-in", form.as_bytes())
        .await
        .unwrap();
    assert!(status == 200 || status == 303, "{answer}");
    let cookie = format!("Cookie: {}\r\n", session_cookie(&answer));
    let (status, _) = two.request("GET /api/namespaces/list", b"").await.unwrap();
    assert_eq!(status, 401, "not signed in without the cookie");
    let (status, body) = two
        .request_with("GET /api/namespaces/list", &cookie, b"")
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");

    // A change saved through the first shows on the second's live overview.
    let mut live = two
        .open_stream("GET /api/live?namespace=&configuration=", &cookie, "ready")
        .await;
    let (status, body) = one
        .request_with("POST /api/namespaces/create", &cookie, b"name=shared")
        .await
        .unwrap();
    assert!(status == 200 || status == 303, "{body}");
    let lines = read_until(&mut live, " ada\n").await;
    assert!(lines.contains("\nchanged "), "{lines}");
    let (_, listed) = two
        .request_with("GET /api/namespaces/list", &cookie, b"")
        .await
        .unwrap();
    assert!(listed.ends_with(r#"["shared"]"#), "{listed}");

    // Signed out on the second, the session is refused by the first.
    let (status, body) = two
        .request_with("POST /api/auth/sign-out", &cookie, b"")
        .await
        .unwrap();
    assert!(status == 200 || status == 303, "{body}");
    let (status, _) = one
        .request_with("GET /api/namespaces/list", &cookie, b"")
        .await
        .unwrap();
    assert_eq!(status, 401);
}
