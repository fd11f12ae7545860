//! Dense convolution on the Cortex-M DSP extension (Armv7E-M) as a small GEMM: 4 output
//! pixels × 1 output channel per step, `SMLAD` in a hand-scheduled loop.
//!
//! For each block of 4 output pixels (consecutive in NHWC order, across rows), every window
//! is gathered once in the weights' tap order with the input zero point in the padding
//! ([`Job::gather`]) and widened into a patch of i16 pairs `x − zp`, laid out for `SXTB16`
//! on the weights: for taps `t0..t3` of a group of 4, word A = `(t0, t2)` and word B =
//! `(t1, t3)`, the 4 pixels' A words then their B words (8 words a group). Every output
//! channel then runs over the patch: per group one weight word (`LDR`), split by `SXTB16` /
//! `SXTB16 ROR #8` into the same pairs, two `LDM`s of 4 patch words and 8 `SMLAD`s: 13
//! instructions for 16 multiply-accumulates, plus 2 per 8 groups for the loop (the old 4 × 4
//! dot-product kernel spilled its 16 accumulators and took about 2.9 instructions per MAC).
//! When the channels' weight rows are whole words (`k` a multiple of 4, or zero-padded to
//! whole groups on the stack when `k` is not and they fit in [`PADDED_WEIGHTS`] bytes: the
//! 1-channel stems) [`dot4_channels`] runs all of them in one assembly block; otherwise
//! [`dot4`] runs one channel at a time. The patch is widened by an assembly loop
//! ([`widen_words`], 7.5 instructions per group and pixel), and the sums requantised by
//! another ([`requant`], 8 per output: see [`Rq`] for why one `SMLAL` and one `ASR` give
//! the reference's value).
//!
//! Exact: `|x − zp| ≤ 255` fits an i16 lane and a padded tap holds `zp`, so it adds
//! `w · 0`, as the reference's skipped tap does; `SMLAD` wraps modulo 2^32 (it only sets the
//! sticky Q flag), like the reference's wrapping sums, so the accumulators are the
//! reference's bit for bit, and they are requantised as the reference does. When `k` is
//! not a multiple of 4, the windows are padded to whole groups with `zp` (adding 0 whatever
//! the weight), and on the per-channel path the last channel's last taps, whose word would
//! end past the weights, are added in plain code from the gathered bytes.
//!
//! Stack: the 4 windows and the patch (`4 + 8` bytes per tap of [`MAX_TAPS`]: 6.75 KiB, left
//! uninitialised but for what each call uses), the padded weights (1 KiB), the first 128
//! channels' requantisation (2 KiB) and 32 channels' accumulators (512 bytes).
#![allow(unsafe_code)]

use core::arch::asm;
use core::mem::MaybeUninit;

use super::gemm::{self, Job};
use super::{Clamp, ConvParams, FcParams, In, KernelError, Out};
use crate::format::math::{FoldedRequant, Requantizer};

/// Largest window (`kh × kw × ic`) this kernel takes: 3×3 over 64 channels. Larger ones go
/// to the dot-product kernel ([`super::dsp::Dsp`]).
pub(super) const MAX_TAPS: usize = 576;

/// Output pixels per block.
const P: usize = 4;

/// Whether [`conv2d`] takes this convolution: dense (`groups == 1`), at most [`MAX_TAPS`]
/// taps per output.
pub(super) fn takes(p: &ConvParams<'_>, ic: usize) -> bool {
    gemm::dense_taps(p, ic).is_some_and(|k| k <= MAX_TAPS)
}

/// One gathered window, word-aligned so that its groups of 4 taps read as words.
#[derive(Clone, Copy)]
#[repr(C, align(4))]
struct Window([i8; MAX_TAPS]);

/// [`Op::Conv2d`](crate::format::model::Op::Conv2d) for a convolution [`takes`] accepts;
/// same contract, errors and bytes as [`reference::conv2d`](super::reference::conv2d)
/// (`Err` also when [`takes`] does not hold). `threads` as for the other GEMMs (ignored
/// without the `threads` feature, which Cortex-M builds do not have).
pub(super) fn conv2d(
    x: In<'_>,
    y: Out<'_>,
    p: &ConvParams<'_>,
    threads: usize,
) -> Result<(), KernelError> {
    let Some(job) = Job::new(&x, &y, p)? else {
        return Ok(());
    };
    if !takes(p, job.ic) {
        return Err(KernelError);
    }
    let fc = p.fc();
    gemm::in_bands(&job, y, threads, |out, pix0| pixels(&job, &fc, out, pix0));
    Ok(())
}

