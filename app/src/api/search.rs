//! Search across the namespaces the signed-in user may read (see `confo::search`): names,
//! field paths and values, ranked and paged, from the index the server keeps in memory.
//!
//! Guard: a signed-in user; the namespaces they may not read are left out before anything is
//! matched, so neither results nor counts tell anything about them.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Results on a page.
pub const PER_PAGE: usize = 25;

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// One result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub namespace: String,
    /// `None` for a namespace's name.
    pub configuration: Option<String>,
    /// The field's place from the configuration's top (`/servers/0/host`).
    pub pointer: Option<String>,
    /// The same in words: `servers/0/host`.
    pub path: Option<String>,
    /// The value's text (cut around the match when long); `None` when secret or left out.
    pub value: Option<String>,
    /// `namespace`, `configuration`, `path` or `value`.
    pub matched: String,
    pub exact: bool,
    /// The matched text: before the match, the match, after it.
    pub before: String,
    pub mark: String,
    pub after: String,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SearchView {
    /// Every match, counted.
    pub total: usize,
    /// This page (from 1) and how many there are.
    pub page: usize,
    pub pages: usize,
    pub hits: Vec<SearchHit>,
    /// The namespaces the user may read, for the filter.
    pub namespaces: Vec<String>,
    /// Values left out of the index for its ceiling, and from what length (bytes).
    pub left_out: usize,
    pub longer_than: usize,
    /// Whether the index has been built since the server started.
    pub ready: bool,
}

/// Searches for `q` in the namespaces the user may read (only `namespace` when given), in
/// `within` (`names`, `paths`, `values`; anything else: all three), page `page` (from 1).
#[server(endpoint = "search", input = leptos::server_fn::codec::GetUrl)]
pub async fn search(
    q: String,
    #[server(default)] namespace: String,
    #[server(default)] within: String,
    #[server(default)] page: usize,
) -> Result<SearchView, AppError> {
    use crate::api::ssr::{reject, require_user};
    use confo::search::{Query, Scope};
    let user = require_user().await?;
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(reject(AppError::Invalid(format!(
            "A search is at most {MAX_QUERY_CHARS} characters."
        ))));
    }
    let index = ssr::index()?;
    let readable = |ns: &str| user.grants.covers(ns);
    let namespaces: Vec<String> = index
        .namespaces()
        .into_iter()
        .filter(|ns| readable(ns))
        .collect();
    let scope = match within.as_str() {
        "names" => Scope {
            names: true,
            paths: false,
            values: false,
        },
        "paths" => Scope {
            names: false,
            paths: true,
            values: false,
        },
        "values" => Scope {
            names: false,
            paths: false,
            values: true,
        },
        _ => Scope::ALL,
    };
    let page = page.max(1);
    let results = index.search(&Query {
        text: &q,
        namespace: (!namespace.is_empty()).then_some(namespace.as_str()),
        scope,
        readable: &readable,
        offset: (page - 1).saturating_mul(PER_PAGE),
        limit: PER_PAGE,
    });
    let hits = results
        .hits
        .into_iter()
        .map(|hit| SearchHit {
            matched: match hit.matched {
                confo::search::Matched::NamespaceName => "namespace",
                confo::search::Matched::ConfigurationName => "configuration",
                confo::search::Matched::Path => "path",
                confo::search::Matched::Value => "value",
            }
            .to_owned(),
            namespace: hit.namespace,
            configuration: hit.configuration,
            pointer: hit.pointer,
            path: hit.path,
            value: hit.value,
            exact: hit.exact,
            before: hit.marked.before,
            mark: hit.marked.mark,
            after: hit.marked.after,
        })
        .collect();
    Ok(SearchView {
        total: results.total,
        page,
        pages: results.total.div_ceil(PER_PAGE),
        hits,
        namespaces,
        left_out: results.left_out.values,
        longer_than: results.left_out.longer_than,
        ready: index.is_ready(),
    })
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use leptos::prelude::*;

    use crate::error::AppError;

    /// The server's search index, provided as context.
    pub fn index() -> Result<confo::search::SearchIndex, AppError> {
        use_context::<confo::search::SearchIndex>().ok_or_else(|| {
            tracing::error!("no search index in the server function's context");
            crate::api::ssr::reject(AppError::Internal)
        })
    }

    /// Starts keeping `index` current from `hub`'s change stream, after reading the whole
    /// store into it; lives as long as the server.
    pub fn start(
        index: confo::search::SearchIndex,
        store: confo::Store,
        hub: &crate::api::live::ssr::Hub,
    ) {
        // Subscribed before the first read, so that nothing written meanwhile is missed.
        let events = hub.subscribe();
        tokio::spawn(async move {
            index.rebuild_until_done(&store).await;
            index.follow(store, events).await;
        });
    }
}
