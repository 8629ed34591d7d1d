//! The command line: every option is also an environment variable (see `.env.sample`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Confo: configuration for distributed systems, kept in etcd or on local disk, managed in the
/// browser.
#[derive(Debug, Parser)]
#[command(name = "confo", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard and the API.
    Serve(ServeArgs),
    /// Check or archive the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Write namespaces to a file or standard output, and record it in the audit log.
    Export(ExportArgs),
    /// Read configurations from a file or directory: print what would change, then (without
    /// `--dry-run`) write it.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A Confo bundle or JSON export (.json), YAML (.yaml, .yml), TOML (.toml), .env, the
    /// original Confo's file layout as a .tar.gz or .zip, or a directory of it
    /// (`<namespace>/<configuration>.json`).
    pub path: PathBuf,
    /// For an .env file that is not a Confo export: the configuration it becomes.
    #[arg(long, value_name = "NAMESPACE/CONFIGURATION")]
    pub into: Option<String>,
    /// For an .env file that is not a Confo export: what splits its keys into nested fields
    /// (`DB__HOST` with `__`); without it, every key is one field.
    #[arg(long)]
    pub separator: Option<String>,
    /// What to do with a configuration that exists: skip it, overwrite its whole value, or merge
    /// the file's top-level fields into it (the file's value wins).
    #[arg(long, default_value = "skip")]
    pub existing: String,
    /// Delete the configurations of an imported namespace that the file does not hold.
    #[arg(long)]
    pub delete_missing: bool,
    /// Import namespace `old` of the file as `new` (repeat for several), for names the rules
    /// refuse (the original Confo allowed '-').
    #[arg(long, value_name = "OLD=NEW")]
    pub rename: Vec<String>,
    /// Print what the import would do, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The comment recorded with every change in the audit log.
    #[arg(long)]
    pub comment: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A namespace to export (repeat for several); without it, every namespace.
    #[arg(long)]
    pub namespace: Vec<String>,
    /// bundle (JSON with schemas and revisions, lossless), json, yaml, toml, env, tree (the
    /// original Confo's file layout, `<namespace>/<configuration>.json`, in a .tar.gz) or zip
    /// (the same in a .zip).
    #[arg(long, default_value = "bundle")]
    pub format: String,
    /// For `env`: what joins the parts of a key (`SHOP__DB__HOST`).
    #[arg(long, default_value = "__")]
    pub separator: String,
    /// Write secret values (`writeOnly` in a schema) as they are, instead of a placeholder.
    #[arg(long)]
    pub secrets: bool,
    /// The file to write (`-`: standard output, the default).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from the first line of standard input.
    Add {
        /// The user's name (letters, digits, '_', '.', '@' and '-').
        name: String,
        /// Make the user an administrator (same as `--role admin`).
        #[arg(long, conflicts_with = "role")]
        admin: bool,
        /// viewer, editor or admin; the user's role applies to every namespace.
        #[arg(long, default_value = "viewer")]
        role: confo::users::Role,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable a user: they are signed out at their next request and cannot sign in.
    Disable {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Enable a disabled user again.
    Enable {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the audit log's hash chain and report the first broken link (exit status 1 if any).
    Verify {
        /// Also check the archive file in this directory and that it joins the kept chain.
        #[arg(long, env = "CONFO_AUDIT_ARCHIVE_DIR")]
        archive_dir: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Move audit entries older than `--older-than` to an append-only file in `--archive-dir`.
    Archive {
        /// Age of the entries to move (e.g. `90d`, `12h`).
        #[arg(long, value_parser = parse_duration)]
        older_than: Duration,
        /// Directory of the archive file `audit-archive.jsonl`.
        #[arg(long, env = "CONFO_AUDIT_ARCHIVE_DIR")]
        archive_dir: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "CONFO_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// The dashboard is served over https (directly or behind a proxy): session cookies are
    /// marked `Secure` and named `__Host-confo_session`.
    #[arg(long, env = "CONFO_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// A session unused this long ends (e.g. `30m`).
    #[arg(long, env = "CONFO_IDLE_TIMEOUT", default_value = "30m", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// The longest a session lasts after sign-in, however active (e.g. `12h`).
    #[arg(long, env = "CONFO_SESSION_LIFETIME", default_value = "12h", value_parser = parse_duration)]
    pub session_lifetime: Duration,

    /// How long an invitation or password reset link works (e.g. `72h`).
    #[arg(long, env = "CONFO_INVITATION_LIFETIME", default_value = "72h", value_parser = parse_duration)]
    pub invitation_lifetime: Duration,

    /// Behind a reverse proxy: take the client's address from the last entry of the
    /// `X-Forwarded-For` header the proxy adds (used to slow down repeated failed sign-ins).
    #[arg(long, env = "CONFO_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// The token of the first-run set-up link, for scripted installs; by default a random one is
    /// made and printed while no user exists.
    #[arg(long, env = "CONFO_SETUP_TOKEN", hide_env_values = true)]
    pub setup_token: Option<String>,
    /// The most value text the search index keeps (e.g. `256MiB`, `64KiB`, or bytes). Past it
    /// the longest values are left out of value search, and the search page says how many;
    /// names and field paths are always searched.
    #[arg(long, env = "CONFO_SEARCH_VALUE_CEILING", default_value = "256MiB", value_parser = parse_size)]
    pub search_value_ceiling: usize,

    /// Load a small example namespace, `demo` (three configurations, one with a schema), unless
    /// it exists already.
    #[arg(long)]
    pub demo: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Where configuration is kept.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// etcd members, comma-separated (e.g. `127.0.0.1:2379,127.0.0.1:22379`). When absent, the
    /// embedded store in `--data-dir` is used.
    #[arg(long, env = "CONFO_ETCD_ENDPOINTS", value_delimiter = ',')]
    pub etcd_endpoints: Vec<String>,

    /// Longest time one etcd request may take before it fails as unavailable (e.g. `5s`, `500ms`).
    #[arg(long, env = "CONFO_ETCD_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub etcd_timeout: Duration,

    /// etcd user name, if the cluster has authentication enabled.
    #[arg(long, env = "CONFO_ETCD_USER", requires = "etcd_password")]
    pub etcd_user: Option<String>,

    /// etcd password for `--etcd-user`.
    #[arg(long, env = "CONFO_ETCD_PASSWORD", hide_env_values = true)]
    pub etcd_password: Option<String>,

    /// Directory of the embedded store (used when no etcd endpoint is given).
    #[arg(long, env = "CONFO_DATA_DIR", default_value = "./confo-data")]
    pub data_dir: PathBuf,

    /// Text put in front of every key, for sharing an etcd cluster; empty keeps the original
    /// Confo layout.
    #[arg(long, env = "CONFO_KEY_PREFIX", default_value = "")]
    pub key_prefix: String,

    /// Namespaces to list at start-up if they are not listed yet, comma-separated.
    #[arg(long, env = "CONFO_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,
}

/// Parses `250ms`, `5s`, `2m`, `12h` or `90d`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 5s, 2m, 12h or 90d"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" | "" => Duration::from_secs(number),
        "m" => Duration::from_secs(number * 60),
        "h" => Duration::from_secs(number * 3600),
        "d" => Duration::from_secs(number * 86_400),
        _ => {
            return Err(format!(
                "{text:?} has an unknown unit; use ms, s, m, h or d"
            ));
        }
    };
    if duration.is_zero() {
        return Err("the duration must be more than zero".into());
    }
    Ok(duration)
}

/// A size in bytes: a number, optionally with `KiB`, `MiB` or `GiB`.
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 256MiB, 64KiB or 1000000"))?;
    let unit = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(format!("{text:?} has an unknown unit; use KiB, MiB or GiB")),
    };
    let size = number
        .checked_mul(unit)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if size > 2 << 30 {
        return Err(format!("{text:?} is more than the most allowed, 2GiB"));
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_duration("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn endpoints_split_on_commas() {
        let cli = Cli::try_parse_from([
            "confo",
            "serve",
            "--etcd-endpoints",
            "127.0.0.1:1,127.0.0.1:2",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("parsed as another command")
        };
        assert_eq!(args.store.etcd_endpoints, ["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(args.listen, "127.0.0.1:3000".parse().unwrap());
    }
}
