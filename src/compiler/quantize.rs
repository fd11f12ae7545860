//! Float graph + ranges → int8 steps (still on ir tensor ids, no memory yet).
//!
//! * Activations: per tensor, asymmetric int8 over the calibrated range widened to hold 0:
//!   `scale = (hi - lo) / 255`, `zero_point = round(-128 - lo / scale)`.
//! * Tensors that must share parameters (the contract's pools and Concat) are grouped with
//!   a union-find and get the union of their ranges. Softmax outputs are fixed at 1/256, -128.
//! * Weights: symmetric per output channel (`max |w| / 127`), bias int32 at `s_in * s_w`.
//! * Rescales through [`quantize_multiplier`]; fused clamps become `act_min` / `act_max`.
//! * LRN and Softmax tables as defined in [`crate::format::model::Op`].
//! * The preprocess table maps each `u8` pixel straight to the int8 input.

use std::collections::HashMap;

use super::ir::{self, Clamp, Graph, TensorId};
use super::{CompileError, PreprocessSpec};
use crate::format::model::{self as m, quantize_multiplier, Layout, Requant};

/// Scale and zero point of an int8 tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    /// Real value of one step.
    pub scale: f32,
    /// Integer representing real 0.
    pub zero_point: i8,
}

impl QParams {
    /// Asymmetric parameters covering `[lo, hi]` (widened to include 0).
    pub fn from_range(lo: f32, hi: f32) -> QParams {
        let lo = lo.min(0.0) as f64;
        let mut hi = hi.max(0.0) as f64;
        if hi - lo < 1e-8 {
            hi = lo + 1e-8;
        }
        let scale = (hi - lo) / 255.0;
        let zp = (-128.0 - lo / scale).round().clamp(-128.0, 127.0) as i8;
        QParams {
            scale: scale as f32,
            zero_point: zp,
        }
    }

    /// The int8 nearest to real `v` (saturating).
    pub fn quantize(&self, v: f32) -> i8 {
        ((v / self.scale).round() + self.zero_point as f32).clamp(-128.0, 127.0) as i8
    }

    /// `(act_min, act_max)` for a fused clamp on a tensor with these parameters.
    pub fn clamp(&self, c: Clamp) -> (i8, i8) {
        let lo = if c.min.is_finite() {
            self.quantize(c.min)
        } else {
            -128
        };
        let hi = if c.max.is_finite() {
            self.quantize(c.max)
        } else {
            127
        };
        (lo, hi.max(lo))
    }
}

/// One int8 step on ir tensor ids.
#[derive(Clone, Debug, PartialEq)]
pub struct QStep {
    /// Source node name (for reports).
    pub name: String,
    /// The op with all its integer parameters.
    pub op: m::Op,
    /// Input tensors.
    pub inputs: Vec<TensorId>,
    /// Output tensor.
    pub output: TensorId,
}

/// The quantised model before memory planning.
#[derive(Clone, Debug)]
pub struct QModel {
    /// `[h, w, c]` of every ir tensor (unused ones too).
    pub shapes: Vec<[usize; 3]>,
    /// Parameters of every tensor a step touches.
    pub params: HashMap<TensorId, QParams>,
    /// Steps in execution order.
    pub steps: Vec<QStep>,
    /// Input tensor.
    pub input: TensorId,
    /// Output tensor.
    pub output: TensorId,
    /// Pixel table, if compiled for images.
    pub preprocess: Option<m::Preprocess>,
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, x: usize) -> usize {
        let mut r = x;
        while self.0[r] != r {
            r = self.0[r];
        }
        let mut y = x;
        while self.0[y] != r {
            let n = self.0[y];
            self.0[y] = r;
            y = n;
        }
        r
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra] = rb;
        }
    }
}

fn requant(ms: &[f64]) -> Requant {
    let (multiplier, shift) = ms.iter().map(|&x| quantize_multiplier(x)).unzip();
    Requant { multiplier, shift }
}

fn u16_of(v: usize, what: &str, node: &str) -> Result<u16, CompileError> {
    u16::try_from(v)
        .map_err(|_| CompileError::Other(format!("node `{node}`: {what} {v} exceeds 65535")))
}

