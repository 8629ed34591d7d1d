//! The audit log read back: queries, chain verification, and the history of one configuration
//! (its versions, any version's fields, diffs between versions, and revert).

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Change, Store, Written};
use crate::audit::{
    Action, AuditEntry, AuditHead, AuditPage, AuditQuery, ChainCheck, Verification,
};
use crate::error::{Error, Result};
use crate::kv::KeyValue;
use crate::names::{ConfigurationName, NamespaceName};

/// How many of a configuration's newest changes [`Store::last_changes`] looks through.
pub const LAST_CHANGES_SCAN: usize = 500;
/// How many bytes of history entries [`Store::last_changes`] reads at most (it stops after the
/// batch that passes this), whatever their size: a page view costs a bounded read.
pub const LAST_CHANGES_BYTES: usize = 8 * 1024 * 1024;

/// The tokens of a place; one that does not parse counts as the top (it holds every place).
fn place_tokens(path: &str) -> Vec<String> {
    crate::edit::tokens(path).unwrap_or_default()
}

/// The places an entry's patch changed (both ends of a move or copy).
fn patch_places(entry: &AuditEntry) -> Vec<Vec<String>> {
    use json_patch::PatchOperation as Op;
    let Some(patch) = &entry.patch else {
        return Vec::new();
    };
    patch
        .iter()
        .flat_map(|op| match op {
            Op::Add(o) => vec![o.path.to_string()],
            Op::Remove(o) => vec![o.path.to_string()],
            Op::Replace(o) => vec![o.path.to_string()],
            Op::Move(o) => vec![o.from.to_string(), o.path.to_string()],
            Op::Copy(o) => vec![o.path.to_string()],
            Op::Test(_) => Vec::new(),
        })
        .map(|p| place_tokens(&p))
        .collect()
}

/// How many entries a scan reads per round trip.
const BATCH: usize = 256;

/// One version of a configuration: the change that made it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Version {
    pub seq: u64,
    pub entry: AuditEntry,
}

/// How one field differs between two versions (`None`: absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

fn parse_entry(kv: &KeyValue) -> Result<AuditEntry> {
    serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
        key: kv.key.clone(),
        reason: format!("not an audit entry ({e})"),
    })
}

impl Store {
    /// Audit entries matching `query`, newest first, one page at a time.
    pub async fn audit(&self, query: &AuditQuery) -> Result<AuditPage> {
        let limit = query.limit.unwrap_or(50).clamp(1, 1000);
        let prefix = self.layout.audit_log_prefix();
        let mut end = match query.before_seq {
            Some(seq) => self.layout.audit_entry(seq),
            None => crate::kv::prefix_end(&prefix),
        };
        let mut entries = Vec::new();
        let mut scanned = 0;
        let page = |entries, next_before_seq, scanned| AuditPage {
            entries,
            next_before_seq,
            scanned,
        };
        loop {
            let batch = self.kv.range(&prefix, &end, BATCH, true).await?;
            let exhausted = batch.len() < BATCH;
            for kv in &batch {
                let entry = parse_entry(kv)?;
                scanned += 1;
                if query.since.is_some_and(|since| entry.time < since) {
                    // Entries are in time order: nothing older can match.
                    return Ok(page(entries, None, scanned));
                }
                let seq = entry.seq;
                if query.matches(&entry) {
                    entries.push(entry);
                    if entries.len() == limit {
                        return Ok(page(entries, Some(seq).filter(|&s| s > 1), scanned));
                    }
                }
                if query.scan_limit.is_some_and(|most| scanned >= most) {
                    return Ok(page(entries, Some(seq).filter(|&s| s > 1), scanned));
                }
            }
            match batch.last() {
                Some(kv) if !exhausted => end = kv.key.clone(),
                _ => return Ok(page(entries, None, scanned)),
            }
        }
    }

    /// Walks the whole chain from the oldest entry kept and reports the first broken link:
    /// an entry whose hash does not match its content, whose `prev_hash` does not match the
    /// entry before it, a missing number, or a head that does not match the newest entry.
    pub async fn verify_audit(&self) -> Result<Verification> {
        Ok(self.verify_audit_after(None).await?.0)
    }

