//! Portable reference kernels: the definition of every op's bytes (see `format::model`).
//!
//! Written for speed within safe Rust: i32 accumulators, inner loops are zipped iterators
//! over contiguous slices (the `kw × ic` run of an NHWC conv row is contiguous when
//! `groups == 1` and `dilation_w == 1`), padding handled by clipping the window per output
//! position (no padded copies), no scratch. Sub-slices are taken with checked `get`s; a
//! shape mismatch that slipped past the entry checks would yield an empty slice, not a panic.

use super::{AddParams, AvgParams, Clamp, ConvParams, FcParams, In, KernelError, LrnParams, Out};
use super::{Operand, Rescale, U32s, Window};
use crate::format::math::requantize;

/// `s[start .. start + len]`, or empty when out of range.
#[inline(always)]
pub(super) fn sub(s: &[i8], start: usize, len: usize) -> &[i8] {
    start
        .checked_add(len)
        .and_then(|end| s.get(start..end))
        .unwrap_or(&[])
}

/// `Σ w[i] * (x[i] - zp)` over the common length, i32 wrapping (cannot wrap for runs shorter
/// than 65 793 elements).
#[inline(always)]
fn dot(w: &[i8], x: &[i8], zp: i16) -> i32 {
    w.iter().zip(x).fold(0i32, |acc, (&w, &x)| {
        acc.wrapping_add(w as i16 as i32 * (x as i16 - zp) as i32)
    })
}

/// Output channels computed together by the dense conv path (one pass over the input run).
const OC_BLOCK: usize = 8;
/// Input elements converted to `x - zp` (i16) at a time, on the stack.
const X_CHUNK: usize = 128;

/// `Σ w[i] * d[i]` over the common length, i32 wrapping.
#[inline(always)]
fn dot16(w: &[i8], d: &[i16]) -> i32 {
    w.iter().zip(d).fold(0i32, |acc, (&w, &d)| {
        acc.wrapping_add(w as i16 as i32 * d as i32)
    })
}

/// One output pixel of a dense conv (`groups == 1`, `dilation_w == 1`) or a fully connected
/// layer (one row, offset 0): `rows` yields, per
/// valid kernel row, the contiguous input run and the offset of its weights within an
/// output channel's `[kh][kw][ic]` block. Each input chunk is converted to `x - zp` once and
/// reused by [`OC_BLOCK`] output channels. Stack use: 256 + 32 bytes.
#[inline]
fn conv_dense_pixel<'x>(
    out_px: &mut [i8],
    rows: impl Iterator<Item = (&'x [i8], usize)> + Clone,
    p: &FcParams<'_>,
    wsz: usize,
    zp: i16,
    out_zp: i8,
) {
    let mut buf = [0i16; X_CHUNK];
    let blocks = out_px
        .chunks_mut(OC_BLOCK)
        .zip(p.weights.chunks(OC_BLOCK * wsz));
    for (b, (out_blk, w_blk)) in blocks.enumerate() {
        let o0 = b * OC_BLOCK;
        let mut acc = [0i32; OC_BLOCK];
        for (j, a) in acc.iter_mut().enumerate() {
            *a = p.bias.get(o0 + j).unwrap_or(0);
        }
        for (xs, woff) in rows.clone() {
            for (ci, xc) in xs.chunks(X_CHUNK).enumerate() {
                for (d, &v) in buf.iter_mut().zip(xc) {
                    *d = v as i16 - zp;
                }
                let d = buf.get(..xc.len()).unwrap_or(&[]);
                let at = woff + ci * X_CHUNK;
                for (a, wk) in acc.iter_mut().zip(w_blk.chunks_exact(wsz)) {
                    *a = a.wrapping_add(dot16(sub(wk, at, xc.len()), d));
                }
            }
        }
        for (j, (yv, a)) in out_blk.iter_mut().zip(acc).enumerate() {
            *yv = out_value(a, p.rescale.at(o0 + j), out_zp, p.clamp);
        }
    }
}

/// Output pixels computed together where their windows are not clipped horizontally.
const PIX: usize = 4;

