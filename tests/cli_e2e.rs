//! End to end through the CLI: compile the bundled micro ResNet-8 on the bundled calibration
//! images, evaluate against the labels and the float model, classify, inspect.
#![cfg(feature = "cli")]

#[path = "cli_support/mod.rs"]
mod support;

use serde_json::Value;
use std::path::Path;
use support::{edgecnn, scratch};

const MODEL: &str = "models/micro_resnet8.onnx";
const CLASSES: &str = "models/data/fashion-classes.txt";

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn micro_resnet8_compile_eval_classify_inspect() {
    let dir = scratch("cli_e2e");
    let plan = dir.join("micro_resnet8.plan");
    let plan = plan.to_str().unwrap();
    let out = edgecnn(&[
        "compile",
        MODEL,
        "--calibration",
        "models/data/fashion-calib",
        "--labels",
        CLASSES,
        "--channels",
        "1",
        "--scale",
        "0.00392156862745098",
        "--mean",
        "0.2860",
        "--std",
        "0.3530",
        "-o",
        plan,
    ]);
    let summary = out.ok();
    assert!(
        summary.contains("steps") && summary.contains("arena"),
        "{summary}"
    );

    let v = json(
        edgecnn(&[
            "eval",
            plan,
            "--inputs",
            "models/data/fashion-test",
            "--labels",
            "models/data/fashion-test/labels.txt",
            "--reference",
            MODEL,
            "--json",
        ])
        .ok(),
    );
    let n = v["n"].as_u64().unwrap();
    let int8 = v["int8_top1"].as_f64().unwrap();
    let float = v["float_top1"].as_f64().unwrap();
    let agreement = v["agreement"].as_f64().unwrap();
    assert!(n >= 300, "{v}");
    // models/micro/ACCURACY.json: 0.9067 on the bundled 300 with onnxruntime.
    assert!((float - 0.9067).abs() < 0.005, "float top-1 {float}: {v}");
    assert!(
        (int8 - float).abs() <= 0.02,
        "int8 {int8} vs float {float}: {v}"
    );
    assert!(agreement >= 0.95, "agreement {agreement}: {v}");

    // A test image (label 1, Trouser) and a large RGB photo (converted and resized).
    let v = json(
        edgecnn(&[
            "classify",
            plan,
            "models/data/fashion-test/0000.png",
            "models/data/photos/astronaut.png",
            "--top",
            "3",
            "--json",
        ])
        .ok(),
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["top"][0]["label"], "Trouser", "{v}");
    assert_eq!(results[1]["top"].as_array().unwrap().len(), 3);

    let v = json(edgecnn(&["inspect", plan, "--json"]).ok());
    let macs = v["macs"].as_u64().unwrap();
    // Conv + FC MACs of the model (ACCURACY.json: 9345920); pools and adds may add a little.
    assert!((9_000_000..10_500_000).contains(&macs), "macs {macs}");
    assert!(v["weights_bytes"].as_u64().unwrap() >= 77_000);
    assert!(v["arena_bytes"].as_u64().unwrap() > 0);
    let steps = v["steps"].as_array().unwrap();
    assert!(steps.len() >= 10, "{} steps", steps.len());
    assert!(steps
        .iter()
        .all(|s| s["op"].is_string() && s["output"]["shape"].is_array()));
}

#[test]
fn dynamic_input_needs_input_shape() {
    let dir = scratch("cli_e2e_dynamic");
    let plan = dir.join("dynamic.plan");
    let plan = plan.to_str().unwrap();
    let model = "tests/data/onnx/dynamic.onnx";
    let args = |shape: Option<&'static str>| {
        let mut a = vec![
            "compile",
            model,
            "--calibration",
            "models/data/fashion-calib",
            "--limit",
            "8",
            "-o",
            plan,
        ];
        if let Some(s) = shape {
            a.extend(["--input-shape", s]);
        }
        a
    };
    edgecnn(&args(None)).fails_with(model, "--input-shape");
    let out = edgecnn(&args(Some("1,1,28,28")));
    assert!(out.ok().contains("8 calibration inputs"), "{}", out.stdout);
    let v = json(edgecnn(&["inspect", plan, "--json"]).ok());
    assert_eq!(v["input_shape"], serde_json::json!([28, 28, 1]));
}

