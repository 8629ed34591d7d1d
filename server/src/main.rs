//! The `confo` binary: parses the command line and wires the pieces together.

use std::process::ExitCode;

use clap::Parser;
use server::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("confo: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => server::serve::serve(args).await.map(|()| true),
            Command::Audit(command) => server::audit::run(command).await,
            Command::User(command) => server::user::run(command).await,
            Command::Export(args) => server::export::run(args).await,
            Command::Import(args) => server::import::run(args).await,
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("confo: {error:#}");
            ExitCode::FAILURE
        }
    }
}
