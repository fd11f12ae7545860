//! `cargo xtask test [--no-setup]`: the one command that runs every test.
//!
//! 1. `cargo xtask setup` (skipped with `--no-setup`).
//! 2. The full-size torchvision exports the parity tests need (`models/build.py full`, only the
//!    missing ones), started in the background so they overlap the build.
//! 3. `cargo test --workspace --features cli --no-run` (the build), then waiting for the exports.
//! 4. `cargo test --workspace --features cli --no-fail-fast`: unit, integration, doc, full-size parity and
//!    board (QEMU) tests, in the dev profile with optimised dependencies (tract is compiled once,
//!    shared with `cargo xtask demo`).
//! 5. `cargo xtask check-targets`.
//! 6. Every fuzz target for 20 s each (`tests/fuzz/run.sh`: nightly; installs cargo-fuzz if
//!    missing): `plan`, `plan_mutated` and `image` under AddressSanitizer, `onnx` (the tract
//!    import path, safe Rust) without a sanitizer; a crash fails the step.
//! 7. Miri (nightly; `rustup component add miri rust-src` first): the plan parser, the arena
//!    binding, every runtime step and the reference kernels on small shapes, i.e.
//!    `tests/runtime_plan.rs`, `tests/runtime_kernels.rs`, `tests/runtime_overlap.rs`,
//!    `tests/runtime_stream.rs`, `tests/runtime_view.rs` and `tests/trust_seeds.rs` with
//!    their random case counts cut down under `cfg(miri)` (`runtime_oracle::cases`).
//! 8. Lints: `cargo fmt --check`, and `cargo clippy -D warnings` on the `no_std` library (where
//!    `format/` and `runtime/` deny unwrap/expect/panic/indexing) and on every target of the
//!    workspace with the CLI.
//!
//! Every step runs even when an earlier one failed; the summary at the end lists each step's
//! result and time and the test counts, and the exit code is non-zero if any step failed.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use crate::util::{
    describe, err, fmt_duration, host_cargo, host_target_dir, run as run_command, Result,
};
use crate::{fullsize, setup, targets};

