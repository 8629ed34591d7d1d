//! Import from the dashboard (see `confo::import`): pasted (or read from a chosen file) JSON (a
//! bundle or a JSON export), YAML, TOML or `.env`, kept for its preview (never in an address),
//! previewed, then applied on what the preview read.
//!
//! Guard: a signed-in user; a namespace is imported into only by an editor of it, and created
//! only by an administrator. One the user may not change is refused in the preview without
//! saying whether it exists. Applying compares what the preview showed with what is stored
//! now: if anything changed, nothing is written and the preview is shown again.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The most text an import from the dashboard takes (larger files: `confo import`).
pub const MAX_PASTED_BYTES: usize = 1024 * 1024;

/// One field of a configuration's preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldView {
    pub field: String,
    /// `added`, `changed`, `unchanged` or `removed`.
    pub state: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One configuration of the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigurationView {
    pub name: String,
    /// `create`, `update`, `unchanged`, `skip`, `delete` or `refuse`.
    pub action: String,
    pub refused: Option<String>,
    pub fields: Vec<FieldView>,
    pub problems: Vec<String>,
}

/// One namespace of the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceView {
    pub name: String,
    pub from: Option<String>,
    pub exists: bool,
    pub reviewed: bool,
    pub refused: Option<String>,
    pub configurations: Vec<ConfigurationView>,
    /// The schema changes a bundle brings.
    pub schemas: Vec<SchemaView>,
}

/// One schema change of the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaView {
    pub what: String,
    /// `create`, `update`, `unchanged`, `skip` or `refuse`.
    pub action: String,
    pub refused: Option<String>,
}

/// What an import would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewView {
    pub namespaces: Vec<NamespaceView>,
    /// What the preview read of each configuration it would change (`namespace/configuration`
    /// → revision), as JSON: the import is applied only if it is still so.
    pub seen: String,
    /// How many configurations it would write or send for review.
    pub writes: usize,
    /// How many schema changes it would write.
    pub schema_writes: usize,
}

/// An import form as sent: the file and how to import it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportForm {
    pub content: String,
    pub format: String,
    pub existing: String,
    pub delete_missing: bool,
    pub renames: String,
    pub into: String,
    pub separator: String,
}

/// Keeps the form for its preview and leads to `/import?staged=<token>`: the page's address
/// names the pasted file by a random token, so its text (an `.env` file's passwords, say) is
/// never in an address, a browser's history or a log. Kept for an hour, for this user only.
#[server(endpoint = "import/stage")]
pub async fn stage_import(
    content: String,
    format: String,
    existing: String,
    #[server(default)] delete_missing: bool,
    #[server(default)] renames: String,
    #[server(default)] into: String,
    #[server(default)] separator: String,
) -> Result<(), AppError> {
    use crate::api::ssr::require_user;
    let user = require_user().await?;
    let form = ImportForm {
        content,
        format,
        existing,
        delete_missing,
        renames,
        into,
        separator,
    };
    ssr::check(&form)?;
    let token = ssr::staging::put(&user.name, form);
    crate::api::redirect::redirect(&format!("/import?staged={token}"));
    Ok(())
}

/// A kept form, and what it would do now (or why the file cannot be imported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedView {
    pub form: ImportForm,
    pub preview: Result<PreviewView, AppError>,
}

/// The form kept as `staged` (see [`stage_import`]) and what it would do now.
#[server(endpoint = "import/staged")]
pub async fn staged_import(staged: String) -> Result<StagedView, AppError> {
    use crate::api::ssr::{reject, require_user};
    let user = require_user().await?;
    let form = ssr::staging::get(&user.name, &staged).ok_or_else(|| {
        reject(AppError::NotFound(
            "This preview is no longer kept (a pasted file is kept for an hour): paste it again."
                .into(),
        ))
    })?;
    let preview = ssr::preview(&user, &form)
        .await
        .map(|preview| ssr::view(&preview));
    Ok(StagedView { form, preview })
}

/// What the import would do with `content` (`format`: `json`, `yaml`, `toml` or `env`; an
/// `.env` that is not a Confo export goes `into` a `namespace/configuration`, its keys split on
/// `separator` when given), existing configurations treated as `existing` (`skip`,
/// `overwrite`, `merge`), missing ones deleted when `delete_missing`, namespaces renamed by
/// `renames` (`old=new`, separated by commas).
#[server(endpoint = "import/preview")]
pub async fn preview_import(
    content: String,
    format: String,
    existing: String,
    #[server(default)] delete_missing: bool,
    #[server(default)] renames: String,
    #[server(default)] into: String,
    #[server(default)] separator: String,
) -> Result<PreviewView, AppError> {
    let user = crate::api::ssr::require_user().await?;
    let form = ImportForm {
        content,
        format,
        existing,
        delete_missing,
        renames,
        into,
        separator,
    };
    let preview = ssr::preview(&user, &form).await?;
    Ok(ssr::view(&preview))
}

