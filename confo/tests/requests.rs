//! Change requests, on every backend (see `confo::request`): a reviewed namespace takes no
//! direct write from any way in, a request is approved by someone other than its author, and
//! publishing writes every configuration in one transaction, or nothing.

mod common;

use common::{Backend, cfg, change, ns, object, with_namespace};
use confo::client::{Confo, Persisted};
use confo::edit::Edit;
use confo::request::{Approvers, Proposed, RequestState, ReviewPolicy};
use confo::store::{NewRequest, SchemaChoice, SettingsChange};
use confo::users::{Grants, PasswordHash, Role, User};
use confo::{Action, Actor, AuditQuery, Change, Error, Store};
use serde_json::json;

contract!(
    a_reviewed_namespace_takes_no_direct_write_from_any_way_in,
    the_client_library_opens_a_request_instead_of_writing,
    publishing_writes_every_configuration_in_one_transaction_linked_to_the_request,
    the_author_never_approves_and_an_edit_needs_approval_again,
    a_stale_request_re_bases_when_disjoint_and_shows_overlaps,
    an_emergency_publish_needs_an_administrator_and_a_reason,
    a_request_too_large_for_one_transaction_is_refused_while_it_is_edited,
    a_policy_needs_enough_approvers_and_switching_is_audited,
    an_approval_is_of_the_version_seen_by_someone_who_wrote_none_of_it_and_still_may,
    schema_changes_are_requested_and_published_with_the_configurations,
);

fn user(name: &str, role: Role) -> User {
    User {
        name: name.into(),
        role,
        grants: Grants::All,
        disabled: false,
        created: chrono::Utc::now(),
    }
}

fn by(name: &str) -> Change {
    Change::by(Actor::user(name))
}

fn set(path: &str, value: serde_json::Value) -> Edit {
    Edit::Set {
        path: path.into(),
        value,
    }
}

/// A namespace `prod` with configurations `db` and `web`, users ann and bob (editors) and root
/// (administrator), reviewed with one approval from editors.
async fn reviewed(b: &Backend) -> Store {
    let store = with_namespace(b, "prod").await;
    let hash = PasswordHash::from_stored("not a real hash".into());
    for (name, role) in [
        ("ann", Role::Editor),
        ("bob", Role::Editor),
        ("root", Role::Admin),
    ] {
        store
            .create_user(&user(name, role), &hash, &change())
            .await
            .unwrap();
    }
    for (name, fields) in [
        ("db", json!({"host": "a", "port": 1})),
        ("web", json!({"workers": 2})),
    ] {
        store
            .create_configuration(&ns("prod"), &cfg(name), object(fields), &change())
            .await
            .unwrap();
    }
    let policy = ReviewPolicy {
        approvals: 1,
        approvers: Approvers::Editors,
    };
    store
        .set_review_policy(&ns("prod"), Some(policy), &by("root"))
        .await
        .unwrap();
    store
}

fn request(title: &str, changes: Vec<(&str, Proposed)>) -> NewRequest {
    NewRequest {
        title: title.into(),
        description: String::new(),
        changes: changes
            .into_iter()
            .map(|(name, proposed)| (cfg(name), proposed, None))
            .collect(),
        schemas: Vec::new(),
        settings_revision: None,
        draft: false,
    }
}

async fn stored(b: &Backend, key: &str) -> Option<(serde_json::Value, i64)> {
    b.kv.get(&b.key(key))
        .await
        .unwrap()
        .map(|kv| (serde_json::from_slice(&kv.value).unwrap(), kv.mod_revision))
}

