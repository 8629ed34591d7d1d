//! Import: configurations from a file into the store, previewed first.
//!
//! - **In**: a Confo bundle or JSON export (`namespace → configuration → fields`), TOML of the
//!   same shape, or the original Confo's file layout (`<namespace>/<configuration>.json`, the name
//!   up to the first dot) as a directory or a `.tar.gz`. A file over [`MAX_FILE_BYTES`], invalid
//!   JSON or TOML, a key written twice, or a value that is not an object where a configuration's
//!   fields should be is refused naming the file (and the line), and nothing is written.
//! - **Names** the rules refuse (the original Confo allowed `-` in namespace names) are explained
//!   and can be mapped (`old=new`, [`Options::renames`]).
//! - **Preview** ([`Store::preview_import`]): per configuration whether it is created, changed,
//!   unchanged, skipped, deleted or refused, and per field added / changed / unchanged / removed,
//!   with the schema problems a change would add (which the store refuses). Existing
//!   configurations follow [`Existing`]; configurations missing from the file are deleted only
//!   when asked.
//! - **Apply** ([`Store::apply_import`]): each configuration through the store's one write path,
//!   compared on the revision the preview read (a change since is a conflict, reported, and
//!   nothing of that configuration is written), with the importer's comment; in a reviewed
//!   namespace a change request is opened instead. Writes go out together, so the committer puts
//!   as many in one transaction as etcd's limits allow. The report says exactly what was written;
//!   running the same import again completes it (what is already equal is unchanged).
//! - A secret value exported as [`crate::export::SECRET_PLACEHOLDER`] keeps the stored value; a
//!   new configuration cannot take a placeholder and is refused.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};
use crate::export::SECRET_PLACEHOLDER;
use crate::names::{ConfigurationName, NamespaceName};
use crate::request::Proposed;
use crate::store::{
    Change, NamespaceSettings, NewRequest, SchemaChoice, SettingsChange, Store, check_field_name,
};
use crate::{edit, schema};

mod env;
mod yaml;

pub use env::EnvOptions;
pub(crate) use env::{EXPORT_HEADER, SEPARATOR_NOTE};

/// The largest file (or archive, unpacked) an import reads.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The most files an archive may hold.
pub const MAX_ENTRIES: usize = 1_000_000;

/// How deep a configuration's fields may nest (the object of fields is level 1): well within
/// what the store reads back (serde_json's limit of 128), and what every step of an import
/// walks without running out of stack.
pub const MAX_DEPTH: usize = 64;

/// What comes in: namespace → configuration → fields, in the file's order (which is the order
/// they are listed in when created).
pub type Incoming = Vec<(String, Vec<(String, Map<String, Value>)>)>;

/// What a Confo bundle holds of one namespace's schemas.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BundleSchemas {
    /// Its shared schemas, by name.
    pub schemas: BTreeMap<String, Value>,
    /// The schema each configuration follows.
    pub assignments: BTreeMap<String, SchemaChoice>,
}

/// The schemas a bundle brings, by namespace as the file names it (empty for other files).
pub type IncomingSchemas = BTreeMap<String, BundleSchemas>;

/// [`Incoming`] being built, in the order namespaces are found, each found again by name
/// without a scan.
#[derive(Default)]
struct Building {
    incoming: Incoming,
    at: std::collections::HashMap<String, usize>,
}

impl Building {
    /// The configurations of `namespace`, added when missing.
    fn configurations(&mut self, namespace: &str) -> &mut Vec<(String, Map<String, Value>)> {
        let at = *self.at.entry(namespace.to_owned()).or_insert_with(|| {
            self.incoming.push((namespace.to_owned(), Vec::new()));
            self.incoming.len() - 1
        });
        &mut self.incoming[at].1
    }
}

/// What to do with a configuration that exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Existing {
    /// Leave it as it is.
    Skip,
    /// Replace its whole value with the file's.
    Overwrite,
    /// Set the file's top-level fields, keeping the others (the file's value wins).
    Merge,
}

impl Existing {
    pub fn named(name: &str) -> Result<Self> {
        match name {
            "skip" => Ok(Existing::Skip),
            "overwrite" => Ok(Existing::Overwrite),
            "merge" => Ok(Existing::Merge),
            other => Err(Error::InvalidValue(format!(
                "{other:?} is not a way to treat existing configurations; use skip, overwrite or merge"
            ))),
        }
    }
}

/// How to import.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub existing: Existing,
    /// Delete the configurations of an imported namespace that the file does not hold.
    pub delete_missing: bool,
    /// Namespace names to map: `old` in the file is imported as `new`.
    pub renames: BTreeMap<String, String>,
    /// The schemas a bundle brings ([`read_bytes_full`]), restored with its configurations.
    pub schemas: IncomingSchemas,
}

/// Parses `old=new` pairs into [`Options::renames`].
pub fn parse_renames(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            let (old, new) = pair.split_once('=').ok_or_else(|| {
                Error::InvalidValue(format!("{pair:?} is not a rename; write it as old=new"))
            })?;
            Ok((old.trim().to_owned(), new.trim().to_owned()))
        })
        .collect()
}

/// Refuses a configuration in `incoming` whose fields nest deeper than [`MAX_DEPTH`] (walked
/// without recursion, so that any depth is measured safely).
fn check_depth(file: &str, incoming: &Incoming) -> Result<()> {
    for (namespace, configurations) in incoming {
        for (name, fields) in configurations {
            let mut stack: Vec<(&Value, usize)> = fields.values().map(|v| (v, 2)).collect();
            while let Some((value, depth)) = stack.pop() {
                let inner: Box<dyn Iterator<Item = &Value>> = match value {
                    Value::Object(map) => Box::new(map.values()),
                    Value::Array(items) => Box::new(items.iter()),
                    _ => continue,
                };
                if depth > MAX_DEPTH {
                    return Err(bad_file(
                        file,
                        format!(
                            "configuration {namespace}/{name} nests deeper than {MAX_DEPTH} levels"
                        ),
                    ));
                }
                stack.extend(inner.map(|v| (v, depth + 1)));
            }
        }
    }
    Ok(())
}

/// A file that cannot be imported: which file, and why (with the line when known).
fn bad_file(file: &str, why: impl std::fmt::Display) -> Error {
    Error::InvalidValue(format!("{file}: {why}"))
}

/// Reads `path`: a file (by its extension: `.json`, `.toml`, `.tar.gz` / `.tgz`) or a directory in
/// the original Confo's layout.
pub fn read_path(path: &Path) -> Result<Incoming> {
    read_path_full(path, &EnvOptions::default()).map(|(incoming, _)| incoming)
}

