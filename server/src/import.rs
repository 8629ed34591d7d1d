//! `confo import`: a file (or a directory in the original Confo's layout) into the store, as
//! `confo::import` previews and applies it.

use anyhow::Context;
use confo::import::{EnvOptions, Existing, Options, parse_renames, read_path_full};
use confo::{Actor, Change};

use crate::config::ImportArgs;
use crate::store;

/// Runs `confo import`: prints the preview, then (without `--dry-run`) applies it and prints
/// what was written. `Ok(false)` when anything was refused or not written.
pub async fn run(args: ImportArgs) -> anyhow::Result<bool> {
    let env = EnvOptions {
        into: args.into.clone(),
        separator: args.separator.clone(),
    };
    let (incoming, schemas) = read_path_full(&args.path, &env)?;
    let options = Options {
        existing: Existing::named(&args.existing)?,
        delete_missing: args.delete_missing,
        renames: parse_renames(&args.rename)?,
        schemas,
    };
    let store = store::open(&args.store).await?;
    let preview = store
        .preview_import(&incoming, &options)
        .await
        .context("cannot read what the import would change")?;
    print!("{}", preview.to_text());
    let refused = preview.refuses_anything();
    if args.dry_run {
        println!(
            "dry run: nothing was written{}",
            if refused {
                "; some of it would be refused"
            } else {
                ""
            }
        );
        return Ok(!refused);
    }
    let comment = args
        .comment
        .clone()
        .unwrap_or_else(|| format!("confo import {}", args.path.display()));
    let change = Change::by(Actor::system()).with_comment(comment);
    let report = store
        .apply_import(&preview, &change)
        .await
        .context("the import stopped")?;
    print!("{}", report.to_text());
    if report.stale {
        // What changed since the preview, shown again: the import stopped there.
        println!("some configurations changed since the preview; what the import would do now:");
        let again = store
            .preview_import(&incoming, &options)
            .await
            .context("cannot read what the import would change")?;
        print!("{}", again.to_text());
    }
    let failed = report.failed();
    println!(
        "{} written or sent for review, {failed} not written{}",
        report.outcomes.len() - failed,
        if refused { ", some refused" } else { "" }
    );
    Ok(failed == 0 && !refused)
}
