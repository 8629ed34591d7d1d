//! Browsing and editing namespaces and configurations, and their history. Every function checks
//! the caller's role for the namespace first; namespaces a user may not read do not exist for
//! them.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Configurations shown per page of a namespace.
pub const PAGE_SIZE: usize = 50;

/// Who changed something, when, and how, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSummary {
    pub seq: u64,
    pub who: String,
    pub when: String,
    pub what: String,
    pub comment: Option<String>,
}

/// A namespace in the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceSummary {
    pub name: String,
    pub configurations: usize,
    /// Configurations stored under the namespace's prefix without being listed in it.
    pub unregistered: usize,
    pub last_change: Option<ChangeSummary>,
    /// The signed-in user may register its unlisted configurations.
    pub can_edit: bool,
}

/// A configuration in a namespace's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigurationRow {
    pub name: String,
    pub last_change: Option<ChangeSummary>,
}

/// One page of a namespace's configurations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigurationList {
    pub namespace: String,
    pub rows: Vec<ConfigurationRow>,
    /// Configurations matching the filter.
    pub matching: usize,
    /// Configurations in the namespace.
    pub total: usize,
    /// From 1.
    pub page: usize,
    pub pages: usize,
    /// Stored under the namespace but missing from its list (written by other tools).
    pub unregistered: Vec<String>,
    pub can_edit: bool,
}

/// One field as the form view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldView {
    pub name: String,
    /// "text", "number", "true/false", "empty", "list" or "object".
    pub kind: String,
    /// The value as JSON.
    pub json: String,
    /// For a list or an object: its items and keys, depth first, each editable on its own.
    pub inner: Vec<InnerRow>,
    /// The newest change that touched it (see `Store::last_changes`).
    pub last_change: Option<ChangeSummary>,
}

/// An item of a list or a key of an object inside a field's value, as the form view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InnerRow {
    /// Where it is inside the field's value (a JSON Pointer, such as `/servers/0`).
    pub path: String,
    /// Where it is in words, such as `servers › 0`.
    pub place: String,
    /// 1 for the field's own items and keys, 2 for theirs, and so on.
    pub depth: usize,
    /// Its key, or its number in the list.
    pub label: String,
    /// An item of a list (numbered; cannot be renamed) rather than a key of an object.
    pub in_list: bool,
    pub kind: String,
    pub json: String,
    /// The newest change that touched it, or a place inside or around it.
    pub last_change: Option<ChangeSummary>,
}

/// How deep the form view shows lists and objects row by row; deeper values are edited as JSON.
/// (`style/main.css` indents each depth with a class of its own.)
pub const MAX_INNER_DEPTH: usize = 4;
/// How many items of one list or object the form view shows row by row.
pub const MAX_INNER_ITEMS: usize = 100;
/// How many rows the form view shows at most (fields, and the items and keys inside them), so
/// that a huge configuration is no huge page; the fields past them are shown as JSON.
pub const MAX_FORM_ROWS: usize = 1_000;

/// A configuration as the editor loads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigurationView {
    pub namespace: String,
    pub name: String,
    /// The fields the form view shows row by row (see [`MAX_FORM_ROWS`]).
    pub fields: Vec<FieldView>,
    /// How many fields come after those, shown as JSON only.
    pub more_fields: usize,
    /// Those fields as indented JSON (empty when there are none).
    pub more_json: String,
    /// The fields as indented JSON.
    pub json: String,
    /// Sent back with a change, so that a change made in between is noticed.
    pub revision: i64,
    /// The newest change in its history (0 if it has none), to tell later changes apart.
    pub seq: u64,
    pub last_change: Option<ChangeSummary>,
    pub can_edit: bool,
}

/// Two versions of a configuration and how the second differs from the first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// 0: before the first version.
    pub from: u64,
    pub to: u64,
    pub changes: Vec<FieldDiff>,
}

/// How one field differs, in readable JSON (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What a save would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub changes: Vec<FieldDiff>,
    /// Where inside the field the change is, in words (`servers › 0 › port`).
    pub place: Option<String>,
    /// The revision the review was made on.
    pub revision: i64,
}

/// What a save wrote: the configuration's new revision and the number of its history entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub revision: i64,
    pub seq: u64,
}

/// One change asked for in the form view (the page's address carries it, so that it is reviewed
/// before it is saved, also without JavaScript). See [`review_field`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldEdit {
    /// `set`, `delete`, `rename` or `add`.
    pub op: String,
    pub field: String,
    pub kind: String,
    pub value: String,
    /// The new name (rename), or the new key (add to an object).
    pub to: String,
    /// Where inside the field's value (a JSON Pointer; empty: the field itself).
    pub path: String,
}

