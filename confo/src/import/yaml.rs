//! YAML in: one document read as YAML 1.2 (core schema) into a JSON value.
//!
//! Built from the parser's events rather than from a loaded tree, so that what a loader lets
//! through is refused here with the line: a key written twice in one mapping, an alias inside
//! the node its anchor names (a cycle), and aliases that expand the document past
//! [`super::MAX_FILE_BYTES`] (a few lines can otherwise name a billion values). Merge keys
//! (`<<: *defaults`) are followed, the mapping's own keys winning. Plain scalars are resolved as
//! the core schema says (`yes` and `on` are text); numbers keep the digits written, made into
//! JSON's spelling where YAML's differs (`+1`, `.5`, `0x1F`); `.inf` and `.nan` are refused.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

use super::{MAX_DEPTH, MAX_FILE_BYTES, bad_file};

/// What a node costs in memory beyond its text, roughly: the measure of how far aliases may
/// expand a document.
const NODE_COST: u64 = 32;

/// How many times its size a document may expand to through aliases (by [`NODE_COST`]).
const EXPANSION: u64 = 64;

/// How deep a document may nest: a configuration's fields [`MAX_DEPTH`] deep, inside its
/// namespace and configuration.
const DOCUMENT_DEPTH: usize = MAX_DEPTH + 2;
use crate::error::Result;

/// An open collection: its value so far, its anchor, and what its contents cost.
enum Open {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
        cost: u64,
    },
    Mapping {
        map: Map<String, Value>,
        /// The key read, waiting for its value.
        key: Option<(String, usize)>,
        /// What merge keys bring in, added at the end where the mapping has no such key.
        merged: Map<String, Value>,
        anchor: usize,
        cost: u64,
    },
}

/// Parses `text` (named `file` in errors) into one value; an empty document is `null`.
pub(super) fn parse(file: &str, text: &str) -> Result<Value> {
    let mut parser = Parser::new_from_str(text);
    let mut open: Vec<Open> = Vec::new();
    // What each anchor names, and what it costs to repeat.
    let mut anchors: HashMap<usize, (Value, u64)> = HashMap::new();
    let mut total: u64 = 0;
    // Aliases may expand a document to 64 times its size (at least 64 MiB, at most 2 GiB), never
    // further: a document without aliases stays well within it (minified JSON of one-digit
    // numbers costs about 17 times its size).
    let ceiling = (text.len() as u64)
        .saturating_mul(EXPANSION)
        .clamp(MAX_FILE_BYTES, 32 * MAX_FILE_BYTES);
    let mut document: Option<Value> = None;
    let mut documents = 0;
    loop {
        let (event, mark) = parser
            .next_token()
            .map_err(|e| bad_file(file, format!("is not valid YAML: {e}")))?;
        let at = |why: String| bad_file(file, format!("{why} (line {})", mark.line()));
        // A finished node: its value, its anchor, and its cost (what repeating it adds).
        let done: Option<(Value, usize, u64)> = match event {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(at(
                        "holds more than one document; an import reads one".into()
                    ));
                }
                None
            }
            Event::Scalar(text, style, anchor, tag) => {
                let cost = NODE_COST + text.len() as u64;
                total += cost;
                Some((scalar(text, style, tag.as_ref()).map_err(at)?, anchor, cost))
            }
            Event::Alias(id) => {
                if open.iter().any(|o| o.anchor() == id) {
                    return Err(at(
                        "has an alias inside the node its anchor names, which would repeat without end"
                            .into(),
                    ));
                }
                let (value, cost) = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| at("has an alias to an anchor not yet defined".into()))?;
                total += cost;
                Some((value, 0, cost))
            }
            Event::SequenceStart(anchor, tag) => {
                collection_tag(tag.as_ref(), "seq").map_err(at)?;
                too_deep(open.len()).map_err(at)?;
                total += NODE_COST;
                open.push(Open::Sequence {
                    items: Vec::new(),
                    anchor,
                    cost: NODE_COST,
                });
                None
            }
            Event::MappingStart(anchor, tag) => {
                collection_tag(tag.as_ref(), "map").map_err(at)?;
                too_deep(open.len()).map_err(at)?;
                total += NODE_COST;
                open.push(Open::Mapping {
                    map: Map::new(),
                    key: None,
                    merged: Map::new(),
                    anchor,
                    cost: NODE_COST,
                });
                None
            }
            Event::SequenceEnd => match open.pop() {
                Some(Open::Sequence {
                    items,
                    anchor,
                    cost,
                }) => Some((Value::Array(items), anchor, cost)),
                _ => unreachable!("the parser ends only what it started"),
            },
            Event::MappingEnd => match open.pop() {
                Some(Open::Mapping {
                    mut map,
                    merged,
                    anchor,
                    cost,
                    ..
                }) => {
                    for (key, value) in merged {
                        map.entry(key).or_insert(value);
                    }
                    Some((Value::Object(map), anchor, cost))
                }
                _ => unreachable!("the parser ends only what it started"),
            },
        };
        let expanded = |total: u64| {
            if total > ceiling {
                Err(at(
                    "expands to more than 64 times its size: its aliases repeat more than an import reads"
                        .into(),
                ))
            } else {
                Ok(())
            }
        };
        // Each scalar, alias and collection counted once: the document as its aliases expand.
        expanded(total)?;
        let Some((value, anchor, cost)) = done else {
            continue;
        };
        if anchor != 0 {
            // The anchor keeps a copy: counted as well.
            total += cost;
            expanded(total)?;
            anchors.insert(anchor, (value.clone(), cost));
        }
        match open.last_mut() {
            None => document = Some(value),
            Some(Open::Sequence { items, cost: c, .. }) => {
                *c += cost;
                items.push(value);
            }
            Some(Open::Mapping {
                map,
                key,
                merged,
                cost: c,
                ..
            }) => {
                *c += cost;
                match key.take() {
                    None => {
                        let name = match value {
                            Value::String(s) => s,
                            Value::Null => String::new(),
                            Value::Bool(_) | Value::Number(_) => value.to_string(),
                            Value::Array(_) | Value::Object(_) => {
                                return Err(at(
                                    "has a list or mapping as a key; keys are text".into()
                                ));
                            }
                        };
                        if map.contains_key(&name) {
                            return Err(at(format!(
                                "writes the key {name:?} twice in one mapping"
                            )));
                        }
                        *key = Some((name, mark.line()));
                    }
                    Some((name, _)) if name == "<<" => merge(merged, value).map_err(at)?,
                    Some((name, _)) => {
                        map.insert(name, value);
                    }
                }
            }
        }
    }
    Ok(document.unwrap_or(Value::Null))
}