/// The output pixels `pix0 ..` that `out` holds (whole pixels of `oc` channels).
fn pixels(job: &Job<'_>, fc: &FcParams<'_>, out: &mut [i8], pix0: usize) {
    let (k, oc, zp) = (job.k, job.oc.max(1), job.zp);
    // Windows are widened to whole groups, the taps past `k` holding `zp` (they add 0).
    let (groups, padded) = (k / 4, k.div_ceil(4));
    if k > MAX_TAPS {
        return;
    }
    let n = out.len() / oc;
    let zpp = (zp as i16 as u16 as u32) * 0x0001_0001;
    let line = job.p.window.kernel[1] * job.ic;
    // Windows whose kernel rows are whole words are widened straight from the input.
    let direct = line.is_multiple_of(4) && job.p.window.dilation[1] == 1;
    // Left uninitialised (zeroing them took more instructions than some convs): every word
    // of the first `8 * padded` is written by `widen` for every block before it is read.
    let mut patch = [const { MaybeUninit::<u32>::uninit() }; 2 * MAX_TAPS];
    let Some(patch) = patch.get_mut(..8 * padded) else {
        return;
    };
    let mut windows = [const { MaybeUninit::<Window>::uninit() }; P];
    let mut windows = windows.each_mut().map(|w| zeroed_prefix(w, 4 * padded));
    // When `k` is not a multiple of 4, the weights padded with zeros to whole groups (each
    // channel a row of whole words), if they fit.
    let mut wpad = PaddedWeights([0; PADDED_WEIGHTS]);
    let rows = if k % 4 == 0 {
        Some((fc.weights, groups))
    } else if oc * 4 * padded <= PADDED_WEIGHTS {
        let dst = wpad.0.chunks_exact_mut(4 * padded);
        for (d, s) in dst.zip(fc.weights.chunks_exact(k)) {
            d[..k].copy_from_slice(s);
        }
        wpad.0.get(..oc * 4 * padded).map(|w| (w, padded))
    } else {
        None
    };
    let mut rq = [const { MaybeUninit::<Rq>::uninit() }; PRECOMPUTED];
    let (rq, fast) = Rq::all(fc, oc, job.out_zp, &mut rq);
    let q = Out8 {
        zp: job.out_zp,
        clamp: fc.clamp,
    };
    let mut acc = [[0i32; P]; CHANNELS];
    let mut b = 0;
    while b < n {
        for (j, win) in windows.iter_mut().enumerate() {
            let pix = pix0 + b + j;
            if b + j < n && direct {
                if let Some(at) = whole_window(job, pix) {
                    widen_rows(job, at, line, patch, j, zpp);
                    continue;
                }
            }
            if b + j < n {
                job.gather(pix, win, copy_short);
            } else {
                win.fill(zp); // past the last pixel: adds 0, and its outputs are not written
            }
            widen(win, patch, j, zpp);
        }
        let np = (n - b).min(P);
        if let Some((w, g)) = rows {
            all_channels(patch, w, g, fc, rq, fast, oc, out, b, np, q, &mut acc);
            b += P;
            continue;
        }
        for o in 0..oc {
            let Some(w) = fc.weights.get(o * k..(o + 1) * k) else {
                continue;
            };
            let mut acc = [0; P];
            // A last partial group may read the next channel's first weights (times 0);
            // the last channel's, which would read past the weights, is summed below.
            let whole = if o * k + 4 * padded <= fc.weights.len() {
                padded
            } else {
                groups
            };
            // SAFETY: `patch` holds `8 * padded ≥ 8 * whole` words, every one written by
            // `widen` above, and the weights hold `4 * whole` bytes from `w`'s start (checked
            // just above, or `4 * groups ≤ k`).
            unsafe { dot4(patch.as_ptr().cast(), w.as_ptr(), whole, &mut acc) };
            // The last `k mod 4` taps when not in a whole group (only when a kernel row is
            // not whole words, so every pixel took the gathered path above).
            for (t, &wt) in w.iter().enumerate().skip(4 * whole) {
                for (a, win) in acc.iter_mut().zip(&windows) {
                    let x = win.get(t).copied().unwrap_or(zp);
                    *a = a.wrapping_add(wt as i32 * (x as i32 - zp as i32));
                }
            }
            store(out, b, oc, o, &acc, fc, q);
        }
        b += P;
    }
}

