//! Configuration schemas: JSON Schema (draft 2020-12) checks of a configuration's fields, told in
//! plain words.
//!
//! The rule every write follows ([`added`]): a change is refused only when it *adds* a problem, a
//! schema error at a place and by a rule that the configuration did not already break. So a value
//! another tool wrote against the schema stays editable elsewhere and is never rewritten behind
//! anyone's back; the problems it keeps are shown, not forced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, JsonType, Validator};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::edit::{self, words};
use crate::error::{Error, Result};

/// One way a configuration breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Where, as a JSON Pointer from the configuration's top (`/retries`, `/servers/0/port`).
    pub path: String,
    /// The rule broken, as a JSON Pointer into the schema (`/properties/retries/maximum`).
    pub rule: String,
    /// In plain words, for the person making the change: "Retry limit must be between 0 and 10."
    pub message: String,
}

impl Problem {
    /// The field the problem is in (`None` for the configuration as a whole).
    pub fn field(&self) -> Option<String> {
        edit::tokens(&self.path).ok()?.into_iter().next()
    }
}

/// The problems of `after` that `before` did not have (compared by place and rule).
pub fn added(before: &[Problem], after: &[Problem]) -> Vec<Problem> {
    after
        .iter()
        .filter(|p| !before.iter().any(|b| b.path == p.path && b.rule == p.rule))
        .cloned()
        .collect()
}

/// Checks `schema` against the draft 2020-12 meta-schema and compiles it; the answer names what
/// is wrong with it.
pub fn compile(schema: &Value) -> Result<Arc<Validator>> {
    let key: [u8; 32] = Sha256::digest(schema.to_string().as_bytes()).into();
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], Arc<Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(validator) = cache.lock().expect("schema cache").get(&key) {
        return Ok(validator.clone());
    }
    if !schema.is_object() && !schema.is_boolean() {
        return Err(Error::InvalidValue(
            "A schema is a JSON object (such as {\"type\": \"object\"}).".to_owned(),
        ));
    }
    if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
        return Err(Error::InvalidValue(format!(
            "The schema is not a valid JSON Schema (draft 2020-12): at {}: {e}.",
            at(&e.instance_path().to_string())
        )));
    }
    let validator = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| Error::InvalidValue(format!("The schema cannot be used: {e}.")))?;
    let validator = Arc::new(validator);
    let mut cache = cache.lock().expect("schema cache");
    // Schemas change rarely; a bound keeps a flood of different ones from growing it for ever.
    if cache.len() >= 256 {
        cache.clear();
    }
    cache.insert(key, validator.clone());
    Ok(validator)
}

fn at(pointer: &str) -> String {
    if pointer.is_empty() {
        "the top".to_owned()
    } else {
        pointer.to_owned()
    }
}

/// Every problem of `fields` under `schema` (compiled by [`compile`]).
pub fn problems(schema: &Value, fields: &Map<String, Value>) -> Result<Vec<Problem>> {
    let validator = compile(schema)?;
    let instance = Value::Object(fields.clone());
    let mut found: Vec<Problem> = Vec::new();
    for error in validator.iter_errors(&instance) {
        if found.len() >= MAX_PROBLEMS {
            break;
        }
        let rule = error.schema_path().to_string();
        let path = error.instance_path().to_string();
        let at = |name: &str| {
            let mut tokens = edit::tokens(&path).unwrap_or_default();
            tokens.push(name.to_owned());
            edit::pointer(&tokens)
        };
        match error.kind() {
            // Shown at the missing field itself.
            ValidationErrorKind::Required { property } if property.is_string() => {
                let place = at(property.as_str().unwrap_or_default());
                let message = message(schema, &rule, &place, error.kind());
                found.push(Problem {
                    path: place,
                    rule,
                    message,
                });
            }
            // One problem per key the schema does not allow, at the key: a second such key is a
            // problem added, even where one was already there.
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                let name = name_of(holder(schema, &rule), &path);
                for key in unexpected {
                    found.push(Problem {
                        path: at(key),
                        rule: rule.clone(),
                        message: format!(
                            "{name} may not have the key {key:?}: the schema does not list it."
                        ),
                    });
                }
            }
            kind => {
                let message = message(schema, &rule, &path, kind);
                found.push(Problem {
                    path,
                    rule,
                    message,
                });
            }
        }
    }
    found.dedup();
    Ok(found)
}

/// The most problems reported for one value: enough to act on, and a bound on the work.
pub const MAX_PROBLEMS: usize = 100;