/// Someone else saved after the editor loaded the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictView {
    /// What this user changed, against what they loaded.
    pub mine: Vec<FieldDiff>,
    /// What was saved in between, against what they loaded.
    pub theirs: Vec<FieldDiff>,
    /// The changes saved in between (who, when).
    pub others: Vec<ChangeSummary>,
    /// Fields both changed.
    pub overlap: Vec<String>,
    /// With no overlap: this user's changes applied to the latest version, as JSON.
    pub merged: Option<String>,
    pub latest: ConfigurationView,
}

/// A version of a configuration in its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryView {
    pub namespace: String,
    pub name: String,
    pub versions: Vec<ChangeSummary>,
    pub revision: i64,
    pub can_edit: bool,
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::*;
    use crate::api::ssr::reject;
    use confo::{ConfigurationName, NamespaceName};
    use serde_json::{Map, Value};

    pub fn namespace(name: &str) -> Result<NamespaceName, AppError> {
        NamespaceName::new(name.trim()).map_err(|reason| {
            reject(confo::Error::InvalidName {
                kind: "namespace",
                name: name.to_owned(),
                reason,
            })
        })
    }

    pub fn configuration(name: &str) -> Result<ConfigurationName, AppError> {
        ConfigurationName::new(name.trim()).map_err(|reason| {
            reject(confo::Error::InvalidName {
                kind: "configuration",
                name: name.to_owned(),
                reason,
            })
        })
    }

    pub fn action_words(action: confo::Action) -> &'static str {
        use confo::Action as A;
        match action {
            A::NamespaceCreate => "created the namespace",
            A::NamespaceDelete => "deleted the namespace",
            A::ConfigurationCreate => "created",
            A::ConfigurationReplace => "edited",
            A::ConfigurationDelete => "deleted",
            A::ConfigurationRegister => "registered",
            A::ConfigurationRevert => "reverted",
            A::FieldSet => "set a field",
            A::FieldRename => "renamed a field",
            A::FieldDelete => "deleted a field",
            _ => "changed",
        }
    }

    pub fn summary(entry: &confo::AuditEntry) -> ChangeSummary {
        let mut what = action_words(entry.action).to_owned();
        if let Some(field) = &entry.field {
            what = format!("{what} ({field})");
        }
        ChangeSummary {
            seq: entry.seq,
            who: entry.actor.name.clone(),
            when: crate::api::users::ssr::time_text(entry.time.timestamp()),
            what,
            comment: entry.comment.clone(),
        }
    }

    pub fn kind(value: &Value) -> &'static str {
        match value {
            Value::Null => "empty",
            Value::Bool(_) => "true/false",
            Value::Number(_) => "number",
            Value::String(_) => "text",
            Value::Array(_) => "list",
            Value::Object(_) => "object",
        }
    }

    /// The items and keys inside `value`, depth first, down to [`MAX_INNER_DEPTH`]; `None` when
    /// there are more than `at_most`.
    pub fn inner_rows(value: &Value, at_most: usize) -> Option<Vec<InnerRow>> {
        fn walk(
            value: &Value,
            path: &str,
            depth: usize,
            rows: &mut Vec<InnerRow>,
            at_most: usize,
        ) -> Option<()> {
            if depth > MAX_INNER_DEPTH {
                return Some(());
            }
            let children: Vec<(String, &Value)> = match value {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), v))
                    .collect(),
                Value::Object(keys) => keys.iter().map(|(k, v)| (k.clone(), v)).collect(),
                _ => return Some(()),
            };
            for (label, child) in children.into_iter().take(MAX_INNER_ITEMS) {
                if rows.len() == at_most {
                    return None;
                }
                let path = confo::nested::child(path, &label);
                rows.push(InnerRow {
                    place: confo::nested::describe(&path),
                    path: path.clone(),
                    depth,
                    label,
                    in_list: value.is_array(),
                    kind: kind(child).to_owned(),
                    json: serde_json::to_string(child).unwrap_or_default(),
                    last_change: None,
                });
                walk(child, &path, depth + 1, rows, at_most)?;
            }
            Some(())
        }
        let mut rows = Vec::new();
        walk(value, "", 1, &mut rows, at_most)?;
        Some(rows)
    }

    /// The fields the form view shows row by row, in order, while their rows (the field's own
    /// and those of its items and keys) number at most `max_rows`; and the fields after them.
    pub fn form_fields(
        fields: &Map<String, Value>,
        max_rows: usize,
    ) -> (Vec<FieldView>, Map<String, Value>) {
        let mut shown = Vec::new();
        let mut rows_left = max_rows;
        let mut entries = fields.iter();
        for (name, value) in entries.by_ref() {
            let inner = rows_left
                .checked_sub(1)
                .and_then(|left| inner_rows(value, left));
            let Some(inner) = inner else {
                let rest = std::iter::once((name, value))
                    .chain(entries)
                    .map(|(n, v)| (n.clone(), v.clone()))
                    .collect();
                return (shown, rest);
            };
            rows_left -= 1 + inner.len();
            shown.push(FieldView {
                name: name.clone(),
                kind: kind(value).to_owned(),
                json: serde_json::to_string(value).unwrap_or_default(),
                inner,
                last_change: None,
            });
        }
        (shown, Map::new())
    }

    pub fn readable(value: &Value) -> String {
        serde_json::to_string_pretty(value).unwrap_or_default()
    }

    pub fn diffs(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<FieldDiff> {
        confo::store::diff_fields(before, after)
            .into_iter()
            .map(|c| FieldDiff {
                field: c.field,
                before: c.before.as_ref().map(readable),
                after: c.after.as_ref().map(readable),
            })
            .collect()
    }

    /// Parses the editor's JSON: an object, or an error that says where it is wrong.
    pub fn parse_object(json: &str) -> Result<Map<String, Value>, AppError> {
        match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(fields)) => {
                for name in fields.keys() {
                    confo::store::check_field_name(name).map_err(reject)?;
                }
                Ok(fields)
            }
            Ok(other) => Err(reject(AppError::Invalid(format!(
                "A configuration must be an object ({{ ... }}) of named fields, not {}.",
                kind(&other)
            )))),
            Err(e) => Err(reject(AppError::Invalid(format!(
                "The JSON is not valid at line {}, column {}: {e}. Nothing was saved.",
                e.line(),
                e.column()
            )))),
        }
    }

    pub fn can_edit(user: &confo::users::User, namespace: &str) -> bool {
        user.role >= confo::users::Role::Editor && user.grants.covers(namespace)
    }

    pub async fn view(
        user: &confo::users::User,
        namespace: &NamespaceName,
        name: &ConfigurationName,
    ) -> Result<ConfigurationView, AppError> {
        let store = crate::api::ssr::store()?;
        let configuration = store
            .get_configuration(namespace, name)
            .await
            .map_err(reject)?;
        let latest = store
            .latest_versions(namespace, std::slice::from_ref(name))
            .await
            .map_err(reject)?
            .pop()
            .flatten();
        let (mut fields, rest) = form_fields(&configuration.fields, MAX_FORM_ROWS);
        // Who last changed each row, from the history's patches.
        let places: Vec<String> = fields
            .iter()
            .flat_map(|f| {
                let top = confo::edit::pointer(&[&f.name]);
                std::iter::once(top.clone())
                    .chain(f.inner.iter().map(move |row| format!("{top}{}", row.path)))
            })
            .collect();
        let mut changes = store
            .last_changes(namespace, name, &places)
            .await
            .map_err(reject)?
            .into_iter()
            .map(|v| v.map(|v| summary(&v.entry)));
        for field in &mut fields {
            field.last_change = changes.next().flatten();
            for row in &mut field.inner {
                row.last_change = changes.next().flatten();
            }
        }
        Ok(ConfigurationView {
            namespace: namespace.to_string(),
            name: name.to_string(),
            fields,
            more_fields: rest.len(),
            more_json: if rest.is_empty() {
                String::new()
            } else {
                readable(&Value::Object(rest))
            },
            json: readable(&Value::Object(configuration.fields)),
            revision: configuration.revision,
            seq: latest.as_ref().map_or(0, |v| v.seq),
            last_change: latest.as_ref().map(|v| summary(&v.entry)),
            can_edit: can_edit(user, namespace.as_str()),
        })
    }

    /// A value typed into the form view, read as the kind the user chose: "5" stays text
    /// unless they chose number.
    pub fn typed_value(kind: &str, text: &str) -> Result<Value, AppError> {
        let invalid = |message: String| reject(AppError::Invalid(message));
        match kind {
            "text" => Ok(Value::String(text.to_owned())),
            "number" => {
                // Kept as typed (`1.10` stays `1.10`, a 23-digit integer stays exact) when it
                // is a JSON number.
                match serde_json::from_str::<Value>(text.trim()) {
                    Ok(number @ Value::Number(_)) => Ok(number),
                    _ => Err(invalid(format!(
                        "{text:?} is not a number; type digits such as 42 or 3.5, or choose text."
                    ))),
                }
            }
            "true/false" | "bool" => match text.trim() {
                "true" | "on" | "yes" => Ok(Value::Bool(true)),
                "false" | "off" | "no" | "" => Ok(Value::Bool(false)),
                other => Err(invalid(format!("{other:?} is neither true nor false."))),
            },
            "empty" => Ok(Value::Null),
            // An empty list or object, to which items are then added one by one.
            "list" if text.trim().is_empty() => Ok(Value::Array(Vec::new())),
            "object" if text.trim().is_empty() => Ok(Value::Object(Map::new())),
            "list" | "object" | "json" => {
                let value: Value = serde_json::from_str(text).map_err(|e| {
                    invalid(format!(
                        "The value is not valid JSON at line {}, column {}: {e}.",
                        e.line(),
                        e.column()
                    ))
                })?;
                match (kind, &value) {
                    ("list", Value::Array(_)) | ("object", Value::Object(_)) | ("json", _) => {
                        Ok(value)
                    }
                    _ => Err(invalid(format!(
                        "That is {}, not a {kind}; write it as {}.",
                        kind_with_article(&value),
                        if kind == "list" {
                            "[1, 2, 3]"
                        } else {
                            "{\"name\": \"value\"}"
                        }
                    ))),
                }
            }
            other => Err(invalid(format!("{other:?} is not a kind of value."))),
        }
    }

    fn kind_with_article(value: &Value) -> String {
        match kind(value) {
            "empty" => "empty".into(),
            "object" => "an object".into(),
            other => format!("a {other}"),
        }
    }

    /// The edit of the one edit model that a change from the form view asks for, on `current`
    /// (an item is added to a list at its end, a key to an object only when it is new).
    pub fn field_edit(
        edit: &FieldEdit,
        current: &Map<String, Value>,
    ) -> Result<confo::edit::Edit, AppError> {
        use confo::edit::{Edit, pointer};
        let field = edit.field.trim();
        confo::store::check_field_name(field).map_err(reject)?;
        if !edit.path.is_empty() && !edit.path.starts_with('/') {
            return Err(reject(AppError::Invalid(format!(
                "{:?} is not a place inside a value.",
                edit.path
            ))));
        }
        let at = format!("{}{}", pointer(&[field]), edit.path);
        Ok(match edit.op.as_str() {
            "set" => Edit::Set {
                path: at,
                value: typed_value(&edit.kind, &edit.value)?,
            },
            "delete" => Edit::Remove { path: at },
            "rename" => Edit::Rename {
                path: at,
                to: edit.to.clone(),
            },
            "add" => {
                let value = typed_value(&edit.kind, &edit.value)?;
                match Value::Object(current.clone()).pointer(&at) {
                    Some(Value::Array(_)) => Edit::Insert {
                        path: format!("{at}/-"),
                        value,
                    },
                    Some(Value::Object(keys)) => {
                        let key = edit.to.trim();
                        if keys.contains_key(key) {
                            return Err(reject(AppError::AlreadyExists(format!(
                                "The key {key:?} already exists in {}.",
                                confo::nested::place(field, &edit.path)
                            ))));
                        }
                        Edit::Set {
                            path: format!("{at}{}", pointer(&[key])),
                            value,
                        }
                    }
                    Some(other) => {
                        return Err(reject(AppError::Invalid(format!(
                            "{} is {}, not a list or an object, so nothing can be added to it.",
                            confo::nested::place(field, &edit.path),
                            kind_with_article(other)
                        ))));
                    }
                    None => {
                        return Err(reject(AppError::NotFound(format!(
                            "{} is not there; it may have been changed meanwhile.",
                            confo::nested::place(field, &edit.path)
                        ))));
                    }
                }
            }
            other => {
                return Err(reject(AppError::Invalid(format!(
                    "{other:?} is not a change."
                ))));
            }
        })
    }

    /// What happened since version `seq` (what the person's edits were made against), and
    /// whether their edits re-apply on the latest version.
    pub async fn conflict(
        user: &confo::users::User,
        namespace: &NamespaceName,
        name: &ConfigurationName,
        seq: u64,
        edits: &[confo::edit::Edit],
    ) -> Result<ConflictView, AppError> {
        use confo::edit::{Rebased, preview, rebase};
        let store = crate::api::ssr::store()?;
        let base = if seq == 0 {
            Map::new()
        } else {
            store
                .configuration_at(namespace, name, seq)
                .await
                .map_err(reject)?
                .unwrap_or_default()
        };
        let latest = view(user, namespace, name).await?;
        let current = store
            .get_configuration(namespace, name)
            .await
            .map_err(reject)?
            .fields;
        let mine = preview(&base, edits).map_err(reject)?;
        let (overlap, merged) = match rebase(&base, &current, edits).map_err(reject)? {
            Rebased::Merged(merged) => (Vec::new(), Some(readable(&Value::Object(merged)))),
            Rebased::Overlap(places) => (places, None),
        };
        let others = store
            .history(namespace, name)
            .await
            .map_err(reject)?
            .into_iter()
            .filter(|v| v.seq > seq)
            .map(|v| summary(&v.entry))
            .collect();
        Ok(ConflictView {
            mine: diffs(&base, &mine),
            theirs: diffs(&base, &current),
            others,
            overlap,
            merged,
            latest,
        })
    }

    /// A conflict in words, for a page without JavaScript as much as with: who saved meanwhile,
    /// and each changed field's value as they left it and as this change would have it.
    pub fn conflict_text(conflict: &ConflictView) -> String {
        let who = conflict
            .others
            .iter()
            .map(|c| format!("{} {} ({})", c.who, c.what, c.when))
            .collect::<Vec<_>>()
            .join("; ");
        let show = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".to_owned());
        let theirs = conflict
            .theirs
            .iter()
            .map(|d| format!("{}: {} → {}", d.field, show(&d.before), show(&d.after)))
            .collect::<Vec<_>>()
            .join("; ");
        let mine = conflict
            .mine
            .iter()
            .map(|d| format!("{}: {} → {}", d.field, show(&d.before), show(&d.after)))
            .collect::<Vec<_>>()
            .join("; ");
        let who = if who.is_empty() {
            "Someone".to_owned()
        } else {
            who
        };
        format!(
            "Someone else saved this configuration while you were reviewing, so nothing of yours was saved. Saved meanwhile: {who}. Their change: {theirs}. Your change: {mine}. Review your change again on the latest version."
        )
    }

    /// The change made with `comment` by `user`.
    pub fn change_with(user: &confo::users::User, comment: &str) -> confo::Change {
        crate::api::ssr::change(user).with_comment(comment.trim())
    }

    pub fn path(namespace: &str, configuration: &str) -> String {
        format!("/ns/{namespace}/{configuration}")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn names(fields: &[FieldView]) -> Vec<&str> {
            fields.iter().map(|f| f.name.as_str()).collect()
        }

        #[test]
        fn the_form_view_stops_at_its_rows_and_keeps_the_rest() {
            let many: Map<String, Value> = (0..1_500)
                .map(|i| (format!("f{i:04}"), Value::from(i)))
                .collect();
            let (shown, rest) = form_fields(&many, MAX_FORM_ROWS);
            assert_eq!(shown.len(), 1_000);
            assert_eq!(rest.len(), 500);
            assert_eq!(shown.last().unwrap().name, "f0999");
            assert_eq!(rest.keys().next().unwrap(), "f1000");

            // A field counts its items and keys; the first that does not fit ends the rows, and
            // it and every field after it go to the rest, in order.
            let list = |n: usize| Value::Array((0..n).map(Value::from).collect());
            let fields: Map<String, Value> = [
                ("a", list(2)),
                ("b", Value::from(1)),
                ("c", list(5)),
                ("d", Value::from(2)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            let cases: [(usize, &[&str], &[&str]); 7] = [
                (0, &[], &["a", "b", "c", "d"]),
                (3, &["a"], &["b", "c", "d"]),
                (4, &["a", "b"], &["c", "d"]),
                (9, &["a", "b"], &["c", "d"]),
                (10, &["a", "b", "c"], &["d"]),
                (11, &["a", "b", "c", "d"], &[]),
                (1_000, &["a", "b", "c", "d"], &[]),
            ];
            for (max_rows, expected_shown, expected_rest) in cases {
                let (shown, rest) = form_fields(&fields, max_rows);
                assert_eq!(names(&shown), expected_shown, "{max_rows}");
                assert_eq!(rest.keys().collect::<Vec<_>>(), expected_rest, "{max_rows}");
                let rows: usize = shown.iter().map(|f| 1 + f.inner.len()).sum();
                assert!(rows <= max_rows, "{max_rows}: {rows} rows");
            }
        }

        #[test]
        fn inner_rows_give_up_past_their_bound() {
            let value: Value = serde_json::json!({"a": [1, 2], "b": {"c": 3}});
            assert_eq!(inner_rows(&value, 5).map(|r| r.len()), Some(5));
            assert_eq!(inner_rows(&value, 4), None);
            assert_eq!(inner_rows(&Value::from(1), 0).map(|r| r.len()), Some(0));
        }
    }
}

/// Every namespace the user may read, with its number of configurations and last change.
#[server(endpoint = "namespaces/overview", input = leptos::server_fn::codec::GetUrl)]
pub async fn namespaces_overview() -> Result<Vec<NamespaceSummary>, AppError> {
    use super::ssr::{reject, require_user, store};
    let user = require_user().await?;
    let store = store()?;
    let names: Vec<String> = store
        .list_namespaces()
        .await
        .map_err(reject)?
        .into_iter()
        .filter(|n| user.grants.covers(n))
        .collect();
    // Each namespace's listed and unlisted configurations (none for a name that breaks the rules).
    let parsed: Vec<Option<confo::NamespaceName>> = names
        .iter()
        .map(|n| confo::NamespaceName::new(n.as_str()).ok())
        .collect();
    let valid: Vec<confo::NamespaceName> = parsed.iter().flatten().cloned().collect();
    let mut found = store
        .list_configurations_of(&valid)
        .await
        .map_err(reject)?
        .into_iter();
    let listings: Vec<Option<confo::ConfigurationListing>> = parsed
        .iter()
        .map(|p| p.as_ref().and_then(|_| found.next().flatten()))
        .collect();
    let latest = store
        .latest_by_namespace(&names, 10_000)
        .await
        .map_err(reject)?;
    Ok(names
        .into_iter()
        .zip(listings)
        .zip(latest)
        .map(|((name, listing), last)| NamespaceSummary {
            configurations: listing.as_ref().map_or(0, |l| l.registered.len()),
            unregistered: listing.as_ref().map_or(0, |l| l.unregistered.len()),
            last_change: last.as_ref().map(ssr::summary),
            can_edit: ssr::can_edit(&user, &name),
            name,
        })
        .collect())
}

/// Deletes a namespace; `confirm` must repeat its name. One that still holds configurations is
/// refused unless `with_configurations` is "yes".
#[server(endpoint = "namespaces/delete")]
pub async fn delete_namespace(
    name: String,
    confirm: String,
    with_configurations: Option<String>,
) -> Result<(), AppError> {
    use super::ssr::{change, reject, require, store};
    let user = require(confo::users::Role::Admin, None).await?;
    let namespace = ssr::namespace(&name)?;
    if confirm.trim() != namespace.as_str() {
        return Err(reject(AppError::Invalid(format!(
            "To delete it, type the namespace's name, {namespace}, exactly."
        ))));
    }
    let cascade = with_configurations.as_deref() == Some("yes");
    store()?
        .delete_namespace(&namespace, cascade, &change(&user))
        .await
        .map_err(reject)?;
    leptos_axum::redirect("/");
    Ok(())
}

/// One page of a namespace's configurations whose names contain `filter`.
#[server(endpoint = "configurations/list", input = leptos::server_fn::codec::GetUrl)]
pub async fn namespace_page(
    namespace: String,
    filter: String,
    page: usize,
) -> Result<ConfigurationList, AppError> {
    use super::ssr::{reject, require, store};
    let user = require(confo::users::Role::Viewer, Some(&namespace)).await?;
    let ns = ssr::namespace(&namespace)?;
    let store = store()?;
    let listing = store.list_configurations(&ns).await.map_err(reject)?;
    let needle = filter.trim().to_lowercase();
    let matching: Vec<&String> = listing
        .registered
        .iter()
        .filter(|n| needle.is_empty() || n.to_lowercase().contains(&needle))
        .collect();
    let pages = matching.len().div_ceil(PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let shown: Vec<confo::ConfigurationName> = matching
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .filter_map(|n| confo::ConfigurationName::new(n.as_str()).ok())
        .collect();
    let latest = store.latest_versions(&ns, &shown).await.map_err(reject)?;
    Ok(ConfigurationList {
        rows: shown
            .iter()
            .zip(latest)
            .map(|(name, last)| ConfigurationRow {
                name: name.to_string(),
                last_change: last.as_ref().map(|v| ssr::summary(&v.entry)),
            })
            .collect(),
        matching: matching.len(),
        total: listing.registered.len(),
        page,
        pages,
        unregistered: listing.unregistered,
        can_edit: ssr::can_edit(&user, &namespace),
        namespace,
    })
}

/// Creates a configuration, empty or as a copy of `copy_from` in the same namespace.
#[server(endpoint = "configurations/create")]
pub async fn create_configuration(
    namespace: String,
    name: String,
    copy_from: Option<String>,
) -> Result<(), AppError> {
    use super::ssr::{change, reject, require, store};
    let user = require(confo::users::Role::Editor, Some(&namespace)).await?;
    let ns = ssr::namespace(&namespace)?;
    let configuration = ssr::configuration(&name)?;
    let store = store()?;
    let fields = match copy_from
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(source) => {
            let source = ssr::configuration(source)?;
            store
                .get_configuration(&ns, &source)
                .await
                .map_err(reject)?
                .fields
        }
        None => Default::default(),
    };
    store
        .create_configuration(&ns, &configuration, fields, &change(&user))
        .await
        .map_err(reject)?;
    super::redirect::redirect(&ssr::path(&namespace, configuration.as_str()));
    Ok(())
}

/// Deletes a configuration; `confirm` must repeat its name.
#[server(endpoint = "configurations/delete")]
pub async fn delete_configuration(
    namespace: String,
    name: String,
    confirm: String,
) -> Result<(), AppError> {
    use super::ssr::{change, reject, require, store};
    let user = require(confo::users::Role::Editor, Some(&namespace)).await?;
    let ns = ssr::namespace(&namespace)?;
    let configuration = ssr::configuration(&name)?;
    if confirm.trim() != configuration.as_str() {
        return Err(reject(AppError::Invalid(format!(
            "To delete it, type the configuration's name, {configuration}, exactly."
        ))));
    }
    store()?
        .delete_configuration(&ns, &configuration, None, &change(&user))
        .await
        .map_err(reject)?;
    super::redirect::redirect(&format!("/ns/{namespace}"));
    Ok(())
}

/// Lists the configurations stored under a namespace but missing from its list.
#[server(endpoint = "configurations/register")]
pub async fn register_configurations(namespace: String) -> Result<(), AppError> {
    use super::ssr::{change, reject, require, store};
    let user = require(confo::users::Role::Editor, Some(&namespace)).await?;
    let ns = ssr::namespace(&namespace)?;
    store()?
        .register_configurations(&ns, &change(&user))
        .await
        .map_err(reject)?;
    super::redirect::redirect(&format!("/ns/{namespace}"));
    Ok(())
}

/// A configuration, for the editor.
#[server(endpoint = "configurations/get", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_configuration(
    namespace: String,
    name: String,
) -> Result<ConfigurationView, AppError> {
    use super::ssr::require;
    let user = require(confo::users::Role::Viewer, Some(&namespace)).await?;
    ssr::view(
        &user,
        &ssr::namespace(&namespace)?,
        &ssr::configuration(&name)?,
    )
    .await
}

