//! `.env` in: `KEY=value` lines, into configurations.
//!
//! - **A Confo export** (`confo export --format env`) names its configurations in its `# ns/cfg`
//!   lines and the separator in its first line. Each key loses its `NS__CFG__` start; the rest is
//!   split on the separator into nested fields, lower-cased as most field names are.
//! - **Any other `.env` file** is one configuration, named with [`EnvOptions::into`]; its keys
//!   are kept as written, split into nested fields only when a separator is given.
//! - Values come in as text (`.env` has no types). Where a split leaves an object whose keys are
//!   exactly `0`, `1`, …, it is a list again.
//! - Lines: `KEY=value`, `export KEY=value`, `# comments`; a value may be `"double-quoted"` (with
//!   `\n`, `\"`, `\\`, `\$`), `'single-quoted'` (as written) or bare (up to a ` #` comment). A key
//!   written twice, a line that is none of these, or a key that is both a value and a group is
//!   refused with the line.

use serde_json::{Map, Value};

use super::{Building, Incoming, bad_file};
use crate::error::Result;
use crate::export::env_part;

/// How an `.env` file that is not a Confo export is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvOptions {
    /// The configuration it becomes, `namespace/configuration`.
    pub into: Option<String>,
    /// What splits a key into nested fields (none: every key is one field).
    pub separator: Option<String>,
}

/// What a Confo export's first line starts with.
pub(crate) const EXPORT_HEADER: &str = "# Confo export, ";

/// Where a Confo export of `.env` says which separator it joined keys with.
pub(crate) const SEPARATOR_NOTE: &str = "; keys joined by ";

/// Reads `text` (named `file` in errors).
pub(super) fn parse(file: &str, text: &str, options: &EnvOptions) -> Result<Incoming> {
    let at = |line: usize, why: String| bad_file(file, format!("{why} (line {line})"));
    let first = text.lines().next().unwrap_or_default();
    let exported = first.starts_with(EXPORT_HEADER);
    let separator = if exported {
        if options.into.is_some() {
            return Err(bad_file(
                file,
                "is a Confo export, which names its own configurations; import it without saying where it goes",
            ));
        }
        Some(
            first
                .split_once(SEPARATOR_NOTE)
                .and_then(|(_, s)| serde_json::from_str::<String>(s.trim()).ok())
                .unwrap_or_else(|| "__".to_owned()),
        )
    } else {
        options.separator.clone().filter(|s| !s.is_empty())
    };
    // The configuration the lines go into, and the start each key has there.
    let mut current: Option<(String, String, String)> = match (exported, &options.into) {
        (true, _) => None,
        (false, Some(into)) => {
            let (namespace, configuration) = into.split_once('/').ok_or_else(|| {
                bad_file(
                    file,
                    format!("goes into {into:?}, which is not namespace/configuration"),
                )
            })?;
            Some((
                namespace.to_owned(),
                configuration.to_owned(),
                String::new(),
            ))
        }
        (false, None) => {
            return Err(bad_file(
                file,
                "is an .env file, which does not say which configuration it is: give the configuration it becomes, as namespace/configuration",
            ));
        }
    };
    // Lines in the order read: (namespace, configuration) → [(line, key path, value)].
    type Line = (usize, Vec<String>, String);
    let mut read: Vec<((String, String), Vec<Line>)> = Vec::new();
    let mut positions: std::collections::HashMap<(String, String), usize> =
        std::collections::HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if let Some(comment) = trimmed.strip_prefix('#') {
            // A Confo export names each configuration before its lines.
            let comment = comment.trim();
            // (The first line, which says it is an export, has spaces: never a section.)
            if exported
                && !comment.contains(char::is_whitespace)
                && let Some((namespace, configuration)) = comment.split_once('/')
            {
                let sep = separator.as_deref().unwrap_or_default();
                let start = format!(
                    "{}{sep}{}{sep}",
                    env_part(namespace),
                    env_part(configuration)
                );
                current = Some((namespace.to_owned(), configuration.to_owned(), start));
            }
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        let (key, value) = line_parts(trimmed).map_err(|why| at(number, why))?;
        let Some((namespace, configuration, start)) = &current else {
            return Err(at(
                number,
                "comes before the line naming its configuration (# namespace/configuration)".into(),
            ));
        };
        let rest = key.strip_prefix(start.as_str()).ok_or_else(|| {
            at(
                number,
                format!("has the key {key}, which does not start with {start} as its configuration's keys do"),
            )
        })?;
        let path: Vec<String> = match &separator {
            Some(sep) => rest
                .split(sep.as_str())
                .map(|p| {
                    if exported {
                        p.to_lowercase()
                    } else {
                        p.to_owned()
                    }
                })
                .collect(),
            None => vec![rest.to_owned()],
        };
        if path.iter().any(String::is_empty) {
            return Err(at(number, format!("has the key {key}, with an empty part")));
        }
        if path.len() >= super::MAX_DEPTH {
            return Err(at(
                number,
                format!(
                    "has the key {key}, which nests deeper than {} levels",
                    super::MAX_DEPTH
                ),
            ));
        }
        let target = (namespace.clone(), configuration.clone());
        let at_target = *positions.entry(target.clone()).or_insert_with(|| {
            read.push((target, Vec::new()));
            read.len() - 1
        });
        read[at_target].1.push((number, path, value));
    }
    let mut building = Building::default();
    if let Some((namespace, configuration, _)) = &current
        && !exported
        && read.is_empty()
    {
        read.push(((namespace.clone(), configuration.clone()), Vec::new()));
    }
    for ((namespace, configuration), lines) in read {
        let mut fields = Map::new();
        for (number, path, value) in lines {
            set(&mut fields, &path, value).map_err(|why| at(number, why))?;
        }
        let fields = lists(Value::Object(fields));
        let Value::Object(fields) = fields else {
            unreachable!("an object stays an object at the top")
        };
        building
            .configurations(&namespace)
            .push((configuration, fields));
    }
    Ok(building.incoming)
}