/// The first `len` bytes (at most [`MAX_TAPS`]) of `w`, zeroed; the rest stays uninitialised.
fn zeroed_prefix(w: &mut MaybeUninit<Window>, len: usize) -> &mut [i8] {
    let len = len.min(MAX_TAPS);
    let p = w.as_mut_ptr().cast::<i8>();
    // SAFETY: `p` points to `MAX_TAPS ≥ len` bytes of `w`, which this borrows mutably; the
    // `len` bytes are written (zeroed) before the slice over them is made.
    unsafe {
        core::ptr::write_bytes(p, 0, len);
        core::slice::from_raw_parts_mut(p, len)
    }
}

/// Bytes of zero-padded weights [`pixels`] keeps on the stack (a 3×3 or 5×5 stem over 1
/// channel: 16 channels × 12 or 28 bytes).
const PADDED_WEIGHTS: usize = 1024;

/// Weights padded to whole words per channel.
#[repr(C, align(4))]
struct PaddedWeights([i8; PADDED_WEIGHTS]);

/// Output channels per [`dot4_channels`] call (its accumulators are on the stack).
const CHANNELS: usize = 32;

/// Every output channel of pixels `b .. b + np` (`np ≤ 4`) from a patch of `groups` groups,
/// the channels' weights `w` being contiguous rows of `4 * groups` bytes (zero past `k`),
/// then bias and requantisation: by [`requant`] for the channels [`Rq::all`] worked out
/// (`rq`) when they all take the fast form (`fast`), else by [`store`].
#[allow(clippy::too_many_arguments)]
fn all_channels(
    patch: &[MaybeUninit<u32>],
    w: &[i8],
    groups: usize,
    fc: &FcParams<'_>,
    rq: &[Rq],
    fast: bool,
    oc: usize,
    out: &mut [i8],
    b: usize,
    np: usize,
    q: Out8,
    acc: &mut [[i32; P]; CHANNELS],
) {
    let row = 4 * groups;
    let mut o0 = 0;
    while o0 < oc {
        let n = (oc - o0).min(CHANNELS);
        let (Some(w), true) = (w.get(o0 * row..(o0 + n) * row), patch.len() >= 8 * groups) else {
            return;
        };
        // SAFETY: `1 ≤ n ≤ CHANNELS`: `acc` holds `4 * n` words; `w` holds `row * n` bytes
        // and `patch` `8 * groups` words (both checked just above), all written by `widen`.
        unsafe {
            dot4_channels(
                patch.as_ptr().cast(),
                w.as_ptr(),
                groups,
                n,
                acc.as_mut_ptr().cast(),
            )
        };
        let recs = if fast { rq.get(o0..o0 + n) } else { None };
        match recs {
            Some(recs) => {
                for j in 0..np {
                    let at = (b + j) * oc + o0;
                    if let Some(dst) = out.get_mut(at..at + n) {
                        requant(acc, j, recs, dst, q.clamp);
                    }
                }
            }
            None => {
                for (i, a) in acc.iter().take(n).enumerate() {
                    store(out, b, oc, o0 + i, a, fc, q);
                }
            }
        }
        o0 += n;
    }
}

/// The input offset of the first tap of pixel `pix`'s window when the whole window lies
/// inside the input (no padding), else `None`.
fn whole_window(job: &Job<'_>, pix: usize) -> Option<usize> {
    let w = &job.p.window;
    let ([kh, kw], [sh, sw], [dh, dw], [pt, pl]) = (w.kernel, w.stride, w.dilation, w.pad);
    let (oy, ox) = (pix / job.ow, pix % job.ow);
    let y0 = (oy * sh).checked_sub(pt)?;
    let x0 = (ox * sw).checked_sub(pl)?;
    let inside = y0 + (kh - 1) * dh < job.ih && x0 + (kw - 1) * dw < job.iw;
    inside.then_some((y0 * job.iw + x0) * job.ic)
}

