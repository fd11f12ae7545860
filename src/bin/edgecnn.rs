//! The `edgecnn` command-line tool (feature `cli`): `compile`, `classify`, `eval`, `inspect`.
//!
//! Every failure prints one line, `edgecnn: <file>: <problem>`, to stderr and exits non-zero
//! (1 for a failed command, 2 for a bad command line). Progress bars go to stderr, results
//! to stdout.
#![deny(unsafe_code)]

#[path = "edgecnn/arena_map.rs"]
mod arena_map;
#[path = "edgecnn/args.rs"]
mod args;
#[path = "edgecnn/bench.rs"]
mod bench;
#[path = "edgecnn/classify.rs"]
mod classify;
#[path = "edgecnn/compile.rs"]
mod compile;
#[path = "edgecnn/data.rs"]
mod data;
#[path = "edgecnn/eval.rs"]
mod eval;
#[path = "edgecnn/fail.rs"]
mod fail;
#[path = "edgecnn/inspect.rs"]
mod inspect;
#[path = "edgecnn/inspect_svg.rs"]
mod inspect_svg;
#[path = "edgecnn/plan.rs"]
mod plan;
#[path = "edgecnn/progress.rs"]
mod progress;
#[path = "edgecnn/sample.rs"]
mod sample;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    // A bug (here or in a dependency) still gets one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        // A panic inside tract that the compiler catches becomes an error naming the file:
        // it prints that error, not this line.
        if edgecnn::compiler::in_guarded_call() {
            return;
        }
        let what = edgecnn::compiler::panic_message(info.payload()).unwrap_or_default();
        // `println!` panics when stdout is closed early (`edgecnn classify … | head`): that is
        // the reader's choice, not a bug. Exit quietly, as Unix tools do on SIGPIPE.
        if what.contains("Broken pipe") {
            std::process::exit(141);
        }
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "edgecnn: internal error{at}: {} (please report it)",
            what.lines().next().unwrap_or("")
        );
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("edgecnn: {}", clap_line(&e));
            return ExitCode::from(2);
        }
    };
    let result = match &cli.command {
        Command::Compile(a) => compile::run(a),
        Command::Classify(a) => classify::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgecnn: {e}");
            ExitCode::FAILURE
        }
    }
}

/// clap's message on one line, e.g. `invalid value '1x3' for '--input-shape <DIMS>': …`.
fn clap_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let message = text.split("Usage:").next().unwrap_or_default();
    let message = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    format!("{message} (see `edgecnn --help`)")
}
