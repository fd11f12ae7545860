//! The full-size torchvision exports the parity tests (`tests/compiler_full.rs`) compile.
//!
//! They are 25–530 MB each, so they are not committed: `models/build.py full` makes them
//! into the git-ignored `models/cache/`. `cargo xtask test` starts the export of the missing
//! ones in the background while cargo builds, and waits for it before the tests run.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use crate::setup::PYTHON;
use crate::util::{err, Result};

/// The exports `tests/compiler_full.rs` needs (the five; vgg16 only for the memory table).
pub const TESTED: &[&str] = &["alexnet", "vgg11", "googlenet", "resnet18", "resnet50"];

/// Where `models/build.py full` writes.
pub fn cache(root: &Path) -> PathBuf {
    root.join("models/cache")
}

/// The tested exports whose `.onnx` file is not in the cache yet, or is older than
/// `models/build.py` (an export made by an earlier script is stale: it is made again).
pub fn missing(root: &Path) -> Vec<&'static str> {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let script = modified(&root.join("models/build.py"));
    TESTED
        .iter()
        .copied()
        .filter(|m| match modified(&cache(root).join(format!("{m}.onnx"))) {
            None => true,
            Some(made) => script.is_some_and(|s| s > made),
        })
        .collect()
}

/// A running export, with the log it writes to.
pub struct Export {
    child: Child,
    log: PathBuf,
}

/// Starts `models/build.py full <missing…>` in the background (None when nothing is missing).
pub fn spawn_missing(root: &Path) -> Result<Option<Export>> {
    let names = missing(root);
    if names.is_empty() {
        println!(
            "full-size exports: all {} present in models/cache",
            TESTED.len()
        );
        return Ok(None);
    }
    std::fs::create_dir_all(cache(root))
        .map_err(|e| err(format!("cannot create {}: {e}", cache(root).display())))?;
    let log = cache(root).join("export.log");
    let out = File::create(&log).map_err(|e| err(format!("{}: {e}", log.display())))?;
    let errs = out
        .try_clone()
        .map_err(|e| err(format!("{}: {e}", log.display())))?;
    println!(
        "full-size exports: starting `{PYTHON} models/build.py full {}` in the background (log: {})",
        names.join(" "),
        log.display()
    );
    let child = Command::new(PYTHON)
        .current_dir(root)
        .arg("models/build.py")
        .arg("full")
        .args(&names)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(errs)
        .spawn()
        .map_err(|e| {
            err(format!(
                "cannot start {PYTHON} models/build.py full: {e} (run `cargo xtask setup`)"
            ))
        })?;
    Ok(Some(Export { child, log }))
}

impl Export {
    /// Waits for the export; on failure the error carries the end of its log.
    pub fn wait(mut self) -> Result<()> {
        let status = self
            .child
            .wait()
            .map_err(|e| err(format!("waiting for the full-size export: {e}")))?;
        if status.success() {
            println!("full-size exports: done");
            return Ok(());
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(err(format!(
            "models/build.py full failed ({status}); last lines of {}:\n{}",
            self.log.display(),
            tail.join("\n")
        )))
    }
}