/// [`read_path`], an `.env` file read as `env` says, with the schemas a bundle brings.
pub fn read_path_full(path: &Path, env: &EnvOptions) -> Result<(Incoming, IncomingSchemas)> {
    let shown = path.display().to_string();
    if path.is_dir() {
        let incoming = read_tree_dir(path)?;
        check_depth(&shown, &incoming)?;
        return Ok((incoming, IncomingSchemas::new()));
    }
    let size = std::fs::metadata(path)
        .map_err(|e| bad_file(&shown, format!("cannot be read ({e})")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(bad_file(
            &shown,
            format!("is {size} bytes, over the limit of {MAX_FILE_BYTES} (64 MiB)"),
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| bad_file(&shown, format!("cannot be read ({e})")))?;
    read_bytes_full(&shown, &bytes, env)
}

/// Reads a file's `bytes`, its format told by `name`'s extension (`.json`, `.toml`, `.yaml`,
/// `.yml`, `.env`, `.tar.gz`, `.tgz`, `.zip`).
pub fn read_bytes(name: &str, bytes: &[u8]) -> Result<Incoming> {
    read_bytes_full(name, bytes, &EnvOptions::default()).map(|(incoming, _)| incoming)
}

/// Whether `name` is an `.env` file: `x.env`, `.env`, `.env.production`.
fn is_env(name: &str) -> bool {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.ends_with(".env") || base == ".env" || base.starts_with(".env.")
}

/// [`read_bytes`], an `.env` file read as `env` says, with the schemas a bundle brings.
pub fn read_bytes_full(
    name: &str,
    bytes: &[u8],
    env: &EnvOptions,
) -> Result<(Incoming, IncomingSchemas)> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(bad_file(name, "is over the limit of 64 MiB"));
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        let (incoming, schemas) = read_json(name, bytes)?;
        check_depth(name, &incoming)?;
        return Ok((incoming, schemas));
    }
    let incoming = if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        read_tree_archive(name, bytes)
    } else if lower.ends_with(".zip") {
        read_zip(name, bytes)
    } else if lower.ends_with(".toml") {
        read_toml(name, bytes)
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        read_yaml(name, bytes)
    } else if is_env(&lower) {
        env::parse(name, utf8(name, bytes)?, env)
    } else {
        return Err(bad_file(
            name,
            "is not a file an import reads: use .json (a Confo bundle or JSON export), .yaml, .toml, .env, .tar.gz or .zip, or a directory in the original Confo's layout",
        ));
    }?;
    check_depth(name, &incoming)?;
    Ok((incoming, IncomingSchemas::new()))
}

/// A JSON value that refuses a key written twice in one object (serde_json keeps the last).
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

/// How serde_json hands over a number kept as written (`arbitrary_precision`).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                return text
                    .parse::<Number>()
                    .map(Value::Number)
                    .map_err(de::Error::custom);
            }
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the key {key:?} is written twice in one object"
                )));
            }
            let Strict(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Parses JSON strictly (no key twice), naming `file` and the line in an error.
fn parse_json(file: &str, bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice::<Strict>(bytes)
        .map(|s| s.0)
        .map_err(|e| bad_file(file, format!("is not valid JSON: {e}")))
}

fn object(file: &str, place: &str, value: Value) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(bad_file(
            file,
            format!(
                "{place} should be an object of fields, not {}",
                crate::store::kind_of(&other)
            ),
        )),
    }
}

/// A Confo bundle (`"format": "confo-bundle"`, with its schemas) or JSON of namespace →
/// configuration → fields.
fn read_json(file: &str, bytes: &[u8]) -> Result<(Incoming, IncomingSchemas)> {
    let value = object(file, "the file", parse_json(file, bytes)?)?;
    let bundle = value.get("format").and_then(Value::as_str) == Some("confo-bundle");
    let namespaces = if bundle {
        object(
            file,
            "\"namespaces\"",
            value.get("namespaces").cloned().unwrap_or(Value::Null),
        )?
    } else {
        value
    };
    let mut incoming = Incoming::new();
    let mut schemas = IncomingSchemas::new();
    for (namespace, body) in namespaces {
        let body = object(file, &format!("namespace {namespace:?}"), body)?;
        if bundle {
            let read = bundle_schemas(&body).map_err(|e| {
                bad_file(
                    file,
                    format!("the schemas of {namespace:?} cannot be read: {e}"),
                )
            })?;
            if read != BundleSchemas::default() {
                schemas.insert(namespace.clone(), read);
            }
        }
        let configurations = if bundle {
            object(
                file,
                &format!("the configurations of {namespace:?}"),
                body.get("configurations").cloned().unwrap_or(Value::Null),
            )?
        } else {
            body
        };
        let mut out = Vec::new();
        for (name, c) in configurations {
            let place = format!("configuration {namespace}/{name}");
            let fields = if bundle {
                let c = object(file, &place, c)?;
                object(
                    file,
                    &place,
                    c.get("fields").cloned().unwrap_or(Value::Null),
                )?
            } else {
                object(file, &place, c)?
            };
            out.push((name, fields));
        }
        incoming.push((namespace, out));
    }
    Ok((incoming, schemas))
}

/// A bundle namespace's `schemas` and `assignments`, each checked as the store checks them.
fn bundle_schemas(body: &Map<String, Value>) -> std::result::Result<BundleSchemas, String> {
    let field = |name: &str| body.get(name).cloned().unwrap_or(Value::Object(Map::new()));
    let read = BundleSchemas {
        schemas: serde_json::from_value(field("schemas")).map_err(|e| e.to_string())?,
        assignments: serde_json::from_value(field("assignments")).map_err(|e| e.to_string())?,
    };
    for (name, schema) in &read.schemas {
        schema::compile(schema).map_err(|e| format!("schema {name:?}: {e}"))?;
    }
    for (configuration, choice) in &read.assignments {
        match choice {
            SchemaChoice::Own(schema) => schema::compile(schema)
                .map(drop)
                .map_err(|e| format!("the schema of {configuration:?}: {e}"))?,
            SchemaChoice::Named(name) if !read.schemas.contains_key(name) => {
                return Err(format!(
                    "{configuration:?} follows schema {name:?}, which the bundle does not hold"
                ));
            }
            SchemaChoice::Named(_) => {}
        }
    }
    Ok(read)
}

fn utf8<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| bad_file(file, format!("is not UTF-8 ({e})")))
}

/// TOML of namespace → configuration → fields (as `confo export --format toml` writes it).
fn read_toml(file: &str, bytes: &[u8]) -> Result<Incoming> {
    let table: toml::Table = utf8(file, bytes)?
        .parse()
        .map_err(|e: toml::de::Error| bad_file(file, format!("is not valid TOML: {e}")))?;
    nested(file, toml_to_json(file, toml::Value::Table(table))?)
}

