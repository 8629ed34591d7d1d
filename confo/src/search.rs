//! Search across namespace names, configuration names, field paths and values, served from an
//! index in memory.
//!
//! - **What matches.** Names and paths match as case-insensitive substrings; a path is written
//!   `servers/0/host` or `servers.0.host`. A value matches when the query is a case-insensitive
//!   substring of its text: a string's characters, a number or boolean as written, `null`, and
//!   `[]` / `{}` for an empty list or object. Every place that holds no list or object inside
//!   (a leaf) is one field path with one value.
//! - **What is never indexed.** The value of a place its schema marks `writeOnly` (a secret); its
//!   path is. Past the value ceiling ([`SearchIndex::new`]), the longest values are left out, and
//!   every answer says how many and from what length ([`Results::left_out`]), so a gap is never
//!   silent.
//! - **Order.** Permissions and filters first ([`Query::readable`]), then ranking: exact names,
//!   exact paths (the whole path or its last part), names containing the query, paths containing
//!   it, exact values, values containing it; within each, by namespace, configuration and the
//!   field's place. Pages are cut from that order: every match is counted, none is dropped.
//! - **Keeping it current.** [`SearchIndex::follow`] applies the store's change stream
//!   ([`crate::store::WatchEvent`]): a changed configuration is read again, a namespace whose
//!   list or settings changed is read again, and a resync rebuilds the whole index.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use memchr::memmem;
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use crate::error::Result;
use crate::names::NamespaceName;
use crate::schema;
use crate::store::{NamespaceSettings, Store, Target, WatchEvent};

/// The default value ceiling: this many bytes of value text (as kept and as searched) at most.
pub const DEFAULT_VALUE_CEILING: usize = 256 * 1024 * 1024;

/// Values longer than this are shown cut around the match.
const SNIPPET_CHARS: usize = 160;

/// Which kinds of text a query looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub names: bool,
    pub paths: bool,
    pub values: bool,
}

impl Scope {
    pub const ALL: Scope = Scope {
        names: true,
        paths: true,
        values: true,
    };
}

/// A search: its text, filters and the page wanted.
pub struct Query<'a> {
    pub text: &'a str,
    /// Only this namespace.
    pub namespace: Option<&'a str>,
    pub scope: Scope,
    /// Which namespaces the person may read: applied before anything is matched.
    pub readable: &'a dyn Fn(&str) -> bool,
    /// How many results of the ranked order to pass over, and how many to give.
    pub offset: usize,
    pub limit: usize,
}

/// What a result matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Matched {
    NamespaceName,
    ConfigurationName,
    Path,
    Value,
}

/// A text with the matched part marked: `before`, `mark`, `after`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Marked {
    pub before: String,
    pub mark: String,
    pub after: String,
}

/// One result.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    pub namespace: String,
    /// `None` for a namespace's name.
    pub configuration: Option<String>,
    /// The place of the field (a JSON Pointer from the configuration's top, `/servers/0/host`),
    /// for a path or value match.
    pub pointer: Option<String>,
    /// The place in words for people: `servers/0/host`.
    pub path: Option<String>,
    /// The value's text (cut around the match when long), for a path or value match; `None`
    /// when it is secret or left out.
    pub value: Option<String>,
    pub matched: Matched,
    /// Whether the whole name, path (or its last part) or value is the query.
    pub exact: bool,
    /// The matched text with the match marked.
    pub marked: Marked,
}

/// Values left out of the index for the ceiling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeftOut {
    /// How many values.
    pub values: usize,
    /// Values longer than this many bytes are left out (meaningful when `values > 0`).
    pub longer_than: usize,
}

/// The answer to a [`Query`].
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// Every match, counted.
    pub total: usize,
    /// The page asked for.
    pub hits: Vec<Hit>,
    pub left_out: LeftOut,
}

/// How large the index is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    pub namespaces: usize,
    pub configurations: usize,
    pub fields: usize,
    /// Bytes held by the index's own text and tables (an estimate from their capacities).
    pub bytes: usize,
}

/// The index, shared by the server's requests and kept current by [`SearchIndex::follow`].
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<RwLock<Index>>,
    ready: Arc<AtomicBool>,
}

impl SearchIndex {
    /// An empty index that keeps at most `value_ceiling` bytes of value text.
    pub fn new(value_ceiling: usize) -> Self {
        Self {
            inner: Arc::new(RwLock::new(Index::new(value_ceiling))),
            ready: Arc::default(),
        }
    }

