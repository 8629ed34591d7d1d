//! Namespaces: listing, the overview with counts and last changes, creating and deleting.

use leptos::prelude::*;

use crate::api::configurations::NamespaceSummary;
use crate::error::AppError;

/// The namespaces in the store's root index, in stored order.
#[server(endpoint = "namespaces/list", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_namespaces() -> Result<Vec<String>, AppError> {
    use super::ssr::{reject, require_user, store};
    let user = require_user().await?;
    let names = store()?.list_namespaces().await.map_err(reject)?;
    // Namespaces a user may not read are not shown at all.
    Ok(names
        .into_iter()
        .filter(|n| user.grants.covers(n))
        .collect())
}

/// Creates a namespace named `name`.
#[server(endpoint = "namespaces/create")]
pub async fn create_namespace(name: String) -> Result<(), AppError> {
    use super::ssr::{change, reject, require, store};
    let user = require(confo::users::Role::Admin, None).await?;
    let namespace = confo::NamespaceName::new(name.trim()).map_err(|reason| {
        reject(confo::Error::InvalidName {
            kind: "namespace",
            name: name.clone(),
            reason,
        })
    })?;
    store()?
        .create_namespace(&namespace, &change(&user))
        .await
        .map(|_| ())
        .map_err(reject)
}

/// Every namespace the user may read, with its number of configurations and last change.
#[server(endpoint = "namespaces/overview", input = leptos::server_fn::codec::GetUrl)]
pub async fn namespaces_overview() -> Result<Vec<NamespaceSummary>, AppError> {
    use crate::api::ssr::{reject, require_user, store};
    let user = require_user().await?;
    let store = store()?;
    let names: Vec<String> = store
        .list_namespaces()
        .await
        .map_err(reject)?
        .into_iter()
        .filter(|n| user.grants.covers(n))
        .collect();
    // Each namespace's listed and unlisted configurations (none for a name that breaks the rules).
    let parsed: Vec<Option<confo::NamespaceName>> = names
        .iter()
        .map(|n| confo::NamespaceName::new(n.as_str()).ok())
        .collect();
    let valid: Vec<confo::NamespaceName> = parsed.iter().flatten().cloned().collect();
    let mut found = store
        .list_configurations_of(&valid)
        .await
        .map_err(reject)?
        .into_iter();
    let listings: Vec<Option<confo::ConfigurationListing>> = parsed
        .iter()
        .map(|p| p.as_ref().and_then(|_| found.next().flatten()))
        .collect();
    let latest = store
        .latest_by_namespace(&names, 10_000)
        .await
        .map_err(reject)?;
    Ok(names
        .into_iter()
        .zip(listings)
        .zip(latest)
        .map(|((name, listing), last)| NamespaceSummary {
            configurations: listing.as_ref().map_or(0, |l| l.registered.len()),
            unregistered: listing.as_ref().map_or(0, |l| l.unregistered.len()),
            last_change: last.as_ref().map(crate::api::configurations::ssr::summary),
            can_edit: crate::api::configurations::ssr::can_edit(&user, &name),
            name,
        })
        .collect())
}

/// Deletes a namespace; `confirm` must repeat its name. One that still holds configurations is
/// refused unless `with_configurations` is "yes".
#[server(endpoint = "namespaces/delete")]
pub async fn delete_namespace(
    name: String,
    confirm: String,
    with_configurations: Option<String>,
) -> Result<(), AppError> {
    use crate::api::ssr::{change, reject, require, store};
    let user = require(confo::users::Role::Admin, None).await?;
    let namespace = crate::api::configurations::ssr::namespace(&name)?;
    if confirm.trim() != namespace.as_str() {
        return Err(reject(AppError::Invalid(format!(
            "To delete it, type the namespace's name, {namespace}, exactly."
        ))));
    }
    let cascade = with_configurations.as_deref() == Some("yes");
    store()?
        .delete_namespace(&namespace, cascade, &change(&user))
        .await
        .map_err(reject)?;
    // Confirmed on the namespaces' page.
    crate::api::redirect::redirect(&format!(
        "/?deleted={}",
        crate::pages::encode_component(namespace.as_str())
    ));
    Ok(())
}
