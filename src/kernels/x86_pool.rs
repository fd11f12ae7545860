//! x86-64 AVX-512 max pool: 64 channels per step (`vpmaxsb`), the last `c % 64` masked.
//!
//! [`reference::max_pool`] takes, per output pixel and channel,
//! the max over the valid window positions (starting from −128), then the clamp. This does
//! the same per lane: the same positions, max is exact, so the same bytes.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use super::reference::{self, check_window, window_taps};
use super::x86::Avx512Vnni;
use super::{Clamp, In, KernelError, Out, Window};

/// [`reference::max_pool`] on AVX-512: same contract, errors and bytes.
pub(super) fn max_pool(
    m: Avx512Vnni,
    x: In<'_>,
    y: Out<'_>,
    w: &Window,
    clamp: Clamp,
) -> Result<(), KernelError> {
    let checked = x.check().is_ok() && y.check().is_ok() && check_window(w).is_ok();
    if !checked || x.shape.c != y.shape.c {
        return reference::max_pool(x, y, w, clamp); // its error
    }
    if y.data.is_empty() || x.shape.c == 0 {
        return Ok(());
    }
    let _ = m;
    // SAFETY: `Avx512Vnni` exists only once AVX-512 F/BW were detected.
    unsafe { pool_avx512(&x, y, w, clamp) };
    Ok(())
}

/// See [`max_pool`]; the arguments were checked.
#[target_feature(enable = "avx512f,avx512bw")]
fn pool_avx512(x: &In<'_>, y: Out<'_>, w: &Window, clamp: Clamp) {
    let (c, iw, ow) = (x.shape.c, x.shape.w, y.shape.w.max(1));
    let floor = _mm512_set1_epi8(i8::MIN);
    let (lo, hi) = (_mm512_set1_epi8(clamp.min), _mm512_set1_epi8(clamp.max));
    for (pix, out_px) in y.data.chunks_exact_mut(c).enumerate() {
        let [(ky0, ky1, iy0), (kx0, kx1, ix0)] = window_taps(pix, ow, w, x.shape.h, iw);
        let mut c0 = 0;
        while c0 < c {
            let n = (c - c0).min(64);
            let mask: __mmask64 = if n == 64 { !0 } else { (1u64 << n) - 1 };
            let mut acc = floor;
            for ky in ky0..ky1 {
                let iy = (iy0 + (ky * w.dilation[0]) as i64) as usize;
                for kx in kx0..kx1 {
                    let ix = (ix0 + (kx * w.dilation[1]) as i64) as usize;
                    let at = (iy * iw + ix) * c + c0;
                    if let Some(s) = x.data.get(at..at + n) {
                        // SAFETY: the mask selects `s`'s `n` bytes; masked-out bytes are not
                        // read (they take −128, which a max ignores).
                        let v = unsafe { _mm512_mask_loadu_epi8(floor, mask, s.as_ptr()) };
                        acc = _mm512_max_epi8(acc, v);
                    }
                }
            }
            // The reference's `max(min)` then `min(max)`: `max` wins if `min > max`.
            let r = _mm512_min_epi8(_mm512_max_epi8(acc, lo), hi);
            if let Some(d) = out_px.get_mut(c0..c0 + n) {
                // SAFETY: the mask selects `d`'s `n` bytes; masked-out bytes are not written.
                unsafe { _mm512_mask_storeu_epi8(d.as_mut_ptr(), mask, r) };
            }
            c0 += 64;
        }
    }
}
