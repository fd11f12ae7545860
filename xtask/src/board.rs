//! Boards: firmware packages under `boards/<name>/`, each with its own `.cargo/config.toml`
//! (build target + QEMU runner), `memory.x` and `src/main.rs`. By convention the firmware
//! binary is named like its folder.
//!
//! `build` compiles a board's firmware (release profile) with the toolchain
//! [`CrossCargo::pick`] finds; `run` boots it under the runner from the board's config with a
//! timeout, streams its output and returns QEMU's exit code (semihosting carries the
//! firmware's own).
//!
//! Self-contained apart from `crate::util` and `crate::toolchain`, so `tests/board_qemu.rs`
//! includes these files by path and runs exactly this logic.

use std::{
    fs,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use crate::toolchain::CrossCargo;
use crate::util::{cross_target_dir, describe, err, require, run as run_cmd, Result};

/// How long a board may run before it is stopped.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A firmware package under `boards/`.
#[derive(Debug, Clone)]
pub struct Board {
    /// The folder name, also the firmware binary's name.
    pub name: String,
    pub dir: PathBuf,
    /// `[build] target` from the board's `.cargo/config.toml`.
    pub target: String,
    /// `runner` from the board's `.cargo/config.toml`, split on whitespace; the ELF is appended.
    pub runner: Vec<String>,
}

/// The names of all boards (folders of `boards/` with a `Cargo.toml`), sorted.
pub fn list(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("boards");
    let entries =
        fs::read_dir(&dir).map_err(|e| err(format!("cannot read {}: {e}", dir.display())))?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

impl Board {
    /// Reads `boards/<name>/.cargo/config.toml`.
    pub fn find(root: &Path, name: &str) -> Result<Board> {
        let dir = root.join("boards").join(name);
        if !dir.join("Cargo.toml").is_file() {
            let known = list(root).unwrap_or_default().join(", ");
            return Err(err(format!(
                "no board `{name}` (no {}/Cargo.toml); boards: {known}",
                dir.display()
            )));
        }
        let config_path = dir.join(".cargo/config.toml");
        let config = fs::read_to_string(&config_path)
            .map_err(|e| err(format!("cannot read {}: {e}", config_path.display())))?;
        let missing = |key: &str| {
            err(format!(
                "{} has no `{key} = \"…\"` line",
                config_path.display()
            ))
        };
        let target = config_value(&config, "build", "target").ok_or_else(|| missing("target"))?;
        let runner = config_value(&config, &format!("target.{target}"), "runner")
            .ok_or_else(|| missing("runner"))?;
        Ok(Board {
            name: name.into(),
            dir,
            target,
            runner: runner.split_whitespace().map(String::from).collect(),
        })
    }

    /// Builds the firmware (release profile) and returns the ELF's path. `plan`: a plan file
    /// to embed (passed to the board's build.rs as `EDGECNN_PLAN`); `None`: the board's own
    /// `assets/model.plan`, if any.
    ///
    /// `RUSTFLAGS` and `CARGO_ENCODED_RUSTFLAGS` are cleared for this build: either would
    /// replace the board's own rustflags (its linker script).
    pub fn build(&self, root: &Path, plan: Option<&Path>) -> Result<PathBuf> {
        let cargo = CrossCargo::pick(&self.target)?;
        println!("toolchain: {}", cargo.describe());
        let target_dir = cross_target_dir(root);
        let mut cmd = cargo.command("build");
        cmd.current_dir(&self.dir)
            .arg("--release")
            .arg("--target-dir")
            .arg(&target_dir)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        match plan {
            Some(plan) => {
                let plan = plan
                    .canonicalize()
                    .map_err(|e| err(format!("plan {}: {e}", plan.display())))?;
                cmd.env("EDGECNN_PLAN", plan);
            }
            None => {
                cmd.env_remove("EDGECNN_PLAN");
            }
        }
        run_cmd(&mut cmd)?;
        let elf = target_dir
            .join(&self.target)
            .join("release")
            .join(&self.name);
        if !elf.is_file() {
            return Err(err(format!(
                "the build succeeded but {} is missing: the board's binary must be named like \
                 its folder",
                elf.display()
            )));
        }
        Ok(elf)
    }

    /// `true` when the runner is QEMU (system or user mode), so the board runs here;
    /// `false` for real hardware (`probe-rs run …`), which CI only builds.
    pub fn is_emulated(&self) -> bool {
        self.runner.first().is_some_and(|p| p.contains("qemu-"))
    }

    /// Boots `elf` under the board's runner, printing its output as it comes. Stops it after
    /// `timeout`. Returns what it printed and its exit code.
    pub fn run(&self, elf: &Path, timeout: Duration) -> Result<RunOutcome> {
        let (program, args) = self
            .runner
            .split_first()
            .ok_or_else(|| err(format!("board {}: the runner is empty", self.name)))?;
        if !self.is_emulated() {
            return Err(err(format!(
                "board {} is real hardware (runner `{}`): connect it and run `cargo run \
                 --release` in {} (see its README.md); here it can only be built",
                self.name,
                self.runner.join(" "),
                self.dir.display()
            )));
        }
        let package = if program.contains("qemu-system") {
            "qemu-system-arm"
        } else if program.contains("qemu-") {
            "qemu-user-static"
        } else {
            program
        };
        require(program, package)?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .arg(elf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        println!("$ {}  (timeout {} s)", describe(&cmd), timeout.as_secs());
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| err(format!("cannot start {program}: {e}")))?;
        let captured = Arc::new(Mutex::new(String::new()));
        let reader = {
            let stdout = child.stdout.take().expect("stdout is piped");
            let captured = Arc::clone(&captured);
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                    println!("{line}");
                    let mut c = captured.lock().unwrap_or_else(|p| p.into_inner());
                    c.push_str(&line);
                    c.push('\n');
                }
            })
        };
        let status = loop {
            if let Some(status) = child
                .try_wait()
                .map_err(|e| err(format!("waiting for {program}: {e}")))?
            {
                break status;
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                let _ = reader.join();
                return Err(err(format!(
                    "board {} did not finish within {} s; stopped {program}",
                    self.name,
                    timeout.as_secs()
                )));
            }
            thread::sleep(Duration::from_millis(20));
        };
        let _ = reader.join();
        let output = captured.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Ok(RunOutcome {
            code: status.code(),
            output,
            elapsed: start.elapsed(),
        })
    }
}

/// What a board run printed and how it ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The runner's exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Everything the firmware printed on stdout.
    pub output: String,
    pub elapsed: Duration,
}

impl RunOutcome {
    /// The line every board prints when all its checks passed.
    pub fn ok_line(board: &str) -> String {
        format!("edgecnn {board}: OK")
    }

    /// Exit code 0 and the OK line printed.
    pub fn passed(&self, board: &str) -> bool {
        self.code == Some(0)
            && self
                .output
                .lines()
                .any(|l| l.trim() == Self::ok_line(board))
    }
}

/// The string value of `key` in `[section]` of a small TOML file such as a board's
/// `.cargo/config.toml` (`key = "value"` on one line, `#` comments). Enough for our own files;
/// not a TOML parser.
pub(crate) fn config_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().trim_matches('"').to_string();
            continue;
        }
        if current != section {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.trim() == key {
            let v = v.trim().strip_prefix('"')?;
            return v.split_once('"').map(|(value, _)| value.to_string());
        }
    }
    None
}
