//! The safe driver of the SIMD dense kernels: window clipping, blocking and requantisation,
//! generic over a [`Micro`] kernel that only computes dot products.
//!
//! Covers dense convolutions (`groups == 1`, `dilation_w == 1`: each kernel row of a window
//! is one contiguous `kw × ic` run of the NHWC input, and of the weights) and fully connected
//! layers (one run of `n_in`). Anything else goes to [`reference`](mod@super::reference).
//!
//! Order: for each output row, for each block of `O` output channels (their weights stay in
//! L1), for each block of `P` neighbouring output pixels whose windows are clipped alike
//! (each weight load serves `P` pixels), the valid kernel rows. Sums are i32 wrapping, like
//! the reference: integer addition modulo 2^32 does not depend on the order, so every
//! [`Micro`] gives the reference's accumulators bit for bit, then the same requantisation.

use super::reference::{self, check_window, taps};
use super::{ConvParams, FcParams, In, KernelError, Out};

/// A dot-product kernel for `P` inputs × `O` weight sets over several runs.
pub(super) trait Micro: Copy {
    /// For every `(xo, wo)` of `rows`:
    /// `acc[o][p] += Σ_{i < run} w[o][wo + i] * (x[p][xo + i] - zp)` (i32 wrapping).
    /// A row whose runs do not all lie inside the slices is skipped (the driver never
    /// gives one). Reads nothing outside the slices.
    fn dot<const P: usize, const O: usize>(
        self,
        x: &[&[i8]; P],
        w: &[&[i8]; O],
        rows: impl Iterator<Item = (usize, usize)>,
        run: usize,
        zp: i8,
        acc: &mut [[i32; P]; O],
    );
}