    /// Like [`Store::verify_audit`], but after `checkpoint`, an entry (number and hash) that an
    /// earlier walk verified: that entry must still be there with the same hash and content,
    /// and only the entries after it are walked. Without a checkpoint, or when its entry has been
    /// archived meanwhile, the whole chain is walked. Answers the verification and the newest
    /// entry verified, the checkpoint for next time.
    pub async fn verify_audit_after(
        &self,
        checkpoint: Option<&AuditHead>,
    ) -> Result<(Verification, AuditHead)> {
        let prefix = self.layout.audit_log_prefix();
        let kept = match checkpoint.filter(|c| c.seq > 0) {
            Some(checkpoint) => self
                .kv
                .get(&self.layout.audit_entry(checkpoint.seq))
                .await?
                .map(|kv| (checkpoint, kv)),
            None => None,
        };
        let (mut chain, mut start) = match kept {
            Some((checkpoint, kv)) => {
                let entry = parse_entry(&kv)?;
                if entry.hash != checkpoint.hash || entry.compute_hash() != entry.hash {
                    let broken = Verification::Broken {
                        seq: checkpoint.seq,
                        reason: "it was changed after it was verified".into(),
                    };
                    return Ok((broken, checkpoint.clone()));
                }
                (
                    ChainCheck::after(checkpoint.clone()),
                    self.layout.audit_entry(checkpoint.seq + 1),
                )
            }
            None => (ChainCheck::after(self.read_anchor().await?), prefix.clone()),
        };
        let end = crate::kv::prefix_end(&prefix);
        loop {
            let batch = self.kv.range(&start, &end, BATCH, false).await?;
            for kv in &batch {
                let expected_seq = chain.last().seq + 1;
                let entry = match parse_entry(kv) {
                    Ok(entry) => entry,
                    Err(e) => {
                        let seq = self.layout.audit_seq(&kv.key).unwrap_or(expected_seq);
                        let broken = Verification::Broken {
                            seq,
                            reason: e.to_string(),
                        };
                        return Ok((broken, chain.last().clone()));
                    }
                };
                if Some(entry.seq) != self.layout.audit_seq(&kv.key) {
                    let broken = Verification::Broken {
                        seq: entry.seq,
                        reason: format!("stored under {} but numbered {}", kv.key, entry.seq),
                    };
                    return Ok((broken, chain.last().clone()));
                }
                if let Err(broken) = chain.next(&entry) {
                    return Ok((broken, chain.last().clone()));
                }
            }
            match batch.last() {
                Some(kv) if batch.len() == BATCH => start = format!("{}\0", kv.key),
                _ => break,
            }
        }
        let (_, head) = self.read_head().await?;
        // A store that never recorded anything has no head: the chain is empty.
        let head = if head.seq == 0 {
            chain.last().clone()
        } else {
            head
        };
        let newest = chain.last().clone();
        Ok((chain.finish(&head, "the head"), newest))
    }

    /// Where the chain kept in the store starts: the last archived entry, or the genesis.
    pub(crate) async fn read_anchor(&self) -> Result<AuditHead> {
        let read = self.kv.get(&self.layout.audit_anchor()).await?;
        super::committer::parse_head(read.as_ref())
    }

    /// One audit entry by number.
    pub async fn audit_entry(&self, seq: u64) -> Result<AuditEntry> {
        let kv = self
            .kv
            .get(&self.layout.audit_entry(seq))
            .await?
            .ok_or_else(|| Error::NotFound(format!("audit entry {seq}")))?;
        parse_entry(&kv)
    }

    /// The newest audit entry about each of `namespaces` (in the order given), found by reading
    /// the log back from its newest entry, at most `max_scan` entries deep (`None` for a
    /// namespace without a change that recent).
    pub async fn latest_by_namespace(
        &self,
        namespaces: &[String],
        max_scan: usize,
    ) -> Result<Vec<Option<AuditEntry>>> {
        let mut found: Vec<Option<AuditEntry>> = vec![None; namespaces.len()];
        let mut query = AuditQuery {
            limit: Some(BATCH),
            ..Default::default()
        };
        let mut scanned = 0;
        while scanned < max_scan && found.iter().any(Option::is_none) {
            query.limit = Some(BATCH.min(max_scan - scanned));
            let page = self.audit(&query).await?;
            scanned += page.entries.len();
            for entry in page.entries {
                let Some(namespace) = &entry.namespace else {
                    continue;
                };
                if let Some(i) = namespaces.iter().position(|n| n == namespace)
                    && found[i].is_none()
                {
                    found[i] = Some(entry);
                }
            }
            match page.next_before_seq {
                Some(seq) => query.before_seq = Some(seq),
                None => break,
            }
        }
        Ok(found)
    }