/// A line's key and value.
fn line_parts(line: &str) -> std::result::Result<(String, String), String> {
    let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
    let (key, value) = line
        .split_once('=')
        .ok_or_else(|| "is not KEY=value".to_owned())?;
    let key = key.trim();
    let valid = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid {
        return Err(format!(
            "has the key {key:?}; keys are letters, digits, '_', '.' and '-'"
        ));
    }
    Ok((key.to_owned(), value_of(value.trim())?))
}

fn value_of(raw: &str) -> std::result::Result<String, String> {
    let after_quote = |rest: &str| {
        let rest = rest.trim();
        if rest.is_empty() || rest.starts_with('#') {
            Ok(())
        } else {
            Err(format!("has {rest:?} after a quoted value"))
        }
    };
    if let Some(body) = raw.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    after_quote(&body[i + 1..])?;
                    return Ok(out);
                }
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some(c @ ('\\' | '"' | '$' | '\'')) => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err("has a double quote that is not closed on its line".into());
    }
    if let Some(body) = raw.strip_prefix('\'') {
        let (value, rest) = body
            .split_once('\'')
            .ok_or_else(|| "has a single quote that is not closed on its line".to_owned())?;
        after_quote(rest)?;
        return Ok(value.to_owned());
    }
    let bare = match raw.find(" #") {
        Some(at) => &raw[..at],
        None => raw,
    };
    Ok(bare.trim().to_owned())
}

