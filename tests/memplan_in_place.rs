//! In place (an `Add`/`Requantize` writing over an input that dies there): the same model
//! compiled with and without it gives byte-identical outputs, an arena no larger, and a plan
//! the runtime accepts.
#![cfg(all(feature = "compiler", feature = "image"))]

mod compiler_support;

use std::path::{Path, PathBuf};

use edgecnn::compiler::{
    compile_with_memory, CalibrationMethod, CompileOptions, CompileReport, MemoryOptions,
    PreprocessSpec,
};
use edgecnn::format::model::PlanModel;

fn compile(
    model: &Path,
    calib: &[Vec<f32>],
    preprocess: Option<PreprocessSpec>,
    in_place: bool,
) -> (PlanModel, CompileReport) {
    let options = CompileOptions {
        input_shape: None,
        method: CalibrationMethod::DEFAULT,
        preprocess,
        labels: vec![],
    };
    let memory = MemoryOptions {
        in_place,
        ..MemoryOptions::NONE
    };
    compile_with_memory(model, calib, &options, memory, &mut |_, _| {}).unwrap()
}

/// Compiles both ways and checks everything that must hold.
fn same_bytes(name: &str, model: &Path, calib: &[Vec<f32>], pre: Option<PreprocessSpec>) {
    let (on, r_on) = compile(model, calib, pre.clone(), true);
    let (off, r_off) = compile(model, calib, pre, false);
    eprintln!(
        "{name}: arena {} B with in place ({} steps), {} B without; tensor lower bound {} B",
        r_on.memory.arena_bytes,
        r_on.memory.in_place_steps,
        r_off.memory.arena_bytes,
        r_on.memory.lower_bound_bytes
    );
    assert!(
        r_on.memory.in_place_steps > 0,
        "{name}: no Add went in place"
    );
    assert_eq!(r_off.memory.in_place_steps, 0);
    // no larger, sound, and the plan file tells the same story
    compiler_support::assert_memory_on_off(name, &on, &r_on.memory, &off, &r_off.memory);
    // at least one Add really shares its output with an input
    let shared = on.steps.iter().any(|s| {
        let y = &on.tensors[s.output as usize];
        matches!(s.op, edgecnn::format::model::Op::Add(_))
            && s.inputs
                .iter()
                .any(|&i| on.tensors[i as usize].offset == y.offset)
    });
    assert!(shared, "{name}");

    let same_order = compiler_support::assert_same_bytes(name, &on, &off, 500);
    eprintln!("{name}: same step order both ways: {same_order} (then every step's bytes compared)");
}

#[test]
fn micro_resnet8_in_place_is_byte_identical() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
    let model = root.join("micro_resnet8.onnx");
    let dir = root.join("data/fashion-calib");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    let (mean, std) = (0.2860f32, 0.3530f32);
    let calib: Vec<Vec<f32>> = files
        .iter()
        .take(24)
        .map(|p| {
            let px = image::open(p).unwrap().to_luma8().into_raw();
            px.iter()
                .map(|&v| (f32::from(v) / 255.0 - mean) / std)
                .collect()
        })
        .collect();
    let pre = PreprocessSpec {
        scale: 1.0 / 255.0,
        mean: vec![mean],
        std: vec![std],
    };
    same_bytes("micro_resnet8", &model, &calib, Some(pre));
}

#[test]
fn residual_test_model_in_place_is_byte_identical() {
    let model = compiler_support::onnx("residual");
    let float = edgecnn::compiler::FloatModel::load(&model, None).unwrap();
    let n: usize = float.input_shape().iter().product();
    let calib: Vec<Vec<f32>> = (0..16).map(|i| compiler_support::normal(i, n)).collect();
    same_bytes("residual", &model, &calib, None);
}