/// Pixel `j`'s slots of `patch` from a whole window at input offset `at` whose kernel rows
/// (`line` bytes, a multiple of 4) are contiguous: the same words [`widen`] makes from the
/// gathered window, without gathering it.
fn widen_rows(
    job: &Job<'_>,
    at: usize,
    line: usize,
    patch: &mut [MaybeUninit<u32>],
    j: usize,
    zpp: u32,
) {
    let row_step = job.p.window.dilation[0] * job.iw * job.ic;
    for (ky, dst) in patch.chunks_exact_mut(2 * line).enumerate() {
        let from = at + ky * row_step;
        if let Some(src) = job.x.get(from..from + line) {
            widen(src, dst, j, zpp);
        }
    }
}

/// Pixel `j`'s words of every group of 4 taps of `src` into `patch` (8 words a group):
/// `(t0, t2) − zp` at `j`, `(t1, t3) − zp` at `j + 4` (for the whole groups of `src` that
/// `patch` has room for).
#[inline(always)]
fn widen(src: &[i8], patch: &mut [MaybeUninit<u32>], j: usize, zpp: u32) {
    let groups = (src.len() / 4).min(patch.len() / (2 * P));
    if groups == 0 || j >= P {
        return;
    }
    // SAFETY: `src` holds `4 * groups` bytes; group `g` writes words `8g + j` and
    // `8g + j + 4 < 8 * groups ≤ patch.len()` (`j < 4`).
    unsafe { widen_words(src.as_ptr(), patch.as_mut_ptr().add(j).cast(), groups, zpp) };
}

/// For `g < groups`: `dst[8g] = sxtb16(w) − zpp`, `dst[8g + 4] = sxtb16(w ror 8) − zpp`,
/// `w` the `g`-th word of `src` (two groups a loop turn: 15 instructions).
///
/// # Safety
/// `groups ≥ 1`; `src` is valid for reading `4 * groups` bytes (any alignment) and `dst`
/// for writing `8 * groups - 3` words (word-aligned).
#[inline(always)]
unsafe fn widen_words(src: *const i8, dst: *mut u32, groups: usize, zpp: u32) {
    // SAFETY: reads `4 * groups` bytes from `src` (`LDR`, unaligned allowed on Armv7E-M),
    // writes words `8g` and `8g + 4` of `dst` for `g < groups`, within the caller's bounds.
    // Only the named registers and the flags are written.
    unsafe {
        asm!(
            "lsrs {n}, {n}, #1",
            "bcc 3f",
            // an odd count: one group first
            "ldr {v}, [{src}], #4",
            "sxtb16 {a}, {v}",
            "sxtb16 {v}, {v}, ror #8",
            "ssub16 {a}, {a}, {zpp}",
            "ssub16 {v}, {v}, {zpp}",
            "str {v}, [{dst}, #16]",
            "str {a}, [{dst}], #32",
            "3:",
            // Z still from `lsrs` (nothing since sets N/Z): no pair left
            "beq 4f",
            "2:",
            "ldr {v}, [{src}], #4",
            "ldr {u}, [{src}], #4",
            "sxtb16 {a}, {v}",
            "sxtb16 {v}, {v}, ror #8",
            "ssub16 {a}, {a}, {zpp}",
            "ssub16 {v}, {v}, {zpp}",
            "str {v}, [{dst}, #16]",
            "str {a}, [{dst}], #32",
            "sxtb16 {a}, {u}",
            "sxtb16 {u}, {u}, ror #8",
            "ssub16 {a}, {a}, {zpp}",
            "ssub16 {u}, {u}, {zpp}",
            "str {u}, [{dst}, #16]",
            "str {a}, [{dst}], #32",
            "subs {n}, {n}, #1",
            "bne 2b",
            "4:",
            src = inout(reg) src => _,
            dst = inout(reg) dst => _,
            n = inout(reg) groups => _,
            zpp = in(reg) zpp,
            v = out(reg) _,
            u = out(reg) _,
            a = out(reg) _,
            options(nostack),
        );
    }
}