    /// The newest recorded change to each of `configurations` (`None` for one without history),
    /// in the order given. Reads one index key per configuration, then their entries at once.
    pub async fn latest_versions(
        &self,
        namespace: &NamespaceName,
        configurations: &[ConfigurationName],
    ) -> Result<Vec<Option<Version>>> {
        let lookups = configurations.iter().map(|configuration| {
            let prefix = self.layout.history_prefix(namespace, configuration);
            async move {
                let end = crate::kv::prefix_end(&prefix);
                let newest = self.kv.range(&prefix, &end, 1, true).await?;
                Ok::<_, Error>(
                    newest
                        .first()
                        .and_then(|kv| kv.key.strip_prefix(&prefix)?.parse::<u64>().ok()),
                )
            }
        });
        let seqs = futures::future::try_join_all(lookups).await?;
        let keys: Vec<String> = seqs
            .iter()
            .flatten()
            .map(|seq| self.layout.audit_entry(*seq))
            .collect();
        let mut entries = std::collections::HashMap::new();
        for chunk in keys.chunks(crate::kv::MAX_TXN_OPS) {
            for kv in self.kv.get_many(chunk).await?.into_iter().flatten() {
                let entry = parse_entry(&kv)?;
                entries.insert(entry.seq, entry);
            }
        }
        Ok(seqs
            .into_iter()
            .map(|seq| {
                let entry = entries.remove(&seq?)?;
                Some(Version {
                    seq: entry.seq,
                    entry,
                })
            })
            .collect())
    }

    /// Every recorded change to a configuration, newest first.
    pub async fn history(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
    ) -> Result<Vec<Version>> {
        let prefix = self.layout.history_prefix(namespace, configuration);
        let mut index = self.kv.list_prefix(&prefix).await?;
        index.reverse();
        self.versions_of(&self.entry_keys(&prefix, &index)).await
    }

    /// The audit entry keys that a configuration's history index (under `prefix`) names, in
    /// the index's order.
    fn entry_keys(&self, prefix: &str, index: &[KeyValue]) -> Vec<String> {
        index
            .iter()
            .filter_map(|kv| kv.key.strip_prefix(prefix)?.parse::<u64>().ok())
            .map(|seq| self.layout.audit_entry(seq))
            .collect()
    }

    /// The versions the audit entries under `keys` record, in that order.
    async fn versions_of(&self, keys: &[String]) -> Result<Vec<Version>> {
        let mut versions = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(crate::kv::MAX_TXN_OPS) {
            for kv in self.kv.get_many(chunk).await?.into_iter().flatten() {
                let entry = parse_entry(&kv)?;
                versions.push(Version {
                    seq: entry.seq,
                    entry,
                });
            }
        }
        Ok(versions)
    }

    /// For each of `places` (JSON Pointers from the configuration's top, such as `/limit` or
    /// `/servers/0/port`), the newest change among the configuration's last
    /// [`LAST_CHANGES_SCAN`] that touched it: one whose recorded JSON Patch changed that place,
    /// a place inside it, or a place containing it (a whole-value save, the creation). `None`
    /// when none of those did (or none among the entries read: at most [`LAST_CHANGES_SCAN`],
    /// and about [`LAST_CHANGES_BYTES`]). Derived from the patches every audit entry holds, so
    /// changes recorded before this existed count too. The versions come without their patches.
    pub async fn last_changes(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        places: &[String],
    ) -> Result<Vec<Option<Version>>> {
        let prefix = self.layout.history_prefix(namespace, configuration);
        let index = self
            .kv
            .range(
                &prefix,
                &crate::kv::prefix_end(&prefix),
                LAST_CHANGES_SCAN,
                true,
            )
            .await?;
        let keys = self.entry_keys(&prefix, &index);
        let wanted: Vec<Vec<String>> = places.iter().map(|p| place_tokens(p)).collect();
        let mut found: Vec<Option<Version>> = vec![None; places.len()];
        let mut read = 0;
        for chunk in keys.chunks(crate::kv::MAX_TXN_OPS) {
            for kv in self.kv.get_many(chunk).await?.into_iter().flatten() {
                read += kv.value.len();
                let mut entry = parse_entry(&kv)?;
                let touched = patch_places(&entry);
                // What is kept of each entry is who, when and what: not its patches.
                entry.patch = None;
                entry.unpatch = None;
                for (slot, place) in found.iter_mut().zip(&wanted) {
                    if slot.is_none() && touched.iter().any(|t| crate::edit::overlaps(t, place)) {
                        *slot = Some(Version {
                            seq: entry.seq,
                            entry: entry.clone(),
                        });
                    }
                }
            }
            if found.iter().all(Option::is_some) || read > LAST_CHANGES_BYTES {
                break;
            }
        }
        Ok(found)
    }

