//! The owned, in-memory meaning of a plan: what the compiler builds and the encoder writes.
//!
//! This is the host↔device contract in its readable form. [`PlanModel::encode`] turns it
//! into the wire blob that [`crate::runtime::Plan::parse`] reads on the device; the runtime
//! never needs these owned types (they live behind the `alloc` feature).
//!
//! # Conventions (fixed, every kernel and every pass relies on them)
//!
//! * Every activation tensor is **int8, NHWC with batch 1**, stored in the arena at
//!   [`TensorDesc::offset`]: element `(y, x, c)` is at byte `(y * w + x) * pitch + c`, where
//!   the pixel pitch is `c_total` (dense) except for a *view*, a tensor written straight into
//!   its channel slice of a Concat's output, whose pitch is the Concat's channel count
//!   ([`crate::format::view`]). A vector (after Flatten / Gemm) is `h = w = 1`.
//! * A real value is `scale * (q - zero_point)`. Scales are carried for the host only
//!   (dequantising for display, parity tests); the device never touches a float.
//! * Conv weights are int8, layout `[oc][kh][kw][ic / groups]`, symmetric per output channel
//!   (zero point 0). Fully-connected weights are `[out][in]`, `in` in NHWC flatten order of the
//!   input tensor (the compiler permutes torch's NCHW flatten order at compile time).
//! * Bias is int32 at scale `s_in * s_w[oc]`, zero point 0.
//! * [`Requant`]: a real multiplier `M` as `multiplier * 2^-shift`, see [`requantize`].
#![allow(clippy::module_name_repetitions)]

use alloc::string::String;
use alloc::vec::Vec;

/// A whole compiled plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanModel {
    /// Free text: the source model's file name and compiler version, shown by `inspect`.
    pub name: String,
    /// Every tensor the steps read or write, indexed by `u16` ids.
    pub tensors: Vec<TensorDesc>,
    /// The steps in execution order.
    pub steps: Vec<Step>,
    /// Id of the model's input tensor (the caller writes it before `run`).
    pub input: u16,
    /// Id of the model's output tensor (logits or probabilities, `h = w = 1`).
    pub output: u16,
    /// Bytes of arena the plan needs: every tensor and scratch buffer lies inside `0..arena_bytes`.
    pub arena_bytes: u32,
    /// How raw 8-bit pixels become the input tensor, if the plan was compiled from images.
    pub preprocess: Option<Preprocess>,
    /// Class names, index = class id. May be empty.
    pub labels: Vec<String>,
}

impl PlanModel {
    /// Encodes the plan into its wire blob (see [`crate::format`]); parse it back with
    /// [`crate::runtime::Plan::parse`], which rejects a model that breaks the contract.
    pub fn encode(&self) -> Vec<u8> {
        super::wire::encode(self, &[])
    }

    /// [`encode`](Self::encode), with every dense conv's weights also packed for each
    /// kernel of `packs` ([`crate::format::pack`]): a kernel that finds its pack reads it
    /// in place instead of repacking the weights on every call. The plan grows by about
    /// its conv weights per kind and still runs everywhere with the same bytes; a plan
    /// with a pack is wire version 4.
    pub fn encode_with_packs(&self, packs: &[super::pack::PackKind]) -> Vec<u8> {
        super::wire::encode(self, packs)
    }
}

/// One tensor: its shape, where it lives in the arena, how to read its bytes as reals.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorDesc {
    /// Height, width, channels (NHWC, batch 1).
    pub shape: [u32; 3],
    /// Byte offset in the arena. The tensor occupies `offset .. offset + arena_len()`.
    pub offset: u32,
    /// Real value of one quantisation step (host-side information only).
    pub scale: f32,
    /// The int8 value that represents real 0.
    pub zero_point: i8,
    /// Rows resident in the arena: 0 for the whole tensor (every tensor but a streamed one);
    /// else the tensor flows between its producer and its one consumer through a buffer of
    /// this many rows at `offset` ([`crate::format::stream`]).
    pub resident_rows: u32,
    /// Bytes from one pixel to the next: 0 for a dense tensor (pitch = channels); else the
    /// tensor is a *view*, its channels a slice of each pixel of a Concat's output
    /// ([`crate::format::view`]).
    pub pitch: u32,
}