/// [`Job::gather`]'s copy: a byte loop for the short rows of small-channel convs (a call to
/// `memcpy` costs more than the copy there).
fn copy_short(d: &mut [i8], s: &[i8]) {
    if d.len() < 16 {
        for (d, &s) in d.iter_mut().zip(s) {
            *d = s;
        }
    } else {
        d.copy_from_slice(s);
    }
}

/// Channels whose requantisation [`pixels`] works out once per call.
const PRECOMPUTED: usize = 128;

/// One output channel's requantisation in the fast form [`requant`] reads (16 bytes, in
/// this order, one `LDM`): the output of a sum `acc` (bias not included) is
/// `clamp(sat8(hi(acc · m + c) >> sh))`, `hi` the upper word of the i64 sum.
///
/// It equals the reference's `clamp(requantize(acc + bias, m, s) + zp)` when the shift `s`
/// is in `32..=53` and `|bias| < 2^31 − 2^25` ([`FoldedRequant`], where the argument is
/// written and tested): the sums of a window of at most 576 taps are below
/// `576 · 255 · 128 < 2^25` in magnitude; and saturating to int8 before the clamp, whose
/// bounds are int8, changes nothing.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Rq {
    c_lo: u32,
    c_hi: i32,
    m: i32,
    sh: u32,
}

impl Rq {
    /// Channel `o`'s fast form, `None` when its shift or bias is outside the range above.
    fn new(fc: &FcParams<'_>, o: usize, zp: i8) -> Option<Self> {
        let (m, s) = fc.rescale.at(o);
        let bias = fc.bias.get(o).unwrap_or(0);
        // The folded constant and its exactness argument: `format::math`, tested there on
        // the host at the rounding ties.
        let f = FoldedRequant::new(bias, m, s, zp)?;
        Some(Self {
            c_lo: f.c as u32,
            c_hi: (f.c >> 32) as i32,
            m: f.m,
            sh: f.sh,
        })
    }

    /// The first `oc` channels' (at most [`PRECOMPUTED`]) fast forms written into `buf`,
    /// and whether all `oc` take it (else [`store`] requantises).
    fn all<'b>(
        fc: &FcParams<'_>,
        oc: usize,
        zp: i8,
        buf: &'b mut [MaybeUninit<Rq>; PRECOMPUTED],
    ) -> (&'b [Rq], bool) {
        let mut fast = oc <= PRECOMPUTED;
        let n = oc.min(PRECOMPUTED);
        for (o, r) in buf.iter_mut().enumerate().take(n) {
            let v = Self::new(fc, o, zp);
            fast &= v.is_some();
            r.write(v.unwrap_or_default());
        }
        // SAFETY: the first `n ≤ PRECOMPUTED` entries were written just above.
        let recs = unsafe { core::slice::from_raw_parts(buf.as_ptr().cast::<Rq>(), n) };
        (recs, fast)
    }
}