    /// The configuration's changes after version `seq`, newest first, at most `at_most` of them
    /// (reads only those).
    pub async fn versions_after(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        seq: u64,
        at_most: usize,
    ) -> Result<Vec<Version>> {
        let prefix = self.layout.history_prefix(namespace, configuration);
        let start = self.layout.history_entry(namespace, configuration, seq + 1);
        let index = self
            .kv
            .range(&start, &crate::kv::prefix_end(&prefix), at_most, true)
            .await?;
        self.versions_of(&self.entry_keys(&prefix, &index)).await
    }

    /// The version just before version `seq` (0 if `seq` created the history), for showing
    /// what one change did. Version numbers are audit sequence numbers, so the one before is
    /// not simply `seq - 1`.
    pub async fn previous_version(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        seq: u64,
    ) -> Result<u64> {
        let history = self.history(namespace, configuration).await?;
        let at = history
            .iter()
            .position(|v| v.seq == seq)
            .ok_or_else(|| version_not_found(namespace, configuration, seq))?;
        Ok(history.get(at + 1).map_or(0, |v| v.seq))
    }

    /// The configuration's fields as they were right after change `seq` (`None` if it did not
    /// exist then), rebuilt from its current value by undoing every later change.
    pub async fn configuration_at(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        seq: u64,
    ) -> Result<Option<Map<String, Value>>> {
        let history = self.history(namespace, configuration).await?;
        if !history.iter().any(|v| v.seq == seq) {
            return Err(version_not_found(namespace, configuration, seq));
        }
        let key = self.layout.configuration(namespace, configuration);
        let mut value = match self.read_owned(namespace.as_str(), &key).await? {
            Some(kv) => super::parse_json(&kv)?,
            None => Value::Null,
        };
        for version in history.iter().take_while(|v| v.seq > seq) {
            let Some(unpatch) = &version.entry.unpatch else {
                continue;
            };
            crate::edit::apply_patch(&mut value, unpatch).map_err(|e| Error::Corrupt {
                key: self.layout.audit_entry(version.seq),
                reason: format!("its undo patch does not apply ({e})"),
            })?;
        }
        match value {
            Value::Object(fields) => Ok(Some(fields)),
            Value::Null => Ok(None),
            other => Err(Error::Corrupt {
                key,
                reason: format!("version {seq} rebuilds to {}", super::kind_of(&other)),
            }),
        }
    }

    /// Field by field, how version `to` differs from version `from`.
    pub async fn diff_versions(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        from: u64,
        to: u64,
    ) -> Result<Vec<FieldChange>> {
        // Version 0 is before the first: nothing.
        let before = if from == 0 {
            Map::new()
        } else {
            self.configuration_at(namespace, configuration, from)
                .await?
                .unwrap_or_default()
        };
        let after = self
            .configuration_at(namespace, configuration, to)
            .await?
            .unwrap_or_default();
        Ok(diff_fields(&before, &after))
    }

