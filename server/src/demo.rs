//! `confo serve --demo`: a small example namespace, so that a newcomer sees what Confo is for.
//! Loaded through the store's ordinary, audited changes (by Confo itself), and only when the
//! namespace `demo` does not exist yet: a restart, or a store that has its own `demo`, is left
//! as it is.

use confo::store::{SchemaChoice, SettingsChange};
use confo::{Actor, Change, ConfigurationName, NamespaceName, Store};
use serde_json::{Value, json};

/// The example namespace.
pub const NAMESPACE: &str = "demo";

/// Each configuration of the example, with the schema it follows (if any).
fn configurations() -> Vec<(&'static str, Value, Option<Value>)> {
    vec![
        (
            "checkout",
            json!({
                "retry_limit": 3,
                "mode": "safe",
                "timeout_seconds": 2.5,
                "payment_providers": ["stripe", "adyen"],
                "api_key": "replace-me"
            }),
            Some(json!({
                "type": "object",
                "required": ["retry_limit", "mode"],
                "properties": {
                    "retry_limit": {
                        "title": "Retry limit",
                        "description": "How often a failed payment is tried again.",
                        "type": "integer", "minimum": 0, "maximum": 10
                    },
                    "mode": {
                        "title": "Mode",
                        "description": "Fast skips the second fraud check.",
                        "oneOf": [
                            {"const": "fast", "title": "Fast"},
                            {"const": "safe", "title": "Safe"}
                        ]
                    },
                    "timeout_seconds": {
                        "title": "Timeout (seconds)",
                        "type": "number", "exclusiveMinimum": 0, "maximum": 30
                    },
                    "payment_providers": {
                        "title": "Payment providers",
                        "type": "array", "items": {"type": "string"}
                    },
                    "api_key": {
                        "title": "API key",
                        "description": "Never shown once saved; type a new one to replace it.",
                        "type": "string", "writeOnly": true
                    }
                }
            })),
        ),
        (
            "web",
            json!({
                "port": 8080,
                "debug": false,
                "hosts": [{"name": "web-1", "weight": 2}, {"name": "web-2", "weight": 1}]
            }),
            None,
        ),
        (
            "feature-flags",
            json!({"new_checkout": true, "banner_text": "Welcome to the demo shop!"}),
            None,
        ),
    ]
}

/// Loads the example unless namespace `demo` exists; answers whether it did.
pub async fn load(store: &Store) -> confo::Result<bool> {
    let namespace = NamespaceName::new(NAMESPACE).expect("a valid name");
    if store
        .list_namespaces()
        .await?
        .iter()
        .any(|n| n == NAMESPACE)
    {
        return Ok(false);
    }
    let change = Change::by(Actor::system()).with_comment("example loaded by confo serve --demo");
    store.create_namespace(&namespace, &change).await?;
    for (name, fields, schema) in configurations() {
        let configuration = ConfigurationName::new(name).expect("a valid name");
        if let Some(schema) = schema {
            store
                .change_settings(
                    &namespace,
                    SettingsChange::Assign {
                        configuration: configuration.clone(),
                        choice: Some(SchemaChoice::Own(schema)),
                    },
                    None,
                    &change,
                )
                .await?;
        }
        let Value::Object(fields) = fields else {
            unreachable!("every example is an object")
        };
        store
            .create_configuration(&namespace, &configuration, fields, &change)
            .await?;
    }
    Ok(true)
}
