//! Export from the dashboard: namespaces the signed-in user may read, as a file download in one
//! of `confo::export`'s formats, written a namespace at a time as it is sent.
//!
//! Guard: a signed-in user who may read every namespace asked for (an empty list: every
//! namespace they may read); secret values only for an administrator of each of them. The
//! export is audited (`configuration.export`) before the first byte is sent.

use leptos::prelude::*;

use crate::api::audit::{Download, TextFile};
use crate::error::AppError;

/// `namespaces`: names separated by commas (empty: every namespace the user may read);
/// `format`: `bundle`, `json`, `yaml`, `toml`, `env` or `tree`; `separator`: for `env`
/// (default `__`); `secrets`: write secret values as they are (administrators).
#[server(endpoint = "export", input = leptos::server_fn::codec::GetUrl, output = TextFile)]
pub async fn export(
    #[server(default)] namespaces: String,
    format: String,
    #[server(default)] separator: String,
    #[server(default)] secrets: bool,
) -> Result<Download, AppError> {
    use crate::api::ssr::{change, may, reject, require_user, store};
    use confo::users::Role;
    use futures::StreamExt;
    use leptos::server_fn::Bytes;
    let user = require_user().await?;
    let store = store()?;
    let format = confo::export::Format::named(&format, separator.trim()).map_err(reject)?;
    let listed = store.list_namespaces().await.map_err(reject)?;
    let mut asked: Vec<String> = Vec::new();
    for name in namespaces
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if !asked.iter().any(|a| a == name) {
            asked.push(name.to_owned());
        }
    }
    let names: Vec<String> = if asked.is_empty() {
        listed
            .iter()
            .filter(|n| user.grants.covers(n) && confo::NamespaceName::new(n.as_str()).is_ok())
            .cloned()
            .collect()
    } else {
        for name in &asked {
            // One the user may not read is answered as missing, like one that is not there.
            if !listed.contains(name) || !user.grants.covers(name) {
                return Err(reject(AppError::NotFound(format!(
                    "There is no namespace {name:?} you may read."
                ))));
            }
        }
        asked
    };
    if secrets && let Some(name) = names.iter().find(|n| !may(&user, Role::Admin, Some(n))) {
        return Err(reject(AppError::Forbidden(format!(
            "Only an administrator of {name} may export its secret values."
        ))));
    }
    let namespaces = names
        .iter()
        .map(|n| crate::api::configurations::ssr::namespace(n))
        .collect::<Result<Vec<_>, _>>()?;
    store
        .record_export(&names, format.name(), secrets, &change(&user))
        .await
        .map_err(reject)?;
    crate::api::audit::attachment(format.content_type(), format.file_name());
    let mut writer = confo::export::Writer::new(confo::export::Options { format, secrets });
    let head = writer.start(&chrono::Utc::now().to_rfc3339());
    // Each namespace is read when the one before it has been sent.
    let body = futures::stream::unfold(
        Some((writer, namespaces.into_iter(), store, listed)),
        |state| async move {
            let (mut writer, mut rest, store, listed) = state?;
            match rest.next() {
                Some(namespace) => {
                    let chunk = match store.export_listed_namespace(&namespace, &listed).await {
                        Ok(read) => writer.namespace(&read),
                        Err(error) => Err(error),
                    };
                    match chunk {
                        Ok(bytes) => {
                            Some((Ok(Bytes::from(bytes)), Some((writer, rest, store, listed))))
                        }
                        Err(error) => {
                            // The status is sent already: the download ends unfinished.
                            tracing::error!(%error, %namespace, "an export stopped");
                            Some((Err(Bytes::from_static(b"the export stopped")), None))
                        }
                    }
                }
                None => match writer.finish() {
                    Ok(bytes) => Some((Ok(Bytes::from(bytes)), None)),
                    Err(error) => {
                        tracing::error!(%error, "an export could not be finished");
                        Some((Err(Bytes::from_static(b"the export stopped")), None))
                    }
                },
            }
        },
    );
    let file = futures::stream::once(async move { Ok(Bytes::from(head)) })
        .chain(body)
        .filter(|chunk| {
            std::future::ready(chunk.as_ref().is_ok_and(|c| !c.is_empty()) || chunk.is_err())
        });
    Ok(Download(file.boxed()))
}
