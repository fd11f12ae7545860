//! Arbitrary bytes as an ONNX file through the compiler's import (tract): an error or a
//! graph, never a panic. Slow (tract); optional.
#![no_main]
use std::io::Write;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quiet_for_caught_tract_panics();
    let mut f = tempfile_path();
    let path = f.1.clone();
    if f.0.write_all(data).is_err() {
        return;
    }
    drop(f);
    let _ = edgecnn::compiler::float_graph(&path, Some(&[1, 3, 8, 8]));
    let _ = std::fs::remove_file(&path);
});

/// libfuzzer-sys's panic hook aborts on every panic, even one the compiler catches (a tract
/// bug it turns into `CompileError::Load`). Wrap it once: a caught tract panic is an error
/// the user sees, which is this target's contract; every other panic still aborts.
fn quiet_for_caught_tract_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !edgecnn::compiler::in_guarded_call() {
                abort(info);
            }
        }));
    });
}

fn tempfile_path() -> (std::fs::File, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("edgecnn-fuzz-{}.onnx", std::process::id()));
    (std::fs::File::create(&path).expect("temp file"), path)
}