/// `s[k][off .. off + len]` for every `k`, `None` if any is out of range.
#[inline(always)]
pub(super) fn runs<'a, const N: usize>(
    s: &[&'a [i8]; N],
    off: usize,
    len: usize,
) -> Option<[&'a [i8]; N]> {
    let end = off.checked_add(len)?;
    let mut out: [&[i8]; N] = [&[]; N];
    for (o, s) in out.iter_mut().zip(s) {
        *o = s.get(off..end)?;
    }
    Some(out)
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
/// Elements `from..` (at most 16) of every run, zero-padded to 16.
#[inline(always)]
pub(super) fn pad16<const N: usize>(s: &[&[i8]; N], from: usize) -> [[i8; 16]; N] {
    let mut out = [[0i8; 16]; N];
    for (o, s) in out.iter_mut().zip(s) {
        for (d, &v) in o.iter_mut().zip(s.get(from..).unwrap_or(&[])) {
            *d = v;
        }
    }
    out
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
/// `TAIL_MASK[k .. k + 16]` keeps the last `k` bytes of a 16-byte chunk (for `k` in 0..=16).
pub(super) const TAIL_MASK: [i8; 32] = {
    let mut m = [0i8; 32];
    let mut i = 16;
    while i < 32 {
        m[i] = -1;
        i += 1;
    }
    m
};

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
/// How [`Micro`] kernels finish a run of `run` elements after `i` (a multiple of 16 with
/// `run - i < 16`): `Some(start)` to read the last 16 elements from `start = run - 16` and
/// keep only the last `run - i` of them (mask [`TAIL_MASK`] at `run - i` on the weights;
/// zero weights add nothing), `None` when the run is shorter than 16 (use [`pad16`]).
#[inline(always)]
pub(super) fn tail_start(run: usize) -> Option<usize> {
    run.checked_sub(16)
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
/// Views of padded chunks (see [`pad16`]) as slices.
#[inline(always)]
pub(super) fn slices<const N: usize>(c: &[[i8; 16]; N]) -> [&[i8]; N] {
    let mut out: [&[i8]; N] = [&[]; N];
    for (o, c) in out.iter_mut().zip(c) {
        *o = c;
    }
    out
}

/// [`Op::Conv2d`](crate::format::model::Op::Conv2d) through `m` with blocks of `P` pixels
/// × `O` output channels; same contract and errors as [`reference::conv2d`]. With the
/// `threads` feature and `threads > 1`, the output rows are split into `threads` contiguous
/// bands (see [`in_bands`]); the bytes are the same, every row being computed by the same
/// code whatever band it falls in. Without the feature `threads` is ignored.
pub(super) fn conv2d<M: Micro + Sync, const P: usize, const O: usize>(
    m: M,
    x: In<'_>,
    y: Out<'_>,
    p: &ConvParams<'_>,
    threads: usize,
) -> Result<(), KernelError> {
    if p.groups != 1 || p.window.dilation[1] != 1 {
        return reference::conv2d(x, y, p);
    }
    let Some(job) = ConvJob::new(&x, &y, p)? else {
        return Ok(());
    };
    let row = job.ow * job.oc;
    let band_rows = y.shape.h.div_ceil(threads.max(1)).max(1);
    let job = &job;
    in_bands(y.data, band_rows * row, threads, |out, at| {
        job.rows::<M, P, O>(m, out, at / row)
    });
    Ok(())
}

/// Calls `work(chunk, start)` on consecutive chunks of `band` elements of `out` (`start`:
/// the chunk's first index in `out`). With the `threads` feature and `threads > 1`, one
/// scoped thread per chunk after the first, which the calling thread runs; otherwise the
/// whole of `out` in one call, on this thread (no spawning, no allocation).
pub(super) fn in_bands(
    out: &mut [i8],
    band: usize,
    threads: usize,
    work: impl Fn(&mut [i8], usize) + Sync,
) {
    #[cfg(feature = "threads")]
    if threads > 1 && band > 0 {
        let work = &work;
        std::thread::scope(|s| {
            let mut chunks = out.chunks_mut(band).enumerate();
            let first = chunks.next();
            for (k, chunk) in chunks {
                s.spawn(move || work(chunk, k * band));
            }
            if let Some((_, chunk)) = first {
                work(chunk, 0);
            }
        });
        return;
    }
    let _ = (band, threads);
    work(out, 0);
}

/// [`reference::conv2d`]'s argument checks for a dense convolution (`groups` must be 1):
/// `Ok(Some(taps))`, taps per output `kh × kw × ic` (≥ 1), or `Ok(None)` for an empty output.
pub(super) fn check_dense_conv(
    x: &In<'_>,
    y: &Out<'_>,
    p: &ConvParams<'_>,
) -> Result<Option<usize>, KernelError> {
    x.check()?;
    y.check()?;
    check_window(&p.window)?;
    let (ic, oc) = (x.shape.c, y.shape.c);
    let [kh, kw] = p.window.kernel;
    let taps = kh
        .checked_mul(kw)
        .and_then(|v| v.checked_mul(ic))
        .ok_or(KernelError)?;
    if p.groups != 1
        || oc.checked_mul(taps) != Some(p.weights.len())
        || p.bias.len() != oc
        || !p.rescale.fits(oc)
    {
        return Err(KernelError);
    }
    if y.data.is_empty() {
        return Ok(None);
    }
    if taps == 0 {
        return Err(KernelError);
    }
    Ok(Some(taps))
}

/// A validated dense convolution: everything [`ConvJob::rows`] needs.
struct ConvJob<'a> {
    x: &'a [i8],
    w: &'a [i8],
    fc: FcParams<'a>,
    /// Weights per output channel (`kh * kw * ic`).
    wsz: usize,
    ic: usize,
    oc: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    pt: usize,
    pl: usize,
    ow: usize,
    iw: usize,
    ih: usize,
    zp: i8,
    out_zp: i8,
    /// Output columns `lo..hi` have their whole window inside the input horizontally.
    lo: usize,
    hi: usize,
}

impl<'a> ConvJob<'a> {
    /// Checks the arguments like [`reference::conv2d`]; `Ok(None)` for an empty output.
    fn new(x: &In<'a>, y: &Out<'_>, p: &ConvParams<'a>) -> Result<Option<Self>, KernelError> {
        let Some(wsz) = check_dense_conv(x, y, p)? else {
            return Ok(None);
        };
        let (ic, oc) = (x.shape.c, y.shape.c);
        let [kh, kw] = p.window.kernel;
        let [sh, sw] = p.window.stride;
        let [pt, pl] = p.window.pad;
        let (ow, iw, ih) = (y.shape.w, x.shape.w, x.shape.h);
        let lo = pl.div_ceil(sw);
        let hi = if iw + pl >= kw {
            (iw + pl - kw) / sw + 1
        } else {
            0
        }
        .min(ow);
        Ok(Some(Self {
            x: x.data,
            w: p.weights,
            fc: p.fc(),
            wsz,
            ic,
            oc,
            kh,
            kw,
            sh,
            sw,
            dh: p.window.dilation[0],
            pt,
            pl,
            ow,
            iw,
            ih,
            zp: x.zero_point,
            out_zp: y.zero_point,
            lo,
            hi,
        }))
    }

    /// Computes the output rows `oy0 ..` that `out` holds (whole rows of `ow × oc`).
    fn rows<M: Micro, const P: usize, const O: usize>(&self, m: M, out: &mut [i8], oy0: usize) {
        let (ic, oc, kw) = (self.ic, self.oc, self.kw);
        let gather = kw * ic < SHORT_ROW && self.wsz <= PATCH_MAX;
        for (k, out_row) in out.chunks_exact_mut(self.ow * oc).enumerate() {
            let (ky0, ky1, iy0) = taps(oy0 + k, self.sh, self.pt, self.kh, self.dh, self.ih);
            // Input offset (of the first valid tap) and weight offset of every valid kernel row.
            let rows = (ky0..ky1).map(|ky| {
                let iy = (iy0 + (ky * self.dh) as i64) as usize;
                (iy * self.iw * ic, ky * kw * ic)
            });
            if gather && ky0 == 0 && ky1 == self.kh {
                self.gathered_row::<M, P, O>(m, rows, out_row);
                continue;
            }
            let mut o0 = 0;
            while o0 < oc {
                let full = o0 + O <= oc;
                let mut ox = 0;
                while ox < self.ow {
                    // Interior pixels (windows unclipped horizontally) go `P` at a time, with
                    // no per-pixel clipping; the others one by one.
                    let inner = ox >= self.lo && ox + P <= self.hi;
                    let r = rows.clone();
                    match (inner, full) {
                        (true, true) => self.block::<M, P, O>(m, r, true, ox, o0, out_row),
                        (true, false) => self.block::<M, P, 1>(m, r, true, ox, o0, out_row),
                        (false, true) => self.block::<M, 1, O>(m, r, false, ox, o0, out_row),
                        (false, false) => self.block::<M, 1, 1>(m, r, false, ox, o0, out_row),
                    }
                    ox += if inner { P } else { 1 };
                }
                o0 += if full { O } else { 1 };
            }
        }
    }

    /// Pixels `ox .. ox + NP` × channels `o0 .. o0 + NO` of one output row over the kernel
    /// rows `rows`; `inner`: their windows are whole horizontally (else `NP` is 1 and the
    /// window is clipped).
    #[inline(always)]
    fn block<M: Micro, const NP: usize, const NO: usize>(
        &self,
        m: M,
        rows: impl Iterator<Item = (usize, usize)>,
        inner: bool,
        ox: usize,
        o0: usize,
        out_row: &mut [i8],
    ) {
        let (ic, kw, sw, pl) = (self.ic, self.kw, self.sw, self.pl);
        let (kx0, kx1) = if inner {
            (0, kw)
        } else {
            let (a, b, _) = taps(ox, sw, pl, kw, 1, self.iw);
            (a, b)
        };
        // Input column of pixel `j`'s first valid tap; a window wholly in the padding has no
        // taps and a negative start.
        let ix = |j: usize| ((((ox + j) * sw + kx0) as i64 - pl as i64).max(0)) as usize * ic;
        let blk = Block {
            x: self.x,
            w: self.w,
            wsz: self.wsz,
            run: (kx1 - kx0) * ic,
            zp: self.zp,
            out_base: 0,
        };
        let (fc, zp) = (&self.fc, self.out_zp);
        blk.run::<M, NP, NO>(m, rows, ix, kx0 * ic, o0, ox, out_row, self.oc, fc, zp);
    }

    /// One output row whose windows are whole vertically, for short kernel rows: the whole
    /// window of each interior pixel is copied into a contiguous patch once, and every
    /// output channel reads it as one run of `wsz` (the weights of a channel are one run of
    /// `wsz` too), instead of `kh` runs of `kw × ic` that are mostly tail. Pixels clipped
    /// horizontally take [`ConvJob::block`]. Same sums, so the same bytes.
    fn gathered_row<M: Micro, const P: usize, const O: usize>(
        &self,
        m: M,
        rows: impl Iterator<Item = (usize, usize)> + Clone,
        out_row: &mut [i8],
    ) {
        let (ic, oc, sw, pl) = (self.ic, self.oc, self.sw, self.pl);
        let line = self.kw * ic;
        let mut patches = [[0i8; PATCH_MAX]; P];
        let mut ox = 0;
        while ox < self.ow {
            if !(ox >= self.lo && ox + P <= self.hi) {
                let mut o0 = 0;
                while o0 < oc {
                    if o0 + O <= oc {
                        self.block::<M, 1, O>(m, rows.clone(), false, ox, o0, out_row);
                        o0 += O;
                    } else {
                        self.block::<M, 1, 1>(m, rows.clone(), false, ox, o0, out_row);
                        o0 += 1;
                    }
                }
                ox += 1;
                continue;
            }
            for (j, patch) in patches.iter_mut().enumerate() {
                // Interior: the window starts at or after column 0.
                let ix = ((ox + j) * sw).saturating_sub(pl) * ic;
                for ((at, _), dst) in rows.clone().zip(patch.chunks_exact_mut(line)) {
                    if let Some(src) = self.x.get(at + ix..at + ix + line) {
                        dst.copy_from_slice(src);
                    }
                }
            }
            let blk = Block {
                x: patches.as_flattened(),
                w: self.w,
                wsz: self.wsz,
                run: self.wsz,
                zp: self.zp,
                out_base: 0,
            };
            let (fc, zp) = (&self.fc, self.out_zp);
            let one = || core::iter::once((0, 0));
            let at = |j: usize| j * PATCH_MAX;
            let mut o0 = 0;
            while o0 < oc {
                if o0 + O <= oc {
                    blk.run::<M, P, O>(m, one(), at, 0, o0, ox, out_row, oc, fc, zp);
                    o0 += O;
                } else {
                    blk.run::<M, P, 1>(m, one(), at, 0, o0, ox, out_row, oc, fc, zp);
                    o0 += 1;
                }
            }
            ox += P;
        }
    }
}

/// Kernel rows (`kw × ic` bytes) shorter than this are gathered (see
/// [`ConvJob::gathered_row`]) when the whole window fits [`PATCH_MAX`].
const SHORT_ROW: usize = 32;

/// Largest window (`kh × kw × ic` bytes) gathered into a patch on the stack (`P` of them).
const PATCH_MAX: usize = 256;

/// What one block of pixels × output channels reads.
struct Block<'a> {
    x: &'a [i8],
    w: &'a [i8],
    /// Weights per output channel.
    wsz: usize,
    /// Length of one kernel row's valid run.
    run: usize,
    zp: i8,
    /// Index in the whole output of the first element of the slice `run` writes to.
    out_base: usize,
}

impl Block<'_> {
    /// Accumulates pixels `ox .. ox + P` × channels `o0 .. o0 + O` of one output row over
    /// `rows` (input row offset, weight row offset), then writes them requantised.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn run<M: Micro, const P: usize, const O: usize>(
        &self,
        m: M,
        rows: impl Iterator<Item = (usize, usize)>,
        ix: impl Fn(usize) -> usize,
        wcol: usize,
        o0: usize,
        ox: usize,
        out_row: &mut [i8],
        oc: usize,
        p: &FcParams<'_>,
        out_zp: i8,
    ) {
        let mut acc = [[0i32; P]; O];
        for (o, a) in acc.iter_mut().enumerate() {
            *a = [p.bias.get(o0 + o).unwrap_or(0); P];
        }
        let xs: [&[i8]; P] = core::array::from_fn(|j| self.x.get(ix(j)..).unwrap_or(&[]));
        let ws: [&[i8]; O] = core::array::from_fn(|o| {
            let at = (o0 + o) * self.wsz + wcol;
            self.w.get(at..).unwrap_or(&[])
        });
        m.dot(&xs, &ws, rows, self.run, self.zp, &mut acc);
        write(out_row, self.out_base, ox, oc, o0, &acc, p, out_zp);
    }
}