fn u16x2(v: [usize; 2], what: &str, node: &str) -> Result<[u16; 2], CompileError> {
    Ok([u16_of(v[0], what, node)?, u16_of(v[1], what, node)?])
}

/// Largest bias magnitude in accumulator units, leaving headroom for the products.
const BIAS_LIMIT: f64 = (1u64 << 28) as f64;

/// Per-output-channel symmetric int8 weights, int32 bias, requant, for `n` outputs.
fn quantize_weights(
    weights: &[f32],
    bias: &[f32],
    s_in: f32,
    s_out: f32,
) -> (Vec<i8>, Vec<i32>, Requant) {
    let n = bias.len();
    let per = weights.len() / n.max(1);
    let mut wq = Vec::with_capacity(weights.len());
    let mut bq = Vec::with_capacity(n);
    let mut ms = Vec::with_capacity(n);
    for o in 0..n {
        let row = &weights[o * per..(o + 1) * per];
        let max = row.iter().fold(0f32, |a, &w| a.max(w.abs()));
        let s_w = if max > 0.0 { max as f64 / 127.0 } else { 1.0 };
        // A bias too large for an int32 at s_in * s_w (the input range is tiny next to it)
        // coarsens the weights instead: the bias then dominates the output anyway.
        let s_w = s_w.max(bias[o].abs() as f64 / (s_in as f64 * BIAS_LIMIT));
        wq.extend(
            row.iter()
                .map(|&w| (w as f64 / s_w).round().clamp(-127.0, 127.0) as i8),
        );
        let s_acc = s_in as f64 * s_w;
        bq.push(
            (bias[o] as f64 / s_acc)
                .round()
                .clamp(i32::MIN as f64, i32::MAX as f64) as i32,
        );
        ms.push(s_acc / s_out as f64);
    }
    (wq, bq, requant(&ms))
}

/// LRN factor table and shift (see [`m::Op::Lrn`]).
pub fn lrn_table(
    size: usize,
    alpha: f32,
    beta: f32,
    bias: f32,
    s_in: f32,
    s_out: f32,
) -> (Vec<i32>, u8) {
    let ratio = s_in as f64 / s_out as f64;
    let f = |ss: f64| {
        ratio
            * (bias as f64 + alpha as f64 / size as f64 * (s_in as f64).powi(2) * ss)
                .powf(-beta as f64)
    };
    let max_factor = f(0.0).max(1e-30);
    let shift = ((1u64 << 30) as f64 / max_factor)
        .log2()
        .floor()
        .clamp(1.0, 62.0) as u8;
    let max_ss = (size as u64) * 255 * 255;
    let len = lrn_bucket(max_ss as u32) + 1;
    let lut = (0..len)
        .map(|b| {
            let ss = if b < 64 {
                b as f64
            } else {
                let e = 6 + (b - 64) / 32;
                let j = (b - 64) % 32;
                (1u64 << e) as f64 + (j as f64 + 0.5) * (1u64 << (e - 5)) as f64
            };
            (f(ss) * (shift as f64).exp2())
                .round()
                .clamp(0.0, i32::MAX as f64) as i32
        })
        .collect();
    (lut, shift)
}

/// The LRN bucket of a sum of squares (unsaturated), as the contract defines it.
pub fn lrn_bucket(ss: u32) -> usize {
    if ss < 64 {
        return ss as usize;
    }
    let e = 31 - ss.leading_zeros();
    64 + (e as usize - 6) * 32 + ((ss >> (e - 5)) & 31) as usize
}

/// Softmax exp table for an input scale.
pub fn softmax_table(s_in: f32) -> [u32; 256] {
    let mut t = [0u32; 256];
    for (d, v) in t.iter_mut().enumerate() {
        *v = ((-(d as f64) * s_in as f64).exp() * (1u64 << 20) as f64).round() as u32;
    }
    t
}

/// Expands a 1-or-C list to C entries.
fn per_channel(v: &[f32], c: usize, what: &str) -> Result<Vec<f32>, CompileError> {
    match v.len() {
        1 => Ok(vec![v[0]; c]),
        n if n == c => Ok(v.to_vec()),
        n => Err(CompileError::Other(format!(
            "preprocess: {what} has {n} values for {c} input channels"
        ))),
    }
}

