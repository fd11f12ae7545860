//! `cargo xtask check-targets`: proves the firmware build of the library stays `no_std` and
//! free of host-only crates.
//!
//! 1. Dependency trees: `cargo tree -e normal,no-proc-macro` of the library without default features (and
//!    with `defmt`), and of every board, must contain no tract-*, image or other host-only
//!    crate.
//! 2. Builds: the library with `--no-default-features` and `--no-default-features --features
//!    defmt` for every target in [`TARGETS`]. With `-Zbuild-std=core` (or an installed
//!    bare-metal target, which has no `std` to link) a thumb build that compiles proves the
//!    code needs no `std`.

use std::{path::Path, process::Command, time::Instant};

use crate::board;
use crate::toolchain::CrossCargo;
use crate::util::{cross_target_dir, describe, err, fmt_duration, host_cargo, output, Result};

/// Cortex-M4F/M7F, Cortex-M0/M0+ (no atomics CAS, no DSP), Cortex-M33/M55, 64-bit Raspberry Pi.
pub const TARGETS: &[&str] = &[
    "thumbv7em-none-eabihf",
    "thumbv6m-none-eabi",
    "thumbv8m.main-none-eabihf",
    "aarch64-unknown-linux-gnu",
];

/// The firmware feature sets of the library.
const FEATURE_SETS: &[&str] = &["", "defmt"];

/// Crates that must never reach a firmware build (the host side's compiler, decoder, CLI).
fn forbidden(krate: &str) -> bool {
    krate.starts_with("tract")
        || matches!(
            krate,
            "image" | "clap" | "indicatif" | "serde_json" | "npyz" | "ndarray" | "thiserror"
        )
}

pub fn run(root: &Path) -> Result<()> {
    let mut failures = Vec::new();

    println!("check-targets 1/2: firmware dependency trees");
    for features in FEATURE_SETS {
        let mut cmd = host_cargo();
        cmd.current_dir(root)
            .args(["tree", "-p", "edgecnn", "--no-default-features"]);
        if !features.is_empty() {
            cmd.args(["--features", features]);
        }
        let label = format!("edgecnn --no-default-features {features}");
        if let Err(e) = check_tree(&mut cmd, &label) {
            failures.push(e.0);
        }
    }
    for name in board::list(root)? {
        let mut cmd = host_cargo();
        cmd.current_dir(root.join("boards").join(&name)).arg("tree");
        if let Err(e) = check_tree(&mut cmd, &format!("board {name}")) {
            failures.push(e.0);
        }
    }

    println!("check-targets 2/2: library builds");
    let target_dir = cross_target_dir(root);
    for target in TARGETS {
        let cargo = match CrossCargo::pick(target) {
            Ok(c) => c,
            Err(e) => {
                failures.push(e.0);
                continue;
            }
        };
        println!("toolchain: {}", cargo.describe());
        for features in FEATURE_SETS {
            let mut cmd = cargo.command("build");
            cmd.current_dir(root)
                .args(["--quiet", "--lib", "-p", "edgecnn", "--no-default-features"])
                .arg("--target-dir")
                .arg(&target_dir);
            if !features.is_empty() {
                cmd.args(["--features", features]);
            }
            let start = Instant::now();
            println!("$ {}", describe(&cmd));
            match cmd.status() {
                Ok(s) if s.success() => println!(
                    "  ok   {target} [{}] in {}",
                    if features.is_empty() {
                        "no features"
                    } else {
                        features
                    },
                    fmt_duration(start.elapsed())
                ),
                Ok(s) => failures.push(format!(
                    "the library does not build for {target} with --no-default-features \
                     {features} ({s}); see the compiler errors above"
                )),
                Err(e) => failures.push(format!("cannot start cargo: {e}")),
            }
        }
    }

    if failures.is_empty() {
        println!(
            "check-targets: OK ({} targets × {} feature sets; no host-only crates)",
            TARGETS.len(),
            FEATURE_SETS.len()
        );
        Ok(())
    } else {
        Err(err(format!(
            "check-targets failed:\n  - {}",
            failures.join("\n  - ")
        )))
    }
}

/// Runs `cargo tree` (normal dependencies except proc-macros, every platform) and fails if it lists a forbidden
/// crate.
fn check_tree(cmd: &mut Command, label: &str) -> Result<()> {
    // Proc-macro crates (and what they use) run on the host at compile time: not firmware.
    cmd.args([
        "-e",
        "normal,no-proc-macro",
        "--target",
        "all",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    let tree = output(cmd)?;
    let mut crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    crates.sort();
    crates.dedup();
    let bad: Vec<&str> = crates.iter().copied().filter(|c| forbidden(c)).collect();
    if bad.is_empty() {
        println!("  ok   {label}: {}", crates.join(" "));
        Ok(())
    } else {
        Err(err(format!(
            "{label} depends on host-only crates: {} (`{}`); keep them behind the \
             compiler/image/cli features",
            bad.join(" "),
            describe(cmd)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::forbidden;

    #[test]
    fn host_only_crates_are_forbidden() {
        assert!(forbidden("tract-onnx"));
        assert!(forbidden("image"));
        assert!(!forbidden("heapless"));
        assert!(!forbidden("defmt"));
    }
}
