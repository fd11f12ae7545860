//! Small, valid, multi-step plans for the trust tests and the fuzz seed corpus: together they
//! use every op and every op variant the parser accepts (dense, grouped, depthwise, strided,
//! dilated and padded convs, both pools, `count_include_pad`, in-place Add and Requantize,
//! Concat, LRN, FC, Softmax), labels, a name and a preprocess table.
//!
//! Shared by `tests/trust_*.rs` and by the fuzz package (`tests/fuzz`, via `#[path]`), so
//! the plans the fuzzer mutates are the plans the tests run. Deterministic: no RNG state
//! outside this file.
#![allow(dead_code)]

use edgecnn::format::model::*;
use edgecnn::format::pack::PackKind;

/// xorshift32, deterministic filler for weights and tables.
struct Fill(u32);

impl Fill {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    fn i8s(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.next() as i8).collect()
    }
    fn i32s(&mut self, n: usize, lim: i32) -> Vec<i32> {
        (0..n)
            .map(|_| (self.next() % (2 * lim as u32 + 1)) as i32 - lim)
            .collect()
    }
    /// A Q31 multiplier in `[2^30, 2^31)`.
    fn mult(&mut self) -> i32 {
        (1 << 30) + (self.next() % (1 << 30)) as i32
    }
}

fn rq(m: i32, s: u8) -> Requant {
    Requant {
        multiplier: vec![m],
        shift: vec![s],
    }
}

fn rq_n(f: &mut Fill, n: usize, s: u8) -> Requant {
    Requant {
        multiplier: (0..n).map(|_| f.mult()).collect(),
        shift: vec![s; n],
    }
}

fn step(op: Op, inputs: Vec<u16>, output: u16) -> Step {
    Step {
        op,
        inputs,
        output,
        scratch: (0, 0),
    }
}

/// Lays tensors out one after the other (4-byte rounded); returns the arena size.
fn lay_out(tensors: &mut [TensorDesc]) -> u32 {
    let mut off = 0;
    for t in tensors.iter_mut() {
        t.offset = off;
        off += (t.len() as u32).div_ceil(4) * 4;
    }
    off
}

fn t(shape: [u32; 3], zp: i8) -> TensorDesc {
    TensorDesc {
        shape,
        offset: 0,
        scale: 0.05,
        zero_point: zp,
        resident_rows: 0,
        pitch: 0,
    }
}

fn conv(k: [u16; 2], s: [u16; 2], d: [u16; 2], p: [u16; 2], g: u16) -> Conv2d {
    Conv2d {
        kernel: k,
        stride: s,
        dilation: d,
        pad: p,
        groups: g,
        weights: Vec::new(),
        bias: Vec::new(),
        requant: rq(0, 1),
        act_min: -128,
        act_max: 127,
    }
}

/// Fills a conv's weights, bias and per-channel requant for `ic → oc` channels.
fn sized(f: &mut Fill, mut c: Conv2d, ic: usize, oc: usize) -> Conv2d {
    let per = c.kernel[0] as usize * c.kernel[1] as usize * ic / c.groups as usize;
    c.weights = f.i8s(oc * per);
    c.bias = f.i32s(oc, 4000);
    c.requant = rq_n(f, oc, 38);
    c
}

fn softmax_lut() -> [u32; 256] {
    core::array::from_fn(|d| ((-(d as f64) * 0.1).exp() * (1u32 << 20) as f64).round() as u32)
}

fn preprocess(c: usize) -> Preprocess {
    Preprocess {
        lut: (0..c)
            .map(|k| core::array::from_fn(|p| ((p as i32 - 128 + 3 * k as i32) / 2) as i8))
            .collect(),
        scale: 1.0 / 255.0,
        mean: vec![0.5; c],
        std: vec![0.25; c],
        source_layout: Layout::Nchw,
    }
}

