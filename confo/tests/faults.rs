//! Lost answers injected on purpose, and two stores (as two dashboard processes) racing on one
//! backend: every test runs on the embedded store and on etcd.

mod common;

use std::sync::Arc;

use common::faulty::{Fault, FaultyKv};
use common::{Backend, cfg, change, ns, object, with_namespace};
use confo::audit::Verification;
use confo::edit::Edit;
use confo::kv::{Op, TxnOutcome};
use confo::store::CommitStats;
use confo::store::SignInClient;
use confo::{Actor, Change, Error, KeyLayout, Store};
use serde_json::{Value, json};

contract!(
    an_answer_lost_after_the_write_is_reported_saved_with_one_audit_entry,
    a_write_lost_before_it_applied_is_made_once_and_the_original_cannot_apply_later,
    a_lost_answer_that_cannot_be_checked_is_reported_as_unknown_and_never_sent_again,
    two_stores_racing_on_one_backend_lose_nothing,
    a_configuration_added_while_its_namespace_is_deleted_is_never_left_behind,
);

/// A store over a faulty layer on `b`, with configuration `n/c` holding an empty list `log`.
async fn faulty_store(b: &Backend) -> (Arc<FaultyKv>, Store) {
    with_namespace(b, "n")
        .await
        .create_configuration(&ns("n"), &cfg("c"), object(json!({"log": []})), &change())
        .await
        .unwrap();
    let faulty = Arc::new(FaultyKv::new(b.kv.clone()));
    let store = Store::new(faulty.clone(), KeyLayout::with_prefix(b.prefix.clone()));
    (faulty, store)
}

/// Appends `item` to the list `log`: not idempotent, so a write made twice shows.
async fn append(store: &Store, item: &str) -> confo::Result<confo::Written> {
    let edit = Edit::Insert {
        path: "/log/-".into(),
        value: json!(item),
    };
    store
        .apply_edits(&ns("n"), &cfg("c"), vec![edit], None, &change())
        .await
}

async fn log(store: &Store) -> Value {
    store
        .get_configuration(&ns("n"), &cfg("c"))
        .await
        .unwrap()
        .fields["log"]
        .clone()
}

/// The audit entries recorded since the namespace and configuration were made.
async fn entries_after_setup(store: &Store) -> u64 {
    match store.verify_audit().await.unwrap() {
        Verification::Intact { entries } => entries - 2,
        broken => panic!("{broken:?}"),
    }
}

async fn an_answer_lost_after_the_write_is_reported_saved_with_one_audit_entry(b: Backend) {
    let (faulty, store) = faulty_store(&b).await;
    faulty.arm(Fault::ApplyThenLose);
    let written = append(&store, "once").await.expect("reported saved");
    assert!(faulty.fired());
    assert_eq!(log(&store).await, json!(["once"]));
    assert_eq!(entries_after_setup(&store).await, 1);
    let config = store.get_configuration(&ns("n"), &cfg("c")).await.unwrap();
    assert_eq!(
        written.revision, config.revision,
        "the revision of the write"
    );
    let stats = store.commit_stats();
    assert_eq!(
        (stats.answers_lost, stats.lost_but_applied),
        (1, 1),
        "{stats:?}"
    );
}