async fn a_reviewed_namespace_takes_no_direct_write_from_any_way_in(b: Backend) {
    let store = reviewed(&b).await;
    let (prod, db) = (ns("prod"), cfg("db"));
    // A change made while the namespace was direct, to take back below.
    let policy = store.get_settings(&prod).await.unwrap().settings.review;
    store
        .set_review_policy(&prod, None, &by("root"))
        .await
        .unwrap();
    let port = store
        .set_field(&prod, &db, "port", json!(3), None, &change())
        .await
        .unwrap()
        .seq;
    store
        .set_review_policy(&prod, policy, &by("root"))
        .await
        .unwrap();
    let before = stored(&b, "prod-db").await;
    let root_before = stored(&b, "prod").await;
    let refused = |result: confo::Result<confo::Written>| {
        assert_eq!(result, Err(Error::ReviewRequired("prod".into())));
    };
    refused(
        store
            .set_field(&prod, &db, "port", json!(2), None, &change())
            .await,
    );
    refused(
        store
            .replace_configuration(&prod, &db, object(json!({})), None, &change())
            .await,
    );
    refused(
        store
            .rename_field(&prod, &db, "port", "p", None, &change())
            .await,
    );
    refused(
        store
            .delete_field(&prod, &db, "port", None, &change())
            .await,
    );
    refused(
        store
            .create_configuration(&prod, &cfg("new"), object(json!({})), &change())
            .await,
    );
    refused(
        store
            .delete_configuration(&prod, &db, None, &change())
            .await,
    );
    let first = store
        .history(&prod, &db)
        .await
        .unwrap()
        .last()
        .map(|v| v.seq)
        .unwrap();
    refused(store.revert(&prod, &db, first, None, &change()).await);
    refused(store.revert_change(&prod, &db, port, None, &change()).await);
    refused(store.delete_namespace(&prod, true, &change()).await);
    refused(
        store
            .change_settings(
                &prod,
                SettingsChange::PutSchema {
                    name: "s".into(),
                    schema: json!({"type": "object"}),
                },
                None,
                &change(),
            )
            .await,
    );
    // Nothing was written anywhere.
    assert_eq!(stored(&b, "prod-db").await, before);
    assert_eq!(stored(&b, "prod").await, root_before);
    assert_eq!(stored(&b, "prod-new").await, None);
    // A direct namespace is as before.
    store
        .create_namespace(&ns("test"), &change())
        .await
        .unwrap();
    store
        .create_configuration(&ns("test"), &db, object(json!({"a": 1})), &change())
        .await
        .unwrap();
    store
        .set_field(&ns("test"), &db, "a", json!(2), None, &change())
        .await
        .unwrap();
    assert_eq!(stored(&b, "test-db").await.unwrap().0, json!({"a": 2}));
}

async fn the_client_library_opens_a_request_instead_of_writing(b: Backend) {
    let store = reviewed(&b).await;
    let before = stored(&b, "prod-db").await;
    let mut confo = Confo::from_store(store.clone(), Actor::token("billing"));
    confo.use_namespace("prod").await.unwrap();
    confo.set("db", "port", 5432).unwrap();
    confo.set("cache", "ttl", 60).unwrap();
    let persisted = confo.persist_with_comment("bigger pool").await.unwrap();
    let Persisted::Requested { id, address } = persisted else {
        panic!("expected a request, got {persisted:?}");
    };
    assert_eq!(address, format!("/requests/{id}"));
    assert_eq!(stored(&b, "prod-db").await, before);
    assert_eq!(stored(&b, "prod-cache").await, None);
    let read = store.get_request(id).await.unwrap();
    assert_eq!(read.request.author, Actor::token("billing"));
    assert_eq!(read.request.title, "bigger pool");
    assert_eq!(read.request.state, RequestState::Open);
    let mut names = read.request.configurations.clone();
    names.sort();
    assert_eq!(names, vec!["cache", "db"]);
    // Nothing is left unsaved locally: the changes live in the request.
    assert_eq!(confo.get_field("db", "port").unwrap(), &json!(1));
    // Published by people, it writes both.
    store.approve_request(id, None, &by("bob")).await.unwrap();
    store.publish_request(id, None, &by("bob")).await.unwrap();
    assert_eq!(
        stored(&b, "prod-db").await.unwrap().0,
        json!({"host": "a", "port": 5432})
    );
    assert_eq!(
        stored(&b, "prod-cache").await.unwrap().0,
        json!({"ttl": 60})
    );
}