/// input 6×6×3 → conv 3×3 pad 1 (ReLU) → LRN → maxpool 2×2/2 → requantize → add → concat →
/// fc → softmax. Labels, name and preprocess table. (The shape of `tests/runtime_plan.rs`'s
/// hand-built plan.)
pub fn classic() -> PlanModel {
    let mut f = Fill(0x5EED_0001);
    let mut tensors = vec![
        t([6, 6, 3], 3),     // 0 input
        t([6, 6, 4], -5),    // 1 conv
        t([6, 6, 4], 2),     // 2 lrn
        t([3, 3, 4], 2),     // 3 maxpool
        t([3, 3, 4], -7),    // 4 requantize
        t([3, 3, 4], 2),     // 5 add
        t([3, 3, 8], 2),     // 6 concat
        t([1, 1, 10], 4),    // 7 fc
        t([1, 1, 10], -128), // 8 softmax
    ];
    let arena_bytes = lay_out(&mut tensors);
    let mut c = sized(&mut f, conv([3, 3], [1, 1], [1, 1], [1, 1], 1), 3, 4);
    c.act_min = -5;
    let steps = vec![
        step(Op::Conv2d(c), vec![0], 1),
        step(
            Op::Lrn(Lrn {
                size: 3,
                lut: (0..640).map(|i| (1 << 30) - i * 1_000_000).collect(),
                lut_shift: 30,
            }),
            vec![1],
            2,
        ),
        step(
            Op::MaxPool(Pool {
                kernel: [2, 2],
                stride: [2, 2],
                pad: [0, 0],
                act_min: -128,
                act_max: 127,
            }),
            vec![2],
            3,
        ),
        step(
            Op::Requantize(Requantize {
                requant: rq(f.mult(), 31),
                act_min: -7,
                act_max: 127,
            }),
            vec![3],
            4,
        ),
        step(
            Op::Add(Add {
                a: rq(f.mult(), 21),
                b: rq(f.mult(), 21),
                out: rq(f.mult(), 31),
                act_min: -128,
                act_max: 127,
            }),
            vec![3, 4],
            5,
        ),
        step(Op::Concat, vec![5, 3], 6),
        step(
            Op::FullyConnected(FullyConnected {
                weights: f.i8s(10 * 72),
                bias: f.i32s(10, 9000),
                requant: rq(f.mult(), 42),
                act_min: -128,
                act_max: 127,
            }),
            vec![6],
            7,
        ),
        step(
            Op::Softmax(Softmax {
                exp_lut: softmax_lut(),
            }),
            vec![7],
            8,
        ),
    ];
    PlanModel {
        name: "trust: classic".into(),
        tensors,
        steps,
        input: 0,
        output: 8,
        arena_bytes,
        preprocess: Some(preprocess(3)),
        labels: (0..10).map(|i| format!("class {i}")).collect(),
    }
}