    /// Makes version `seq` the current one again: a new, audited change, compared on
    /// `expected_revision` like any other.
    pub async fn revert(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        seq: u64,
        expected_revision: Option<i64>,
        change: &Change,
    ) -> Result<Written> {
        let fields = self
            .configuration_at(namespace, configuration, seq)
            .await?
            .ok_or_else(|| Error::InvalidValue(format!(
                "configuration {configuration:?} did not exist at version {seq}; delete it instead"
            )))?;
        let mut change = change.clone();
        if change.comment.is_none() {
            change.comment = Some(format!("revert to version {seq}"));
        }
        self.edit(
            namespace,
            configuration,
            expected_revision,
            &change,
            Action::ConfigurationRevert,
            None,
            move |current| {
                *current = fields.clone();
                Ok(())
            },
        )
        .await
    }

    /// Takes back exactly what change `seq` did to the configuration, and nothing else: a new,
    /// audited change that applies the change's recorded undo patch. Refused with
    /// [`Error::ChangedSince`], naming them, when later changes touched any place it changed
    /// (or added or removed items of a list it changed items of, which moves them); then
    /// nothing is written. Compared on `expected_revision` when given, like any change, and
    /// always on the places themselves, so a change that lands meanwhile is never overwritten.
    pub async fn revert_change(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        seq: u64,
        expected_revision: Option<i64>,
        change: &Change,
    ) -> Result<Written> {
        let taking = self.taking_back(namespace, configuration, seq).await?;
        let mut change = change.clone();
        if change.comment.is_none() {
            change.comment = Some(format!("take back version {seq}"));
        }
        let field = taking.field.clone();
        self.edit(
            namespace,
            configuration,
            expected_revision,
            &change,
            Action::ChangeRevert,
            field.as_deref(),
            move |current| {
                *current = taking.apply(current)?;
                Ok(())
            },
        )
        .await
    }

    /// What [`Self::revert_change`] would do now, without doing it: the fields as they are, and
    /// as they would be; or why it would be refused.
    pub async fn preview_revert_change(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        seq: u64,
    ) -> Result<(Map<String, Value>, Map<String, Value>)> {
        let taking = self.taking_back(namespace, configuration, seq).await?;
        let current = self.get_configuration(namespace, configuration).await?;
        let after = taking.apply(&current.fields)?;
        Ok((current.fields, after))
    }

    /// Change `seq` of the configuration, checked to be one that can be taken back alone.
    async fn taking_back(
        &self,
        namespace: &NamespaceName,
        configuration: &ConfigurationName,
        seq: u64,
    ) -> Result<TakingBack> {
        let history = self.history(namespace, configuration).await?;
        let version = history
            .iter()
            .find(|v| v.seq == seq)
            .ok_or_else(|| version_not_found(namespace, configuration, seq))?;
        let entry = &version.entry;
        let refused = match entry.action {
            Action::ConfigurationCreate => Some("created the configuration; delete it instead"),
            Action::ConfigurationDelete => Some("deleted the configuration"),
            Action::ConfigurationRegister => Some("registered the configuration"),
            _ => None,
        };
        if let Some(what) = refused {
            return Err(Error::InvalidValue(format!(
                "version {seq} {what}: only a change to its fields can be taken back on its own"
            )));
        }
        let (Some(patch), Some(unpatch)) = (entry.patch.clone(), entry.unpatch.clone()) else {
            return Err(Error::InvalidValue(format!(
                "version {seq} recorded no change to the fields to take back"
            )));
        };
        let mine = patch_places(entry);
        let mut later: Vec<crate::error::LaterChange> = history
            .iter()
            .take_while(|v| v.seq > seq)
            .filter_map(|v| {
                let theirs = patch_places(&v.entry);
                let places: Vec<String> = mine
                    .iter()
                    .filter(|m| theirs.iter().any(|t| in_the_way(t, m)))
                    .map(|m| crate::edit::words(m))
                    .collect();
                (!places.is_empty()).then(|| crate::error::LaterChange {
                    seq: v.seq,
                    who: v.entry.actor.name.clone(),
                    time: v.entry.time,
                    places,
                })
            })
            .collect();
        if !later.is_empty() {
            later.reverse();
            return Err(Error::ChangedSince { change: seq, later });
        }
        Ok(TakingBack {
            seq,
            field: entry.field.clone(),
            patch,
            unpatch,
        })
    }
}

/// A change to take back: what it did, and its undo.
struct TakingBack {
    seq: u64,
    field: Option<String>,
    patch: json_patch::Patch,
    unpatch: json_patch::Patch,
}