/// Writes `acc[o][j]` requantised to pixel `ox + j`, channel `o0 + o` of a row of `oc`-channel
/// pixels, `out_row` starting at element `base` of that row (positions outside it are skipped).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn write<const P: usize, const O: usize>(
    out_row: &mut [i8],
    base: usize,
    ox: usize,
    oc: usize,
    o0: usize,
    acc: &[[i32; P]; O],
    p: &FcParams<'_>,
    out_zp: i8,
) {
    let (lo, hi) = (p.clamp.min as i64, p.clamp.max as i64);
    for (o, a) in acc.iter().enumerate() {
        let (m, s) = p.rescale.at(o0 + o);
        let (m, s) = (m as i64, s.clamp(1, 62) as u32);
        let half = 1i64 << (s - 1);
        for (j, &v) in a.iter().enumerate() {
            let at = ((ox + j) * oc + o0 + o).checked_sub(base);
            if let Some(d) = at.and_then(|at| out_row.get_mut(at)) {
                // `out_value` in one i64 (|v * m| < 2^62: no overflow): clamping once to
                // [lo, hi] ⊂ i8 equals clamping to i32, adding the zero point (saturating)
                // and clamping again, as the reference does.
                let r = ((v as i64 * m + half) >> s) + out_zp as i64;
                *d = r.max(lo).min(hi) as i8;
            }
        }
    }
}

