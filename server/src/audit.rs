//! `confo audit verify` and `confo audit archive`.

use anyhow::Context;
use confo::audit::Verification;

use crate::config::AuditCommand;
use crate::store;

/// Runs an audit command; `Ok(false)` when the chain is broken.
pub async fn run(command: AuditCommand) -> anyhow::Result<bool> {
    match command {
        AuditCommand::Verify { archive_dir, store } => {
            let store = store::open(&store).await?;
            let mut intact = true;
            if let Some(dir) = archive_dir {
                let verdict = store
                    .verify_archive(&dir)
                    .await
                    .with_context(|| format!("cannot check the archive in {}", dir.display()))?;
                intact &= report("archive", &verdict);
            }
            let verdict = store
                .verify_audit()
                .await
                .context("cannot read the audit log")?;
            intact &= report("audit log", &verdict);
            Ok(intact)
        }
        AuditCommand::Archive {
            older_than,
            archive_dir,
            store,
        } => {
            let store = store::open(&store).await?;
            let cutoff = chrono::Utc::now()
                - chrono::Duration::from_std(older_than).context("--older-than is too long")?;
            let done = store
                .archive_audit(cutoff, &archive_dir)
                .await
                .context("archiving stopped")?;
            println!(
                "moved {} audit entries older than {} to {}",
                done.archived,
                cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                done.file.display()
            );
            Ok(true)
        }
    }
}

fn report(what: &str, verdict: &Verification) -> bool {
    match verdict {
        Verification::Intact { entries } => {
            println!("{what}: intact ({entries} entries checked)");
            true
        }
        Verification::Broken { seq, reason } => {
            println!("{what}: BROKEN at entry {seq}: {reason}");
            false
        }
    }
}