impl TakingBack {
    /// `current` with the change taken back. What is stored at the change's places must still
    /// be what it left there: then undoing and redoing it gives back `current`. Anything else (a
    /// change that landed after the history was read) is refused.
    fn apply(&self, current: &Map<String, Value>) -> Result<Map<String, Value>> {
        let meanwhile = || Error::ChangedSince {
            change: self.seq,
            later: Vec::new(),
        };
        let now = Value::Object(current.clone());
        let mut undone = now.clone();
        crate::edit::apply_patch(&mut undone, &self.unpatch).map_err(|_| meanwhile())?;
        let mut redone = undone.clone();
        crate::edit::apply_patch(&mut redone, &self.patch).map_err(|_| meanwhile())?;
        match undone {
            Value::Object(fields) if redone == now => Ok(fields),
            _ => Err(meanwhile()),
        }
    }
}

/// Whether a later change at place `theirs` stands in the way of taking back a change at place
/// `mine`: one contains the other, or it was at an item before `mine`'s in the same list (an item
/// added or removed there moves `mine`). Recorded patches compare lists item by item, so such a
/// move also shows as changes at every later item; this does not rely on it.
fn in_the_way(theirs: &[String], mine: &[String]) -> bool {
    if crate::edit::overlaps(theirs, mine) {
        return true;
    }
    let Some((last, parent)) = theirs.split_last() else {
        return true;
    };
    let index = |token: &str| token.parse::<usize>().ok();
    match (index(last), mine.get(parent.len()).and_then(|t| index(t))) {
        (Some(theirs), Some(ours)) => theirs <= ours && crate::edit::overlaps(parent, mine),
        _ => false,
    }
}

/// The fields that differ between two configurations, in name order.
pub fn diff_fields(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<FieldChange> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| before.get(*name) != after.get(*name))
        .map(|name| FieldChange {
            field: name.clone(),
            before: before.get(name).cloned(),
            after: after.get(name).cloned(),
        })
        .collect()
}

fn version_not_found(
    namespace: &NamespaceName,
    configuration: &ConfigurationName,
    seq: u64,
) -> Error {
    Error::NotFound(format!(
        "version {seq} of configuration {configuration:?} in namespace {namespace:?}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn taking(before: Value, after: Value) -> TakingBack {
        TakingBack {
            seq: 7,
            field: None,
            patch: json_patch::diff(&before, &after),
            unpatch: json_patch::diff(&after, &before),
        }
    }

    fn fields(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_change_is_taken_back_only_where_it_still_stands() {
        let change = taking(json!({"a": 1, "b": 1}), json!({"a": 2, "c": 3}));
        // Other places changed since: kept.
        assert_eq!(
            change.apply(&fields(json!({"a": 2, "c": 3, "d": 4}))),
            Ok(fields(json!({"a": 1, "d": 4, "b": 1})))
        );
        // Its own places changed since (after the history was read): refused.
        for since in [
            json!({"a": 5, "c": 3}),
            json!({"a": 2}),
            json!({"a": 2, "c": 3, "b": 0}),
        ] {
            assert_eq!(
                change.apply(&fields(since)),
                Err(Error::ChangedSince {
                    change: 7,
                    later: Vec::new()
                })
            );
        }
    }

    #[test]
    fn list_changes_in_the_way_include_moved_items() {
        let t = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(in_the_way(&t(&["a"]), &t(&["a", "b"])));
        assert!(in_the_way(&t(&["a", "b"]), &t(&["a"])));
        assert!(in_the_way(&t(&["list", "0"]), &t(&["list", "2", "x"])));
        assert!(in_the_way(&t(&["list", "2"]), &t(&["list", "2", "x"])));
        assert!(!in_the_way(&t(&["list", "-"]), &t(&["list", "2"])));
        assert!(!in_the_way(&t(&["list", "3"]), &t(&["list", "2", "x"])));
        assert!(in_the_way(&t(&[]), &t(&["a"])));
        assert!(!in_the_way(&t(&["a"]), &t(&["b"])));
        assert!(!in_the_way(&t(&["obj", "k"]), &t(&["obj", "j"])));
        assert!(!in_the_way(&t(&["list", "0"]), &t(&["other", "1"])));
    }
}