/// Applies the import previewed as `seen` (see [`PreviewView::seen`]), with `comment`; when
/// anything changed since, writes nothing and says so. Leads to `/import` with what was done.
// `allow`, not `expect`: the lint fires in some of the macro's expansions only.
#[allow(
    clippy::too_many_arguments,
    reason = "the import form's fields, one argument each"
)]
#[server(endpoint = "import/apply")]
pub async fn apply_import(
    content: String,
    format: String,
    existing: String,
    #[server(default)] delete_missing: bool,
    #[server(default)] renames: String,
    #[server(default)] into: String,
    #[server(default)] separator: String,
    seen: String,
    #[server(default)] comment: String,
) -> Result<(), AppError> {
    use crate::api::ssr::{change, reject, require_user, store};
    let user = require_user().await?;
    let form = ImportForm {
        content,
        format,
        existing,
        delete_missing,
        renames,
        into,
        separator,
    };
    let preview = ssr::preview(&user, &form).await?;
    if ssr::view(&preview).seen != seen {
        return Err(reject(AppError::Conflict(
            "What the preview showed has changed since: someone changed these configurations, so nothing was imported. The preview below shows what is stored now; look at it again and import again.".into(),
        )));
    }
    let report = store()?
        .apply_import(&preview, &change(&user).with_comment(comment))
        .await
        .map_err(reject)?;
    let count = |written: bool| {
        report
            .outcomes
            .iter()
            .filter(|(_, _, o)| match o {
                confo::import::Outcome::Written(_) => written,
                confo::import::Outcome::Requested(_) => !written,
                confo::import::Outcome::Failed(_) => false,
            })
            .count()
    };
    let schemas = report
        .schemas
        .iter()
        .filter(|(_, _, o)| matches!(o, confo::import::Outcome::Written(_)))
        .count();
    crate::api::redirect::redirect(&format!(
        "/import?written={}&requested={}&failed={}&schemas={schemas}",
        count(true),
        count(false),
        report.failed()
    ));
    Ok(())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use confo::import::{Action, Existing, FieldState, NamespacePreview, Options, Preview};

    use super::*;
    use crate::api::ssr::{may, reject, store};

    /// Checks what can be checked of a form before its file is read: its size, its format and
    /// its policy for existing configurations. Answers the name the file is read as (by its
    /// format) and the policy.
    pub fn check(form: &ImportForm) -> Result<(&'static str, Existing), AppError> {
        if form.content.len() > MAX_PASTED_BYTES {
            return Err(reject(AppError::TooLarge(format!(
                "The dashboard imports at most {} KiB; import larger files with `confo import`.",
                MAX_PASTED_BYTES / 1024
            ))));
        }
        let name = match form.format.as_str() {
            "json" => "the pasted JSON.json",
            "yaml" => "the pasted YAML.yaml",
            "toml" => "the pasted TOML.toml",
            "env" => "the pasted .env",
            other => {
                return Err(reject(AppError::Invalid(format!(
                    "{other:?} is not a format the dashboard imports; use json, yaml, toml or env."
                ))));
            }
        };
        Ok((name, Existing::named(&form.existing).map_err(reject)?))
    }

    /// Forms kept for their preview, in memory, by random token (see
    /// [`super::stage_import`]): each for an hour, at most [`PER_USER`] a user and
    /// [`TOTAL_BYTES`] in all (the oldest go first).
    pub mod staging {
        use std::collections::VecDeque;
        use std::sync::Mutex;
        use std::time::{Duration, Instant};

        use super::super::ImportForm;

        pub const LIFETIME: Duration = Duration::from_secs(60 * 60);
        pub const PER_USER: usize = 4;
        pub const TOTAL_BYTES: usize = 64 * 1024 * 1024;

        struct Staged {
            token: String,
            user: String,
            form: ImportForm,
            at: Instant,
        }

        static STAGED: Mutex<VecDeque<Staged>> = Mutex::new(VecDeque::new());

        fn kept() -> std::sync::MutexGuard<'static, VecDeque<Staged>> {
            let mut kept = STAGED
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            kept.retain(|s| s.at.elapsed() < LIFETIME);
            kept
        }

        /// Keeps `form` for `user`; answers its token.
        pub fn put(user: &str, form: ImportForm) -> String {
            let token = confo::users::random_token();
            let mut kept = kept();
            kept.push_back(Staged {
                token: token.clone(),
                user: user.to_owned(),
                form,
                at: Instant::now(),
            });
            while kept.iter().filter(|s| s.user == user).count() > PER_USER {
                let oldest = kept.iter().position(|s| s.user == user).expect("counted");
                kept.remove(oldest);
            }
            while kept.iter().map(|s| s.form.content.len()).sum::<usize>() > TOTAL_BYTES {
                kept.pop_front();
            }
            token
        }

        /// The form `user` kept as `token`, if it is still kept.
        pub fn get(user: &str, token: &str) -> Option<ImportForm> {
            kept()
                .iter()
                .find(|s| s.token == token && s.user == user)
                .map(|s| s.form.clone())
        }
    }

    /// The preview of an import by `user`: namespaces they may not change are refused without
    /// being read.
    pub async fn preview(
        user: &confo::users::User,
        form: &ImportForm,
    ) -> Result<Preview, AppError> {
        let (name, existing) = check(form)?;
        let env = confo::import::EnvOptions {
            into: Some(form.into.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            separator: Some(form.separator.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        };
        let (incoming, schemas) =
            confo::import::read_bytes_full(name, form.content.as_bytes(), &env).map_err(reject)?;
        let pairs: Vec<String> = form
            .renames
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        let options = Options {
            existing,
            delete_missing: form.delete_missing,
            renames: confo::import::parse_renames(&pairs).map_err(reject)?,
            schemas,
        };
        let store = store()?;
        let listed = store.list_namespaces().await.map_err(reject)?;
        let (allowed, refused): (Vec<_>, Vec<_>) = incoming.into_iter().partition(|(from, _)| {
            let name = options.renames.get(from).unwrap_or(from);
            if listed.contains(name) {
                may(user, confo::users::Role::Editor, Some(name))
            } else {
                may(user, confo::users::Role::Admin, None)
            }
        });
        let mut preview = store
            .preview_import(&allowed, &options)
            .await
            .map_err(reject)?;
        let admin = may(user, confo::users::Role::Admin, None);
        for n in &mut preview.namespaces {
            // Gone since the list above was read: creating it again takes an administrator.
            if !n.exists && !admin && n.refused.is_none() {
                n.refused = Some(format!(
                    "You may not import into {}: an editor of it imports into it, and only an administrator creates a namespace.",
                    n.name
                ));
                n.configurations.clear();
                n.schemas.clear();
            }
        }
        // Schemas are changed by administrators of the namespace, as on its Schemas page.
        for n in &mut preview.namespaces {
            if may(user, confo::users::Role::Admin, Some(&n.name)) {
                continue;
            }
            for row in n.schemas.iter_mut().filter(|r| r.change.is_some()) {
                row.change = None;
                row.action = Action::Refuse(format!(
                    "only an administrator of {} changes its schemas",
                    n.name
                ));
            }
        }
        for (from, _) in refused {
            let name = options.renames.get(&from).cloned().unwrap_or(from.clone());
            preview.namespaces.push(NamespacePreview {
                from: (name != from).then_some(from),
                refused: Some(format!(
                    "You may not import into {name}: an editor of it imports into it, and only an administrator creates a namespace."
                )),
                name,
                exists: false,
                reviewed: false,
                configurations: Vec::new(),
                schemas: Vec::new(),
                settings_revision: 0,
            });
        }
        Ok(preview)
    }

    fn shown(value: &Option<serde_json::Value>) -> Option<String> {
        value.as_ref().map(|v| {
            let text = v.to_string();
            if text.chars().count() > 200 {
                format!("{}…", text.chars().take(200).collect::<String>())
            } else {
                text
            }
        })
    }

    /// The preview as the page shows it.
    pub fn view(preview: &Preview) -> PreviewView {
        let mut seen = serde_json::Map::new();
        let mut writes = 0;
        let mut schema_writes = 0;
        let namespaces = preview
            .namespaces
            .iter()
            .map(|n| NamespaceView {
                schemas: n
                    .schemas
                    .iter()
                    .map(|r| {
                        if n.refused.is_none() && r.change.is_some() {
                            schema_writes += 1;
                            seen.insert(format!("{}#schemas", n.name), n.settings_revision.into());
                        }
                        let (action, refused) = action_words(&r.action);
                        SchemaView {
                            what: r.what.clone(),
                            action: action.to_owned(),
                            refused,
                        }
                    })
                    .collect(),
                name: n.name.clone(),
                from: n.from.clone(),
                exists: n.exists,
                reviewed: n.reviewed,
                refused: n.refused.clone(),
                configurations: n
                    .configurations
                    .iter()
                    .map(|c| {
                        let (action, refused) = action_words(&c.action);
                        if n.refused.is_none()
                            && matches!(c.action, Action::Create | Action::Update | Action::Delete)
                        {
                            writes += 1;
                            seen.insert(format!("{}/{}", n.name, c.name), c.base_revision.into());
                        }
                        ConfigurationView {
                            name: c.name.clone(),
                            action: action.to_owned(),
                            refused,
                            fields: c
                                .fields
                                .iter()
                                .map(|r| FieldView {
                                    field: r.field.clone(),
                                    state: match r.state {
                                        FieldState::Added => "added",
                                        FieldState::Changed => "changed",
                                        FieldState::Unchanged => "unchanged",
                                        FieldState::Removed => "removed",
                                    }
                                    .to_owned(),
                                    before: shown(&r.before),
                                    after: shown(&r.after),
                                })
                                .collect(),
                            problems: c.problems.clone(),
                        }
                    })
                    .collect(),
            })
            .collect();
        PreviewView {
            namespaces,
            seen: serde_json::Value::Object(seen).to_string(),
            writes,
            schema_writes,
        }
    }

    fn action_words(action: &Action) -> (&'static str, Option<String>) {
        match action {
            Action::Create => ("create", None),
            Action::Update => ("update", None),
            Action::Unchanged => ("unchanged", None),
            Action::Skip => ("skip", None),
            Action::Delete => ("delete", None),
            Action::Refuse(why) => ("refuse", Some(why.clone())),
        }
    }
}
