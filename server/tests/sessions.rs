//! Dashboard sessions in the store, on both backends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::sessions::StoreSessions;
use confo::kv::embedded::EmbeddedKv;
use confo::{KeyLayout, Store};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::SessionStore;

#[path = "../../confo/tests/common/etcd_env.rs"]
mod etcd_env;

fn prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("sessions-test{nanos}/")
}

async fn backends() -> Vec<(Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let embedded = Store::new(
        Arc::new(EmbeddedKv::open(dir.path()).unwrap()),
        KeyLayout::with_prefix(prefix()),
    );
    let mut all = vec![(embedded, Some(dir))];
    if let Some(endpoints) = etcd_env::etcd_endpoints() {
        let kv = etcd_env::connect(&endpoints, Duration::from_secs(5)).await;
        all.push((
            Store::new(Arc::new(kv), KeyLayout::with_prefix(prefix())),
            None,
        ));
    }
    all
}

fn record(seconds: i64) -> Record {
    let mut data = HashMap::new();
    data.insert("user".to_owned(), serde_json::json!("ada"));
    data.insert("signed_in_at".to_owned(), serde_json::json!(0));
    Record {
        id: Id::default(),
        data,
        expiry_date: OffsetDateTime::now_utc() + time::Duration::seconds(seconds),
    }
}

