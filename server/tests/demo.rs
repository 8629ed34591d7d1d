//! `confo serve --demo`: the example namespace.

mod common;

use common::TestApp;
use confo::{ConfigurationName, NamespaceName};

#[tokio::test]
async fn the_example_is_loaded_once_valid_and_audited() {
    let app = TestApp::anonymous().await;
    let store = &app.store;
    assert!(server::demo::load(store).await.unwrap());
    let ns = NamespaceName::new("demo").unwrap();
    let listing = store.list_configurations(&ns).await.unwrap();
    assert_eq!(listing.registered, ["checkout", "web", "feature-flags"]);
    let checkout = ConfigurationName::new("checkout").unwrap();
    let (schema, problems) = store.schema_problems(&ns, &checkout).await.unwrap();
    assert!(schema.is_some(), "checkout follows its schema");
    assert_eq!(problems, Vec::new());
    let fields = store
        .get_configuration(&ns, &checkout)
        .await
        .unwrap()
        .fields;
    assert_eq!(fields["retry_limit"], 3);

    // A second start leaves it alone.
    let before = app.snapshot().await;
    assert!(!server::demo::load(store).await.unwrap());
    assert!(app.snapshot().await == before, "a second load wrote");
    let history = store.history(&ns, &checkout).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].entry.actor, confo::Actor::system());
}
