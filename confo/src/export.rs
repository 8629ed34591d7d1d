//! Export: the configurations of one namespace, several, or every one a person may read, as a
//! file, written a namespace at a time (so that a large export is never held whole).
//!
//! | format | what | loss |
//! |---|---|---|
//! | `bundle` | JSON: each namespace's configurations with the revision each was read at, its named schemas and which schema each configuration follows | none |
//! | `json` | JSON: namespace → configuration → fields | none for values (no schemas, no revisions) |
//! | `yaml` | YAML: the same shape; strings double-quoted, numbers as written | none for values |
//! | `toml` | TOML: a table per configuration, `[namespace.configuration]` | `null` has no TOML form: such fields and list items are left out; numbers beyond TOML's integers or floats are written as the nearest float; each loss is listed in a comment |
//! | `env` | `.env`: one `NAMESPACE__CONFIGURATION__PATH=value` line per place holding a value (the separator is chosen) | types (every value is text), key case and characters other than letters, digits and `_`; two places that come out as the same key are listed in a comment |
//! | `tree` | `.tar.gz` in the original Confo's file layout: `<namespace>/<configuration>.json` | none for values (no schemas, no revisions) |
//!
//! Secret values (`writeOnly` in a configuration's schema) are written as
//! [`SECRET_PLACEHOLDER`] unless the export asks for them ([`Options::secrets`]).

use serde_json::{Map, Value};

use crate::audit::Action;
use crate::error::{Error, Result};
use crate::names::NamespaceName;
use crate::schema;
use crate::store::{Change, Decision, Draft, NamespaceSettings, Plan, SchemaChoice, Store};

/// What a secret value is exported as, unless asked for.
pub const SECRET_PLACEHOLDER: &str = "(write-only: not exported)";

/// A file format of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Bundle,
    Json,
    Yaml,
    Toml,
    /// `.env` lines, path parts joined by this separator.
    Env(String),
    /// The original Confo's file layout in a `.tar.gz`.
    Tree,
    /// The original Confo's file layout in a `.zip`.
    Zip,
}

impl Format {
    /// The format called `name` (`bundle`, `json`, `yaml`, `toml`, `env`, `tree`, `zip`), with the
    /// separator for `env` (`__` when empty).
    pub fn named(name: &str, separator: &str) -> Result<Self> {
        Ok(match name {
            "bundle" => Format::Bundle,
            "json" => Format::Json,
            "yaml" => Format::Yaml,
            "toml" => Format::Toml,
            "env" => {
                let separator = if separator.is_empty() {
                    "__"
                } else {
                    separator
                };
                if separator.len() > 8
                    || !separator
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
                {
                    return Err(Error::InvalidValue(format!(
                        "{separator:?} cannot separate the parts of an .env key; use up to 8 letters, digits, '_', '.' or '-'"
                    )));
                }
                Format::Env(separator.to_owned())
            }
            "tree" => Format::Tree,
            "zip" => Format::Zip,
            other => {
                return Err(Error::InvalidValue(format!(
                    "{other:?} is not an export format; use bundle, json, yaml, toml, env, tree or zip"
                )));
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Format::Bundle => "bundle",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Toml => "toml",
            Format::Env(_) => "env",
            Format::Tree => "tree",
            Format::Zip => "zip",
        }
    }

    /// The file name an export in this format is offered as.
    pub fn file_name(&self) -> &'static str {
        match self {
            Format::Bundle => "confo-bundle.json",
            Format::Json => "confo.json",
            Format::Yaml => "confo.yaml",
            Format::Toml => "confo.toml",
            Format::Env(_) => "confo.env",
            Format::Tree => "confo.tar.gz",
            Format::Zip => "confo.zip",
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Bundle | Format::Json => "application/json",
            Format::Yaml => "application/yaml",
            Format::Toml => "application/toml",
            Format::Env(_) => "text/plain; charset=utf-8",
            Format::Tree => "application/gzip",
            Format::Zip => "application/zip",
        }
    }
}

/// How to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub format: Format,
    /// Write secret values as they are (for administrators; audited).
    pub secrets: bool,
}