    /// Reads every namespace of `store` into the index, replacing what it held.
    pub async fn rebuild(&self, store: &Store) -> Result<()> {
        use futures::{StreamExt, TryStreamExt};
        let names = store.list_namespaces().await?;
        // Made aside and swapped in whole, so that searches meanwhile see the old index; each
        // namespace read is indexed as it comes, so that the reads are not all held at once.
        let mut fresh = Index::new(self.read().ceiling);
        let reads = names
            .iter()
            .map(|name| read_namespace(store, name, &names))
            .collect::<Vec<_>>();
        let mut stream = futures::stream::iter(reads).buffered(8);
        while let Some(read) = stream.try_next().await? {
            if let Some(read) = read {
                fresh.put_namespace(read);
            }
        }
        fresh.enforce_ceiling();
        drop(stream);
        fresh.listed = names;
        *self.write() = fresh;
        self.ready.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Applies one change of the store's stream: what it touched is read again.
    pub async fn apply(&self, store: &Store, event: &WatchEvent) -> Result<()> {
        let targets = match event {
            WatchEvent::Resync { .. } => return self.rebuild(store).await,
            WatchEvent::Changed { targets, .. } => targets,
        };
        let mut whole: BTreeSet<&str> = BTreeSet::new();
        let mut listed = None;
        for target in targets {
            match target {
                Target::Namespaces => {
                    let names = store.list_namespaces().await?;
                    let known = self.read().namespaces.keys().cloned().collect::<Vec<_>>();
                    let gone: Vec<&String> = known.iter().filter(|k| !names.contains(k)).collect();
                    let new: Vec<&String> = names.iter().filter(|n| !known.contains(n)).collect();
                    for name in &gone {
                        self.write().namespaces.remove(*name);
                    }
                    // A name listed or unlisted changes which keys the namespaces it shares a
                    // prefix with own (`shop` and `shop-eu` both hold `shop-eu-x`): those are
                    // read again, and so is every new one.
                    let related = |n: &String| {
                        gone.iter().chain(&new).any(|x| {
                            x.starts_with(&format!("{n}-")) || n.starts_with(&format!("{x}-"))
                        })
                    };
                    let again: Vec<&String> = known
                        .iter()
                        .filter(|n| names.contains(n) && related(n))
                        .chain(new.iter().copied())
                        .collect();
                    for name in again {
                        let read = read_namespace(store, name, &names).await?;
                        self.write_namespace(read);
                    }
                    self.write().listed = names.clone();
                    listed = Some(names);
                }
                Target::Namespace(namespace) | Target::Settings(namespace) => {
                    whole.insert(namespace);
                }
                _ => {}
            }
        }
        let listed = match listed {
            Some(listed) => listed,
            // The namespace list as the changes to it that came through this stream left it:
            // no read of it for every change to a configuration.
            None => self.read().listed.clone(),
        };
        for namespace in &whole {
            if listed.iter().any(|n| n == namespace) {
                let read = read_namespace(store, namespace, &listed).await?;
                self.write_namespace(read);
            } else {
                self.write().namespaces.remove(*namespace);
            }
        }
        for target in targets {
            let Target::Configuration {
                namespace,
                configuration,
            } = target
            else {
                continue;
            };
            if whole.contains(namespace.as_str()) {
                continue;
            }
            let Some(settings) = self
                .read()
                .namespaces
                .get(namespace)
                .map(|n| n.settings.clone())
            else {
                continue;
            };
            let key = store
                .layout()
                .unchecked_configuration(namespace, configuration);
            let owned = store.layout().check_owner(&key, namespace, &listed).is_ok();
            let fields = if owned {
                store
                    .kv()
                    .get(&key)
                    .await?
                    .and_then(|kv| serde_json::from_slice::<Map<String, Value>>(&kv.value).ok())
            } else {
                None
            };
            let mut index = self.write();
            let schema = settings.schema_of(configuration);
            let entry = fields.map(|fields| Entry::new(configuration, &fields, schema));
            index.put_configuration(namespace, configuration, entry);
            index.enforce_ceiling();
        }
        Ok(())
    }

    /// Keeps the index current from `events` (the store's one change stream, as the server
    /// fans it out) until the stream closes. Subscribe to it before the first
    /// [`SearchIndex::rebuild`], so that nothing written in between is missed. Falling behind
    /// the stream, or failing to read what changed, rebuilds the index.
    pub async fn follow(&self, store: Store, mut events: broadcast::Receiver<WatchEvent>) {
        loop {
            let outcome = match events.recv().await {
                Ok(event) => self.apply(&store, &event).await,
                Err(broadcast::error::RecvError::Lagged(_)) => self.rebuild(&store).await,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if let Err(error) = outcome {
                tracing::warn!(%error, "cannot update the search index; rebuilding it");
                self.rebuild_until_done(&store).await;
            }
        }
    }

    /// [`SearchIndex::rebuild`], tried again (with a growing pause) until the store answers.
    pub async fn rebuild_until_done(&self, store: &Store) {
        let mut pause = std::time::Duration::from_millis(100);
        while let Err(error) = self.rebuild(store).await {
            tracing::warn!(%error, "cannot build the search index yet");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_secs(5));
        }
    }

    /// Whether the index has been built once.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// The namespaces indexed, in order.
    pub fn namespaces(&self) -> Vec<String> {
        self.read().namespaces.keys().cloned().collect()
    }

    /// Runs `query`.
    pub fn search(&self, query: &Query<'_>) -> Results {
        self.read().search(query)
    }

    /// How large the index is.
    pub fn size(&self) -> Size {
        self.read().size()
    }

    fn write_namespace(&self, read: Option<NamespaceRead>) {
        if let Some(read) = read {
            let mut index = self.write();
            index.put_namespace(read);
            index.enforce_ceiling();
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// What one namespace holds, as read from the store.
struct NamespaceRead {
    name: String,
    settings: NamespaceSettings,
    configurations: Vec<(String, Map<String, Value>)>,
}

/// Reads namespace `name`'s settings and every configuration stored under its prefix that no
/// other listed namespace may own. `None` for a name the rules refuse (written by other tools),
/// which the dashboard does not open either.
async fn read_namespace(
    store: &Store,
    name: &str,
    listed: &[String],
) -> Result<Option<NamespaceRead>> {
    let Ok(namespace) = NamespaceName::new(name) else {
        return Ok(None);
    };
    let (settings, owned) = store.read_namespace_whole(&namespace, listed).await?;
    // A value that is not an object (written by another tool) has no fields to find.
    let configurations = owned
        .into_iter()
        .filter_map(|(configuration, kv)| {
            let fields = serde_json::from_slice::<Map<String, Value>>(&kv.value).ok()?;
            Some((configuration, fields))
        })
        .collect();
    Ok(Some(NamespaceRead {
        name: name.to_owned(),
        settings: settings.settings,
        configurations,
    }))
}

/// The index itself: what [`SearchIndex`] guards.
struct Index {
    namespaces: BTreeMap<String, Namespace>,
    /// At most this many bytes of value text.
    ceiling: usize,
    /// Bytes of value text held now (each value counted twice: as kept, and folded to search).
    value_bytes: usize,
    /// Values longer than this are left out (`usize::MAX`: none yet).
    cutoff: usize,
    /// The namespaces the root key lists (those whose names the rules refuse too): which
    /// namespaces may own a key.
    listed: Vec<String>,
}

struct Namespace {
    lower: String,
    settings: NamespaceSettings,
    /// By name.
    configurations: Vec<(String, Entry)>,
    /// What a query scans, made again whenever the namespace changes.
    flat: Flat,
}

/// One configuration: each leaf's place (a JSON Pointer) and value text, as kept to be shown.
struct Entry {
    lower: String,
    /// Each leaf's pointer, then its value's text when indexed, one after the other.
    text: String,
    leaves: Vec<LeafAt>,
}

/// Where a leaf's pointer and value end in [`Entry::text`] (each starts where the one before
/// it ends), and whether its value is indexed.
#[derive(Clone, Copy)]
struct LeafAt {
    pointer_end: u32,
    value_end: u32,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Indexed,
    /// Secret: never indexed.
    Masked,
    /// Over the ceiling: not indexed.
    LeftOut,
}

/// A namespace's text as a query scans it, lower case and contiguous: its configurations'
/// names, and every leaf's path and value, in order.
#[derive(Default)]
struct Flat {
    names: Joined,
    paths: Joined,
    values: Joined,
    /// The index (in `paths` and `values`) of each configuration's first leaf.
    first_leaf: Vec<u32>,
    /// Values left out for the ceiling.
    left_out: usize,
}

/// Texts one after the other, each preceded by a NUL (which no query holds, so no match spans
/// two), with where each starts.
#[derive(Default)]
struct Joined {
    text: String,
    starts: Vec<u32>,
}

impl Joined {
    fn push(&mut self, text: &str) {
        self.text.push('\0');
        self.starts.push(self.text.len() as u32);
        self.text.push_str(text);
    }

    fn get(&self, i: usize) -> &str {
        let start = self.starts[i] as usize;
        let end = self
            .starts
            .get(i + 1)
            .map_or(self.text.len(), |next| *next as usize - 1);
        &self.text[start..end]
    }

    /// The items holding `finder`'s needle, each once, in order.
    fn matching(&self, finder: &memmem::Finder<'_>, mut found: impl FnMut(usize)) {
        let haystack = self.text.as_bytes();
        let mut from = 0;
        while let Some(at) = finder.find(&haystack[from..]) {
            let at = from + at;
            let item = self.starts.partition_point(|s| (*s as usize) <= at) - 1;
            found(item);
            from = self
                .starts
                .get(item + 1)
                .map_or(haystack.len(), |next| *next as usize);
            if from >= haystack.len() {
                break;
            }
        }
    }

    fn bytes(&self) -> usize {
        self.text.capacity() + self.starts.capacity() * 4
    }
}

/// Text to match against: lower case, with NUL (the separator) as a space.
fn fold(text: &str) -> String {
    text.to_lowercase().replace('\0', " ")
}

/// A value's text: a string's characters, anything else as JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A pointer's path in words: `/servers/0/host` is `servers/0/host`.
fn path_of(pointer: &str) -> String {
    crate::edit::tokens(pointer)
        .map(|tokens| tokens.join("/"))
        .unwrap_or_else(|_| pointer.to_owned())
}

impl Entry {
    fn new(name: &str, fields: &Map<String, Value>, schema: Option<&Value>) -> Self {
        let mut entry = Entry {
            lower: fold(name),
            text: String::new(),
            leaves: Vec::new(),
        };
        let mut tokens = Vec::new();
        for (key, value) in fields {
            tokens.push(key.clone());
            entry.add_leaves(&mut tokens, value, schema);
            tokens.pop();
        }
        entry.text.shrink_to_fit();
        entry.leaves.shrink_to_fit();
        entry
    }

    fn add_leaves(&mut self, tokens: &mut Vec<String>, value: &Value, schema: Option<&Value>) {
        // A secret place is one leaf, whatever it holds: neither its value nor what is inside
        // it (keys, list items) is indexed.
        let secret = schema.is_some_and(|s| schema::is_write_only(s, tokens));
        match value {
            _ if secret => {
                self.text.push_str(&crate::edit::pointer(tokens));
                let end = self.text.len() as u32;
                self.leaves.push(LeafAt {
                    pointer_end: end,
                    value_end: end,
                    state: State::Masked,
                });
            }
            Value::Object(map) if !map.is_empty() => {
                for (key, inner) in map {
                    tokens.push(key.clone());
                    self.add_leaves(tokens, inner, schema);
                    tokens.pop();
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for (i, inner) in items.iter().enumerate() {
                    tokens.push(i.to_string());
                    self.add_leaves(tokens, inner, schema);
                    tokens.pop();
                }
            }
            leaf => {
                self.text.push_str(&crate::edit::pointer(tokens));
                let pointer_end = self.text.len() as u32;
                self.text.push_str(&value_text(leaf));
                self.leaves.push(LeafAt {
                    pointer_end,
                    value_end: self.text.len() as u32,
                    state: State::Indexed,
                });
            }
        }
    }

    fn start(&self, leaf: usize) -> usize {
        leaf.checked_sub(1)
            .map_or(0, |before| self.leaves[before].value_end as usize)
    }

    fn pointer(&self, leaf: usize) -> &str {
        &self.text[self.start(leaf)..self.leaves[leaf].pointer_end as usize]
    }

    /// The value's text, when indexed.
    fn value(&self, leaf: usize) -> Option<&str> {
        let at = self.leaves[leaf];
        (at.state == State::Indexed)
            .then(|| &self.text[at.pointer_end as usize..at.value_end as usize])
    }

    /// Bytes of value text: as kept, and again as searched.
    fn value_bytes(&self) -> usize {
        2 * (0..self.leaves.len())
            .filter_map(|leaf| self.value(leaf))
            .map(str::len)
            .sum::<usize>()
    }

    /// Leaves out every value longer than `cutoff` bytes.
    fn cut(&mut self, cutoff: usize) {
        if !(0..self.leaves.len()).any(|l| self.value(l).is_some_and(|v| v.len() > cutoff)) {
            return;
        }
        let mut text = String::new();
        let mut leaves = Vec::with_capacity(self.leaves.len());
        for leaf in 0..self.leaves.len() {
            text.push_str(self.pointer(leaf));
            let pointer_end = text.len() as u32;
            let mut state = self.leaves[leaf].state;
            match self.value(leaf) {
                Some(value) if value.len() > cutoff => state = State::LeftOut,
                Some(value) => text.push_str(value),
                None => {}
            }
            leaves.push(LeafAt {
                pointer_end,
                value_end: text.len() as u32,
                state,
            });
        }
        self.text = text;
        self.leaves = leaves;
    }

    fn bytes(&self) -> usize {
        self.lower.capacity()
            + self.text.capacity()
            + self.leaves.capacity() * std::mem::size_of::<LeafAt>()
    }
}

impl Namespace {
    /// Makes [`Namespace::flat`] again from the configurations.
    fn flatten(&mut self) {
        let mut flat = Flat::default();
        for (_, entry) in &self.configurations {
            flat.names.push(&entry.lower);
            flat.first_leaf.push(flat.paths.starts.len() as u32);
            for leaf in 0..entry.leaves.len() {
                flat.paths.push(&fold(&path_of(entry.pointer(leaf))));
                if entry.leaves[leaf].state == State::LeftOut {
                    flat.left_out += 1;
                }
                flat.values
                    .push(&entry.value(leaf).map(fold).unwrap_or_default());
            }
        }
        flat.names.text.shrink_to_fit();
        flat.paths.text.shrink_to_fit();
        flat.values.text.shrink_to_fit();
        self.flat = flat;
    }

    fn bytes(&self) -> usize {
        self.lower.capacity()
            + self.flat.names.bytes()
            + self.flat.paths.bytes()
            + self.flat.values.bytes()
            + self.flat.first_leaf.capacity() * 4
            + self
                .configurations
                .iter()
                .map(|(name, entry)| name.capacity() + entry.bytes())
                .sum::<usize>()
    }
}

/// The ranks, best first.
const EXACT_NAME: u8 = 0;
const EXACT_PATH: u8 = 1;
const NAME: u8 = 2;
const PATH: u8 = 3;
const EXACT_VALUE: u8 = 4;
const VALUE: u8 = 5;
const RANKS: usize = 6;
/// No match.
const NONE: u8 = u8::MAX;

/// A match found while scanning, before it is made a [`Hit`].
#[derive(Clone, Copy)]
struct Found<'a> {
    namespace: &'a str,
    configuration: Option<(&'a str, &'a Entry)>,
    leaf: Option<usize>,
    matched: Matched,
}

impl Index {
    fn new(ceiling: usize) -> Self {
        Self {
            namespaces: BTreeMap::new(),
            ceiling,
            value_bytes: 0,
            cutoff: usize::MAX,
            listed: Vec::new(),
        }
    }

    fn put_namespace(&mut self, read: NamespaceRead) {
        if let Some(old) = self.namespaces.remove(&read.name) {
            self.value_bytes -= old
                .configurations
                .iter()
                .map(|(_, e)| e.value_bytes())
                .sum::<usize>();
        }
        let mut namespace = Namespace {
            lower: fold(&read.name),
            settings: read.settings,
            configurations: Vec::with_capacity(read.configurations.len()),
            flat: Flat::default(),
        };
        for (name, fields) in &read.configurations {
            let mut entry = Entry::new(name, fields, namespace.settings.schema_of(name));
            entry.cut(self.cutoff);
            self.value_bytes += entry.value_bytes();
            namespace.configurations.push((name.clone(), entry));
        }
        namespace.configurations.sort_by(|a, b| a.0.cmp(&b.0));
        namespace.flatten();
        self.namespaces.insert(read.name, namespace);
    }

    fn put_configuration(&mut self, namespace: &str, name: &str, entry: Option<Entry>) {
        let cutoff = self.cutoff;
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        let at = ns
            .configurations
            .binary_search_by(|(n, _)| n.as_str().cmp(name));
        if let Ok(i) = at {
            let (_, old) = ns.configurations.remove(i);
            self.value_bytes -= old.value_bytes();
        }
        if let Some(mut entry) = entry {
            entry.cut(cutoff);
            self.value_bytes += entry.value_bytes();
            let i = at.unwrap_or_else(|i| i);
            ns.configurations.insert(i, (name.to_owned(), entry));
        }
        ns.flatten();
    }

    /// Past the ceiling, leaves out the longest values until the rest fit.
    fn enforce_ceiling(&mut self) {
        if self.value_bytes <= self.ceiling {
            return;
        }
        let mut lengths: Vec<usize> = self
            .entries()
            .flat_map(|e| (0..e.leaves.len()).filter_map(|l| e.value(l).map(str::len)))
            .collect();
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        let mut total = self.value_bytes;
        let mut cutoff = self.cutoff;
        for length in lengths {
            if total <= self.ceiling {
                break;
            }
            total = total.saturating_sub(2 * length);
            cutoff = length.saturating_sub(1);
        }
        self.cutoff = cutoff;
        let mut bytes = 0;
        for namespace in self.namespaces.values_mut() {
            for (_, entry) in &mut namespace.configurations {
                entry.cut(cutoff);
                bytes += entry.value_bytes();
            }
            namespace.flatten();
        }
        self.value_bytes = bytes;
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.namespaces
            .values()
            .flat_map(|n| n.configurations.iter().map(|(_, e)| e))
    }

    fn size(&self) -> Size {
        let mut size = Size {
            namespaces: self.namespaces.len(),
            ..Size::default()
        };
        for (name, namespace) in &self.namespaces {
            size.bytes += name.capacity() + namespace.bytes();
            size.configurations += namespace.configurations.len();
            size.fields += namespace.flat.paths.starts.len();
        }
        size
    }

    /// Values left out for the ceiling, in the namespaces a query may read.
    fn left_out<'q>(&self, namespaces: impl Iterator<Item = &'q Namespace>) -> LeftOut
    where
        Self: 'q,
    {
        let values = namespaces.map(|n| n.flat.left_out).sum();
        LeftOut {
            values,
            longer_than: if values > 0 { self.cutoff } else { 0 },
        }
    }

    fn search<'s>(&'s self, query: &Query<'_>) -> Results {
        let readable: Vec<(&'s String, &'s Namespace)> = self
            .namespaces
            .iter()
            .filter(|(name, _)| query.namespace.is_none_or(|only| only == name.as_str()))
            .filter(|(name, _)| (query.readable)(name))
            .collect();
        let left_out = self.left_out(readable.iter().map(|(_, n)| *n));
        let needle = fold(query.text.trim()).replace('\0', "");
        if needle.is_empty() {
            return Results {
                total: 0,
                hits: Vec::new(),
                left_out,
            };
        }
        let scan = Scan::new(&needle);
        let keep = query.offset.saturating_add(query.limit);
        // Early pages in one pass, keeping each rank's first matches; a far page in two: one to
        // count each rank, one to keep just the page. Memory stays within a page's worth.
        let (counts, ranked, skip) = if keep <= ONE_PASS {
            let (counts, ranked) =
                scan.run(&readable, query.scope, &std::array::from_fn(|_| 0..keep));
            (counts, ranked, query.offset)
        } else {
            let (counts, _) = scan.run(&readable, query.scope, &std::array::from_fn(|_| 0..0));
            let mut before = 0usize;
            let windows: [std::ops::Range<usize>; RANKS] = std::array::from_fn(|rank| {
                let low = query.offset.saturating_sub(before).min(counts[rank]);
                let high = keep.saturating_sub(before).min(counts[rank]);
                before += counts[rank];
                low..high
            });
            let (_, ranked) = scan.run(&readable, query.scope, &windows);
            (counts, ranked, 0)
        };
        let total = counts.iter().sum();
        let hits = ranked
            .iter()
            .enumerate()
            .flat_map(|(rank, found)| found.iter().map(move |f| (rank as u8, f)))
            .skip(skip)
            .take(query.limit)
            .map(|(rank, found)| hit(found, rank, query.text.trim(), &scan.dotted))
            .collect();
        Results {
            total,
            hits,
            left_out,
        }
    }
}

/// Pages up to this far into the results are cut in one pass.
const ONE_PASS: usize = 10_000;

/// A query's needle, ready to scan namespaces with.
struct Scan<'n> {
    needle: &'n str,
    /// `servers.0.host` is the path `servers/0/host`.
    dotted: String,
}

impl<'n> Scan<'n> {
    fn new(needle: &'n str) -> Self {
        Self {
            needle,
            dotted: needle.replace('.', "/"),
        }
    }