/// What saving `json` over the configuration as it is now would change. Changes nothing.
#[server(endpoint = "configurations/review")]
pub async fn review_configuration(
    namespace: String,
    name: String,
    json: String,
) -> Result<Review, AppError> {
    use super::ssr::{reject, require, store};
    require(confo::users::Role::Editor, Some(&namespace)).await?;
    let fields = ssr::parse_object(&json)?;
    let current = store()?
        .get_configuration(&ssr::namespace(&namespace)?, &ssr::configuration(&name)?)
        .await
        .map_err(reject)?;
    Ok(Review {
        changes: ssr::diffs(&current.fields, &fields),
        place: None,
        revision: current.revision,
    })
}

/// What one field change from the form view would change: `set` a field (new or not) to `value`
/// read as `kind`, `delete` it, or `rename` it to `to`. With `path` (a JSON Pointer inside the
/// field's value), the change is made there instead: `set`, `delete` or `rename` that list item
/// or object key, or `add` an item (or the key `to`) to the list or object there. Changes nothing:
/// it is the edit model's preview of what [`save_edit`] writes.
#[server(endpoint = "configurations/review-field", input = leptos::server_fn::codec::GetUrl)]
pub async fn review_field(
    namespace: String,
    name: String,
    edit: FieldEdit,
) -> Result<Review, AppError> {
    use super::ssr::{reject, require, store};
    require(confo::users::Role::Editor, Some(&namespace)).await?;
    let current = store()?
        .get_configuration(&ssr::namespace(&namespace)?, &ssr::configuration(&name)?)
        .await
        .map_err(reject)?;
    let change = ssr::field_edit(&edit, &current.fields)?;
    let after =
        confo::edit::preview(&current.fields, std::slice::from_ref(&change)).map_err(reject)?;
    Ok(Review {
        changes: ssr::diffs(&current.fields, &after),
        place: (!edit.path.is_empty() || edit.op == "add")
            .then(|| confo::nested::place(edit.field.trim(), &edit.path)),
        revision: current.revision,
    })
}

