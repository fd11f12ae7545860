//! Malformed inputs: each gives one clear line `edgecnn: <file>: <problem>` and a non-zero
//! exit, never a panic. The files are in tests/data/bad (regenerate: `python3 make_bad.py`).
#![cfg(feature = "cli")]

#[path = "cli_support/mod.rs"]
mod support;

use support::{edgecnn, scratch, write_tiny_plan};

const BAD: &str = "tests/data/bad";

fn compile(model: &str, calibration: &str) -> support::Run {
    let dir = scratch(&format!(
        "cli_errors_compile_{}",
        model.replace(['/', '.'], "_")
    ));
    let out = dir.join("out.plan");
    edgecnn(&[
        "compile",
        model,
        "--calibration",
        calibration,
        "-o",
        out.to_str().unwrap(),
    ])
}

#[test]
fn missing_model_path() {
    compile("no/such/model.onnx", BAD).fails_with("no/such/model.onnx", "no such file");
}

#[test]
fn non_onnx_model() {
    let m = format!("{BAD}/not_onnx.onnx");
    compile(&m, BAD).fails_with(&m, "cannot load ONNX model");
}

#[test]
fn truncated_onnx_model() {
    let m = format!("{BAD}/truncated.onnx");
    compile(&m, BAD).fails_with(&m, "cannot load ONNX model");
}

#[test]
fn wrong_input_shape_syntax() {
    let r = edgecnn(&[
        "compile",
        "model.onnx",
        "--calibration",
        BAD,
        "-o",
        "x.plan",
        "--input-shape",
        "1x3x224x224",
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.starts_with("edgecnn: "), "{}", r.stderr);
    assert!(r.stderr.contains("--input-shape"), "{}", r.stderr);
}

fn classify(image: &str) -> support::Run {
    let dir = scratch(&format!("cli_errors_{}", image.replace(['/', '.'], "_")));
    let plan = write_tiny_plan(&dir);
    edgecnn(&["classify", plan.to_str().unwrap(), image])
}

#[test]
fn image_that_is_not_an_image() {
    let f = format!("{BAD}/not_image.png");
    classify(&f).fails_with(&f, "not a PNG or JPEG");
}

#[test]
fn truncated_image() {
    let f = format!("{BAD}/truncated.png");
    classify(&f).fails_with(&f, "cannot decode");
}

#[test]
fn empty_image() {
    let f = format!("{BAD}/empty.png");
    classify(&f).fails_with(&f, "");
}

#[test]
fn huge_image_header() {
    let f = format!("{BAD}/huge.png");
    classify(&f).fails_with(&f, "100000x100000");
}

#[test]
fn missing_image() {
    classify("no/such.png").fails_with("no/such.png", "no such file");
}

#[test]
fn garbage_plan() {
    let f = format!("{BAD}/garbage.plan");
    edgecnn(&["inspect", &f]).fails_with(&f, "invalid plan");
}

#[test]
fn plan_with_one_flipped_byte() {
    let dir = scratch("cli_errors_flipped");
    let good = write_tiny_plan(&dir);
    let mut blob = std::fs::read(&good).unwrap();
    // Flip one bit in every region in turn: header, tables, data, tail.
    for at in [0, 9, 20, 100, blob.len() / 2, blob.len() - 20] {
        blob[at] ^= 0x10;
        let bad = dir.join(format!("flipped_{at}.plan"));
        std::fs::write(&bad, &blob).unwrap();
        blob[at] ^= 0x10;
        let f = bad.to_str().unwrap();
        edgecnn(&["inspect", f]).fails_with(f, "invalid plan");
        edgecnn(&["classify", f, "x.png"]).fails_with(f, "invalid plan");
    }
}

#[test]
fn malformed_labels_file() {
    let dir = scratch("cli_errors_labels");
    let plan = write_tiny_plan(&dir);
    let f = format!("{BAD}/bad_labels.txt");
    edgecnn(&[
        "eval",
        plan.to_str().unwrap(),
        "--inputs",
        BAD,
        "--labels",
        &f,
    ])
    .fails_with(&f, "line 2");
}

#[test]
fn malformed_npy_inputs() {
    let dir = scratch("cli_errors_npy");
    let plan = write_tiny_plan(&dir);
    let x = dir.join("x.npy");
    std::fs::write(&x, b"\x93NUMPY not really").unwrap();
    let y = dir.join("y.npy");
    support::write_npy(&y, "<i8", &[1], &0i64.to_le_bytes());
    let f = x.to_str().unwrap();
    edgecnn(&[
        "eval",
        plan.to_str().unwrap(),
        "--inputs",
        f,
        "--labels",
        y.to_str().unwrap(),
    ])
    .fails_with(f, "not a .npy");
}

/// A reader that stops early (`edgecnn classify … | head -1`) ends the tool quietly: no
/// "internal error" line, the shell's SIGPIPE status. The output (1000 images) is larger than
/// a pipe's buffer, so the tool is still writing when the reader goes.
#[test]
fn closed_stdout_is_not_an_internal_error() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let image = "models/data/fashion-test/0000.png";
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgecnn"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["classify", "tests/data/golden/micro_resnet8/model.plan"])
        .args(std::iter::repeat_n(image, 1000))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start edgecnn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut first)
        .expect("one line");
    assert!(first.contains("0000.png"), "first line: {first}");
    // The reader (and the pipe's read end) is gone here.
    let out = child.wait_with_output().expect("wait for edgecnn");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("internal error"), "stderr: {stderr}");
    assert_eq!(out.status.code(), Some(141), "stderr: {stderr}");
}
