//! What a configuration's schema tells the form view: labels, help, choices and the constraints
//! that become HTML attributes; the problems of the stored value; and a change told in plain
//! words for the review.

use serde_json::{Map, Value};

use super::{FieldDiff, FieldView, Hints, ProblemView};
use confo::schema::{self, Problem};

/// The kind of value (as the form names kinds) that a JSON Schema `type` asks for.
fn kind_of_type(schema_type: &str) -> Option<&'static str> {
    Some(match schema_type {
        "integer" | "number" => "number",
        "string" => "text",
        "boolean" => "true/false",
        "null" => "empty",
        "array" => "list",
        "object" => "object",
        _ => return None,
    })
}

/// Keywords the form cannot express with its inputs; a place with any of them is edited as JSON.
const BEYOND_THE_FORM: [&str; 8] = [
    "anyOf",
    "allOf",
    "not",
    "if",
    "patternProperties",
    "dependentSchemas",
    "dependentRequired",
    "$dynamicRef",
];

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The hints for the place at `tokens` (a field, or a place inside one), when the schema
/// describes it.
pub fn hints(schema: &Value, tokens: &[String], problems: &[Problem]) -> Option<Hints> {
    let here = schema::at_path(schema, tokens)?;
    let parent_required = tokens.split_last().and_then(|(last, parent)| {
        let parent = schema::at_path(schema, parent)?;
        let required = parent.get("required")?.as_array()?;
        Some(required.iter().any(|r| r.as_str() == Some(last)))
    });
    let get_str = |k: &str| here.get(k).and_then(Value::as_str).map(str::to_owned);
    let get_num = |k: &str| here.get(k).filter(|v| v.is_number()).map(Value::to_string);
    let choices: Vec<(String, String)> = schema::choices(Some(here))
        .unwrap_or_default()
        .into_iter()
        .map(|c| (text(&c.value), c.label))
        .collect();
    let schema_type = here.get("type").and_then(Value::as_str);
    let mut kind = schema_type.and_then(kind_of_type).map(str::to_owned);
    let mut as_json = BEYOND_THE_FORM.iter().any(|k| here.get(*k).is_some())
        || here.get("type").is_some_and(Value::is_array);
    if here.get("oneOf").is_some() && choices.is_empty() {
        as_json = true;
    }
    if !choices.is_empty() {
        let all = |f: fn(&Value) -> bool| {
            schema::choices(Some(here))
                .unwrap_or_default()
                .iter()
                .all(|c| f(&c.value))
        };
        kind = Some(
            if all(Value::is_string) {
                "text"
            } else if all(Value::is_number) {
                "number"
            } else if all(Value::is_boolean) {
                "true/false"
            } else {
                "json"
            }
            .to_owned(),
        );
    }
    if as_json {
        kind = Some("json".to_owned());
    }
    let format = get_str("format");
    let input_type = match (kind.as_deref(), format.as_deref()) {
        (Some("number"), _) => "number",
        (_, Some("email")) => "email",
        (_, Some("uri")) => "url",
        _ => "text",
    }
    .to_owned();
    let step = match (get_num("multipleOf"), schema_type) {
        (Some(step), _) => Some(step),
        (None, Some("integer")) => Some("1".to_owned()),
        (None, Some("number")) => Some("any".to_owned()),
        _ => None,
    };
    let at = confo::edit::pointer(tokens);
    Some(Hints {
        title: get_str("title"),
        description: get_str("description"),
        examples: here
            .get("examples")
            .and_then(Value::as_array)
            .map(|e| e.iter().map(Value::to_string).collect())
            .unwrap_or_default(),
        default: here.get("default").map(Value::to_string),
        choices,
        kind,
        input_type,
        min: get_num("minimum"),
        max: get_num("maximum"),
        step,
        pattern: get_str("pattern"),
        min_length: here.get("minLength").and_then(Value::as_u64),
        max_length: here.get("maxLength").and_then(Value::as_u64),
        format: format.as_deref().map(schema::format_words),
        required: parent_required.unwrap_or(false),
        read_only: here.get("readOnly") == Some(&Value::Bool(true)),
        deprecated: here.get("deprecated") == Some(&Value::Bool(true)),
        write_only: here.get("writeOnly") == Some(&Value::Bool(true)),
        as_json,
        problems: problems
            .iter()
            .filter(|p| p.path == at)
            .map(|p| p.message.clone())
            .collect(),
    })
}

/// The problems as shown, with their places in words.
pub fn problem_views(problems: &[Problem]) -> Vec<ProblemView> {
    problems
        .iter()
        .map(|p| ProblemView {
            place: match confo::edit::tokens(&p.path) {
                Ok(tokens) if !tokens.is_empty() => confo::edit::words(&tokens),
                _ => "the configuration".to_owned(),
            },
            message: p.message.clone(),
        })
        .collect()
}