/// Saves one change from the form view (also without JavaScript): the edit itself, as
/// [`review_field`] showed it, applied to the configuration if it is still at `revision`. When
/// it is not, nothing is written and the conflict says who saved meanwhile and both values
/// (`seq`: the version the change was made against).
#[server(endpoint = "configurations/edit")]
pub async fn save_edit(
    namespace: String,
    name: String,
    revision: i64,
    seq: u64,
    edit: FieldEdit,
    comment: String,
) -> Result<Saved, AppError> {
    use super::ssr::{reject, require, store};
    let user = require(confo::users::Role::Editor, Some(&namespace)).await?;
    let (ns, configuration) = (ssr::namespace(&namespace)?, ssr::configuration(&name)?);
    let store = store()?;
    let current = store
        .get_configuration(&ns, &configuration)
        .await
        .map_err(reject)?;
    let change = ssr::field_edit(&edit, &current.fields)?;
    let edits = vec![change];
    match store
        .apply_edits(
            &ns,
            &configuration,
            edits.clone(),
            Some(revision),
            &ssr::change_with(&user, &comment),
        )
        .await
    {
        Ok(written) => {
            super::redirect::redirect(&ssr::path(&namespace, &name));
            Ok(Saved {
                revision: written.revision,
                seq: written.seq,
            })
        }
        Err(confo::Error::Conflict { .. }) => {
            let conflict = ssr::conflict(&user, &ns, &configuration, seq, &edits).await?;
            Err(reject(AppError::Conflict(ssr::conflict_text(&conflict))))
        }
        Err(other) => Err(reject(other)),
    }
}