/// One namespace as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceExport {
    pub name: String,
    pub settings: NamespaceSettings,
    /// The revision of the settings as read (0: it has none).
    pub settings_revision: i64,
    /// By name.
    pub configurations: Vec<ConfigurationExport>,
}

/// One configuration as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigurationExport {
    pub name: String,
    pub fields: Map<String, Value>,
    /// The revision it was read at.
    pub revision: i64,
}

impl Store {
    /// Reads namespace `namespace` for an export: its settings, and every configuration stored
    /// under its prefix that no other listed namespace may own, in the order the namespace
    /// lists them, with the revision each was read at (one range read, so one moment of the
    /// store), and the settings as they were while it was read. A value that is not a JSON
    /// object is an error naming its key.
    pub async fn export_namespace(&self, namespace: &NamespaceName) -> Result<NamespaceExport> {
        let listed = self.list_namespaces().await?;
        self.export_listed_namespace(namespace, &listed).await
    }

    /// [`Store::export_namespace`] with the namespace list already read (`listed`), for an
    /// export or import of many namespaces: one read of the list for all of them.
    pub async fn export_listed_namespace(
        &self,
        namespace: &NamespaceName,
        listed: &[String],
    ) -> Result<NamespaceExport> {
        if !listed.iter().any(|n| n == namespace.as_str()) {
            return Err(Error::NotFound(format!("namespace {namespace:?}")));
        }
        let (settings, owned) = self.read_namespace_whole(namespace, listed).await?;
        let mut configurations = Vec::with_capacity(owned.len());
        for (name, kv) in owned {
            configurations.push(ConfigurationExport {
                name,
                fields: crate::store::as_object(&kv)?,
                revision: kv.mod_revision,
            });
        }
        // In the order the namespace lists them (the order they are created in on import),
        // then those stored without being listed, by name.
        let listing = self.list_configurations(namespace).await?;
        let positions: std::collections::HashMap<&str, usize> = listing
            .registered
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        configurations.sort_by_cached_key(|c| {
            (
                positions
                    .get(c.name.as_str())
                    .copied()
                    .unwrap_or(usize::MAX),
                c.name.clone(),
            )
        });
        Ok(NamespaceExport {
            name: namespace.to_string(),
            settings: settings.settings,
            settings_revision: settings.revision,
            configurations,
        })
    }
}

impl Store {
    /// Records an export of `namespaces` in `format` (with secret values or not) in the audit
    /// log, as `configuration.export`: before the file is written, so that an export cut short
    /// is recorded too.
    pub async fn record_export(
        &self,
        namespaces: &[String],
        format: &str,
        secrets: bool,
        change: &Change,
    ) -> Result<crate::store::Written> {
        const NAMED: usize = 20;
        let mut listed = namespaces
            .iter()
            .take(NAMED)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if namespaces.len() > NAMED {
            listed.push_str(&format!(" and {} more", namespaces.len() - NAMED));
        }
        let what = format!(
            "exported {} {} as {format}{}: {listed}",
            namespaces.len(),
            if namespaces.len() == 1 {
                "namespace"
            } else {
                "namespaces"
            },
            if secrets { ", with secret values" } else { "" },
        );
        let comment = match &change.comment {
            Some(own) => format!("{what} ({own})"),
            None => what,
        };
        let single = (namespaces.len() == 1).then(|| namespaces[0].clone());
        self.commit(change, Vec::new(), move |_| {
            let mut draft = Draft::event(Action::ConfigurationExport);
            draft.namespace = single.clone();
            draft.comment = Some(comment.clone());
            Ok(Decision::Write(Plan {
                drafts: vec![draft],
                ..Plan::default()
            }))
        })
        .await
    }
}

