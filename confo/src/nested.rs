//! Changes inside one field's value: an item of a list or a key of an object, addressed by a
//! JSON Pointer (RFC 6901) relative to the field, such as `/servers/0/port`. The dashboard's form
//! view makes these for people who do not write JSON; the result is saved as the field's new
//! value, compared on the configuration's revision like any other change.

use json_patch::jsonptr::{Pointer, PointerBuf};
use serde_json::Value;

use crate::{Error, Result};

/// One change at a place inside a field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Replace the value there.
    Set(Value),
    /// Remove it from its list or object.
    Remove,
    /// Give the object key there another name.
    Rename(String),
    /// Put a new item at the end of the list there, or a new key into the object there
    /// (`key` is required for an object, ignored for a list).
    Add { key: Option<String>, value: Value },
}

/// The pointer to `key` (an object key or a list index) inside the value at `path`.
pub fn child(path: &str, key: &str) -> String {
    let mut pointer = Pointer::parse(path).map_or_else(|_| PointerBuf::new(), Pointer::to_buf);
    pointer.push_back(key);
    pointer.to_string()
}

/// `path` in words, such as `servers › 0 › port` (`the value` for the whole field).
pub fn describe(path: &str) -> String {
    match Pointer::parse(path) {
        Ok(pointer) if !pointer.is_root() => pointer
            .tokens()
            .map(|t| t.decoded().into_owned())
            .collect::<Vec<_>>()
            .join(" › "),
        _ => "the value".to_owned(),
    }
}

/// `path` inside the field called `field`, in words: `servers › 0 › port`, or just `servers`.
pub fn place(field: &str, path: &str) -> String {
    match describe(path).as_str() {
        "the value" => field.to_owned(),
        inside => format!("{field} › {inside}"),
    }
}

/// Applies `edit` at `path` inside `value`, the value of the field called `field` (named in
/// messages). On error `value` is unchanged and the message says what is wrong in words.
pub fn apply(field: &str, value: &mut Value, path: &str, edit: Edit) -> Result<()> {
    let describe = |path: &str| place(field, path);
    let invalid = |message: String| Err(Error::InvalidValue(message));
    let pointer = match Pointer::parse(path) {
        Ok(pointer) => pointer,
        Err(e) => return invalid(format!("{path:?} is not a place inside a value: {e}.")),
    };
    let gone = || {
        Error::NotFound(format!(
            "{} (it may have been changed meanwhile)",
            describe(path)
        ))
    };
    match edit {
        Edit::Set(new) => {
            *value.pointer_mut(pointer.as_str()).ok_or_else(gone)? = new;
            Ok(())
        }
        Edit::Add { key, value: new } => {
            match value.pointer_mut(pointer.as_str()).ok_or_else(gone)? {
                Value::Array(items) => {
                    items.push(new);
                    Ok(())
                }
                Value::Object(keys) => {
                    let key = key.map(|k| k.trim().to_owned()).unwrap_or_default();
                    check_key(&key)?;
                    if keys.contains_key(&key) {
                        return Err(Error::AlreadyExists(format!(
                            "the key {key:?} in {}",
                            describe(path)
                        )));
                    }
                    keys.insert(key, new);
                    Ok(())
                }
                other => invalid(format!(
                    "{} is {}, not a list or an object, so nothing can be added to it.",
                    describe(path),
                    crate::store::kind_of(other)
                )),
            }
        }
        Edit::Remove | Edit::Rename(_) => {
            let Some((parent, last)) = pointer.split_back() else {
                return invalid(
                    "Remove or rename the field itself, not a place inside its value.".to_owned(),
                );
            };
            let key = last.decoded().into_owned();
            match (value.pointer_mut(parent.as_str()).ok_or_else(gone)?, edit) {
                (Value::Array(items), Edit::Remove) => {
                    let index = key
                        .parse::<usize>()
                        .ok()
                        .filter(|i| *i < items.len())
                        .ok_or_else(gone)?;
                    items.remove(index);
                    Ok(())
                }
                (Value::Array(_), _) => invalid(format!(
                    "{} is an item of a list; list items are numbered, not named.",
                    describe(path)
                )),
                (Value::Object(keys), Edit::Remove) => {
                    keys.shift_remove(&key).map(drop).ok_or_else(gone)
                }
                (Value::Object(keys), Edit::Rename(to)) => {
                    let to = to.trim().to_owned();
                    check_key(&to)?;
                    if to == key {
                        return Ok(());
                    }
                    if keys.contains_key(&to) {
                        return Err(Error::AlreadyExists(format!(
                            "the key {to:?} in {}",
                            describe(parent.as_str())
                        )));
                    }
                    // The key keeps its place among the others.
                    let index = keys.keys().position(|k| *k == key).ok_or_else(gone)?;
                    let moved = keys.shift_remove(&key).ok_or_else(gone)?;
                    keys.shift_insert(index, to, moved);
                    Ok(())
                }
                _ => Err(gone()),
            }
        }
    }
}