async fn a_write_lost_before_it_applied_is_made_once_and_the_original_cannot_apply_later(
    b: Backend,
) {
    let (faulty, store) = faulty_store(&b).await;
    faulty.arm(Fault::LoseBeforeApply {
        deliver_before: None,
    });
    append(&store, "once")
        .await
        .expect("saved on the second try");
    assert_eq!(log(&store).await, json!(["once"]));
    assert_eq!(entries_after_setup(&store).await, 1);
    let stats = store.commit_stats();
    assert_eq!(
        (stats.answers_lost, stats.lost_and_fenced),
        (1, 1),
        "{stats:?}"
    );
    // The network delivers the lost original now: it compares revisions that have moved on.
    assert_eq!(faulty.deliver_late().await, TxnOutcome::CompareFailed);
    assert_eq!(log(&store).await, json!(["once"]));
    assert_eq!(entries_after_setup(&store).await, 1);

    // The original arrives on its own while the store is finding out what happened to it:
    // before the first, second, ... request after the lost answer. Whichever it is, the item
    // is written once and the caller is told it was saved.
    for deliver_before in 1..=6 {
        let item = format!("late{deliver_before}");
        let before = entries_after_setup(&store).await;
        faulty.arm(Fault::LoseBeforeApply {
            deliver_before: Some(deliver_before),
        });
        append(&store, &item)
            .await
            .unwrap_or_else(|e| panic!("{item}: {e}"));
        let items = log(&store).await;
        let copies = items
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| **v == json!(item))
            .count();
        assert_eq!(copies, 1, "{item}: {items}");
        assert_eq!(entries_after_setup(&store).await, before + 1, "{item}");
    }
}

async fn a_lost_answer_that_cannot_be_checked_is_reported_as_unknown_and_never_sent_again(
    b: Backend,
) {
    let (faulty, store) = faulty_store(&b).await;
    let before = b.kv.list_prefix(&b.prefix).await.unwrap();
    faulty.arm(Fault::LoseAndFailReads);
    match append(&store, "maybe").await {
        Err(error @ Error::OutcomeUnknown(_)) => assert!(
            error
                .to_string()
                .contains("whether it was saved is unknown"),
            "{error}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.commit_stats().lost_unknown, 1);
    faulty.heal();
    // Nothing was applied, and nothing was sent again behind the caller's back.
    assert_eq!(b.kv.list_prefix(&b.prefix).await.unwrap(), before);
    assert_eq!(log(&store).await, json!([]));
    // The one request on its way may still land (that is why the answer is "unknown"), once.
    let late = faulty.deliver_late().await;
    assert!(matches!(late, TxnOutcome::Committed { .. }), "{late:?}");
    assert_eq!(log(&store).await, json!(["maybe"]));
    assert_eq!(entries_after_setup(&store).await, 1);
}

/// Two stores on one backend each have their own committer, as two dashboard processes
/// sharing one etcd do: they only meet in the store's compare-and-swap.
async fn two_stores_racing_on_one_backend_lose_nothing(b: Backend) {
    const EACH: usize = 40;
    let first = with_namespace(&b, "n").await;
    let second = b.store();
    first
        .create_configuration(
            &ns("n"),
            &cfg("counter"),
            object(json!({"count": 0})),
            &change(),
        )
        .await
        .unwrap();
    let increments = |store: Store, who: &'static str| {
        tokio::spawn(async move {
            let by = Change::by(Actor::user(who));
            let mut conflicts = 0;
            for _ in 0..EACH {
                loop {
                    let read = store
                        .get_configuration(&ns("n"), &cfg("counter"))
                        .await
                        .unwrap();
                    let count = read.fields["count"].as_u64().unwrap();
                    match store
                        .set_field(
                            &ns("n"),
                            &cfg("counter"),
                            "count",
                            json!(count + 1),
                            Some(read.revision),
                            &by,
                        )
                        .await
                    {
                        Ok(_) => break,
                        Err(Error::Conflict { .. }) => conflicts += 1,
                        Err(other) => panic!("{who}: {other}"),
                    }
                }
            }
            conflicts
        })
    };
    let creates = |store: Store, prefix: &'static str| {
        tokio::spawn(async move {
            for i in 0..EACH {
                store
                    .create_configuration(
                        &ns("n"),
                        &cfg(&format!("{prefix}{i}")),
                        Default::default(),
                        &change(),
                    )
                    .await
                    .unwrap();
            }
        })
    };
    let claims = |store: Store| {
        tokio::spawn(async move {
            for _ in 0..8 {
                store
                    .claim_sign_in_attempt("ada", SignInClient::Unknown)
                    .await
                    .unwrap()
                    .expect("within the budget");
            }
        })
    };
    let tasks = [
        increments(first.clone(), "first"),
        increments(second.clone(), "second"),
    ];
    let others = [
        creates(first.clone(), "a"),
        creates(second.clone(), "b"),
        claims(first.clone()),
        claims(second.clone()),
    ];
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }
    for task in others {
        task.await.unwrap();
    }

    // The counter is exact.
    let count = first
        .get_configuration(&ns("n"), &cfg("counter"))
        .await
        .unwrap()
        .fields["count"]
        .clone();
    assert_eq!(count, json!(2 * EACH), "after {conflicts} conflicts");
    // Each name is listed once, and each writer's names in the order it made them.
    let listed = first
        .list_configurations(&ns("n"))
        .await
        .unwrap()
        .registered;
    assert_eq!(listed.len(), 1 + 2 * EACH, "{listed:?}");
    for prefix in ["a", "b"] {
        let own: Vec<&String> = listed
            .iter()
            .filter(|name| {
                name.strip_prefix(prefix)
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
            })
            .collect();
        let expected: Vec<String> = (0..EACH).map(|i| format!("{prefix}{i}")).collect();
        assert_eq!(
            own,
            expected.iter().collect::<Vec<_>>(),
            "{prefix}: {listed:?}"
        );
    }
    // The sign-in attempts claimed through both add up, and the budget holds across them.
    let attempts = first.sign_in_attempts("ada").await.unwrap().unwrap();
    assert_eq!(attempts.unknown, 16);
    assert!(
        second
            .claim_sign_in_attempt("ada", SignInClient::Unknown)
            .await
            .unwrap()
            .is_err(),
        "a 17th attempt in the quarter"
    );
    // One chained audit entry per change: namespace, counter, increments, creations (the
    // attempt counters are not audited).
    assert_eq!(
        first.verify_audit().await.unwrap(),
        Verification::Intact {
            entries: (2 + 2 * EACH + 2 * EACH) as u64
        }
    );
    // Some rounds were lost to the other store and planned again.
    let lost = |s: CommitStats| s.rounds_lost;
    let (a, b) = (first.commit_stats(), second.commit_stats());
    eprintln!("first {a:?}, second {b:?}, {conflicts} conflicts");
    assert!(lost(a) + lost(b) > 0, "the two stores never met");
}

