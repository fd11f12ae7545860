//! Window overlap (a conv or pool writing its output over the rows of its dying input it has
//! already read, run in bands): every micro model compiled with and without it gives
//! byte-identical outputs and per-step bytes, an arena no larger, sound memory, and a plan
//! the runtime accepts; the figures read back from the plan equal the compiler's.
#![cfg(feature = "compiler")]

mod compiler_support;

use std::path::{Path, PathBuf};

use edgecnn::compiler::memory;
use edgecnn::compiler::{
    compile_with_memory, CalibrationMethod, CompileOptions, CompileReport, MemoryOptions,
};
use edgecnn::format::model::PlanModel;
use edgecnn::runtime::Plan;

fn compile(model: &Path, calib: &[Vec<f32>], window_overlap: bool) -> (PlanModel, CompileReport) {
    let options = CompileOptions {
        input_shape: None,
        method: CalibrationMethod::DEFAULT,
        preprocess: None,
        labels: vec![],
    };
    let memory = MemoryOptions {
        in_place: true,
        window_overlap,
    };
    compile_with_memory(model, calib, &options, memory, &mut |_, _| {}).unwrap()
}

fn same_bytes(name: &str, model: &Path) {
    let float = edgecnn::compiler::FloatModel::load(model, None).unwrap();
    let n: usize = float.input_shape().iter().product();
    let calib: Vec<Vec<f32>> = (0..8).map(|i| compiler_support::normal(i, n)).collect();
    let (on, r_on) = compile(model, &calib, true);
    let (off, r_off) = compile(model, &calib, false);
    eprintln!(
        "{name}: arena {} B with overlap ({} steps), {} B without",
        r_on.memory.arena_bytes, r_on.memory.overlapped_steps, r_off.memory.arena_bytes
    );
    assert!(
        r_on.memory.overlapped_steps > 0,
        "{name}: nothing overlapped"
    );
    assert_eq!(r_off.memory.overlapped_steps, 0, "{name}");
    // Overlaps are kept only where the arena needs them, so it never grows.
    assert!(
        r_on.memory.arena_bytes <= r_off.memory.arena_bytes,
        "{name}"
    );
    compiler_support::assert_memory_sound(&on);
    compiler_support::assert_memory_sound(&off);
    let blob = on.encode();
    assert_eq!(
        memory::plan_report(&Plan::parse(&blob).unwrap()),
        r_on.memory,
        "{name}"
    );
    // at least one step really writes over its input's bytes
    let overlapping = on.steps.iter().any(|s| {
        let (x, y) = (
            &on.tensors[s.inputs[0] as usize],
            &on.tensors[s.output as usize],
        );
        x.offset < y.offset + y.len() as u32 && y.offset < x.offset + x.len() as u32
    });
    assert!(overlapping, "{name}");

    let inputs: Vec<Vec<i8>> = (0..6u64)
        .map(|k| {
            compiler_support::normal(900 + k, n)
                .iter()
                .map(|v| (v * 40.0).clamp(-128.0, 127.0) as i8)
                .collect()
        })
        .collect();
    let (a, b) = (
        compiler_support::run_steps(&on, &inputs),
        compiler_support::run_steps(&off, &inputs),
    );
    let ops = |p: &PlanModel| -> Vec<(String, Vec<u16>)> {
        p.steps
            .iter()
            .map(|s| (format!("{:?}", s.op), s.inputs.clone()))
            .collect()
    };
    let same_order = ops(&on) == ops(&off);
    for (k, ((ya, sa), (yb, sb))) in a.iter().zip(&b).enumerate() {
        assert_eq!(ya, yb, "{name}: output of input {k} differs");
        if same_order {
            assert_eq!(sa, sb, "{name}: a step output of input {k} differs");
        }
    }
    eprintln!("{name}: same step order both ways: {same_order}; bytes identical");
}

fn micro(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(format!("{name}.onnx"))
}

#[test]
fn micro_vgg_overlap_is_byte_identical() {
    same_bytes("micro_vgg", &micro("micro_vgg"));
}

#[test]
fn micro_resnet8_overlap_is_byte_identical() {
    same_bytes("micro_resnet8", &micro("micro_resnet8"));
}

#[test]
fn micro_alexnet_overlap_is_byte_identical() {
    same_bytes("micro_alexnet", &micro("micro_alexnet"));
}

#[test]
fn micro_googlenet_overlap_is_byte_identical() {
    same_bytes("micro_googlenet", &micro("micro_googlenet"));
}