/// The subschema holding the keyword at `rule` (`/properties/a/maximum` → `/properties/a`).
fn holder<'a>(schema: &'a Value, rule: &str) -> Option<&'a Value> {
    let parent = &rule[..rule.rfind('/')?];
    schema.pointer(parent)
}

/// What the person calls the place at `path`: the schema's `title` for it, else its name.
fn name_of(holder: Option<&Value>, path: &str) -> String {
    if let Some(title) = holder.and_then(|h| h.get("title")).and_then(Value::as_str) {
        return title.to_owned();
    }
    match edit::tokens(path) {
        Ok(tokens) if !tokens.is_empty() => words(&tokens),
        _ => "The configuration".to_owned(),
    }
}

fn number(value: &Value) -> String {
    value.to_string()
}

/// A problem in words. Built from the schema and the place only, never from the value itself
/// (which may be write-only).
fn message(schema: &Value, rule: &str, path: &str, kind: &ValidationErrorKind) -> String {
    let holder = holder(schema, rule);
    if let Some(custom) = holder
        .and_then(|h| h.get("x-confo-message"))
        .and_then(Value::as_str)
    {
        return custom.to_owned();
    }
    let get = |keyword: &str| holder.and_then(|h| h.get(keyword));
    let name = name_of(holder, path);
    let text = match kind {
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::Maximum { limit } => {
            match (get("minimum"), get("maximum")) {
                (Some(min), Some(max)) => {
                    format!("{name} must be between {} and {}", number(min), number(max))
                }
                _ if matches!(kind, ValidationErrorKind::Minimum { .. }) => {
                    format!("{name} must be at least {}", number(limit))
                }
                _ => format!("{name} must be at most {}", number(limit)),
            }
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("{name} must be more than {}", number(limit))
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("{name} must be less than {}", number(limit))
        }
        ValidationErrorKind::MultipleOf { .. } => match get("multipleOf") {
            Some(step) => format!("{name} must be a multiple of {}", number(step)),
            None => format!("{name} is not an allowed step"),
        },
        ValidationErrorKind::Type { kind } => {
            let kinds: Vec<&str> = match kind {
                TypeKind::Single(t) => vec![type_words(*t)],
                TypeKind::Multiple(set) => set.iter().map(type_words).collect(),
            };
            format!("{name} must be {}", kinds.join(" or "))
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .map(|o| o.iter().map(choice_words).collect())
                .unwrap_or_default();
            format!("{name} must be one of: {}", options.join(", "))
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!("{name} must be {}", choice_words(expected_value))
        }
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
            match choices(holder) {
                Some(choices) => format!(
                    "{name} must be one of: {}",
                    choices
                        .iter()
                        .map(|c| c.label.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => format!("{name} matches none of the forms the schema allows"),
            }
        }
        ValidationErrorKind::Required { property } => {
            let property = property.as_str().unwrap_or_default();
            let title = holder
                .and_then(|h| h.pointer(&edit::pointer(&["properties", property, "title"])))
                .and_then(Value::as_str)
                .unwrap_or(property);
            format!("{title} is required")
        }
        ValidationErrorKind::MinLength { limit } => {
            format!("{name} must be at least {limit} characters long")
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("{name} must be at most {limit} characters long")
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("{name} must match the pattern {pattern}")
        }
        ValidationErrorKind::Format { format } => {
            format!("{name} must be {}", format_words(format))
        }
        ValidationErrorKind::MinItems { limit } => {
            format!("{name} must have at least {limit} item(s)")
        }
        ValidationErrorKind::MaxItems { limit } => {
            format!("{name} must have at most {limit} item(s)")
        }
        ValidationErrorKind::UniqueItems => format!("{name} must not hold the same item twice"),
        ValidationErrorKind::MinProperties { limit } => {
            format!("{name} must have at least {limit} key(s)")
        }
        ValidationErrorKind::MaxProperties { limit } => {
            format!("{name} must have at most {limit} key(s)")
        }
        ValidationErrorKind::Contains => {
            format!("{name} must hold at least one item of the kind the schema asks for")
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            format!(
                "{name} matches more than one of the forms the schema allows, and must match exactly one"
            )
        }
        ValidationErrorKind::Not { .. } => format!("{name} is a value the schema rules out"),
        ValidationErrorKind::FalseSchema => format!("{name} is not allowed here"),
        // The keyword, never the value (which may be write-only).
        other => format!("{name} breaks the schema's rule {:?}", other.keyword()),
    };
    format!("{text}.")
}

fn type_words(t: JsonType) -> &'static str {
    match t {
        JsonType::Array => "a list",
        JsonType::Boolean => "true or false",
        JsonType::Integer => "a whole number",
        JsonType::Null => "empty",
        JsonType::Number => "a number",
        JsonType::Object => "an object",
        JsonType::String => "text",
    }
}