/// input 7×7×4 → depthwise 3×3 stride 2 pad 1 → grouped (2) 1×1 conv → dilated 3×3 conv with
/// padding → avgpool 3×3 pad 1 count_include_pad → in-place requantize → in-place add with
/// the same tensor twice → avgpool (no pad count) to 1×1 → fc. No labels, no preprocess.
pub fn mobile() -> PlanModel {
    let mut f = Fill(0x5EED_0002);
    let mut tensors = vec![
        t([7, 7, 4], 0),  // 0 input
        t([4, 4, 4], 1),  // 1 depthwise
        t([4, 4, 6], -2), // 2 grouped 1x1
        t([4, 4, 6], 3),  // 3 dilated
        t([4, 4, 6], 3),  // 4 avgpool (pad, count_include_pad)
        t([1, 1, 6], 3),  // 5 avgpool global
        t([1, 1, 5], -1), // 6 fc
        t([1, 1, 5], 7),  // 7 requantize in place over 6
        t([1, 1, 5], 2),  // 8 add in place over 7
    ];
    let arena_bytes = lay_out(&mut tensors);
    tensors[7].offset = tensors[6].offset;
    tensors[8].offset = tensors[6].offset;
    let dw = sized(&mut f, conv([3, 3], [2, 2], [1, 1], [1, 1], 4), 4, 4);
    let gr = sized(&mut f, conv([1, 1], [1, 1], [1, 1], [0, 0], 2), 4, 6);
    let mut dil = sized(&mut f, conv([3, 3], [1, 1], [2, 2], [2, 2], 1), 6, 6);
    dil.act_min = 3;
    let pool = |k: u16, p: u16| Pool {
        kernel: [k, k],
        stride: [1, 1],
        pad: [p, p],
        act_min: -128,
        act_max: 127,
    };
    let steps = vec![
        step(Op::Conv2d(dw), vec![0], 1),
        step(Op::Conv2d(gr), vec![1], 2),
        step(Op::Conv2d(dil), vec![2], 3),
        step(
            Op::AvgPool(AvgPool {
                pool: pool(3, 1),
                pad_end: [1, 1],
                count_include_pad: true,
            }),
            vec![3],
            4,
        ),
        step(
            Op::AvgPool(AvgPool {
                pool: pool(4, 0),
                pad_end: [0, 0],
                count_include_pad: false,
            }),
            vec![4],
            5,
        ),
        step(
            Op::FullyConnected(FullyConnected {
                weights: f.i8s(5 * 6),
                bias: f.i32s(5, 3000),
                requant: rq_n(&mut f, 5, 39),
                act_min: -100,
                act_max: 100,
            }),
            vec![5],
            6,
        ),
        step(
            Op::Requantize(Requantize {
                requant: rq(f.mult(), 30),
                act_min: -128,
                act_max: 127,
            }),
            vec![6],
            7,
        ),
        step(
            Op::Add(Add {
                a: rq(f.mult(), 21),
                b: rq(f.mult(), 21),
                out: rq(f.mult(), 31),
                act_min: -50,
                act_max: 127,
            }),
            vec![7, 7],
            8,
        ),
    ];
    PlanModel {
        name: "trust: mobile".into(),
        tensors,
        steps,
        input: 0,
        output: 8,
        arena_bytes,
        preprocess: None,
        labels: Vec::new(),
    }
}

/// The smallest useful plan: one 1×1×8 → 1×1×4 fully connected step, one label.
pub fn tiny() -> PlanModel {
    let mut f = Fill(0x5EED_0003);
    let mut tensors = vec![t([1, 1, 8], 0), t([1, 1, 4], 0)];
    let arena_bytes = lay_out(&mut tensors);
    let steps = vec![step(
        Op::FullyConnected(FullyConnected {
            weights: f.i8s(32),
            bias: f.i32s(4, 100),
            requant: rq(f.mult(), 35),
            act_min: -128,
            act_max: 127,
        }),
        vec![0],
        1,
    )];
    PlanModel {
        name: "trust: tiny".into(),
        tensors,
        steps,
        input: 0,
        output: 1,
        arena_bytes,
        preprocess: None,
        labels: vec!["only".into()],
    }
}

/// Ceil-mode max pool with start padding, a maxpool whose clamp bites, a 1-channel
/// preprocess table, then a 2-input concat of the same tensor and a softmax over pixels.
pub fn pools() -> PlanModel {
    let mut tensors = vec![
        t([5, 5, 1], -3),   // 0 input
        t([3, 3, 1], -3),   // 1 maxpool 3x3/2 pad 1 (ceil)
        t([2, 2, 1], -3),   // 2 maxpool 2x2/2 ceil, clamped
        t([2, 2, 2], -3),   // 3 concat [2, 2]
        t([2, 2, 2], -128), // 4 softmax per pixel
    ];
    let arena_bytes = lay_out(&mut tensors);
    let mp = |k: u16, s: u16, p: u16, lo: i8, hi: i8| Pool {
        kernel: [k, k],
        stride: [s, s],
        pad: [p, p],
        act_min: lo,
        act_max: hi,
    };
    let steps = vec![
        step(Op::MaxPool(mp(3, 2, 1, -128, 127)), vec![0], 1),
        step(Op::MaxPool(mp(2, 2, 0, -20, 40)), vec![1], 2),
        step(Op::Concat, vec![2, 2], 3),
        step(
            Op::Softmax(Softmax {
                exp_lut: softmax_lut(),
            }),
            vec![3],
            4,
        ),
    ];
    PlanModel {
        name: "trust: pools".into(),
        tensors,
        steps,
        input: 0,
        output: 4,
        arena_bytes,
        preprocess: Some(preprocess(1)),
        labels: vec!["a".into(), "b".into()],
    }
}