/// Saves `json` as the configuration's fields, if it is still at `revision`; otherwise nothing
/// is written and the answer is a conflict. Answers the revision and version it wrote, so that
/// the page knows its own change when it arrives as a live update.
#[server(endpoint = "configurations/save")]
pub async fn save_configuration(
    namespace: String,
    name: String,
    revision: i64,
    json: String,
    comment: String,
) -> Result<Saved, AppError> {
    use super::ssr::{reject, require, store};
    let user = require(confo::users::Role::Editor, Some(&namespace)).await?;
    let fields = ssr::parse_object(&json)?;
    let written = store()?
        .replace_configuration(
            &ssr::namespace(&namespace)?,
            &ssr::configuration(&name)?,
            fields,
            Some(revision),
            &ssr::change_with(&user, &comment),
        )
        .await
        .map_err(reject)?;
    super::redirect::redirect(&ssr::path(&namespace, &name));
    Ok(Saved {
        revision: written.revision,
        seq: written.seq,
    })
}

/// What happened since the editor loaded version `seq`: their changes, the others', and, when
/// they touched different places, their changes applied to the latest version.
#[server(endpoint = "configurations/conflict")]
pub async fn configuration_conflict(
    namespace: String,
    name: String,
    seq: u64,
    json: String,
) -> Result<ConflictView, AppError> {
    use super::ssr::require;
    let user = require(confo::users::Role::Editor, Some(&namespace)).await?;
    let (ns, configuration) = (ssr::namespace(&namespace)?, ssr::configuration(&name)?);
    let fields = ssr::parse_object(&json)?;
    ssr::conflict(
        &user,
        &ns,
        &configuration,
        seq,
        &[confo::edit::Edit::Replace { fields }],
    )
    .await
}

