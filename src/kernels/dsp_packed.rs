//! Dense convolution on the Cortex-M DSP extension (Armv7E-M) from weights the compiler
//! packed as i16 ([`PackKind::CortexMDsp`](crate::format::pack::PackKind::CortexMDsp)): a
//! small GEMM of 2 output pixels × 2 output channels per step, `SMLAD` in a hand-scheduled
//! loop.
//!
//! For each pair of output pixels (consecutive in NHWC order, across rows) a patch of raw
//! i16 pairs in `SXTB16` order is made: for taps `t0..t3` of a group of 4, word A =
//! `(t0, t2)` and word B = `(t1, t3)`, pixel 0's A and B then pixel 1's (4 words a group).
//! It is copied from input rows widened once ([`Rows`], when the input has a multiple of 4
//! channels), read from a bordered copy of the input (a one-channel 3×3 stem, [`Stem`]),
//! or else each window gathered ([`Job::gather`], the padding holding the input zero point)
//! and widened ([`widen_words`]). Every pair of output channels then runs over the patch as
//! one stream of the pack ([`pairs`]): per group one `LDM` of the 4 weight words
//! (channel 0's A and B words, then channel 1's; the first group's with the pair's two
//! starting values), one `LDM` of the 4 patch words and 8 `SMLAD`s, 10 instructions for 16 multiply-accumulates, all 14
//! usable registers taken (4 weights, 4 patch words, 4 accumulators, 2 pointers), so the
//! loop has no counter: it is unrolled by 36 groups, entered part-way to run the remainder
//! first (each group is 40 bytes of code), and ends when the patch pointer reaches its end,
//! kept on the stack; then the pair's requantisation constants, read by the same pointer.
//! The DSP GEMM without a pack ([`super::dsp_gemm`]) takes 13 instructions for the same 16.
//!
//! Exact: the input zero point is not subtracted from the patch. The sums start at the
//! pack's `bias − zp · Σ w` and add `Σ w · x`, which is the reference's `Σ w · (x − zp) +
//! bias` modulo 2^32, the padding included (a padded tap holds `zp`, so it adds
//! `w · zp`, which the start value took off, as the reference's skipped tap adds
//! nothing), and the reference's sums wrap too (`SMLAD` wraps, setting only the sticky Q
//! flag); taps past `k` that pad the last group have weight 0 in the pack. Those sums are
//! then requantised by one `SMMLA` and one `ASR` with the pack's constants, exact for every
//! i32 sum when the shift is in `33..=54` ([`AddOutRequant`](crate::format::math::AddOutRequant),
//! whose tests check it at the rounding ties), and saturated to int8, then clamped; convs
//! with another shift, or an odd channel count, requantise them in plain code
//! ([`exact`]).
//!
//! Stack: the patch (8 bytes per tap of [`MAX_TAPS`], left uninitialised but for what each
//! call uses), the rows cache (8 KiB) or the bordered image (2 KiB), the 2 windows of the
//! gathered path (1.1 KiB) and 16 channel pairs' accumulators (256 bytes).
#![allow(unsafe_code)]

use core::arch::asm;
use core::mem::MaybeUninit;

use super::dsp_rows::{Rows, ROW_WORDS};
use super::dsp_stem::{Stem, IMAGE_BYTES};
use super::gemm::{self, Job};
use super::{Clamp, ConvParams, FcParams, In, KernelError, Out, Packed};
use crate::format::math::Requantizer;
use crate::format::pack::dsp_pair_bytes;

/// Largest window (`kh × kw × ic`) this kernel takes: 3×3 over 64 channels, what the patch
/// (2.3 KiB) and the gathered windows (1.1 KiB) on the stack are sized for. Larger windows
/// go to the dot-product kernel ([`super::dsp::Dsp`]).
pub(super) const MAX_TAPS: usize = 576;

/// Groups of 4 taps in the largest window.
const MAX_GROUPS: usize = MAX_TAPS / 4;

/// Groups in the unrolled loop body of [`pairs`]: 36, one pass for a 3×3 window over 16
/// channels, two over 32, four over 64 (each pass costs 3 instructions to end; the body
/// is 1.4 KiB of code in each of [`pairs`]' eight variants).
const UNROLL: usize = 36;