/// Another writer adds a configuration while its namespace is being deleted with its
/// configurations, at each request of the deletion in turn: either the new one is deleted too,
/// or nothing is deleted (a conflict). Never is the namespace gone with the new key left behind.
async fn a_configuration_added_while_its_namespace_is_deleted_is_never_left_behind(b: Backend) {
    let setup = with_namespace(&b, "keep").await;
    let faulty = Arc::new(FaultyKv::new(b.kv.clone()));
    let store = Store::new(faulty.clone(), KeyLayout::with_prefix(b.prefix.clone()));
    for at in 1..=5 {
        let name = format!("n{at}");
        setup.create_namespace(&ns(&name), &change()).await.unwrap();
        setup
            .create_configuration(&ns(&name), &cfg("first"), Default::default(), &change())
            .await
            .unwrap();
        faulty.write_before(
            at,
            vec![
                Op::Put {
                    key: b.key(&name),
                    value: br#"{"configurations":["first","late"]}"#.to_vec(),
                },
                Op::Put {
                    key: b.key(&format!("{name}-late")),
                    value: b"{}".to_vec(),
                },
            ],
        );
        let deleted = store.delete_namespace(&ns(&name), true, &change()).await;
        let listed = setup.list_namespaces().await.unwrap().contains(&name);
        let left: Vec<String> = b.kv.list_keys(&b.key(&format!("{name}-"))).await.unwrap();
        match deleted {
            Ok(_) => {
                assert!(!listed, "{at}");
                assert!(left.is_empty(), "{at}: deleted, but {left:?} left behind");
            }
            Err(Error::Conflict { .. }) => {
                assert!(listed, "{at}: a conflict, yet the namespace is gone");
                assert_eq!(left.len(), 2, "{at}: {left:?}");
            }
            Err(other) => panic!("{at}: {other}"),
        }
    }
}