/// Refuses a collection opened `open` levels deep past [`DOCUMENT_DEPTH`].
fn too_deep(open: usize) -> std::result::Result<(), String> {
    if open >= DOCUMENT_DEPTH {
        Err(format!(
            "nests deeper than {MAX_DEPTH} levels inside a configuration"
        ))
    } else {
        Ok(())
    }
}

impl Open {
    fn anchor(&self) -> usize {
        match self {
            Open::Sequence { anchor, .. } | Open::Mapping { anchor, .. } => *anchor,
        }
    }
}

/// `<<: mapping` or `<<: [mapping, …]`: the earlier mapping wins where they share a key.
fn merge(merged: &mut Map<String, Value>, value: Value) -> std::result::Result<(), String> {
    let from = match value {
        Value::Object(map) => vec![map],
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Ok(map),
                _ => Err(()),
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|()| "merges something that is not a mapping (<<)".to_owned())?,
        _ => return Err("merges something that is not a mapping (<<)".into()),
    };
    for map in from {
        for (key, value) in map {
            merged.entry(key).or_insert(value);
        }
    }
    Ok(())
}

/// The core schema's tags, as written after `!!`.
fn core_tag(tag: Option<&Tag>) -> std::result::Result<Option<&str>, String> {
    match tag {
        None => Ok(None),
        Some(tag) if tag.handle == "tag:yaml.org,2002:" => Ok(Some(tag.suffix.as_str())),
        // `!` alone: the non-specific tag, which makes a scalar text and leaves a collection
        // as it is.
        Some(tag) if tag.handle == "!" && tag.suffix.is_empty() => Ok(Some("!")),
        Some(tag) if tag.handle.is_empty() && tag.suffix == "!" => Ok(Some("!")),
        Some(tag) => Err(format!(
            "has the tag {}{}, which an import does not read",
            tag.handle, tag.suffix
        )),
    }
}