/// Builds the preprocess table and the input range it implies.
fn preprocess(
    spec: &PreprocessSpec,
    c: usize,
    layout: Layout,
) -> Result<(m::Preprocess, f32, f32), CompileError> {
    let mean = per_channel(&spec.mean, c, "mean")?;
    let std = per_channel(&spec.std, c, "std")?;
    if std.iter().any(|&s| s == 0.0 || !s.is_finite()) {
        return Err(CompileError::Other(
            "preprocess: std must be finite and non-zero".into(),
        ));
    }
    let real = |ch: usize, p: usize| (p as f32 * spec.scale - mean[ch]) / std[ch];
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for ch in 0..c {
        for p in [0, 255] {
            lo = lo.min(real(ch, p));
            hi = hi.max(real(ch, p));
        }
    }
    let q = QParams::from_range(lo, hi);
    let lut = (0..c)
        .map(|ch| {
            let mut t = [0i8; 256];
            for (p, v) in t.iter_mut().enumerate() {
                *v = q.quantize(real(ch, p));
            }
            t
        })
        .collect();
    Ok((
        m::Preprocess {
            lut,
            scale: spec.scale,
            mean,
            std,
            source_layout: layout,
        },
        lo,
        hi,
    ))
}

/// Below this ratio of output to input range width, an average pool is worth its own output
/// parameters (a global average pool typically has a third of its input's range).
const NARROW_POOL: f32 = 0.75;

/// An average pool whose windows all lie inside the input (constant divisor) and whose
/// output range is much narrower than its input's becomes a depthwise convolution with
/// weights `1 / (kh * kw)` (exact in int8: one weight value per channel, scale folded into
/// the requant), so its output gets its own, finer, parameters instead of the input's.
fn narrow_avgpools(g: &Graph, ranges: &HashMap<TensorId, (f32, f32)>) -> Graph {
    let mut g = g.clone();
    let width = |t: TensorId| ranges.get(&t).map(|&(lo, hi)| hi.max(0.0) - lo.min(0.0));
    for node in &mut g.nodes {
        let ir::Op::AvgPool { window, act, .. } = &node.op else {
            continue;
        };
        let x = node.inputs[0];
        let ([ih, iw, c], [oh, ow, _]) = (g.tensors[x].shape, g.tensors[node.output].shape);
        let [kh, kw] = window.kernel;
        let inside = window.pad == [0; 4]
            && oh.saturating_sub(1) * window.stride[0] + kh <= ih
            && ow.saturating_sub(1) * window.stride[1] + kw <= iw;
        let narrow = match (width(x), width(node.output)) {
            (Some(wi), Some(wo)) => wo < NARROW_POOL * wi,
            _ => false,
        };
        if inside && narrow {
            node.op = ir::Op::Conv(ir::Conv {
                kernel: window.kernel,
                stride: window.stride,
                dilation: [1, 1],
                pad: [0; 4],
                groups: c,
                weights: vec![1.0 / (kh * kw) as f32; c * kh * kw],
                bias: vec![0.0; c],
                act: *act,
            });
        }
    }
    g
}

