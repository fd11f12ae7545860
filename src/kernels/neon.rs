//! aarch64 [`Micro`] kernels: NEON (`ssubl`/`sxtl` to i16, `smlal` into i32) and the
//! Armv8.2 dot product (`sdot`, four int8 products per i32 lane).
//!
//! Both are exact: NEON multiplies `w` by `x - zp` (|x - zp| ≤ 255) in i32 lanes; `sdot`
//! sums `w * x` and corrects with `zp * Σw`, i32 wrapping, the same sum modulo 2^32.
//! A kernel value exists only once its features were detected.
#![allow(unsafe_code)]

use core::arch::aarch64::*;

use super::dense::{pad16, runs, slices, tail_start, Micro, TAIL_MASK};

/// NEON dot products, 16 int8 per step.
#[derive(Clone, Copy, Debug)]
pub(super) struct Neon(());

impl Neon {
    /// `Some` when the CPU has NEON.
    pub(super) fn new() -> Option<Self> {
        super::detect::has_neon().then_some(Self(()))
    }
}

impl Micro for Neon {
    #[inline]
    fn dot<const P: usize, const O: usize>(
        self,
        x: &[&[i8]; P],
        w: &[&[i8]; O],
        rows: impl Iterator<Item = (usize, usize)>,
        run: usize,
        zp: i8,
        acc: &mut [[i32; P]; O],
    ) {
        // SAFETY: `Neon` is only constructed when NEON is available (`Neon::new`).
        unsafe { dot_neon(x, w, rows, run, zp, acc) }
    }
}

/// See [`Micro::dot`].
#[target_feature(enable = "neon")]
#[inline]
fn dot_neon<const P: usize, const O: usize>(
    x: &[&[i8]; P],
    w: &[&[i8]; O],
    rows: impl Iterator<Item = (usize, usize)>,
    run: usize,
    zp: i8,
    acc: &mut [[i32; P]; O],
) {
    let mut v = [[vdupq_n_s32(0); P]; O];
    for (xo, wo) in rows {
        let (Some(xs), Some(ws)) = (runs(x, xo, run), runs(w, wo, run)) else {
            continue;
        };
        let mut i = 0;
        let all = vdupq_n_s8(-1);
        while i + 16 <= run {
            step_neon(&xs, &ws, i, zp, all, &mut v);
            i += 16;
        }
        if i < run {
            // The last 1..15 elements: the run's last 16 with the earlier weights masked to
            // zero, or zero-padded copies for a run shorter than 16.
            if let (Some(at), Some(m)) = (tail_start(run), TAIL_MASK.get(run - i..run - i + 16)) {
                // SAFETY: `m` is 16 bytes.
                let mask = unsafe { vld1q_s8(m.as_ptr()) };
                step_neon(&xs, &ws, at, zp, mask, &mut v);
            } else {
                let (xt, wt) = (pad16(&xs, i), pad16(&ws, i));
                step_neon(&slices(&xt), &slices(&wt), 0, zp, all, &mut v);
            }
        }
    }
    for (ao, vo) in acc.iter_mut().zip(&v) {
        for (a, &vj) in ao.iter_mut().zip(vo) {
            *a = a.wrapping_add(vaddvq_s32(vj));
        }
    }
}

/// One step of [`dot_neon`]: elements `i .. i + 16` of every run, weights ANDed with
/// `wmask`. Runs shorter than
/// `i + 16` are skipped (the caller never passes one).
#[target_feature(enable = "neon")]
#[inline]
fn step_neon<const P: usize, const O: usize>(
    xs: &[&[i8]; P],
    ws: &[&[i8]; O],
    i: usize,
    zp: i8,
    wmask: int8x16_t,
    v: &mut [[int32x4_t; P]; O],
) {
    if xs.iter().chain(ws).any(|s| s.len() < i.saturating_add(16)) {
        return;
    }
    let zp8 = vdup_n_s8(zp);
    let zp16 = vdupq_n_s8(zp);
    let mut xl = [vdupq_n_s16(0); P];
    let mut xh = [vdupq_n_s16(0); P];
    for ((l, h), s) in xl.iter_mut().zip(xh.iter_mut()).zip(xs) {
        // SAFETY: i + 16 <= s.len() (checked above).
        let q = unsafe { vld1q_s8(s.as_ptr().add(i)) };
        *l = vsubl_s8(vget_low_s8(q), zp8);
        *h = vsubl_high_s8(q, zp16);
    }
    for (vo, s) in v.iter_mut().zip(ws) {
        // SAFETY: i + 16 <= s.len() (checked above).
        let q = vandq_s8(unsafe { vld1q_s8(s.as_ptr().add(i)) }, wmask);
        let wl = vmovl_s8(vget_low_s8(q));
        let wh = vmovl_high_s8(q);
        for ((a, &l), &h) in vo.iter_mut().zip(&xl).zip(&xh) {
            let mut t = vmlal_s16(*a, vget_low_s16(wl), vget_low_s16(l));
            t = vmlal_high_s16(t, wl, l);
            t = vmlal_s16(t, vget_low_s16(wh), vget_low_s16(h));
            *a = vmlal_high_s16(t, wh, h);
        }
    }
}