/// Sets `value` at `path` in `fields`.
fn set(
    fields: &mut Map<String, Value>,
    path: &[String],
    value: String,
) -> std::result::Result<(), String> {
    let (last, groups) = path.split_last().expect("a key has a part");
    let mut here = fields;
    for (depth, part) in groups.iter().enumerate() {
        let entry = here
            .entry(part.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        here = match entry {
            Value::Object(map) => map,
            _ => {
                return Err(format!(
                    "makes {} a group, but it has a value of its own",
                    path[..=depth].join(" → ")
                ));
            }
        };
    }
    match here.get(last) {
        Some(Value::Object(_)) => Err(format!(
            "gives {} a value, but it is a group of other keys",
            path.join(" → ")
        )),
        Some(_) => Err(format!("writes {} a second time", path.join(" → "))),
        None => {
            here.insert(last.clone(), Value::String(value));
            Ok(())
        }
    }
}

/// Objects whose keys are exactly `0`, `1`, … in order become lists.
fn lists(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let is_list = !map.is_empty()
                && map
                    .keys()
                    .enumerate()
                    .all(|(i, k)| k.parse::<usize>() == Ok(i) && *k == i.to_string());
            if is_list {
                Value::Array(map.into_iter().map(|(_, v)| lists(v)).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, lists(v))).collect())
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn into(into: &str, separator: Option<&str>) -> EnvOptions {
        EnvOptions {
            into: Some(into.into()),
            separator: separator.map(str::to_owned),
        }
    }

    #[test]
    fn a_plain_file_is_one_configuration_with_its_keys_as_written() {
        let text = "# settings\nexport DB_HOST=db.local # the primary\nDB_PORT='5432'\nGREETING=\"hi \\\"you\\\"\\n\"\nEMPTY=\n";
        let read = parse("app.env", text, &into("shop/app", None)).unwrap();
        assert_eq!(read[0].0, "shop");
        assert_eq!(read[0].1[0].0, "app");
        assert_eq!(
            Value::Object(read[0].1[0].1.clone()),
            json!({"DB_HOST": "db.local", "DB_PORT": "5432", "GREETING": "hi \"you\"\n", "EMPTY": ""})
        );
        let nested = parse(
            "app.env",
            "DB__HOST=a\nDB__PORTS__0=1\nDB__PORTS__1=2\n",
            &into("shop/app", Some("__")),
        )
        .unwrap();
        assert_eq!(
            Value::Object(nested[0].1[0].1.clone()),
            json!({"DB": {"HOST": "a", "PORTS": ["1", "2"]}})
        );
    }

    #[test]
    fn a_confo_export_names_its_configurations() {
        let text = "# Confo export, now; keys joined by \".\"\n\n# shop/db\nSHOP.DB.HOST=a\nSHOP.DB.SERVERS.0.PORT=1\n\n# shop/web\nSHOP.WEB.ON=true\n";
        let read = parse("confo.env", text, &EnvOptions::default()).unwrap();
        assert_eq!(read.len(), 1);
        let configurations: Vec<(&str, Value)> = read[0]
            .1
            .iter()
            .map(|(n, f)| (n.as_str(), Value::Object(f.clone())))
            .collect();
        assert_eq!(
            configurations,
            vec![
                ("db", json!({"host": "a", "servers": [{"port": "1"}]})),
                ("web", json!({"on": "true"}))
            ]
        );
    }

    #[test]
    fn what_cannot_be_read_is_refused_with_the_line() {
        let err = |text: &str, options: &EnvOptions| {
            parse("a.env", text, options).unwrap_err().to_string()
        };
        let plain = into("shop/app", Some("__"));
        let twice = err("A=1\nB=2\nA=3\n", &plain);
        assert!(
            twice.contains("A a second time") && twice.contains("line 3"),
            "{twice}"
        );
        let group = err("A=1\nA__B=2\n", &plain);
        assert!(
            group.contains("a value of its own") && group.contains("line 2"),
            "{group}"
        );
        let quote = err("A=\"open\n", &plain);
        assert!(
            quote.contains("not closed") && quote.contains("line 1"),
            "{quote}"
        );
        let junk = err("just words\n", &plain);
        assert!(junk.contains("is not KEY=value"), "{junk}");
        let nowhere = err("A=1\n", &EnvOptions::default());
        assert!(
            nowhere.contains("does not say which configuration"),
            "{nowhere}"
        );
        let wrong = err(
            "# Confo export, now; keys joined by \"__\"\n# shop/db\nOTHER__X=1\n",
            &EnvOptions::default(),
        );
        assert!(wrong.contains("does not start with SHOP__DB__"), "{wrong}");
        for (text, options, said) in [
            ("A__B=1\nA=2\n", &plain, "is a group of other keys (line 2)"),
            ("A____B=1\n", &plain, "with an empty part (line 1)"),
            ("1A=x\n", &plain, "keys are letters"),
            ("A=\"x\" y\n", &plain, "has \"y\" after a quoted value"),
            ("A='x\n", &plain, "single quote that is not closed"),
            (
                "A=1\n",
                &into("shop", None),
                "which is not namespace/configuration",
            ),
            (
                "# Confo export, now\nSHOP__DB__A=1\n",
                &EnvOptions::default(),
                "comes before the line naming its configuration (# namespace/configuration) (line 2)",
            ),
            (
                "# Confo export, now\n# shop/db\nSHOP__DB__A=1\n",
                &into("shop/app", None),
                "names its own configurations",
            ),
        ] {
            let said_now = err(text, options);
            assert!(said_now.contains(said), "{text:?}: {said_now}");
        }
    }

    #[test]
    fn values_quotes_comments_and_what_stays_an_object() {
        let text = "A=\"t\\tab \\$HOME \\\\ \\q\" # note\nB=x#y\nC= spaced  # note\nL__0=a\nL__2=c\nM__1=b\nN__01=z\nP__0=a\nP__01=b\n";
        let read = parse("a.env", text, &into("shop/app", Some("__"))).unwrap();
        assert_eq!(
            Value::Object(read[0].1[0].1.clone()),
            json!({"A": "t\tab $HOME \\ \\q", "B": "x#y", "C": "spaced",
                   "L": {"0": "a", "2": "c"}, "M": {"1": "b"}, "N": {"01": "z"}, "P": {"0": "a", "01": "b"}})
        );
        // An empty file is an empty configuration.
        let empty = parse("a.env", "# nothing\n", &into("shop/app", None)).unwrap();
        assert_eq!(empty[0].1[0].0, "app");
        assert!(empty[0].1[0].1.is_empty());
        // A Confo export without its separator note is read with `__`.
        let old = parse(
            "a.env",
            "# Confo export, now\n# shop/db\nSHOP__DB__A__B=1\n",
            &EnvOptions::default(),
        )
        .unwrap();
        assert_eq!(
            Value::Object(old[0].1[0].1.clone()),
            json!({"a": {"b": "1"}})
        );
    }
}