/// Every version of a configuration, newest first.
#[server(endpoint = "configurations/history", input = leptos::server_fn::codec::GetUrl)]
pub async fn configuration_history(
    namespace: String,
    name: String,
) -> Result<HistoryView, AppError> {
    use super::ssr::{reject, require, store};
    let user = require(confo::users::Role::Viewer, Some(&namespace)).await?;
    let (ns, configuration) = (ssr::namespace(&namespace)?, ssr::configuration(&name)?);
    let store = store()?;
    let versions = store
        .history(&ns, &configuration)
        .await
        .map_err(reject)?
        .iter()
        .map(|v| ssr::summary(&v.entry))
        .collect();
    let revision = store
        .get_configuration(&ns, &configuration)
        .await
        .map(|c| c.revision)
        .unwrap_or(0);
    Ok(HistoryView {
        can_edit: ssr::can_edit(&user, &namespace),
        namespace,
        name,
        versions,
        revision,
    })
}

/// How version `to` differs from version `from` (0: before the first; absent: the version just
/// before `to`, which is what one change did).
#[server(endpoint = "configurations/diff", input = leptos::server_fn::codec::GetUrl)]
pub async fn version_diff(
    namespace: String,
    name: String,
    from: Option<u64>,
    to: u64,
) -> Result<Comparison, AppError> {
    use super::ssr::{reject, require, store};
    require(confo::users::Role::Viewer, Some(&namespace)).await?;
    let (ns, configuration) = (ssr::namespace(&namespace)?, ssr::configuration(&name)?);
    let store = store()?;
    let from = match from {
        Some(from) => from,
        None => store
            .previous_version(&ns, &configuration, to)
            .await
            .map_err(reject)?,
    };
    let at = |seq: u64| {
        let (store, ns, configuration) = (store.clone(), ns.clone(), configuration.clone());
        async move {
            if seq == 0 {
                return Ok(Default::default());
            }
            store
                .configuration_at(&ns, &configuration, seq)
                .await
                .map(Option::unwrap_or_default)
                .map_err(reject)
        }
    };
    Ok(Comparison {
        from,
        to,
        changes: ssr::diffs(&at(from).await?, &at(to).await?),
    })
}