/// Dense conv (`groups == 1`, `dilation_w == 1`), row by row: runs of [`PIX`] pixels whose
/// windows lie fully inside the input horizontally share each weight load
/// ([`conv_dense_block`]); the others go through [`conv_dense_pixel`].
fn conv_dense(x: &In<'_>, y: Out<'_>, p: &ConvParams<'_>, wsz: usize) {
    let fc = p.fc();
    let (ic, oc, ow) = (x.shape.c, y.shape.c, y.shape.w);
    let [kh, kw] = p.window.kernel;
    let [sh, sw] = p.window.stride;
    let [dh, _] = p.window.dilation;
    let [pt, pl] = p.window.pad;
    let (row, krow, zp) = (x.shape.w * ic, kw * ic, x.zero_point as i16);
    let full = |ox: usize| {
        taps(ox, sw, pl, kw, 1, x.shape.w).0 == 0 && taps(ox, sw, pl, kw, 1, x.shape.w).1 == kw
    };
    for (oy, out_row) in y.data.chunks_exact_mut(ow * oc).enumerate() {
        let (ky0, ky1, iy0) = taps(oy, sh, pt, kh, dh, x.shape.h);
        let mut rest = out_row;
        let mut ox = 0;
        while ox < ow {
            let (kx0, kx1, ix0) = taps(ox, sw, pl, kw, 1, x.shape.w);
            let n = if ox + PIX <= ow && full(ox) && full(ox + PIX - 1) {
                PIX
            } else {
                1
            };
            let Some((cur, tail)) = core::mem::take(&mut rest).split_at_mut_checked(n * oc) else {
                return;
            };
            rest = tail;
            // A window wholly in the padding has no taps (kx0 == kx1) and a negative start.
            let (ix, run) = ((ix0 + kx0 as i64).max(0) as usize, (kx1 - kx0) * ic);
            let span = run + (n - 1) * sw * ic;
            let rows = (ky0..ky1).map(|ky| {
                let iy = (iy0 + (ky * dh) as i64) as usize;
                (sub(x.data, iy * row + ix * ic, span), ky * krow + kx0 * ic)
            });
            if n == PIX {
                conv_dense_block(cur, rows, sw * ic, run, &fc, wsz, zp, y.zero_point);
            } else {
                conv_dense_pixel(cur, rows, &fc, wsz, zp, y.zero_point);
            }
            ox += n;
        }
    }
}

/// `[Σ w·d0, Σ w·d1, Σ w·d2, Σ w·d3]` over the first `n` elements, i32 wrapping.
#[inline(always)]
fn dot4(w: &[i8], d: &[[i16; X_CHUNK]; PIX], n: usize) -> [i32; PIX] {
    let n = n.min(w.len()).min(X_CHUNK);
    let w = w.get(..n).unwrap_or(&[]);
    let [d0, d1, d2, d3] = d;
    let mut s = [0i32; PIX];
    for ((((&w, &a), &b), &c), &e) in w.iter().zip(d0).zip(d1).zip(d2).zip(d3) {
        let w = w as i16 as i32;
        s[0] = s[0].wrapping_add(w * a as i32);
        s[1] = s[1].wrapping_add(w * b as i32);
        s[2] = s[2].wrapping_add(w * c as i32);
        s[3] = s[3].wrapping_add(w * e as i32);
    }
    s
}

/// [`PIX`] neighbouring output pixels of a dense conv with unclipped windows: `rows` yields
/// per kernel row the input span covering all of them (pixel `j`'s run of `run` elements
/// starts at `j * step`) and the weight offset. Stack use: 1 KiB + 128 bytes.
#[allow(clippy::too_many_arguments)]
fn conv_dense_block<'x>(
    out: &mut [i8],
    rows: impl Iterator<Item = (&'x [i8], usize)> + Clone,
    step: usize,
    run: usize,
    p: &FcParams<'_>,
    wsz: usize,
    zp: i16,
    out_zp: i8,
) {
    let oc = out.len() / PIX;
    if oc == 0 {
        return;
    }
    let mut buf = [[0i16; X_CHUNK]; PIX];
    for (b, w_blk) in p.weights.chunks(OC_BLOCK * wsz).enumerate() {
        let o0 = b * OC_BLOCK;
        let mut acc = [[0i32; PIX]; OC_BLOCK];
        for (j, a) in acc.iter_mut().enumerate() {
            *a = [p.bias.get(o0 + j).unwrap_or(0); PIX];
        }
        for (xs, woff) in rows.clone() {
            let mut c = 0;
            while c < run {
                let n = (run - c).min(X_CHUNK);
                for (px, bf) in buf.iter_mut().enumerate() {
                    for (d, &v) in bf.iter_mut().zip(sub(xs, px * step + c, n)) {
                        *d = v as i16 - zp;
                    }
                }
                for (a, wk) in acc.iter_mut().zip(w_blk.chunks_exact(wsz)) {
                    let s = dot4(sub(wk, woff + c, n), &buf, n);
                    for (a, s) in a.iter_mut().zip(s) {
                        *a = a.wrapping_add(s);
                    }
                }
                c += n;
            }
        }
        for (px, out_px) in out.chunks_exact_mut(oc).enumerate() {
            let outs = out_px.iter_mut().skip(o0).zip(&acc).enumerate();
            for (j, (o, a)) in outs {
                let v = a.get(px).copied().unwrap_or(0);
                *o = out_value(v, p.rescale.at(o0 + j), out_zp, p.clamp);
            }
        }
    }
}