/// Replaces each secret value of `fields` (by `schema`) with [`SECRET_PLACEHOLDER`].
pub fn mask(fields: &mut Map<String, Value>, schema: &Value) {
    fn walk(value: &mut Value, schema: &Value, tokens: &mut Vec<String>) {
        if schema::is_write_only(schema, tokens) {
            *value = Value::String(SECRET_PLACEHOLDER.to_owned());
            return;
        }
        match value {
            Value::Object(map) => {
                for (key, inner) in map.iter_mut() {
                    tokens.push(key.clone());
                    walk(inner, schema, tokens);
                    tokens.pop();
                }
            }
            Value::Array(items) => {
                for (i, inner) in items.iter_mut().enumerate() {
                    tokens.push(i.to_string());
                    walk(inner, schema, tokens);
                    tokens.pop();
                }
            }
            _ => {}
        }
    }
    let mut tokens = Vec::new();
    for (key, value) in fields.iter_mut() {
        tokens.push(key.clone());
        walk(value, schema, &mut tokens);
        tokens.pop();
    }
}

/// Writes an export a namespace at a time: [`Writer::start`], [`Writer::namespace`] for each,
/// [`Writer::finish`]; each answers the bytes to send next.
pub struct Writer {
    options: Options,
    first: bool,
    /// For `tree`: the archive, whose output is taken after each namespace.
    tree: Option<tar::Builder<flate2::write::GzEncoder<Vec<u8>>>>,
    /// For `zip`: the archive, written to a buffer whose bytes are taken after each namespace
    /// (a zip written as a stream: each file's sizes follow its data).
    zip: Option<(zip::ZipWriter<zip::write::StreamWriter<Taken>>, Taken)>,
}

/// A buffer that an archive writes to and the export takes from.
#[derive(Clone, Default)]
struct Taken(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Taken {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().expect("never poisoned"))
    }
}

