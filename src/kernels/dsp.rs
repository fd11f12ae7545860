//! Cortex-M DSP extension [`Micro`] kernel (Armv7E-M: Cortex-M4/M7/M33 with DSP): `SXTB16`
//! splits four int8 into two pairs of i16, `SSUB16` subtracts the zero point from both lanes,
//! `SMLAD` adds two 16×16 products to an i32 accumulator.
//!
//! Exact: |x - zp| ≤ 255 fits an i16 lane, each product fits i32, and `SMLAD` wraps modulo
//! 2^32 (it only sets the sticky Q flag), like the reference's wrapping sums. Built only when
//! the target has the `dsp` feature (`thumbv7em-*`, `thumbv8m.main-*` with DSP); other cores
//! use the reference. Dense convs of up to 576 taps take the GEMM of
//! [`dsp_gemm`](super::dsp_gemm); this kernel takes larger ones and fully connected layers,
//! in blocks of 4 pixels × 4 channels (fewest instructions on the golden
//! micro models under `qemu-system-arm -icount`: micro_resnet8 28.9 M per image against the
//! reference's 50.3 M).
#![allow(unsafe_code)]

use core::arch::asm;

use super::dense::{runs, Micro};

/// DSP-extension dot products, 4 int8 per step.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dsp(());

impl Dsp {
    /// Always available: this module is only compiled for targets with the DSP extension.
    pub(super) fn new() -> Option<Self> {
        Some(Self(()))
    }
}

/// Lanes `(b0, b2)` of `v` sign-extended to two i16.
#[inline(always)]
pub(super) fn sxtb16(v: u32) -> u32 {
    let r;
    // SAFETY: register-only instruction of the DSP extension (this module's cfg).
    unsafe {
        asm!("sxtb16 {r}, {v}", r = lateout(reg) r, v = in(reg) v,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// Lanes `(b1, b3)` of `v` sign-extended to two i16.
#[inline(always)]
pub(super) fn sxtb16_ror8(v: u32) -> u32 {
    let r;
    // SAFETY: register-only instruction of the DSP extension (this module's cfg).
    unsafe {
        asm!("sxtb16 {r}, {v}, ror #8", r = lateout(reg) r, v = in(reg) v,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// Both i16 lanes of `a` minus those of `b` (wrapping; sets only the GE flags).
#[inline(always)]
pub(super) fn ssub16(a: u32, b: u32) -> u32 {
    let r;
    // SAFETY: register-only instruction of the DSP extension (this module's cfg).
    unsafe {
        asm!("ssub16 {r}, {a}, {b}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b,
             options(pure, nomem, nostack));
    }
    r
}

/// `acc + a.lo * b.lo + a.hi * b.hi` (i16 lanes, i32 wrapping; sets only the Q flag).
#[inline(always)]
fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let r;
    // SAFETY: register-only instruction of the DSP extension (this module's cfg).
    unsafe {
        asm!("smlad {r}, {a}, {b}, {c}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b,
             c = in(reg) acc, options(pure, nomem, nostack));
    }
    r
}

/// Four bytes of `s` at `i` as a little-endian word.
///
/// # Safety
/// `i + 4 <= s.len()`.
#[inline(always)]
unsafe fn word(s: &[i8], i: usize) -> u32 {
    // SAFETY: in bounds by the contract; an unaligned read (Armv7E-M `LDR` allows it).
    u32::from_le(unsafe { core::ptr::read_unaligned(s.as_ptr().add(i).cast::<u32>()) })
}

impl Micro for Dsp {
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
        let zpp = (zp as i16 as u16 as u32) * 0x0001_0001;
        for (xo, wo) in rows {
            let (Some(xs), Some(ws)) = (runs(x, xo, run), runs(w, wo, run)) else {
                continue;
            };
            let mut i = 0;
            while i + 4 <= run {
                let mut xe = [0u32; P];
                let mut xd = [0u32; P];
                for ((e, d), s) in xe.iter_mut().zip(xd.iter_mut()).zip(&xs) {
                    // SAFETY: i + 4 <= run == s.len() (`runs`).
                    let v = unsafe { word(s, i) };
                    *e = ssub16(sxtb16(v), zpp);
                    *d = ssub16(sxtb16_ror8(v), zpp);
                }
                for (ao, s) in acc.iter_mut().zip(&ws) {
                    // SAFETY: i + 4 <= run == s.len() (`runs`).
                    let v = unsafe { word(s, i) };
                    let (we, wd) = (sxtb16(v), sxtb16_ror8(v));
                    for ((a, &e), &d) in ao.iter_mut().zip(&xe).zip(&xd) {
                        *a = smlad(wd, d, smlad(we, e, *a));
                    }
                }
                i += 4;
            }
            for (ao, ws) in acc.iter_mut().zip(&ws) {
                for (a, xs) in ao.iter_mut().zip(&xs) {
                    let (wt, xt) = (ws.get(i..).unwrap_or(&[]), xs.get(i..).unwrap_or(&[]));
                    for (&wv, &xv) in wt.iter().zip(xt) {
                        *a = a.wrapping_add(wv as i32 * (xv as i32 - zp as i32));
                    }
                }
            }
        }
    }
}