/// [`taps`] of output pixel `pix` (row-major, `ow` pixels a row) of window `w` over an
/// `ih × iw` input: `[rows, columns]`.
#[inline]
pub(super) fn window_taps(
    pix: usize,
    ow: usize,
    w: &Window,
    ih: usize,
    iw: usize,
) -> [(usize, usize, i64); 2] {
    let axis = |o: usize, a: usize, n: usize| {
        taps(o, w.stride[a], w.pad[a], w.kernel[a], w.dilation[a], n)
    };
    [axis(pix / ow, 0, ih), axis(pix % ow, 1, iw)]
}

/// Valid kernel taps along one axis for output index `o`: `(k_lo, k_hi, start)` where
/// taps `k_lo..k_hi` land inside `0..n` at `start + k * d`.
#[inline]
pub(super) fn taps(
    o: usize,
    stride: usize,
    pad: usize,
    k: usize,
    d: usize,
    n: usize,
) -> (usize, usize, i64) {
    let start = o as i64 * stride as i64 - pad as i64;
    // ⌈a / d⌉ on usize: on 32-bit cores an i64 division is a library call, and this runs
    // for every output pixel of the GEMM kernels.
    let d = d.max(1);
    let ceil_div = |a: i64| {
        let a = usize::try_from(a).unwrap_or(usize::MAX);
        if d == 1 {
            a
        } else {
            a / d + usize::from(a % d != 0)
        }
    };
    let lo = if start >= 0 { 0 } else { ceil_div(-start) };
    let hi = if start >= n as i64 {
        0
    } else {
        ceil_div(n as i64 - start)
    };
    let hi = hi.min(k);
    let lo = lo.min(hi);
    (lo, hi, start)
}

/// Positions `o*s - pad + k` inside `lo..hi` for `k in 0..kernel` (pools, dilation 1).
#[inline]
fn count_in(start: i64, k: usize, lo: i64, hi: i64) -> i64 {
    let a = start.max(lo);
    let b = (start + k as i64).min(hi);
    (b - a).max(0)
}

pub(super) fn check_window(w: &Window) -> Result<(), KernelError> {
    let ok = w
        .kernel
        .iter()
        .chain(&w.stride)
        .chain(&w.dilation)
        .all(|&v| v >= 1);
    ok.then_some(()).ok_or(KernelError)
}

#[inline(always)]
pub(super) fn out_value(acc: i32, (m, s): (i32, u8), zp: i8, clamp: Clamp) -> i8 {
    clamp.apply(requantize(acc, m, s).saturating_add(zp as i32))
}

