//! Retention: old audit entries move to an append-only file, and the chain stays verifiable
//! across the move.
//!
//! Entries older than a cut-off are appended, oldest first, to `audit-archive.jsonl` in the
//! archive directory (one JSON entry per line, flushed to disk), then removed from the store in
//! transactions that also record the last archived entry's number and hash (the anchor). The
//! chain kept in the store starts from the anchor; the file holds the chain up to it, so
//! [`Store::verify_archive`] checks the file and that it ends at the anchor. An interrupted run is
//! finished by the next one: entries already in the file are not written twice.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::Store;
use crate::audit::{AuditEntry, AuditHead, ChainCheck, Verification};
use crate::error::{Error, Result};
use crate::kv::{Compare, Op, TxnOutcome};
use crate::names::{ConfigurationName, NamespaceName};

/// The archive file's name inside the archive directory.
pub const ARCHIVE_FILE: &str = "audit-archive.jsonl";

/// Entries removed from the store per transaction (each takes two or three operations).
const PER_TXN: usize = 40;

/// What an archiving run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveReport {
    /// Entries moved to the file by this run.
    pub archived: u64,
    /// The newest entry in the file (`None`: the file is empty).
    pub last_seq: Option<u64>,
    pub file: PathBuf,
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Backend(format!("{}: {e}", path.display()))
}

/// The last entry in the archive file, if any.
fn last_archived(path: &Path) -> Result<Option<AuditEntry>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path, e)),
    };
    let mut last = None;
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| io(path, e))?;
        if !line.trim().is_empty() {
            last = Some(line);
        }
    }
    last.map(|line| {
        serde_json::from_str(&line).map_err(|e| Error::Corrupt {
            key: path.display().to_string(),
            reason: format!("its last line is not an audit entry ({e})"),
        })
    })
    .transpose()
}

impl Store {
    /// Moves every audit entry older than `older_than` to the archive file in `dir`.
    pub async fn archive_audit(
        &self,
        older_than: DateTime<Utc>,
        dir: &Path,
    ) -> Result<ArchiveReport> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let path = dir.join(ARCHIVE_FILE);
        let mut in_file = last_archived(&path)?.map(|e| AuditHead {
            seq: e.seq,
            hash: e.hash,
        });
        let mut archived = 0;
        loop {
            let anchor_key = self.layout.audit_anchor();
            let anchor_read = self.kv.get(&anchor_key).await?;
            let anchor = super::committer::parse_head(anchor_read.as_ref())?;
            if let Some(file_head) = &in_file
                && file_head.seq < anchor.seq
            {
                return Err(Error::InvalidValue(format!(
                    "{} ends at entry {} but the store has archived up to entry {}: use the archive directory of earlier runs",
                    path.display(),
                    file_head.seq,
                    anchor.seq
                )));
            }
            let start = self.layout.audit_entry(anchor.seq + 1);
            let end = crate::kv::prefix_end(&self.layout.audit_log_prefix());
            let batch = self.kv.range(&start, &end, PER_TXN, false).await?;
            let mut entries = Vec::new();
            for kv in &batch {
                let entry: AuditEntry =
                    serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
                        key: kv.key.clone(),
                        reason: e.to_string(),
                    })?;
                if entry.time >= older_than {
                    break;
                }
                entries.push((kv.clone(), entry));
            }
            if entries.is_empty() {
                return Ok(ArchiveReport {
                    archived,
                    last_seq: in_file.map(|h| h.seq),
                    file: path,
                });
            }
            // First the file, flushed to disk; only then are the entries removed.
            let fresh: Vec<&AuditEntry> = entries
                .iter()
                .map(|(_, e)| e)
                .filter(|e| in_file.as_ref().is_none_or(|h| e.seq > h.seq))
                .collect();
            if !fresh.is_empty() {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| io(&path, e))?;
                let mut text = String::new();
                for entry in &fresh {
                    text.push_str(&serde_json::to_string(entry).expect("entries serialise"));
                    text.push('\n');
                }
                file.write_all(text.as_bytes()).map_err(|e| io(&path, e))?;
                file.sync_data().map_err(|e| io(&path, e))?;
                let last = fresh.last().expect("not empty");
                in_file = Some(AuditHead {
                    seq: last.seq,
                    hash: last.hash.clone(),
                });
            }
            let last = &entries.last().expect("not empty").1;
            let mut compares = vec![Compare::unchanged(&anchor_key, anchor_read.as_ref())];
            let mut ops = Vec::new();
            for (kv, entry) in &entries {
                compares.push(Compare::unchanged(&kv.key, Some(kv)));
                ops.push(Op::Delete {
                    key: kv.key.clone(),
                });
                if let (Some(n), Some(c)) = (&entry.namespace, &entry.configuration)
                    && let (Ok(n), Ok(c)) = (
                        NamespaceName::new(n.as_str()),
                        ConfigurationName::new(c.as_str()),
                    )
                {
                    ops.push(Op::Delete {
                        key: self.layout.history_entry(&n, &c, entry.seq),
                    });
                }
            }
            ops.push(Op::Put {
                key: anchor_key,
                value: serde_json::to_vec(&AuditHead {
                    seq: last.seq,
                    hash: last.hash.clone(),
                })
                .expect("heads serialise"),
            });
            match self.kv.txn(compares, ops).await? {
                TxnOutcome::Committed { .. } => archived += entries.len() as u64,
                TxnOutcome::CompareFailed => {
                    return Err(Error::Busy(
                        "the audit log (another archiving run is under way)".into(),
                    ));
                }
            }
        }
    }

    /// Walks the archive file's chain from the first entry and checks that it ends where the
    /// chain kept in the store begins.
    pub async fn verify_archive(&self, dir: &Path) -> Result<Verification> {
        let path = dir.join(ARCHIVE_FILE);
        let file = std::fs::File::open(&path).map_err(|e| io(&path, e))?;
        let mut chain = ChainCheck::after(AuditHead::default());
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| io(&path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let entry: AuditEntry = match serde_json::from_str(&line) {
                Ok(entry) => entry,
                Err(e) => {
                    return Ok(Verification::Broken {
                        seq: chain.last().seq + 1,
                        reason: format!("not an audit entry ({e})"),
                    });
                }
            };
            if let Err(broken) = chain.next(&entry) {
                return Ok(broken);
            }
        }
        let anchor = self.read_anchor().await?;
        Ok(chain.finish(&anchor, "the store's anchor"))
    }
}
