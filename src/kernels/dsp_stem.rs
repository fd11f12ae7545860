//! The packed DSP GEMM's ([`super::dsp_packed`]) patches for a 3×3 convolution over one
//! input channel (a grayscale stem): the input copied once, with its padding, into a
//! zero-point-bordered image on the stack, then each pixel's 9 taps read from its three
//! rows as 3 words and widened (16 instructions a pixel, against about 300 for gathering
//! the window and widening it).
//!
//! The window's taps in the pack's order are `r0[0..3], r1[0..3], r2[0..3]`, so its groups
//! of 4 are `(r0[0], r0[1], r0[2], r1[0])`, `(r1[1], r1[2], r2[0], r2[1])` and
//! `(r2[2], 0, 0, 0)` (the pack's weights are 0 past tap 9): one `LDR` of row 0 with its
//! fourth byte replaced by `BFI`, two `LDRH` joined by `ORR`, one `LDRB`; each word then
//! split by `SXTB16` / `SXTB16 ROR #8` into the patch's pairs. Taken when the bordered
//! image fits [`IMAGE_BYTES`].
#![allow(unsafe_code)]

use core::arch::asm;
use core::mem::MaybeUninit;

use super::gemm::Job;

/// Bytes of the bordered image on the stack (a 28×28 input takes 30 × 34).
pub(super) const IMAGE_BYTES: usize = 2048;

/// The caller's buffer for [`Stem`].
pub(super) type ImageBuf = [MaybeUninit<u8>; IMAGE_BYTES];

/// Bytes read past a window's last column (the `LDR` of its first row reads 4).
const SLACK: usize = 4;

/// A zero-point-bordered copy of a one-channel input (see the module docs).
pub(super) struct Stem<'b> {
    img: &'b [u8],
    /// Bytes per bordered row.
    pitch: usize,
}

impl<'b> Stem<'b> {
    /// The bordered image of `job`'s input in `buf`; `None` unless the conv is 3×3, not
    /// dilated, over one channel, and the image fits.
    pub(super) fn new(job: &Job<'_>, buf: &'b mut ImageBuf) -> Option<Self> {
        let w = &job.p.window;
        if job.ic != 1 || w.kernel != [3, 3] || w.dilation != [1, 1] {
            return None;
        }
        let ([pt, pl], [ih, iw], [sh, sw]) = (w.pad, [job.ih, job.iw], w.stride);
        // The bordered image: the rows and columns the last output pixel's window reaches
        // (the input's and its padding), plus `SLACK` bytes a row for the `LDR`.
        let rows = (job.oh.checked_sub(1)?).checked_mul(sh)?.checked_add(3)?;
        let cols = (job.ow.checked_sub(1)?).checked_mul(sw)?.checked_add(3)?;
        let pitch = cols.max(pl.checked_add(iw)?).checked_add(SLACK)?;
        let len = rows.checked_mul(pitch)?;
        let img = buf.get_mut(..len)?;
        let zp = job.zp as u8;
        for (r, row) in img.chunks_exact_mut(pitch).enumerate() {
            let src = r
                .checked_sub(pt)
                .filter(|&iy| iy < ih)
                .and_then(|iy| job.x.get(iy * iw..(iy + 1) * iw));
            let (left, rest) = row.split_at_mut(pl.min(pitch));
            for v in left.iter_mut() {
                v.write(zp);
            }
            let inside = match src {
                Some(s) => {
                    for (d, &v) in rest.iter_mut().zip(s) {
                        d.write(v as u8);
                    }
                    s.len().min(rest.len())
                }
                None => 0,
            };
            for v in rest.iter_mut().skip(inside) {
                v.write(zp);
            }
        }
        // SAFETY: every byte of `img` was written just above (each row's left padding, its
        // input bytes and the rest), and `MaybeUninit<u8>` has `u8`'s layout.
        let img = unsafe { core::slice::from_raw_parts(img.as_ptr().cast::<u8>(), len) };
        Some(Self { img, pitch })
    }

    /// Pixels `pix` and `pix + 1` (pixel 1 is pixel 0 again when `second` is false) into
    /// `patch` (3 groups of 4 words: pixel 0's pair of words, then pixel 1's).
    pub(super) fn fill(
        &self,
        job: &Job<'_>,
        patch: &mut [MaybeUninit<u32>],
        pix: usize,
        second: bool,
    ) {
        let [sh, sw] = job.p.window.stride;
        let ow = job.ow.max(1);
        if patch.len() < 12 {
            return;
        }
        for j in 0..2 {
            let p = if second { pix + j } else { pix };
            let at = (p / ow) * sh * self.pitch + (p % ow) * sw;
            // Rows 0 and 1 are read for 4 bytes from `at` and `at + pitch`, row 2 for 3
            // bytes from `at + 2 * pitch`: inside the image for every output pixel (`new`
            // sized it so), so this never skips one.
            if at + 2 * self.pitch + 3 > self.img.len() {
                continue;
            }
            let r0 = self.img.as_ptr().wrapping_add(at);
            // SAFETY: the three rows' bytes lie in `img` (checked just above; `pitch ≥ 4`
            // so row 0's and row 1's 4 bytes end before row 2's); `patch` holds at least 12
            // words (checked above) and pixel `j < 2` writes words `2j`, `2j + 1`,
            // `4 + 2j`, `5 + 2j`, `8 + 2j` and `9 + 2j`.
            unsafe { window(r0, self.pitch, patch.as_mut_ptr().cast::<u32>().add(2 * j)) };
        }
    }
}

/// The 3 groups of the window whose first row starts at `r0` (rows `pitch` bytes apart)
/// into `dst[0..2]`, `dst[4..6]`, `dst[8..10]` (see the module docs).
///
/// # Safety
/// `r0` is valid for reading 4 bytes, `r0 + pitch` for 3 and `r0 + 2 * pitch` for 3 (any
/// alignment); `dst` for writing words 0, 1, 4, 5, 8 and 9 (word-aligned).
#[inline(always)]
unsafe fn window(r0: *const u8, pitch: usize, dst: *mut u32) {
    // SAFETY: reads within the caller's bounds (`LDR`, `LDRH`, `LDRB`: unaligned allowed on
    // Armv7E-M), writes the 6 words (`STRD`, word-aligned). Only the named registers are
    // written; flags are untouched.
    unsafe {
        asm!(
            "add {r1}, {r0}, {pitch}",
            "add {r2}, {r1}, {pitch}",
            "ldr {w}, [{r0}]",
            "ldrb {t}, [{r1}]",
            "bfi {w}, {t}, #24, #8",
            "sxtb16 {a}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "strd {a}, {w}, [{dst}]",
            "ldrh {w}, [{r1}, #1]",
            "ldrh {t}, [{r2}]",
            "orr {w}, {w}, {t}, lsl #16",
            "sxtb16 {a}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "strd {a}, {w}, [{dst}, #16]",
            "ldrb {w}, [{r2}, #2]",
            "sxtb16 {a}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "strd {a}, {w}, [{dst}, #32]",
            r0 = in(reg) r0,
            pitch = in(reg) pitch,
            dst = in(reg) dst,
            r1 = out(reg) _,
            r2 = out(reg) _,
            w = out(reg) _,
            t = out(reg) _,
            a = out(reg) _,
            options(nostack, preserves_flags),
        );
    }
}