    /// Every match in `namespaces`, counted by rank; of each rank's matches, those whose place
    /// in that rank's order falls in its window are kept.
    fn run<'s>(
        &self,
        namespaces: &[(&'s String, &'s Namespace)],
        scope: Scope,
        windows: &[std::ops::Range<usize>; RANKS],
    ) -> ([usize; RANKS], [Vec<Found<'s>>; RANKS]) {
        let (needle, dotted) = (self.needle, self.dotted.as_str());
        let finder = memmem::Finder::new(needle.as_bytes());
        let path_finder = memmem::Finder::new(dotted.as_bytes());
        let mut counts = [0usize; RANKS];
        let mut ranked: [Vec<Found<'s>>; RANKS] = Default::default();
        let mut add = |rank: u8, found: Found<'s>| {
            let rank = rank as usize;
            if windows[rank].contains(&counts[rank]) {
                ranked[rank].push(found);
            }
            counts[rank] += 1;
        };
        // The best rank of each leaf of the namespace being scanned.
        let mut best: Vec<u8> = Vec::new();
        for (ns_name, namespace) in namespaces.iter().copied() {
            let flat = &namespace.flat;
            let configuration = |i: usize| {
                let (name, entry) = &namespace.configurations[i];
                Some((name.as_str(), entry))
            };
            if scope.names {
                if finder.find(namespace.lower.as_bytes()).is_some() {
                    let exact = namespace.lower == needle;
                    add(
                        if exact { EXACT_NAME } else { NAME },
                        Found {
                            namespace: ns_name,
                            configuration: None,
                            leaf: None,
                            matched: Matched::NamespaceName,
                        },
                    );
                }
                flat.names.matching(&finder, |i| {
                    let exact = flat.names.get(i) == needle;
                    add(
                        if exact { EXACT_NAME } else { NAME },
                        Found {
                            namespace: ns_name,
                            configuration: configuration(i),
                            leaf: None,
                            matched: Matched::ConfigurationName,
                        },
                    );
                });
            }
            if !scope.paths && !scope.values {
                continue;
            }
            let mut any = false;
            best.clear();
            best.resize(flat.paths.starts.len(), NONE);
            if scope.paths {
                let mut on_path = |leaf: usize| {
                    let path = flat.paths.get(leaf);
                    let last = path.rsplit('/').next().unwrap_or(path);
                    let exact = path == dotted || path == needle || last == needle;
                    best[leaf] = best[leaf].min(if exact { EXACT_PATH } else { PATH });
                    any = true;
                };
                flat.paths.matching(&finder, &mut on_path);
                if dotted != needle {
                    flat.paths.matching(&path_finder, &mut on_path);
                }
            }
            if scope.values {
                flat.values.matching(&finder, |leaf| {
                    let exact = flat.values.get(leaf) == needle;
                    best[leaf] = best[leaf].min(if exact { EXACT_VALUE } else { VALUE });
                    any = true;
                });
            }
            if !any {
                continue;
            }
            // Leaves in order, and the configuration each belongs to.
            let mut owner = 0;
            for (leaf, rank) in best.iter().enumerate() {
                if *rank == NONE {
                    continue;
                }
                while flat
                    .first_leaf
                    .get(owner + 1)
                    .is_some_and(|next| *next as usize <= leaf)
                {
                    owner += 1;
                }
                add(
                    *rank,
                    Found {
                        namespace: ns_name,
                        configuration: configuration(owner),
                        leaf: Some(leaf - flat.first_leaf[owner] as usize),
                        matched: if *rank <= PATH {
                            Matched::Path
                        } else {
                            Matched::Value
                        },
                    },
                );
            }
        }
        (counts, ranked)
    }
}

fn hit(found: &Found<'_>, rank: u8, query: &str, dotted: &str) -> Hit {
    let exact = matches!(rank, EXACT_NAME | EXACT_PATH | EXACT_VALUE);
    let leaf = found.configuration.zip(found.leaf);
    let pointer = leaf.map(|((_, entry), leaf)| entry.pointer(leaf));
    let value = leaf.and_then(|((_, entry), leaf)| entry.value(leaf));
    let path = pointer.map(path_of);
    let marked = match found.matched {
        Matched::NamespaceName => mark(found.namespace, query),
        Matched::ConfigurationName => mark(found.configuration.map_or("", |c| c.0), query),
        Matched::Path => {
            let path = path.as_deref().unwrap_or("");
            let marked = mark(path, query);
            if marked.mark.is_empty() {
                mark(path, dotted)
            } else {
                marked
            }
        }
        Matched::Value => mark(value.unwrap_or(""), query),
    };
    Hit {
        namespace: found.namespace.to_owned(),
        configuration: found.configuration.map(|c| c.0.to_owned()),
        pointer: pointer.map(str::to_owned),
        path,
        value: value.map(|v| snippet(v, query)),
        matched: found.matched,
        exact,
        marked,
    }
}

/// `text` with the first case-insensitive occurrence of `query` marked, cut to about
/// [`SNIPPET_CHARS`] characters around it.
fn mark(text: &str, query: &str) -> Marked {
    let (start, end) = find_folded(text, query).unwrap_or((0, 0));
    let room = SNIPPET_CHARS / 2;
    let before = &text[..start];
    let before = match before.char_indices().rev().nth(room - 1) {
        Some((at, _)) if at > 0 => format!("…{}", &before[at..]),
        _ => before.to_owned(),
    };
    let after = &text[end..];
    let after = match after.char_indices().nth(room) {
        Some((at, _)) => format!("{}…", &after[..at]),
        None => after.to_owned(),
    };
    Marked {
        before,
        mark: text[start..end].to_owned(),
        after,
    }
}

/// How far into a text [`find_folded`] looks when either side is not plain ASCII (a long value
/// is shown cut anyway).
const MARK_SCAN_BYTES: usize = 8 * 1024;

/// Where `query` is in `text`, ignoring case: byte offsets in `text`.
fn find_folded(text: &str, query: &str) -> Option<(usize, usize)> {
    let needle = fold(query);
    if needle.is_empty() {
        return None;
    }
    if text.is_ascii() && needle.is_ascii() {
        // Lower-casing ASCII keeps every offset.
        let lower = text.to_ascii_lowercase();
        let at = memmem::find(lower.as_bytes(), needle.as_bytes())?;
        return Some((at, at + needle.len()));
    }
    let mut window = text.len().min(MARK_SCAN_BYTES);
    while !text.is_char_boundary(window) {
        window -= 1;
    }
    let text = &text[..window];
    for (start, _) in text.char_indices() {
        let mut folded = String::new();
        for (offset, c) in text[start..].char_indices() {
            folded.extend(c.to_lowercase());
            if folded.len() >= needle.len() {
                if folded == needle {
                    return Some((start, start + offset + c.len_utf8()));
                }
                break;
            }
            if !needle.starts_with(&folded) {
                break;
            }
        }
    }
    None
}

/// A long value cut around the query.
fn snippet(value: &str, query: &str) -> String {
    if value.chars().count() <= SNIPPET_CHARS {
        return value.to_owned();
    }
    let m = mark(value, query);
    format!("{}{}{}", m.before, m.mark, m.after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Namespaces: name, settings, configurations.
    type Namespaces<'a> = [(&'a str, Value, &'a [(&'a str, Value)])];

    fn index(ceiling: usize, namespaces: &Namespaces<'_>) -> Index {
        let mut index = Index::new(ceiling);
        for (name, settings, configurations) in namespaces {
            index.put_namespace(NamespaceRead {
                name: name.to_string(),
                settings: serde_json::from_value(settings.clone()).unwrap(),
                configurations: configurations
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.as_object().unwrap().clone()))
                    .collect(),
            });
        }
        index.enforce_ceiling();
        index
    }

    fn run(index: &Index, text: &str) -> Results {
        index.search(&Query {
            text,
            namespace: None,
            scope: Scope::ALL,
            readable: &|_| true,
            offset: 0,
            limit: 100,
        })
    }

    fn places(results: &Results) -> Vec<String> {
        results
            .hits
            .iter()
            .map(|h| {
                format!(
                    "{}/{}:{}:{:?}",
                    h.namespace,
                    h.configuration.as_deref().unwrap_or(""),
                    h.path.as_deref().unwrap_or(""),
                    h.matched
                )
            })
            .collect()
    }

    fn shop() -> Index {
        index(
            DEFAULT_VALUE_CEILING,
            &[
                (
                    "shop",
                    json!({"schemas": {}, "assignments": {"db": {"own": {"properties": {"password": {"writeOnly": true}}}}}}),
                    &[
                        (
                            "db",
                            json!({"host": "old-db.internal", "password": "Hunter2-old-db", "servers": [{"host": "a"}, {"port": 5432}]}),
                        ),
                        (
                            "host",
                            // Parsed, not built: a number keeps the digits it was written with.
                            serde_json::from_str(
                                r#"{"enabled": true, "ratio": 1.50, "none": null, "empty": []}"#,
                            )
                            .unwrap(),
                        ),
                    ],
                ),
                (
                    "other",
                    json!({}),
                    &[("web", json!({"upstream": "OLD-DB.internal:80"}))],
                ),
            ],
        )
    }

    #[test]
    fn exact_names_and_paths_come_first_then_substrings_then_values() {
        let found = run(&shop(), "host");
        assert_eq!(
            places(&found),
            vec![
                "shop/host::ConfigurationName",
                "shop/db:host:Path",
                "shop/db:servers/0/host:Path",
            ]
        );
        assert_eq!(found.total, 3);
        let found = run(&shop(), "old-db");
        assert_eq!(
            places(&found),
            vec!["other/web:upstream:Value", "shop/db:host:Value"]
        );
        // Marked in its case as stored.
        assert_eq!(found.hits[0].marked.mark, "OLD-DB");
        assert_eq!(found.hits[0].marked.after, ".internal:80");
    }

    #[test]
    fn paths_are_found_with_dots_or_slashes_and_values_as_written() {
        assert_eq!(
            places(&run(&shop(), "SERVERS.1.port")),
            vec!["shop/db:servers/1/port:Path"]
        );
        assert_eq!(
            places(&run(&shop(), "servers/1")),
            vec!["shop/db:servers/1/port:Path"]
        );
        assert_eq!(places(&run(&shop(), "1.50")), vec!["shop/host:ratio:Value"]);
        assert_eq!(
            places(&run(&shop(), "5432")),
            vec!["shop/db:servers/1/port:Value"]
        );
        assert!(run(&shop(), "5432").hits[0].exact);
        assert_eq!(
            places(&run(&shop(), "TRUE")),
            vec!["shop/host:enabled:Value"]
        );
        assert_eq!(places(&run(&shop(), "null")), vec!["shop/host:none:Value"]);
        assert_eq!(places(&run(&shop(), "[]")), vec!["shop/host:empty:Value"]);
        assert_eq!(run(&shop(), "  ").total, 0);
    }

    #[test]
    fn what_is_inside_a_secret_object_or_list_is_not_found_either() {
        let index = index(
            DEFAULT_VALUE_CEILING,
            &[(
                "ns",
                json!({"assignments": {"a": {"own": {"properties": {
                    "credentials": {"type": "object", "writeOnly": true},
                    "tokens": {"type": "array", "writeOnly": true}
                }}}}}),
                &[(
                    "a",
                    json!({"credentials": {"AKIA123": "s3cret"}, "tokens": ["t1", "t2"], "open": 1}),
                )],
            )],
        );
        assert_eq!(run(&index, "akia").total, 0);
        assert_eq!(run(&index, "s3cret").total, 0);
        assert_eq!(run(&index, "t1").total, 0);
        assert_eq!(places(&run(&index, "tokens")), vec!["ns/a:tokens:Path"]);
        assert_eq!(
            places(&run(&index, "credentials")),
            vec!["ns/a:credentials:Path"]
        );
    }

    #[test]
    fn secret_values_are_not_found_but_their_paths_are() {
        assert_eq!(run(&shop(), "hunter2").total, 0);
        let found = run(&shop(), "password");
        assert_eq!(places(&found), vec!["shop/db:password:Path"]);
        assert_eq!(found.hits[0].value, None);
    }

    #[test]
    fn unreadable_namespaces_and_filters_are_applied() {
        let index = shop();
        let query = |namespace, scope, readable: &dyn Fn(&str) -> bool| {
            places(&index.search(&Query {
                text: "old-db",
                namespace,
                scope,
                readable,
                offset: 0,
                limit: 10,
            }))
        };
        assert_eq!(
            query(None, Scope::ALL, &|ns| ns == "other"),
            vec!["other/web:upstream:Value"]
        );
        assert_eq!(
            query(Some("shop"), Scope::ALL, &|_| true),
            vec!["shop/db:host:Value"]
        );
        let names_only = Scope {
            names: true,
            paths: false,
            values: false,
        };
        assert!(query(None, names_only, &|_| true).is_empty());
    }

    #[test]
    fn pages_are_cut_from_the_ranked_order_and_every_match_is_counted() {
        let configurations: Vec<(String, Value)> = (0..30)
            .map(|i| (format!("c{i:02}"), json!({"key": format!("match {i}")})))
            .collect();
        let borrowed: Vec<(&str, Value)> = configurations
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        let index = index(DEFAULT_VALUE_CEILING, &[("ns", json!({}), &borrowed)]);
        let page = |offset| {
            index.search(&Query {
                text: "match",
                namespace: None,
                scope: Scope::ALL,
                readable: &|_| true,
                offset,
                limit: 12,
            })
        };
        assert_eq!(page(0).total, 30);
        assert_eq!(page(0).hits[0].configuration.as_deref(), Some("c00"));
        assert_eq!(page(12).hits[0].configuration.as_deref(), Some("c12"));
        assert_eq!(page(24).hits.len(), 6);
        assert_eq!(page(24).hits[5].configuration.as_deref(), Some("c29"));
    }

    #[test]
    fn a_far_page_is_the_same_as_counting_through_to_it() {
        let configurations: Vec<(String, Value)> = (0..ONE_PASS + 40)
            .map(|i| (format!("c{i:05}"), json!({"key": format!("match {i}")})))
            .collect();
        let borrowed: Vec<(&str, Value)> = configurations
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        // One configuration whose name matches too: it ranks first.
        let mut with_name = borrowed.clone();
        with_name.push(("match", json!({})));
        let index = index(DEFAULT_VALUE_CEILING, &[("ns", json!({}), &with_name)]);
        let page = |offset| {
            index.search(&Query {
                text: "match",
                namespace: None,
                scope: Scope::ALL,
                readable: &|_| true,
                offset,
                limit: 25,
            })
        };
        let far = page(ONE_PASS + 20);
        assert_eq!(far.total, ONE_PASS + 41);
        assert_eq!(far.hits.len(), 21);
        // Before it: the exact name, then values c00000 ... in order.
        assert_eq!(far.hits[0].configuration.as_deref(), Some("c10019"));
        assert_eq!(far.hits[20].configuration.as_deref(), Some("c10039"));
        assert!(page(usize::MAX).hits.is_empty());
    }

    #[test]
    fn past_the_ceiling_the_longest_values_are_left_out_and_said_so() {
        let long = "x".repeat(1000);
        let index = index(
            500,
            &[(
                "ns",
                json!({}),
                &[("a", json!({"long": long, "short": "xyz"}))],
            )],
        );
        let found = run(&index, "xx");
        assert_eq!(found.total, 0);
        assert_eq!(
            found.left_out,
            LeftOut {
                values: 1,
                longer_than: 999
            }
        );
        assert_eq!(run(&index, "xyz").total, 1);
        // Without a ceiling, nothing is left out.
        let all = self::index(
            DEFAULT_VALUE_CEILING,
            &[("ns", json!({}), &[("a", json!({"long": "x".repeat(1000)}))])],
        );
        assert_eq!(run(&all, "xx").left_out, LeftOut::default());
        assert_eq!(run(&all, "xx").total, 1);
    }

    #[test]
    fn unicode_is_matched_without_case_and_marked_where_it_is() {
        let index = index(
            DEFAULT_VALUE_CEILING,
            &[(
                "ns",
                json!({}),
                &[("a", json!({"Straße": "Ärger ÜBER alles"}))],
            )],
        );
        let found = run(&index, "über");
        assert_eq!(found.total, 1);
        assert_eq!(found.hits[0].marked.mark, "ÜBER");
        assert_eq!(found.hits[0].marked.before, "Ärger ");
        assert_eq!(run(&index, "STRASSE").total, 0);
        assert_eq!(run(&index, "straße").total, 1);
    }
}