fn choice_words(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A format in words.
pub fn format_words(format: &str) -> String {
    match format {
        "email" => "an email address".to_owned(),
        "uri" | "iri" => "a full web address (such as https://example.com/path)".to_owned(),
        "uri-reference" | "iri-reference" => "a web address".to_owned(),
        "hostname" | "idn-hostname" => "a host name (such as db.example.com)".to_owned(),
        "ipv4" => "an IPv4 address (such as 192.0.2.10)".to_owned(),
        "ipv6" => "an IPv6 address (such as 2001:db8::1)".to_owned(),
        "date-time" => "a date and time (such as 2026-01-31T09:30:00Z)".to_owned(),
        "date" => "a date (such as 2026-01-31)".to_owned(),
        "time" => "a time (such as 09:30:00Z)".to_owned(),
        "duration" => "a duration in ISO 8601 (such as PT30S for 30 seconds)".to_owned(),
        "uuid" => "a UUID".to_owned(),
        other => format!("in the format {other}"),
    }
}

/// One allowed value with the label a person sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub value: Value,
    pub label: String,
}

/// The allowed values of a subschema given as `enum`, or as `oneOf`/`anyOf` of `const`s (with
/// their `title`s as labels); `None` when it is no such list.
pub fn choices(schema: Option<&Value>) -> Option<Vec<Choice>> {
    let schema = schema?;
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(
            values
                .iter()
                .map(|v| Choice {
                    value: v.clone(),
                    label: choice_words(v),
                })
                .collect(),
        );
    }
    let list = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))?
        .as_array()?;
    list.iter()
        .map(|option| {
            let value = option.get("const")?.clone();
            let label = option
                .get("title")
                .and_then(Value::as_str)
                .map_or_else(|| choice_words(&value), str::to_owned);
            Some(Choice { value, label })
        })
        .collect()
}

/// The subschema that describes the value at `tokens` (through `properties`, `items`,
/// `prefixItems` and local `$ref`s), when the schema says so plainly.
pub fn at_path<'a>(schema: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    let mut here = resolve(schema, schema)?;
    for token in tokens {
        let next = if let Some(p) = here.get("properties").and_then(|p| p.get(token)) {
            Some(p)
        } else if let Some(extra) = here.get("additionalProperties").filter(|a| a.is_object())
            && !here.get("type").is_some_and(|t| t == "array")
        {
            Some(extra)
        } else if let Ok(i) = token.parse::<usize>() {
            here.get("prefixItems")
                .and_then(|p| p.get(i))
                .or_else(|| here.get("items").filter(|i| i.is_object()))
        } else {
            None
        }?;
        here = resolve(schema, next)?;
    }
    Some(here)
}

/// Whether the value at `tokens` is write-only: `writeOnly: true` on its subschema, on a `$ref`
/// that leads to it or beside one, in any branch of an `allOf`, `anyOf` or `oneOf` that
/// describes it, or on anything it is inside of. (Erring towards secret: a place any branch
/// calls write-only is.)
pub fn is_write_only(schema: &Value, tokens: &[String]) -> bool {
    // Every subschema that describes the place reached so far.
    let mut here: Vec<&Value> = vec![schema];
    for depth in 0..=tokens.len() {
        let mut all: Vec<&Value> = Vec::new();
        while let Some(node) = here.pop() {
            if all.len() > 64 || all.iter().any(|seen| std::ptr::eq(*seen, node)) {
                continue;
            }
            all.push(node);
            if node.get("writeOnly") == Some(&Value::Bool(true)) {
                return true;
            }
            if let Some(target) = node
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
                .and_then(|r| schema.pointer(r))
            {
                here.push(target);
            }
            for key in ["allOf", "anyOf", "oneOf"] {
                if let Some(branches) = node.get(key).and_then(Value::as_array) {
                    here.extend(branches.iter());
                }
            }
        }
        let Some(token) = tokens.get(depth) else {
            return false;
        };
        here = all
            .iter()
            .filter_map(|node| {
                node.get("properties")
                    .and_then(|p| p.get(token))
                    .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))
                    .or_else(|| {
                        let i = token.parse::<usize>().ok()?;
                        node.get("prefixItems")
                            .and_then(|p| p.get(i))
                            .or_else(|| node.get("items").filter(|i| i.is_object()))
                    })
            })
            .collect();
        if here.is_empty() {
            return false;
        }
    }
    false
}

