//! The one edit model: every way of changing a configuration's fields is a list of [`Edit`]s,
//! each at a JSON Pointer (RFC 6901) from the configuration's top, such as `/limit` (the field
//! `limit`) or `/servers/0/port` (inside the field `servers`).
//!
//! [`preview`] is pure: the dashboard's review step shows what it answers, and
//! [`crate::Store::apply_edits`] writes exactly the same, compared on the revision the edits were
//! made against. What an edit does not touch is kept as stored, in the same place: a key set
//! again keeps its position, a renamed key too, and removing one shifts the others up without
//! reordering them.
//!
//! When the configuration changed since, [`rebase`] re-applies the edits on the latest version if
//! the places they touch are disjoint from those the other change touched. Adding or removing a
//! list item shifts every later item, so when either side did that, any edit inside that list
//! conflicts with it.

use json_patch::jsonptr::{Pointer, PointerBuf};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::store::check_field_name;

/// One change to a configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Edit {
    /// Sets the value at `path`: replaces what is there, or adds the key to its object (at the
    /// end). A field (`/name`) is added when missing.
    Set { path: String, value: Value },
    /// Removes the key or list item at `path`.
    Remove { path: String },
    /// Gives the key at `path` the name `to`, keeping its value and its place.
    Rename { path: String, to: String },
    /// Inserts `value` into a list before the item at `path` (`/list/2`), or at its end
    /// (`/list/-`).
    Insert { path: String, value: Value },
    /// Replaces every field (the JSON view, a revert, the client library's `persist`).
    Replace { fields: Map<String, Value> },
}

impl Edit {
    /// The field this edit is inside, when it is inside one field only.
    pub fn field(&self) -> Option<String> {
        match self {
            Edit::Replace { .. } => None,
            Edit::Set { path, .. }
            | Edit::Remove { path }
            | Edit::Rename { path, .. }
            | Edit::Insert { path, .. } => tokens(path).ok()?.into_iter().next(),
        }
    }

    /// The place in words, such as `servers › 0 › port`, for messages.
    pub fn place(&self) -> String {
        match self {
            Edit::Replace { .. } => "the whole configuration".to_owned(),
            Edit::Set { path, .. }
            | Edit::Remove { path }
            | Edit::Rename { path, .. }
            | Edit::Insert { path, .. } => words(&tokens(path).unwrap_or_default()),
        }
    }
}

/// The pointer to `tokens`, such as `/servers/0`.
pub fn pointer(tokens: &[impl AsRef<str>]) -> String {
    let mut buf = PointerBuf::new();
    for token in tokens {
        buf.push_back(token.as_ref());
    }
    buf.to_string()
}

/// A place in words: `servers › 0 › port`.
pub fn words(tokens: &[String]) -> String {
    tokens.join(" › ")
}

/// The tokens of a place (`/servers/0` → `servers`, `0`), or why it is no place.
pub fn tokens(path: &str) -> Result<Vec<String>> {
    let pointer = Pointer::parse(path).map_err(|e| {
        Error::InvalidValue(format!("{path:?} is not a place in a configuration: {e}."))
    })?;
    Ok(pointer.tokens().map(|t| t.decoded().into_owned()).collect())
}

/// Checks what can be checked of `edits` without the configuration: places that parse and name
/// a field, and names that keep the field name rules.
pub fn check(edits: &[Edit]) -> Result<()> {
    for edit in edits {
        match edit {
            Edit::Replace { fields } => {
                for name in fields.keys() {
                    check_field_name(name)?;
                }
            }
            Edit::Set { path, .. }
            | Edit::Remove { path }
            | Edit::Rename { path, .. }
            | Edit::Insert { path, .. } => {
                let tokens = tokens(path)?;
                if tokens.is_empty() {
                    return Err(Error::InvalidValue(
                        "An edit names a field, or a place inside one; it named none.".to_owned(),
                    ));
                }
                if let Edit::Set { .. } = edit
                    && tokens.len() == 1
                {
                    check_field_name(&tokens[0])?;
                }
                if let Edit::Rename { to, .. } = edit {
                    check_name(to.trim(), tokens.len() == 1)?;
                }
            }
        }
    }
    Ok(())
}