/// Bytes of code of one group in [`pairs`]'s loop: 10 instructions of 32 bits.
const GROUP_CODE: usize = 40;

/// Channel pairs per [`pairs`] call (their accumulators are on the stack).
const PAIRS: usize = 16;

/// The conv's pack when this kernel takes it: dense, `5 ..=` [`MAX_TAPS`] taps (at least
/// 2 groups: [`pairs`] runs the first group before its loop), and a
/// [`Packed::CortexMDsp`] of exactly the conv's size.
fn pack<'a>(p: &ConvParams<'a>, ic: usize, oc: usize) -> Option<&'a [u8]> {
    let k = gemm::dense_taps(p, ic).filter(|k| (5..=MAX_TAPS).contains(k))?;
    match p.packed {
        Some(Packed::CortexMDsp { pairs })
            if Some(pairs.len()) == oc.div_ceil(2).checked_mul(dsp_pair_bytes(k)?) =>
        {
            Some(pairs)
        }
        _ => None,
    }
}

/// Whether [`conv2d`] takes this convolution (see [`pack`]).
pub(super) fn takes(p: &ConvParams<'_>, ic: usize, oc: usize) -> bool {
    pack(p, ic, oc).is_some()
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
    let Some(packed) = pack(p, job.ic, job.oc) else {
        return Err(KernelError);
    };
    let fc = p.fc();
    gemm::in_bands(&job, y, threads, |out, pix0| {
        pixels(&job, &fc, packed, out, pix0)
    });
    Ok(())
}

