//! Bad inputs give the right `CompileError`, never a panic.
#![cfg(feature = "compiler")]

mod compiler_support;

use std::path::Path;

use compiler_support::*;
use edgecnn::compiler::{compile, CalibrationMethod, CompileError, CompileOptions, FloatModel};

fn options(shape: Option<Vec<usize>>) -> CompileOptions {
    CompileOptions {
        input_shape: shape,
        method: CalibrationMethod::DEFAULT,
        preprocess: None,
        labels: vec![],
    }
}

fn compile_file(path: &Path, shape: Option<Vec<usize>>, n: usize) -> Result<(), CompileError> {
    let calib = vec![normal(1, n)];
    compile(path, &calib, &options(shape), &mut |_, _| {}).map(|_| ())
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("edgecnn-compiler-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn missing_file_is_io() {
    let e = compile_file(Path::new("/nonexistent/model.onnx"), None, 1).unwrap_err();
    assert!(matches!(e, CompileError::Io { .. }), "{e}");
}

#[test]
fn truncated_onnx_is_load() {
    let bytes = std::fs::read(onnx("residual")).unwrap();
    let p = temp_file("truncated.onnx", &bytes[..bytes.len() / 2]);
    let e = compile_file(&p, None, 256).unwrap_err();
    assert!(matches!(e, CompileError::Load { .. }), "{e}");
    assert!(e.to_string().contains("truncated.onnx"), "{e}");
}

#[test]
fn non_onnx_bytes_are_load() {
    let p = temp_file(
        "garbage.onnx",
        b"\x89PNG\r\n\x1a\n this is not a protobuf at all \xff\xff\xff",
    );
    let e = compile_file(&p, None, 1).unwrap_err();
    assert!(matches!(e, CompileError::Load { .. }), "{e}");
    let e = FloatModel::load(&p, None).err().unwrap();
    assert!(matches!(e, CompileError::Load { .. }), "{e}");
}

#[test]
fn unsupported_op_names_node_op_and_file() {
    let e = compile_file(&onnx("unsupported"), None, 64).unwrap_err();
    match &e {
        CompileError::Unsupported { path, node, op, .. } => {
            assert!(path.ends_with("unsupported.onnx"));
            assert!(node.contains("Sigmoid"), "{e}");
            assert!(!op.is_empty());
        }
        _ => panic!("wrong error {e}"),
    }
}

#[test]
fn dynamic_input_needs_a_shape() {
    let e = compile_file(&onnx("dynamic"), None, 256).unwrap_err();
    assert!(matches!(e, CompileError::DynamicInput { .. }), "{e}");
    let e = FloatModel::load(&onnx("dynamic"), None).err().unwrap();
    assert!(matches!(e, CompileError::DynamicInput { .. }), "{e}");
    // with a shape it compiles, at another size than the export's too
    compile_file(&onnx("dynamic"), Some(vec![1, 1, 16, 16]), 256).unwrap();
    compile_file(&onnx("dynamic"), Some(vec![1, 1, 24, 20]), 24 * 20).unwrap();
}

#[test]
fn wrong_calibration_size_is_calibration_error() {
    let e = compile_file(&onnx("residual"), None, 10).unwrap_err();
    assert!(matches!(e, CompileError::Calibration(_)), "{e}");
    let e = compile(&onnx("residual"), &[], &options(None), &mut |_, _| {}).unwrap_err();
    assert!(matches!(e, CompileError::Calibration(_)), "{e}");
}

#[test]
fn wrong_rank_shape_is_an_error() {
    let e = compile_file(&onnx("residual"), Some(vec![1, 16, 16]), 256).unwrap_err();
    assert!(!matches!(e, CompileError::Unsupported { .. }), "{e}");
}

#[test]
fn op_tract_does_not_know_is_unsupported() {
    let e = compile_file(&onnx("unknown_op"), None, 64).unwrap_err();
    match &e {
        CompileError::Unsupported { node, op, .. } => {
            assert_eq!(node, "fancy", "{e}");
            assert!(op.contains("FancyNorm"), "{e}");
        }
        _ => panic!("wrong error {e}"),
    }
}

#[test]
fn torch_lrn_export_is_a_clean_error() {
    // torch's LocalResponseNorm export carries an `If` node: reported, not panicking.
    let e = compile_file(&onnx("torch_lrn"), None, 64).unwrap_err();
    match &e {
        CompileError::Unsupported { op, why, .. } => {
            assert_eq!(op, "If");
            assert!(why.contains("LRN"), "{e}");
        }
        _ => panic!("wrong error {e}"),
    }
}