/// The fields after `edits`, in order; `fields` itself is not changed. An edit that cannot be
/// applied (a place that is not there, a name already taken) is an error naming its place.
pub fn preview(fields: &Map<String, Value>, edits: &[Edit]) -> Result<Map<String, Value>> {
    let mut after = fields.clone();
    for edit in edits {
        apply(&mut after, edit)?;
    }
    Ok(after)
}

/// Applies one edit to `fields`.
pub fn apply(fields: &mut Map<String, Value>, edit: &Edit) -> Result<()> {
    apply_with(fields, edit, true)
}

/// [`apply`], checking new names against the field name rules when `checked` (a recorded change
/// is replayed as it was made, whatever names another tool used).
fn apply_with(fields: &mut Map<String, Value>, edit: &Edit, checked: bool) -> Result<()> {
    let path = match edit {
        Edit::Replace { fields: new } => {
            for name in new.keys() {
                check_field_name(name)?;
            }
            *fields = new.clone();
            return Ok(());
        }
        Edit::Set { path, .. }
        | Edit::Remove { path }
        | Edit::Rename { path, .. }
        | Edit::Insert { path, .. } => tokens(path)?,
    };
    let Some((last, parents)) = path.split_last() else {
        return Err(Error::InvalidValue(
            "An edit names a field, or a place inside one; it named none.".to_owned(),
        ));
    };
    let Some((field, inside)) = parents.split_first() else {
        return in_object(fields, last, edit, &path, checked);
    };
    let mut holder = fields.get_mut(field).ok_or_else(|| gone(&path))?;
    for token in inside {
        holder = match holder {
            Value::Object(keys) => keys.get_mut(token),
            Value::Array(items) => index(token).and_then(|i| items.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| gone(&path))?;
    }
    match holder {
        Value::Object(keys) => in_object(keys, last, edit, &path, checked),
        Value::Array(items) => in_list(items, last, edit, &path),
        other => Err(Error::InvalidValue(format!(
            "{} is {}, which holds no {}.",
            words(parents),
            crate::store::kind_of(other),
            if matches!(edit, Edit::Insert { .. }) {
                "items"
            } else {
                "keys"
            }
        ))),
    }
}

/// A list index as RFC 6901 writes it: `0`, or digits without a leading zero (no sign), so that
/// one item has one spelling and places compare as text.
fn index(token: &str) -> Option<usize> {
    let canonical = token == "0"
        || (token.starts_with(|c: char| ('1'..='9').contains(&c))
            && token.chars().all(|c| c.is_ascii_digit()));
    canonical.then(|| token.parse().ok()).flatten()
}

/// The value at `tokens` inside `fields` (`None` for the top, or a place that is not there).
pub fn find<'a>(fields: &'a Map<String, Value>, tokens: &[String]) -> Option<&'a Value> {
    let (first, rest) = tokens.split_first()?;
    let mut value = fields.get(first)?;
    for token in rest {
        value = match value {
            Value::Object(keys) => keys.get(token)?,
            Value::Array(items) => items.get(index(token)?)?,
            _ => return None,
        };
    }
    Some(value)
}

fn gone(path: &[String]) -> Error {
    Error::NotFound(format!(
        "{} (it may have been changed meanwhile)",
        words(path)
    ))
}

