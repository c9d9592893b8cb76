//! wasm-forest: the native host. Parses CSV, runs the forest component in a
//! wasmtime sandbox, times phases and writes files.

mod bench;
mod cli;
mod commands;
mod data;
mod fsio;
mod runtime;
mod stats;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use cli::{Cli, Command};
use runtime::{Limits, Runtime};

fn run(cli: Cli) -> anyhow::Result<()> {
    let limits = Limits {
        max_memory: (cli.sandbox.max_memory << 20) as usize,
        timeout: Duration::from_secs_f64(cli.sandbox.timeout),
    };
    let rt = Runtime::new(cli.sandbox.component.as_deref(), limits)?;
    match &cli.command {
        Command::Bench(args) => bench::run(&rt, args).map(drop),
        Command::Train(args) => commands::train(&rt, args),
        Command::Predict(args) => commands::predict(&rt, args),
        Command::Info(args) => commands::info(&rt, args),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