impl std::io::Write for Taken {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("never poisoned")
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Writer {
    pub fn new(options: Options) -> Self {
        Self {
            options,
            first: true,
            tree: None,
            zip: None,
        }
    }

    /// The start of the file.
    pub fn start(&mut self, exported_at: &str) -> Vec<u8> {
        match &self.options.format {
            Format::Bundle => format!(
                "{{\"format\":\"confo-bundle\",\"version\":1,\"exported_at\":{},\"namespaces\":{{\n",
                Value::String(exported_at.to_owned())
            )
            .into_bytes(),
            Format::Json => b"{\n".to_vec(),
            Format::Yaml => format!("# Confo export, {exported_at}\n").into_bytes(),
            Format::Toml => format!("# Confo export, {exported_at}\n").into_bytes(),
            Format::Env(separator) => format!(
                "{}{exported_at}{}{}\n",
                crate::import::EXPORT_HEADER,
                crate::import::SEPARATOR_NOTE,
                Value::String(separator.clone())
            )
            .into_bytes(),
            Format::Tree => {
                self.tree = Some(tar::Builder::new(flate2::write::GzEncoder::new(
                    Vec::new(),
                    flate2::Compression::default(),
                )));
                Vec::new()
            }
            Format::Zip => {
                let taken = Taken::default();
                self.zip = Some((zip::ZipWriter::new_stream(taken.clone()), taken));
                Vec::new()
            }
        }
    }

    /// One namespace, its secret values masked unless asked for.
    pub fn namespace(&mut self, namespace: &NamespaceExport) -> Result<Vec<u8>> {
        if matches!(self.options.format, Format::Tree | Format::Zip) {
            Self::file_names(namespace)?;
        }
        let masked = self.masked(namespace);
        let first = std::mem::replace(&mut self.first, false);
        let comma = if first { "" } else { ",\n" };
        Ok(match &self.options.format {
            Format::Bundle => {
                let mut configurations = Map::new();
                for c in &masked {
                    configurations.insert(
                        c.name.clone(),
                        serde_json::json!({"revision": c.revision, "fields": c.fields}),
                    );
                }
                let mut body = Map::new();
                body.insert(
                    "schemas".into(),
                    serde_json::to_value(&namespace.settings.schemas)
                        .expect("schemas always serialise"),
                );
                let assignments: Map<String, Value> = namespace
                    .settings
                    .assignments
                    .iter()
                    .map(|(name, choice)| (name.clone(), assignment(choice)))
                    .collect();
                body.insert("assignments".into(), Value::Object(assignments));
                body.insert("configurations".into(), Value::Object(configurations));
                format!(
                    "{comma}{}:{}",
                    Value::String(namespace.name.clone()),
                    Value::Object(body)
                )
                .into_bytes()
            }
            Format::Json => {
                let configurations: Map<String, Value> = masked
                    .iter()
                    .map(|c| (c.name.clone(), Value::Object(c.fields.clone())))
                    .collect();
                format!(
                    "{comma}{}: {}",
                    Value::String(namespace.name.clone()),
                    serde_json::to_string_pretty(&Value::Object(configurations))
                        .expect("values always serialise")
                )
                .into_bytes()
            }
            Format::Yaml => {
                let mut out = String::new();
                out.push_str(&yaml_key(&namespace.name));
                if masked.is_empty() {
                    out.push_str(": {}\n");
                } else {
                    out.push_str(":\n");
                    for c in &masked {
                        out.push_str("  ");
                        out.push_str(&yaml_key(&c.name));
                        yaml_value(&mut out, &Value::Object(c.fields.clone()), 4, After::Key);
                    }
                }
                out.into_bytes()
            }
            Format::Toml => toml_namespace(&namespace.name, &masked).into_bytes(),
            Format::Env(separator) => {
                env_namespace(&namespace.name, &masked, separator).into_bytes()
            }
            Format::Tree => {
                let builder = self.tree.as_mut().expect("started");
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                header.set_mtime(0);
                builder
                    .append_data(
                        &mut header,
                        format!("{}/", namespace.name),
                        std::io::empty(),
                    )
                    .map_err(archive_error)?;
                for c in &masked {
                    let body = serde_json::to_vec_pretty(&Value::Object(c.fields.clone()))
                        .expect("values always serialise");
                    let mut header = tar::Header::new_gnu();
                    header.set_size(body.len() as u64);
                    header.set_mode(0o644);
                    header.set_mtime(0);
                    builder
                        .append_data(
                            &mut header,
                            format!("{}/{}.json", namespace.name, c.name),
                            body.as_slice(),
                        )
                        .map_err(archive_error)?;
                }
                std::mem::take(builder.get_mut().get_mut())
            }
            Format::Zip => {
                let (archive, taken) = self.zip.as_mut().expect("started");
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .unix_permissions(0o644);
                archive
                    .add_directory(
                        format!("{}/", namespace.name),
                        options.unix_permissions(0o755),
                    )
                    .map_err(zip_error)?;
                for c in &masked {
                    archive
                        .start_file(format!("{}/{}.json", namespace.name, c.name), options)
                        .map_err(zip_error)?;
                    serde_json::to_writer_pretty(&mut *archive, &Value::Object(c.fields.clone()))
                        .expect("values always serialise");
                }
                taken.take()
            }
        })
    }

    /// The end of the file.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        Ok(match &self.options.format {
            Format::Bundle => b"\n}}\n".to_vec(),
            Format::Json => b"\n}\n".to_vec(),
            Format::Yaml | Format::Toml | Format::Env(_) => Vec::new(),
            Format::Tree => {
                let builder = self.tree.take().expect("started");
                let encoder = builder.into_inner().map_err(archive_error)?;
                encoder.finish().map_err(archive_error)?
            }
            Format::Zip => {
                let (archive, taken) = self.zip.take().expect("started");
                archive.finish().map_err(zip_error)?;
                taken.take()
            }
        })
    }

    /// For the archive formats: every configuration's name is a file name (a name written by
    /// another tool may hold `/` or `..`).
    fn file_names(namespace: &NamespaceExport) -> Result<()> {
        for c in &namespace.configurations {
            if crate::names::ConfigurationName::new(&c.name).is_err() {
                return Err(Error::InvalidValue(format!(
                    "configuration {:?} of {} has a name that cannot be a file in an archive; export it as a bundle or JSON",
                    c.name, namespace.name
                )));
            }
        }
        Ok(())
    }

    fn masked(&self, namespace: &NamespaceExport) -> Vec<ConfigurationExport> {
        namespace
            .configurations
            .iter()
            .map(|c| {
                let mut c = c.clone();
                if !self.options.secrets
                    && let Some(schema) = namespace.settings.schema_of(&c.name)
                {
                    mask(&mut c.fields, schema);
                }
                c
            })
            .collect()
    }
}

