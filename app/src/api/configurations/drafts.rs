//! Opening the review of a change from the form view. A change travels in the review page's
//! address (so that the review survives a reload, a live update, and the store being away), up
//! to [`MAX_ADDRESS_CHANGE`] characters; a longer one (a long text, a large list) would be
//! refused by the browser or the server, so it waits in the store as the person's draft, and the
//! address names the draft.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::FieldEdit;
use crate::error::AppError;

/// The longest change (its part of the address, encoded) carried in the review page's address.
pub const MAX_ADDRESS_CHANGE: usize = 2_000;

/// How long a draft is kept.
pub const DRAFT_SECONDS: u64 = 3_600;

/// A change waiting to be reviewed, with the version it was made against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    pub namespace: String,
    pub name: String,
    pub revision: i64,
    pub seq: u64,
    pub edit: FieldEdit,
    /// Unix seconds.
    pub expires: i64,
}

/// The review page's address for `edit`, made against `revision` (version `seq`), when it is
/// short enough to carry the change.
pub fn review_address(
    namespace: &str,
    name: &str,
    revision: i64,
    seq: u64,
    edit: &FieldEdit,
) -> Option<String> {
    let change = [
        ("op", edit.op.as_str()),
        ("field", &edit.field),
        ("kind", &edit.kind),
        ("value", &edit.value),
        ("to", &edit.to),
        ("path", &edit.path),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", crate::pages::encode_component(v)))
    .collect::<Vec<_>>()
    .join("&");
    (change.len() <= MAX_ADDRESS_CHANGE)
        .then(|| format!("/ns/{namespace}/{name}?revision={revision}&seq={seq}&{change}"))
}

/// Opens the review of a change from the form view (a form posts here, so that a change of any
/// length gets through): goes on to the review page, with the change in its address, or, when
/// it is too long for one, kept as the person's draft (see [`load_draft`]).
// `allow`, not `expect`: the lint fires in some of the macro's expansions only.
#[allow(
    clippy::too_many_arguments,
    reason = "the form view's fields, one argument each"
)]
#[server(endpoint = "configurations/review-change")]
pub async fn review_change(
    namespace: String,
    name: String,
    revision: i64,
    seq: u64,
    op: String,
    field: String,
    kind: Option<String>,
    value: Option<String>,
    to: Option<String>,
    path: Option<String>,
) -> Result<(), AppError> {
    use crate::api::ssr::{reject, require, store};
    let user = require(confo::users::Role::Editor, Some(&namespace)).await?;
    let edit = FieldEdit {
        op,
        field,
        kind: kind.unwrap_or_default(),
        value: value.unwrap_or_default(),
        to: to.unwrap_or_default(),
        path: path.unwrap_or_default(),
    };
    if let Some(address) = review_address(&namespace, &name, revision, seq, &edit) {
        crate::api::redirect::redirect(&address);
        return Ok(());
    }
    let draft = Draft {
        id: confo::users::random_token(),
        namespace: namespace.clone(),
        name: name.clone(),
        revision,
        seq,
        edit,
        expires: chrono::Utc::now().timestamp() + DRAFT_SECONDS as i64,
    };
    let store = store()?;
    let bytes = serde_json::to_vec(&draft).map_err(|_| reject(AppError::Internal))?;
    store
        .kv()
        .put_expiring(
            &store.layout().review_draft(&user.name),
            bytes,
            std::time::Duration::from_secs(DRAFT_SECONDS),
            None,
        )
        .await
        .map_err(reject)?;
    crate::api::redirect::redirect(&format!("/ns/{namespace}/{name}?draft={}", draft.id));
    Ok(())
}

/// The caller's draft `id` for configuration `name` of `namespace`: only their own, only while
/// it is kept, and only the newest (a newer review replaces it).
#[server(endpoint = "configurations/draft", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_draft(namespace: String, name: String, id: String) -> Result<Draft, AppError> {
    use crate::api::ssr::{reject, require, store};
    let user = require(confo::users::Role::Editor, Some(&namespace)).await?;
    let store = store()?;
    let gone = || {
        reject(AppError::NotFound(
            "This review is no longer kept (a newer review replaced it, or an hour has passed); make the change again."
                .into(),
        ))
    };
    let kv = store
        .kv()
        .get(&store.layout().review_draft(&user.name))
        .await
        .map_err(reject)?
        .ok_or_else(gone)?;
    let draft: Draft = serde_json::from_slice(&kv.value).map_err(|_| gone())?;
    let current = draft.id == id
        && draft.namespace == namespace
        && draft.name == name
        && draft.expires > chrono::Utc::now().timestamp();
    if !current {
        return Err(gone());
    }
    Ok(draft)
}