/// [`Op::Conv2d`](crate::format::model::Op::Conv2d), also grouped and depthwise.
///
/// Errors when lengths do not match shapes, `groups` does not divide both channel counts,
/// weights/bias/rescale lengths are wrong, or a window dimension is 0.
pub fn conv2d(x: In<'_>, y: Out<'_>, p: &ConvParams<'_>) -> Result<(), KernelError> {
    x.check()?;
    y.check()?;
    check_window(&p.window)?;
    let (ic, oc, g) = (x.shape.c, y.shape.c, p.groups);
    if g == 0 || !ic.is_multiple_of(g) || !oc.is_multiple_of(g) {
        return Err(KernelError);
    }
    let (icg, ocg) = (ic / g, oc / g);
    let [kh, kw] = p.window.kernel;
    let [sh, sw] = p.window.stride;
    let [dh, dw] = p.window.dilation;
    let [pt, pl] = p.window.pad;
    let wsz = kh
        .checked_mul(kw)
        .and_then(|v| v.checked_mul(icg))
        .ok_or(KernelError)?;
    if oc.checked_mul(wsz) != Some(p.weights.len()) || p.bias.len() != oc || !p.rescale.fits(oc) {
        return Err(KernelError);
    }
    if y.data.is_empty() {
        return Ok(());
    }
    if wsz == 0 {
        return Err(KernelError);
    }
    let zp = x.zero_point as i16;
    let row = x.shape.w * ic;
    let krow = kw * icg;
    if g == 1 && dw == 1 {
        conv_dense(&x, y, p, wsz);
        return Ok(());
    }
    let ow = y.shape.w;
    for (pix, out_px) in y.data.chunks_exact_mut(oc).enumerate() {
        let (ky0, ky1, iy0) = taps(pix / ow, sh, pt, kh, dh, x.shape.h);
        let (kx0, kx1, ix0) = taps(pix % ow, sw, pl, kw, dw, x.shape.w);
        for (o, (yv, wk)) in out_px
            .iter_mut()
            .zip(p.weights.chunks_exact(wsz))
            .enumerate()
        {
            let c0 = (o / ocg) * icg;
            let mut acc = p.bias.get(o).unwrap_or(0);
            for ky in ky0..ky1 {
                let iy = (iy0 + (ky * dh) as i64) as usize;
                let xrow = sub(x.data, iy * row, row);
                let wrow = sub(wk, ky * krow, krow);
                for kx in kx0..kx1 {
                    let ix = (ix0 + (kx * dw) as i64) as usize;
                    let d = dot(sub(wrow, kx * icg, icg), sub(xrow, ix * ic + c0, icg), zp);
                    acc = acc.wrapping_add(d);
                }
            }
            *yv = out_value(acc, p.rescale.at(o), y.zero_point, p.clamp);
        }
    }
    Ok(())
}

/// [`Op::FullyConnected`](crate::format::model::Op::FullyConnected): `x` read flat, `y` has
/// one element per output.
///
/// Errors when lengths do not match shapes or weights/bias/rescale lengths are wrong.
pub fn fully_connected(x: In<'_>, y: Out<'_>, p: &FcParams<'_>) -> Result<(), KernelError> {
    x.check()?;
    y.check()?;
    let (n_in, n_out) = (x.data.len(), y.data.len());
    if n_out.checked_mul(n_in) != Some(p.weights.len())
        || p.bias.len() != n_out
        || !p.rescale.fits(n_out)
    {
        return Err(KernelError);
    }
    if n_in == 0 {
        return Err(KernelError);
    }
    let rows = core::iter::once((x.data, 0));
    conv_dense_pixel(y.data, rows, p, n_in, x.zero_point as i16, y.zero_point);
    Ok(())
}

fn pool_check(x: &In<'_>, y: &Out<'_>, w: &Window) -> Result<(), KernelError> {
    x.check()?;
    y.check()?;
    check_window(w)?;
    if x.shape.c != y.shape.c {
        return Err(KernelError);
    }
    Ok(())
}

/// [`Op::MaxPool`](crate::format::model::Op::MaxPool): max over the valid window positions,
/// then clamp. A window with no valid position yields `clamp(-128)`. Dilation is honoured.
///
/// Errors when lengths do not match shapes, channel counts differ, or a window dimension is 0.
pub fn max_pool(x: In<'_>, y: Out<'_>, w: &Window, clamp: Clamp) -> Result<(), KernelError> {
    pool_check(&x, &y, w)?;
    let c = x.shape.c;
    if y.data.is_empty() || c == 0 {
        return Ok(());
    }
    let ow = y.shape.w;
    for (pix, out_px) in y.data.chunks_exact_mut(c).enumerate() {
        let [(ky0, ky1, iy0), (kx0, kx1, ix0)] = window_taps(pix, ow, w, x.shape.h, x.shape.w);
        out_px.fill(i8::MIN);
        for ky in ky0..ky1 {
            let iy = (iy0 + (ky * w.dilation[0]) as i64) as usize;
            for kx in kx0..kx1 {
                let ix = (ix0 + (kx * w.dilation[1]) as i64) as usize;
                let xp = sub(x.data, (iy * x.shape.w + ix) * c, c);
                for (o, &v) in out_px.iter_mut().zip(xp) {
                    *o = (*o).max(v);
                }
            }
        }
        for o in out_px.iter_mut() {
            *o = clamp.apply(*o as i32);
        }
    }
    Ok(())
}