/// NEON `sdot` dot products, 16 int8 per step.
#[derive(Clone, Copy, Debug)]
pub(super) struct NeonDot(());

impl NeonDot {
    /// `Some` when the CPU has NEON and the dot product extension.
    pub(super) fn new() -> Option<Self> {
        super::detect::has_dotprod().then_some(Self(()))
    }
}

impl Micro for NeonDot {
    #[inline]
    fn dot<const P: usize, const O: usize>(
        self,
        x: &[&[i8]; P],
        w: &[&[i8]; O],
        rows: impl Iterator<Item = (usize, usize)>,
        run: usize,
        zp: i8,
        acc: &mut [[i32; P]; O],
    ) {
        // SAFETY: `NeonDot` is only constructed after `dotprod` was detected.
        unsafe { dot_sdot(x, w, rows, run, zp, acc) }
    }
}

/// `a + Σ_{k<4} b[4l+k] * c[4l+k]` per i32 lane `l` (`sdot`).
#[target_feature(enable = "neon,dotprod")]
#[inline]
fn sdot(a: int32x4_t, b: int8x16_t, c: int8x16_t) -> int32x4_t {
    let mut a = a;
    // SAFETY: `sdot` only reads and writes these registers; the enclosing target feature
    // guarantees the instruction exists.
    unsafe {
        core::arch::asm!(
            "sdot {a:v}.4s, {b:v}.16b, {c:v}.16b",
            a = inout(vreg) a,
            b = in(vreg) b,
            c = in(vreg) c,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    a
}

/// See [`Micro::dot`].
#[target_feature(enable = "neon,dotprod")]
#[inline]
fn dot_sdot<const P: usize, const O: usize>(
    x: &[&[i8]; P],
    w: &[&[i8]; O],
    rows: impl Iterator<Item = (usize, usize)>,
    run: usize,
    zp: i8,
    acc: &mut [[i32; P]; O],
) {
    let mut v = [[vdupq_n_s32(0); P]; O];
    let mut sw = [vdupq_n_s32(0); O];
    for (xo, wo) in rows {
        let (Some(xs), Some(ws)) = (runs(x, xo, run), runs(w, wo, run)) else {
            continue;
        };
        let mut i = 0;
        let all = vdupq_n_s8(-1);
        while i + 16 <= run {
            step_sdot(&xs, &ws, i, all, &mut v, &mut sw);
            i += 16;
        }
        if i < run {
            // The last 1..15 elements: the run's last 16 with the earlier weights masked to
            // zero (a zero weight adds nothing, to Σw too), or zero-padded copies for a run
            // shorter than 16.
            if let (Some(at), Some(m)) = (tail_start(run), TAIL_MASK.get(run - i..run - i + 16)) {
                // SAFETY: `m` is 16 bytes.
                let mask = unsafe { vld1q_s8(m.as_ptr()) };
                step_sdot(&xs, &ws, at, mask, &mut v, &mut sw);
            } else {
                let (xt, wt) = (pad16(&xs, i), pad16(&ws, i));
                step_sdot(&slices(&xt), &slices(&wt), 0, all, &mut v, &mut sw);
            }
        }
    }
    for ((ao, vo), so) in acc.iter_mut().zip(&v).zip(&sw) {
        let c = vaddvq_s32(*so).wrapping_mul(zp as i32);
        for (a, &vj) in ao.iter_mut().zip(vo) {
            *a = a.wrapping_add(vaddvq_s32(vj).wrapping_sub(c));
        }
    }
}

/// One step of [`dot_sdot`]: elements `i .. i + 16` of every run (weights ANDed with
/// `wmask`) into `v` (`Σ w * x`) and
/// `sw` (`Σ w`). Runs shorter than `i + 16` are skipped (the caller never passes one).
#[target_feature(enable = "neon,dotprod")]
#[inline]
fn step_sdot<const P: usize, const O: usize>(
    xs: &[&[i8]; P],
    ws: &[&[i8]; O],
    i: usize,
    wmask: int8x16_t,
    v: &mut [[int32x4_t; P]; O],
    sw: &mut [int32x4_t; O],
) {
    if xs.iter().chain(ws).any(|s| s.len() < i.saturating_add(16)) {
        return;
    }
    let ones = vdupq_n_s8(1);
    let mut xv = [vdupq_n_s8(0); P];
    for (d, s) in xv.iter_mut().zip(xs) {
        // SAFETY: i + 16 <= s.len() (checked above).
        *d = unsafe { vld1q_s8(s.as_ptr().add(i)) };
    }
    for ((vo, so), s) in v.iter_mut().zip(sw.iter_mut()).zip(ws) {
        // SAFETY: i + 16 <= s.len() (checked above).
        let wv = vandq_s8(unsafe { vld1q_s8(s.as_ptr().add(i)) }, wmask);
        *so = sdot(*so, ones, wv);
        for (a, &xj) in vo.iter_mut().zip(&xv) {
            *a = sdot(*a, xj, wv);
        }
    }
}