/// An edit of the key `last` of `keys`, the fields themselves when `path` has one token.
fn in_object(
    keys: &mut Map<String, Value>,
    last: &str,
    edit: &Edit,
    path: &[String],
    checked: bool,
) -> Result<()> {
    let field = path.len() == 1;
    let check_name = |name: &str, field: bool| {
        if checked {
            check_name(name, field)
        } else {
            Ok(())
        }
    };
    match edit {
        Edit::Set { value, .. } => {
            check_name(last, field)?;
            // An existing key keeps its place; a new one goes at the end.
            keys.insert(last.to_owned(), value.clone());
            Ok(())
        }
        Edit::Remove { .. } => keys.shift_remove(last).map(drop).ok_or_else(|| gone(path)),
        Edit::Rename { to, .. } => {
            let to = to.trim();
            check_name(to, field)?;
            let index = keys
                .keys()
                .position(|k| k == last)
                .ok_or_else(|| gone(path))?;
            if to == last {
                return Ok(());
            }
            if keys.contains_key(to) {
                // Named as a thing: the message says "... already exists."
                return Err(Error::AlreadyExists(if field {
                    format!("field {to:?}")
                } else {
                    format!("the key {to:?} in {}", words(&path[..path.len() - 1]))
                }));
            }
            let value = keys.shift_remove(last).ok_or_else(|| gone(path))?;
            keys.shift_insert(index, to.to_owned(), value);
            Ok(())
        }
        Edit::Insert { .. } => Err(Error::InvalidValue(format!(
            "{} is not a list: items are inserted into lists only.",
            if field {
                "A configuration".to_owned()
            } else {
                words(&path[..path.len() - 1])
            }
        ))),
        Edit::Replace { .. } => unreachable!("a replace has no place"),
    }
}

/// An edit of the item `last` (its index) of `items`.
fn in_list(items: &mut Vec<Value>, last: &str, edit: &Edit, path: &[String]) -> Result<()> {
    let index = if last == "-" && matches!(edit, Edit::Insert { .. }) {
        Some(items.len())
    } else {
        index(last)
    };
    let existing = index.filter(|i| *i < items.len()).ok_or_else(|| gone(path));
    match edit {
        Edit::Set { value, .. } => {
            items[existing?] = value.clone();
            Ok(())
        }
        Edit::Remove { .. } => {
            items.remove(existing?);
            Ok(())
        }
        Edit::Insert { value, .. } => {
            let i = index
                .filter(|i| *i <= items.len())
                .ok_or_else(|| gone(path))?;
            items.insert(i, value.clone());
            Ok(())
        }
        Edit::Rename { .. } => Err(Error::InvalidValue(format!(
            "{} is an item of a list; list items are numbered, not named.",
            words(path)
        ))),
        Edit::Replace { .. } => unreachable!("a replace has no place"),
    }
}

/// Applies a recorded JSON Patch (an audit entry's `patch` or `unpatch`) to a configuration's
/// whole value, with this module's rules: a key removed shifts the others up and an added key
/// goes at the end, so that keys the patch does not name keep their order (a plain JSON Patch
/// implementation may move the last key into a removed one's place).
pub fn apply_patch(value: &mut Value, patch: &json_patch::Patch) -> Result<()> {
    use json_patch::PatchOperation as Op;
    for op in patch.iter() {
        let (path, edit) = match op {
            Op::Add(o) => (o.path.to_string(), Some(o.value.clone())),
            Op::Replace(o) => (o.path.to_string(), Some(o.value.clone())),
            Op::Remove(o) => (o.path.to_string(), None),
            // Never recorded by Confo; applied as the standard says.
            Op::Move(_) | Op::Copy(_) | Op::Test(_) => {
                json_patch::patch(value, &json_patch::Patch(vec![op.clone()])).map_err(|e| {
                    Error::InvalidValue(format!("a recorded change does not apply: {e}"))
                })?;
                continue;
            }
        };
        if path.is_empty() {
            *value = edit.unwrap_or(Value::Null);
            continue;
        }
        let Value::Object(fields) = value else {
            return Err(Error::InvalidValue(
                "a recorded change names a place inside a value that is not an object".to_owned(),
            ));
        };
        let tokens = tokens(&path)?;
        let parent = &tokens[..tokens.len() - 1];
        let in_list = find(fields, parent).is_some_and(Value::is_array);
        let edit = match (op, edit) {
            (Op::Add(_), Some(value)) if in_list => Edit::Insert { path, value },
            (_, Some(value)) => Edit::Set { path, value },
            (_, None) => Edit::Remove { path },
        };
        apply_with(fields, &edit, false)?;
    }
    Ok(())
}

/// A field name, or a key inside a value, follows the field name rules.
fn check_name(name: &str, field: bool) -> Result<()> {
    check_field_name(name).map_err(|e| match e {
        Error::InvalidValue(m) if !field => Error::InvalidValue(m.replacen("field name", "key", 1)),
        other => other,
    })
}