/// `round(sum / n)`, half away from zero; 0 when `n == 0`.
#[inline]
fn div_round(sum: i64, n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let q = (sum.unsigned_abs() + (n as u64) / 2) / n as u64;
    if sum < 0 {
        -(q as i64)
    } else {
        q as i64
    }
}

/// [`Op::AvgPool`](crate::format::model::Op::AvgPool) (dilation is taken as 1). A window with
/// `n == 0` yields `clamp(zp)`.
///
/// Errors when lengths do not match shapes, channel counts differ, or a window dimension is 0.
pub fn avg_pool(x: In<'_>, y: Out<'_>, p: &AvgParams) -> Result<(), KernelError> {
    let w = Window {
        dilation: [1, 1],
        ..p.window
    };
    pool_check(&x, &y, &w)?;
    let c = x.shape.c;
    if y.data.is_empty() || c == 0 {
        return Ok(());
    }
    let (ih, iw) = (x.shape.h as i64, x.shape.w as i64);
    let zp = x.zero_point as i64;
    let ow = y.shape.w;
    let row = x.shape.w * c;
    for (pix, out_px) in y.data.chunks_exact_mut(c).enumerate() {
        let (ky0, ky1, iy0) = taps(pix / ow, w.stride[0], w.pad[0], w.kernel[0], 1, x.shape.h);
        let (kx0, kx1, ix0) = taps(pix % ow, w.stride[1], w.pad[1], w.kernel[1], 1, x.shape.w);
        let n = if p.count_include_pad {
            let (pt, pl) = (w.pad[0] as i64, w.pad[1] as i64);
            let (pb, pr) = (p.pad_end[0] as i64, p.pad_end[1] as i64);
            count_in(iy0, w.kernel[0], -pt, ih + pb) * count_in(ix0, w.kernel[1], -pl, iw + pr)
        } else {
            ((ky1 - ky0) * (kx1 - kx0)) as i64
        };
        let nx = kx1 - kx0;
        for (ch, o) in out_px.iter_mut().enumerate() {
            let mut sum = 0i64;
            for ky in ky0..ky1 {
                let iy = (iy0 + ky as i64) as usize;
                let ix = (ix0 + kx0 as i64) as usize;
                let run = sub(x.data, iy * row + ix * c, nx * c);
                sum += run
                    .iter()
                    .skip(ch)
                    .step_by(c)
                    .map(|&v| v as i64 - zp)
                    .sum::<i64>();
            }
            *o = p
                .clamp
                .apply((zp + div_round(sum, n)).clamp(-256, 256) as i32);
        }
    }
    Ok(())
}

/// The rescales of [`AddParams`] with shifts clamped into `1..=62`.
#[inline]
fn add_one(av: i8, azp: i32, bv: i8, bzp: i32, p: &AddParams, yzp: i8) -> i8 {
    let c = |(m, s): (i32, u8)| (m, s.clamp(1, 62));
    let (am, as_) = c(p.a);
    let (bm, bs) = c(p.b);
    let a1 = requantize((av as i32 - azp) << 20, am, as_);
    let b1 = requantize((bv as i32 - bzp) << 20, bm, bs);
    out_value(a1.saturating_add(b1), c(p.out), yzp, p.clamp)
}

/// [`Op::Add`](crate::format::model::Op::Add). The sum `a' + b'` saturates at the i32 range
/// (it cannot reach it for multipliers in the contract's range).
///
/// Errors when lengths do not match shapes or the three shapes differ.
pub fn add(a: In<'_>, b: In<'_>, y: Out<'_>, p: &AddParams) -> Result<(), KernelError> {
    add_into(Operand::Tensor(a), Operand::Tensor(b), y, p)
}

