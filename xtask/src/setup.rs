//! `cargo xtask setup [--models]`: installs what the tests (and, with `--models`, the model
//! builder) need, skipping whatever is already there. Idempotent: a second run only checks.
//!
//! 1. Debian packages (`apt-get update` once, then `apt-get install` of the missing ones).
//! 2. When rustup lacks any cross target of `check-targets`, links Debian's rustc as the
//!    rustup toolchain `debian` (`rustup toolchain link debian /usr`), so cross builds use
//!    `-Zbuild-std` from its library source (see `toolchain.rs`).
//! 3. With `--models`: `pip install -r models/requirements.txt` into `/usr/bin/python3`.

use std::{path::Path, process::Command};

use crate::targets::TARGETS;
use crate::toolchain::{rustc, target_installed};
use crate::util::{err, output, run, which, Result};

/// Cross toolchain, linker, binutils (`size`, which the board build test checks the ELF
/// reader against), QEMU (system + user mode), aarch64 cross gcc and libc, and
/// Debian's CPU PyTorch, which the tests use to export the full-size torchvision models
/// (`models/build.py full`) that the full-size parity tests compile.
pub const BASE_PACKAGES: &[&str] = &[
    "python3-torch",
    "python3-torchvision",
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "lld",
    "binutils",
    "qemu-system-arm",
    "qemu-user-static",
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
];

/// What `models/build.py` needs beyond the base: Fashion-MNIST as data, pip for the extras.
pub const MODEL_PACKAGES: &[&str] = &["dataset-fashion-mnist", "python3-pip"];

/// The Python that runs `models/build.py` (Debian's, where python3-torch lives).
pub const PYTHON: &str = "/usr/bin/python3";

/// The name of the rustup toolchain that points at Debian's rustc.
const DEBIAN_TOOLCHAIN: &str = "debian";

pub fn run_setup(root: &Path, models: bool) -> Result<()> {
    let mut packages: Vec<&str> = BASE_PACKAGES.to_vec();
    if models {
        packages.extend_from_slice(MODEL_PACKAGES);
    }
    println!("setup 1/3: Debian packages: {}", packages.join(" "));
    install_packages(&packages)?;

    println!("setup 2/3: Rust toolchain for the cross targets");
    link_debian_toolchain()?;

    if models {
        println!("setup 3/3: Python packages for models/build.py");
        pip_install(root, None)?;
    } else {
        println!("setup 3/3: Python packages: skipped (add --models to build models)");
    }
    println!("setup: done");
    Ok(())
}

/// Installs the packages that `dpkg` does not list as installed.
fn install_packages(packages: &[&str]) -> Result<()> {
    if which("dpkg-query").is_none() || which("apt-get").is_none() {
        return Err(err(format!(
            "this is not a Debian/Ubuntu system (no dpkg-query/apt-get). Install the \
             equivalents of these Debian packages by hand: {}",
            packages.join(" ")
        )));
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !package_installed(p))
        .collect();
    if missing.is_empty() {
        println!("  all {} packages are installed", packages.len());
        return Ok(());
    }
    println!("  missing: {}", missing.join(" "));
    let is_root = output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| -> Result<()> {
        let mut cmd = if is_root {
            Command::new("apt-get")
        } else if which("sudo").is_some() {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        } else {
            return Err(err(format!(
                "installing packages needs root: run `apt-get update && apt-get install -y {}` \
                 as root, then `cargo xtask setup` again",
                missing.join(" ")
            )));
        };
        // Wait for another apt (e.g. unattended upgrades) instead of failing on its lock.
        cmd.args(["-o", "DPkg::Lock::Timeout=600"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend_from_slice(&missing);
    apt(&install)?;
    let still: Vec<&str> = missing
        .iter()
        .copied()
        .filter(|p| !package_installed(p))
        .collect();
    if !still.is_empty() {
        return Err(err(format!(
            "apt-get finished but these packages are still not installed: {}",
            still.join(" ")
        )));
    }
    Ok(())
}

fn package_installed(package: &str) -> bool {
    output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_ok_and(|status| status.trim() == "install ok installed")
}

/// Links `/usr` (Debian's rustc) as the rustup toolchain `debian` when some cross target is
/// not installed in the active toolchain and no such link exists yet.
fn link_debian_toolchain() -> Result<()> {
    let missing: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| !target_installed(None, t))
        .collect();
    if missing.is_empty() {
        println!("  the active toolchain has every cross target; nothing to link");
        return Ok(());
    }
    println!(
        "  not installed in the active toolchain: {} (built with -Zbuild-std instead)",
        missing.join(" ")
    );
    if which("rustup").is_none() {
        println!("  no rustup: cross builds use the plain `cargo` with -Zbuild-std");
        return Ok(());
    }
    let toolchains = output(Command::new("rustup").args(["toolchain", "list"]))?;
    if toolchains
        .lines()
        .any(|l| l.split_whitespace().next() == Some(DEBIAN_TOOLCHAIN))
    {
        println!("  rustup toolchain `{DEBIAN_TOOLCHAIN}` is already linked");
    } else {
        run(Command::new("rustup").args(["toolchain", "link", DEBIAN_TOOLCHAIN, "/usr"]))?;
    }
    let version = output(rustc(Some(DEBIAN_TOOLCHAIN)).arg("-V"))?;
    if !Path::new("/usr/lib/rustlib/src/rust/library/core").is_dir() {
        return Err(err(
            "Debian's Rust library source is missing (/usr/lib/rustlib/src/rust/library): \
             install the package rust-web-src",
        ));
    }
    println!("  `{DEBIAN_TOOLCHAIN}` = {}", version.trim());
    Ok(())
}

/// `pip install -r models/requirements.txt` with Debian's Python: into the system's
/// packages, or with `into` into that folder (for `PYTHONPATH`, leaving the system alone).
pub fn pip_install(root: &Path, into: Option<&Path>) -> Result<()> {
    let requirements = root.join("models/requirements.txt");
    if !requirements.is_file() {
        println!(
            "  {} does not exist: nothing to install",
            requirements.display()
        );
        return Ok(());
    }
    let mut pip = Command::new(PYTHON);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--root-user-action=ignore",
    ]);
    match into {
        Some(dir) => pip.arg("--target").arg(dir),
        None => pip.arg("--break-system-packages"),
    };
    run(pip.arg("-r").arg(&requirements))
}