/// YAML of namespace → configuration → fields (as `confo export --format yaml` writes it); a
/// document with nothing in it holds no namespaces.
fn read_yaml(file: &str, bytes: &[u8]) -> Result<Incoming> {
    match yaml::parse(file, utf8(file, bytes)?)? {
        Value::Null => Ok(Incoming::new()),
        value => nested(file, value),
    }
}

/// A value of namespace → configuration → fields.
fn nested(file: &str, value: Value) -> Result<Incoming> {
    let namespaces = object(file, "the file", value)?;
    let mut incoming = Incoming::new();
    for (namespace, body) in namespaces {
        let body = object(file, &format!("namespace {namespace:?}"), body)?;
        let mut out = Vec::new();
        for (name, c) in body {
            let fields = object(file, &format!("configuration {namespace}/{name}"), c)?;
            out.push((name, fields));
        }
        incoming.push((namespace, out));
    }
    Ok(incoming)
}

fn toml_to_json(file: &str, value: toml::Value) -> Result<Value> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::Number(i.into()),
        toml::Value::Float(f) => Value::Number(
            Number::from_f64(f)
                .ok_or_else(|| bad_file(file, format!("holds {f}, which JSON cannot hold")))?,
        ),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| toml_to_json(file, v))
                .collect::<Result<_>>()?,
        ),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| Ok((k, toml_to_json(file, v)?)))
                .collect::<Result<_>>()?,
        ),
    })
}

/// What an original layout holds, in the order found: the name to show, the path inside the
/// tree (or archive), and the file's bytes (none for a folder).
type TreeEntry = (String, String, Option<Vec<u8>>);

/// Whether a path is one a file manager or an archiver adds beside the files (`.DS_Store`,
/// `__MACOSX/…`, any hidden file or folder): left out of an import.
fn beside_the_files(path: &str) -> bool {
    path.split('/')
        .any(|part| part.starts_with('.') && part != "." || part == "__MACOSX")
}

/// Adds what an original layout holds to `incoming`: `<namespace>/<name>[.anything]`, or the
/// same inside one folder that holds everything (as an archive of the folder is made).
fn add_tree_files(entries: Vec<TreeEntry>) -> Result<Incoming> {
    let entries: Vec<(String, Vec<String>, Option<Vec<u8>>)> = entries
        .into_iter()
        .filter(|(_, path, _)| !beside_the_files(path))
        .map(|(shown, path, bytes)| {
            let parts = path
                .split('/')
                .filter(|p| !p.is_empty() && *p != ".")
                .map(str::to_owned)
                .collect();
            (shown, parts, bytes)
        })
        .collect();
    // One folder around it all: the namespaces are inside it.
    let mut files = entries.iter().filter(|(_, _, bytes)| bytes.is_some());
    let wrapped = files.next().and_then(|(_, first, _)| {
        let root = first.first()?;
        (first.len() == 3 && files.all(|(_, p, _)| p.len() == 3 && p[0] == *root))
            .then(|| root.clone())
    });
    let mut building = Building::default();
    // The configurations read, to find a second file for one without a scan.
    let mut read = std::collections::HashSet::new();
    for (shown, mut parts, bytes) in entries {
        if let Some(root) = &wrapped {
            if parts.first() != Some(root) {
                continue;
            }
            parts.remove(0);
        }
        let Some(bytes) = bytes else {
            if let [namespace] = parts.as_slice() {
                building.configurations(namespace);
            }
            continue;
        };
        let [namespace, file_name] = parts.as_slice() else {
            return Err(bad_file(
                &shown,
                "is not where the original layout keeps a configuration (<namespace>/<configuration>.json)",
            ));
        };
        let name = file_name.split('.').next().unwrap_or_default();
        let fields = object(&shown, "the file", parse_json(&shown, &bytes)?)?;
        if !read.insert((namespace.clone(), name.to_owned())) {
            return Err(bad_file(
                &shown,
                format!("is a second file for configuration {namespace}/{name}"),
            ));
        }
        building
            .configurations(namespace)
            .push((name.to_owned(), fields));
    }
    Ok(building.incoming)
}

fn read_tree_dir(dir: &Path) -> Result<Incoming> {
    let mut found = Vec::new();
    let mut total = 0u64;
    let unreadable = |p: &Path, e: std::io::Error| {
        bad_file(&p.display().to_string(), format!("cannot be read ({e})"))
    };
    let mut namespaces: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| unreadable(dir, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| unreadable(dir, e))?;
    namespaces.sort_by_key(|e| e.file_name());
    for namespace in namespaces {
        let path = namespace.path();
        if !path.is_dir() {
            continue;
        }
        let ns_name = namespace.file_name().to_string_lossy().into_owned();
        found.push((path.display().to_string(), ns_name.clone(), None));
        let mut files: Vec<_> = std::fs::read_dir(&path)
            .map_err(|e| unreadable(&path, e))?
            .collect::<std::io::Result<_>>()
            .map_err(|e| unreadable(&path, e))?;
        files.sort_by_key(|e| e.file_name());
        for file in files {
            let path = file.path();
            let relative = format!("{ns_name}/{}", file.file_name().to_string_lossy());
            if !path.is_file() || beside_the_files(&relative) {
                continue;
            }
            let shown = path.display().to_string();
            // Through a symbolic link to what it names: that is what is read.
            total += std::fs::metadata(&path)
                .map_err(|e| unreadable(&path, e))?
                .len();
            if total > MAX_FILE_BYTES {
                return Err(bad_file(
                    &shown,
                    "takes the files read past the limit of 64 MiB",
                ));
            }
            let bytes = std::fs::read(&path).map_err(|e| unreadable(&path, e))?;
            found.push((shown, relative, Some(bytes)));
        }
    }
    add_tree_files(found)
}

/// The error for a file that takes an archive past [`MAX_FILE_BYTES`] unpacked.
fn too_much_unpacked(shown: &str) -> Error {
    bad_file(shown, "takes the archive past the limit of 64 MiB unpacked")
}

fn read_tree_archive(name: &str, bytes: &[u8]) -> Result<Incoming> {
    // What is unpacked at all, headers included, is bounded: a small archive that unpacks to
    // far more is read as cut short.
    let mut archive = tar::Archive::new(
        flate2::read::GzDecoder::new(bytes).take(MAX_FILE_BYTES + MAX_FILE_BYTES / 4),
    );
    let broken = |e: std::io::Error| bad_file(name, format!("is not a readable .tar.gz ({e})"));
    let mut total = 0u64;
    let mut found = Vec::new();
    for entry in archive.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        let path = entry.path().map_err(broken)?.to_string_lossy().into_owned();
        let shown = format!("{name}: {path}");
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                found.push((shown, path, None));
                continue;
            }
            tar::EntryType::Regular => {}
            _ => continue,
        }
        total += entry.size();
        if total > MAX_FILE_BYTES {
            return Err(too_much_unpacked(&shown));
        }
        let mut body = Vec::new();
        let remaining = MAX_FILE_BYTES.saturating_sub(total - entry.size());
        entry
            .by_ref()
            .take(remaining)
            .read_to_end(&mut body)
            .map_err(broken)?;
        found.push((shown, path, Some(body)));
    }
    add_tree_files(found)
}