/// [`add`] where either input (or both) may be the output buffer itself (in place).
///
/// Errors when lengths do not match shapes or the shapes differ.
pub fn add_into(
    a: Operand<'_>,
    b: Operand<'_>,
    y: Out<'_>,
    p: &AddParams,
) -> Result<(), KernelError> {
    y.check()?;
    for t in [&a, &b] {
        if let Operand::Tensor(t) = t {
            t.check()?;
            if t.shape != y.shape {
                return Err(KernelError);
            }
        }
    }
    let yzp = y.zero_point;
    let (azp, bzp) = (a.zero_point() as i32, b.zero_point() as i32);
    // `a'` and `b'` depend on one byte each: a large Add looks them up (same values).
    if y.data.len() >= ADD_TABLE_MIN_LEN {
        let (ta, tb) = (rescaled_table(azp, p.a), rescaled_table(bzp, p.b));
        let out = (p.out.0, p.out.1.clamp(1, 62));
        let look = |t: &[i32; 256], v: i8| t.get(v as u8 as usize).copied().unwrap_or(0);
        add_each(a, b, y.data, |av, bv| {
            out_value(
                look(&ta, av).saturating_add(look(&tb, bv)),
                out,
                yzp,
                p.clamp,
            )
        });
    } else {
        add_each(a, b, y.data, |av, bv| add_one(av, azp, bv, bzp, p, yzp));
    }
    Ok(())
}

/// Output length from which [`add_into`] tabulates the input rescales (512 requantisations)
/// instead of computing two per element.
const ADD_TABLE_MIN_LEN: usize = 1024;

/// `requantize((v - zp) << 20, m, s)` (as in [`add_one`]) for every int8 `v`, indexed by
/// `v as u8`.
fn rescaled_table(zp: i32, (m, s): (i32, u8)) -> [i32; 256] {
    let s = s.clamp(1, 62);
    core::array::from_fn(|u| requantize(((u as u8 as i8) as i32 - zp) << 20, m, s))
}

/// `y[i] = f(a[i], b[i])`, an [`Operand::Output`] input reading `y[i]` before it is written.
/// The lengths were checked by the caller.
#[inline(always)]
fn add_each(a: Operand<'_>, b: Operand<'_>, y: &mut [i8], f: impl Fn(i8, i8) -> i8) {
    match (a, b) {
        (Operand::Tensor(a), Operand::Tensor(b)) => {
            for ((o, &av), &bv) in y.iter_mut().zip(a.data).zip(b.data) {
                *o = f(av, bv);
            }
        }
        (Operand::Output { .. }, Operand::Tensor(b)) => {
            for (o, &bv) in y.iter_mut().zip(b.data) {
                *o = f(*o, bv);
            }
        }
        (Operand::Tensor(a), Operand::Output { .. }) => {
            for (o, &av) in y.iter_mut().zip(a.data) {
                *o = f(av, *o);
            }
        }
        (Operand::Output { .. }, Operand::Output { .. }) => {
            for o in y.iter_mut() {
                *o = f(*o, *o);
            }
        }
    }
}

/// One input of [`Op::Concat`](crate::format::model::Op::Concat): copies `x` into channels
/// `c_offset .. c_offset + x.c` of every pixel of `y`.
///
/// Errors when lengths do not match shapes, `h`/`w` differ, or the channels do not fit.
pub fn concat_into(x: In<'_>, y: &mut Out<'_>, c_offset: usize) -> Result<(), KernelError> {
    x.check()?;
    y.check()?;
    let (xc, yc) = (x.shape.c, y.shape.c);
    if x.shape.h != y.shape.h
        || x.shape.w != y.shape.w
        || c_offset.checked_add(xc).is_none_or(|e| e > yc)
    {
        return Err(KernelError);
    }
    if xc == 0 || yc == 0 {
        return Ok(());
    }
    for (yp, xp) in y.data.chunks_exact_mut(yc).zip(x.data.chunks_exact(xc)) {
        for (d, &s) in yp.iter_mut().skip(c_offset).zip(xp) {
            *d = s;
        }
    }
    Ok(())
}