async fn publishing_writes_every_configuration_in_one_transaction_linked_to_the_request(
    b: Backend,
) {
    let store = reviewed(&b).await;
    let opened = store
        .open_request(
            &ns("prod"),
            request(
                "pool and workers",
                vec![
                    ("db", Proposed::Edits(vec![set("/port", json!(2))])),
                    ("web", Proposed::Edits(vec![set("/workers", json!(8))])),
                    ("cache", Proposed::Create(object(json!({"ttl": 5})))),
                ],
            ),
            &by("ann"),
        )
        .await
        .unwrap();
    let id = opened.request.id;
    // Not approved yet: not published, nothing written.
    let early = store.publish_request(id, None, &by("ann")).await;
    assert!(
        matches!(early, Err(Error::NotAllowed(ref m)) if m.contains("1 more approval")),
        "{early:?}"
    );
    assert_eq!(
        stored(&b, "prod-db").await.unwrap().0,
        json!({"host": "a", "port": 1})
    );
    store.approve_request(id, None, &by("bob")).await.unwrap();
    let transactions = store.commit_stats().transactions;
    let written = store.publish_request(id, None, &by("ann")).await.unwrap();
    assert_eq!(store.commit_stats().transactions, transactions + 1);
    // Every key carries the one transaction's revision.
    let (db, db_rev) = stored(&b, "prod-db").await.unwrap();
    let (web, web_rev) = stored(&b, "prod-web").await.unwrap();
    let (cache, cache_rev) = stored(&b, "prod-cache").await.unwrap();
    assert_eq!(db, json!({"host": "a", "port": 2}));
    assert_eq!(web, json!({"workers": 8}));
    assert_eq!(cache, json!({"ttl": 5}));
    assert_eq!(
        (db_rev, web_rev, cache_rev),
        (written.revision, written.revision, written.revision)
    );
    assert_eq!(
        stored(&b, "prod").await.unwrap().0,
        json!({"configurations": ["db", "web", "cache"]})
    );
    // One audit entry per configuration, each linked to the request.
    let entries: Vec<_> = store
        .audit(&AuditQuery::default())
        .await
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.request == Some(id) && e.configuration.is_some())
        .collect();
    let mut linked: Vec<_> = entries
        .iter()
        .map(|e| (e.configuration.clone().unwrap(), e.actor.name.clone()))
        .collect();
    linked.sort();
    assert_eq!(
        linked,
        vec![
            ("cache".to_owned(), "ann".to_owned()),
            ("db".to_owned(), "ann".to_owned()),
            ("web".to_owned(), "ann".to_owned()),
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| e.comment.as_deref() == Some(&*format!("request {id}: pool and workers")))
    );
    // The chain holds, with the linked entries in it.
    assert!(matches!(
        store.verify_audit().await.unwrap(),
        confo::audit::Verification::Intact { .. }
    ));
    let after = store.get_request(id).await.unwrap().request;
    assert_eq!(after.state, RequestState::Published);
    // Published once: never again.
    let again = store.publish_request(id, None, &by("ann")).await;
    assert!(matches!(again, Err(Error::NotAllowed(_))), "{again:?}");
}

async fn the_author_never_approves_and_an_edit_needs_approval_again(b: Backend) {
    let store = reviewed(&b).await;
    let id = store
        .open_request(
            &ns("prod"),
            request(
                "port",
                vec![("db", Proposed::Edits(vec![set("/port", json!(2))]))],
            ),
            &by("ann"),
        )
        .await
        .unwrap()
        .request
        .id;
    let own = store.approve_request(id, None, &by("ann")).await;
    assert!(
        matches!(own, Err(Error::NotAllowed(ref m)) if m.contains("you wrote")),
        "{own:?}"
    );
    // An administrator author may not either.
    let root_id = store
        .open_request(
            &ns("prod"),
            request(
                "web",
                vec![("web", Proposed::Edits(vec![set("/workers", json!(3))]))],
            ),
            &by("root"),
        )
        .await
        .unwrap()
        .request
        .id;
    assert!(matches!(
        store.approve_request(root_id, None, &by("root")).await,
        Err(Error::NotAllowed(_))
    ));
    let approved = store.approve_request(id, None, &by("bob")).await.unwrap();
    assert_eq!(approved.request.state, RequestState::Approved);
    assert_eq!(approved.request.approvals.len(), 1);
    let twice = store.approve_request(id, None, &by("bob")).await;
    assert!(matches!(twice, Err(Error::NotAllowed(_))), "{twice:?}");
    // Edited after approval: back to review, approvals cleared.
    let edited = store
        .add_to_request(
            id,
            &cfg("db"),
            Proposed::Edits(vec![set("/host", json!("b"))]),
            None,
            &by("ann"),
        )
        .await
        .unwrap();
    assert_eq!(edited.request.state, RequestState::Open);
    assert!(edited.request.approvals.is_empty());
    assert_eq!(
        edited.changes[0].after().unwrap().unwrap(),
        object(json!({"host": "b", "port": 2}))
    );
    assert!(matches!(
        store.publish_request(id, None, &by("ann")).await,
        Err(Error::NotAllowed(_))
    ));
    // Only its author (or an administrator) changes it; a reviewer rejects it with a reason.
    assert!(matches!(
        store.withdraw_request(id, &by("bob")).await,
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        store.reject_request(id, " ", &by("bob")).await,
        Err(Error::InvalidValue(_))
    ));
    let rejected = store
        .reject_request(id, "wrong host", &by("bob"))
        .await
        .unwrap();
    assert_eq!(rejected.request.state, RequestState::Closed);
    assert!(matches!(
        store.approve_request(id, None, &by("bob")).await,
        Err(Error::NotAllowed(_))
    ));
    // Each step is in the audit log, linked to the request.
    let actions: Vec<Action> = store
        .audit(&AuditQuery::default())
        .await
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.request == Some(id))
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        vec![
            Action::RequestReject,
            Action::RequestEdit,
            Action::RequestApprove,
            Action::RequestOpen
        ]
    );
}