fn read_zip(name: &str, bytes: &[u8]) -> Result<Incoming> {
    let broken = |e: zip::result::ZipError| bad_file(name, format!("is not a readable .zip ({e})"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(broken)?;
    // Entries that share their data would unpack the same bytes again and again.
    if archive.has_overlapping_files().map_err(broken)? {
        return Err(bad_file(name, "is not a readable .zip (its files overlap)"));
    }
    if archive.len() > MAX_ENTRIES {
        return Err(bad_file(
            name,
            format!("holds more than {MAX_ENTRIES} files"),
        ));
    }
    let mut total = 0u64;
    let mut found = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(broken)?;
        let path = entry.name().map_err(broken)?.into_owned();
        let shown = format!("{name}: {path}");
        if entry.is_dir() {
            found.push((shown, path, None));
            continue;
        }
        if !entry.is_file() {
            continue;
        }
        // The sizes an archive declares can lie: what is read is bounded as well.
        let remaining = MAX_FILE_BYTES.saturating_sub(total);
        let mut body = Vec::new();
        (&mut entry)
            .take(remaining + 1)
            .read_to_end(&mut body)
            .map_err(|e| bad_file(&shown, format!("cannot be unpacked ({e})")))?;
        total += body.len() as u64;
        if total > MAX_FILE_BYTES {
            return Err(too_much_unpacked(&shown));
        }
        found.push((shown, path, Some(body)));
    }
    add_tree_files(found)
}

/// What happens to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldState {
    Added,
    Changed,
    Unchanged,
    Removed,
}

/// One field of a configuration's preview.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldRow {
    pub field: String,
    pub state: FieldState,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// What happens to one configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "reason")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    /// It exists, and existing configurations are skipped.
    Skip,
    /// Not in the file, and missing configurations are deleted.
    Delete,
    /// It cannot be imported: why.
    Refuse(String),
}

impl Action {
    /// Its mark and words in the text preview, creating and deleting called as given.
    fn marked(&self, create: &str, delete: &str) -> (char, String) {
        match self {
            Action::Create => ('+', create.to_owned()),
            Action::Update => ('~', "change".to_owned()),
            Action::Unchanged => ('=', "unchanged".to_owned()),
            Action::Skip => ('=', "exists: skipped".to_owned()),
            Action::Delete => ('-', delete.to_owned()),
            Action::Refuse(why) => ('!', format!("refused: {why}")),
        }
    }
}

/// One configuration of the preview.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConfigurationPreview {
    pub name: String,
    pub action: Action,
    /// The revision it was read at (0: it does not exist); the write is compared on it.
    pub base_revision: i64,
    pub fields: Vec<FieldRow>,
    /// The schema problems the import would add (then it is refused), in words.
    pub problems: Vec<String>,
    /// What would be written.
    #[serde(skip)]
    pub result: Option<Map<String, Value>>,
}

/// One change to a namespace's schemas that an import of a bundle would make.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SchemaRow {
    /// What it is, in words: `shared schema "db"`, `db follows shared schema "db"`, `db's own
    /// schema`.
    pub what: String,
    /// Create, Update, Unchanged, Skip (existing ones are skipped) or Refuse.
    pub action: Action,
    /// What would be written.
    #[serde(skip)]
    pub change: Option<SettingsChange>,
}

/// One namespace of the preview.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NamespacePreview {
    /// Its name in the store (after any rename).
    pub name: String,
    /// Its name in the file, when renamed.
    pub from: Option<String>,
    pub exists: bool,
    /// Changes go through a change request there.
    pub reviewed: bool,
    /// Why nothing of it can be imported.
    pub refused: Option<String>,
    pub configurations: Vec<ConfigurationPreview>,
    /// The schema changes a bundle brings, written after its configurations.
    #[serde(default)]
    pub schemas: Vec<SchemaRow>,
    /// The revision of the namespace's settings the schema rows were made on.
    #[serde(default)]
    pub settings_revision: i64,
}

/// What an import would do.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Preview {
    pub namespaces: Vec<NamespacePreview>,
}

impl Preview {
    /// Whether anything is refused.
    pub fn refuses_anything(&self) -> bool {
        self.namespaces.iter().any(|n| {
            n.refused.is_some()
                || n.configurations
                    .iter()
                    .any(|c| matches!(c.action, Action::Refuse(_)))
                || n.schemas
                    .iter()
                    .any(|r| matches!(r.action, Action::Refuse(_)))
        })
    }

    /// The preview in lines of text, for the command line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for n in &self.namespaces {
            let renamed = n
                .from
                .as_ref()
                .map(|f| format!(" (from {f})"))
                .unwrap_or_default();
            let state = if n.exists { "" } else { " (new)" };
            let reviewed = if n.reviewed {
                " (reviewed: a change request is opened)"
            } else {
                ""
            };
            out.push_str(&format!("namespace {}{renamed}{state}{reviewed}\n", n.name));
            if let Some(why) = &n.refused {
                out.push_str(&format!("  ! refused: {why}\n"));
                continue;
            }
            for c in &n.configurations {
                let (mark, words) = c.action.marked("create", "delete");
                out.push_str(&format!("  {mark} {}: {words}\n", c.name));
                for row in c.fields.iter().filter(|r| r.state != FieldState::Unchanged) {
                    let shown = |v: &Option<Value>| v.as_ref().map_or(String::new(), short);
                    let line = match row.state {
                        FieldState::Added => format!("+ {} = {}", row.field, shown(&row.after)),
                        FieldState::Changed => format!(
                            "~ {}: {} -> {}",
                            row.field,
                            shown(&row.before),
                            shown(&row.after)
                        ),
                        FieldState::Removed => {
                            format!("- {} (was {})", row.field, shown(&row.before))
                        }
                        FieldState::Unchanged => continue,
                    };
                    out.push_str(&format!("      {line}\n"));
                }
                for problem in &c.problems {
                    out.push_str(&format!("      schema: {problem}\n"));
                }
            }
            for row in &n.schemas {
                let (mark, words) = row.action.marked("set", "remove");
                out.push_str(&format!("  {mark} {}: {words}\n", row.what));
            }
        }
        out
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// What became of one configuration when the import was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written at this revision.
    Written(i64),
    /// A change request was opened with it (its number).
    Requested(u64),
    /// Not written: why.
    Failed(String),
}