fn archive_error(error: std::io::Error) -> Error {
    Error::InvalidValue(format!("cannot write the archive: {error}"))
}

fn zip_error(error: zip::result::ZipError) -> Error {
    Error::InvalidValue(format!("cannot write the archive: {error}"))
}

fn assignment(choice: &SchemaChoice) -> Value {
    serde_json::to_value(choice).expect("a schema choice always serialises")
}

/// A YAML key: plain when it cannot be read as anything but that text, else double-quoted.
fn yaml_key(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && !matches!(
            key.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

/// What a value follows in YAML: a mapping's key (`key` already written) or a list's `-`.
#[derive(Clone, Copy)]
enum After {
    Key,
    Dash,
}

/// A value after its key or dash: a scalar on the same line, or a block on the next lines at
/// `indent`.
fn yaml_value(out: &mut String, value: &Value, indent: usize, after: After) {
    let pad = " ".repeat(indent);
    let (block, inline) = match after {
        After::Key => (":\n", ": "),
        After::Dash => ("\n", " "),
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push_str(block);
            for (key, inner) in map {
                out.push_str(&pad);
                out.push_str(&yaml_key(key));
                yaml_value(out, inner, indent + 2, After::Key);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str(block);
            for inner in items {
                out.push_str(&pad);
                out.push('-');
                yaml_value(out, inner, indent + 2, After::Dash);
            }
        }
        scalar => {
            out.push_str(inline);
            out.push_str(&yaml_scalar(scalar));
            out.push('\n');
        }
    }
}

/// A scalar (or an empty list or object) as YAML: strings double-quoted with JSON's escapes
/// (a subset of YAML's), numbers as written.
fn yaml_scalar(value: &Value) -> String {
    match value {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

/// A namespace's configurations as TOML tables, with a comment for each value TOML cannot hold.
fn toml_namespace(namespace: &str, configurations: &[ConfigurationExport]) -> String {
    let mut out = String::new();
    for c in configurations {
        let mut losses = Vec::new();
        let mut table = toml::Table::new();
        for (key, value) in &c.fields {
            if let Some(v) = to_toml(value, key, &mut losses) {
                table.insert(key.clone(), v);
            }
        }
        let mut outer = toml::Table::new();
        let mut middle = toml::Table::new();
        middle.insert(c.name.clone(), toml::Value::Table(table));
        outer.insert(namespace.to_owned(), toml::Value::Table(middle));
        out.push('\n');
        for loss in &losses {
            out.push_str(&format!("# {namespace}/{}: {loss}\n", c.name));
        }
        out.push_str(&toml::to_string(&outer).unwrap_or_default());
    }
    out
}

fn to_toml(value: &Value, path: &str, losses: &mut Vec<String>) -> Option<toml::Value> {
    Some(match value {
        Value::Null => {
            losses.push(format!("{path} is null, which TOML cannot write; left out"));
            return None;
        }
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                toml::Value::Integer(i)
            } else {
                let f = n.to_string().parse::<f64>().unwrap_or(f64::NAN);
                if f.to_string() != n.to_string() {
                    losses.push(format!("{path} is {n}, written as {f}"));
                }
                toml::Value::Float(f)
            }
        }
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => toml::Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| to_toml(v, &format!("{path}/{i}"), losses))
                .collect(),
        ),
        Value::Object(map) => toml::Value::Table(
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), to_toml(v, &format!("{path}/{k}"), losses)?)))
                .collect(),
        ),
    })
}