#[tokio::test]
async fn sessions_round_trip_and_never_take_over_an_id() {
    for (store, _dir) in backends().await {
        let sessions = StoreSessions::new(store.clone());
        let mut first = record(600);
        sessions.create(&mut first).await.unwrap();
        let loaded = sessions.load(&first.id).await.unwrap().expect("stored");
        assert_eq!(loaded.data, first.data);

        let mut clash = record(600);
        clash.id = first.id;
        clash
            .data
            .insert("user".into(), serde_json::json!("mallory"));
        sessions.create(&mut clash).await.unwrap();
        assert_ne!(clash.id, first.id, "a new session got an existing id");
        assert_eq!(
            sessions.load(&first.id).await.unwrap().unwrap().data["user"],
            "ada"
        );

        sessions.delete(&first.id).await.unwrap();
        assert_eq!(sessions.load(&first.id).await.unwrap(), None);
        assert!(
            store
                .kv()
                .get(
                    &store
                        .layout()
                        .session(&app::sessions::stored_hash(&first.id))
                )
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn expired_sessions_are_not_handed_out_and_are_removed() {
    for (store, dir) in backends().await {
        let sessions = StoreSessions::new(store.clone());
        let mut short = record(1);
        sessions.create(&mut short).await.unwrap();
        let key = store
            .layout()
            .session(&app::sessions::stored_hash(&short.id));
        let deadline = Instant::now() + Duration::from_secs(10);
        while sessions.load(&short.id).await.unwrap().is_some() {
            assert!(Instant::now() < deadline, "the session did not expire");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if dir.is_some() {
            // The embedded store keeps the key until a sweep.
            assert!(store.kv().get(&key).await.unwrap().is_some());
            assert_eq!(sessions.sweep_expired().await.unwrap(), 1);
        } else {
            // etcd's lease removes it by itself.
            while store.kv().get(&key).await.unwrap().is_some() {
                assert!(
                    Instant::now() < deadline,
                    "etcd did not remove the expired session"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        assert!(store.kv().get(&key).await.unwrap().is_none());

        // Saving an already expired record removes it.
        let mut gone = record(600);
        sessions.create(&mut gone).await.unwrap();
        gone.expiry_date = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        sessions.save(&gone).await.unwrap();
        assert_eq!(sessions.load(&gone.id).await.unwrap(), None);
    }
}

/// Whoever reads the store learns no session id: the key is its hash and the record leaves it
/// out.
#[tokio::test]
async fn the_store_holds_no_session_id() {
    for (store, _dir) in backends().await {
        let sessions = StoreSessions::new(store.clone());
        let mut session = record(600);
        sessions.create(&mut session).await.unwrap();
        let id = session.id.to_string();
        let stored = store
            .kv()
            .list_prefix(&store.layout().sessions_prefix())
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].key.contains(&id), "{}", stored[0].key);
        let value = String::from_utf8(stored[0].value.clone()).unwrap();
        assert!(!value.contains(&id), "{value}");
        assert!(!value.contains(&session.id.0.to_string()), "{value}");
        assert_eq!(
            sessions.load(&session.id).await.unwrap().unwrap().id,
            session.id
        );
    }
}

/// Records stored under the raw id by earlier versions are removed at start-up; hashed ones stay.
#[tokio::test]
async fn plain_session_records_are_removed() {
    for (store, _dir) in backends().await {
        let sessions = StoreSessions::new(store.clone());
        let mut kept = record(600);
        sessions.create(&mut kept).await.unwrap();
        let plain = record(600);
        let plain_key = store.layout().session(&plain.id.to_string());
        store
            .kv()
            .txn(
                Vec::new(),
                vec![confo::kv::Op::Put {
                    key: plain_key.clone(),
                    value: serde_json::to_vec(&plain).unwrap(),
                }],
            )
            .await
            .unwrap();
        assert_eq!(sessions.remove_plain_records().await.unwrap(), 1);
        assert!(store.kv().get(&plain_key).await.unwrap().is_none());
        assert_eq!(sessions.load(&plain.id).await.unwrap(), None);
        assert!(sessions.load(&kept.id).await.unwrap().is_some());
        assert_eq!(sessions.remove_plain_records().await.unwrap(), 0);
    }
}

/// A session ended while a request was refreshing it stays ended: the write-back finds no record
/// and writes nothing.
#[tokio::test]
async fn an_ended_session_is_not_written_back() {
    for (store, _dir) in backends().await {
        let sessions = StoreSessions::new(store.clone());
        let mut session = record(600);
        sessions.create(&mut session).await.unwrap();
        // A request loaded it...
        let mut refreshing = sessions.load(&session.id).await.unwrap().unwrap();
        // ...an administrator ends it...
        assert_eq!(sessions.end("ada", None, None).await.unwrap(), 1);
        // ...and the request writes its refresh back.
        refreshing
            .data
            .insert("refreshed_at".into(), serde_json::json!(1));
        sessions.save(&refreshing).await.unwrap();
        assert_eq!(sessions.load(&session.id).await.unwrap(), None);
        assert!(sessions.list(Some("ada")).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_waiting_link_is_taken_once_by_its_session_and_never_after_it_expires() {
    for (store, _dir) in backends().await {
        let sessions = StoreSessions::new(store.clone());
        let id = Id::default();
        let day = Duration::from_secs(86_400);
        sessions
            .keep_link(&id, "grace", "older".into(), day)
            .await
            .unwrap();
        sessions
            .keep_link(&id, "grace", "newer".into(), day)
            .await
            .unwrap();
        let other = Id::default();
        assert_eq!(sessions.take_link(&other, "grace").await.unwrap(), None);
        assert_eq!(sessions.take_link(&id, "ruth").await.unwrap(), None);
        assert_eq!(
            sessions.take_link(&id, "grace").await.unwrap().as_deref(),
            Some("newer")
        );
        assert_eq!(sessions.take_link(&id, "grace").await.unwrap(), None);

        // A link past its time (still there: the embedded store has no leases) is not handed
        // out, and a sweep removes it while one still in time stays.
        let key = store
            .layout()
            .waiting_link(&app::sessions::stored_hash(&id), "ruth");
        let past = OffsetDateTime::now_utc().unix_timestamp() - 1;
        let put = |value: serde_json::Value| confo::kv::Op::Put {
            key: key.clone(),
            value: value.to_string().into_bytes(),
        };
        let stale = serde_json::json!({ "sealed": "stale", "expires": past });
        store
            .kv()
            .txn(Vec::new(), vec![put(stale.clone())])
            .await
            .unwrap();
        assert_eq!(sessions.take_link(&id, "ruth").await.unwrap(), None);
        store.kv().txn(Vec::new(), vec![put(stale)]).await.unwrap();
        sessions
            .keep_link(&id, "grace", "in time".into(), day)
            .await
            .unwrap();
        assert_eq!(sessions.sweep_expired().await.unwrap(), 1);
        assert!(store.kv().get(&key).await.unwrap().is_none());
        assert_eq!(
            sessions.take_link(&id, "grace").await.unwrap().as_deref(),
            Some("in time")
        );
    }
}