/// [`Op::Lrn`](crate::format::model::Op::Lrn). An empty lut yields factor 0.
///
/// Errors when lengths do not match shapes or the shapes differ.
pub fn lrn(x: In<'_>, y: Out<'_>, p: &LrnParams<'_>) -> Result<(), KernelError> {
    x.check()?;
    y.check()?;
    if x.shape != y.shape {
        return Err(KernelError);
    }
    let c = x.shape.c;
    if c == 0 {
        return Ok(());
    }
    let size = p.size.max(1);
    let (before, after) = ((size - 1) / 2, size / 2);
    let last = p.lut.len().saturating_sub(1);
    let shift = p.lut_shift.clamp(1, 62);
    let half = 1i64 << (shift - 1);
    let (xzp, ozp) = (x.zero_point as i32, y.zero_point as i64);
    let sq = |xp: &[i8], j: usize| -> u32 {
        let d = xp.get(j).map_or(0, |&v| v as i32 - xzp);
        (d * d) as u32
    };
    for (xp, yp) in x.data.chunks_exact(c).zip(y.data.chunks_exact_mut(c)) {
        let mut ss = 0u32;
        for j in 0..after.min(c) {
            ss = ss.wrapping_add(sq(xp, j));
        }
        for (ch, (o, &v)) in yp.iter_mut().zip(xp).enumerate() {
            if let Some(j) = ch.checked_add(after).filter(|&j| j < c) {
                ss = ss.wrapping_add(sq(xp, j));
            }
            if ch > before {
                ss = ss.wrapping_sub(sq(xp, ch - before - 1));
            }
            let bucket = if ss < 64 {
                ss as usize
            } else {
                let e = 31 - ss.leading_zeros();
                64 + (e as usize - 6) * 32 + ((ss >> (e - 5)) & 31) as usize
            };
            let f = p.lut.get(bucket.min(last)).unwrap_or(0) as i64;
            let d = (v as i32 - xzp) as i64;
            let r = ((d * f + half) >> shift) + ozp;
            *o = r.clamp(-128, 127) as i8;
        }
    }
    Ok(())
}

/// [`Op::Softmax`](crate::format::model::Op::Softmax) over the channels of every pixel.
/// A pixel whose exponentials sum to 0 (a table of zeros) yields -128.
///
/// Errors when lengths do not match shapes, the shapes differ, or the table is not 256 long.
pub fn softmax(x: In<'_>, y: Out<'_>, exp_lut: U32s<'_>) -> Result<(), KernelError> {
    x.check()?;
    y.check()?;
    if x.shape != y.shape || exp_lut.len() != 256 {
        return Err(KernelError);
    }
    let c = x.shape.c;
    if c == 0 {
        return Ok(());
    }
    let e = |mx: i8, v: i8| exp_lut.get((mx as i32 - v as i32) as usize).unwrap_or(0) as u64;
    for (xp, yp) in x.data.chunks_exact(c).zip(y.data.chunks_exact_mut(c)) {
        let mx = xp.iter().copied().max().unwrap_or(0);
        let s = xp.iter().fold(0u64, |s, &v| s.saturating_add(e(mx, v)));
        let den = s.saturating_mul(2);
        for (o, &v) in yp.iter_mut().zip(xp) {
            let q = (e(mx, v) * 512)
                .saturating_add(s)
                .checked_div(den)
                .unwrap_or(0);
            *o = (q as i64 - 128).clamp(-128, 127) as i8;
        }
    }
    Ok(())
}

/// [`Op::Requantize`](crate::format::model::Op::Requantize) (one rescale entry, entry 0).
///
/// Errors when lengths do not match shapes or the shapes differ.
pub fn requantize_op(
    x: In<'_>,
    y: Out<'_>,
    r: &Rescale<'_>,
    clamp: Clamp,
) -> Result<(), KernelError> {
    x.check()?;
    y.check()?;
    if x.shape != y.shape {
        return Err(KernelError);
    }
    let ms = r.at(0);
    let xzp = x.zero_point as i32;
    for (o, &v) in y.data.iter_mut().zip(x.data) {
        *o = out_value(v as i32 - xzp, ms, y.zero_point, clamp);
    }
    Ok(())
}

/// [`requantize_op`] in place: `y` holds the input (zero point `x_zp`) and receives the output.
///
/// Errors when the length does not match the shape.
pub fn requantize_in_place(
    y: Out<'_>,
    x_zp: i8,
    r: &Rescale<'_>,
    clamp: Clamp,
) -> Result<(), KernelError> {
    y.check()?;
    let ms = r.at(0);
    for o in y.data.iter_mut() {
        *o = out_value(*o as i32 - x_zp as i32, ms, y.zero_point, clamp);
    }
    Ok(())
}
