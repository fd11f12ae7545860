//! `cargo xtask <command>`: the project's automation (an alias in `.cargo/config.toml`).
//! Plain std, no dependencies, so it builds in seconds on a fresh clone.

mod assets;
mod bench;
mod board;
mod board_golden;
mod board_table;
mod demo;
mod elf;
mod fullsize;
mod setup;
mod targets;
mod test;
#[cfg(test)]
mod tests;
mod toolchain;
mod util;

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::{Duration, Instant},
};

use util::{err, fmt_duration, run, Result};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  demo                       compile the bundled micro ResNet-8 to int8 with the edgecnn CLI,
                             evaluate it, classify 3 test images, inspect the plan
  test [--no-setup]          setup, then every test: `cargo test --workspace --features cli`
                             (includes the QEMU board test) and check-targets; prints a summary
  setup [--models]           install what is missing: Debian packages (cross toolchain, lld,
                             QEMU, aarch64 gcc), the rustup link to Debian's rustc;
                             --models adds PyTorch, Fashion-MNIST and models/requirements.txt
  bench [--runs N] [--rounds N] [--models a,b] [--no-ort] [--no-boards]
                             release build, then edgecnn int8 vs tract f32 vs ONNX Runtime
                             f32/int8, one thread, interleaved rounds, on the micro and
                             full-size models; then `boards` (QEMU instruction counts)
  boards                     build every board, run the QEMU ones under -icount shift=0 and
                             print model, plan/arena bytes, flash and RAM bytes (from the
                             ELF + measured stack), instructions per inference
  golden [MODEL…]            regenerate tests/data/golden/<model>/ for every models/micro_*.onnx
                             (or the named ones): plan, 8 test images, the host's outputs
  check-targets              build the library no_std (with and without defmt) for every
                             cross target and check the firmware dependency tree
  board list                 the boards under boards/
  board build <board> [--plan FILE]
                             build a board's firmware (release), embedding FILE if given
                             (else the board's assets/model.plan, if any)
  board plan <board> [--image FILE]
                             regenerate boards/<board>/assets: the demo model compiled to
                             model.plan, and one test image's raw pixels (needs setup --models)
  board run <board> [--plan FILE] [--timeout SECS]
                             build it and run it under QEMU; exits with QEMU's exit code
  models [--full | ARGS…]    run `/usr/bin/python3 models/build.py all` (data, micro models,
                             full-size exports, photos); --full: `build.py full` (the
                             full-size exports only); other ARGS go to build.py as they are
  help                       this text

Cross builds go to $EDGECNN_CROSS_TARGET_DIR, else $CARGO_TARGET_DIR/cross, else target/cross.
EDGECNN_TOOLCHAIN=installed|build-std forces how cross targets are built.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let start = Instant::now();
    let result = dispatch(&args);
    let took = fmt_duration(start.elapsed());
    match result {
        Ok(code) => {
            if code == 0 && !matches!(args.first().copied(), None | Some("help" | "-h" | "--help"))
            {
                println!("xtask {}: finished in {took}", args.join(" "));
            }
            ExitCode::from(code)
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("xtask {}: failed after {took}", args.join(" "));
            ExitCode::FAILURE
        }
    }
}