/// The output pixels `pix0 ..` that `out` holds (whole pixels of `oc` channels).
fn pixels(job: &Job<'_>, fc: &FcParams<'_>, packed: &[u8], out: &mut [i8], pix0: usize) {
    let (k, oc, zp) = (job.k, job.oc.max(1), job.zp);
    let groups = k.div_ceil(4);
    if !(2..=MAX_GROUPS).contains(&groups) {
        return;
    }
    let n = out.len() / oc;
    let line = job.p.window.kernel[1] * job.ic;
    // A whole window's kernel rows are contiguous in the input: when they are whole words
    // it is widened straight from there, else (the stems' 3-byte rows) copied row by row,
    // without the general gather's padding logic.
    let dense_rows = job.p.window.dilation[1] == 1;
    let direct = dense_rows && line.is_multiple_of(4);
    // Left uninitialised: every word of the first `4 * groups` is written by `widen` for
    // every pair of pixels before it is read.
    let mut patch = [const { MaybeUninit::<u32>::uninit() }; 4 * MAX_GROUPS];
    let Some(patch) = patch.get_mut(..4 * groups) else {
        return;
    };
    // Input rows widened once when the conv allows it, else each window gathered.
    let mut row_buf = [const { MaybeUninit::<u32>::uninit() }; ROW_WORDS];
    let mut rows = Rows::new(job, &mut row_buf);
    // Else, for a one-channel 3×3 stem, the input bordered once and each window read from it.
    let mut image = [const { MaybeUninit::<u8>::uninit() }; IMAGE_BYTES];
    let stem = rows.is_none().then(|| Stem::new(job, &mut image)).flatten();
    let gathered = rows.is_none() && stem.is_none();
    let mut windows = [const { MaybeUninit::<Window>::uninit() }; 2];
    let mut windows = windows
        .each_mut()
        .map(|w| zeroed_prefix(w, if gathered { 4 * groups } else { 0 }));
    // Requantised in the loop (the pack's SMMLA constants) when every channel's shift is in
    // their range and each pair's two bytes are outputs (even `oc`).
    let fast = oc.is_multiple_of(2) && (0..oc).all(|o| (33..=54).contains(&fc.rescale.at(o).1));
    let mut acc = [[0i32; 4]; PAIRS];
    let mut spill = [0i8; 2 * PAIRS];
    // Where `pairs` enters its 36-group loop body so that it runs the `groups - 1` groups
    // after the first: the remainder first, then whole bodies.
    let entry = (UNROLL - (groups - 1) % UNROLL) % UNROLL * GROUP_CODE;
    let Some(pair_bytes) = dsp_pair_bytes(k) else {
        return;
    };
    let all_pairs = oc.div_ceil(2);
    let mut b = 0;
    while b < n {
        if let Some(rows) = rows.as_mut() {
            rows.fill(job, patch, pix0 + b, b + 1 < n);
        }
        if let Some(stem) = &stem {
            stem.fill(job, patch, pix0 + b, b + 1 < n);
        }
        for (j, win) in windows.iter_mut().enumerate().filter(|_| gathered) {
            let pix = pix0 + b + j;
            let whole = (b + j < n && dense_rows)
                .then(|| whole_window(job, pix))
                .flatten();
            if let Some(at) = whole {
                if direct {
                    widen_rows(job, at, line, patch, j);
                } else {
                    copy_rows(job, at, line, win);
                    widen(win, patch, j);
                }
                continue;
            }
            if b + j < n {
                job.gather(pix, win, copy_short);
            } else {
                win.fill(zp); // past the last pixel: its outputs are not written
            }
            widen(win, patch, j);
        }
        let np = (n - b).min(2);
        // The pair's outputs: pixel 0's `oc` bytes, then pixel 1's (to `spill` when there
        // is no pixel 1).
        let Some(dst) = out.get_mut(b * oc..(b + np) * oc) else {
            return;
        };
        let mut p0 = 0;
        while p0 < all_pairs {
            let count = (all_pairs - p0).min(PAIRS);
            let Some(wp) = packed.get(p0 * pair_bytes..(p0 + count) * pair_bytes) else {
                return;
            };
            let o0 = 2 * p0;
            let nch = (oc - o0).min(2 * count);
            let then = if fast {
                let (px0, px1) = dst.split_at_mut(oc.min(dst.len()));
                let out1 = match px1.get_mut(o0..o0 + nch) {
                    Some(o) => o.as_mut_ptr(),
                    None => spill.as_mut_ptr(),
                };
                let Some(out0) = px0.get_mut(o0..o0 + nch) else {
                    return;
                };
                Then::Requant {
                    out0: out0.as_mut_ptr(),
                    out1,
                    clamp: fc.clamp,
                }
            } else {
                Then::Store(acc.as_mut_ptr().cast())
            };
            // SAFETY: `patch` holds `4 * groups` words (`groups ≥ 2`), all written above;
            // `wp` holds `count` pairs of `32 + 16 * groups` bytes, word-aligned
            // (`Packed::new`); `entry` is below `UNROLL * GROUP_CODE`, a whole number of
            // groups; `acc` has room for `count ≤ PAIRS` pairs; with `fast`, each output
            // pointer has `nch = 2 * count` bytes (`spill` has `2 * PAIRS`).
            unsafe { pairs(patch.as_ptr().cast(), groups, entry, wp, then) };
            if !fast {
                for (j, px) in dst.chunks_exact_mut(oc).enumerate() {
                    if let Some(d) = px.get_mut(o0..o0 + nch) {
                        exact(&acc, j, o0, d, fc, job.out_zp);
                    }
                }
            }
            p0 += count;
        }
        b += 2;
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
fn widen_rows(job: &Job<'_>, at: usize, line: usize, patch: &mut [MaybeUninit<u32>], j: usize) {
    let row_step = job.p.window.dilation[0] * job.iw * job.ic;
    // A kernel row of `line / 4` groups takes `line` words of the patch.
    for (ky, dst) in patch.chunks_exact_mut(line).enumerate() {
        let from = at + ky * row_step;
        if let Some(src) = job.x.get(from..from + line) {
            widen(src, dst, j);
        }
    }
}

/// The window at input offset `at` (wholly inside the input, kernel rows of `line`
/// contiguous bytes) into `win`, row by row: what [`Job::gather`] writes for it, but for
/// the bytes past `k`, which keep whatever they held (their weights are 0 in the pack).
fn copy_rows(job: &Job<'_>, at: usize, line: usize, win: &mut [i8]) {
    let row_step = job.p.window.dilation[0] * job.iw * job.ic;
    let rows = win
        .chunks_exact_mut(line.max(1))
        .take(job.p.window.kernel[0]);
    for (ky, dst) in rows.enumerate() {
        let from = at + ky * row_step;
        if let Some(src) = job.x.get(from..from + line) {
            copy_short(dst, src);
        }
    }
}

/// Pixel `j`'s words of every group of 4 taps of `src` into `patch` (4 words a group):
/// `(t0, t2)` at `4g + 2j`, `(t1, t3)` at `4g + 2j + 1` (for the whole groups of `src` that
/// `patch` has room for).
#[inline(always)]
fn widen(src: &[i8], patch: &mut [MaybeUninit<u32>], j: usize) {
    let groups = (src.len() / 4).min(patch.len() / 4);
    if groups == 0 || j >= 2 {
        return;
    }
    // SAFETY: `src` holds `4 * groups` bytes; group `g` writes words `4g + 2j` and
    // `4g + 2j + 1 < 4 * groups ≤ patch.len()` (`j < 2`).
    unsafe { widen_words(src.as_ptr(), patch.as_mut_ptr().add(2 * j).cast(), groups) };
}

/// For `g < groups`: `dst[4g] = sxtb16(w)`, `dst[4g + 1] = sxtb16(w ror 8)`, `w` the
/// `g`-th word of `src` (two groups a loop turn: 10 instructions).
///
/// # Safety
/// `groups ≥ 1`; `src` is valid for reading `4 * groups` bytes (any alignment) and `dst`
/// for writing `4 * groups - 2` words (word-aligned).
#[inline(always)]
unsafe fn widen_words(src: *const i8, dst: *mut u32, groups: usize) {
    // SAFETY: reads `4 * groups` bytes from `src` (`LDR`, unaligned allowed on Armv7E-M),
    // writes words `4g` and `4g + 1` of `dst` for `g < groups` (`STRD`, word-aligned),
    // within the caller's bounds. Only the named registers and the flags are written.
    unsafe {
        asm!(
            "lsrs {n}, {n}, #1",
            "bcc 3f",
            // an odd count: one group first
            "ldr {v}, [{src}], #4",
            "sxtb16 {a}, {v}",
            "sxtb16 {v}, {v}, ror #8",
            "strd {a}, {v}, [{dst}], #16",
            "3:",
            // Z still from `lsrs` (nothing since sets N/Z): no pair left
            "beq 4f",
            "2:",
            "ldr {v}, [{src}], #4",
            "ldr {u}, [{src}], #4",
            "sxtb16 {a}, {v}",
            "sxtb16 {v}, {v}, ror #8",
            "strd {a}, {v}, [{dst}], #16",
            "sxtb16 {a}, {u}",
            "sxtb16 {u}, {u}, ror #8",
            "strd {a}, {u}, [{dst}], #16",
            "subs {n}, {n}, #1",
            "bne 2b",
            "4:",
            src = inout(reg) src => _,
            dst = inout(reg) dst => _,
            n = inout(reg) groups => _,
            v = out(reg) _,
            u = out(reg) _,
            a = out(reg) _,
            options(nostack),
        );
    }
}

/// [`Job::gather`]'s and [`copy_rows`]' copy: for the short rows of small-channel convs
/// (a 3×3 stem's are 3 bytes) a byte loop in assembly, 4 instructions a byte (LLVM turns a
/// plain loop into a call to `memcpy`, which costs more than such a copy); `memcpy` for
/// rows of 16 bytes or more.
fn copy_short(d: &mut [i8], s: &[i8]) {
    let n = d.len().min(s.len());
    if n >= 16 {
        if let (Some(d), Some(s)) = (d.get_mut(..n), s.get(..n)) {
            d.copy_from_slice(s);
        }
    } else if n > 0 {
        // SAFETY: reads `n ≥ 1` bytes from `s` and writes `n` bytes to `d`, both at least
        // `n` long (distinct borrows: no overlap). Only the named registers and the flags
        // are written.
        unsafe {
            asm!(
                "2:",
                "ldrb {t}, [{s}], #1",
                "strb {t}, [{d}], #1",
                "subs {n}, {n}, #1",
                "bne 2b",
                s = inout(reg) s.as_ptr() => _,
                d = inout(reg) d.as_mut_ptr() => _,
                n = inout(reg) n => _,
                t = out(reg) _,
                options(nostack),
            );
        }
    }
}

/// One group of 4 taps for 2 pixels × 2 channels (see the module doc): weights `r0..r3`
/// (channel 0's A and B words, then channel 1's), patch `r4..r7` (pixel 0's A and B, then
/// pixel 1's), accumulators `r8` (pixel 0, channel 0), `r9` (0, 1), `r10` (1, 0), `r11`
/// (1, 1). Ten 32-bit instructions ([`GROUP_CODE`] bytes: `LDM` with a high base register
/// and `SMLAD` have no 16-bit encodings).
macro_rules! group {
    () => {
        "ldm r12!, {{r0-r3}}
         ldm lr!, {{r4-r7}}
         smlad r8, r4, r0, r8
         smlad r8, r5, r1, r8
         smlad r9, r4, r2, r9
         smlad r9, r5, r3, r9
         smlad r10, r6, r0, r10
         smlad r10, r7, r1, r10
         smlad r11, r6, r2, r11
         smlad r11, r7, r3, r11
"
    };
}

/// The assembly of [`pairs`]: for each channel pair, the first group (setting the
/// accumulators), then a jump `entry` bytes into the [`UNROLL`]-group loop body, the loop running
/// until the patch pointer reaches its end, then `$then` with the 4 sums in `r8..r11`, until
/// the weights pointer reaches its end. Inputs: `r0` patch, `r1` entry, `r2` patch end,
/// `r3` the accumulator or requantisation records pointer, `r4` weights end, `r5`, `r8`,
/// `r9`, `r10` the two pixels' output pointers and the clamp's bounds (unused by the plain
/// epilogue), `r12` weights. Locals at `sp`: patch end, entry address, patch start, `r3`,
/// weights end, `r5`, `r8`, `r9`, `r10` (36 bytes).
macro_rules! pairs_asm {
    ($then:expr, $back:expr) => {
        concat!(
            "push {{r6, r7}}\n",
            "sub sp, sp, #36\n",
            "adr.w r6, 3f\n",
            "add r6, r6, r1\n",
            "orr r6, r6, #1\n",
            "str r2, [sp, #0]\n",
            "str r6, [sp, #4]\n",
            "str r0, [sp, #8]\n",
            "str r3, [sp, #12]\n",
            "str r4, [sp, #16]\n",
            "str r5, [sp, #20]\n",
            "str r8, [sp, #24]\n",
            "str r9, [sp, #28]\n",
            "str r10, [sp, #32]\n",
            "1:\n",
            "ldr lr, [sp, #8]\n",
            // the first group's weights and the pair's starting values, which the first
            // group adds to (pixel 1's from them before pixel 0's overwrite them)
            "ldm r12!, {{r0-r3, r8, r9}}\n",
            "ldm lr!, {{r4-r7}}\n",
            "smlad r10, r6, r0, r8\n",
            "smlad r11, r6, r2, r9\n",
            "smlad r8, r4, r0, r8\n",
            "smlad r9, r4, r2, r9\n",
            "smlad r8, r5, r1, r8\n",
            "smlad r9, r5, r3, r9\n",
            "smlad r10, r7, r1, r10\n",
            "smlad r11, r7, r3, r11\n",
            "ldr r0, [sp, #4]\n",
            "bx r0\n",
            // word-aligned: `ADR` gives an aligned label's address exactly
            ".p2align 2\n",
            "3:\n",
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            group!(),
            $back,
            $then,
            "ldr r1, [sp, #16]\n",
            "cmp r12, r1\n",
            "bne 1b\n",
            "add sp, sp, #36\n",
            "pop {{r6, r7}}\n",
        )
    };
}

/// [`pairs_asm`]'s loop back: again while the patch pointer is not at its end (for windows
/// of more than `UNROLL + 1` groups; one pass needs none).
macro_rules! loop_back {
    () => {
        "ldr r4, [sp, #0]\ncmp lr, r4\nbne 3b\n"
    };
}

/// [`pairs_asm`]'s plain epilogue: the 4 sums to the accumulators (`STM`), the pair's
/// requantisation constants skipped.
macro_rules! store_sums {
    () => {
        "ldr r1, [sp, #12]\nstm r1!, {{r8-r11}}\nstr r1, [sp, #12]\nadd r12, r12, #24\n"
    };
}

/// [`pairs_asm`]'s requantising epilogue: one `LDM` of the pair's constants from the
/// stream (`m`, `c`, `sh` of each channel), per output `SMMLA` (`c + hi(v · m)`), `ASR`,
/// `SSAT`; each pixel's two bytes joined (`BFI`), then `$store`: 15 instructions for 4
/// outputs, then the store's.
macro_rules! requant_sums {
    ($store:expr) => {
        concat!(
            "ldm r12!, {{r0-r5}}\n",
            "smmla r6, r8, r0, r1\n",
            "smmla r7, r10, r0, r1\n",
            "smmla r8, r9, r3, r4\n",
            "smmla r10, r11, r3, r4\n",
            "asr r6, r6, r2\n",
            "asr r7, r7, r2\n",
            "asr r8, r8, r5\n",
            "asr r10, r10, r5\n",
            "ssat r6, #8, r6\n",
            "ssat r7, #8, r7\n",
            "ssat r8, #8, r8\n",
            "ssat r10, #8, r10\n",
            "bfi r6, r8, #8, #8\n",
            "bfi r7, r10, #8, #8\n",
            $store,
        )
    };
}

/// Pixel 0's two bytes (`r6`) through the output pointer (at `sp + 20`), pixel 1's (`r7`)
/// at the fixed distance from it (at `sp + 24`), the pointer stepped: 5 instructions.
macro_rules! store_pixels {
    () => {
        "ldr r0, [sp, #20]\nldr r1, [sp, #24]\nstrh r7, [r0, r1]\nstrh r6, [r0], #2\nstr r0, [sp, #20]\n"
    };
}

/// A clamp, then [`store_pixels`]' stores: the four bytes in one word (`BFI`), each bound
/// (`$bounds`, [`clamp_lo`] and [`clamp_hi`]) applied to the four lanes at once, then
/// pixel 1's half stored at its distance and pixel 0's through the stepped pointer.
macro_rules! clamp_store {
    ($bounds:expr) => {
        concat!(
            "bfi r6, r7, #16, #16\n",
            $bounds,
            "ldr r0, [sp, #20]\n",
            "ldr r1, [sp, #24]\n",
            "lsr r7, r6, #16\n",
            "strh r7, [r0, r1]\n",
            "strh r6, [r0], #2\n",
            "str r0, [sp, #20]\n",
        )
    };
}

/// The lower bound (at `sp + 28`) on the four byte lanes of `r6`: `SSUB8` sets each lane's
/// GE flag where `v ≥ lo`, `SEL` keeps `v` there and takes `lo` elsewhere.
macro_rules! clamp_lo {
    () => {
        "ldr r0, [sp, #28]\nssub8 r1, r6, r0\nsel r6, r6, r0\n"
    };
}

/// The upper bound (at `sp + 32`): where `v ≥ hi`, `SEL` takes `hi`.
macro_rules! clamp_hi {
    () => {
        "ldr r0, [sp, #32]\nssub8 r1, r6, r0\nsel r6, r0, r6\n"
    };
}

/// What [`pairs`] does with each channel pair's 4 sums.
#[derive(Clone, Copy)]
enum Then {
    /// Store them, pixel 0's two channels then pixel 1's, 4 words a pair from this pointer.
    Store(*mut i32),
    /// Requantise them by the pack's constants and store the bytes, 2 a pair, through
    /// `out0` (pixel 0) and `out1` (pixel 1, stored at its distance from `out0`, the
    /// pointers being stepped alike), clamped by `clamp`.
    Requant {
        out0: *mut i8,
        out1: *mut i8,
        clamp: Clamp,
    },
}

/// For each channel pair in `w` (the pack's pairs: [`dsp_pair_bytes`] each) in turn, its 4
/// sums over the patch, `b_{2c + i} + Σ_{g < groups} Σ_{t < 4} w_{2c + i}[4g + t] · x_j[4g +
/// t]` (i32 wrapping; `b` the pack's starting values, `x_j` the i16 values of pixel `j` in
/// `patch`, `i` the channel of pair `c`), stored or requantised as `then` says.
///
/// # Safety
/// `2 ≤ groups ≤ MAX_GROUPS`; `entry` is `(UNROLL - (groups - 1) % UNROLL) % UNROLL *
/// GROUP_CODE`; `patch` is valid for reading `4 * groups` words; `w` is word-aligned, not
/// empty and a whole number of `32 + 16 * groups`-byte pairs; for [`Then::Store`] the
/// pointer is valid for writing 4 words per pair of `w`; for [`Then::Requant`] `out0` and
/// `out1` each for writing 2 bytes per pair.
#[inline(always)]
unsafe fn pairs(patch: *const u32, groups: usize, entry: usize, w: &[u8], then: Then) {
    let patch_end = patch.wrapping_add(4 * groups);
    let w_end = w.as_ptr().wrapping_add(w.len());
    let bytes = |v: i8| (v as u8 as u32) * 0x0101_0101;
    let (r3, out0, out1, clamp) = match then {
        Then::Store(acc) => (acc as usize, 0, 0, Clamp::NONE),
        Then::Requant { out0, out1, clamp } => (
            0,
            out0 as usize,
            (out1 as usize).wrapping_sub(out0 as usize),
            clamp,
        ),
    };
    let (lo, hi) = (bytes(clamp.min), bytes(clamp.max));
    // SAFETY (all four): reads `4 * groups` words from `patch` per pair (`LDM`, aligned:
    // the first group, then `groups - 1` through the loop, entered `entry` bytes into its
    // body so that the remainder of `(groups - 1) / UNROLL` runs first, the loop ending when
    // the patch pointer reaches `patch_end`), the pairs' words from `w` (`LDM`, aligned, the
    // weights pointer running on through the pairs until `w_end`), and per pair writes 4
    // words through the accumulator pointer (`STM`) or reads 2 records (`LDM`, `LDRD`) and
    // writes 2 bytes through each output pointer (`STRH`): all within the caller's bounds.
    // `r6` and `r7` (the base and frame pointers, which cannot be operands) are pushed first
    // and popped last, and the 36 bytes of locals below them released, so the stack
    // pointer, `r6` and `r7` are restored on exit. Every other register written is an
    // operand or clobber. Flags are clobbered (no `preserves_flags`).
    macro_rules! run {
        ($then:expr, $back:expr) => {
            unsafe {
                asm!(
                    pairs_asm!($then, $back),
                    inout("r0") patch => _,
                    inout("r1") entry => _,
                    inout("r2") patch_end => _,
                    inout("r3") r3 => _,
                    inout("r4") w_end => _,
                    inout("r5") out0 => _,
                    inout("r8") out1 => _,
                    inout("r9") lo => _,
                    inout("r10") hi => _,
                    inout("r12") w.as_ptr() => _,
                    out("r11") _,
                    out("lr") _,
                )
            }
        };
    }
    // One pass of the body (a window of at most 37 groups) needs no loop back.
    let back = groups - 1 > UNROLL;
    match (then, clamp.min > i8::MIN, clamp.max < i8::MAX, back) {
        (Then::Store(_), _, _, true) => run!(store_sums!(), loop_back!()),
        (Then::Store(_), _, _, false) => run!(store_sums!(), ""),
        (_, false, false, true) => run!(requant_sums!(store_pixels!()), loop_back!()),
        (_, false, false, false) => run!(requant_sums!(store_pixels!()), ""),
        (_, true, false, true) => run!(requant_sums!(clamp_store!(clamp_lo!())), loop_back!()),
        (_, true, false, false) => run!(requant_sums!(clamp_store!(clamp_lo!())), ""),
        (_, _, _, true) => run!(
            requant_sums!(clamp_store!(concat!(clamp_lo!(), clamp_hi!()))),
            loop_back!()
        ),
        (_, _, _, false) => run!(
            requant_sums!(clamp_store!(concat!(clamp_lo!(), clamp_hi!()))),
            ""
        ),
    }
}

/// Pixel `j`'s outputs of channels `o0 .. o0 + dst.len()` from their sums in `acc` (channel
/// `o0 + 2c + i` at `acc[c][2j + i]`), which the pack started at the bias minus the zero
/// point's share, so they are the reference's sums plus the bias, wrapping as the
/// reference's: requantised as the reference does (the path for convs whose shifts are
/// outside the pack's `SMMLA` constants, or with an odd channel count).
#[inline(never)]
fn exact(
    acc: &[[i32; 4]; PAIRS],
    j: usize,
    o0: usize,
    dst: &mut [i8],
    fc: &FcParams<'_>,
    out_zp: i8,
) {
    for (i, d) in dst.iter_mut().enumerate() {
        let Some(&v) = acc.get(i / 2).and_then(|a| a.get(2 * j + i % 2)) else {
            continue;
        };
        let (m, s) = fc.rescale.at(o0 + i);
        let q = Requantizer::new(m, s).apply(v);
        *d = fc.clamp.apply(q.saturating_add(i32::from(out_zp)));
    }
}