/// The memory optimisations the runtime accepts: a conv streamed into a max pool through 3
/// resident rows, then a conv whose output lies 32 bytes (two of its input rows, aligned)
/// below its input, overlapping it, then an average pool.
pub fn windows() -> PlanModel {
    let mut f = Fill(0x5EED_0005);
    let mut tensors = vec![
        t([8, 6, 3], 1),  // 0 input @ 0, 144 B
        t([8, 6, 4], -2), // 1 conv 3x3 pad 1, streamed: 3 rows of 24 B @ 144
        t([4, 3, 4], -2), // 2 maxpool 2x2/2 @ 256, 48 B
        t([4, 3, 4], 5),  // 3 conv 3x3 pad 1 @ 224: overlaps 2 from below
        t([2, 2, 4], 5),  // 4 avgpool 2x2/2 ceil, count_include_pad @ 304
    ];
    tensors[1].resident_rows = 3;
    for (t, off) in tensors.iter_mut().zip([0, 144, 256, 224, 304]) {
        t.offset = off;
    }
    let steps = vec![
        step(
            Op::Conv2d(sized(&mut f, conv([3, 3], [1, 1], [1, 1], [1, 1], 1), 3, 4)),
            vec![0],
            1,
        ),
        step(Op::MaxPool(pool(2, 2, 0)), vec![1], 2),
        step(
            Op::Conv2d(sized(&mut f, conv([3, 3], [1, 1], [1, 1], [1, 1], 1), 4, 4)),
            vec![2],
            3,
        ),
        step(
            Op::AvgPool(AvgPool {
                pool: pool(2, 2, 1),
                pad_end: [0, 0],
                count_include_pad: true,
            }),
            vec![3],
            4,
        ),
    ];
    PlanModel {
        name: "trust: windows".into(),
        tensors,
        steps,
        input: 0,
        output: 4,
        arena_bytes: 320,
        preprocess: None,
        labels: vec![],
    }
}

/// A zero-copy Concat (an Inception module in small): a 1×1 conv and a 3×3/1 max pool of the
/// input write straight into their channel slices of the Concat's output (views, pitch 7),
/// each through a scratch band (2 rows and 1 row), then an average pool reads the output.
pub fn views() -> PlanModel {
    let mut f = Fill(0x5EED_0006);
    let mut tensors = vec![
        t([6, 5, 4], 2), // 0 input @ 0, 120 B
        t([6, 5, 3], 2), // 1 conv 1x1: channels 0..3 of 3 @ 128 (pitch 7)
        t([6, 5, 4], 2), // 2 maxpool 3x3/1 pad 1: channels 3..7 of 3 @ 131 (pitch 7)
        t([6, 5, 7], 2), // 3 concat @ 128, 210 B
        t([3, 3, 7], 2), // 4 avgpool 2x2/2 ceil @ 0 (over the dead input)
    ];
    for (t, (off, pitch)) in tensors
        .iter_mut()
        .zip([(0, 0), (128, 7), (131, 7), (128, 0), (0, 0)])
    {
        t.offset = off;
        t.pitch = pitch;
    }
    let mut steps = vec![
        step(
            Op::Conv2d(sized(&mut f, conv([1, 1], [1, 1], [1, 1], [0, 0], 1), 4, 3)),
            vec![0],
            1,
        ),
        step(Op::MaxPool(pool(3, 1, 1)), vec![0], 2),
        step(Op::Concat, vec![1, 2], 3),
        step(
            Op::AvgPool(AvgPool {
                pool: pool(2, 2, 0),
                pad_end: [1, 1],
                count_include_pad: false,
            }),
            vec![3],
            4,
        ),
    ];
    // Scratch bands past the concat: 2 rows of the conv (30 B), 1 row of the pool (20 B).
    steps[0].scratch = (352, 30);
    steps[1].scratch = (384, 20);
    PlanModel {
        name: "trust: views".into(),
        tensors,
        steps,
        input: 0,
        output: 4,
        arena_bytes: 416,
        preprocess: None,
        labels: vec![],
    }
}

