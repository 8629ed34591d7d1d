//! Listing and creating namespaces.

use leptos::prelude::*;

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