/// [`Op::FullyConnected`](crate::format::model::Op::FullyConnected) through `m`, `O` outputs
/// at a time; same contract and errors as [`reference::fully_connected`]. With the `threads`
/// feature and `threads > 1`, the outputs are split into `threads` contiguous bands
/// (multiples of `O`, see [`in_bands`]); same bytes.
pub(super) fn fully_connected<M: Micro + Sync, const O: usize>(
    m: M,
    x: In<'_>,
    y: Out<'_>,
    p: &FcParams<'_>,
    threads: usize,
) -> Result<(), KernelError> {
    check_fc(&x, &y, p)?;
    let band = y.data.len().div_ceil(threads.max(1)).div_ceil(O).max(1) * O;
    let (x, zp) = (&x, y.zero_point);
    in_bands(y.data, band, threads, |out, at| {
        fc_outputs::<M, O>(m, x, out, at, p, zp)
    });
    Ok(())
}

/// [`reference::fully_connected`]'s argument checks.
fn check_fc(x: &In<'_>, y: &Out<'_>, p: &FcParams<'_>) -> Result<(), KernelError> {
    x.check()?;
    y.check()?;
    let (n_in, n_out) = (x.data.len(), y.data.len());
    if n_out.checked_mul(n_in) != Some(p.weights.len())
        || p.bias.len() != n_out
        || !p.rescale.fits(n_out)
        || n_in == 0
    {
        return Err(KernelError);
    }
    Ok(())
}

/// Outputs `base .. base + out.len()` of a checked fully connected layer into `out`.
fn fc_outputs<M: Micro, const O: usize>(
    m: M,
    x: &In<'_>,
    out: &mut [i8],
    base: usize,
    p: &FcParams<'_>,
    out_zp: i8,
) {
    let n_in = x.data.len();
    let n_out = p.bias.len();
    let blk = Block {
        x: x.data,
        w: p.weights,
        wsz: n_in,
        run: n_in,
        zp: x.zero_point,
        out_base: base,
    };
    let rows = || core::iter::once((0, 0));
    let end = (base + out.len()).min(n_out);
    let mut o0 = base;
    while o0 < end {
        if o0 + O <= end {
            blk.run::<M, 1, O>(m, rows(), |_| 0, 0, o0, 0, out, n_out, p, out_zp);
            o0 += O;
        } else {
            blk.run::<M, 1, 1>(m, rows(), |_| 0, 0, o0, 0, out, n_out, p, out_zp);
            o0 += 1;
        }
    }
}