#[test]
fn unsupported_op_names_the_node() {
    let model = "tests/data/onnx/unsupported.onnx";
    let plan = scratch("cli_e2e_unsupported").join("never.plan");
    let out = edgecnn(&[
        "compile",
        model,
        "--calibration",
        "models/data/fashion-calib",
        "-o",
        plan.to_str().unwrap(),
    ]);
    out.fails_with(model, "unsupported");
}

/// A channels-last model (tf2onnx style: NHWC input behind a Transpose) compiled from real RGB
/// photos with `--layout nhwc --channels 3`: the plan's input is 12×12×3 and it classifies a
/// photo; claiming `--layout nchw` for the same file is refused in one line.
#[test]
fn nhwc_model_with_layout_and_channels_flags() {
    const NHWC: &str = "tests/data/onnx/nhwc.onnx";
    let dir = scratch("cli_e2e_nhwc");
    let plan = dir.join("nhwc.plan");
    let plan = plan.to_str().unwrap();
    let flags = [
        "--calibration",
        "models/data/photos-calib",
        "--channels",
        "3",
        "--scale",
        "0.00392156862745098",
        "--mean",
        "0.5",
        "--std",
        "0.25",
    ];
    let mut args = vec!["compile", NHWC, "--layout", "nhwc"];
    args.extend(flags);
    args.extend(["-o", plan]);
    edgecnn(&args).ok();

    let v = json(edgecnn(&["inspect", plan, "--json"]).ok());
    assert_eq!(v["input_shape"], serde_json::json!([12, 12, 3]), "{v}");
    assert_eq!(v["preprocess"], Value::Bool(true), "{v}");
    let v = json(
        edgecnn(&[
            "classify",
            plan,
            "models/data/photos/chelsea.png",
            "--top",
            "2",
            "--json",
        ])
        .ok(),
    );
    let top = v["results"][0]["top"].as_array().expect("top list");
    assert_eq!(top.len(), 2, "{v}");
    assert!(
        top.iter()
            .all(|c| c["index"].as_u64().is_some_and(|i| i < 6)),
        "{v}"
    );

    let wrong = dir.join("wrong.plan");
    let mut args = vec!["compile", NHWC, "--layout", "nchw"];
    args.extend(flags);
    args.extend(["-o", wrong.to_str().unwrap()]);
    edgecnn(&args).fails_with(NHWC, "channel");
    assert!(!wrong.exists(), "no plan is written on failure");
}

/// Compiles `models/<model>.onnx` on 16 calibration images into `dir/<name>` with `extra`
/// options; the plan's path and its `inspect --json`.
fn compile_micro(dir: &Path, model: &str, name: &str, extra: &[&str]) -> (String, Value) {
    let plan = dir.join(name).to_str().unwrap().to_string();
    let onnx = format!("models/{model}.onnx");
    let mut args = vec![
        "compile",
        &onnx,
        "--calibration",
        "models/data/fashion-calib",
        "--channels",
        "1",
        "--limit",
        "16",
        "-o",
        &plan,
    ];
    args.extend_from_slice(extra);
    edgecnn(&args).ok();
    let v = json(edgecnn(&["inspect", &plan, "--json"]).ok());
    (plan, v)
}

/// `--no-in-place --no-window-overlap --no-streaming` turn the memory optimisations off: the
/// arena is greedy-by-size's, and the classes are the same.
#[test]
fn memory_optimisations_can_be_turned_off() {
    let dir = scratch("cli_e2e_memory");
    let compile = |name: &str, extra: &[&str]| compile_micro(&dir, "micro_alexnet", name, extra);
    let (on, v_on) = compile("on.plan", &[]);
    let (off, v_off) = compile(
        "off.plan",
        &["--no-in-place", "--no-window-overlap", "--no-streaming"],
    );
    assert!(v_on["streamed_tensors"].as_u64().unwrap() > 0, "{v_on}");
    for k in ["in_place_steps", "overlapped_steps", "streamed_tensors"] {
        assert_eq!(v_off[k], 0, "{k}");
    }
    assert_eq!(v_off["arena_bytes"], v_off["greedy_bytes"]);
    assert!(v_on["arena_bytes"].as_u64() < v_off["arena_bytes"].as_u64());
    let image = "models/data/fashion-test/0000.png";
    let classes = |plan: &str| edgecnn(&["classify", plan, image]).ok().to_string();
    assert_eq!(classes(&on), classes(&off));
}

