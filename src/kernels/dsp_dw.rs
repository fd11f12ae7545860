//! Depthwise convolution (`groups == ic == oc`: one filter per channel) for the Cortex-M
//! DSP path: per output pixel and channel, one i32 sum over the window's valid taps (the
//! channel's bytes of a row of taps are `ic` apart), then the reference's requantisation
//! ([`out_value`]). A global pool (the window is the whole input: micro_resnet8's 7×7
//! average pool over 64 channels) sums each channel's taps in a 7-instruction assembly loop
//! ([`raw_sums`]); other windows in plain code.
//!
//! The reference runs these as grouped convolutions with a one-element dot product per tap
//! (two sub-slices and a call per multiply-accumulate: 62 instructions per MAC on the M4
//! for that pool). Same sums (integer addition modulo 2^32 does not depend on the order,
//! and the reference's are wrapping i32 sums too), same requantisation, so the same bytes.
#![allow(unsafe_code)]

use core::arch::asm;

use super::reference::{self, check_window, out_value, taps};
use super::{ConvParams, In, KernelError, Out};

/// Whether [`conv2d`] takes this convolution: one input and one output channel per group.
pub(super) fn takes(p: &ConvParams<'_>, ic: usize, oc: usize) -> bool {
    p.groups == ic && ic == oc && ic > 0
}

/// [`Op::Conv2d`](crate::format::model::Op::Conv2d) for a convolution [`takes`] accepts;
/// same contract, errors and bytes as [`reference::conv2d`] (which it calls for anything
/// outside that, or on inconsistent arguments, to return the same error).
pub(super) fn conv2d(x: In<'_>, y: Out<'_>, p: &ConvParams<'_>) -> Result<(), KernelError> {
    let c = x.shape.c;
    let [kh, kw] = p.window.kernel;
    let consistent = x.check().is_ok()
        && y.check().is_ok()
        && check_window(&p.window).is_ok()
        && takes(p, c, y.shape.c)
        && kh.checked_mul(kw).and_then(|t| t.checked_mul(c)) == Some(p.weights.len())
        && p.bias.len() == c
        && p.rescale.fits(c);
    if !consistent || y.data.is_empty() {
        return reference::conv2d(x, y, p);
    }
    let (ih, iw, ow) = (x.shape.h, x.shape.w, y.shape.w);
    let [dh, dw] = p.window.dilation;
    let zp = x.zero_point as i32;
    if [y.shape.h, ow] == [1, 1]
        && [kh, kw] == [ih, iw]
        && p.window.pad == [0, 0]
        && p.window.dilation == [1, 1]
    {
        // A global pool: the one window is the whole input, every tap valid, channel `ch`'s
        // taps at `ch`, `ch + c`, `ch + 2c`, …: one run per channel. The input is
        // `kh · kw · c` bytes (`x.check()`), so each run's last tap, at
        // `ch + (kh · kw − 1) · c`, lies inside it.
        let kk = kh * kw;
        if kk == 0 || x.data.len() != kk * c {
            return reference::conv2d(x, y, p);
        }
        for (ch, (o, wk)) in y
            .data
            .iter_mut()
            .zip(p.weights.chunks_exact(kk))
            .enumerate()
        {
            // SAFETY: `wk` holds `kk ≥ 1` weights; the input holds `kk · c` bytes and
            // `ch < c`, so the `kk` taps `ch + t · c` are inside it.
            let (wx, w) = unsafe { raw_sums(wk.as_ptr(), x.data.as_ptr().add(ch), c, kk) };
            // The reference's `bias + Σ w · (x − zp)`, modulo 2^32 as its sums.
            let acc = p
                .bias
                .get(ch)
                .unwrap_or(0)
                .wrapping_add(wx)
                .wrapping_sub(zp.wrapping_mul(w));
            *o = out_value(acc, p.rescale.at(ch), y.zero_point, p.clamp);
        }
        return Ok(());
    }
    for (pix, out_px) in y.data.chunks_exact_mut(c).enumerate() {
        let w = &p.window;
        let (ky0, ky1, iy0) = taps(pix / ow, w.stride[0], w.pad[0], kh, dh, ih);
        let (kx0, kx1, ix0) = taps(pix % ow, w.stride[1], w.pad[1], kw, dw, iw);
        if kx0 >= kx1 || ky0 >= ky1 {
            // No valid tap: the bias alone, as the reference.
            for (ch, o) in out_px.iter_mut().enumerate() {
                let acc = p.bias.get(ch).unwrap_or(0);
                *o = out_value(acc, p.rescale.at(ch), y.zero_point, p.clamp);
            }
            continue;
        }
        // The first valid column of the window, and the distance between taps, in bytes.
        let ix = (ix0 + (kx0 * dw) as i64) as usize;
        let (step, n) = (dw * c, kx1 - kx0);
        for (ch, (o, wk)) in out_px
            .iter_mut()
            .zip(p.weights.chunks_exact(kh * kw))
            .enumerate()
        {
            let mut acc = p.bias.get(ch).unwrap_or(0);
            for ky in ky0..ky1 {
                let iy = (iy0 + (ky * dh) as i64) as usize;
                let at = (iy * iw + ix) * c + ch;
                let ws = wk.get(ky * kw + kx0..ky * kw + kx1).unwrap_or(&[]);
                // An index stepped by `step` (an iterator adaptor chain cost about 24
                // instructions a tap on the M4, this about 7).
                let mut xi = at;
                for &wv in ws.iter().take(n) {
                    let xv = x.data.get(xi).map_or(zp, |&v| v as i32);
                    acc = acc.wrapping_add(wv as i32 * (xv - zp));
                    xi += step;
                }
            }
            *o = out_value(acc, p.rescale.at(ch), y.zero_point, p.clamp);
        }
    }
    Ok(())
}

/// `(Σ_t w[t] · x[t · step], Σ_t w[t])` over `t < n` (i32 wrapping), 7 instructions a tap.
///
/// # Safety
/// `n ≥ 1`; `w` is valid for reading `n` bytes and `x` for reading the bytes at
/// `t · step`, `t < n`.
#[inline(always)]
unsafe fn raw_sums(w: *const i8, x: *const i8, step: usize, n: usize) -> (i32, i32) {
    let (mut wx, mut sw) = (0i32, 0i32);
    // SAFETY: reads `n` bytes from `w` and one byte every `step` from `x`, `n` times,
    // within the caller's bounds. Only the named registers and the flags are written.
    unsafe {
        asm!(
            "2:",
            "ldrsb {v}, [{w}], #1",
            "ldrsb {u}, [{x}]",
            "add {x}, {x}, {step}",
            "mla {wx}, {v}, {u}, {wx}",
            "add {sw}, {sw}, {v}",
            "subs {n}, {n}, #1",
            "bne 2b",
            w = inout(reg) w => _,
            x = inout(reg) x => _,
            n = inout(reg) n => _,
            step = in(reg) step,
            wx = inout(reg) wx,
            sw = inout(reg) sw,
            v = out(reg) _,
            u = out(reg) _,
            options(nostack, readonly),
        );
    }
    (wx, sw)
}
