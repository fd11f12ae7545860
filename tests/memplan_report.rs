//! The memory table: arena, tensor lower bound, greedy-by-size (TensorFlow Lite Micro's
//! planner on the same order and lifetimes), naive, arena ÷ greedy, arena ÷ best greedy
//! (greedy-by-size on the best of the planner's candidate orders: the plan compiled with in
//! place and overlap off), with and without in place and window overlap, and the planning
//! time, for the micro models and the full-size exports, with each optimisation (in place,
//! window overlap, streaming, zero-copy Concat) off in turn.
//!
//! ```text
//! cargo test --features cli --test memplan_report -- --nocapture               # micro models
//! cargo test --features cli --test memplan_report -- --ignored --nocapture     # + full size
//! ```
//!
//! Memory figures do not depend on calibration values, so two random inputs calibrate.
//! Checked on every row: the figures read back from the plan file equal the compiler's,
//! `arena ≤ greedy` (and `buffer bound ≤ arena` without overlapped steps), `tensor bound ≤
//! greedy ≤ naive`, no optimisation grows the arena, the memory is sound. Planning time is
//! printed, never asserted.
#![cfg(feature = "compiler")]

mod compiler_support;

use std::path::{Path, PathBuf};

use edgecnn::compiler::memory;
use edgecnn::compiler::{compile_with_memory, CalibrationMethod, CompileOptions, MemoryOptions};
use edgecnn::runtime::Plan;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// One row of the table, checked.
fn row(path: &Path, shape: [usize; 4]) -> String {
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let n: usize = shape[1..].iter().product();
    let calib: Vec<Vec<f32>> = (0..2).map(|i| compiler_support::normal(i, n)).collect();
    let options = CompileOptions {
        input_shape: Some(shape.to_vec()),
        method: CalibrationMethod::DEFAULT,
        preprocess: None,
        labels: vec![],
    };
    let compile = |memory: MemoryOptions| {
        compile_with_memory(path, &calib, &options, memory, &mut |_, _| {}).unwrap()
    };
    let all = MemoryOptions::default();
    let (plan, r) = compile(all);
    let (_, r_no_in_place) = compile(MemoryOptions {
        in_place: false,
        ..all
    });
    let (_, r_no_overlap) = compile(MemoryOptions {
        window_overlap: false,
        ..all
    });
    let (_, r_no_stream) = compile(MemoryOptions {
        streaming: false,
        ..all
    });
    let (_, r_no_views) = compile(MemoryOptions {
        zero_copy_concat: false,
        ..all
    });
    let (_, r_off) = compile(MemoryOptions::NONE);
    let m = r.memory;
    let blob = plan.encode();
    assert_eq!(
        memory::plan_report(&Plan::parse(&blob).unwrap()),
        m,
        "{name}"
    );
    if m.overlapped_steps == 0 {
        assert!(m.buffer_lower_bound_bytes <= m.arena_bytes, "{name}");
    }
    assert!(m.arena_bytes <= m.greedy_bytes, "{name}");
    assert!(m.lower_bound_bytes <= m.greedy_bytes, "{name}");
    assert!(m.greedy_bytes <= m.naive_bytes, "{name}");
    for other in [
        &r_no_in_place,
        &r_no_overlap,
        &r_no_stream,
        &r_no_views,
        &r_off,
    ] {
        assert!(m.arena_bytes <= other.memory.arena_bytes, "{name}");
    }
    assert_eq!(
        r_off.memory.greedy_bytes, r_off.memory.arena_bytes,
        "{name}"
    );
    compiler_support::assert_memory_sound(&plan);
    let kib = |b: u32| format!("{:.1}", f64::from(b) / 1024.0);
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.3} | {} | {} | {} | {} | {} | {:.2} |",
        plan.steps.len(),
        kib(m.arena_bytes),
        kib(r_no_in_place.memory.arena_bytes),
        kib(r_no_overlap.memory.arena_bytes),
        kib(r_no_stream.memory.arena_bytes),
        kib(r_no_views.memory.arena_bytes),
        kib(m.lower_bound_bytes),
        kib(m.buffer_lower_bound_bytes),
        kib(m.greedy_bytes),
        kib(m.naive_bytes),
        f64::from(m.arena_bytes) / f64::from(m.greedy_bytes),
        f64::from(m.arena_bytes) / f64::from(r_off.memory.arena_bytes),
        m.in_place_steps,
        m.overlapped_steps,
        m.streamed_tensors,
        m.view_tensors,
        if r.memory_proven_optimal { "yes" } else { "-" },
        r.memory_planning.as_secs_f64() * 1e3,
    )
}

const HEADER: &str = "| model | steps | arena KiB | arena w/o in place | arena w/o overlap | arena w/o streaming | arena w/o zero-copy concat | tensor lower bound | with in place | greedy (TFLM) | naive | arena ÷ greedy | arena ÷ best greedy | steps in place | steps overlapped | tensors streamed | tensors in views | proven optimal | planning ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

#[test]
fn micro_models() {
    let mut rows = vec![HEADER.to_string()];
    for m in [
        "micro_resnet8",
        "micro_alexnet",
        "micro_vgg",
        "micro_googlenet",
    ] {
        rows.push(row(&root().join(format!("{m}.onnx")), [1, 1, 28, 28]));
    }
    println!("{}", rows.join("\n"));
}

#[test]
#[ignore = "compiles the full-size exports (models/cache); minutes"]
fn full_size_models() {
    let mut rows = vec![HEADER.to_string()];
    for m in [
        "alexnet",
        "vgg11",
        "vgg16",
        "googlenet",
        "resnet18",
        "resnet50",
    ] {
        let path = root().join("cache").join(format!("{m}.onnx"));
        assert!(path.exists(), "{} missing", path.display());
        rows.push(row(&path, [1, 3, 224, 224]));
        eprintln!("{}", rows.last().unwrap());
    }
    println!("{}", rows.join("\n"));
}