/// The edits that turn `before` into `after`, each at the deepest place that differs; lists whose
/// length differs are set as a whole. Applying them to `before` gives `after` exactly.
pub fn edits_between(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<Edit> {
    let mut edits = Vec::new();
    for (name, old) in before {
        match after.get(name) {
            None => edits.push(Edit::Remove {
                path: pointer(&[name]),
            }),
            Some(new) => differences(&mut vec![name.clone()], old, new, &mut edits),
        }
    }
    for (name, new) in after {
        if !before.contains_key(name) {
            edits.push(Edit::Set {
                path: pointer(&[name]),
                value: new.clone(),
            });
        }
    }
    if !reachable_order(before, after) {
        return vec![Edit::Replace {
            fields: after.clone(),
        }];
    }
    edits
}

/// Whether removing keys from `before` and adding keys at the end gives `after`'s order: the
/// keys both have in the same order, then the new ones.
fn reachable_order(before: &Map<String, Value>, after: &Map<String, Value>) -> bool {
    let kept = before.keys().filter(|k| after.contains_key(*k));
    let added = after.keys().filter(|k| !before.contains_key(*k));
    kept.chain(added).eq(after.keys())
}

/// The same fields in the same order, with the same values (a map's `==` ignores order).
pub fn identical_fields(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((k, x), (l, y))| k == l && identical(x, y))
}

/// Equal, and in the same order (a map's `==` does not look at its order).
fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((k, x), (l, y))| k == l && identical(x, y))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| identical(x, y))
        }
        _ => a == b,
    }
}

fn differences(at: &mut Vec<String>, old: &Value, new: &Value, edits: &mut Vec<Edit>) {
    if identical(old, new) {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) if reachable_order(a, b) => {
            for (key, value) in a {
                at.push(key.clone());
                match b.get(key) {
                    None => edits.push(Edit::Remove { path: pointer(at) }),
                    Some(other) => differences(at, value, other, edits),
                }
                at.pop();
            }
            for (key, value) in b {
                if !a.contains_key(key) {
                    at.push(key.clone());
                    edits.push(Edit::Set {
                        path: pointer(at),
                        value: value.clone(),
                    });
                    at.pop();
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                at.push(i.to_string());
                differences(at, x, y, edits);
                at.pop();
            }
        }
        _ => edits.push(Edit::Set {
            path: pointer(at),
            value: new.clone(),
        }),
    }
}

/// The places `edits`, made on `base`, touch: each a list of tokens. Adding or removing a list
/// item touches its whole list.
fn touched(base: &Map<String, Value>, edits: &[Edit]) -> Vec<Vec<String>> {
    let mut places = Vec::new();
    let mut state = base.clone();
    for edit in edits {
        match edit {
            Edit::Replace { fields } => {
                let finer = edits_between(&state, fields);
                if finer.iter().any(|e| matches!(e, Edit::Replace { .. })) {
                    // The order of the fields changed: the whole configuration is touched.
                    places.push(Vec::new());
                } else {
                    places.extend(touched(&state, &finer));
                }
            }
            Edit::Set { path, .. }
            | Edit::Remove { path }
            | Edit::Rename { path, .. }
            | Edit::Insert { path, .. } => {
                let Ok(mut tokens) = tokens(path) else {
                    continue;
                };
                let parent = &tokens[..tokens.len().saturating_sub(1)];
                let in_list = find(&state, parent).is_some_and(Value::is_array);
                match edit {
                    Edit::Insert { .. } => {
                        tokens.pop();
                    }
                    Edit::Remove { .. } if in_list => {
                        tokens.pop();
                    }
                    Edit::Rename { to, .. } => {
                        let mut renamed = tokens.clone();
                        renamed.pop();
                        renamed.push(to.trim().to_owned());
                        places.push(renamed);
                    }
                    _ => {}
                }
                places.push(tokens);
            }
        }
        let _ = apply(&mut state, edit);
    }
    places
}