/// A key inside an object follows the rules of a field name.
fn check_key(key: &str) -> Result<()> {
    crate::store::check_field_name(key).map_err(|e| match e {
        Error::InvalidValue(m) => Error::InvalidValue(m.replacen("field name", "key", 1)),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn applied(mut value: Value, path: &str, edit: Edit) -> Result<Value> {
        apply("f", &mut value, path, edit).map(|()| value)
    }

    #[test]
    fn sets_removes_renames_and_adds_at_any_depth() {
        let value = json!({"servers": [{"host": "a", "port": 1}], "tags": ["x"]});
        assert_eq!(
            applied(value.clone(), "/servers/0/port", Edit::Set(json!(2))).unwrap(),
            json!({"servers": [{"host": "a", "port": 2}], "tags": ["x"]})
        );
        assert_eq!(
            applied(value.clone(), "/tags/0", Edit::Remove).unwrap(),
            json!({"servers": [{"host": "a", "port": 1}], "tags": []})
        );
        assert_eq!(
            applied(
                value.clone(),
                "/servers/0/host",
                Edit::Rename("name".into())
            )
            .unwrap(),
            json!({"servers": [{"name": "a", "port": 1}], "tags": ["x"]})
        );
        let added = applied(
            value.clone(),
            "/tags",
            Edit::Add {
                key: None,
                value: json!("y"),
            },
        )
        .unwrap();
        assert_eq!(added["tags"], json!(["x", "y"]));
        let added = applied(
            value,
            "/servers/0",
            Edit::Add {
                key: Some(" tls ".into()),
                value: json!(true),
            },
        )
        .unwrap();
        assert_eq!(added["servers"][0]["tls"], json!(true));
    }

    #[test]
    fn keys_with_slashes_and_tildes_are_addressed_exactly() {
        let path = child(&child("", "a/b"), "c~d");
        assert_eq!(path, "/a~1b/c~0d");
        assert_eq!(describe(&path), "a/b › c~d");
        assert_eq!(place("f", &path), "f › a/b › c~d");
        assert_eq!(place("f", ""), "f");
        let value = json!({"a/b": {"c~d": 1}});
        assert_eq!(
            applied(value, &path, Edit::Set(json!(2))).unwrap(),
            json!({"a/b": {"c~d": 2}})
        );
    }

    #[test]
    fn refusals_say_why_and_change_nothing() {
        let value = json!({"list": [1], "map": {"a": 1, "b": 2}, "n": 5});
        let mut copy = value.clone();
        let cases = [
            (
                "/list/3",
                Edit::Remove,
                "f › list › 3 (it may have been changed meanwhile)",
            ),
            (
                "/list/0",
                Edit::Rename("x".into()),
                "list items are numbered",
            ),
            (
                "/map/a",
                Edit::Rename("b".into()),
                "the key \"b\" in f › map",
            ),
            (
                "/map",
                Edit::Add {
                    key: Some(String::new()),
                    value: json!(1),
                },
                "it is empty",
            ),
            (
                "/n",
                Edit::Add {
                    key: None,
                    value: json!(1),
                },
                "not a list or an object",
            ),
            ("/missing/x", Edit::Set(json!(1)), "f › missing › x"),
            ("", Edit::Remove, "the field itself"),
            ("no-slash", Edit::Remove, "is not a place"),
        ];
        for (path, edit, expected) in cases {
            let error = apply("f", &mut copy, path, edit).unwrap_err().to_string();
            assert!(error.contains(expected), "{path}: {error}");
            assert_eq!(copy, value, "{path} changed the value");
        }
    }
}
