//! Listing and creating namespaces.

use leptos::prelude::*;

use crate::error::AppError;

/// The namespaces in the store's root index, in stored order.
#[server(endpoint = "namespaces/list", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_namespaces() -> Result<Vec<String>, AppError> {
    use super::ssr::{reject, store};
    store()?.list_namespaces().await.map_err(reject)
}

/// Creates a namespace named `name`.
#[server(endpoint = "namespaces/create")]
pub async fn create_namespace(name: String) -> Result<(), AppError> {
    use super::ssr::{change, reject, store};
    let namespace = confo::NamespaceName::new(name.trim()).map_err(|reason| {
        reject(confo::Error::InvalidName {
            kind: "namespace",
            name: name.clone(),
            reason,
        })
    })?;
    store()?
        .create_namespace(&namespace, &change())
        .await
        .map(|_| ())
        .map_err(reject)
}
