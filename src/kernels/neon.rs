//! aarch64 [`Micro`] kernels: NEON (`ssubl`/`sxtl` to i16, `smlal` into i32) and the
//! Armv8.2 dot product (`sdot`, four int8 products per i32 lane).
//!
//! Both are exact: NEON multiplies `w` by `x - zp` (|x - zp| ≤ 255) in i32 lanes; `sdot`
//! sums `w * x` and corrects with `zp * Σw`, i32 wrapping, the same sum modulo 2^32.
//! A kernel value exists only once its features were detected.
#![allow(unsafe_code)]

use core::arch::aarch64::*;

use super::dense::{runs, tail, Micro};

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
    let zp8 = vdup_n_s8(zp);
    let zp16 = vdupq_n_s8(zp);
    let mut v = [[vdupq_n_s32(0); P]; O];
    for (xo, wo) in rows {
        let (Some(xs), Some(ws)) = (runs(x, xo, run), runs(w, wo, run)) else {
            continue;
        };
        let mut i = 0;
        while i + 16 <= run {
            let mut xl = [vdupq_n_s16(0); P];
            let mut xh = [vdupq_n_s16(0); P];
            for ((l, h), s) in xl.iter_mut().zip(xh.iter_mut()).zip(&xs) {
                // SAFETY: i + 16 <= run == s.len().
                let q = unsafe { vld1q_s8(s.as_ptr().add(i)) };
                *l = vsubl_s8(vget_low_s8(q), zp8);
                *h = vsubl_high_s8(q, zp16);
            }
            for (vo, s) in v.iter_mut().zip(&ws) {
                // SAFETY: i + 16 <= run == s.len().
                let q = unsafe { vld1q_s8(s.as_ptr().add(i)) };
                let wl = vmovl_s8(vget_low_s8(q));
                let wh = vmovl_high_s8(q);
                for ((a, &l), &h) in vo.iter_mut().zip(&xl).zip(&xh) {
                    let mut t = vmlal_s16(*a, vget_low_s16(wl), vget_low_s16(l));
                    t = vmlal_high_s16(t, wl, l);
                    t = vmlal_s16(t, vget_low_s16(wh), vget_low_s16(h));
                    *a = vmlal_high_s16(t, wh, h);
                }
            }
            i += 16;
        }
        add_tails(&xs, &ws, i, zp, acc);
    }
    for (ao, vo) in acc.iter_mut().zip(&v) {
        for (a, &vj) in ao.iter_mut().zip(vo) {
            *a = a.wrapping_add(vaddvq_s32(vj));
        }
    }
}

/// Adds the scalar tails (elements `from..`) of every pair of runs to `acc`.
#[inline(always)]
fn add_tails<const P: usize, const O: usize>(
    xs: &[&[i8]; P],
    ws: &[&[i8]; O],
    from: usize,
    zp: i8,
    acc: &mut [[i32; P]; O],
) {
    if ws.first().is_some_and(|w| from < w.len()) {
        for (ao, ws) in acc.iter_mut().zip(ws) {
            for (a, xs) in ao.iter_mut().zip(xs) {
                *a = a.wrapping_add(tail(ws, xs, from, zp));
            }
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
    let ones = vdupq_n_s8(1);
    let mut v = [[vdupq_n_s32(0); P]; O];
    let mut sw = [vdupq_n_s32(0); O];
    for (xo, wo) in rows {
        let (Some(xs), Some(ws)) = (runs(x, xo, run), runs(w, wo, run)) else {
            continue;
        };
        let mut i = 0;
        while i + 16 <= run {
            let mut xv = [vdupq_n_s8(0); P];
            for (d, s) in xv.iter_mut().zip(&xs) {
                // SAFETY: i + 16 <= run == s.len().
                *d = unsafe { vld1q_s8(s.as_ptr().add(i)) };
            }
            for ((vo, so), s) in v.iter_mut().zip(sw.iter_mut()).zip(&ws) {
                // SAFETY: i + 16 <= run == s.len().
                let wv = unsafe { vld1q_s8(s.as_ptr().add(i)) };
                *so = sdot(*so, ones, wv);
                for (a, &xj) in vo.iter_mut().zip(&xv) {
                    *a = sdot(*a, xj, wv);
                }
            }
            i += 16;
        }
        add_tails(&xs, &ws, i, zp, acc);
    }
    for ((ao, vo), so) in acc.iter_mut().zip(&v).zip(&sw) {
        let c = vaddvq_s32(*so).wrapping_mul(zp as i32);
        for (a, &vj) in ao.iter_mut().zip(vo) {
            *a = a.wrapping_add(vaddvq_s32(vj).wrapping_sub(c));
        }
    }
}
