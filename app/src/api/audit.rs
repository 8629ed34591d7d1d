//! The audit log as people read it: filtered, paged, exported, and checked. Everyone sees the
//! changes in the namespaces they may read; account events are for administrators.

use leptos::prelude::*;
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
    pub action: String,
    pub namespace: String,
    pub configuration: String,
    pub field: String,
    pub user: String,
    pub comment: String,
    /// Where its change can be seen (the configuration's diff of that version).
    pub link: Option<String>,
}

/// A page of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub rows: Vec<AuditRow>,
    /// The `before` of the next (older) page.
    pub next_before: Option<u64>,
    /// Changes per day (UTC) over the last 30 days, oldest first, for what the filter matches.
    pub per_day: Vec<(String, usize)>,
    /// "intact (N entries)" or where and why it breaks.
    pub chain: String,
    pub chain_intact: bool,
    pub actions: Vec<String>,
}

/// A text file to download, answered as is (not as JSON).
pub struct TextFile;

impl ContentType for TextFile {
    const CONTENT_TYPE: &'static str = "text/plain; charset=utf-8";
}

impl Encoding for TextFile {
    const METHOD: http::Method = http::Method::GET;
}

/// The body of a download.
pub struct Download(pub String);

impl<E, Response> IntoRes<TextFile, Response, E> for Download
where
    Response: TryRes<E>,
    E: FromServerFnError,
{
    async fn into_res(self) -> Result<Response, E> {
        Response::try_from_string(TextFile::CONTENT_TYPE, self.0)
    }
}

impl<E, Response> FromRes<TextFile, Response, E> for Download
where
    Response: ClientRes<E> + Send,
    E: FromServerFnError,
{
    async fn from_res(res: Response) -> Result<Self, E> {
        Ok(Download(res.try_into_string().await?))
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
    pub const ACTIONS: [Action; 8] = [
        Action::NamespaceCreate,
        Action::NamespaceDelete,
        Action::ConfigurationCreate,
        Action::ConfigurationReplace,
        Action::ConfigurationDelete,
        Action::ConfigurationRevert,
        Action::FieldSet,
        Action::FieldDelete,
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
            namespace: entry.namespace.clone().unwrap_or_default(),
            configuration: entry.configuration.clone().unwrap_or_default(),
            field: entry.field.clone().unwrap_or_default(),
            user: entry.user.clone().unwrap_or_default(),
            comment: entry.comment.clone().unwrap_or_default(),
            link,
        }
    }

    /// Entries matching `filter` that the signed-in user may read, newest first, older than
    /// `before`, at most `limit`, scanning at most `max_scan` entries. Answers them and the
    /// cursor of the next page.
    pub async fn matching(
        filter: &AuditFilter,
        before: Option<u64>,
        limit: usize,
        max_scan: usize,
    ) -> Result<(Vec<AuditEntry>, Option<u64>), AppError> {
        let user = require_user().await?;
        let admin = user.role == confo::users::Role::Admin;
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        if let Some(ns) = opt(&filter.namespace)
            && !user.grants.covers(&ns)
        {
            return Err(reject(AppError::Forbidden(
                "You may not read that namespace.".into(),
            )));
        }
        let mut query = confo::AuditQuery {
            actor: opt(&filter.who),
            namespace: opt(&filter.namespace),
            configuration: opt(&filter.configuration),
            action: action(&filter.action)?,
            since: day(&filter.since, false)?,
            until: day(&filter.until, true)?,
            before_seq: before,
            limit: Some(limit.min(256)),
            user: None,
        };
        let store = store()?;
        let mut found = Vec::new();
        let mut scanned = 0;
        loop {
            let page = store.audit(&query).await.map_err(reject)?;
            scanned += page.entries.len();
            for entry in page.entries {
                let visible = match &entry.namespace {
                    Some(ns) => user.grants.covers(ns),
                    None => admin,
                };
                if visible {
                    found.push(entry);
                    if found.len() == limit {
                        let next = found.last().map(|e| e.seq).filter(|&s| s > 1);
                        return Ok((found, next));
                    }
                }
            }
            match page.next_before_seq {
                Some(seq) if scanned < max_scan => query.before_seq = Some(seq),
                Some(seq) => return Ok((found, Some(seq))),
                None => return Ok((found, None)),
            }
        }
    }
}

/// A page of the audit log, newest first, with changes per day and the chain's state.
#[server(endpoint = "audit/list", input = leptos::server_fn::codec::GetUrl)]
pub async fn audit_log(filter: AuditFilter, before: Option<u64>) -> Result<AuditView, AppError> {
    use super::ssr::{reject, store};
    let (entries, next_before) = ssr::matching(&filter, before, AUDIT_PAGE, 100_000).await?;
    // The chart: the filtered view's last 30 days.
    let today = chrono::Utc::now().date_naive();
    let start = today - chrono::Duration::days(29);
    let chart_filter = AuditFilter {
        since: start.format("%Y-%m-%d").to_string(),
        ..filter.clone()
    };
    let (recent, _) = ssr::matching(&chart_filter, None, 10_000, 100_000).await?;
    let per_day = (0..30)
        .map(|i| {
            let day = start + chrono::Duration::days(i);
            let count = recent.iter().filter(|e| e.time.date_naive() == day).count();
            (day.format("%Y-%m-%d").to_string(), count)
        })
        .collect();
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
        chain,
        chain_intact,
        actions: ssr::ACTIONS.iter().map(|a| a.as_str().to_owned()).collect(),
    })
}

/// The filtered view (every matching entry, newest first) as `csv` or `jsonl` (JSON Lines: the
/// entries as stored, hashes included), as a file download.
#[server(endpoint = "audit/export", input = leptos::server_fn::codec::GetUrl, output = TextFile)]
pub async fn export_audit(filter: AuditFilter, format: String) -> Result<Download, AppError> {
    use super::ssr::reject;
    let (entries, _) = ssr::matching(&filter, None, usize::MAX, usize::MAX).await?;
    let (content_type, body) = match format.as_str() {
        "jsonl" => (
            "application/x-ndjson",
            entries
                .iter()
                .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
                .collect::<String>(),
        ),
        "csv" => {
            let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            let mut csv =
                String::from("seq,time,who,action,namespace,configuration,field,user,comment\n");
            for e in &entries {
                let r = ssr::row(e);
                let cells = [
                    r.seq.to_string(),
                    quote(&r.when),
                    quote(&r.who),
                    quote(&r.action),
                    quote(&r.namespace),
                    quote(&r.configuration),
                    quote(&r.field),
                    quote(&r.user),
                    quote(&r.comment),
                ];
                csv.push_str(&cells.join(","));
                csv.push('\n');
            }
            ("text/csv; charset=utf-8", csv)
        }
        other => {
            return Err(reject(AppError::Invalid(format!(
                "{other:?} is not an export format; use csv or jsonl."
            ))));
        }
    };
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
        let name = if format == "csv" {
            "confo-audit.csv"
        } else {
            "confo-audit.jsonl"
        };
        if let Ok(value) = http::HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        {
            response.insert_header(http::header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(Download(body))
}
