//! What the configuration functions share on the server: name parsing, the guard, views
//! of a configuration, reading typed values and form edits, and conflicts.

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
        A::ChangeRevert => "took back a change",
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
        when: crate::when::ago(entry.time.timestamp(), chrono::Utc::now().timestamp()),
        at: crate::when::exact(entry.time.timestamp()),
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
                hints: None,
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
            hints: None,
        });
    }
    (shown, Map::new())
}

pub fn readable(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// How each field differs between two versions, as the store computes it, in readable JSON.
pub fn diffs(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<FieldDiff> {
    confo::store::diff_fields(before, after)
        .into_iter()
        .map(field_diff)
        .collect()
}

/// One field's difference in readable JSON.
pub fn field_diff(change: confo::store::FieldChange) -> FieldDiff {
    FieldDiff {
        field: change.field,
        before: change.before.as_ref().map(readable),
        after: change.after.as_ref().map(readable),
    }
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
            "The JSON is not valid at {}. Nothing was saved.",
            crate::json_words::json_problem(&e)
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
    view_of(user, namespace, name, configuration).await
}

/// [`view`] of `configuration`, as already read.
pub async fn view_of(
    user: &confo::users::User,
    namespace: &NamespaceName,
    name: &ConfigurationName,
    configuration: confo::Configuration,
) -> Result<ConfigurationView, AppError> {
    let store = crate::api::ssr::store()?;
    let latest = store
        .latest_versions(namespace, std::slice::from_ref(name))
        .await
        .map_err(reject)?
        .pop()
        .flatten();
    let rules = rules(&store, namespace, name).await?;
    // Everything shown is built from the value with its write-only parts masked.
    let shown = rules.masked(&configuration.fields);
    let (mut fields, rest) = form_fields(&shown, MAX_FORM_ROWS);
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
    let problems = rules.problems(&configuration.fields);
    let mut missing = Vec::new();
    if let Some(schema) = &rules.schema {
        for field in &mut fields {
            let top = vec![field.name.clone()];
            field.hints = hints::hints(schema, &top, &problems);
            if let Some(h) = field.hints.as_mut() {
                h.write_only = rules.write_only(&top);
            }
            for row in &mut field.inner {
                let mut tokens = top.clone();
                tokens.extend(confo::edit::tokens(&row.path).unwrap_or_default());
                row.hints = hints::hints(schema, &tokens, &problems);
                if let Some(h) = row.hints.as_mut() {
                    h.write_only = rules.write_only(&tokens);
                }
            }
        }
        hints::order_fields(&mut fields, schema);
        missing = hints::missing_fields(schema, &configuration.fields, &problems);
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
        json: readable(&Value::Object(shown)),
        revision: configuration.revision,
        seq: latest.as_ref().map_or(0, |v| v.seq),
        last_change: latest.as_ref().map(|v| summary(&v.entry)),
        can_edit: can_edit(user, namespace.as_str()),
        schema: rules.described,
        problems: hints::problem_views(&problems),
        missing,
        comment_required: rules.comment_required,
        review: match &rules.review {
            Some(policy) => Some(review_note(&store, user, policy, namespace, name).await?),
            None => None,
        },
    })
}

/// In a reviewed namespace: the policy, the person's own open requests there, and the open
/// requests that change this configuration.
async fn review_note(
    store: &confo::Store,
    user: &confo::users::User,
    policy: &confo::request::ReviewPolicy,
    namespace: &NamespaceName,
    name: &ConfigurationName,
) -> Result<ReviewNote, AppError> {
    let mut note = ReviewNote {
        policy: crate::api::requests::ssr::describe(Some(policy)),
        mine: Vec::new(),
        touching: Vec::new(),
    };
    for request in store.list_requests().await.map_err(reject)? {
        if request.namespace != namespace.as_str() || !request.state.is_active() {
            continue;
        }
        if request.is_author(&user.name) {
            note.mine.push((request.id, request.title.clone()));
        }
        if request.configurations.iter().any(|c| c == name.as_str()) {
            note.touching.push((
                request.id,
                request.title.clone(),
                request.author.name.clone(),
            ));
        }
    }
    Ok(note)
}

/// Calls `at` on `value` (found at `tokens`) and, unless it answers that it is done there, on
/// every item and key inside it, depth first.
fn visit(
    value: &mut Value,
    tokens: &mut Vec<String>,
    at: &mut impl FnMut(&mut Value, &[String]) -> bool,
) {
    if at(value, tokens) {
        return;
    }
    let children: Vec<(String, &mut Value)> = match value {
        Value::Object(keys) => keys.iter_mut().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(items) => items
            .iter_mut()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => return,
    };
    for (token, child) in children {
        tokens.push(token);
        visit(child, tokens, at);
        tokens.pop();
    }
}

/// What stands in for a write-only value wherever a value is shown.
pub const MASK: &str = "•••••• (write-only)";

/// The rules a configuration's changes follow: its schema (if any) and its namespace's settings.
pub struct Rules {
    pub schema: Option<Value>,
    /// Which schema, in words.
    pub described: Option<String>,
    pub comment_required: bool,
    /// Changes are sent for review in change requests instead of being written, under this
    /// policy.
    pub review: Option<confo::request::ReviewPolicy>,
}

pub async fn rules(
    store: &confo::Store,
    namespace: &NamespaceName,
    name: &ConfigurationName,
) -> Result<Rules, AppError> {
    let settings = store
        .get_settings(namespace)
        .await
        .map_err(reject)?
        .settings;
    Ok(Rules::of(&settings, name))
}

impl Rules {
    /// The rules of configuration `name` under its namespace's `settings`.
    pub fn of(settings: &confo::store::NamespaceSettings, name: &ConfigurationName) -> Self {
        let described = settings
            .assignments
            .get(name.as_str())
            .map(|choice| match choice {
                confo::store::SchemaChoice::Own(_) => "its own schema".to_owned(),
                confo::store::SchemaChoice::Named(n) => {
                    format!("the shared schema \u{201c}{n}\u{201d}")
                }
            });
        Rules {
            schema: settings.schema_of(name.as_str()).cloned(),
            described,
            comment_required: settings.require_comment,
            review: settings.review.clone(),
        }
    }
    /// Every problem of `fields` under the schema (none without one).
    pub fn problems(&self, fields: &Map<String, Value>) -> Vec<confo::schema::Problem> {
        self.schema
            .as_ref()
            .and_then(|s| confo::schema::problems(s, fields).ok())
            .unwrap_or_default()
    }

    pub fn write_only(&self, tokens: &[String]) -> bool {
        self.schema
            .as_ref()
            .is_some_and(|s| confo::schema::is_write_only(s, tokens))
    }

    /// Whether the value at `tokens` is write-only or holds a write-only place (by the schema,
    /// as the value stored in `fields` has them).
    pub fn holds_write_only(&self, fields: &Map<String, Value>, tokens: &[String]) -> bool {
        if self.schema.is_none() {
            return false;
        }
        if self.write_only(tokens) {
            return true;
        }
        let masked = self.masked(fields);
        confo::edit::find(&masked, tokens) != confo::edit::find(fields, tokens)
    }

    /// Refuses what would show or overwrite a write-only value: renaming it (its value would be
    /// shown under the new name) and a value holding the mask.
    pub fn check_edit(
        &self,
        current: &Map<String, Value>,
        edit: &confo::edit::Edit,
    ) -> Result<(), AppError> {
        use confo::edit::Edit;
        match edit {
            Edit::Rename { path, .. } => {
                let tokens = confo::edit::tokens(path).map_err(reject)?;
                if self.holds_write_only(current, &tokens) {
                    return Err(reject(AppError::Invalid(format!(
                        "{} is write-only, or holds a write-only value, so it cannot be renamed: its value would be shown under the new name. Set the new one and remove the old one instead.",
                        confo::edit::words(&tokens)
                    ))));
                }
                Ok(())
            }
            Edit::Set { value, .. } | Edit::Insert { value, .. } => {
                let mut one = Map::new();
                one.insert(String::new(), value.clone());
                self.check_no_mask(&one)
            }
            Edit::Replace { fields } => self.check_no_mask(fields),
            Edit::Remove { .. } => Ok(()),
        }
    }

    /// `fields` without their write-only values (a copy made for another configuration).
    pub fn without_write_only(&self, fields: &Map<String, Value>) -> Map<String, Value> {
        fn walk(rules: &Rules, value: &mut Value, tokens: &mut Vec<String>) {
            match value {
                Value::Object(keys) => {
                    keys.retain(|k, _| {
                        tokens.push(k.clone());
                        let keep = !rules.write_only(tokens);
                        tokens.pop();
                        keep
                    });
                    for (k, v) in keys.iter_mut() {
                        tokens.push(k.clone());
                        walk(rules, v, tokens);
                        tokens.pop();
                    }
                }
                Value::Array(items) => {
                    for (i, v) in items.iter_mut().enumerate() {
                        tokens.push(i.to_string());
                        if rules.write_only(tokens) {
                            *v = Value::Null;
                        } else {
                            walk(rules, v, tokens);
                        }
                        tokens.pop();
                    }
                }
                _ => {}
            }
        }
        let mut value = Value::Object(fields.clone());
        walk(self, &mut value, &mut Vec::new());
        match value {
            Value::Object(fields) => fields,
            _ => unreachable!("an object stays one"),
        }
    }

    /// Refuses a value that still holds the mask: it stands for a hidden value, and saving it
    /// would write the mask itself (where the place is no longer write-only, or the mask was
    /// copied elsewhere).
    pub fn check_no_mask(&self, fields: &Map<String, Value>) -> Result<(), AppError> {
        fn holds(value: &Value) -> bool {
            match value {
                Value::String(s) => s == MASK,
                Value::Array(items) => items.iter().any(holds),
                Value::Object(keys) => keys.values().any(holds),
                _ => false,
            }
        }
        if fields.values().any(holds) {
            return Err(reject(AppError::Invalid(format!(
                "\u{201c}{MASK}\u{201d} stands for a hidden value and cannot be saved as a value; type the real value, or leave it where it was shown."
            ))));
        }
        Ok(())
    }

    /// `value`, found at `tokens`, with its write-only parts replaced by [`MASK`].
    pub fn mask_value(&self, value: &mut Value, tokens: &mut Vec<String>) {
        if self.schema.is_none() {
            return;
        }
        visit(value, tokens, &mut |value, tokens| {
            let hidden = !tokens.is_empty() && self.write_only(tokens);
            if hidden {
                *value = Value::String(MASK.to_owned());
            }
            hidden
        });
    }

    /// `fields` with every write-only value replaced by [`MASK`].
    pub fn masked(&self, fields: &Map<String, Value>) -> Map<String, Value> {
        let mut value = Value::Object(fields.clone());
        self.mask_value(&mut value, &mut Vec::new());
        match value {
            Value::Object(fields) => fields,
            _ => unreachable!("an object stays one"),
        }
    }

    /// An audit entry's patches with the write-only values they carry masked.
    pub fn mask_entry(&self, entry: &mut confo::AuditEntry) {
        for patch in [entry.patch.as_mut(), entry.unpatch.as_mut()]
            .into_iter()
            .flatten()
        {
            let Ok(mut ops) = serde_json::to_value(&*patch) else {
                continue;
            };
            for op in ops.as_array_mut().into_iter().flatten() {
                let path = op["path"].as_str().unwrap_or_default().to_owned();
                let mut tokens = confo::edit::tokens(&path).unwrap_or_default();
                if let Some(value) = op.get_mut("value") {
                    self.mask_value(value, &mut tokens);
                }
            }
            if let Ok(masked) = serde_json::from_value(ops) {
                *patch = masked;
            }
        }
    }

    /// Field-level differences as shown: readable JSON, write-only parts masked.
    pub fn masked_diffs(&self, changes: Vec<confo::store::FieldChange>) -> Vec<FieldDiff> {
        changes
            .into_iter()
            .map(|mut change| {
                change.before = change.before.map(|v| self.masked_field(&change.field, v));
                change.after = change.after.map(|v| self.masked_field(&change.field, v));
                field_diff(change)
            })
            .collect()
    }

    /// The value of field `field` with its write-only parts masked.
    pub fn masked_field(&self, field: &str, value: Value) -> Value {
        let mut one = Map::new();
        one.insert(field.to_owned(), value);
        self.masked(&one).remove(field).unwrap_or(Value::Null)
    }

    /// `fields` as typed into the JSON view, with each write-only value left as [`MASK`] taken
    /// from `stored` again: only a newly typed value replaces one.
    pub fn unmasked(
        &self,
        mut fields: Map<String, Value>,
        stored: &Map<String, Value>,
    ) -> Map<String, Value> {
        if self.schema.is_some() {
            for (name, field) in fields.iter_mut() {
                visit(field, &mut vec![name.clone()], &mut |value, tokens| {
                    let masked = value.as_str() == Some(MASK) && self.write_only(tokens);
                    if masked && let Some(kept) = confo::edit::find(stored, tokens) {
                        *value = kept.clone();
                    }
                    masked
                });
            }
        }
        fields
    }

    /// The review of changing `before` into `after`: the change in words and in a table (write-
    /// only values masked), and the schema problems it would add.
    pub fn review(
        &self,
        namespace: &NamespaceName,
        name: &ConfigurationName,
        before: &Map<String, Value>,
        after: &Map<String, Value>,
        place: Option<String>,
        revision: i64,
    ) -> Review {
        let changes = diffs(&self.masked(before), &self.masked(after));
        let added = confo::schema::added(&self.problems(before), &self.problems(after));
        Review {
            summary: hints::summary(
                namespace.as_str(),
                name.as_str(),
                self.schema.as_ref(),
                &changes,
            ),
            changes,
            place,
            revision,
            problems: hints::problem_views(&added),
            comment_required: self.comment_required,
            notes: Vec::new(),
        }
    }
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
        // A switch: the browser sends no value when it is off.
        "switch" => match text.trim() {
            "" | "false" => Ok(Value::Bool(false)),
            "true" | "on" => Ok(Value::Bool(true)),
            _ => Err(invalid(format!("{text:?} is neither on nor off."))),
        },
        // Never a guess: an empty box is not taken for false.
        "true/false" | "bool" => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" => Ok(Value::Bool(true)),
            "false" | "off" | "no" => Ok(Value::Bool(false)),
            "" => Err(invalid("Choose true or false.".to_owned())),
            _ => Err(invalid(format!(
                "{text:?} is neither true nor false; choose true or false."
            ))),
        },
        "empty" => Ok(Value::Null),
        // An empty list or object, to which items are then added one by one.
        "list" if text.trim().is_empty() => Ok(Value::Array(Vec::new())),
        "object" if text.trim().is_empty() => Ok(Value::Object(Map::new())),
        "list" | "object" | "json" => {
            let value: Value = serde_json::from_str(text).map_err(|e| {
                invalid(format!(
                    "The value is not valid JSON at {}.",
                    crate::json_words::json_problem(&e)
                ))
            })?;
            match (kind, &value) {
                ("list", Value::Array(_)) | ("object", Value::Object(_)) | ("json", _) => Ok(value),
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

/// What to say about a number that is stored exactly as typed but that programs reading numbers
/// as 64-bit floating point (JavaScript, and most JSON libraries) would read rounded.
pub fn number_note(value: &Value) -> Option<String> {
    let Value::Number(number) = value else {
        return None;
    };
    let text = number.to_string();
    // The significant digits of a number written in decimal: `0.0120` and `1.2e-2` both `12`.
    let significant = |written: &str| -> String {
        let mantissa = written.split(['e', 'E']).next().unwrap_or(written);
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        digits.trim_matches('0').to_owned()
    };
    let float = text.parse::<f64>().ok().filter(|f| f.is_finite());
    // Floating point reads it as the nearest number it has; the shortest decimal that is that
    // number has the same digits when nothing is lost.
    let rounded = match float {
        None => true,
        Some(f) => significant(&format!("{f:e}")) != significant(&text),
    };
    rounded.then(|| match float {
        Some(f) => format!(
            "{text} is saved exactly as typed, but programs that read numbers as floating point (JavaScript, most JSON libraries) will read it as {f:e}. Save it as text if every digit matters."
        ),
        None => format!(
            "{text} is saved exactly as typed, but it is too large for programs that read numbers as floating point. Save it as text if they must read it."
        ),
    })
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
            let place = confo::edit::tokens(&at).map_err(reject)?;
            match confo::edit::find(current, &place) {
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

/// How many of the changes saved meanwhile a conflict names.
pub const CONFLICT_NAMES: usize = 20;

/// What happened since version `seq` (what the person's edits were made against), and
/// whether their edits re-apply on the latest version.
pub async fn conflict(
    user: &confo::users::User,
    namespace: &NamespaceName,
    name: &ConfigurationName,
    seq: u64,
    loaded: Option<Map<String, Value>>,
    edits: &[confo::edit::Edit],
) -> Result<ConflictView, AppError> {
    use confo::edit::{Rebased, preview, rebase};
    let store = crate::api::ssr::store()?;
    // What the edits were made on: as the page loaded it when it says (a write by another tool
    // leaves no history entry to rebuild it from), else version `seq` rebuilt from the history.
    let base = match loaded {
        Some(loaded) => loaded,
        None if seq == 0 => Map::new(),
        None => store
            .configuration_at(namespace, name, seq)
            .await
            .map_err(reject)?
            .unwrap_or_default(),
    };
    // Read once: the latest version shown and the one merged onto are the same.
    let read = store
        .get_configuration(namespace, name)
        .await
        .map_err(reject)?;
    let current = read.fields.clone();
    let latest = view_of(user, namespace, name, read).await?;
    // What the page sent has write-only values masked; they stand for what is stored.
    let rules = rules(&store, namespace, name).await?;
    let base = rules.unmasked(base, &current);
    let edits: Vec<confo::edit::Edit> = edits
        .iter()
        .map(|edit| match edit {
            confo::edit::Edit::Replace { fields } => confo::edit::Edit::Replace {
                fields: rules.unmasked(fields.clone(), &current),
            },
            other => other.clone(),
        })
        .collect();
    let mine = preview(&base, &edits).map_err(reject)?;
    let (overlap, merged) = match rebase(&base, &current, &edits).map_err(reject)? {
        Rebased::Merged(merged) => (
            Vec::new(),
            Some(readable(&Value::Object(rules.masked(&merged)))),
        ),
        Rebased::Overlap(places) => (places, None),
    };
    // Who saved meanwhile: the newest few are enough to say it.
    let others = store
        .versions_after(namespace, name, seq, CONFLICT_NAMES)
        .await
        .map_err(reject)?
        .iter()
        .map(|v| summary(&v.entry))
        .collect();
    let (base, mine, current) = (
        rules.masked(&base),
        rules.masked(&mine),
        rules.masked(&current),
    );
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
    let listed = |diffs: &[FieldDiff]| {
        diffs
            .iter()
            .map(|d| format!("{}: {} → {}", d.field, show(&d.before), show(&d.after)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let (theirs, mine) = (listed(&conflict.theirs), listed(&conflict.mine));
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
/// The end of the configuration page's address that confirms version `seq` was just saved (and
/// offers to undo it). No `#saved`: a page opened at a fragment gives no element the focus, and
/// the confirmation's Undo takes it (which also scrolls to it).
pub fn saved_suffix(seq: u64) -> String {
    format!("?saved={seq}")
}

pub fn change_with(user: &confo::users::User, comment: &str) -> confo::Change {
    crate::api::ssr::change(user).with_comment(comment.trim())
}

pub fn path(namespace: &str, configuration: &str) -> String {
    format!("/ns/{namespace}/{configuration}")
}

/// One configuration a server function works on, past the guard (see [`open`]).
pub struct Opened {
    pub user: confo::users::User,
    pub namespace: NamespaceName,
    pub name: ConfigurationName,
    pub store: confo::Store,
}

/// The guard every configuration function runs first: the caller must be signed in and hold
/// `role` for `namespace` (checked before anything else, so a refused call reads nothing), then
/// both names must be valid.
pub async fn open(
    role: confo::users::Role,
    namespace: &str,
    name: &str,
) -> Result<Opened, AppError> {
    let user = crate::api::ssr::require(role, Some(namespace)).await?;
    Ok(Opened {
        user,
        namespace: self::namespace(namespace)?,
        name: configuration(name)?,
        store: crate::api::ssr::store()?,
    })
}

impl Opened {
    /// The configuration's fields and revision now.
    pub async fn current(&self) -> Result<confo::Configuration, AppError> {
        self.store
            .get_configuration(&self.namespace, &self.name)
            .await
            .map_err(reject)
    }

    /// Sends a form posted without JavaScript back to the configuration's page (`suffix`: ""
    /// or a sub-page such as "/history").
    pub fn back_to(&self, suffix: &str) {
        crate::api::redirect::redirect(&format!(
            "{}{suffix}",
            path(self.namespace.as_str(), self.name.as_str())
        ));
    }

    /// Saves `edits` made against `revision` (version `seq`), with `comment`: the one way the
    /// dashboard changes fields. When the configuration changed since, nothing is written and
    /// the conflict says who saved meanwhile and both values.
    pub async fn save(
        &self,
        edits: Vec<confo::edit::Edit>,
        revision: i64,
        seq: u64,
        comment: &str,
        into: &str,
    ) -> Result<Saved, AppError> {
        let current = self.current().await?;
        let rules = rules(&self.store, &self.namespace, &self.name).await?;
        for edit in &edits {
            rules.check_edit(&current.fields, edit)?;
        }
        if rules.review.is_some() {
            let proposed = confo::request::Proposed::Edits(edits);
            let id = self
                .propose(proposed, Some(revision), comment, into)
                .await?;
            return Ok(Saved {
                revision,
                seq,
                request: Some(id),
            });
        }
        let written = self
            .store
            .apply_edits(
                &self.namespace,
                &self.name,
                edits.clone(),
                Some(revision),
                &change_with(&self.user, comment),
            )
            .await;
        match written {
            Ok(written) => {
                // Nothing changed: the version stays the one the page has.
                let seq = if written.revision == revision {
                    self.back_to("");
                    seq
                } else {
                    self.back_to(&saved_suffix(written.seq));
                    written.seq
                };
                Ok(Saved {
                    revision: written.revision,
                    seq,
                    request: None,
                })
            }
            Err(confo::Error::Conflict { .. }) => {
                let shown =
                    conflict(&self.user, &self.namespace, &self.name, seq, None, &edits).await;
                let text = match shown {
                    Ok(conflict) => conflict_text(&conflict),
                    // Still a conflict when its details cannot be shown.
                    Err(_) => "Someone else saved this configuration while you were reviewing, so nothing of yours was saved. Review your change again on the latest version.".to_owned(),
                };
                Err(reject(AppError::Conflict(text)))
            }
            // Made reviewed since the page was loaded.
            Err(confo::Error::ReviewRequired(_)) => {
                let proposed = confo::request::Proposed::Edits(edits);
                let id = self
                    .propose(proposed, Some(revision), comment, into)
                    .await?;
                Ok(Saved {
                    revision,
                    seq,
                    request: Some(id),
                })
            }
            Err(other) => Err(reject(other)),
        }
    }

    /// Sends `proposed`, made on `revision`, for review: added to the person's request `into`
    /// when it is a request's number (one of theirs in this namespace, still open), otherwise
    /// in a new request titled after `comment`, kept as a draft when `into` is `draft`. Goes on
    /// to the request's page. How every change is made in a reviewed namespace.
    pub async fn propose(
        &self,
        proposed: confo::request::Proposed,
        revision: Option<i64>,
        comment: &str,
        into: &str,
    ) -> Result<u64, AppError> {
        let change = crate::api::ssr::change(&self.user);
        let into = into.trim();
        let draft = into == "draft";
        let existing = match into {
            "" | "draft" => None,
            number => Some(number.parse::<u64>().map_err(|_| {
                reject(AppError::Invalid(format!(
                    "{number:?} is not a change request's number."
                )))
            })?),
        };
        let id = match existing {
            Some(id) => {
                // The same answer for a request that is not there and one of another namespace,
                // which tells nothing of the other namespace.
                let theirs = match self.store.get_request(id).await {
                    Ok(read) => read.request.namespace != self.namespace.as_str(),
                    Err(confo::Error::NotFound(_)) => true,
                    Err(other) => return Err(reject(other)),
                };
                if theirs {
                    return Err(reject(AppError::NotFound(format!(
                        "Change request {id} of namespace {} does not exist.",
                        self.namespace
                    ))));
                }
                self.store
                    .add_to_request(id, &self.name, proposed, revision, &change)
                    .await
                    .map_err(reject)?;
                id
            }
            None => {
                let (title, description) =
                    confo::request::title_of(comment, format!("Change to {}", self.name));
                let new = confo::store::NewRequest {
                    title,
                    description,
                    changes: vec![(self.name.clone(), proposed, revision)],
                    schemas: Vec::new(),
                    settings_revision: None,
                    draft,
                };
                self.store
                    .open_request(&self.namespace, new, &change)
                    .await
                    .map_err(reject)?
                    .request
                    .id
            }
        };
        crate::api::requests::ssr::back_to(id, "?sent=1");
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(fields: &[FieldView]) -> Vec<&str> {
        fields.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn a_true_false_value_is_never_guessed_from_an_empty_box() {
        assert_eq!(typed_value("true/false", "TRUE"), Ok(Value::Bool(true)));
        assert_eq!(typed_value("true/false", " false "), Ok(Value::Bool(false)));
        for text in ["", "  ", "maybe", "1"] {
            let refused = typed_value("true/false", text);
            assert!(
                matches!(&refused, Err(AppError::Invalid(m)) if m.contains("choose true or false") || m == "Choose true or false."),
                "{text:?}: {refused:?}"
            );
        }
    }

    #[test]
    fn a_switch_is_off_when_the_browser_sends_nothing_and_takes_no_free_text() {
        assert_eq!(typed_value("switch", ""), Ok(Value::Bool(false)));
        assert_eq!(typed_value("switch", "true"), Ok(Value::Bool(true)));
        assert!(typed_value("switch", "maybe").is_err());
    }

    #[test]
    fn a_number_floating_point_would_round_is_said_so_and_kept_exactly() {
        let nines = "9".repeat(26);
        let value = typed_value("number", &nines).unwrap();
        assert_eq!(value.to_string(), nines, "stored exactly as typed");
        let note = number_note(&value).expect("26 nines are rounded by floating point");
        assert!(note.contains("1e26"), "{note}");
        for exact in [
            "5",
            "-3",
            "1.10",
            "0.1",
            "1e300",
            "9007199254740992",
            "1000000000000000000",
            "2.5e-8",
        ] {
            let value = typed_value("number", exact).unwrap();
            assert_eq!(number_note(&value), None, "{exact}");
        }
        for rounded in ["9007199254740993", "0.12345678901234567891", "1e400"] {
            let value = typed_value("number", rounded).unwrap();
            assert!(number_note(&value).is_some(), "{rounded}");
        }
        assert_eq!(
            number_note(&Value::from("99999999999999999999999999")),
            None,
            "text is text"
        );
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