/// What an import did, per namespace and configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub outcomes: Vec<(String, String, Outcome)>,
    /// Per namespace and schema row ([`SchemaRow::what`]): what was done.
    pub schemas: Vec<(String, String, Outcome)>,
    /// Some configuration changed since the preview: preview again.
    pub stale: bool,
}

impl Report {
    /// How many configurations and schema rows were not written.
    pub fn failed(&self) -> usize {
        self.outcomes
            .iter()
            .chain(&self.schemas)
            .filter(|(_, _, o)| matches!(o, Outcome::Failed(_)))
            .count()
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let words = |outcome: &Outcome| match outcome {
            Outcome::Written(revision) => format!("written (revision {revision})"),
            Outcome::Requested(id) => format!("change request {id} opened"),
            Outcome::Failed(why) => format!("NOT written: {why}"),
        };
        for (namespace, name, outcome) in &self.outcomes {
            out.push_str(&format!("{namespace}/{name}: {}\n", words(outcome)));
        }
        for (namespace, what, outcome) in &self.schemas {
            out.push_str(&format!("{namespace}: {what}: {}\n", words(outcome)));
        }
        out
    }
}

/// Replaces the placeholder of each secret place with the stored value (`None` when a
/// placeholder has nothing stored to stand for).
fn keep_secrets(
    mut fields: Map<String, Value>,
    stored: Option<&Map<String, Value>>,
    schema: Option<&Value>,
) -> Option<Map<String, Value>> {
    fn walk(
        value: &mut Value,
        tokens: &mut Vec<String>,
        stored: Option<&Map<String, Value>>,
        schema: Option<&Value>,
    ) -> bool {
        if value.as_str() == Some(SECRET_PLACEHOLDER) {
            let kept = stored.and_then(|s| edit::find(s, tokens)).cloned();
            return match kept {
                Some(kept) if schema.is_some_and(|s| schema::is_write_only(s, tokens)) => {
                    *value = kept;
                    true
                }
                _ => false,
            };
        }
        match value {
            Value::Object(map) => map.iter_mut().all(|(k, v)| {
                tokens.push(k.clone());
                let ok = walk(v, tokens, stored, schema);
                tokens.pop();
                ok
            }),
            Value::Array(items) => items.iter_mut().enumerate().all(|(i, v)| {
                tokens.push(i.to_string());
                let ok = walk(v, tokens, stored, schema);
                tokens.pop();
                ok
            }),
            _ => true,
        }
    }
    let mut tokens = Vec::new();
    for (key, value) in fields.iter_mut() {
        tokens.push(key.clone());
        let ok = walk(value, &mut tokens, stored, schema);
        tokens.pop();
        if !ok {
            return None;
        }
    }
    Some(fields)
}

/// The schema rows of a namespace whose configurations are previewed in `preview`: the bundle's
/// shared schemas, then the schema of each configuration it imports (skipped with it). Refused
/// in a reviewed namespace (schemas are not changed through change requests), and when a
/// configuration would not match a schema it would follow after the import.
fn schema_rows(
    bundle: &BundleSchemas,
    settings: &NamespaceSettings,
    preview: &NamespacePreview,
    stored: Option<&crate::export::NamespaceExport>,
    existing: Existing,
) -> Result<Vec<SchemaRow>> {
    let action_for = |now: Option<bool>| match now {
        None => Action::Create,
        Some(true) => Action::Unchanged,
        Some(false) if existing == Existing::Skip => Action::Skip,
        Some(false) => Action::Update,
    };
    let mut rows = Vec::new();
    let mut after = settings.clone();
    for (name, schema) in &bundle.schemas {
        let action = action_for(settings.schemas.get(name).map(|now| now == schema));
        let writes = matches!(action, Action::Create | Action::Update);
        if writes {
            after.schemas.insert(name.clone(), schema.clone());
        }
        rows.push(SchemaRow {
            what: format!("shared schema {name:?}"),
            action,
            change: writes.then(|| SettingsChange::PutSchema {
                name: name.clone(),
                schema: schema.clone(),
            }),
        });
    }
    for (configuration, choice) in &bundle.assignments {
        let Some(c) = preview
            .configurations
            .iter()
            .find(|c| c.name == *configuration)
        else {
            continue;
        };
        let name = ConfigurationName::new(configuration).ok();
        let action = match (&c.action, &name) {
            (Action::Refuse(_), _) | (_, None) => {
                Action::Refuse("its configuration is not imported".into())
            }
            (Action::Skip, _) => Action::Skip,
            _ => action_for(
                settings
                    .assignments
                    .get(configuration)
                    .map(|now| now == choice),
            ),
        };
        let writes = matches!(action, Action::Create | Action::Update);
        if writes {
            after
                .assignments
                .insert(configuration.clone(), choice.clone());
        }
        rows.push(SchemaRow {
            what: match choice {
                SchemaChoice::Own(_) => format!("{configuration}'s own schema"),
                SchemaChoice::Named(schema) => {
                    format!("{configuration} follows shared schema {schema:?}")
                }
            },
            action,
            change: name.filter(|_| writes).map(|name| SettingsChange::Assign {
                configuration: name,
                choice: Some(choice.clone()),
            }),
        });
    }
    let writes = |r: &SchemaRow| matches!(r.action, Action::Create | Action::Update);
    if !rows.iter().any(writes) {
        return Ok(rows);
    }
    let mut refusal = preview.reviewed.then(|| {
        "schemas are not changed through change requests; make the namespace direct to restore them, or set them on its Schemas page".to_owned()
    });
    // What each configuration holds after the import, checked against the schema it would
    // follow where that schema changes.
    let mut held: BTreeMap<&str, &Map<String, Value>> = stored
        .iter()
        .flat_map(|s| s.configurations.iter())
        .map(|c| (c.name.as_str(), &c.fields))
        .collect();
    for c in &preview.configurations {
        match (&c.action, &c.result) {
            (Action::Delete, _) => {
                held.remove(c.name.as_str());
            }
            (Action::Create | Action::Update, Some(result)) => {
                held.insert(c.name.as_str(), result);
            }
            _ => {}
        }
    }
    for (name, fields) in held {
        let Some(schema) = after.schema_of(name) else {
            continue;
        };
        if settings.schema_of(name) == Some(schema) || refusal.is_some() {
            continue;
        }
        if let Some(problem) = schema::problems(schema, fields)?.first() {
            refusal = Some(format!(
                "{name} would not match its schema ({}); fix it first",
                problem.message.trim_end_matches('.')
            ));
        }
    }
    if let Some(why) = refusal {
        for row in rows.iter_mut().filter(|r| writes(r)) {
            row.action = Action::Refuse(why.clone());
            row.change = None;
        }
    }
    Ok(rows)
}

