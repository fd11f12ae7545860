//! Window overlap (a conv or pool writing its output over the rows of its dying input it has
//! already read, run in bands), streaming (a conv or pool output flowing into the next
//! conv or pool through a few rows) and zero-copy Concat (the convs and pools feeding a
//! Concat writing straight into their slices of its output): every micro model compiled
//! with and without each (where the planner uses it) gives
//! byte-identical outputs (and per-step bytes where the steps are the same), an arena no
//! larger, sound memory, and a plan the runtime accepts; the figures read back from the plan
//! equal the compiler's.
#![cfg(feature = "compiler")]

mod compiler_support;

use std::path::{Path, PathBuf};

use edgecnn::compiler::{
    compile_with_memory, CalibrationMethod, CompileOptions, CompileReport, MemoryOptions,
};
use edgecnn::format::model::PlanModel;

/// The memory optimisation a test turns on and off (the others as by default).
#[derive(Clone, Copy, Debug)]
enum Toggle {
    Overlap,
    Streaming,
    ZeroCopyConcat,
}

fn compile(
    model: &Path,
    calib: &[Vec<f32>],
    toggle: Toggle,
    on: bool,
) -> (PlanModel, CompileReport) {
    let options = CompileOptions {
        input_shape: None,
        method: CalibrationMethod::DEFAULT,
        preprocess: None,
        labels: vec![],
    };
    let memory = match toggle {
        Toggle::Overlap => MemoryOptions {
            in_place: true,
            window_overlap: on,
            streaming: false,
            zero_copy_concat: false,
        },
        Toggle::Streaming => MemoryOptions {
            in_place: true,
            window_overlap: true,
            streaming: on,
            zero_copy_concat: false,
        },
        Toggle::ZeroCopyConcat => MemoryOptions {
            zero_copy_concat: on,
            ..MemoryOptions::default()
        },
    };
    compile_with_memory(model, calib, &options, memory, &mut |_, _| {}).unwrap()
}

fn same_bytes(name: &str, model: &Path, toggle: Toggle) {
    let float = edgecnn::compiler::FloatModel::load(model, None).unwrap();
    let n: usize = float.input_shape().iter().product();
    let calib: Vec<Vec<f32>> = (0..8).map(|i| compiler_support::normal(i, n)).collect();
    let (on, r_on) = compile(model, &calib, toggle, true);
    let (off, r_off) = compile(model, &calib, toggle, false);
    let used = |r: &CompileReport| match toggle {
        Toggle::Overlap => r.memory.overlapped_steps,
        Toggle::Streaming => r.memory.streamed_tensors,
        Toggle::ZeroCopyConcat => r.memory.view_tensors,
    };
    eprintln!(
        "{name}: arena {} B with {toggle:?} ({} used), {} B without",
        r_on.memory.arena_bytes,
        used(&r_on),
        r_off.memory.arena_bytes
    );
    assert!(used(&r_on) > 0, "{name}: {toggle:?} not used");
    assert_eq!(used(&r_off), 0, "{name}");
    // Overlaps and streams are kept only where the arena needs them, so it never grows.
    compiler_support::assert_memory_on_off(name, &on, &r_on.memory, &off, &r_off.memory);
    // the plan really overlaps or streams
    let really = on.steps.iter().any(|s| {
        let (x, y) = (
            &on.tensors[s.inputs[0] as usize],
            &on.tensors[s.output as usize],
        );
        match toggle {
            Toggle::Overlap => {
                x.offset < y.offset + y.arena_len() as u32
                    && y.offset < x.offset + x.arena_len() as u32
            }
            Toggle::Streaming => y.resident_rows != 0 && y.arena_len() < y.len(),
            // A Concat whose inputs all lie inside its output.
            Toggle::ZeroCopyConcat => {
                matches!(s.op, edgecnn::format::model::Op::Concat)
                    && s.inputs.iter().all(|&i| {
                        let t = &on.tensors[i as usize];
                        t.pitch == y.shape[2]
                            && y.offset <= t.offset
                            && t.offset + t.arena_len() as u32 <= y.offset + y.arena_len() as u32
                    })
            }
        }
    });
    assert!(really, "{name}");

    let same_order = compiler_support::assert_same_bytes(name, &on, &off, 900);
    eprintln!("{name}: same step order both ways: {same_order}; bytes identical");
}

fn micro(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(format!("{name}.onnx"))
}

#[test]
fn micro_vgg_overlap_is_byte_identical() {
    same_bytes("micro_vgg", &micro("micro_vgg"), Toggle::Overlap);
}

#[test]
fn micro_resnet8_overlap_is_byte_identical() {
    same_bytes("micro_resnet8", &micro("micro_resnet8"), Toggle::Overlap);
}

#[test]
fn micro_alexnet_overlap_is_byte_identical() {
    same_bytes("micro_alexnet", &micro("micro_alexnet"), Toggle::Overlap);
}

#[test]
fn micro_googlenet_overlap_is_byte_identical() {
    same_bytes(
        "micro_googlenet",
        &micro("micro_googlenet"),
        Toggle::Overlap,
    );
}

/// Streaming lowers micro AlexNet's arena (its conv → pool pairs); on the other micro
/// models it does not, and the planner leaves it off there.
#[test]
fn micro_alexnet_streaming_is_byte_identical() {
    same_bytes("micro_alexnet", &micro("micro_alexnet"), Toggle::Streaming);
}

/// Zero-copy Concat lowers micro GoogLeNet's arena (its peak was an Inception module's
/// branches and their concatenation alive at once).
#[test]
fn micro_googlenet_zero_copy_concat_is_byte_identical() {
    same_bytes(
        "micro_googlenet",
        &micro("micro_googlenet"),
        Toggle::ZeroCopyConcat,
    );
}
