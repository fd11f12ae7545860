//! Small shared helpers: the error type, running commands loudly, finding programs, timing.
//!
//! Self-contained (std only, no `crate::` paths) so that host tests can include it with
//! `#[path = "../xtask/src/util.rs"]` and share the xtask logic without a dependency.

use std::{
    env, fmt,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

/// What every xtask step returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed step: one message that says what went wrong and, where it can, how to fix it.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Builds an [`Error`] from a message.
pub fn err(msg: impl Into<String>) -> Error {
    Error(msg.into())
}

/// The command as a shell line: `[cd DIR &&] [VAR=value …] program args…`.
pub fn describe(cmd: &Command) -> String {
    let mut s = String::new();
    if let Some(dir) = cmd.get_current_dir() {
        s.push_str(&format!("cd {} && ", dir.display()));
    }
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            s.push_str(&format!(
                "{}={} ",
                k.to_string_lossy(),
                quote(&v.to_string_lossy())
            ));
        }
    }
    s.push_str(&cmd.get_program().to_string_lossy());
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&quote(&a.to_string_lossy()));
    }
    s
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=+:,@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Prints the command, runs it with inherited stdio, and fails unless it exits with 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let line = describe(cmd);
    println!("$ {line}");
    let status = cmd
        .status()
        .map_err(|e| err(format!("cannot start `{line}`: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(err(format!("`{line}` failed ({status})")))
    }
}

/// Runs the command quietly and returns its stdout; fails (with its stderr) unless it exits 0.
pub fn output(cmd: &mut Command) -> Result<String> {
    let line = describe(cmd);
    let Output {
        status,
        stdout,
        stderr,
    } = cmd
        .output()
        .map_err(|e| err(format!("cannot start `{line}`: {e}")))?;
    if status.success() {
        Ok(String::from_utf8_lossy(&stdout).into_owned())
    } else {
        Err(err(format!(
            "`{line}` failed ({status}): {}",
            String::from_utf8_lossy(&stderr).trim()
        )))
    }
}

/// The full path of `program` on `PATH`, if it is there.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Fails with a hint to run `cargo xtask setup` when `program` is not on `PATH`.
pub fn require(program: &str, package: &str) -> Result<PathBuf> {
    which(program).ok_or_else(|| {
        err(format!(
            "`{program}` is not installed (Debian package {package}): run `cargo xtask setup`"
        ))
    })
}

/// A command for a cargo that builds for the host: the cargo running this xtask when known.
pub fn host_cargo() -> Command {
    Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `1.2 s`, `3 min 04 s`.
pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        format!("{} min {:02} s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// The host build's target directory: `$CARGO_TARGET_DIR`, else `<repo>/target`.
pub fn host_target_dir(root: &Path) -> PathBuf {
    // `join` with an absolute path yields that path.
    root.join(env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into()))
}

/// The directory cross and firmware builds use, apart from the host build so that they never
/// wait on its lock: `$EDGECNN_CROSS_TARGET_DIR`, else `$CARGO_TARGET_DIR/cross`, else
/// `<repo>/target/cross`.
pub fn cross_target_dir(root: &Path) -> PathBuf {
    match env::var_os("EDGECNN_CROSS_TARGET_DIR") {
        Some(dir) => root.join(dir), // an absolute `dir` replaces `root`
        None => host_target_dir(root).join("cross"),
    }
}