fn field_rows(before: Option<&Map<String, Value>>, after: &Map<String, Value>) -> Vec<FieldRow> {
    let empty = Map::new();
    let before = before.unwrap_or(&empty);
    let mut rows: Vec<FieldRow> = after
        .iter()
        .map(|(field, value)| {
            let old = before.get(field);
            FieldRow {
                field: field.clone(),
                state: match old {
                    None => FieldState::Added,
                    Some(old) if old == value => FieldState::Unchanged,
                    Some(_) => FieldState::Changed,
                },
                before: old.cloned(),
                after: Some(value.clone()),
            }
        })
        .collect();
    rows.extend(
        before
            .iter()
            .filter(|(field, _)| !after.contains_key(*field))
            .map(|(field, value)| FieldRow {
                field: field.clone(),
                state: FieldState::Removed,
                before: Some(value.clone()),
                after: None,
            }),
    );
    rows
}

impl Store {
    /// What importing `incoming` would do, read from the store now (see the module
    /// documentation).
    pub async fn preview_import(&self, incoming: &Incoming, options: &Options) -> Result<Preview> {
        let listed = self.list_namespaces().await?;
        let mut namespaces = Vec::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (from, configurations) in incoming {
            let name = options
                .renames
                .get(from)
                .cloned()
                .unwrap_or_else(|| from.clone());
            let mut preview = NamespacePreview {
                name: name.clone(),
                from: (name != *from).then(|| from.clone()),
                exists: listed.contains(&name),
                reviewed: false,
                refused: None,
                configurations: Vec::new(),
                schemas: Vec::new(),
                settings_revision: 0,
            };
            if let Some(other) = seen.insert(name.clone(), from.clone()) {
                preview.refused = Some(format!(
                    "{other:?} is imported as {name:?} too; map one of them to another name"
                ));
                namespaces.push(preview);
                continue;
            }
            let namespace = match NamespaceName::new(&name) {
                Ok(namespace) => namespace,
                Err(reason) => {
                    preview.refused = Some(format!(
                        "{name:?} is not a namespace name Confo takes: {reason}. Map it to another name (--rename {name}=new_name)"
                    ));
                    namespaces.push(preview);
                    continue;
                }
            };
            if !preview.exists
                && let Err(error) = self.layout().check_new_namespace(&name, &listed)
            {
                preview.refused = Some(error.to_string());
                namespaces.push(preview);
                continue;
            }
            let stored = if preview.exists {
                Some(self.export_listed_namespace(&namespace, &listed).await?)
            } else {
                None
            };
            let settings = stored
                .as_ref()
                .map(|s| s.settings.clone())
                .unwrap_or_default();
            preview.reviewed = settings.review.is_some();
            let stored_by_name: BTreeMap<&str, &crate::export::ConfigurationExport> = stored
                .iter()
                .flat_map(|s| s.configurations.iter())
                .map(|c| (c.name.as_str(), c))
                .collect();
            for (name, incoming_fields) in configurations {
                let old = stored_by_name.get(name.as_str()).copied();
                let mut c = ConfigurationPreview {
                    name: name.clone(),
                    action: Action::Unchanged,
                    base_revision: old.map_or(0, |o| o.revision),
                    fields: Vec::new(),
                    problems: Vec::new(),
                    result: None,
                };
                if let Err(reason) = ConfigurationName::new(name) {
                    c.action = Action::Refuse(format!(
                        "{name:?} is not a configuration name Confo takes: {reason}"
                    ));
                    preview.configurations.push(c);
                    continue;
                }
                if let Some(bad) = incoming_fields
                    .keys()
                    .find_map(|f| check_field_name(f).err())
                {
                    c.action = Action::Refuse(bad.to_string());
                    preview.configurations.push(c);
                    continue;
                }
                if old.is_some() && options.existing == Existing::Skip {
                    c.action = Action::Skip;
                    preview.configurations.push(c);
                    continue;
                }
                let wanted = match (options.existing, old) {
                    (Existing::Merge, Some(old)) => {
                        let mut merged = old.fields.clone();
                        for (k, v) in incoming_fields {
                            merged.insert(k.clone(), v.clone());
                        }
                        merged
                    }
                    _ => incoming_fields.clone(),
                };
                let schema = settings.schema_of(name);
                let Some(result) = keep_secrets(wanted, old.map(|o| &o.fields), schema) else {
                    c.action = Action::Refuse(format!(
                        "holds {SECRET_PLACEHOLDER:?} where no secret value is stored to keep; put the value in the file"
                    ));
                    preview.configurations.push(c);
                    continue;
                };
                c.fields = field_rows(old.map(|o| &o.fields), &result);
                if let Some(schema) = schema {
                    let before = match old {
                        Some(o) => schema::problems(schema, &o.fields)?,
                        None => Vec::new(),
                    };
                    let after = schema::problems(schema, &result)?;
                    c.problems = schema::added(&before, &after)
                        .iter()
                        .map(|p| format!("{}: {}", p.field().unwrap_or_default(), p.message))
                        .collect();
                }
                c.action = if !c.problems.is_empty() {
                    Action::Refuse("it would not match its schema".into())
                } else if old.is_none() {
                    Action::Create
                } else if old.is_some_and(|o| o.fields == result) {
                    Action::Unchanged
                } else {
                    Action::Update
                };
                c.result = Some(result);
                preview.configurations.push(c);
            }
            if options.delete_missing {
                for old in stored.iter().flat_map(|s| s.configurations.iter()) {
                    if !configurations.iter().any(|(n, _)| *n == old.name) {
                        preview.configurations.push(ConfigurationPreview {
                            name: old.name.clone(),
                            action: Action::Delete,
                            base_revision: old.revision,
                            fields: field_rows(Some(&old.fields), &Map::new()),
                            problems: Vec::new(),
                            result: None,
                        });
                    }
                }
            }
            if let Some(bundle) = options.schemas.get(from) {
                preview.settings_revision = stored.as_ref().map_or(0, |s| s.settings_revision);
                preview.schemas = schema_rows(
                    bundle,
                    &settings,
                    &preview,
                    stored.as_ref(),
                    options.existing,
                )?;
            }
            namespaces.push(preview);
        }
        Ok(Preview { namespaces })
    }