/// A square pooling window: `k`×`k`, stride `s`, padding `p`, no clamp.
fn pool(k: u16, s: u16, p: u16) -> Pool {
    Pool {
        kernel: [k, k],
        stride: [s, s],
        pad: [p, p],
        act_min: -128,
        act_max: 127,
    }
}

/// input 5×6×7 → dense 3×3 pad 1 (40 channels: two VNNI blocks, 63 taps: a partial group
/// of 4) → depthwise 3×3 (not packed) → dense 1×1 stride 2 (33 channels). Encoded with
/// [`PACKS`]: the two dense convs carry packs, wire version 4.
pub fn packed() -> PlanModel {
    let mut f = Fill(0x5EED_0007);
    let mut tensors = vec![
        t([5, 6, 7], 3),   // 0 input
        t([5, 6, 40], -9), // 1 conv 3×3
        t([5, 6, 40], 4),  // 2 depthwise 3×3
        t([3, 3, 33], 0),  // 3 conv 1×1 / 2
    ];
    let arena_bytes = lay_out(&mut tensors);
    let steps = vec![
        step(
            Op::Conv2d(sized(
                &mut f,
                conv([3, 3], [1, 1], [1, 1], [1, 1], 1),
                7,
                40,
            )),
            vec![0],
            1,
        ),
        step(
            Op::Conv2d(sized(
                &mut f,
                conv([3, 3], [1, 1], [1, 1], [1, 1], 40),
                40,
                40,
            )),
            vec![1],
            2,
        ),
        step(
            Op::Conv2d(sized(
                &mut f,
                conv([1, 1], [2, 2], [1, 1], [0, 0], 1),
                40,
                33,
            )),
            vec![2],
            3,
        ),
    ];
    PlanModel {
        name: "trust: packed".into(),
        tensors,
        steps,
        input: 0,
        output: 3,
        arena_bytes,
        preprocess: None,
        labels: Vec::new(),
    }
}

/// The packs the [`packed`] seed is encoded with.
pub const PACKS: &[PackKind] = &[PackKind::X86Vnni];

/// The packs the `packed_dsp` seed is encoded with: the Cortex-M DSP GEMM's (which the
/// host parses and checks, and ignores).
pub const DSP_PACKS: &[PackKind] = &[PackKind::CortexMDsp];

/// Every seed plan's blob, with a file-name stem: [`all`] encoded, and [`packed`] with
/// [`PACKS`] and with [`DSP_PACKS`].
pub fn all_blobs() -> Vec<(&'static str, Vec<u8>)> {
    let mut blobs: Vec<_> = all().into_iter().map(|(n, m)| (n, m.encode())).collect();
    blobs.push(("packed", packed().encode_with_packs(PACKS)));
    blobs.push(("packed_dsp", packed().encode_with_packs(DSP_PACKS)));
    blobs
}

/// Every seed plan, with a file-name stem.
pub fn all() -> Vec<(&'static str, PlanModel)> {
    vec![
        ("classic", classic()),
        ("mobile", mobile()),
        ("tiny", tiny()),
        ("pools", pools()),
        ("windows", windows()),
        ("views", views()),
    ]
}