impl TensorDesc {
    /// Number of int8 elements (= bytes).
    pub fn len(&self) -> usize {
        self.shape.iter().map(|&d| d as usize).product()
    }
    /// Bytes the tensor spans in the arena: all of them, its resident rows, or for a view
    /// from its first element to its last (its siblings' channels in between).
    pub fn arena_len(&self) -> usize {
        let rows = if self.resident_rows == 0 {
            self.shape[0]
        } else {
            self.resident_rows.min(self.shape[0])
        };
        super::view::tensor_bytes(self.shape, rows, self.pitch).unwrap_or(u64::MAX) as usize
    }
    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a `u8` image (HWC, interleaved, already resized to the input's `h × w`) becomes the
/// int8 input tensor: `input[y][x][c] = lut[c][pixel[y][x][c]]`. The compiler folds the
/// user's `--scale/--mean/--std` and the input quantisation into this table, so the device
/// preprocesses with one table look-up per byte and no float.
#[derive(Clone, Debug, PartialEq)]
pub struct Preprocess {
    /// One 256-entry table per input channel (`lut.len() == c`).
    pub lut: Vec<[i8; 256]>,
    /// The float recipe the table was built from, kept for the host (`image` feature) and
    /// for `inspect`: `real = (pixel * scale - mean[c]) / std[c]`.
    pub scale: f32,
    /// Per-channel mean (after `scale`).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation (after `scale`).
    pub std: Vec<f32>,
    /// The source model's input layout (for `.npy` inputs given in the model's own layout).
    pub source_layout: Layout,
}

pub use super::Layout;

/// A fixed-point per-channel (or single) rescale, see [`requantize`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requant {
    /// Q31 multipliers in `[2^30, 2^31)`, or 0. One per output channel (or one for all).
    pub multiplier: Vec<i32>,
    /// Right shifts in `1..=62`, same length as `multiplier`.
    pub shift: Vec<u8>,
}

/// One step of the plan: an op, the tensors it reads, the tensor it writes, its scratch.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// What to compute.
    pub op: Op,
    /// Input tensor ids (order is op-specific).
    pub inputs: Vec<u16>,
    /// Output tensor id.
    pub output: u16,
    /// Scratch bytes in the arena `(offset, len)`; `len == 0` means none. Sized by
    /// [`crate::kernels::scratch_bytes`] for the op.
    pub scratch: (u32, u32),
}

/// The closed set of ops the runtime executes. Each is defined exactly here; every kernel
/// (reference or SIMD) must produce these bytes.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // host-side only; a few plans' worth of steps
pub enum Op {
    /// 2-D convolution (also depthwise / grouped). Inputs: `[x]`.
    ///
    /// ```text
    /// acc[oy][ox][oc] = bias[oc] + Σ_{ky,kx,ic'} w[oc][ky][kx][ic'] * (x[iy][ix][g*icg+ic'] - x_zp)
    ///   iy = oy*stride_h - pad_top + ky*dilation_h, ix likewise; positions outside the input
    ///   contribute nothing (padding is the zero point); g = oc / (oc_total / groups), icg = ic_total / groups
    /// out = clamp(requantize(acc, mult[oc], shift[oc]) + out_zp, act_min, act_max)
    /// ```
    /// Output height/width are the output tensor's (the compiler resolves ceil mode and
    /// asymmetric pads into them; bottom/right padding is implied).
    Conv2d(Conv2d),
    /// Fully connected: the input tensor read flat (NHWC order), `out[o] = clamp(requantize(
    /// bias[o] + Σ_i w[o][i] * (x[i] - x_zp)) + out_zp, act_min, act_max)`. Inputs: `[x]`.
    FullyConnected(FullyConnected),
    /// Max pooling over valid (non-padded) window positions, then clamp. Input and output
    /// share scale and zero point. Inputs: `[x]`.
    MaxPool(Pool),
    /// Average pooling; input and output share scale and zero point. Inputs: `[x]`.
    ///
    /// ```text
    /// sum = Σ_{valid positions} (x - zp);  n = count (see `count_include_pad`)
    /// out = clamp(zp + div_round(sum, n), act_min, act_max)   // div_round: round half away from zero
    /// ```
    AvgPool(AvgPool),
    /// Elementwise sum of two same-shape tensors, each at its own scale. Inputs: `[a, b]`.
    ///
    /// ```text
    /// a' = requantize((a - a_zp) << 20, a_mult, a_shift); b' likewise
    /// out = clamp(requantize(a' + b', out_mult, out_shift) + out_zp, act_min, act_max)
    /// ```
    Add(Add),
    /// Concatenation along channels. Every input has the output's scale and zero point
    /// (the compiler guarantees it), so this is a pure byte copy. Inputs: `[x0, x1, …]`.
    /// An input that is a view of its slice of the output ([`crate::format::view`]) was
    /// written there by its producer and is not copied: with every input a view, the
    /// Concat costs nothing.
    Concat,
    /// Local response normalisation across channels (AlexNet, GoogLeNet). Inputs: `[x]`.
    ///
    /// ```text
    /// d = x - x_zp;  ss = Σ_{c' in [c - (size-1)/2, c + size/2] ∩ [0, C)} d[c']^2   (u32)
    /// out = clamp(round_shift(d * lut[bucket(ss)], lut_shift) + out_zp, -128, 127)
    /// bucket(ss) = ss if ss < 64, else 64 + (e - 6) * 32 + ((ss >> (e - 5)) & 31), e = floor(log2 ss),
    ///              saturated to lut.len() - 1
    /// round_shift(v, s) = (v + (1 << (s - 1))) >> s   (i64, arithmetic)
    /// ```
    Lrn(Lrn),
    /// Softmax over the channel axis of every pixel; output scale 1/256, zero point -128.
    /// Inputs: `[x]`.
    ///
    /// ```text
    /// d = max_c(x) - x;  e = exp_lut[d] (u32, d in 0..=255);  s = Σ_c e (u64)
    /// out = clamp((e * 512 + s) / (2 s) - 128, -128, 127)
    /// ```
    Softmax(Softmax),
    /// `out = clamp(requantize(x - x_zp, mult, shift) + out_zp, act_min, act_max)`: a change of
    /// scale (and a standalone ReLU when `mult`/`shift` is the identity). Inputs: `[x]`.
    Requantize(Requantize),
}