/// An `.env` key part: upper case, anything but letters and digits as `_`.
pub(crate) fn env_part(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// An `.env` value: bare when it holds only safe characters, else double-quoted with `\`, `"`,
/// `$` and line breaks escaped.
fn env_value(value: &Value) -> String {
    let text = match value {
        Value::Null => return String::new(),
        Value::String(s) => s.clone(),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    };
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@+-,".contains(c))
    {
        return text;
    }
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '$' => quoted.push_str("\\$"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

fn env_namespace(
    namespace: &str,
    configurations: &[ConfigurationExport],
    separator: &str,
) -> String {
    let mut out = String::new();
    for c in configurations {
        let mut lines: Vec<(String, String)> = Vec::new();
        let mut tokens = vec![namespace.to_owned(), c.name.clone()];
        fn walk(
            value: &Value,
            tokens: &mut Vec<String>,
            separator: &str,
            lines: &mut Vec<(String, String)>,
        ) {
            match value {
                Value::Object(map) if !map.is_empty() => {
                    for (k, v) in map {
                        tokens.push(k.clone());
                        walk(v, tokens, separator, lines);
                        tokens.pop();
                    }
                }
                Value::Array(items) if !items.is_empty() => {
                    for (i, v) in items.iter().enumerate() {
                        tokens.push(i.to_string());
                        walk(v, tokens, separator, lines);
                        tokens.pop();
                    }
                }
                leaf => {
                    let key: Vec<String> = tokens.iter().map(|t| env_part(t)).collect();
                    lines.push((key.join(separator), env_value(leaf)));
                }
            }
        }
        for (k, v) in &c.fields {
            tokens.push(k.clone());
            walk(v, &mut tokens, separator, &mut lines);
            tokens.pop();
        }
        let mut seen = std::collections::HashSet::new();
        let twice: Vec<&str> = lines
            .iter()
            .filter(|(k, _)| !seen.insert(k.as_str()))
            .map(|(k, _)| k.as_str())
            .collect();
        out.push_str(&format!("\n# {namespace}/{}\n", c.name));
        for key in twice {
            out.push_str(&format!(
                "# {key} stands for more than one place; the last line wins\n"
            ));
        }
        for (k, v) in &lines {
            out.push_str(&format!("{k}={v}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shop() -> NamespaceExport {
        let fields = serde_json::from_str::<Map<String, Value>>(
            r#"{"host": "db.local", "port": 5432, "ratio": 1.50, "big": 12345678901234567890123,
                "on": true, "none": null, "tags": ["a", null], "servers": [{"host": "a", "port": 1}],
                "empty": {}, "yes": "multi\nline \"q\" $HOME", "token": "hunter2"}"#,
        )
        .unwrap();
        let mut settings = NamespaceSettings::default();
        settings.assignments.insert(
            "db".into(),
            SchemaChoice::Own(json!({"properties": {"token": {"writeOnly": true}}})),
        );
        NamespaceExport {
            name: "shop".into(),
            settings,
            settings_revision: 3,
            configurations: vec![ConfigurationExport {
                name: "db".into(),
                fields,
                revision: 7,
            }],
        }
    }

    fn export(format: Format, secrets: bool) -> Vec<u8> {
        let mut writer = Writer::new(Options { format, secrets });
        let mut out = writer.start("2026-11-30T00:00:00Z");
        out.extend(writer.namespace(&shop()).unwrap());
        out.extend(writer.finish().unwrap());
        out
    }

    #[test]
    fn the_bundle_and_json_keep_every_value_exactly_and_mask_secrets() {
        let bundle: Value = serde_json::from_slice(&export(Format::Bundle, false)).unwrap();
        let db = &bundle["namespaces"]["shop"]["configurations"]["db"];
        assert_eq!(db["revision"], 7);
        let mut expected = shop().configurations[0].fields.clone();
        expected["token"] = json!(SECRET_PLACEHOLDER);
        assert_eq!(db["fields"], Value::Object(expected.clone()));
        // Numbers as written, not as floats.
        assert!(
            String::from_utf8(export(Format::Bundle, false))
                .unwrap()
                .contains("\"ratio\":1.50")
        );
        assert_eq!(
            bundle["namespaces"]["shop"]["assignments"]["db"]["own"]["properties"]["token"],
            json!({"writeOnly": true})
        );
        let json: Value = serde_json::from_slice(&export(Format::Json, true)).unwrap();
        assert_eq!(json["shop"]["db"]["token"], "hunter2");
    }

    #[test]
    fn yaml_is_read_back_as_the_same_values() {
        let yaml = String::from_utf8(export(Format::Yaml, true)).unwrap();
        assert!(yaml.contains("    ratio: 1.50\n"), "{yaml}");
        assert!(yaml.contains("    \"on\": true\n"), "{yaml}");
        assert!(
            yaml.contains("    servers:\n      -\n        host: \"a\"\n"),
            "{yaml}"
        );
        assert!(yaml.contains("    empty: {}\n"), "{yaml}");
        assert!(
            yaml.contains("    tags:\n      - \"a\"\n      - null\n"),
            "{yaml}"
        );
        let read = crate::import::read_bytes("confo.yaml", yaml.as_bytes()).unwrap();
        assert_eq!(
            read,
            vec![(
                "shop".to_owned(),
                vec![("db".to_owned(), shop().configurations[0].fields.clone())]
            )]
        );
        assert_eq!(read[0].1[0].1["ratio"].to_string(), "1.50");
    }

    #[test]
    fn toml_lists_what_it_cannot_hold() {
        let toml = String::from_utf8(export(Format::Toml, true)).unwrap();
        assert!(
            toml.contains("# shop/db: none is null, which TOML cannot write; left out"),
            "{toml}"
        );
        assert!(toml.contains("# shop/db: tags/1 is null"), "{toml}");
        assert!(
            toml.contains("# shop/db: big is 12345678901234567890123, written as"),
            "{toml}"
        );
        let table: toml::Table = toml.parse().unwrap();
        assert_eq!(table["shop"]["db"]["host"].as_str(), Some("db.local"));
        assert_eq!(
            table["shop"]["db"]["servers"][0]["port"].as_integer(),
            Some(1)
        );
        assert_eq!(table["shop"]["db"]["tags"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn env_flattens_with_the_separator_and_quotes_what_needs_it() {
        let env = String::from_utf8(export(Format::named("env", "__").unwrap(), false)).unwrap();
        assert!(env.contains("SHOP__DB__HOST=db.local\n"), "{env}");
        assert!(env.contains("SHOP__DB__SERVERS__0__PORT=1\n"), "{env}");
        assert!(env.contains("SHOP__DB__NONE=\n"), "{env}");
        assert!(
            env.contains("SHOP__DB__YES=\"multi\\nline \\\"q\\\" \\$HOME\"\n"),
            "{env}"
        );
        assert!(
            env.contains(&format!("SHOP__DB__TOKEN=\"{SECRET_PLACEHOLDER}\"")),
            "{env}"
        );
        assert!(Format::named("env", "a b").is_err());
        let dotted = String::from_utf8(export(Format::named("env", ".").unwrap(), true)).unwrap();
        assert!(dotted.contains("SHOP.DB.TOKEN=hunter2\n"), "{dotted}");
    }

    #[test]
    fn an_archive_refuses_a_name_that_is_not_a_file_name() {
        let mut odd = shop();
        odd.configurations[0].name = "../../etc/x".into();
        for format in [Format::Tree, Format::Zip] {
            let mut writer = Writer::new(Options {
                format,
                secrets: false,
            });
            writer.start("now");
            let error = writer.namespace(&odd).unwrap_err().to_string();
            assert!(error.contains("cannot be a file in an archive"), "{error}");
        }
        let mut writer = Writer::new(Options {
            format: Format::Json,
            secrets: false,
        });
        writer.start("now");
        assert!(writer.namespace(&odd).is_ok());
    }

    #[test]
    fn the_tree_is_the_original_file_layout() {
        use std::io::Read;
        let archive = export(Format::Tree, false);
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive.as_slice()));
        let mut files = Vec::new();
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut body = String::new();
            entry.read_to_string(&mut body).unwrap();
            files.push((path, body));
        }
        assert_eq!(files[0].0, "shop/");
        assert_eq!(files[1].0, "shop/db.json");
        let fields: Value = serde_json::from_str(&files[1].1).unwrap();
        assert_eq!(fields["token"], SECRET_PLACEHOLDER);
        assert_eq!(fields["servers"][0]["host"], "a");
    }
}