    /// Applies `preview` (see the module documentation): each configuration compared on the
    /// revision the preview read, with `change`'s actor and comment; in a reviewed namespace, one
    /// change request per namespace.
    pub async fn apply_import(&self, preview: &Preview, change: &Change) -> Result<Report> {
        let mut report = Report::default();
        for n in preview.namespaces.iter().filter(|n| n.refused.is_none()) {
            let todo: Vec<&ConfigurationPreview> = n
                .configurations
                .iter()
                .filter(|c| matches!(c.action, Action::Create | Action::Update | Action::Delete))
                .collect();
            let schema_todo: Vec<&SchemaRow> =
                n.schemas.iter().filter(|r| r.change.is_some()).collect();
            if todo.is_empty() && schema_todo.is_empty() {
                continue;
            }
            let namespace = NamespaceName::new(&n.name).map_err(|reason| Error::InvalidName {
                kind: "namespace",
                name: n.name.clone(),
                reason,
            })?;
            if !n.exists {
                match self.create_namespace(&namespace, change).await {
                    Ok(_) | Err(Error::AlreadyExists(_)) => {}
                    Err(error) => {
                        let failed =
                            Outcome::Failed(format!("the namespace cannot be created: {error}"));
                        for c in &todo {
                            report
                                .outcomes
                                .push((n.name.clone(), c.name.clone(), failed.clone()));
                        }
                        for r in &schema_todo {
                            report
                                .schemas
                                .push((n.name.clone(), r.what.clone(), failed.clone()));
                        }
                        continue;
                    }
                }
            }
            let proposed = |c: &ConfigurationPreview| -> Result<(ConfigurationName, Proposed)> {
                let name =
                    ConfigurationName::new(&c.name).map_err(|reason| Error::InvalidName {
                        kind: "configuration",
                        name: c.name.clone(),
                        reason,
                    })?;
                let result = c.result.clone().unwrap_or_default();
                Ok((
                    name,
                    match c.action {
                        Action::Create => Proposed::Create(result),
                        Action::Delete => Proposed::Delete,
                        _ => Proposed::Edits(vec![edit::Edit::Replace { fields: result }]),
                    },
                ))
            };
            if n.reviewed {
                let changes = todo
                    .iter()
                    .map(|c| {
                        let (name, p) = proposed(c)?;
                        Ok((name, p, Some(c.base_revision)))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let new = NewRequest {
                    title: format!("Import into {}", n.name),
                    description: change.comment.clone().unwrap_or_default(),
                    changes,
                    schemas: Vec::new(),
                    settings_revision: None,
                    draft: false,
                };
                let outcome = match self.open_request(&namespace, new, change).await {
                    Ok(read) => Outcome::Requested(read.request.id),
                    Err(error) => {
                        report.stale |= matches!(error, Error::Conflict { .. });
                        Outcome::Failed(error.to_string())
                    }
                };
                for c in &todo {
                    report
                        .outcomes
                        .push((n.name.clone(), c.name.clone(), outcome.clone()));
                }
                continue;
            }
            // Sent together: the committer puts as many in one transaction as fit.
            let writes = todo.iter().map(|c| {
                let namespace = namespace.clone();
                async move {
                    let (name, p) = proposed(c)?;
                    match p {
                        Proposed::Create(fields) => {
                            self.create_configuration(&namespace, &name, fields, change)
                                .await
                        }
                        Proposed::Delete => {
                            self.delete_configuration(
                                &namespace,
                                &name,
                                Some(c.base_revision),
                                change,
                            )
                            .await
                        }
                        Proposed::Edits(edits) => {
                            self.apply_edits(
                                &namespace,
                                &name,
                                edits,
                                Some(c.base_revision),
                                change,
                            )
                            .await
                        }
                    }
                }
            });
            let results = futures::future::join_all(writes).await;
            for (c, result) in todo.iter().zip(results) {
                let outcome = match result {
                    Ok(written) => Outcome::Written(written.revision),
                    Err(error) => {
                        report.stale |= matches!(
                            error,
                            Error::Conflict { .. } | Error::AlreadyExists(_) | Error::NotFound(_)
                        );
                        Outcome::Failed(error.to_string())
                    }
                };
                report
                    .outcomes
                    .push((n.name.clone(), c.name.clone(), outcome));
            }
            self.apply_schema_rows(&namespace, n, &schema_todo, change, &mut report)
                .await;
        }
        Ok(report)
    }

    /// Writes a namespace's schema rows after its configurations, one settings change each,
    /// each compared on the revision the one before left (the first on the preview's); none
    /// when a configuration of the namespace was not written.
    async fn apply_schema_rows(
        &self,
        namespace: &NamespaceName,
        n: &NamespacePreview,
        rows: &[&SchemaRow],
        change: &Change,
        report: &mut Report,
    ) {
        let mut expected = n.settings_revision;
        // The rows were checked against what the import writes: when any of it was not
        // written, none of them is.
        let mut stopped: Option<String> = report
            .outcomes
            .iter()
            .any(|(ns, _, o)| *ns == n.name && matches!(o, Outcome::Failed(_)))
            .then(|| {
                "not restored: a configuration of the namespace was not written; import again to complete it"
                    .to_owned()
            });
        for row in rows {
            let Some(settings_change) = row.change.clone() else {
                continue;
            };
            let outcome = if let Some(why) = &stopped {
                Outcome::Failed(why.clone())
            } else {
                match self
                    .change_settings(namespace, settings_change, Some(expected), change)
                    .await
                {
                    Ok(written) => {
                        expected = written.revision;
                        Outcome::Written(written.revision)
                    }
                    Err(error) => {
                        report.stale |= matches!(error, Error::Conflict { .. });
                        let why = format!("the schemas were not restored: {error}");
                        stopped = Some(why.clone());
                        Outcome::Failed(why)
                    }
                }
            };
            report
                .schemas
                .push((n.name.clone(), row.what.clone(), outcome));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_written_twice_is_refused_with_its_line() {
        let error =
            read_bytes("a.json", b"{\"shop\": {\"db\": {\n\"a\": 1,\n\"a\": 2}}}").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("a.json: is not valid JSON"), "{text}");
        assert!(text.contains("\"a\" is written twice"), "{text}");
        assert!(text.contains("line 3"), "{text}");
        // Numbers stay as written.
        let read = read_bytes("a.json", br#"{"shop": {"db": {"ratio": 1.50}}}"#).unwrap();
        assert_eq!(read[0].1[0].1["ratio"].to_string(), "1.50");
    }

    #[test]
    fn an_archive_of_the_folder_and_what_archivers_add_beside_the_files() {
        use std::io::Write;
        let mut bytes = Vec::new();
        {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
            let options = zip::write::SimpleFileOptions::default();
            for (path, body) in [
                ("configs/shop/db.json", &b"{\"a\": 1}"[..]),
                ("configs/shop/.DS_Store", b"\0\0"),
                ("__MACOSX/configs/shop/._db.json", b"\0"),
                ("configs/web/front.settings.json", b"{}"),
            ] {
                zip.start_file(path, options).unwrap();
                zip.write_all(body).unwrap();
            }
            zip.add_directory("configs/empty/", options).unwrap();
            zip.finish().unwrap();
        }
        let read = read_bytes("old.zip", &bytes).unwrap();
        let names: Vec<(&str, Vec<&str>)> = read
            .iter()
            .map(|(n, c)| (n.as_str(), c.iter().map(|(c, _)| c.as_str()).collect()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("shop", vec!["db"]),
                ("web", vec!["front"]),
                ("empty", vec![])
            ]
        );
        assert_eq!(read[0].1[0].1["a"], 1);

        let broken = read_bytes("x.zip", b"PK not really").unwrap_err();
        assert!(
            broken
                .to_string()
                .starts_with("x.zip: is not a readable .zip"),
            "{broken}"
        );
    }

    fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (path, body) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, path, *body).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn archives_made_of_a_folder_in_other_ways() {
        // `tar -C dir .`: every path starts with `./`.
        let dotted = tar_gz(&[
            ("./shop/db.json", b"{\"a\": 1}"),
            ("./__MACOSX/shop/db.json", b"x"),
        ]);
        let read = read_bytes("x.tgz", &dotted).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].0, "shop");
        assert_eq!(read[0].1[0].0, "db");
        // Two folders at the top, each three deep: not one wrapping folder, so refused.
        let two = tar_gz(&[("a/shop/db.json", b"{}"), ("b/shop/db.json", b"{}")]);
        let error = read_bytes("x.tar.gz", &two).unwrap_err().to_string();
        assert!(
            error.contains("a/shop/db.json: is not where the original layout keeps"),
            "{error}"
        );
        // A folder: hidden files beside the configurations are left out.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("shop")).unwrap();
        std::fs::write(dir.path().join("shop/db.json"), "{}").unwrap();
        std::fs::write(dir.path().join("shop/.DS_Store"), [0u8, 1]).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "ref").unwrap();
        let read = read_path(dir.path()).unwrap();
        assert_eq!(read.len(), 1, "{read:?}");
        assert_eq!(read[0].1.len(), 1);
    }

