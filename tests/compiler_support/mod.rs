//! Shared helpers of the compiler tests: deterministic data, running a plan, comparing.
#![allow(dead_code)]

use std::path::PathBuf;

use edgecnn::format::model::PlanModel;
use edgecnn::runtime::{dequantize_output, quantize_input, Plan, Session};

/// A test model in tests/data/onnx.
pub fn onnx(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/onnx")
        .join(format!("{name}.onnx"))
}

/// Deterministic standard-normal samples (xorshift + Box-Muller).
pub fn normal(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u, v) = (next(), next());
            ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
        })
        .collect()
}

/// NCHW (batch dropped) to NHWC.
pub fn to_nhwc(x: &[f32], c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    for ch in 0..c {
        for y in 0..h {
            for xx in 0..w {
                out[(y * w + xx) * c + ch] = x[(ch * h + y) * w + xx];
            }
        }
    }
    out
}

/// Encodes, parses and runs `plan` on a float input in the model's layout (NCHW, or NHWC when
/// `chw` is `None`); returns the dequantised output.
pub fn run_plan(plan: &PlanModel, input: &[f32], chw: Option<[usize; 3]>) -> Vec<f32> {
    let blob = plan.encode();
    let p = Plan::parse(&blob).expect("plan parses");
    let mut arena = vec![0u8; p.arena_bytes()];
    let mut s = Session::new(&p, &mut arena).expect("arena binds");
    let nhwc = match chw {
        Some([c, h, w]) => to_nhwc(input, c, h, w),
        None => input.to_vec(),
    };
    let mut q = vec![0i8; nhwc.len()];
    quantize_input(&p, &nhwc, &mut q).expect("input quantises");
    s.set_input(&q).expect("input length");
    s.run().expect("plan runs");
    let mut out = vec![];
    dequantize_output(&p, s.output(), &mut out);
    out
}

/// Runs `plan` on each int8 input; returns each run's output bytes and, per step, the bytes
/// that step wrote (tensors reused later can only be seen as they are written).
pub fn run_steps(plan: &PlanModel, inputs: &[Vec<i8>]) -> Vec<(Vec<i8>, Vec<Vec<i8>>)> {
    let blob = plan.encode();
    let p = Plan::parse(&blob).expect("the runtime accepts the plan");
    let mut arena = vec![0u8; p.arena_bytes()];
    let mut s = Session::new(&p, &mut arena).unwrap();
    inputs
        .iter()
        .map(|x| {
            s.set_input(x).unwrap();
            let mut steps = vec![];
            s.run_with(|_, _, y| steps.push(y.to_vec())).unwrap();
            (s.output().to_vec(), steps)
        })
        .collect()
}

/// What every on/off comparison of a memory optimisation checks on the two compilations:
/// the arena with it is no larger, both plans' memory is sound, and the figures read back
/// from the plan file equal the compiler's.
pub fn assert_memory_on_off(
    name: &str,
    on: &PlanModel,
    on_memory: &edgecnn::compiler::memory::MemoryReport,
    off: &PlanModel,
    off_memory: &edgecnn::compiler::memory::MemoryReport,
) {
    assert!(on_memory.arena_bytes <= off_memory.arena_bytes, "{name}");
    assert_memory_sound(on);
    assert_memory_sound(off);
    let blob = on.encode();
    let parsed = Plan::parse(&blob).expect("the runtime accepts the plan");
    assert_eq!(
        &edgecnn::compiler::memory::plan_report(&parsed),
        on_memory,
        "{name}"
    );
}

