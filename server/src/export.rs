//! `confo export`: namespaces as a file (see `confo::export` for the formats), written a
//! namespace at a time to a file or standard output, and audited.

use std::io::Write;

use anyhow::Context;
use confo::export::{Format, Options, Writer};
use confo::{Actor, Change, NamespaceName};

use crate::config::ExportArgs;
use crate::store;

/// Runs `confo export`; `Ok(false)` when a namespace asked for could not be exported.
pub async fn run(args: ExportArgs) -> anyhow::Result<bool> {
    let format = Format::named(&args.format, &args.separator)?;
    let store = store::open(&args.store).await?;
    let listed = store
        .list_namespaces()
        .await
        .context("cannot read the namespaces")?;
    let asked: Vec<String> = if args.namespace.is_empty() {
        listed.clone()
    } else {
        args.namespace.clone()
    };
    let mut complete = true;
    let mut namespaces = Vec::new();
    for name in &asked {
        match NamespaceName::new(name) {
            Ok(namespace) if listed.contains(name) => namespaces.push(namespace),
            Ok(_) => {
                eprintln!("confo export: there is no namespace {name:?}");
                complete = false;
            }
            Err(error) => {
                eprintln!("confo export: skipped namespace {name:?}: {error}");
                complete = false;
            }
        }
    }
    if !args.namespace.is_empty() && !complete {
        // Asked for by name and not there: nothing is written.
        return Ok(false);
    }
    let names: Vec<String> = namespaces.iter().map(ToString::to_string).collect();
    store
        .record_export(
            &names,
            format.name(),
            args.secrets,
            &Change::by(Actor::system()).with_comment("confo export"),
        )
        .await
        .context("cannot record the export in the audit log")?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) if path.as_os_str() != "-" => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        _ => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut writer = Writer::new(Options {
        format,
        secrets: args.secrets,
    });
    out.write_all(&writer.start(&chrono::Utc::now().to_rfc3339()))?;
    let listed = store
        .list_namespaces()
        .await
        .context("cannot list the namespaces")?;
    for namespace in &namespaces {
        let read = store
            .export_listed_namespace(namespace, &listed)
            .await
            .with_context(|| format!("cannot read namespace {namespace}"))?;
        out.write_all(&writer.namespace(&read)?)?;
    }
    out.write_all(&writer.finish()?)?;
    out.flush()?;
    eprintln!(
        "exported {} {}",
        namespaces.len(),
        if namespaces.len() == 1 {
            "namespace"
        } else {
            "namespaces"
        }
    );
    Ok(complete)
}