    #[test]
    fn fields_nested_past_the_limit_are_refused_in_every_format() {
        let deep = |levels: usize| {
            format!(
                r#"{{"shop": {{"db": {{"a": {}1{}}}}}}}"#,
                "[".repeat(levels),
                "]".repeat(levels)
            )
        };
        // The object of fields is level 1: 63 lists inside it make 64 levels.
        assert!(read_bytes("a.json", deep(63).as_bytes()).is_ok());
        let error = read_bytes("a.json", deep(64).as_bytes()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("configuration shop/db nests deeper than 64 levels"),
            "{error}"
        );
        let archive = tar_gz(&[(
            "shop/db.json",
            format!("{{\"a\": {}1{}}}", "[".repeat(64), "]".repeat(64)).as_bytes(),
        )]);
        assert!(read_bytes("x.tgz", &archive).is_err());
    }

    #[test]
    fn a_small_zip_that_unpacks_past_the_limit_is_refused() {
        use std::io::Write;
        let mut bytes = Vec::new();
        {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("shop/db.json", options).unwrap();
            let zeros = vec![b' '; 1024 * 1024];
            for _ in 0..65 {
                zip.write_all(&zeros).unwrap();
            }
            zip.finish().unwrap();
        }
        assert!(bytes.len() < 1024 * 1024, "{}", bytes.len());
        let error = read_bytes("bomb.zip", &bytes).unwrap_err().to_string();
        assert!(
            error.contains("past the limit of 64 MiB unpacked"),
            "{error}"
        );
    }

    #[test]
    fn a_bundles_schemas_are_checked_as_the_store_checks_them() {
        let read = |text: &str| {
            read_bytes_full("b.json", text.as_bytes(), &EnvOptions::default())
                .map_err(|e| e.to_string())
        };
        let bundle = |body: &str| {
            format!(
                r#"{{"format": "confo-bundle", "namespaces": {{"shop": {{{body}, "configurations": {{}}}}}}}}"#
            )
        };
        let bad = read(&bundle(r#""schemas": {"s": {"type": 5}}"#)).unwrap_err();
        assert!(
            bad.contains("the schemas of \"shop\" cannot be read: schema \"s\""),
            "{bad}"
        );
        let missing = read(&bundle(r#""assignments": {"db": {"named": "gone"}}"#)).unwrap_err();
        assert!(
            missing.contains("which the bundle does not hold"),
            "{missing}"
        );
        let (_, schemas) = read(&bundle(
            r#""schemas": {"s": {"type": "object"}}, "assignments": {"db": {"named": "s"}}"#,
        ))
        .unwrap();
        assert_eq!(
            schemas["shop"].assignments["db"],
            SchemaChoice::Named("s".into())
        );
        // Plain JSON brings none.
        let (_, none) = read(r#"{"shop": {"db": {}}}"#).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let not_object = read_bytes("b.json", br#"{"shop": {"db": [1]}}"#).unwrap_err();
        assert!(
            not_object
                .to_string()
                .contains("configuration shop/db should be an object of fields, not"),
            "{not_object}"
        );
        let toml = read_bytes("c.toml", b"[shop.db]\na = 1\na = 2\n").unwrap_err();
        assert!(
            toml.to_string().starts_with("c.toml: is not valid TOML"),
            "{toml}"
        );
        let yaml = read_bytes("d.yml", b"shop: [1]\n").unwrap_err();
        assert!(
            yaml.to_string()
                .contains("namespace \"shop\" should be an object of fields, not"),
            "{yaml}"
        );
        let other = read_bytes("d.ini", b"a: 1").unwrap_err();
        assert!(
            other.to_string().contains("is not a file an import reads"),
            "{other}"
        );
        let broken = read_bytes("e.tar.gz", b"not gzip").unwrap_err();
        assert!(
            broken
                .to_string()
                .starts_with("e.tar.gz: is not a readable .tar.gz"),
            "{broken}"
        );
    }

    #[test]
    fn a_secret_placeholder_keeps_the_stored_value_or_is_refused() {
        let schema = serde_json::json!({"properties": {"token": {"writeOnly": true}}});
        let incoming: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"token": SECRET_PLACEHOLDER, "a": 1}))
                .unwrap();
        let stored: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"token": "hunter2"})).unwrap();
        let kept = keep_secrets(incoming.clone(), Some(&stored), Some(&schema)).unwrap();
        assert_eq!(kept["token"], "hunter2");
        assert_eq!(keep_secrets(incoming.clone(), None, Some(&schema)), None);
        // Not a secret place: the text is taken as it is... but it is the placeholder, refused.
        assert_eq!(keep_secrets(incoming, Some(&stored), None), None);
    }
}