/// The places where `current` differs from `base`, as [`touched`] counts them: a list whose
/// length changed is touched as a whole.
fn changed(base: &Map<String, Value>, current: &Map<String, Value>) -> Vec<Vec<String>> {
    let edits = edits_between(base, current);
    if edits.iter().any(|e| matches!(e, Edit::Replace { .. })) {
        return vec![Vec::new()];
    }
    edits
        .iter()
        .filter_map(|e| match e {
            Edit::Set { path, .. } | Edit::Remove { path } => tokens(path).ok(),
            _ => None,
        })
        .collect()
}

/// Whether one place contains the other (or they are the same).
pub fn overlaps(a: &[String], b: &[String]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// What re-applying edits on a newer version gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Rebased {
    /// The fields with the edits applied on the newer version.
    Merged(Map<String, Value>),
    /// Both changed these places (in words): the edits are not re-applied.
    Overlap(Vec<String>),
}

/// Re-applies `edits`, made on `base`, on `current` (what is stored now): see the module
/// documentation for when they conflict.
pub fn rebase(
    base: &Map<String, Value>,
    current: &Map<String, Value>,
    edits: &[Edit],
) -> Result<Rebased> {
    let mine = touched(base, edits);
    let theirs = changed(base, current);
    let mut overlap: Vec<String> = Vec::new();
    for place in &mine {
        if theirs.iter().any(|other| overlaps(place, other)) {
            let text = if place.is_empty() {
                "the whole configuration".to_owned()
            } else {
                words(place)
            };
            if !overlap.contains(&text) {
                overlap.push(text);
            }
        }
    }
    if !overlap.is_empty() {
        return Ok(Rebased::Overlap(overlap));
    }
    // A whole-value replace is re-applied as the finer edits it makes.
    let mut finer = Vec::new();
    let mut state = base.clone();
    for edit in edits {
        match edit {
            Edit::Replace { fields } => finer.extend(edits_between(&state, fields)),
            other => finer.push(other.clone()),
        }
        apply(&mut state, edit)?;
    }
    preview(current, &finer).map(Rebased::Merged)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(fields) => fields,
            other => panic!("not an object: {other}"),
        }
    }

    fn text(fields: &Map<String, Value>) -> String {
        serde_json::to_string(fields).unwrap()
    }

    fn set(path: &str, value: Value) -> Edit {
        Edit::Set {
            path: path.into(),
            value,
        }
    }

    #[test]
    fn what_an_edit_does_not_touch_keeps_its_place_and_its_digits() {
        let stored: Map<String, Value> = serde_json::from_str(
            r#"{"zeta":1,"alpha":{"y":1,"x":2},"big":12345678901234567890123,"ratio":1.10}"#,
        )
        .unwrap();
        let cases = [
            (
                set("/zeta", json!(3)),
                r#"{"zeta":3,"alpha":{"y":1,"x":2},"big":12345678901234567890123,"ratio":1.10}"#,
            ),
            (
                set("/new", json!(true)),
                r#"{"zeta":1,"alpha":{"y":1,"x":2},"big":12345678901234567890123,"ratio":1.10,"new":true}"#,
            ),
            (
                Edit::Remove {
                    path: "/zeta".into(),
                },
                r#"{"alpha":{"y":1,"x":2},"big":12345678901234567890123,"ratio":1.10}"#,
            ),
            (
                Edit::Rename {
                    path: "/alpha".into(),
                    to: "beta".into(),
                },
                r#"{"zeta":1,"beta":{"y":1,"x":2},"big":12345678901234567890123,"ratio":1.10}"#,
            ),
            (
                Edit::Rename {
                    path: "/alpha/y".into(),
                    to: "w".into(),
                },
                r#"{"zeta":1,"alpha":{"w":1,"x":2},"big":12345678901234567890123,"ratio":1.10}"#,
            ),
            (
                Edit::Remove {
                    path: "/alpha/y".into(),
                },
                r#"{"zeta":1,"alpha":{"x":2},"big":12345678901234567890123,"ratio":1.10}"#,
            ),
            (
                set("/alpha/a", json!(0)),
                r#"{"zeta":1,"alpha":{"y":1,"x":2,"a":0},"big":12345678901234567890123,"ratio":1.10}"#,
            ),
        ];
        for (edit, expected) in cases {
            assert_eq!(
                text(&preview(&stored, std::slice::from_ref(&edit)).unwrap()),
                expected,
                "{edit:?}"
            );
        }
    }

    #[test]
    fn list_items_are_inserted_set_and_removed_by_number() {
        let stored = fields(json!({"l": [1, 2, 3]}));
        let after = |edit: Edit| preview(&stored, &[edit]).map(|f| f["l"].clone());
        assert_eq!(
            after(Edit::Insert {
                path: "/l/0".into(),
                value: json!(0)
            })
            .unwrap(),
            json!([0, 1, 2, 3])
        );
        assert_eq!(
            after(Edit::Insert {
                path: "/l/-".into(),
                value: json!(4)
            })
            .unwrap(),
            json!([1, 2, 3, 4])
        );
        assert_eq!(
            after(Edit::Insert {
                path: "/l/3".into(),
                value: json!(4)
            })
            .unwrap(),
            json!([1, 2, 3, 4])
        );
        assert_eq!(
            after(Edit::Remove {
                path: "/l/1".into()
            })
            .unwrap(),
            json!([1, 3])
        );
        assert_eq!(after(set("/l/2", json!(9))).unwrap(), json!([1, 2, 9]));
        for bad in [
            Edit::Insert {
                path: "/l/5".into(),
                value: json!(0),
            },
            Edit::Remove {
                path: "/l/3".into(),
            },
            set("/l/3", json!(0)),
            set("/missing/x", json!(0)),
        ] {
            assert!(
                matches!(
                    preview(&stored, std::slice::from_ref(&bad)),
                    Err(Error::NotFound(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            preview(
                &stored,
                &[Edit::Rename {
                    path: "/l/0".into(),
                    to: "x".into()
                }]
            ),
            Err(Error::InvalidValue(_))
        ));
        assert!(matches!(
            preview(
                &fields(json!({"a": 1, "b": 2})),
                &[Edit::Rename {
                    path: "/a".into(),
                    to: "b".into()
                }]
            ),
            Err(Error::AlreadyExists(_))
        ));
        assert!(matches!(
            check(&[set("", json!(1))]),
            Err(Error::InvalidValue(_))
        ));
        assert!(matches!(
            check(&[set("/", json!(1))]),
            Err(Error::InvalidValue(_))
        ));
    }

    #[test]
    fn keys_with_slashes_and_tildes_are_addressed_exactly() {
        let stored = fields(json!({"f": {"a/b": {"c~d": 1}}}));
        let path = format!(
            "/f{}",
            crate::nested::child(&crate::nested::child("", "a/b"), "c~d")
        );
        let after = preview(&stored, &[set(&path, json!(2))]).unwrap();
        assert_eq!(Value::Object(after), json!({"f": {"a/b": {"c~d": 2}}}));
    }

    #[test]
    fn refusals_say_why() {
        let stored = fields(json!({"f": {"list": [1], "map": {"a": 1, "b": 2}, "n": 5}}));
        let cases = [
            (
                Edit::Remove {
                    path: "/f/list/3".into(),
                },
                "f › list › 3 (it may have been changed meanwhile)",
            ),
            (
                Edit::Rename {
                    path: "/f/list/0".into(),
                    to: "x".into(),
                },
                "list items are numbered",
            ),
            (
                Edit::Rename {
                    path: "/f/map/a".into(),
                    to: "b".into(),
                },
                "the key \"b\" in f › map",
            ),
            (set("/f/map/", json!(1)), "it is empty"),
            (
                Edit::Insert {
                    path: "/f/n/-".into(),
                    value: json!(1),
                },
                "f › n is a number",
            ),
            (set("/f/missing/x", json!(1)), "f › missing › x"),
            (
                Edit::Remove {
                    path: "no-slash".into(),
                },
                "is not a place",
            ),
        ];
        for (edit, expected) in cases {
            let error = preview(&stored, std::slice::from_ref(&edit))
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{edit:?}: {error}");
        }
    }

    fn merged(base: Value, current: Value, edits: &[Edit]) -> Rebased {
        rebase(&fields(base), &fields(current), edits).unwrap()
    }

    #[test]
    fn edits_re_apply_when_their_places_are_disjoint_from_the_other_change() {
        let base = json!({"db": {"host": "a", "port": 1}, "l": [1, 2], "x": 0});
        // Another place in the same field: merged.
        let theirs = json!({"db": {"host": "b", "port": 1}, "l": [1, 2], "x": 0});
        assert_eq!(
            merged(base.clone(), theirs.clone(), &[set("/db/port", json!(2))]),
            Rebased::Merged(fields(
                json!({"db": {"host": "b", "port": 2}, "l": [1, 2], "x": 0})
            ))
        );
        // The same place: a conflict naming it.
        assert_eq!(
            merged(base.clone(), theirs.clone(), &[set("/db/host", json!("c"))]),
            Rebased::Overlap(vec!["db › host".into()])
        );
        // A place containing theirs.
        assert_eq!(
            merged(base.clone(), theirs, &[Edit::Remove { path: "/db".into() }]),
            Rebased::Overlap(vec!["db".into()])
        );
        // They inserted into the list: an edit of an item conflicts, one elsewhere does not.
        let inserted = json!({"db": {"host": "a", "port": 1}, "l": [0, 1, 2], "x": 0});
        assert!(matches!(
            merged(base.clone(), inserted.clone(), &[set("/l/1", json!(5))]),
            Rebased::Overlap(_)
        ));
        assert_eq!(
            merged(base.clone(), inserted, &[set("/x", json!(1))]),
            Rebased::Merged(fields(
                json!({"db": {"host": "a", "port": 1}, "l": [0, 1, 2], "x": 1})
            ))
        );
        // This change inserts: their edit of an item conflicts.
        let item_set = json!({"db": {"host": "a", "port": 1}, "l": [1, 7], "x": 0});
        assert!(matches!(
            merged(
                base.clone(),
                item_set.clone(),
                &[Edit::Insert {
                    path: "/l/0".into(),
                    value: json!(0)
                }]
            ),
            Rebased::Overlap(_)
        ));
        assert!(matches!(
            merged(
                base.clone(),
                item_set,
                &[Edit::Remove {
                    path: "/l/0".into()
                }]
            ),
            Rebased::Overlap(_)
        ));
        // A whole-value replace (the JSON view) re-applies as the places it changed.
        let mine = json!({"db": {"host": "a", "port": 3}, "l": [1, 2], "x": 0});
        let theirs = json!({"db": {"host": "a", "port": 1}, "l": [1, 2], "x": 9});
        assert_eq!(
            merged(
                base.clone(),
                theirs,
                &[Edit::Replace {
                    fields: fields(mine)
                }]
            ),
            Rebased::Merged(fields(
                json!({"db": {"host": "a", "port": 3}, "l": [1, 2], "x": 9})
            ))
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-d]", inner), 0..4)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    fn object() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::vec(("[a-e]", json_value()), 0..5)
            .prop_map(|pairs| pairs.into_iter().collect())
    }

    proptest! {
        #[test]
        fn the_edits_between_two_versions_make_the_second_exactly(a in object(), b in object()) {
            let edits = edits_between(&a, &b);
            let after = preview(&a, &edits).unwrap();
            prop_assert_eq!(text(&after), text(&b));
        }

        #[test]
        fn a_merge_keeps_both_changes_or_names_an_overlap(base in object(), mine in object(), theirs in object()) {
            match rebase(&base, &theirs, &[Edit::Replace { fields: mine.clone() }]).unwrap() {
                Rebased::Merged(merged) => {
                    let merged = Value::Object(merged);
                    // Every place either side changed holds that side's value.
                    for edit in edits_between(&base, &mine).iter().chain(&edits_between(&base, &theirs)) {
                        if let Edit::Set { path, value } = edit {
                            prop_assert_eq!(merged.pointer(path), Some(value));
                        }
                    }
                }
                Rebased::Overlap(places) => prop_assert!(!places.is_empty()),
            }
        }
    }
}