/// Test counts summed over every `test result:` line of `cargo test`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl Counts {
    /// Adds the counts of one libtest summary line:
    /// `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; …`.
    pub fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(what), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match what {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

pub fn run(root: &Path, with_setup: bool) -> Result<()> {
    let mut steps: Vec<(&str, Result<()>, Duration)> = Vec::new();

    if with_setup {
        let start = Instant::now();
        let r = setup::run_setup(root, false);
        steps.push(("setup", r, start.elapsed()));
    }

    let start = Instant::now();
    let export = fullsize::spawn_missing(root);
    let (build, _) = cargo_test(root, &["--no-run"]);
    let export = match export {
        Ok(Some(running)) => running.wait(),
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    steps.push((
        "full-size exports (models/build.py full)",
        export,
        start.elapsed(),
    ));
    steps.push(("cargo test --no-run (build)", build, start.elapsed()));

    let start = Instant::now();
    // Every test binary runs even after one fails, so one run shows every failure.
    let (r, counts) = cargo_test(root, &["--no-fail-fast"]);
    steps.push(("cargo test --workspace --features cli", r, start.elapsed()));

    // Miri interprets on one core: it runs beside the remaining (compile-bound) steps, its
    // output in a log printed when it ends.
    let miri_start = Instant::now();
    let miri_log = host_target_dir(root).join("miri.log");
    let miri_run = {
        let (root, log) = (root.to_path_buf(), miri_log.clone());
        std::thread::spawn(move || miri(&root, &log))
    };

    let start = Instant::now();
    let r = targets::run(root);
    steps.push(("check-targets", r, start.elapsed()));

    let start = Instant::now();
    let r = fuzz(root);
    steps.push(("fuzz 20 s per target (4 targets)", r, start.elapsed()));

    let r = miri_run
        .join()
        .unwrap_or_else(|_| Err(err("the Miri thread panicked")));
    println!("==== miri ({}) ====", miri_log.display());
    println!(
        "{}",
        std::fs::read_to_string(&miri_log).unwrap_or_else(|e| format!("(no log: {e})"))
    );
    steps.push((
        "miri (parser, arena binding, kernels; beside the steps above)",
        r,
        miri_start.elapsed(),
    ));

    let start = Instant::now();
    let r = lints(root);
    steps.push(("fmt + clippy -D warnings", r, start.elapsed()));

    println!("\n==== xtask test summary ====");
    let mut failed = 0;
    for (name, r, took) in &steps {
        match r {
            Ok(()) => println!("  ok      {name} ({})", fmt_duration(*took)),
            Err(e) => {
                failed += 1;
                println!("  FAILED  {name} ({}): {e}", fmt_duration(*took));
            }
        }
    }
    let skipped = if counts.ignored > 0 {
        format!(", {} skipped", counts.ignored)
    } else {
        String::new()
    };
    println!(
        "tests: {} passed, {} failed{skipped}",
        counts.passed, counts.failed
    );
    if failed == 0 {
        Ok(())
    } else {
        Err(err(format!("{failed} of {} steps failed", steps.len())))
    }
}

/// `tests/fuzz/run.sh 20 plan plan_mutated image` (AddressSanitizer: these reach the
/// `unsafe` SIMD kernels), then `FUZZ_SANITIZER=none tests/fuzz/run.sh 20 onnx` (the import
/// path is safe Rust, tract included, and its instrumented build is the longest: without ASan
/// it is several minutes shorter). Target dirs beside the host build's; both run even when
/// the first fails.
fn fuzz(root: &Path) -> Result<()> {
    let script = |targets: &[&str], sanitizer: &str, dir: &str, args: &str| {
        run_command(
            std::process::Command::new("bash")
                .current_dir(root)
                .args(["tests/fuzz/run.sh", "20"])
                .args(targets)
                .env("FUZZ_SANITIZER", sanitizer)
                .env("FUZZ_ARGS", args)
                .env("CARGO_TARGET_DIR", host_target_dir(root).join(dir)),
        )
    };
    let asan = script(&["plan", "plan_mutated", "image"], "address", "fuzz", "");
    // Random, like the others. (It ran with a fixed seed while the out-of-memory input a
    // random run found on 2026-12-02 was unfixed; compiler::proto_sizes fixed it.)
    let onnx = script(&["onnx"], "none", "fuzz-onnx", "");
    asan.and(onnx)
}

/// The test binaries Miri runs (see the module docs).
pub const MIRI_TESTS: [&str; 7] = [
    "runtime_plan",
    "runtime_pack",
    "runtime_kernels",
    "runtime_overlap",
    "runtime_stream",
    "runtime_view",
    "trust_seeds",
];

/// Installs Miri and the library source it builds its sysroot from (rustup downloads them
/// in seconds; already installed is a no-op), then runs [`MIRI_TESTS`] under it, in a target
/// dir of its own beside the host build's. Everything it prints goes to `log`.
fn miri(root: &Path, log: &Path) -> Result<()> {
    let out = std::fs::File::create(log)
        .map_err(|e| err(format!("cannot create {}: {e}", log.display())))?;
    let quiet = |c: &mut std::process::Command| -> Result<()> {
        let line = describe(c);
        let (o, e) = (out.try_clone(), out.try_clone());
        let (Ok(o), Ok(e)) = (o, e) else {
            return Err(err(format!("cannot write {}", log.display())));
        };
        let status = c
            .stdout(o)
            .stderr(e)
            .status()
            .map_err(|e| err(format!("cannot start `{line}`: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(err(format!(
                "`{line}` failed ({status}); see {}",
                log.display()
            )))
        }
    };
    let rustup = || {
        let mut c = std::process::Command::new("rustup");
        c.current_dir(root);
        c
    };
    quiet(rustup().args([
        "component",
        "add",
        "--toolchain",
        "nightly",
        "miri",
        "rust-src",
    ]))?;
    let mut test = rustup();
    test.args(["run", "nightly", "cargo", "miri", "test"])
        .env("CARGO_TARGET_DIR", host_target_dir(root).join("miri"));
    for t in MIRI_TESTS {
        test.args(["--test", t]);
    }
    quiet(&mut test)
}

/// `cargo fmt --check`, then clippy with `-D warnings` on the `no_std` library and on every
/// workspace target with the CLI; stops at the first that fails.
fn lints(root: &Path) -> Result<()> {
    let runs: [&[&str]; 3] = [
        &["fmt", "--all", "--check"],
        &[
            "clippy",
            "--lib",
            "--no-default-features",
            "--",
            "-D",
            "warnings",
        ],
        &[
            "clippy",
            "--workspace",
            "--features",
            "cli",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ];
    for args in runs {
        run_command(host_cargo().current_dir(root).args(args))?;
    }
    Ok(())
}

/// Runs `cargo test --workspace --features cli [extra…]`, echoing its output and counting tests.
fn cargo_test(root: &Path, extra: &[&str]) -> (Result<()>, Counts) {
    let mut counts = Counts::default();
    let mut cmd = host_cargo();
    cmd.current_dir(root)
        .args(["test", "--workspace", "--features", "cli"])
        .args(extra)
        .stdout(Stdio::piped());
    let line = describe(&cmd);
    println!("$ {line}");
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (Err(err(format!("cannot start `{line}`: {e}"))), counts),
    };
    let stdout = child.stdout.take().expect("stdout is piped");
    for l in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
        println!("{l}");
        counts.add_line(&l);
    }
    let result = match child.wait() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(err(format!("`{line}` failed ({s})"))),
        Err(e) => Err(err(format!("waiting for `{line}`: {e}"))),
    };
    (result, counts)
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn sums_libtest_summaries() {
        let mut c = Counts::default();
        c.add_line("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        c.add_line(
            "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        c.add_line("running 5 tests");
        assert_eq!(
            c,
            Counts {
                passed: 15,
                failed: 2,
                ignored: 1
            }
        );
    }
}