async fn a_stale_request_re_bases_when_disjoint_and_shows_overlaps(b: Backend) {
    let store = reviewed(&b).await;
    let id = store
        .open_request(
            &ns("prod"),
            request(
                "two",
                vec![
                    ("db", Proposed::Edits(vec![set("/port", json!(2))])),
                    ("web", Proposed::Edits(vec![set("/workers", json!(8))])),
                ],
            ),
            &by("ann"),
        )
        .await
        .unwrap()
        .request
        .id;
    store.approve_request(id, None, &by("bob")).await.unwrap();
    // Another tool writes both meanwhile: db elsewhere, web at the same place.
    for (key, value) in [
        ("prod-db", json!({"host": "z", "port": 1})),
        ("prod-web", json!({"workers": 3})),
    ] {
        b.put(key, &value.to_string()).await;
    }
    let stopped = store.publish_request(id, None, &by("ann")).await;
    let Err(Error::RequestStale { configurations, .. }) = &stopped else {
        panic!("expected a stale request, got {stopped:?}");
    };
    assert_eq!(configurations, &vec!["db".to_owned(), "web".to_owned()]);
    assert_eq!(
        stored(&b, "prod-db").await.unwrap().0,
        json!({"host": "z", "port": 1})
    );
    let conflicts = store.request_conflicts(id).await.unwrap();
    assert_eq!(conflicts.len(), 2);
    assert!(conflicts[0].overlap.is_empty(), "{conflicts:?}");
    assert_eq!(
        conflicts[0].base,
        Some(object(json!({"host": "a", "port": 1})))
    );
    assert_eq!(
        conflicts[0].theirs,
        Some(object(json!({"host": "z", "port": 1})))
    );
    assert_eq!(conflicts[1].overlap, vec!["workers".to_owned()]);
    // Re-basing takes the disjoint one onto the latest version and asks for approval again.
    let rebased = store.rebase_request(id, &by("ann")).await.unwrap();
    assert_eq!(rebased.rebased, vec!["db".to_owned()]);
    assert_eq!(rebased.overlapping.len(), 1);
    let read = store.get_request(id).await.unwrap();
    assert_eq!(read.request.state, RequestState::Open);
    assert!(read.request.approvals.is_empty());
    // The overlap is resolved by hand: the change made again on the latest version.
    store
        .replace_in_request(
            id,
            &cfg("web"),
            Proposed::Edits(vec![set("/workers", json!(9))]),
            None,
            &by("ann"),
        )
        .await
        .unwrap();
    assert!(store.request_conflicts(id).await.unwrap().is_empty());
    store.approve_request(id, None, &by("bob")).await.unwrap();
    store.publish_request(id, None, &by("bob")).await.unwrap();
    assert_eq!(
        stored(&b, "prod-db").await.unwrap().0,
        json!({"host": "z", "port": 2})
    );
    assert_eq!(
        stored(&b, "prod-web").await.unwrap().0,
        json!({"workers": 9})
    );
}

