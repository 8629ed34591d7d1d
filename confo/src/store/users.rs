//! User accounts in the store: profiles and password hashes under the reserved prefix.

use super::{Change, Decision, Draft, Plan, Reads, Store, Written};
use crate::audit::Action;
use crate::error::{Error, Result};
use crate::kv::Op;
use crate::users::{PasswordHash, User, check_user_name};

fn parse_user(kv: &crate::kv::KeyValue) -> Result<User> {
    serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
        key: kv.key.clone(),
        reason: format!("not a user profile ({e})"),
    })
}

impl Store {
    /// Creates a user with a password hash, audited as `user.create`.
    pub async fn create_user(
        &self,
        user: &User,
        password: &PasswordHash,
        change: &Change,
    ) -> Result<Written> {
        check_user_name(&user.name)?;
        let profile_key = self.layout.user(&user.name);
        let password_key = self.layout.password(&user.name);
        let profile = serde_json::to_value(user).expect("profiles serialise");
        let (user_name, password) = (user.name.clone(), password.as_stored().to_owned());
        self.commit(
            change,
            vec![profile_key.clone(), password_key.clone()],
            move |reads: &Reads| {
                if reads.get(&profile_key).is_some() {
                    return Err(Error::AlreadyExists(format!("user {user_name:?}")));
                }
                let mut plan = Plan::default();
                plan.compare(&profile_key, reads);
                plan.compare(&password_key, reads);
                plan.put_json(&profile_key, &profile);
                plan.ops.push(Op::Put {
                    key: password_key.clone(),
                    value: password.clone().into_bytes(),
                });
                plan.drafts
                    .push(Draft::user(Action::UserCreate, &user_name));
                Ok(Decision::Write(plan))
            },
        )
        .await
    }

    /// Disables a user (their sessions end at their next request) or enables them again.
    pub async fn set_user_disabled(
        &self,
        name: &str,
        disabled: bool,
        change: &Change,
    ) -> Result<Written> {
        check_user_name(name)?;
        let key = self.layout.user(name);
        let name = name.to_owned();
        self.commit(change, vec![key.clone()], move |reads: &Reads| {
            let kv = reads
                .get(&key)
                .ok_or_else(|| Error::NotFound(format!("user {name:?}")))?;
            let mut user = parse_user(kv)?;
            if user.disabled == disabled {
                return Ok(Decision::Unchanged(kv.mod_revision));
            }
            user.disabled = disabled;
            let mut plan = Plan::default();
            plan.compare(&key, reads);
            plan.put_json(
                &key,
                &serde_json::to_value(&user).expect("profiles serialise"),
            );
            plan.drafts.push(Draft::user(
                if disabled {
                    Action::UserDisable
                } else {
                    Action::UserEnable
                },
                &name,
            ));
            Ok(Decision::Write(plan))
        })
        .await
    }

    /// Records an event about a user account that changes nothing else (a sign-in, a failed one,
    /// a sign-out).
    pub async fn record_user_event(
        &self,
        action: Action,
        user: &str,
        change: &Change,
    ) -> Result<Written> {
        let user = user.to_owned();
        self.commit(change, Vec::new(), move |_: &Reads| {
            let mut plan = Plan::default();
            plan.drafts.push(Draft::user(action, &user));
            Ok(Decision::Write(plan))
        })
        .await
    }

    /// A user's profile and password hash.
    pub async fn get_user(&self, name: &str) -> Result<Option<(User, PasswordHash)>> {
        if check_user_name(name).is_err() {
            return Ok(None);
        }
        let reads = self
            .kv
            .get_many(&[self.layout.user(name), self.layout.password(name)])
            .await?;
        match (&reads[0], &reads[1]) {
            (Some(profile), Some(hash)) => Ok(Some((
                parse_user(profile)?,
                PasswordHash::from_stored(String::from_utf8_lossy(&hash.value).into_owned()),
            ))),
            _ => Ok(None),
        }
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        self.kv
            .list_prefix(&self.layout.users_prefix())
            .await?
            .iter()
            .map(parse_user)
            .collect()
    }
}