/// Runs two compilations of one model (`on` and `off` a memory optimisation) on 6 random
/// int8 inputs (seeded from `seed`) and asserts identical outputs, and identical bytes from
/// every step when both run the same steps in the same order (except the steps writing a
/// streamed tensor, which never exists whole). Returns whether the orders were the same.
pub fn assert_same_bytes(name: &str, on: &PlanModel, off: &PlanModel, seed: u64) -> bool {
    let n = on.tensors[on.input as usize].len();
    let inputs: Vec<Vec<i8>> = (0..6u64)
        .map(|k| {
            normal(seed + k, n)
                .iter()
                .map(|v| (v * 40.0).clamp(-128.0, 127.0) as i8)
                .collect()
        })
        .collect();
    let (a, b) = (run_steps(on, &inputs), run_steps(off, &inputs));
    let ops = |p: &PlanModel| -> Vec<(String, Vec<u16>)> {
        p.steps
            .iter()
            .map(|s| (format!("{:?}", s.op), s.inputs.clone()))
            .collect()
    };
    let same_order = ops(on) == ops(off);
    for (k, ((ya, sa), (yb, sb))) in a.iter().zip(&b).enumerate() {
        assert_eq!(ya, yb, "{name}: output of input {k} differs");
        if same_order {
            for (i, (x, y)) in sa.iter().zip(sb).enumerate() {
                // A streamed tensor never exists whole, a view is interleaved with its
                // siblings (the Concat's output, compared, holds both).
                let t = &on.tensors[on.steps[i].output as usize];
                let partial = t.resident_rows != 0 || t.pitch != 0;
                assert!(partial || x == y, "{name}: step {i} of input {k} differs");
            }
        }
    }
    same_order
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    (dot / (na * nb).max(1e-30)) as f32
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Checks a plan's memory independently of the planner: every tensor and scratch buffer
/// lies inside the arena, and no two buffers alive at the same step overlap (a tensor lives
/// from the step writing it, or step 0 for the input, to its last reader, or the end for
/// the output; scratch lives during its step). The exceptions are the runtime's in place
/// (an `Add` or `Requantize` output at exactly the bytes of an input dying at that step) and
/// window overlap (a conv or pool output below its dying input, each output row ending
/// before the input rows it reads).
pub fn assert_memory_sound(plan: &PlanModel) {
    let n = plan.steps.len();
    let mut first = vec![usize::MAX; plan.tensors.len()];
    let mut last = vec![0usize; plan.tensors.len()];
    first[plan.input as usize] = 0;
    for (i, s) in plan.steps.iter().enumerate() {
        first[s.output as usize] = first[s.output as usize].min(i);
        last[s.output as usize] = last[s.output as usize].max(i);
        for &x in &s.inputs {
            last[x as usize] = last[x as usize].max(i);
            assert!(first[x as usize] <= i, "tensor {x} read before written");
        }
    }
    last[plan.output as usize] = n - 1;
    // A streamed tensor's producer reads its input until the consumer's step.
    for (i, s) in plan.steps.iter().enumerate() {
        if plan.tensors[s.output as usize].resident_rows != 0 {
            let x0 = s.inputs[0] as usize;
            last[x0] = last[x0].max(i + 1);
        }
    }
    // Views: each lies exactly in its channel slice of its Concat's output, which is then
    // alive from the first of them on; their own bytes are the output's.
    for s in &plan.steps {
        if !matches!(s.op, edgecnn::format::model::Op::Concat) {
            continue;
        }
        let y = &plan.tensors[s.output as usize];
        let mut channel = 0;
        for &x in &s.inputs {
            let t = &plan.tensors[x as usize];
            if t.pitch != 0 {
                assert_eq!(t.pitch, y.shape[2], "view {x}: pitch");
                assert_eq!(t.offset, y.offset + channel, "view {x}: offset");
                assert_eq!(y.pitch, 0, "a view's Concat output is dense");
                first[s.output as usize] = first[s.output as usize].min(first[x as usize]);
            }
            channel += t.shape[2];
        }
    }
    // In place: (output, input) tensor pairs sharing exactly the same bytes at their step.
    let in_place = |a: usize, b: usize| {
        plan.steps.iter().enumerate().any(|(i, s)| {
            use edgecnn::format::model::Op;
            matches!(s.op, Op::Add(_) | Op::Requantize(_))
                && [(a, b), (b, a)].iter().any(|&(o, x)| {
                    s.output as usize == o
                        && s.inputs.contains(&(x as u16))
                        && last[x] == i
                        && first[o] == i
                        && plan.tensors[o].offset == plan.tensors[x].offset
                        && plan.tensors[o].len() == plan.tensors[x].len()
                })
        })
    };
    // Window overlap: a conv or pool output below its dying input such that the bytes of
    // output rows 0..=y end before the first input row that row y reads, or above it such
    // that rows y.. start after the last input row row y reads, for every y (recomputed
    // here from the op, independently of `edgecnn::format::overlap`).
    let overlapped = |a: usize, b: usize| {
        plan.steps.iter().enumerate().any(|(i, s)| {
            use edgecnn::format::model::Op;
            let (stride, pad, extent) = match &s.op {
                Op::Conv2d(c) => (c.stride[0], c.pad[0], (c.kernel[0] - 1) * c.dilation[0] + 1),
                Op::MaxPool(p) => (p.stride[0], p.pad[0], p.kernel[0]),
                Op::AvgPool(p) => (p.pool.stride[0], p.pool.pad[0], p.pool.kernel[0]),
                _ => return false,
            };
            let (stride, pad, extent) = (stride as usize, pad as usize, extent as usize);
            [(a, b), (b, a)].iter().any(|&(o, x)| {
                if s.output as usize != o || s.inputs != [x as u16] || last[x] != i || first[o] != i
                {
                    return false;
                }
                let (xt, yt) = (&plan.tensors[x], &plan.tensors[o]);
                let row =
                    |t: &edgecnn::format::model::TensorDesc| (t.shape[1] * t.shape[2]) as usize;
                let (xo, yo) = (xt.offset as usize, yt.offset as usize);
                let in_rows = xt.shape[0] as usize;
                let first_row = |y: usize| (y * stride).saturating_sub(pad);
                let end_row = |y: usize| (y * stride + extent).saturating_sub(pad).min(in_rows);
                let rows = 0..yt.shape[0] as usize;
                rows.clone().all(|y| first_row(y) < in_rows)
                    && if yo < xo {
                        // below, top-down
                        rows.clone()
                            .all(|y| yo + (y + 1) * row(yt) <= xo + first_row(y) * row(xt))
                    } else {
                        // above, bottom-up
                        rows.clone()
                            .all(|y| yo + y * row(yt) >= xo + end_row(y) * row(xt))
                    }
            })
        })
    };
    // (start, end, first, last, tensor id or usize::MAX for scratch)
    let mut bufs: Vec<(u32, u32, usize, usize, usize)> = vec![];
    for (t, d) in plan.tensors.iter().enumerate() {
        if first[t] != usize::MAX && d.pitch == 0 {
            bufs.push((
                d.offset,
                d.offset + d.arena_len() as u32,
                first[t],
                last[t],
                t,
            ));
        }
    }
    for (i, s) in plan.steps.iter().enumerate() {
        if s.scratch.1 > 0 {
            bufs.push((s.scratch.0, s.scratch.0 + s.scratch.1, i, i, usize::MAX));
        }
    }
    for (k, a) in bufs.iter().enumerate() {
        assert!(
            a.1 <= plan.arena_bytes,
            "buffer {a:?} outside the arena {}",
            plan.arena_bytes
        );
        for b in &bufs[..k] {
            let live_together = a.2 <= b.3 && b.2 <= a.3;
            let overlap = a.0 < b.1 && b.0 < a.1;
            let shared = a.4 != usize::MAX
                && b.4 != usize::MAX
                && (in_place(a.4, b.4) || overlapped(a.4, b.4));
            assert!(
                !(live_together && overlap) || shared,
                "buffers {a:?} and {b:?} overlap while alive"
            );
        }
    }
}
