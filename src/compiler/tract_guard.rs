//! A panic inside tract becomes a [`CompileError`]. Such a panic is a tract bug, and a
//! hostile file can reach it: the onnx fuzz target found an out-of-range constant `Gather`
//! index that tract's constant folding indexes with (`gather.rs:75`). The host tool promises
//! an error naming the file, never a panic, so every call into tract that reads or evaluates
//! the user's model runs inside [`guarded`].

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use super::CompileError;

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside `guarded`. A panic hook can stay quiet then: the panic
/// is about to become a [`CompileError`]. The `edgecnn` CLI's hook and the fuzz targets use
/// this, so a caught tract panic prints nothing of its own.
pub fn in_guarded_call() -> bool {
    GUARDED.with(Cell::get)
}

/// The message of a panic payload (`panic!("…")` gives a `&str` or a `String`), if it has one.
pub fn panic_message(payload: &(dyn Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

/// Runs `f` (tract work on `path`, described by `stage`) and turns a panic into
/// [`CompileError::Load`] with the panic's message. Needs `panic = "unwind"` (the default):
/// with `panic = "abort"` nothing can be caught.
pub(crate) fn guarded<T>(
    path: &Path,
    stage: &str,
    f: impl FnOnce() -> Result<T, CompileError>,
) -> Result<T, CompileError> {
    let outer = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    result.unwrap_or_else(|payload| {
        let what = panic_message(&*payload).unwrap_or_else(|| "(no message)".into());
        Err(CompileError::Load {
            path: path.to_path_buf(),
            message: format!(
                "tract hit an internal error while {stage}: {} (the model is malformed; tract should \
                 have reported it)",
                what.lines().next().unwrap_or("")
            ),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_load_error_and_the_flag_is_restored() {
        let path = Path::new("m.onnx");
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r: Result<(), _> = guarded(path, "typing", || panic!("index out of bounds"));
        std::panic::set_hook(hook);
        let e = r.expect_err("the panic is an error").to_string();
        assert!(
            e.starts_with(
                "m.onnx: cannot load ONNX model: tract hit an internal error while typing: index out of bounds"
            ),
            "{e}"
        );
        assert!(!in_guarded_call());
        assert_eq!(guarded(path, "typing", || Ok(7)).unwrap(), 7);
    }
}