/// Runs one command; `Ok` carries the exit code (non-zero only for a failing board run).
fn dispatch(args: &[&str]) -> Result<u8> {
    let root = root();
    match args {
        [] | ["help" | "-h" | "--help"] => println!("{USAGE}"),
        ["setup"] => setup::run_setup(&root, false)?,
        ["setup", "--models"] => setup::run_setup(&root, true)?,
        ["test"] => test::run(&root, true)?,
        ["test", "--no-setup"] => test::run(&root, false)?,
        ["check-targets"] => targets::run(&root)?,
        ["boards"] => board_table::run(&root)?,
        ["bench", rest @ ..] => bench::run_bench(&root, &bench::Options::parse(rest)?)?,
        ["golden", models @ ..] => board_golden::run_golden(&root, models)?,
        ["demo"] => demo::run_demo(&root)?,
        ["models"] => models(&root, &["all"])?,
        ["models", "--full"] => models(&root, &["full"])?,
        ["models", rest @ ..] => models(&root, rest)?,
        ["board", "list"] => {
            for name in board::list(&root)? {
                println!("{name}");
            }
        }
        ["board", "build", name, rest @ ..] => {
            let opts = BoardOpts::parse(rest)?;
            let elf = board::Board::find(&root, name)?.build(&root, opts.plan.as_deref())?;
            println!("firmware: {}", elf.display());
        }
        ["board", "plan", name] => assets::make(&root, name, demo::BOARD_IMAGE)?,
        ["board", "plan", name, "--image", image] => assets::make(&root, name, image)?,
        ["board", "run", name, rest @ ..] => return board_run(&root, name, rest),
        _ => {
            return Err(err(format!(
                "unknown command `{}`\n\n{USAGE}",
                args.join(" ")
            )))
        }
    }
    Ok(0)
}

/// Options of `board build|run`.
struct BoardOpts {
    plan: Option<PathBuf>,
    timeout: Duration,
}

impl BoardOpts {
    fn parse(mut rest: &[&str]) -> Result<Self> {
        let mut opts = BoardOpts {
            plan: None,
            timeout: board::DEFAULT_TIMEOUT,
        };
        loop {
            match rest {
                [] => return Ok(opts),
                ["--plan", file, more @ ..] => {
                    opts.plan = Some(PathBuf::from(file));
                    rest = more;
                }
                ["--timeout", secs, more @ ..] => {
                    let secs = secs
                        .parse()
                        .map_err(|_| err(format!("--timeout wants whole seconds, not `{secs}`")))?;
                    opts.timeout = Duration::from_secs(secs);
                    rest = more;
                }
                _ => return Err(err(format!("unexpected arguments: {}", rest.join(" ")))),
            }
        }
    }
}

/// `board run <name> [--plan FILE] [--timeout SECS]`: exits with QEMU's exit code.
fn board_run(root: &Path, name: &str, rest: &[&str]) -> Result<u8> {
    let opts = BoardOpts::parse(rest)?;
    let board = board::Board::find(root, name)?;
    let elf = board.build(root, opts.plan.as_deref())?;
    let outcome = board.run(&elf, opts.timeout)?;
    let took = fmt_duration(outcome.elapsed);
    match outcome.code {
        Some(0) if outcome.passed(name) => {
            println!("board {name}: passed in {took}");
            Ok(0)
        }
        Some(0) => Err(err(format!(
            "board {name} exited with 0 but never printed `{}`",
            board::RunOutcome::ok_line(name)
        ))),
        Some(code) => {
            eprintln!("board {name}: failed, QEMU exited with code {code} after {took}");
            Ok(u8::try_from(code).unwrap_or(1).max(1))
        }
        None => Err(err(format!("board {name}: QEMU was killed by a signal"))),
    }
}

/// `/usr/bin/python3 models/build.py <args>`.
fn models(root: &Path, args: &[&str]) -> Result<()> {
    let script = root.join("models/build.py");
    if !script.is_file() {
        return Err(err(format!("{} is missing", script.display())));
    }
    if !Path::new(setup::PYTHON).is_file() {
        return Err(err(format!(
            "{} is missing: run `cargo xtask setup --models`",
            setup::PYTHON
        )));
    }
    run(Command::new(setup::PYTHON)
        .current_dir(root)
        .arg("models/build.py")
        .args(args))
}

/// The repository root: the nearest folder at or above the current one that holds
/// `xtask/Cargo.toml` (so a shared target directory can never point at another clone),
/// else the parent of this package's source.
fn root() -> PathBuf {
    let here = std::env::current_dir().ok();
    here.iter()
        .flat_map(|d| d.ancestors())
        .find(|d| d.join("xtask/Cargo.toml").is_file() && d.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("xtask lives one level below the repository root")
                .to_path_buf()
        })
}
