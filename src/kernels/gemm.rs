//! What the x86-64 GEMM convolutions ([`vnni_gemm`](super::vnni_gemm),
//! [`avx2_gemm`](super::avx2_gemm)) share: the argument checks, each output pixel's window
//! gathered in the weights' tap order with the zero point in the padding, and the split of
//! the output rows across threads. The Cortex-M DSP GEMM ([`dsp_gemm`](super::dsp_gemm))
//! uses the checks and the gathering too.

use super::reference::taps;
use super::{dense, ConvParams, In, KernelError, Out};

/// Largest window (`kh × kw × ic` rounded up to 4) the GEMM kernels take: 3×3 over 512
/// channels.
pub(super) const MAX_TAPS: usize = 4608;

/// Fewest multiply-accumulates per thread for which a GEMM conv is split across threads:
/// every thread repacks the weights and starts cold, so below ~100 µs of work (the row bands
/// of overlapped and streamed steps, small 1×1 convs) one thread is faster.
const MIN_MACS_PER_THREAD: u64 = 16 << 20;

/// Taps per output (`kh × kw × ic`, ≥ 1) of a dense convolution (`groups == 1`); `None`
/// for a grouped one, an empty window or an overflow.
pub(super) fn dense_taps(p: &ConvParams<'_>, ic: usize) -> Option<usize> {
    let [kh, kw] = p.window.kernel;
    kh.checked_mul(kw)
        .and_then(|v| v.checked_mul(ic))
        .filter(|&k| p.groups == 1 && k > 0)
}

#[cfg(target_arch = "x86_64")]
/// Whether the GEMM kernels take this convolution (dense, window at most [`MAX_TAPS`]);
/// others go to the dot-product kernels.
pub(super) fn covers(p: &ConvParams<'_>, ic: usize) -> bool {
    dense_taps(p, ic).is_some_and(|k| k.next_multiple_of(4) <= MAX_TAPS)
}

/// Calls `pixels(out, pix0)` on bands of whole output rows of `y` (`pix0`: the band's first
/// pixel), one band per thread (feature `threads`) when the conv is large enough.
pub(super) fn in_bands(
    job: &Job<'_>,
    y: Out<'_>,
    threads: usize,
    pixels: impl Fn(&mut [i8], usize) + Sync,
) {
    let row = y.shape.w * y.shape.c;
    let macs = (y.data.len() as u64).saturating_mul(job.k as u64);
    let threads = if macs / (threads.max(1) as u64) < MIN_MACS_PER_THREAD {
        1
    } else {
        threads
    };
    let band_rows = y.shape.h.div_ceil(threads.max(1)).max(1);
    let oc = job.oc.max(1);
    dense::in_bands(y.data, band_rows * row, threads, |out, at| {
        pixels(out, at / oc)
    });
}

/// A validated dense convolution.
pub(super) struct Job<'a> {
    pub(super) x: &'a [i8],
    pub(super) p: &'a ConvParams<'a>,
    /// Taps per output (`kh × kw × ic`).
    pub(super) k: usize,
    pub(super) ic: usize,
    pub(super) oc: usize,
    pub(super) ih: usize,
    pub(super) iw: usize,
    /// Output rows (read by the Cortex-M stem path only).
    #[cfg_attr(
        not(all(target_arch = "arm", target_feature = "dsp")),
        allow(dead_code)
    )]
    pub(super) oh: usize,
    pub(super) ow: usize,
    pub(super) zp: i8,
    pub(super) out_zp: i8,
}

impl<'a> Job<'a> {
    /// The reference's argument checks; `Ok(None)` for an empty output.
    pub(super) fn new(
        x: &In<'a>,
        y: &Out<'_>,
        p: &'a ConvParams<'a>,
    ) -> Result<Option<Self>, KernelError> {
        let Some(k) = dense::check_dense_conv(x, y, p)? else {
            return Ok(None);
        };
        if k.next_multiple_of(4) > MAX_TAPS {
            return Err(KernelError);
        }
        let (ic, oc) = (x.shape.c, y.shape.c);
        Ok(Some(Self {
            x: x.data,
            p,
            k,
            ic,
            oc,
            ih: x.shape.h,
            iw: x.shape.w,
            oh: y.shape.h,
            ow: y.shape.w,
            zp: x.zero_point,
            out_zp: y.zero_point,
        }))
    }

    /// The window of output pixel `pix` (NHWC order) into `dst` (at least `k` bytes) in the
    /// weights' tap order (`ky`, `kx`, channel); taps in the padding, and the bytes past `k`,
    /// are the input zero point. `copy` copies a contiguous run (same lengths).
    pub(super) fn gather(&self, pix: usize, dst: &mut [i8], copy: impl Fn(&mut [i8], &[i8])) {
        self.gather_filled(pix, dst, self.zp, copy);
    }

    /// [`Job::gather`] with `fill` in the padding and past `k` instead of the zero point
    /// (for a `copy` that transforms the bytes it copies, `fill` being the zero point's
    /// image).
    #[inline(always)]
    pub(super) fn gather_filled(
        &self,
        pix: usize,
        dst: &mut [i8],
        fill: i8,
        copy: impl Fn(&mut [i8], &[i8]),
    ) {
        let w = &self.p.window;
        let ([kh, kw], [sh, sw], [dh, dw], [pt, pl]) = (w.kernel, w.stride, w.dilation, w.pad);
        let (ic, iw) = (self.ic, self.iw);
        let (oy, ox) = (pix / self.ow, pix % self.ow);
        let (ky0, ky1, iy0) = taps(oy, sh, pt, kh, dh, self.ih);
        let (kx0, kx1, ix0) = taps(ox, sw, pl, kw, dw, iw);
        if (ky0, ky1, kx0, kx1) == (0, kh, 0, kw) {
            // A whole window: every tap is copied below, only the padding to `kp` is filled.
            dst.get_mut(self.k..).unwrap_or(&mut []).fill(fill);
        } else {
            dst.fill(fill);
        }
        let line = kw * ic;
        if kx0 >= kx1 {
            return; // the window lies wholly in the padding horizontally
        }
        for ky in ky0..ky1 {
            let iy = (iy0 + (ky * dh) as i64) as usize;
            let Some(row) = self.x.get(iy * iw * ic..(iy + 1) * iw * ic) else {
                continue;
            };
            let d = dst.get_mut(ky * line..(ky + 1) * line).unwrap_or(&mut []);
            if dw == 1 {
                let ix = (ix0 + kx0 as i64) as usize;
                let len = (kx1 - kx0) * ic;
                if let (Some(s), Some(d)) = (
                    row.get(ix * ic..ix * ic + len),
                    d.get_mut(kx0 * ic..kx0 * ic + len),
                ) {
                    copy(d, s);
                }
            } else {
                for kx in kx0..kx1 {
                    let ix = (ix0 + (kx * dw) as i64) as usize;
                    if let (Some(s), Some(d)) = (
                        row.get(ix * ic..(ix + 1) * ic),
                        d.get_mut(kx * ic..(kx + 1) * ic),
                    ) {
                        copy(d, s);
                    }
                }
            }
        }
    }
}