/// `--no-zero-copy-concat`: micro GoogLeNet's Concats copy again (no views, a larger
/// arena), and the classes of the test images are the same.
#[test]
fn zero_copy_concat_can_be_turned_off() {
    let dir = scratch("cli_e2e_views");
    let compile = |name: &str, extra: &[&str]| compile_micro(&dir, "micro_googlenet", name, extra);
    let (on, v_on) = compile("on.plan", &[]);
    let (off, v_off) = compile("off.plan", &["--no-zero-copy-concat"]);
    assert!(v_on["view_tensors"].as_u64().unwrap() > 0, "{v_on}");
    assert_eq!(v_off["view_tensors"], 0);
    assert!(v_on["arena_bytes"].as_u64() < v_off["arena_bytes"].as_u64());
    let pitched = v_on["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["pitch"].as_u64().unwrap() > t["shape"][2].as_u64().unwrap())
        .count() as u64;
    assert_eq!(pitched, v_on["view_tensors"].as_u64().unwrap());
    let images = [
        "models/data/fashion-test/0000.png",
        "models/data/fashion-test/0001.png",
        "models/data/fashion-test/0002.png",
    ];
    let classes = |plan: &str| {
        let mut args = vec!["classify", plan];
        args.extend(images);
        edgecnn(&args).ok().to_string()
    };
    assert_eq!(classes(&on), classes(&off));
}

/// `--pack x86-vnni,cortex-m-dsp` adds every dense conv's weights in the VNNI GEMM's and the
/// Cortex-M DSP GEMM's layouts (wire version 4): `inspect` lists the packs, and the classes
/// and scores are the same as the plan's without them. An unknown kind is refused by name.
#[test]
fn packed_plans_classify_the_same() {
    let dir = scratch("cli_e2e_packs");
    let compile = |name: &str, extra: &[&str]| compile_micro(&dir, "micro_resnet8", name, extra);
    let (plain, v_plain) = compile("plain.plan", &[]);
    let (packed, v_packed) = compile("packed.plan", &["--pack", "x86-vnni,cortex-m-dsp"]);
    assert_eq!(v_plain["packed_bytes"], 0);
    assert_eq!(v_plain["packs"].as_array().unwrap().len(), 0);
    let packs = v_packed["packs"].as_array().unwrap();
    let dense_convs = v_packed["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["op"] == "Conv2d")
        .count();
    assert!(
        !packs.is_empty() && packs.len() <= 2 * dense_convs,
        "{v_packed}"
    );
    let of = |kind: &str| packs.iter().filter(|p| p["kind"] == kind).count();
    assert_eq!(of("x86-vnni"), of("cortex-m-dsp"), "{v_packed}");
    assert_eq!(
        of("x86-vnni") + of("cortex-m-dsp"),
        packs.len(),
        "{v_packed}"
    );
    let total: u64 = packs.iter().map(|p| p["bytes"].as_u64().unwrap()).sum();
    assert_eq!(v_packed["packed_bytes"].as_u64(), Some(total));
    assert_eq!(v_packed["arena_bytes"], v_plain["arena_bytes"]);
    let classes = |plan: &str| {
        let mut args = vec!["classify", plan];
        args.extend([
            "models/data/fashion-test/0000.png",
            "models/data/fashion-test/0001.png",
        ]);
        edgecnn(&args).ok().to_string()
    };
    assert_eq!(classes(&packed), classes(&plain));
    let bad = edgecnn(&[
        "compile",
        "models/micro_resnet8.onnx",
        "--calibration",
        "models/data/fashion-calib",
        "-o",
        dir.join("bad.plan").to_str().unwrap(),
        "--pack",
        "arm",
    ]);
    assert_ne!(bad.code, Some(0));
    assert!(
        bad.stderr
            .contains("unknown pack `arm`; known: x86-vnni, cortex-m-dsp"),
        "{}",
        bad.stderr
    );
}
