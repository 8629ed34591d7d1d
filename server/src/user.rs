//! `confo user add`: accounts for scripted installs.

use std::io::BufRead;

use anyhow::Context;
use confo::users::{Grants, Role, User, check_password, check_user_name, hash_password};
use confo::{Actor, Change};

use crate::config::UserCommand;
use crate::store;

pub async fn run(command: UserCommand) -> anyhow::Result<bool> {
    match command {
        UserCommand::Add {
            name,
            admin,
            role,
            store,
        } => {
            let role = if admin { Role::Admin } else { role };
            check_user_name(&name)?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            check_password(&password, &name)?;
            let store = store::open(&store).await?;
            let user = User {
                name: name.clone(),
                role,
                grants: Grants::All,
                disabled: false,
                created: chrono::Utc::now(),
            };
            let hash = hash_password(password).await?;
            store
                .create_user(
                    &user,
                    &hash,
                    &Change::by(Actor::system()).with_comment("confo user add"),
                )
                .await
                .with_context(|| format!("cannot create user {name:?}"))?;
            println!("created {} user {name}", role.as_str());
            Ok(true)
        }
        UserCommand::Disable { name, store } => set_disabled(&name, true, &store).await,
        UserCommand::Enable { name, store } => set_disabled(&name, false, &store).await,
    }
}

async fn set_disabled(
    name: &str,
    disabled: bool,
    args: &crate::config::StoreArgs,
) -> anyhow::Result<bool> {
    let store = store::open(args).await?;
    let verb = if disabled { "disable" } else { "enable" };
    store
        .set_user_disabled(
            name,
            disabled,
            &Change::by(Actor::system()).with_comment(format!("confo user {verb}")),
        )
        .await
        .with_context(|| format!("cannot {verb} user {name:?}"))?;
    if disabled {
        let ended = app::sessions::StoreSessions::new(store)
            .end(name, None, None)
            .await
            .with_context(|| format!("disabled user {name:?}, but cannot end their sessions"))?;
        println!("{verb}d user {name} and ended {ended} session(s)");
    } else {
        println!("{verb}d user {name}");
    }
    Ok(true)
}