fn collection_tag(tag: Option<&Tag>, kind: &str) -> std::result::Result<(), String> {
    match core_tag(tag)? {
        None | Some("!") => Ok(()),
        Some(suffix) if suffix == kind => Ok(()),
        Some(suffix) => Err(format!(
            "tags a {} as !!{suffix}",
            if kind == "map" { "mapping" } else { "list" }
        )),
    }
}

fn scalar(
    text: String,
    style: TScalarStyle,
    tag: Option<&Tag>,
) -> std::result::Result<Value, String> {
    let resolve = |text: String| -> std::result::Result<Value, String> {
        if let Some(value) = plain_value(&text)? {
            Ok(value)
        } else {
            Ok(Value::String(text))
        }
    };
    match core_tag(tag)? {
        None if style == TScalarStyle::Plain => resolve(text),
        None => Ok(Value::String(text)),
        Some("str" | "!") => Ok(Value::String(text)),
        Some(kind @ ("int" | "float" | "bool" | "null")) => {
            let value = plain_value(&text)?;
            let fits = match (&value, kind) {
                (Some(Value::Number(n)), "int") => !n.to_string().contains(['.', 'e', 'E']),
                (Some(Value::Number(_)), "float") => true,
                (Some(Value::Bool(_)), "bool") | (Some(Value::Null), "null") => true,
                _ => false,
            };
            match value {
                Some(value) if fits => Ok(value),
                _ => Err(format!("tags {text:?} as !!{kind}, which it is not")),
            }
        }
        Some(other) => Err(format!(
            "has the tag !!{other}, which an import does not read"
        )),
    }
}

/// What a plain scalar is under the core schema: `None` for text.
fn plain_value(text: &str) -> std::result::Result<Option<Value>, String> {
    Ok(Some(match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            return Err(format!("holds {text}, which JSON cannot hold"));
        }
        _ => match number(text) {
            Some(n) => Value::Number(n),
            None if is_radix_integer(text) => {
                return Err(format!("holds {text}, a number too large to read"));
            }
            None => return Ok(None),
        },
    }))
}

/// Whether `text` is written as a hexadecimal or octal integer (`0x1F`, `0o17`).
fn is_radix_integer(text: &str) -> bool {
    let check =
        |digits: &str, radix: u32| !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
    text.strip_prefix("0x").is_some_and(|d| check(d, 16))
        || text.strip_prefix("0o").is_some_and(|d| check(d, 8))
}