/// The configuration as it was right after version `seq`, as JSON ("" if it did not exist).
#[server(endpoint = "configurations/at", input = leptos::server_fn::codec::GetUrl)]
pub async fn configuration_at(
    namespace: String,
    name: String,
    seq: u64,
) -> Result<String, AppError> {
    use super::ssr::{reject, require, store};
    require(confo::users::Role::Viewer, Some(&namespace)).await?;
    let fields = store()?
        .configuration_at(
            &ssr::namespace(&namespace)?,
            &ssr::configuration(&name)?,
            seq,
        )
        .await
        .map_err(reject)?;
    Ok(fields.map_or_else(String::new, |f| {
        ssr::readable(&serde_json::Value::Object(f))
    }))
}

/// Makes the configuration's fields what they were right after version `seq`; `confirm` must
/// be "yes". Recorded as a change of its own.
#[server(endpoint = "configurations/revert")]
pub async fn revert_configuration(
    namespace: String,
    name: String,
    seq: u64,
    revision: i64,
    comment: String,
) -> Result<(), AppError> {
    use super::ssr::{reject, require, store};
    let user = require(confo::users::Role::Editor, Some(&namespace)).await?;
    store()?
        .revert(
            &ssr::namespace(&namespace)?,
            &ssr::configuration(&name)?,
            seq,
            Some(revision),
            &ssr::change_with(&user, &comment),
        )
        .await
        .map_err(reject)?;
    super::redirect::redirect(&format!("{}/history", ssr::path(&namespace, &name)));
    Ok(())
}