async fn an_emergency_publish_needs_an_administrator_and_a_reason(b: Backend) {
    let store = reviewed(&b).await;
    let id = store
        .open_request(
            &ns("prod"),
            request(
                "hotfix",
                vec![("db", Proposed::Edits(vec![set("/port", json!(9))]))],
            ),
            &by("ann"),
        )
        .await
        .unwrap()
        .request
        .id;
    let editor = store.publish_request(id, Some("outage"), &by("bob")).await;
    assert!(
        matches!(editor, Err(Error::NotAllowed(ref m)) if m.contains("administrator")),
        "{editor:?}"
    );
    assert!(matches!(
        store.publish_request(id, Some("  "), &by("root")).await,
        Err(Error::InvalidValue(_))
    ));
    assert_eq!(
        stored(&b, "prod-db").await.unwrap().0,
        json!({"host": "a", "port": 1})
    );
    store
        .publish_request(id, Some("the site is down"), &by("root"))
        .await
        .unwrap();
    assert_eq!(
        stored(&b, "prod-db").await.unwrap().0,
        json!({"host": "a", "port": 9})
    );
    let read = store.get_request(id).await.unwrap().request;
    let last = read.events.last().unwrap();
    assert_eq!(last.what, confo::request::EventKind::PublishedInEmergency);
    assert_eq!(last.reason.as_deref(), Some("the site is down"));
    let entry = store
        .audit(&AuditQuery::default())
        .await
        .unwrap()
        .entries
        .into_iter()
        .find(|e| e.request == Some(id) && e.configuration.is_some())
        .unwrap();
    assert_eq!(entry.actor, Actor::user("root"));
    assert!(
        entry.comment.as_deref().unwrap().starts_with(&format!(
            "emergency publish of request {id} without approval: the site is down"
        )),
        "{entry:?}"
    );
}

async fn a_request_too_large_for_one_transaction_is_refused_while_it_is_edited(b: Backend) {
    let store = reviewed(&b).await;
    let many: Vec<(&str, Proposed)> = Vec::new();
    let names: Vec<String> = (0..45).map(|i| format!("c{i}")).collect();
    let mut changes = many;
    for name in &names {
        changes.push((name.as_str(), Proposed::Create(object(json!({"n": 1})))));
    }
    let refused = store
        .open_request(&ns("prod"), request("too many", changes), &by("ann"))
        .await;
    let Err(error @ Error::TooLarge { .. }) = &refused else {
        panic!("expected too large, got {refused:?}");
    };
    let text = error.to_string();
    assert!(text.contains("touches 45 configurations"), "{text}");
    assert!(text.contains("the limit is 128 operations"), "{text}");
    assert!(store.list_requests().await.unwrap().is_empty());
    // Grown one configuration at a time, it is refused at the one that does not fit.
    let id = store
        .open_request(
            &ns("prod"),
            request(
                "growing",
                vec![("c0", Proposed::Create(object(json!({"n": 1}))))],
            ),
            &by("ann"),
        )
        .await
        .unwrap()
        .request
        .id;
    let mut refused_at = None;
    for (i, name) in names.iter().enumerate().skip(1) {
        let added = store
            .add_to_request(
                id,
                &cfg(name),
                Proposed::Create(object(json!({"n": 1}))),
                None,
                &by("ann"),
            )
            .await;
        if let Err(error) = added {
            assert!(matches!(error, Error::TooLarge { .. }), "{error:?}");
            refused_at = Some(i);
            break;
        }
    }
    let refused_at = refused_at.expect("a request of 45 creations does not fit");
    let read = store.get_request(id).await.unwrap();
    assert_eq!(read.changes.len(), refused_at);
    // What it holds can still be published, in one transaction.
    store.approve_request(id, None, &by("bob")).await.unwrap();
    store.publish_request(id, None, &by("ann")).await.unwrap();
    assert!(
        stored(&b, &format!("prod-c{}", refused_at - 1))
            .await
            .is_some()
    );
    // Too many bytes are refused too, with the numbers.
    let big = "x".repeat(900 * 1024);
    let bytes = store
        .open_request(
            &ns("prod"),
            request(
                "big",
                vec![
                    ("big1", Proposed::Create(object(json!({"v": big})))),
                    ("big2", Proposed::Create(object(json!({"v": big})))),
                ],
            ),
            &by("ann"),
        )
        .await;
    assert!(
        matches!(
            bytes,
            Err(Error::TooLarge {
                unit: "bytes",
                limit: 1_572_864,
                ..
            })
        ),
        "{bytes:?}"
    );
}