/// Quantises `g` with activation ranges `ranges` (`[lo, hi]` per tensor).
pub fn quantize(
    g: &Graph,
    ranges: &HashMap<TensorId, (f32, f32)>,
    spec: Option<&PreprocessSpec>,
    layout: Layout,
) -> Result<QModel, CompileError> {
    let g = &narrow_avgpools(g, ranges);
    let n = g.tensors.len();
    let mut uf = UnionFind((0..n).collect());
    for node in &g.nodes {
        match node.op {
            ir::Op::MaxPool(..) | ir::Op::AvgPool { .. } | ir::Op::Concat => {
                for &i in &node.inputs {
                    uf.union(i, node.output);
                }
            }
            _ => {}
        }
    }
    let mut ranges = ranges.clone();
    let pre = match spec {
        Some(s) => {
            let (p, lo, hi) = preprocess(s, g.tensors[g.input].shape[2], layout)?;
            ranges.insert(g.input, (lo, hi));
            Some(p)
        }
        None => None,
    };
    // Union ranges per group.
    let mut group: HashMap<usize, (f32, f32)> = HashMap::new();
    for (&t, &(lo, hi)) in &ranges {
        let r = uf.find(t);
        let e = group.entry(r).or_insert((f32::INFINITY, f32::NEG_INFINITY));
        e.0 = e.0.min(lo);
        e.1 = e.1.max(hi);
    }
    let softmax_q = QParams {
        scale: 1.0 / 256.0,
        zero_point: -128,
    };
    let mut fixed: HashMap<usize, QParams> = HashMap::new();
    for node in &g.nodes {
        if matches!(node.op, ir::Op::Softmax) {
            let r = uf.find(node.output);
            if (0..n).any(|t| t != node.output && uf.find(t) == r) {
                return Err(CompileError::Other(format!(
                    "node `{}`: a softmax output cannot share parameters with a pool or concat",
                    node.name
                )));
            }
            fixed.insert(r, softmax_q);
        }
    }
    if let Some(p) = &pre {
        // the input's parameters are those the table was built with
        let (lo, hi) = ranges[&g.input];
        let r = uf.find(g.input);
        let members = (0..n).filter(|&t| uf.find(t) == r).count();
        if members > 1 {
            let (glo, ghi) = group[&r];
            if glo < lo || ghi > hi {
                return Err(CompileError::Other(
                    "the model input shares parameters with a pool or concat of a wider range"
                        .into(),
                ));
            }
        }
        let _ = p;
        fixed.insert(r, QParams::from_range(lo, hi));
    }
    let mut params: HashMap<TensorId, QParams> = HashMap::new();
    let mut param_of = |t: TensorId, uf: &mut UnionFind| -> Result<QParams, CompileError> {
        if let Some(p) = params.get(&t) {
            return Ok(*p);
        }
        let r = uf.find(t);
        let q = match fixed.get(&r) {
            Some(q) => *q,
            None => {
                let (lo, hi) = group.get(&r).copied().ok_or_else(|| {
                    CompileError::Other(format!(
                        "internal: no range for tensor `{}`",
                        g.tensors[t].name
                    ))
                })?;
                QParams::from_range(lo, hi)
            }
        };
        params.insert(t, q);
        Ok(q)
    };
    let mut steps = vec![];
    for node in &g.nodes {
        let x = node.inputs[0];
        let qi = param_of(x, &mut uf)?;
        let qo = param_of(node.output, &mut uf)?;
        for &i in &node.inputs[1..] {
            param_of(i, &mut uf)?;
        }
        let name = node.name.as_str();
        let op = match &node.op {
            ir::Op::Conv(c) => {
                let (weights, bias, requant) =
                    quantize_weights(&c.weights, &c.bias, qi.scale, qo.scale);
                let (act_min, act_max) = qo.clamp(c.act);
                let p = c.pad;
                m::Op::Conv2d(m::Conv2d {
                    kernel: u16x2(c.kernel, "kernel", name)?,
                    stride: u16x2(c.stride, "stride", name)?,
                    dilation: u16x2(c.dilation, "dilation", name)?,
                    pad: u16x2([p[0], p[1]], "padding", name)?,
                    groups: u16_of(c.groups, "groups", name)?,
                    weights,
                    bias,
                    requant,
                    act_min,
                    act_max,
                })
            }
            ir::Op::Dense(d) => {
                let (weights, bias, requant) =
                    quantize_weights(&d.weights, &d.bias, qi.scale, qo.scale);
                let (act_min, act_max) = qo.clamp(d.act);
                m::Op::FullyConnected(m::FullyConnected {
                    weights,
                    bias,
                    requant,
                    act_min,
                    act_max,
                })
            }
            ir::Op::MaxPool(w, act) => {
                let (act_min, act_max) = qo.clamp(*act);
                m::Op::MaxPool(m::Pool {
                    kernel: u16x2(w.kernel, "kernel", name)?,
                    stride: u16x2(w.stride, "stride", name)?,
                    pad: u16x2([w.pad[0], w.pad[1]], "padding", name)?,
                    act_min,
                    act_max,
                })
            }
            ir::Op::AvgPool {
                window: w,
                count_include_pad,
                act,
            } => {
                let (act_min, act_max) = qo.clamp(*act);
                m::Op::AvgPool(m::AvgPool {
                    pool: m::Pool {
                        kernel: u16x2(w.kernel, "kernel", name)?,
                        stride: u16x2(w.stride, "stride", name)?,
                        pad: u16x2([w.pad[0], w.pad[1]], "padding", name)?,
                        act_min,
                        act_max,
                    },
                    pad_end: u16x2([w.pad[2], w.pad[3]], "padding", name)?,
                    count_include_pad: *count_include_pad,
                })
            }
            ir::Op::Add(act) => {
                let qb = param_of(node.inputs[1], &mut uf)?;
                let s_c = qi.scale.max(qb.scale) as f64;
                let (act_min, act_max) = qo.clamp(*act);
                m::Op::Add(m::Add {
                    a: requant(&[qi.scale as f64 / s_c]),
                    b: requant(&[qb.scale as f64 / s_c]),
                    out: requant(&[s_c / ((1u64 << 20) as f64 * qo.scale as f64)]),
                    act_min,
                    act_max,
                })
            }
            ir::Op::Concat => m::Op::Concat,
            ir::Op::Lrn {
                size,
                alpha,
                beta,
                bias,
            } => {
                let (lut, lut_shift) = lrn_table(*size, *alpha, *beta, *bias, qi.scale, qo.scale);
                m::Op::Lrn(m::Lrn {
                    size: u16_of(*size, "size", name)?,
                    lut,
                    lut_shift,
                })
            }
            ir::Op::Softmax => m::Op::Softmax(m::Softmax {
                exp_lut: softmax_table(qi.scale),
            }),
            ir::Op::Clamp(c) => {
                let (act_min, act_max) = qo.clamp(*c);
                m::Op::Requantize(m::Requantize {
                    requant: requant(&[qi.scale as f64 / qo.scale as f64]),
                    act_min,
                    act_max,
                })
            }
            ir::Op::Affine { .. } | ir::Op::Pad { .. } => {
                return Err(CompileError::Other(format!(
                    "internal: unfolded {} `{name}`",
                    node.op.name()
                )))
            }
        };
        steps.push(QStep {
            name: node.name.clone(),
            op,
            inputs: node.inputs.clone(),
            output: node.output,
        });
    }
    param_of(g.input, &mut uf)?;
    Ok(QModel {
        shapes: g.tensors.iter().map(|t| t.shape).collect(),
        params,
        steps,
        input: g.input,
        output: g.output,
        preprocess: pre,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_cover_range_and_zero() {
        let q = QParams::from_range(0.0, 6.0);
        assert_eq!(q.zero_point, -128);
        assert_eq!(q.quantize(0.0), -128);
        assert_eq!(q.quantize(6.0), 127);
        let q = QParams::from_range(-1.0, 1.0);
        assert_eq!(q.quantize(0.0), q.zero_point);
        let q = QParams::from_range(0.0, 0.0);
        assert!(q.scale > 0.0);
    }

    #[test]
    fn lrn_buckets_match_the_contract() {
        assert_eq!(lrn_bucket(63), 63);
        assert_eq!(lrn_bucket(64), 64);
        assert_eq!(lrn_bucket(66), 65);
        assert_eq!(lrn_bucket(127), 95);
        assert_eq!(lrn_bucket(128), 96);
        // strictly increasing table index with ss, table values non-increasing
        let (lut, shift) = lrn_table(5, 1e-4, 0.75, 2.0, 0.05, 0.04);
        assert!(lut.windows(2).all(|w| w[0] >= w[1]));
        assert!(lut[0] > 1 << 20 && shift >= 1);
        assert_eq!(lut.len(), lrn_bucket(5 * 255 * 255) + 1);
    }

    #[test]
    fn softmax_table_starts_at_one() {
        let t = softmax_table(0.1);
        assert_eq!(t[0], 1 << 20);
        assert!(t[255] < t[1]);
    }
}