/// The names the schema lists under `properties`, in its order.
pub fn property_order(schema: &Value) -> Vec<String> {
    schema::at_path(schema, &[])
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Puts the fields the schema lists first, in its order; the others follow as stored. Only the
/// page's order: what is stored keeps its own.
pub fn order_fields(fields: &mut [FieldView], schema: &Value) {
    let order = property_order(schema);
    fields.sort_by_key(|f| {
        order
            .iter()
            .position(|n| *n == f.name)
            .unwrap_or(usize::MAX)
    });
}

/// The fields the schema lists that `fields` lacks, as rows to fill in (with the default, when
/// the schema gives one).
pub fn missing_fields(
    schema: &Value,
    fields: &Map<String, Value>,
    problems: &[Problem],
) -> Vec<FieldView> {
    property_order(schema)
        .into_iter()
        .filter(|name| !fields.contains_key(name))
        .filter_map(|name| {
            let hints = hints(schema, std::slice::from_ref(&name), problems)?;
            if hints.read_only {
                return None;
            }
            Some(FieldView {
                kind: hints.kind.clone().unwrap_or_else(|| "text".to_owned()),
                json: hints.default.clone().unwrap_or_default(),
                name,
                inner: Vec::new(),
                last_change: None,
                hints: Some(hints),
            })
        })
        .collect()
}

/// What a person calls a field: its schema title, else its name.
fn label(schema: Option<&Value>, field: &str) -> String {
    schema
        .and_then(|s| schema::at_path(s, &[field.to_owned()]))
        .and_then(|s| s.get("title"))
        .and_then(Value::as_str)
        .unwrap_or(field)
        .to_owned()
}

/// Shortens a value for a sentence.
fn short(json: &str) -> String {
    if json.chars().count() > 40 {
        format!("{}…", json.chars().take(40).collect::<String>())
    } else {
        json.to_owned()
    }
}

/// "You are changing 1 setting in payments › checkout: Retry limit from 3 to 5."
pub fn summary(
    namespace: &str,
    name: &str,
    schema: Option<&Value>,
    changes: &[FieldDiff],
) -> String {
    if changes.is_empty() {
        return "This changes nothing.".to_owned();
    }
    let each: Vec<String> = changes
        .iter()
        .map(|c| {
            let label = label(schema, &c.field);
            match (&c.before, &c.after) {
                (Some(before), Some(after)) => {
                    format!("{label} from {} to {}", short(before), short(after))
                }
                (None, Some(after)) => format!("{label} (new) set to {}", short(after)),
                (Some(_), None) => format!("{label} removed"),
                (None, None) => label,
            }
        })
        .collect();
    format!(
        "You are changing {} setting{} in {namespace} › {name}: {}.",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" },
        each.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["retries"],
            "properties": {
                "retries": {"title": "Retry limit", "description": "How often to try again.",
                    "type": "integer", "minimum": 0, "maximum": 10, "default": 3, "examples": [5]},
                "mode": {"title": "Mode", "oneOf": [{"const": "fast", "title": "Fast"}, {"const": "safe", "title": "Safe"}]},
                "email": {"type": "string", "format": "email", "maxLength": 80},
                "token": {"type": "string", "writeOnly": true},
                "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "id": {"type": "string", "readOnly": true}
            }
        })
    }

    #[test]
    fn the_schema_becomes_labels_choices_and_input_attributes() {
        let s = schema();
        let retries = hints(&s, &["retries".to_owned()], &[]).unwrap();
        assert_eq!(retries.title.as_deref(), Some("Retry limit"));
        assert_eq!(
            retries.description.as_deref(),
            Some("How often to try again.")
        );
        assert_eq!(
            (retries.min.as_deref(), retries.max.as_deref()),
            (Some("0"), Some("10"))
        );
        assert_eq!(retries.step.as_deref(), Some("1"));
        assert_eq!(retries.input_type, "number");
        assert!(retries.required);
        assert_eq!(retries.default.as_deref(), Some("3"));
        let mode = hints(&s, &["mode".to_owned()], &[]).unwrap();
        assert_eq!(
            mode.choices,
            [
                ("fast".into(), "Fast".into()),
                ("safe".into(), "Safe".into())
            ]
        );
        assert_eq!(mode.kind.as_deref(), Some("text"));
        assert!(!mode.required && !mode.as_json);
        let email = hints(&s, &["email".to_owned()], &[]).unwrap();
        assert_eq!(
            (email.input_type.as_str(), email.max_length),
            ("email", Some(80))
        );
        assert!(hints(&s, &["token".to_owned()], &[]).unwrap().write_only);
        assert!(hints(&s, &["either".to_owned()], &[]).unwrap().as_json);
        assert!(hints(&s, &["id".to_owned()], &[]).unwrap().read_only);
        assert!(hints(&s, &["other".to_owned()], &[]).is_none());
    }

    #[test]
    fn fields_follow_the_schema_order_and_missing_ones_are_offered() {
        let s = schema();
        let stored: Map<String, Value> = json!({"email": "a@b.c", "zzz": 1, "retries": 2})
            .as_object()
            .unwrap()
            .clone();
        let mut rows: Vec<FieldView> = stored
            .keys()
            .map(|name| FieldView {
                name: name.clone(),
                kind: String::new(),
                json: String::new(),
                inner: Vec::new(),
                last_change: None,
                hints: None,
            })
            .collect();
        order_fields(&mut rows, &s);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["retries", "email", "zzz"]);
        let missing: Vec<String> = missing_fields(&s, &stored, &[])
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(
            missing,
            ["mode", "token", "either"],
            "read-only fields are not offered"
        );
    }

    #[test]
    fn a_change_is_told_with_the_schema_titles() {
        let s = schema();
        let change = |field: &str, before: Option<&str>, after: Option<&str>| FieldDiff {
            field: field.into(),
            before: before.map(Into::into),
            after: after.map(Into::into),
        };
        assert_eq!(
            summary(
                "payments",
                "checkout",
                Some(&s),
                &[change("retries", Some("3"), Some("5"))]
            ),
            "You are changing 1 setting in payments › checkout: Retry limit from 3 to 5."
        );
        assert_eq!(
            summary(
                "p",
                "c",
                None,
                &[change("a", None, Some("1")), change("b", Some("2"), None)]
            ),
            "You are changing 2 settings in p › c: a (new) set to 1; b removed."
        );
    }
}
