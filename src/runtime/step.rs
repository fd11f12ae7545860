//! Decoding and validating one step record into kernel parameters.
//!
//! [`decode_step`] is the single place where a step's bytes gain meaning. `Plan::parse`
//! calls it for every step (rejecting the plan on any fault); `Session::run` calls it again
//! to get the typed views (cheap: no loops over weights), so the run path never trusts an
//! unchecked number.

use super::error::StepFault;
use super::plan::{Ids, Plan, TensorInfo};
use crate::format::overlap::RowOverlap;
use crate::format::stream::StreamGeometry;
use crate::format::wire::{self, step as s, u16_at, u32_at, u8_at, OpCode};
use crate::kernels::{
    AddParams, AvgParams, Clamp, ConvParams, FcParams, I32s, LrnParams, Packed, Rescale, U32s,
    Window, NATIVE_PACKS,
};

/// A step's op with its parameters, read in place.
#[derive(Clone, Copy, Debug)]
pub(crate) enum OpView<'b> {
    Conv2d(ConvParams<'b>),
    FullyConnected(FcParams<'b>),
    MaxPool(Window, Clamp),
    AvgPool(AvgParams),
    Add(AddParams),
    Concat,
    Lrn(LrnParams<'b>),
    Softmax(U32s<'b>),
    Requantize(Rescale<'b>, Clamp),
}

/// A validated step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepView<'b> {
    pub code: OpCode,
    pub op: OpView<'b>,
    pub inputs: Ids<'b>,
    pub output: u16,
    pub scratch: (u32, u32),
    pub weight_bytes: usize,
    pub macs: u64,
    /// The output overlaps input 0 by rows ([`crate::format::overlap`]): run in bands.
    pub overlapped: bool,
}

type R<T> = Result<T, StepFault>;

fn ensure(ok: bool, fault: StepFault) -> R<()> {
    if ok {
        Ok(())
    } else {
        Err(fault)
    }
}

/// Rejects a shift outside `1..=62`.
fn rescale<'b>(mult: &'b [u8], shift: &'b [u8], n: usize) -> R<Rescale<'b>> {
    let multiplier = I32s::new(mult).ok_or(StepFault::Ref)?;
    let r = Rescale { multiplier, shift };
    ensure(
        r.fits(n) && shift.iter().all(|&v| (1..=62).contains(&v)),
        StepFault::Rescale,
    )?;
    Ok(r)
}

/// Output length along one axis is consistent with the window: at least the floor-mode
/// length with no end padding, at most the ceil-mode length (the last window starts inside
/// the input or the start padding).
fn axis_ok(n_in: u32, n_out: u32, k: u16, stride: u16, dil: u16, pad: u16) -> bool {
    let (n_in, n_out, k, st, d, p) = (
        n_in as u64,
        n_out as u64,
        k as u64,
        stride as u64,
        dil as u64,
        pad as u64,
    );
    if k == 0 || st == 0 || d == 0 {
        return false;
    }
    let eff = (k - 1) * d + 1;
    let min = if n_in + p >= eff {
        (n_in + p - eff) / st + 1
    } else {
        1
    };
    let max = (n_in + p - 1) / st + 1;
    (min..=max).contains(&n_out)
}

fn disjoint(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 + a.1 <= b.0 || b.0 + b.1 <= a.0
}

fn span(t: &TensorInfo) -> (u64, u64) {
    (t.offset as u64, t.len as u64)
}

/// Decodes step `i` of `plan`, checking it against the (already validated) tensor table.
pub(crate) fn decode_step<'b>(plan: &Plan<'b>, i: usize) -> R<StepView<'b>> {
    use StepFault as F;
    let rec = plan.step_record(i).ok_or(F::Truncated)?;
    let byte = |at| u8_at(rec, at).unwrap_or(0);
    let p = |k: usize| u16_at(rec, s::PARAMS + 2 * k).unwrap_or(0);
    let r = |k: usize| {
        plan.data_ref_in(rec, s::REFS + k * wire::REF_LEN)
            .ok_or(F::Ref)
    };
    let op_byte = byte(s::OP);
    let code = OpCode::from_u8(op_byte).ok_or(F::UnknownOp(op_byte))?;
    let clamp = Clamp {
        min: byte(s::ACT_MIN) as i8,
        max: byte(s::ACT_MAX) as i8,
    };
    ensure(clamp.min <= clamp.max, F::Window)?;
    let output = u16_at(rec, s::OUTPUT).ok_or(F::Truncated)?;
    let n_inputs = u16_at(rec, s::NUM_INPUTS).ok_or(F::Truncated)? as usize;
    let ids = plan.data_ref_in(rec, s::INPUTS).ok_or(F::Ref)?;
    ensure(ids.len() == n_inputs * 2, F::Ref)?;
    let inputs = Ids(ids);
    let scratch = (
        u32_at(rec, s::SCRATCH_OFFSET).unwrap_or(0),
        u32_at(rec, s::SCRATCH_LEN).unwrap_or(0),
    );

    let arity_ok = match code {
        OpCode::Add => n_inputs == 2,
        OpCode::Concat => n_inputs >= 1,
        _ => n_inputs == 1,
    };
    ensure(arity_ok, F::Arity)?;
    let y = plan.tensor(output).ok_or(F::UnknownTensor(output))?;
    let mut x = y;
    // A windowed op's output may overlap its (only) input by rows; checked below, once the
    // window is known.
    let windowed = matches!(code, OpCode::Conv2d | OpCode::MaxPool | OpCode::AvgPool);
    let mut overlapped = false;
    for (k, id) in inputs.iter().enumerate() {
        let t = plan.tensor(id).ok_or(F::UnknownTensor(id))?;
        if t.is_view() {
            // Only a Concat reads a view, as its slice of the output (checked below).
            ensure(code == OpCode::Concat, F::View)?;
            continue;
        }
        let in_place = span(&t) == span(&y) && matches!(code, OpCode::Add | OpCode::Requantize);
        if !(in_place || disjoint(span(&t), span(&y))) {
            ensure(windowed, F::Overlap)?;
            overlapped = true;
        }
        if k == 0 {
            x = t;
        }
    }
    if scratch.1 != 0 {
        let sc = (scratch.0 as u64, scratch.1 as u64);
        ensure(sc.0 + sc.1 <= plan.arena_bytes() as u64, F::Overlap)?;
        ensure(disjoint(sc, span(&y)), F::Overlap)?;
        for id in inputs.iter() {
            let t = plan.tensor(id).ok_or(F::UnknownTensor(id))?;
            ensure(disjoint(sc, span(&t)), F::Overlap)?;
        }
    }

    let [xh, xw, xc] = x.shape;
    let [yh, yw, yc] = y.shape;
    if y.is_view() {
        // Written in bands through the scratch, then scattered ([`crate::format::view`]).
        let row = u64::from(yw) * u64::from(yc);
        ensure(
            windowed && !overlapped && u64::from(scratch.1) >= row,
            F::View,
        )?;
    }
    // Every element, also of a streamed output (whose `len` is its resident rows).
    let out_len = (yh as u64) * (yw as u64) * (yc as u64);
    let window = || -> R<Window> {
        let w = Window {
            kernel: [p(s::P_KERNEL_H) as usize, p(s::P_KERNEL_W) as usize],
            stride: [p(s::P_STRIDE_H) as usize, p(s::P_STRIDE_W) as usize],
            dilation: [p(s::P_DILATION_H) as usize, p(s::P_DILATION_W) as usize],
            pad: [p(s::P_PAD_TOP) as usize, p(s::P_PAD_LEFT) as usize],
        };
        let ok_h = axis_ok(
            xh,
            yh,
            p(s::P_KERNEL_H),
            p(s::P_STRIDE_H),
            p(s::P_DILATION_H),
            p(s::P_PAD_TOP),
        );
        let ok_w = axis_ok(
            xw,
            yw,
            p(s::P_KERNEL_W),
            p(s::P_STRIDE_W),
            p(s::P_DILATION_W),
            p(s::P_PAD_LEFT),
        );
        let nonzero = w
            .kernel
            .iter()
            .chain(&w.stride)
            .chain(&w.dilation)
            .all(|&v| v >= 1);
        ensure(nonzero, F::Window)?;
        ensure(ok_h && ok_w, F::Shape)?;
        Ok(w)
    };
    let same_shape = || ensure(x.shape == y.shape, F::Shape);
    // Rows of an overlapping output never overwrite input rows still to be read.
    let rows_safe = |w: &Window| {
        let g = row_overlap(&x, &y, w);
        ensure(!overlapped || g.is_some_and(|g| g.is_safe()), F::Overlap)
    };

    let (op, weight_bytes, macs) = match code {
        OpCode::Conv2d => {
            let w = window()?;
            rows_safe(&w)?;
            let g = p(s::P_GROUPS) as u32;
            ensure(
                g >= 1 && xc.is_multiple_of(g) && yc.is_multiple_of(g),
                F::Groups,
            )?;
            let weights = r(s::R_WEIGHTS)?;
            let per_oc = (w.kernel[0] as u64) * (w.kernel[1] as u64) * (xc / g) as u64;
            ensure(
                Some(weights.len() as u64) == per_oc.checked_mul(yc as u64),
                F::Weights,
            )?;
            let bias = r(s::R_BIAS)?;
            ensure(bias.len() as u64 == 4 * yc as u64, F::Bias)?;
            let (m, sh) = (r(s::R_MULT)?, r(s::R_SHIFT)?);
            let rs = rescale(m, sh, yc as usize)?;
            let params = ConvParams {
                window: w,
                groups: g as usize,
                weights: bytemuck::cast_slice(weights),
                bias: I32s::new(bias).ok_or(F::Bias)?,
                rescale: rs,
                clamp,
                // Checked by `Plan::parse` once the steps are (no pack is found before).
                packed: NATIVE_PACKS.iter().find_map(|&kind| {
                    let b = plan.pack(i, kind)?;
                    Packed::new(kind, b, yc as usize, per_oc as usize)
                }),
            };
            // Saturating: on a 32-bit target four refs to one huge region could overflow.
            let wb = [bias.len(), m.len(), sh.len()]
                .iter()
                .fold(weights.len(), |a, &l| a.saturating_add(l));
            (OpView::Conv2d(params), wb, out_len.saturating_mul(per_oc))
        }
        OpCode::FullyConnected => {
            ensure(yh == 1 && yw == 1, F::Shape)?;
            let weights = r(s::R_WEIGHTS)?;
            ensure(weights.len() as u64 == x.len as u64 * yc as u64, F::Weights)?;
            let bias = r(s::R_BIAS)?;
            ensure(bias.len() as u64 == 4 * yc as u64, F::Bias)?;
            let (m, sh) = (r(s::R_MULT)?, r(s::R_SHIFT)?);
            let rs = rescale(m, sh, yc as usize)?;
            let params = FcParams {
                weights: bytemuck::cast_slice(weights),
                bias: I32s::new(bias).ok_or(F::Bias)?,
                rescale: rs,
                clamp,
            };
            // Saturating: on a 32-bit target four refs to one huge region could overflow.
            let wb = [bias.len(), m.len(), sh.len()]
                .iter()
                .fold(weights.len(), |a, &l| a.saturating_add(l));
            (OpView::FullyConnected(params), wb, weights.len() as u64)
        }
        OpCode::MaxPool | OpCode::AvgPool => {
            let w = window()?;
            rows_safe(&w)?;
            ensure(xc == yc, F::Shape)?;
            ensure(x.zero_point == y.zero_point, F::ZeroPoint)?;
            let macs = out_len.saturating_mul((w.kernel[0] * w.kernel[1]) as u64);
            if code == OpCode::MaxPool {
                (OpView::MaxPool(w, clamp), 0, macs)
            } else {
                ensure(w.dilation == [1, 1], F::Window)?;
                let a = AvgParams {
                    window: w,
                    pad_end: [p(s::P_PAD_BOTTOM) as usize, p(s::P_PAD_RIGHT) as usize],
                    count_include_pad: byte(s::FLAGS) & 1 != 0,
                    clamp,
                };
                (OpView::AvgPool(a), 0, macs)
            }
        }
        OpCode::Add => {
            let b = inputs
                .get(1)
                .and_then(|id| plan.tensor(id))
                .ok_or(F::Arity)?;
            ensure(x.shape == y.shape && b.shape == y.shape, F::Shape)?;
            let (m, sh) = (r(s::R_MULT)?, r(s::R_SHIFT)?);
            let rs = rescale(m, sh, 3)?;
            ensure(rs.len() == 3, F::Rescale)?;
            let a = AddParams {
                a: rs.at(0),
                b: rs.at(1),
                out: rs.at(2),
                clamp,
            };
            (OpView::Add(a), m.len().saturating_add(sh.len()), out_len)
        }
        OpCode::Concat => {
            let mut sum = 0u64;
            for id in inputs.iter() {
                let t = plan.tensor(id).ok_or(F::UnknownTensor(id))?;
                ensure(t.shape[0] == yh && t.shape[1] == yw, F::Shape)?;
                ensure(t.zero_point == y.zero_point, F::ZeroPoint)?;
                if t.is_view() {
                    // Exactly its slice of the output: channels `sum ..` of every pixel.
                    let at = u64::from(y.offset) + sum;
                    ensure(t.pitch == yc && u64::from(t.offset) == at, F::View)?;
                }
                sum += t.shape[2] as u64;
            }
            ensure(sum == yc as u64, F::Shape)?;
            (OpView::Concat, 0, out_len)
        }
        OpCode::Lrn => {
            same_shape()?;
            let size = p(s::P_LRN_SIZE);
            let shift = p(s::P_LRN_SHIFT);
            ensure(size >= 1, F::Window)?;
            ensure((1..=62).contains(&shift), F::Rescale)?;
            let lut = r(s::R_WEIGHTS)?;
            let lut32 = I32s::new(lut).ok_or(F::Lut)?;
            ensure(!lut32.is_empty(), F::Lut)?;
            let l = LrnParams {
                size: size as usize,
                lut: lut32,
                lut_shift: shift as u8,
            };
            (
                OpView::Lrn(l),
                lut.len(),
                out_len.saturating_mul(size as u64),
            )
        }
        OpCode::Softmax => {
            same_shape()?;
            let lut = r(s::R_WEIGHTS)?;
            let t = U32s::new(lut).ok_or(F::Lut)?;
            ensure(t.len() == 256 && t.get(0).unwrap_or(0) > 0, F::Lut)?;
            (OpView::Softmax(t), lut.len(), out_len)
        }
        OpCode::Requantize => {
            same_shape()?;
            let (m, sh) = (r(s::R_MULT)?, r(s::R_SHIFT)?);
            let rs = rescale(m, sh, 1)?;
            ensure(rs.len() == 1, F::Rescale)?;
            (
                OpView::Requantize(rs, clamp),
                m.len().saturating_add(sh.len()),
                out_len,
            )
        }
    };
    Ok(StepView {
        code,
        op,
        inputs,
        output,
        scratch,
        weight_bytes,
        macs,
        overlapped,
    })
}

/// The window of a conv or pool.
pub(crate) fn window_of(op: &OpView<'_>) -> Option<Window> {
    match op {
        OpView::Conv2d(p) => Some(p.window),
        OpView::MaxPool(w, _) => Some(*w),
        OpView::AvgPool(p) => Some(p.window),
        _ => None,
    }
}

/// The streaming geometry of producer `p` and consumer `c` of a streamed tensor, or `None`
/// when they are not two convs or pools chained through it with `p`'s input apart from
/// `c`'s output, neither of those streamed, neither step overlapped, and no view but `c`'s
/// output (whose bands go through `c`'s scratch, apart from `p`'s input).
pub(crate) fn stream_geometry(
    plan: &Plan<'_>,
    p: &StepView<'_>,
    c: &StepView<'_>,
) -> Option<StreamGeometry> {
    let x1 = plan.tensor(p.output)?;
    if c.inputs.len() != 1 || c.inputs.get(0)? != p.output || p.overlapped || c.overlapped {
        return None;
    }
    let x0 = plan.tensor(p.inputs.get(0)?)?;
    let x2 = plan.tensor(c.output)?;
    // Apart, neither streamed itself (no chains of streams), only `c`'s output maybe a view.
    if !disjoint(span(&x0), span(&x2))
        || x0.is_streamed()
        || x2.is_streamed()
        || x0.is_view()
        || x1.is_view()
    {
        return None;
    }
    // `c` writing a view runs its bands through its scratch while `x0` is still read.
    let scratch = (u64::from(c.scratch.0), u64::from(c.scratch.1));
    if x2.is_view() && !disjoint(scratch, span(&x0)) {
        return None;
    }
    Some(StreamGeometry {
        producer: row_overlap(&x0, &x1, &window_of(&p.op)?)?,
        consumer: row_overlap(&x1, &x2, &window_of(&c.op)?)?,
        resident: u64::from(x1.rows),
    })
}

/// The row geometry of a windowed step from input `x` to output `y` (see
/// [`crate::format::overlap`]); `None` if a number overflows.
pub(crate) fn row_overlap(x: &TensorInfo, y: &TensorInfo, w: &Window) -> Option<RowOverlap> {
    let g = RowOverlap::of_window(
        x.shape.map(u64::from),
        y.shape.map(u64::from),
        w.kernel[0] as u64,
        w.stride[0] as u64,
        w.dilation[0] as u64,
        w.pad[0] as u64,
    )?;
    Some(RowOverlap {
        in_offset: x.offset.into(),
        out_offset: y.offset.into(),
        ..g
    })
}
