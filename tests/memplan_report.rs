//! The memory table: arena, tensor lower bound, greedy-by-size (TensorFlow Lite Micro's
//! planner on the same order and lifetimes), naive, arena ÷ greedy, arena ÷ best greedy
//! (greedy-by-size on the best of the planner's candidate orders: the plan compiled with in
//! place and overlap off), with and without in place and window overlap, and the planning
//! time, for the micro models and the full-size exports.
//!
//! ```text
//! cargo test --features cli --test memplan_report -- --nocapture               # micro models
//! cargo test --features cli --test memplan_report -- --ignored --nocapture     # + full size
//! ```
//!
//! Memory figures do not depend on calibration values, so two random inputs calibrate.
//! Checked on every row: the figures read back from the plan file equal the compiler's,
//! `arena ≤ greedy` (and `buffer bound ≤ arena` without overlapped steps), `tensor bound ≤
//! greedy ≤ naive`, neither in place nor overlap grows the arena, the memory is sound. Planning time is printed, never asserted.
#![cfg(feature = "compiler")]

mod compiler_support;

use std::path::{Path, PathBuf};

use edgecnn::compiler::memory::{self, Buffer};
use edgecnn::compiler::{compile_with_memory, CalibrationMethod, CompileOptions, MemoryOptions};
use edgecnn::runtime::Plan;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// What zero-copy Concat would need (an estimate for the design, not implemented): each
/// input of a chosen Concat read by nothing else shares the concat output's bytes, from its
/// own birth to the output's death; the plan's order is kept. `take[k]` chooses the k-th
/// Concat. Returns (bound, greedy).
fn zero_copy_concat(plan: &Plan<'_>, take: &[bool]) -> (u32, u32) {
    let lives = memory::tensor_lives(plan);
    let steps = plan.num_steps();
    let readers = |id: u16| {
        (0..steps)
            .filter(|&i| plan.step(i).is_some_and(|s| s.inputs().any(|x| x == id)))
            .count()
    };
    // group[k]: index into `lives` of the buffer tensor k joins
    let mut group: Vec<usize> = (0..lives.len()).collect();
    let index = |id: u16| lives.iter().position(|l| l.id == id);
    let concats = (0..steps).filter(|&i| plan.step(i).is_some_and(|s| s.op == "Concat"));
    for (i, _) in concats.zip(take).filter(|(_, &t)| t) {
        let s = plan.step(i).unwrap();
        let y = index(s.output).unwrap();
        for x in s.inputs() {
            if x != plan.input_id() && readers(x) == 1 {
                group[index(x).unwrap()] = y;
            }
        }
    }
    let root = |mut k: usize| {
        while group[k] != k {
            k = group[k];
        }
        k
    };
    let mut bufs: Vec<Buffer> = lives.iter().map(|l| l.life).collect();
    for k in 0..lives.len() {
        let r = root(k);
        if r != k {
            bufs[r].first = bufs[r].first.min(lives[k].life.first);
            bufs[k].size = 0;
        }
    }
    bufs.extend((0..steps).map(|i| Buffer {
        size: plan.step(i).unwrap().scratch.1,
        first: i,
        last: i,
    }));
    (
        memory::lower_bound(&bufs, steps),
        memory::greedy_by_size(&bufs).1,
    )
}

/// Zero-copy Concat where it helps: Concats taken one at a time, kept when the greedy
/// arena shrinks. Returns (bound, greedy, concats taken / concats).
fn zero_copy_concat_estimate(plan: &Plan<'_>) -> (u32, u32, usize, usize) {
    let n = (0..plan.num_steps())
        .filter(|&i| plan.step(i).is_some_and(|s| s.op == "Concat"))
        .count();
    let mut take = vec![false; n];
    let mut best = zero_copy_concat(plan, &take);
    for k in 0..n {
        take[k] = true;
        let r = zero_copy_concat(plan, &take);
        if r.1 < best.1 {
            best = r;
        } else {
            take[k] = false;
        }
    }
    let taken = take.iter().filter(|&&t| t).count();
    (best.0, best.1, taken, n)
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
    let compile = |in_place, window_overlap, streaming| {
        compile_with_memory(
            path,
            &calib,
            &options,
            MemoryOptions {
                in_place,
                window_overlap,
                streaming,
            },
            &mut |_, _| {},
        )
        .unwrap()
    };
    let (plan, r) = compile(true, true, true);
    let (_, r_no_in_place) = compile(false, true, true);
    let (_, r_no_overlap) = compile(true, false, true);
    let (_, r_no_stream) = compile(true, true, false);
    let (_, r_off) = compile(false, false, false);
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
    for other in [&r_no_in_place, &r_no_overlap, &r_no_stream, &r_off] {
        assert!(m.arena_bytes <= other.memory.arena_bytes, "{name}");
    }
    assert_eq!(
        r_off.memory.greedy_bytes, r_off.memory.arena_bytes,
        "{name}"
    );
    compiler_support::assert_memory_sound(&plan);
    let (_, concat_est, taken, concats) = zero_copy_concat_estimate(&Plan::parse(&blob).unwrap());
    let kib = |b: u32| format!("{:.1}", f64::from(b) / 1024.0);
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.3} | {} | {} | {} | {} | {:.2} | {} |",
        plan.steps.len(),
        kib(m.arena_bytes),
        kib(r_no_in_place.memory.arena_bytes),
        kib(r_no_overlap.memory.arena_bytes),
        kib(r_no_stream.memory.arena_bytes),
        kib(m.lower_bound_bytes),
        kib(m.buffer_lower_bound_bytes),
        kib(m.greedy_bytes),
        kib(m.naive_bytes),
        f64::from(m.arena_bytes) / f64::from(m.greedy_bytes),
        f64::from(m.arena_bytes) / f64::from(r_off.memory.arena_bytes),
        m.in_place_steps,
        m.overlapped_steps,
        m.streamed_tensors,
        if r.memory_proven_optimal { "yes" } else { "-" },
        r.memory_planning.as_secs_f64() * 1e3,
        if concats == 0 {
            "-".to_string()
        } else {
            format!("{} ({taken}/{concats})", kib(concat_est.min(m.arena_bytes)))
        },
    )
}

const HEADER: &str = "| model | steps | arena KiB | arena w/o in place | arena w/o overlap | arena w/o streaming | tensor lower bound | with in place | greedy (TFLM) | naive | arena ÷ greedy | arena ÷ best greedy | steps in place | steps overlapped | tensors streamed | proven optimal | planning ms | zero-copy concat (estimate) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

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