async fn a_policy_needs_enough_approvers_and_switching_is_audited(b: Backend) {
    let store = reviewed(&b).await;
    let prod = ns("prod");
    // Three people may approve here (ann, bob, root).
    let four = ReviewPolicy {
        approvals: 4,
        approvers: Approvers::Editors,
    };
    let refused = store
        .set_review_policy(&prod, Some(four), &by("root"))
        .await;
    assert!(
        matches!(refused, Err(Error::InvalidValue(ref m)) if m.contains("only 3 people")),
        "{refused:?}"
    );
    let nobody = ReviewPolicy {
        approvals: 1,
        approvers: Approvers::Named(vec!["ghost".into()]),
    };
    assert!(matches!(
        store
            .set_review_policy(&prod, Some(nobody), &by("root"))
            .await,
        Err(Error::NotFound(_))
    ));
    assert!(
        store
            .get_settings(&prod)
            .await
            .unwrap()
            .settings
            .review
            .is_some()
    );
    // Named approvers: only bob (and administrators).
    let named = ReviewPolicy {
        approvals: 1,
        approvers: Approvers::Named(vec!["bob".into()]),
    };
    store
        .set_review_policy(&prod, Some(named), &by("root"))
        .await
        .unwrap();
    let id = store
        .open_request(
            &prod,
            request(
                "x",
                vec![("db", Proposed::Edits(vec![set("/port", json!(3))]))],
            ),
            &by("root"),
        )
        .await
        .unwrap()
        .request
        .id;
    assert!(matches!(
        store.approve_request(id, None, &by("ann")).await,
        Err(Error::NotAllowed(_))
    ));
    store.approve_request(id, None, &by("bob")).await.unwrap();
    // Back to direct: audited, and writes go through again.
    store
        .set_review_policy(&prod, None, &by("root"))
        .await
        .unwrap();
    store
        .set_field(&prod, &cfg("db"), "port", json!(4), None, &change())
        .await
        .unwrap();
    let switches = store
        .audit(&AuditQuery {
            action: Some(Action::NamespaceReview),
            ..Default::default()
        })
        .await
        .unwrap()
        .entries;
    assert_eq!(switches.len(), 3);
    assert!(switches.iter().all(|e| e.actor == Actor::user("root")));
}

async fn an_approval_is_of_the_version_seen_by_someone_who_wrote_none_of_it_and_still_may(
    b: Backend,
) {
    let store = reviewed(&b).await;
    let hash = PasswordHash::from_stored("not a real hash".into());
    store
        .create_user(&user("carl", Role::Editor), &hash, &change())
        .await
        .unwrap();
    let opened = store
        .open_request(
            &ns("prod"),
            request(
                "port",
                vec![("db", Proposed::Edits(vec![set("/port", json!(2))]))],
            ),
            &by("ann"),
        )
        .await
        .unwrap();
    let (id, seen) = (opened.request.id, opened.request.version);
    // Changed after bob read it: his approval of what he read is refused, and nothing changes.
    let changed = store
        .add_to_request(
            id,
            &cfg("db"),
            Proposed::Edits(vec![set("/host", json!("evil"))]),
            None,
            &by("ann"),
        )
        .await
        .unwrap();
    assert_eq!(changed.request.version, seen + 1);
    let stale = store.approve_request(id, Some(seen), &by("bob")).await;
    assert!(matches!(stale, Err(Error::Conflict { .. })), "{stale:?}");
    assert!(
        store
            .get_request(id)
            .await
            .unwrap()
            .request
            .approvals
            .is_empty()
    );
    // An administrator who changed it may not approve it.
    store
        .add_to_request(
            id,
            &cfg("web"),
            Proposed::Edits(vec![set("/workers", json!(4))]),
            None,
            &by("root"),
        )
        .await
        .unwrap();
    let own = store.approve_request(id, None, &by("root")).await;
    assert!(matches!(own, Err(Error::NotAllowed(_))), "{own:?}");
    // An approval stops counting when its giver may no longer approve.
    let version = store.get_request(id).await.unwrap().request.version;
    store
        .approve_request(id, Some(version), &by("bob"))
        .await
        .unwrap();
    store
        .set_user_disabled("bob", true, &change())
        .await
        .unwrap();
    let unapproved = store.publish_request(id, None, &by("ann")).await;
    assert!(
        matches!(unapproved, Err(Error::NotAllowed(ref m)) if m.contains("1 more approval")),
        "{unapproved:?}"
    );
    assert_eq!(
        stored(&b, "prod-db").await.unwrap().0,
        json!({"host": "a", "port": 1})
    );
    // So does one given before the approvers were narrowed to named people.
    store
        .set_user_disabled("bob", false, &change())
        .await
        .unwrap();
    let named = ReviewPolicy {
        approvals: 1,
        approvers: Approvers::Named(vec!["carl".into()]),
    };
    store
        .set_review_policy(&ns("prod"), Some(named), &by("root"))
        .await
        .unwrap();
    assert!(matches!(
        store.publish_request(id, None, &by("ann")).await,
        Err(Error::NotAllowed(_))
    ));
    store.approve_request(id, None, &by("carl")).await.unwrap();
    store.publish_request(id, None, &by("ann")).await.unwrap();
    assert_eq!(
        stored(&b, "prod-db").await.unwrap().0,
        json!({"host": "evil", "port": 2})
    );
}