/// Follows a local `$ref` (`#/$defs/x`), a few levels deep at most.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> Option<&'a Value> {
    for _ in 0..8 {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => schema = root.pointer(reference.strip_prefix('#')?)?,
            None => return Some(schema),
        }
    }
    None
}

/// A starting schema that the value `fields` matches: the kind of each field, its object keys
/// in order and its list items' kind, with no other rules.
pub fn suggest(fields: &Map<String, Value>) -> Value {
    let mut schema = describe(&Value::Object(fields.clone()));
    if let Value::Object(top) = &mut schema {
        let mut head = Map::new();
        head.insert(
            "$schema".into(),
            Value::String("https://json-schema.org/draft/2020-12/schema".into()),
        );
        head.extend(std::mem::take(top));
        *top = head;
    }
    schema
}

fn describe(value: &Value) -> Value {
    describe_at(value, 0)
}

/// How deep a suggested schema describes a value; deeper parts are left open.
const MAX_SUGGEST_DEPTH: usize = 16;

fn describe_at(value: &Value, depth: usize) -> Value {
    let mut schema = Map::new();
    if depth > MAX_SUGGEST_DEPTH {
        return Value::Object(schema);
    }
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    schema.insert("type".into(), Value::String(kind.into()));
    match value {
        Value::Object(keys) => {
            let properties: Map<String, Value> = keys
                .iter()
                .map(|(k, v)| (k.clone(), describe_at(v, depth + 1)))
                .collect();
            schema.insert("properties".into(), Value::Object(properties));
        }
        Value::Array(items) => {
            // Each item described once: the items' schema when they all share one.
            let mut described = items.iter().map(|i| describe_at(i, depth + 1));
            if let Some(first) = described.next()
                && described.all(|d| d == first)
            {
                schema.insert("items".into(), first);
            }
        }
        _ => {}
    }
    Value::Object(schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn retry_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "retries": {"title": "Retry limit", "type": "integer", "minimum": 0, "maximum": 10},
                "mode": {"title": "Mode", "oneOf": [
                    {"const": "fast", "title": "Fast"}, {"const": "safe", "title": "Safe"}
                ]},
                "host": {"type": "string", "format": "hostname"},
                "code": {"type": "string", "pattern": "^[A-Z]{3}$", "x-confo-message": "Code is three capital letters."}
            },
            "required": ["retries"]
        })
    }

    #[test]
    fn problems_are_told_in_plain_words_at_their_place() {
        let schema = retry_schema();
        let found = problems(
            &schema,
            &fields(json!({"retries": -3, "mode": "slow", "host": "not a host", "code": "ab"})),
        )
        .unwrap();
        let messages: Vec<(&str, &str)> = found
            .iter()
            .map(|p| (p.path.as_str(), p.message.as_str()))
            .collect();
        assert!(messages.contains(&("/retries", "Retry limit must be between 0 and 10.")));
        assert!(messages.contains(&("/mode", "Mode must be one of: Fast, Safe.")));
        assert!(messages.contains(&(
            "/host",
            "host must be a host name (such as db.example.com)."
        )));
        assert!(messages.contains(&("/code", "Code is three capital letters.")));
        let missing = problems(&schema, &fields(json!({}))).unwrap();
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].path, "/retries");
        assert_eq!(missing[0].message, "Retry limit is required.");
        assert!(
            problems(&schema, &fields(json!({"retries": 5})))
                .unwrap()
                .is_empty()
        );
        // A huge number is a number out of range, not a crash or a wrap-around.
        let huge = problems(&schema, &fields(json!({"retries": 1e26}))).unwrap();
        assert_eq!(huge[0].path, "/retries");
    }

    #[test]
    fn messages_never_repeat_the_value() {
        let schema = json!({"type": "object", "maxProperties": 1, "properties": {
            "secret": {"writeOnly": true, "not": {"const": "hunter2"}},
            "list": {"contains": {"const": 1}}
        }});
        let found = problems(
            &schema,
            &fields(json!({"secret": "hunter2", "list": ["hunter2"]})),
        )
        .unwrap();
        assert!(found.len() >= 3, "{found:?}");
        for problem in &found {
            assert!(!problem.message.contains("hunter2"), "{problem:?}");
        }
    }

    #[test]
    fn each_key_the_schema_does_not_allow_is_a_problem_of_its_own() {
        let schema =
            json!({"type": "object", "properties": {"a": {}}, "additionalProperties": false});
        let before = problems(&schema, &fields(json!({"a": 1, "x": 1}))).unwrap();
        let after = problems(&schema, &fields(json!({"a": 1, "x": 1, "y": 2}))).unwrap();
        let new = added(&before, &after);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].path, "/y");
    }

    #[test]
    fn write_only_places_are_found_beside_refs_and_inside_parents() {
        let schema = json!({
            "$defs": {"s": {"type": "string"}, "hidden": {"type": "string", "writeOnly": true}},
            "properties": {
                "a": {"$ref": "#/$defs/s", "writeOnly": true},
                "b": {"$ref": "#/$defs/hidden"},
                "c": {"writeOnly": true, "type": "object"},
                "d": {"type": "object", "additionalProperties": {"writeOnly": true}},
                "e": {"type": "string"}
            }
        });
        let t = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(is_write_only(&schema, &t(&["a"])));
        assert!(is_write_only(&schema, &t(&["b"])));
        assert!(is_write_only(&schema, &t(&["c", "inner"])));
        assert!(is_write_only(&schema, &t(&["d", "anything"])));
        assert!(!is_write_only(&schema, &t(&["e"])));
        // Beside a `$ref`, and in the branches of allOf / anyOf / oneOf.
        let beside = json!({
            "$defs": {"base": {"type": "object", "properties": {"open": {"type": "string"}}}},
            "$ref": "#/$defs/base",
            "properties": {"pw": {"writeOnly": true}},
            "allOf": [{"properties": {"key": {"writeOnly": true}}}],
            "anyOf": [{"properties": {"nested": {"properties": {"deep": {"writeOnly": true}}}}}]
        });
        assert!(is_write_only(&beside, &t(&["pw"])));
        assert!(is_write_only(&beside, &t(&["key"])));
        assert!(is_write_only(&beside, &t(&["nested", "deep"])));
        assert!(!is_write_only(&beside, &t(&["open"])));
        assert!(!is_write_only(&beside, &t(&["nested", "other"])));
        assert!(!is_write_only(&schema, &t(&["z"])));
    }

    #[test]
    fn suggesting_for_deeply_nested_lists_is_quick() {
        let mut value = json!(1);
        for _ in 0..60 {
            value = Value::Array(vec![value]);
        }
        let started = std::time::Instant::now();
        let schema = suggest(&fields(json!({ "a": value })));
        assert!(schema["properties"]["a"]["type"] == "array");
        // Once per item: three times per level would be 3^60 steps.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn only_new_problems_count() {
        let schema = retry_schema();
        let before = problems(&schema, &fields(json!({"retries": 99, "code": "ABC"}))).unwrap();
        let same = problems(&schema, &fields(json!({"retries": 98, "code": "ABD"}))).unwrap();
        assert!(
            added(&before, &same).is_empty(),
            "the same rule broken at the same place"
        );
        let worse = problems(&schema, &fields(json!({"retries": 98, "code": "x"}))).unwrap();
        let new = added(&before, &worse);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].path, "/code");
    }

    #[test]
    fn a_bad_schema_is_refused_with_where() {
        let error = compile(&json!({"type": "integer", "minimum": "zero"})).unwrap_err();
        assert!(error.to_string().contains("/minimum"), "{error}");
        assert!(compile(&json!([1])).is_err());
        assert!(compile(&json!({"$ref": "https://example.com/s.json"})).is_err());
    }

    #[test]
    fn suggested_schemas_match_their_value() {
        let value = fields(json!({"a": 1, "b": [1, 2], "c": {"d": "x", "e": null}, "f": 1.5}));
        let schema = suggest(&value);
        assert!(problems(&schema, &value).unwrap().is_empty());
        assert_eq!(schema["properties"]["a"]["type"], "integer");
        assert_eq!(
            schema["properties"]["c"]["properties"]["d"]["type"],
            "string"
        );
        let keys: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b", "c", "f"]);
        assert!(
            !problems(&schema, &fields(json!({"a": "one"})))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn subschemas_are_found_through_properties_items_and_refs() {
        let schema = json!({
            "$defs": {"port": {"type": "integer", "title": "Port"}},
            "properties": {"servers": {"type": "array", "items": {"properties": {"port": {"$ref": "#/$defs/port"}}}}}
        });
        let tokens: Vec<String> = ["servers", "0", "port"].map(String::from).into();
        assert_eq!(at_path(&schema, &tokens).unwrap()["title"], "Port");
        assert!(at_path(&schema, &["nope".to_owned()]).is_none());
        let choices = choices(at_path(&retry_schema(), &["mode".to_owned()])).unwrap();
        assert_eq!(choices[1].label, "Safe");
        assert_eq!(choices[1].value, json!("safe"));
    }
}