/// Parameters of [`Op::Conv2d`].
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d {
    /// Kernel height and width.
    pub kernel: [u16; 2],
    /// Stride (h, w).
    pub stride: [u16; 2],
    /// Dilation (h, w).
    pub dilation: [u16; 2],
    /// Padding before the first row / column (top, left).
    pub pad: [u16; 2],
    /// Groups (1 = dense, `ic` = depthwise).
    pub groups: u16,
    /// Weights `[oc][kh][kw][ic / groups]`.
    pub weights: Vec<i8>,
    /// Bias per output channel.
    pub bias: Vec<i32>,
    /// Per-output-channel requantisation (`s_in * s_w[oc] / s_out`).
    pub requant: Requant,
    /// Fused activation: lower clamp (e.g. the zero point for a fused ReLU).
    pub act_min: i8,
    /// Fused activation: upper clamp.
    pub act_max: i8,
}

/// Parameters of [`Op::FullyConnected`].
#[derive(Clone, Debug, PartialEq)]
pub struct FullyConnected {
    /// Weights `[out][in]`.
    pub weights: Vec<i8>,
    /// Bias per output.
    pub bias: Vec<i32>,
    /// Per-output requantisation.
    pub requant: Requant,
    /// Fused activation lower clamp.
    pub act_min: i8,
    /// Fused activation upper clamp.
    pub act_max: i8,
}

/// Parameters of [`Op::MaxPool`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    /// Window height and width.
    pub kernel: [u16; 2],
    /// Stride (h, w).
    pub stride: [u16; 2],
    /// Padding before the first row / column (top, left).
    pub pad: [u16; 2],
    /// Fused activation lower clamp.
    pub act_min: i8,
    /// Fused activation upper clamp.
    pub act_max: i8,
}

/// Parameters of [`Op::AvgPool`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvgPool {
    /// Window, stride, padding, clamp.
    pub pool: Pool,
    /// Padding at the end (bottom, right), needed for the divisor only.
    pub pad_end: [u16; 2],
    /// ONNX `count_include_pad`: when true, `n` counts window positions inside the
    /// *padded* input (`-pad .. in + pad_end`); when false only those inside the input.
    pub count_include_pad: bool,
}

/// Parameters of [`Op::Add`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Add {
    /// Rescale of input `a` (one entry).
    pub a: Requant,
    /// Rescale of input `b` (one entry).
    pub b: Requant,
    /// Rescale of the sum to the output (one entry).
    pub out: Requant,
    /// Fused activation lower clamp.
    pub act_min: i8,
    /// Fused activation upper clamp.
    pub act_max: i8,
}

/// Parameters of [`Op::Lrn`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lrn {
    /// Window size across channels.
    pub size: u16,
    /// Fixed-point factor table, see [`Op::Lrn`] (640 entries cover `ss < 2^24`).
    pub lut: Vec<i32>,
    /// Right shift applied after the multiply.
    pub lut_shift: u8,
}

/// Parameters of [`Op::Softmax`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Softmax {
    /// `exp_lut[d] = round(exp(-d * s_in) * 2^20)`.
    pub exp_lut: [u32; 256],
}

/// Parameters of [`Op::Requantize`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requantize {
    /// One entry.
    pub requant: Requant,
    /// Clamp lower bound.
    pub act_min: i8,
    /// Clamp upper bound.
    pub act_max: i8,
}

pub use super::math::requantize;

#[cfg(feature = "std")]
/// Splits a positive real multiplier into `(multiplier, shift)` for [`requantize`].
///
/// Returns `(0, 31)` for `m <= 0` or non-finite, and saturates multipliers too large or too
/// small for the representable shift range. Host-side (float) helper for the compiler.
#[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(m > 0.0)` also rejects NaN, on purpose
pub fn quantize_multiplier(m: f64) -> (i32, u8) {
    if !(m > 0.0) || !m.is_finite() {
        return (0, 31);
    }
    // m = frac * 2^exp with frac in [0.5, 1)
    let mut exp = m.log2().floor() as i32 + 1;
    let mut q = (m / 2f64.powi(exp) * (1u64 << 31) as f64).round() as i64;
    if q == 1i64 << 31 {
        q /= 2;
        exp += 1;
    }
    let shift = 31 - exp;
    if shift < 1 {
        return (i32::MAX, 1);
    }
    if shift > 62 {
        return (0, 31);
    }
    (q as i32, shift as u8)
}