/// A core-schema number in JSON's spelling, its digits kept.
fn number(text: &str) -> Option<Number> {
    let radix =
        |digits: &str, radix: u32| u64::from_str_radix(digits, radix).ok().map(Number::from);
    if let Some(digits) = text.strip_prefix("0x") {
        return radix(digits, 16);
    }
    if let Some(digits) = text.strip_prefix("0o") {
        return radix(digits, 8);
    }
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => ("-", &text[1..]),
        Some(b'+') => ("", &text[1..]),
        _ => ("", text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    // `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    let shape_ok = digits(whole)
        && fraction.is_none_or(digits)
        && (!whole.is_empty() || fraction.is_some_and(|f| !f.is_empty()))
        && exponent_ok;
    if !shape_ok {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    let mut json = format!("{sign}{}", if whole.is_empty() { "0" } else { whole });
    if let Some(fraction) = fraction {
        json.push('.');
        json.push_str(if fraction.is_empty() { "0" } else { fraction });
    }
    if let Some(exponent) = exponent {
        json.push('e');
        json.push_str(exponent);
    }
    json.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str) -> std::result::Result<Value, String> {
        parse("f.yaml", text).map_err(|e| e.to_string())
    }

    #[test]
    fn the_core_schema_is_followed() {
        let value = read(
            "a: 1.50\nb: +7\nc: .5\nd: 0x1F\ne: 0o17\nf: yes\ng: ~\nh: \"1\"\ni: !!str 2\nj: TRUE\nk: 1e5\nl: 007\nm: -0.0\nn: 12345678901234567890123\n",
        )
        .unwrap();
        assert_eq!(
            value.to_string(),
            r#"{"a":1.50,"b":7,"c":0.5,"d":31,"e":15,"f":"yes","g":null,"h":"1","i":"2","j":true,"k":1e+5,"l":7,"m":-0.0,"n":12345678901234567890123}"#
        );
    }

    #[test]
    fn core_tags_say_what_a_scalar_is() {
        let value =
            read("a: !!int \"12\"\nb: !!float 1\nc: !!str true\nd: !!null ~\ne: !!bool FALSE\nf: !!map {x: 1}\ng: ! 5\nh: 1.\ni: -.5e3\n")
                .unwrap();
        assert_eq!(
            value.to_string(),
            r#"{"a":12,"b":1,"c":"true","d":null,"e":false,"f":{"x":1},"g":"5","h":1.0,"i":-0.5e+3}"#
        );
        for (text, said) in [
            ("a: !!int 1.5\n", "tags \"1.5\" as !!int"),
            ("a: !!bool yes\n", "tags \"yes\" as !!bool"),
            ("a: !!seq {x: 1}\n", "tags a mapping as !!seq"),
            ("a: !custom x\n", "the tag !custom"),
            ("a: 0x1FFFFFFFFFFFFFFFFF\n", "a number too large to read"),
            ("a: {b: 1, b: 2}\n", "\"b\" twice"),
            ("<<: [1]\n", "merges something that is not a mapping"),
        ] {
            let error = read(text).unwrap_err();
            assert!(error.contains(said), "{text}: {error}");
        }
    }

    #[test]
    fn merge_keys_are_followed_and_the_mappings_own_keys_win() {
        let value =
            read("base: &b {host: a, port: 1}\nthis:\n  port: 2\n  <<: *b\n  more: [*b, x]\n")
                .unwrap();
        assert_eq!(
            value,
            json!({"base": {"host": "a", "port": 1},
                   "this": {"port": 2, "more": [{"host": "a", "port": 1}, "x"], "host": "a"}})
        );
        // A list of mappings: the earlier wins where they share a key.
        let listed = read("a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n").unwrap();
        assert_eq!(listed["c"], json!({"x": 1, "y": 1, "z": 2}));
    }

    #[test]
    fn what_a_loader_lets_through_is_refused_with_the_line() {
        let twice = read("a: 1\nb:\n  c: 1\n  c: 2\n").unwrap_err();
        assert!(
            twice.contains("\"c\" twice") && twice.contains("line 4"),
            "{twice}"
        );
        let cycle = read("a: &x\n  b: *x\n").unwrap_err();
        assert!(
            cycle.contains("without end") && cycle.contains("line 2"),
            "{cycle}"
        );
        let laughs = (1..12).fold("a: &a0 [\"lol\"]\n".to_owned(), |text, i| {
            let prev = i - 1;
            format!("{text}a{i}: &a{i} [*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev}]\n")
        });
        let laughs = read(&laughs).unwrap_err();
        assert!(
            laughs.contains("expands to more than 64 times its size"),
            "{laughs}"
        );
        // An anchor's copy counts: a deep anchored list repeated by its own nesting.
        let ones = vec!["1"; 2000].join(", ");
        let copies = (0..60).fold("x".to_owned(), |inner, _| format!("&a [{inner}, {ones}]"));
        let copies = read(&format!("a: {copies}\n")).unwrap_err();
        assert!(copies.contains("64 times its size"), "{copies}");
        // Without aliases, however small its values: read.
        let plain = format!("a: [{}]\n", vec!["1"; 1_000_000].join(","));
        assert_eq!(
            read(&plain).unwrap()["a"].as_array().unwrap().len(),
            1_000_000
        );
        let deep = read(&format!("a:\n{}x\n", "- ".repeat(70))).unwrap_err();
        assert!(deep.contains("nests deeper than 64 levels"), "{deep}");
        let broken = read("a: [1, 2\n").unwrap_err();
        assert!(
            broken.contains("not valid YAML") && broken.contains("line"),
            "{broken}"
        );
        let two = read("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(two.contains("more than one document"), "{two}");
        let inf = read("a: .inf\n").unwrap_err();
        assert!(inf.contains("JSON cannot hold"), "{inf}");
        let tag = read("a: !!binary aGk=\n").unwrap_err();
        assert!(tag.contains("!!binary"), "{tag}");
        let key = read("? [a]\n: 1\n").unwrap_err();
        assert!(key.contains("keys are text"), "{key}");
    }

    #[test]
    fn an_empty_document_is_null() {
        assert_eq!(read("# nothing\n").unwrap(), Value::Null);
    }
}