/// Pixel `j` of `acc` (channel `i`'s sums at `acc[i][j]`) requantised by channel `i`'s
/// [`Rq`] into `dst[i]`, for every `i < dst.len()` (at most `recs.len()` and [`CHANNELS`]).
/// `SMLAL`, `ASR`, `SSAT` per output, and with a clamp narrower than int8 two
/// `SSUB8`/`SEL` pairs (`SSUB8` sets the GE flag of each byte lane of `v − bound`, `SEL`
/// then picks per lane: the maximum with the lower bound, the minimum with the upper).
#[inline(always)]
fn requant(acc: &[[i32; P]; CHANNELS], j: usize, recs: &[Rq], dst: &mut [i8], clamp: Clamp) {
    let n = dst.len().min(recs.len()).min(CHANNELS);
    if n == 0 || j >= P {
        return;
    }
    let accp = acc.as_ptr().cast::<i32>().wrapping_add(j);
    let (lo, hi) = (
        (clamp.min as u8 as u32) * 0x0101_0101,
        (clamp.max as u8 as u32) * 0x0101_0101,
    );
    if clamp == Clamp::NONE {
        // SAFETY: reads `n` records from `recs` (`LDM`, 16 bytes each) and `n` words of
        // `acc` from `accp` at a stride of 16 bytes (`acc[i][j]`, `j < P`), writes `n` bytes
        // to `dst`: all within the slices (`n` is at most each length). `n ≥ 1`. Only the
        // named registers and the flags are written.
        unsafe {
            asm!(
                "2:",
                "ldm {recs}!, {{r0, r1, r2, r3}}",
                "ldr {a}, [{accp}], #16",
                "smlal r0, r1, {a}, r2",
                "asr r1, r1, r3",
                "ssat r1, #8, r1",
                "strb r1, [{dst}], #1",
                "subs {n}, {n}, #1",
                "bne 2b",
                recs = inout(reg) recs.as_ptr() => _,
                accp = inout(reg) accp => _,
                dst = inout(reg) dst.as_mut_ptr() => _,
                n = inout(reg) n => _,
                a = out(reg) _,
                out("r0") _,
                out("r1") _,
                out("r2") _,
                out("r3") _,
                options(nostack),
            );
        }
        return;
    }
    // SAFETY: as above; `lo` and `hi` are only read.
    unsafe {
        asm!(
            "2:",
            "ldm {recs}!, {{r0, r1, r2, r3}}",
            "ldr {a}, [{accp}], #16",
            "smlal r0, r1, {a}, r2",
            "asr r1, r1, r3",
            "ssat r1, #8, r1",
            "ssub8 r0, r1, {lo}",
            "sel r1, r1, {lo}",
            "ssub8 r0, r1, {hi}",
            "sel r1, {hi}, r1",
            "strb r1, [{dst}], #1",
            "subs {n}, {n}, #1",
            "bne 2b",
            recs = inout(reg) recs.as_ptr() => _,
            accp = inout(reg) accp => _,
            dst = inout(reg) dst.as_mut_ptr() => _,
            n = inout(reg) n => _,
            a = out(reg) _,
            lo = in(reg) lo,
            hi = in(reg) hi,
            out("r0") _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            options(nostack),
        );
    }
}

/// Requantises pixel `b + j`'s channel `o` (`acc[j]`, bias not included) into `out` as the
/// reference does (pixels past its end are skipped).
#[inline(never)]
fn store(
    out: &mut [i8],
    b: usize,
    oc: usize,
    o: usize,
    acc: &[i32; P],
    fc: &FcParams<'_>,
    q: Out8,
) {
    let (m, s) = fc.rescale.at(o);
    let (bias, rq) = (fc.bias.get(o).unwrap_or(0), Requantizer::new(m, s));
    let mut at = b * oc + o;
    for &v in acc {
        if let Some(d) = out.get_mut(at) {
            *d = q
                .clamp
                .apply(rq.apply(v.wrapping_add(bias)).saturating_add(q.zp as i32));
        }
        at += oc;
    }
}

/// The output's zero point and clamp.
#[derive(Clone, Copy)]
struct Out8 {
    zp: i8,
    clamp: Clamp,
}

/// One group of 4 taps for 4 pixels (see the module doc): `r4` the weight word, `r7` its
/// pairs, `r0..r3` the pixels' A then B words, accumulators `r5, r8, r9, r10`.
macro_rules! group {
    () => {
        "ldr r4, [r12], #4
         ldm r11!, {{r0-r3}}
         sxtb16 r7, r4
         smlad r5, r0, r7, r5
         smlad r8, r1, r7, r8
         smlad r9, r2, r7, r9
         smlad r10, r3, r7, r10
         sxtb16 r7, r4, ror #8
         ldm r11!, {{r0-r3}}
         smlad r5, r0, r7, r5
         smlad r8, r1, r7, r8
         smlad r9, r2, r7, r9
         smlad r10, r3, r7, r10"
    };
}

/// `lr` groups over `r11` (patch) and `r12` (weights) into `r5, r8, r9, r10`: eight per loop
/// turn, then 4, 2 and 1 for the rest (`lr` ends negative).
macro_rules! groups_loop {
    () => {
        concat!(
            "subs lr, lr, #8\n",
            "blt 3f\n",
            "2:\n",
            group!(),
            "\n",
            group!(),
            "\n",
            group!(),
            "\n",
            group!(),
            "\n",
            group!(),
            "\n",
            group!(),
            "\n",
            group!(),
            "\n",
            group!(),
            "\n",
            "subs lr, lr, #8\n",
            "bge 2b\n",
            "3:\n",
            // the 0..=7 groups left: lr + 8 ≡ lr (mod 8)
            "tst lr, #4\n",
            "beq 6f\n",
            group!(),
            "\n",
            group!(),
            "\n",
            group!(),
            "\n",
            group!(),
            "\n",
            "6:\n",
            "tst lr, #2\n",
            "beq 5f\n",
            group!(),
            "\n",
            group!(),
            "\n",
            "5:\n",
            "tst lr, #1\n",
            "beq 4f\n",
            group!(),
            "\n",
            "4:"
        )
    };
}

