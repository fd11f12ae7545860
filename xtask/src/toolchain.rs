//! Picks how to build for a cross target, so the same commands work for a user with
//! `rustup target add …` and on a machine that has only Debian's rustc:
//!
//! 1. **Installed**: the active toolchain (usually rustup's stable) has the target's prebuilt
//!    `core` (what `rustup target add` installs): plain `cargo build --target …`.
//! 2. **Build-std**: a toolchain with the Rust library source (`rustup toolchain link debian
//!    /usr` over Debian's rustc-web + rust-web-src, made by `cargo xtask setup`; or a nightly
//!    with rust-src): `rustup run debian cargo build -Zbuild-std=core --target …` with
//!    `RUSTC_BOOTSTRAP=1`. Thumb targets build only `core`, which itself proves the code
//!    needs no `std`.
//!
//! Self-contained apart from `crate::util`, so host tests can include it by path.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::util::{err, output, which, Result};

/// Toolchains tried, in order, for a `-Zbuild-std` build.
const BUILD_STD_TOOLCHAINS: &[&str] = &["debian", "nightly"];

/// The library crates a `-Zbuild-std` build of `target` compiles.
pub fn build_std_crates(target: &str) -> &'static str {
    if is_bare_metal(target) {
        "core"
    } else {
        "std,panic_abort"
    }
}

/// `true` for `thumbv7em-none-eabihf` and friends: no operating system, no `std`.
pub fn is_bare_metal(target: &str) -> bool {
    target.contains("-none")
}

/// How cargo is invoked for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// The active toolchain has the target installed.
    Installed,
    /// Build the library from source with the given rustup toolchain (`None`: no rustup, the
    /// plain `cargo` has the source).
    BuildStd {
        toolchain: Option<String>,
        /// The toolchain has no `rust-lld`: link bare-metal targets with the system `ld.lld`.
        system_lld: bool,
    },
}

/// A cargo able to build for one target.
#[derive(Debug, Clone)]
pub struct CrossCargo {
    pub target: String,
    pub how: How,
}

impl CrossCargo {
    /// Finds a way to build for `target`, or says how to get one.
    /// `EDGECNN_TOOLCHAIN=installed|build-std` forces the choice (to test both paths).
    pub fn pick(target: &str) -> Result<Self> {
        let forced = std::env::var("EDGECNN_TOOLCHAIN").ok();
        if forced.as_deref() != Some("build-std") && target_installed(None, target) {
            return Ok(Self {
                target: target.into(),
                how: How::Installed,
            });
        }
        if forced.as_deref() == Some("installed") {
            return Err(err(format!(
                "EDGECNN_TOOLCHAIN=installed, but the active toolchain has no `{target}`: \
                 run `rustup target add {target}`"
            )));
        }
        let rustup = which("rustup").is_some();
        let candidates: Vec<Option<&str>> = if rustup {
            BUILD_STD_TOOLCHAINS.iter().map(|t| Some(*t)).collect()
        } else {
            vec![None]
        };
        for toolchain in candidates {
            if let Some(sysroot) = sysroot(toolchain) {
                if sysroot.join("lib/rustlib/src/rust/library/core").is_dir() {
                    let host_bin = host_target(toolchain)
                        .map(|h| sysroot.join("lib/rustlib").join(h).join("bin/rust-lld"));
                    let system_lld = !host_bin.is_some_and(|p| p.is_file());
                    return Ok(Self {
                        target: target.into(),
                        how: How::BuildStd {
                            toolchain: toolchain.map(String::from),
                            system_lld,
                        },
                    });
                }
            }
        }
        Err(err(format!(
            "no Rust toolchain here can build for `{target}`. Either run \
             `rustup target add {target}` (needs network access to static.rust-lang.org), or \
             run `cargo xtask setup`, which installs Debian's rustc-web + rust-web-src and \
             links them as the rustup toolchain `debian` (built with -Zbuild-std)"
        )))
    }

    /// `cargo [+toolchain] <subcommand> --target T [-Zbuild-std=…]`, with the environment set
    /// for this way of building. Add the rest of the arguments and a working directory.
    pub fn command(&self, subcommand: &str) -> Command {
        let mut cmd = match &self.how {
            // `rustup run` rather than `cargo +toolchain`: it works whichever `cargo` comes
            // first on PATH (Debian's /usr/bin/cargo knows no `+toolchain`).
            How::BuildStd {
                toolchain: Some(t), ..
            } => {
                let mut c = Command::new("rustup");
                c.args(["run", t, "cargo"]);
                c
            }
            _ => Command::new("cargo"),
        };
        // Variables that would pin the toolchain the xtask itself was run with.
        for var in ["RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO_BUILD_TARGET"] {
            cmd.env_remove(var);
        }
        match &self.how {
            How::Installed => {
                cmd.arg(subcommand).args(["--target", &self.target]);
            }
            How::BuildStd { system_lld, .. } => {
                cmd.arg(subcommand)
                    .args(["--target", &self.target])
                    .arg(format!("-Zbuild-std={}", build_std_crates(&self.target)))
                    .env("RUSTC_BOOTSTRAP", "1");
                if *system_lld && is_bare_metal(&self.target) {
                    cmd.env(linker_var(&self.target), "ld.lld");
                }
            }
        }
        cmd
    }

    /// One line for the log: which toolchain builds this target and how.
    pub fn describe(&self) -> String {
        match &self.how {
            How::Installed => format!("{}: the active toolchain's installed target", self.target),
            How::BuildStd { toolchain, .. } => format!(
                "{}: toolchain `{}` with -Zbuild-std={}",
                self.target,
                toolchain.as_deref().unwrap_or("default"),
                build_std_crates(&self.target)
            ),
        }
    }
}

/// `CARGO_TARGET_THUMBV7EM_NONE_EABIHF_LINKER` for `thumbv7em-none-eabihf`.
pub fn linker_var(target: &str) -> String {
    format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_uppercase().replace(['-', '.'], "_")
    )
}

/// `rustc` of `toolchain` (through `rustup run`), or of the active toolchain.
pub fn rustc(toolchain: Option<&str>) -> Command {
    let mut cmd = match toolchain {
        Some(t) => {
            let mut c = Command::new("rustup");
            c.args(["run", t, "rustc"]);
            c
        }
        None => Command::new("rustc"),
    };
    cmd.env_remove("RUSTUP_TOOLCHAIN").env_remove("RUSTC");
    cmd
}

/// `true` when `toolchain` (default: the active one) has the prebuilt library for `target`.
pub fn target_installed(toolchain: Option<&str>, target: &str) -> bool {
    let Ok(libdir) =
        output(rustc(toolchain).args(["--print", "target-libdir", "--target", target]))
    else {
        return false;
    };
    let libdir = PathBuf::from(libdir.trim());
    has_libcore(&libdir)
}

fn has_libcore(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("libcore-") && name.ends_with(".rlib")
        })
    })
}

/// The toolchain's sysroot, or `None` when the toolchain does not exist.
pub fn sysroot(toolchain: Option<&str>) -> Option<PathBuf> {
    let out = output(rustc(toolchain).args(["--print", "sysroot"])).ok()?;
    Some(PathBuf::from(out.trim()))
}

/// The toolchain's host triple (`x86_64-unknown-linux-gnu`).
fn host_target(toolchain: Option<&str>) -> Option<String> {
    let out = output(rustc(toolchain).arg("-vV")).ok()?;
    out.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_string())
}