fn put_schema(name: &str, schema: serde_json::Value) -> SettingsChange {
    SettingsChange::PutSchema {
        name: name.into(),
        schema,
    }
}

fn port_at_least(min: i64) -> serde_json::Value {
    json!({"type": "object", "properties": {"port": {"type": "integer", "minimum": min}}})
}

/// Opens a request of `schemas` (and `changes`) in `prod`, by `who`.
async fn propose_schemas(
    store: &Store,
    who: &str,
    title: &str,
    changes: Vec<(&str, Proposed)>,
    schemas: Vec<SettingsChange>,
) -> confo::Result<u64> {
    let mut new = request(title, changes);
    new.schemas = schemas;
    Ok(store
        .open_request(&ns("prod"), new, &by(who))
        .await?
        .request
        .id)
}

async fn schema_changes_are_requested_and_published_with_the_configurations(b: Backend) {
    let store = reviewed(&b).await;
    let prod = ns("prod");
    const SETTINGS: &str = "__confo/settings/prod";
    let settings_before = stored(&b, SETTINGS).await;
    let shape = |min| {
        vec![
            put_schema("db-shape", port_at_least(min)),
            SettingsChange::Assign {
                configuration: cfg("db"),
                choice: Some(SchemaChoice::Named("db-shape".into())),
            },
        ]
    };
    let port = |p: i64| vec![("db", Proposed::Edits(vec![set("/port", json!(p))]))];
    // Schema changes are an administrator's, proposed as written directly.
    let editor = propose_schemas(&store, "ann", "by an editor", port(2), shape(2)).await;
    assert!(matches!(editor, Err(Error::NotAllowed(_))), "{editor:?}");
    // Made on settings that changed since: a conflict, and nothing is opened.
    let mut new = request("on old settings", Vec::new());
    new.schemas = shape(2);
    new.settings_revision = Some(settings_before.as_ref().unwrap().1 - 1);
    let old = store.open_request(&prod, new, &by("root")).await;
    assert!(matches!(old, Err(Error::Conflict { .. })), "{old:?}");

    // A shared schema, db made to follow it, and a change to db that breaks it: refused when
    // published, because the configurations are checked against the schemas the request
    // leaves. Nothing is written.
    let at_most_1 = json!({"type": "object", "properties": {"port": {"maximum": 1}}});
    let strict = vec![
        put_schema("db-shape", at_most_1),
        SettingsChange::Assign {
            configuration: cfg("db"),
            choice: Some(SchemaChoice::Named("db-shape".into())),
        },
    ];
    let breaking = propose_schemas(&store, "root", "too strict", port(2), strict)
        .await
        .unwrap();
    store
        .approve_request(breaking, None, &by("bob"))
        .await
        .unwrap();
    let refused = store.publish_request(breaking, None, &by("root")).await;
    assert!(
        matches!(refused, Err(Error::SchemaViolation { .. })),
        "{refused:?}"
    );
    assert_eq!(stored(&b, SETTINGS).await, settings_before);
    store.withdraw_request(breaking, &by("root")).await.unwrap();

    let id = propose_schemas(&store, "root", "db shape", port(2), shape(2))
        .await
        .unwrap();
    // Proposed, not written.
    assert_eq!(stored(&b, SETTINGS).await, settings_before);
    let proposal = store.get_request(id).await.unwrap().request.schemas;
    assert_eq!(
        proposal.schemas["db-shape"].proposed,
        Some(port_at_least(2))
    );
    assert_eq!(proposal.schemas["db-shape"].base, None);
    // A request may not follow a schema that is not there.
    let missing = store
        .add_schema_change_to_request(
            id,
            SettingsChange::Assign {
                configuration: cfg("web"),
                choice: Some(SchemaChoice::Named("nowhere".into())),
            },
            &by("root"),
        )
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
    // Nor take the namespace's rules along.
    for rule in [
        SettingsChange::RequireComment(true),
        SettingsChange::Review(None),
    ] {
        let refused = store
            .add_schema_change_to_request(id, rule, &by("root"))
            .await;
        assert!(
            matches!(&refused, Err(Error::InvalidValue(m)) if m.contains("only schema changes")),
            "{refused:?}"
        );
    }
    // Another place of the settings changes meanwhile: it is kept.
    store
        .change_settings(
            &prod,
            SettingsChange::RequireComment(true),
            None,
            &by("root"),
        )
        .await
        .unwrap();
    store.approve_request(id, None, &by("bob")).await.unwrap();
    let written = store.publish_request(id, None, &by("root")).await.unwrap();
    let (settings, settings_rev) = stored(&b, SETTINGS).await.unwrap();
    assert_eq!(settings["schemas"]["db-shape"], port_at_least(2));
    assert_eq!(settings["assignments"]["db"], json!({"named": "db-shape"}));
    assert_eq!(settings["require_comment"], json!(true));
    let (db, db_rev) = stored(&b, "prod-db").await.unwrap();
    assert_eq!(db, json!({"host": "a", "port": 2}));
    assert_eq!((settings_rev, db_rev), (written.revision, written.revision));
    let audited = store
        .audit(&AuditQuery::default())
        .await
        .unwrap()
        .entries
        .into_iter()
        .find(|e| e.request == Some(id) && e.action == Action::SchemaPut);
    assert!(
        audited.is_some(),
        "the schema change is audited with the request"
    );
    store
        .change_settings(
            &prod,
            SettingsChange::RequireComment(false),
            None,
            &by("root"),
        )
        .await
        .unwrap();

    // Two requests change the same schema: the second to publish is stopped, naming it, and
    // proposing the schema again on the new one resolves it.
    let lower = |min| vec![put_schema("db-shape", port_at_least(min))];
    let first = propose_schemas(&store, "root", "lower", Vec::new(), lower(1))
        .await
        .unwrap();
    let second = propose_schemas(&store, "root", "lower still", Vec::new(), lower(0))
        .await
        .unwrap();
    for id in [first, second] {
        store.approve_request(id, None, &by("bob")).await.unwrap();
    }
    store
        .publish_request(first, None, &by("ann"))
        .await
        .unwrap();
    let before_stale = stored(&b, SETTINGS).await;
    let stale = store.publish_request(second, None, &by("ann")).await;
    assert!(
        matches!(&stale, Err(Error::RequestStale { configurations, .. })
            if configurations.iter().any(|c| c.contains("shared schema db-shape"))),
        "{stale:?}"
    );
    assert_eq!(stored(&b, SETTINGS).await, before_stale);
    let current = store.get_settings(&prod).await.unwrap().settings;
    assert_eq!(
        store
            .get_request(second)
            .await
            .unwrap()
            .request
            .schemas
            .stale(&current),
        vec!["shared schema db-shape".to_owned()]
    );
    // Only an administrator adds schema changes to a request.
    let by_editor = store
        .add_schema_change_to_request(second, put_schema("db-shape", port_at_least(0)), &by("ann"))
        .await;
    assert!(
        matches!(by_editor, Err(Error::NotAllowed(_))),
        "{by_editor:?}"
    );
    store
        .add_schema_change_to_request(
            second,
            put_schema("db-shape", port_at_least(0)),
            &by("root"),
        )
        .await
        .unwrap();
    assert!(
        store
            .get_request(second)
            .await
            .unwrap()
            .request
            .schemas
            .stale(&current)
            .is_empty()
    );
    store
        .approve_request(second, None, &by("bob"))
        .await
        .unwrap();
    store
        .publish_request(second, None, &by("ann"))
        .await
        .unwrap();
    assert_eq!(
        stored(&b, SETTINGS).await.unwrap().0["schemas"]["db-shape"],
        port_at_least(0)
    );
    // A request of schema changes alone keeps them: taking them out would leave nothing.
    let only = propose_schemas(&store, "root", "only schemas", Vec::new(), lower(3))
        .await
        .unwrap();
    let emptied = store.remove_schemas_from_request(only, &by("root")).await;
    assert!(
        matches!(emptied, Err(Error::InvalidValue(_))),
        "{emptied:?}"
    );
    // Made direct before it was reviewed: nobody reviewed it, so only an administrator
    // publishes it.
    store
        .set_review_policy(&prod, None, &by("root"))
        .await
        .unwrap();
    let by_editor = store.publish_request(only, None, &by("ann")).await;
    assert!(
        matches!(by_editor, Err(Error::NotAllowed(_))),
        "{by_editor:?}"
    );
    store
        .publish_request(only, None, &by("root"))
        .await
        .unwrap();
    assert_eq!(
        stored(&b, SETTINGS).await.unwrap().0["schemas"]["db-shape"],
        port_at_least(3)
    );
}