/// `acc[j] += Σ_{g < groups} Σ_{i < 4} w[4g + i] · x_j[4g + i]` (i32 wrapping), `x_j` the
/// i16 values of pixel `j` in `patch` (8 words a group, see the module doc).
///
/// # Safety
/// `patch` is valid for reading `8 * groups` words (it is word-aligned, being `*const u32`)
/// and `w` for reading `4 * groups` bytes.
#[inline(always)]
unsafe fn dot4(patch: *const u32, w: *const i8, groups: usize, acc: &mut [i32; P]) {
    // SAFETY: reads `8 * groups` words from `patch` (`LDM`, aligned) and `4 * groups` bytes
    // from `w` (`LDR`, unaligned allowed on Armv7E-M), within the caller's bounds. Every
    // register written is an operand or clobber, except `r7` (the frame pointer, which
    // cannot be an operand): it is pushed first and popped last, so the stack pointer and
    // `r7` are restored on exit. Flags are clobbered (no `preserves_flags`).
    unsafe {
        asm!(
            "push {{r7}}",
            groups_loop!(),
            "pop {{r7}}",
            inout("r5") acc[0],
            inout("r8") acc[1],
            inout("r9") acc[2],
            inout("r10") acc[3],
            inout("r11") patch => _,
            inout("r12") w => _,
            inout("lr") groups => _,
            out("r0") _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r4") _,
        );
    }
}

/// What [`dot4_channels`] reads and updates in memory (its registers are all taken).
#[repr(C)]
struct ChannelArgs {
    patch: *const u32,
    groups: usize,
    acc: *mut i32,
    left: usize,
}

/// For each of `n` channels in turn (weights contiguous, `4 * groups` bytes each, from
/// `w`): `acc[4c + j] = Σ_{g < groups} Σ_{i < 4} w_c[4g + i] · x_j[4g + i]` (i32 wrapping,
/// from 0), one [`dot4`] per channel without leaving the assembly.
///
/// # Safety
/// `n ≥ 1`; `patch` is valid for reading `8 * groups` words, `w` for reading
/// `4 * groups * n` bytes and `acc` for writing `4 * n` words.
#[inline(always)]
unsafe fn dot4_channels(patch: *const u32, w: *const i8, groups: usize, n: usize, acc: *mut i32) {
    let mut args = ChannelArgs {
        patch,
        groups,
        acc,
        left: n,
    };
    // SAFETY: as [`dot4`], for `n` channels: the weights pointer runs on through the
    // channels' contiguous rows (`4 * groups * n` bytes), the patch is re-read from its start
    // for each, and the accumulators go to `acc` (`STM`, 4 words a channel: `4 * n` words).
    // `r0` (the pointer to `args`) and `r7` are pushed first and popped last; `args` lives
    // on this frame until the block ends.
    unsafe {
        asm!(
            "push {{r0, r7}}",
            "1:",
            "ldr r0, [sp]",
            "ldr r11, [r0]",
            "ldr lr, [r0, #4]",
            "movs r5, #0",
            "mov.w r8, #0",
            "mov.w r9, #0",
            "mov.w r10, #0",
            groups_loop!(),
            "ldr r0, [sp]",
            "ldr r1, [r0, #8]",
            "stm r1!, {{r5, r8, r9, r10}}",
            "str r1, [r0, #8]",
            "ldr r1, [r0, #12]",
            "subs r1, r1, #1",
            "str r1, [r0, #12]",
            "bne 1b",
            "pop {{r0, r7}}",
            in("r0") &mut args as *mut ChannelArgs,
            inout("r12") w => _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("lr") _,
        );
    }
}
