//! x86-64 AVX2 dense convolution as a small GEMM with the output channels across the lanes:
//! `vpmaddwd` of 8 channels × 2 taps (i16) against one pixel's 2 taps, broadcast. No
//! horizontal reductions, unlike the dot-product kernel of `x86.rs`.
//!
//! Per call (per thread band), for each chunk of output channels that fits [`WBUF`]:
//! 1. the chunk's weights are repacked on the stack as i16,
//!    `[16-channel block][tap / 2][16][2]`, taps padded to even with weight 0;
//! 2. for each block of [`PX`] output pixels, each pixel's window is gathered in the weights'
//!    tap order ([`Job::gather`], the zero point in the padding) and widened to `x − zp` in
//!    i16 (a padded tap becomes 0);
//! 3. `vpmaddwd` adds `w · (x − zp)` pairs: `|w| ≤ 128` and `|x − zp| ≤ 255`, so a pair sum
//!    fits i32 exactly, and the i32 wrapping sums are the reference's. The requantisation is
//!    the reference's `out_value`, per output.
//!
//! Stack: [`WBUF`] i16 + [`PX`] × [`MAX_TAPS`] i16 + one window, about 203 KiB per call.
//! Allocates nothing.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use super::gemm::{self, Job, MAX_TAPS};
use super::reference::out_value;
use super::x86::Avx2;
use super::{ConvParams, In, KernelError, Out};

/// Output channels of one micro-kernel call: two vectors of 8.
const NB: usize = 16;
/// Output pixels of one micro-kernel call (12 accumulators, 2 weight vectors, 1 broadcast:
/// 15 of the 16 registers).
const PX: usize = 6;
/// i16 elements of repacked weights: one 16-channel block of the largest window.
const WBUF: usize = NB * MAX_TAPS;

/// Whether [`conv2d`] is the faster AVX2 kernel for this convolution: [`gemm::covers`] it,
/// and its weights repack in at most 8 chunks (measured on Zen 4: a 3×3 conv over 512
/// channels, 32 chunks, runs faster on the dot-product kernel; 256 channels, 8 chunks, on
/// this one).
pub(super) fn takes(p: &ConvParams<'_>, ic: usize) -> bool {
    gemm::covers(p, ic) && p.weights.len() <= 8 * WBUF
}

/// [`reference::conv2d`](super::reference::conv2d) for a dense convolution
/// [`gemm::covers`] accepts; same contract, errors and bytes.
pub(super) fn conv2d(
    m: Avx2,
    x: In<'_>,
    y: Out<'_>,
    p: &ConvParams<'_>,
    threads: usize,
) -> Result<(), KernelError> {
    let Some(job) = Job::new(&x, &y, p)? else {
        return Ok(());
    };
    let conv = Conv {
        job: &job,
        kp: job.k.next_multiple_of(2),
    };
    gemm::in_bands(&job, y, threads, |out, pix0| conv.pixels(m, out, pix0));
    Ok(())
}

/// A conv on this kernel: the checked job and its taps rounded up to 2.
struct Conv<'a> {
    job: &'a Job<'a>,
    kp: usize,
}

impl<'a> core::ops::Deref for Conv<'a> {
    type Target = Job<'a>;
    fn deref(&self) -> &Job<'a> {
        self.job
    }
}

/// Accumulators of one block: `P` pixels × two vectors of 8 channels.
type Acc<const P: usize> = [[__m256i; 2]; P];

impl Conv<'_> {
    /// Computes the output pixels `pix0 ..` that `out` holds (whole pixels of `oc` bytes).
    fn pixels(&self, m: Avx2, out: &mut [i8], pix0: usize) {
        let (oc, kp) = (self.oc, self.kp);
        let npix = out.len() / oc;
        let mut wbuf = [0i16; WBUF];
        let mut window = [0i8; MAX_TAPS];
        let mut patch = [[0i16; MAX_TAPS]; PX];
        let per_chunk = (WBUF / kp / NB * NB).max(NB);
        let mut c0 = 0;
        while c0 < oc {
            let nc = per_chunk.min(oc - c0);
            let packed = &mut wbuf[..nc.div_ceil(NB) * NB * kp];
            self.repack(m, c0, nc, packed);
            let mut q = 0;
            while q < npix {
                let n = PX.min(npix - q);
                for (j, row) in patch.iter_mut().enumerate().take(n) {
                    let raw = &mut window[..kp];
                    self.gather(pix0 + q + j, raw, |d, s| d.copy_from_slice(s));
                    // SAFETY: `Avx2` exists only once AVX2 was detected.
                    unsafe { widen(raw, self.zp, &mut row[..kp]) };
                }
                let dst = &mut out[q * oc..(q + n) * oc];
                match n {
                    1 => self.blocks::<1>(m, packed, &patch, c0, nc, dst),
                    2 => self.blocks::<2>(m, packed, &patch, c0, nc, dst),
                    3 | 4 => self.blocks::<4>(m, packed, &patch, c0, nc, dst),
                    _ => self.blocks::<PX>(m, packed, &patch, c0, nc, dst),
                }
                q += n;
            }
            c0 += nc;
        }
    }

    /// Every 16-channel block of the chunk (channels `c0 .. c0 + nc`) for the pixels of `dst`
    /// (at most `P`).
    #[inline(always)]
    fn blocks<const P: usize>(
        &self,
        m: Avx2,
        packed: &[i16],
        patch: &[[i16; MAX_TAPS]; PX],
        c0: usize,
        nc: usize,
        dst: &mut [i8],
    ) {
        let groups = self.kp / 2;
        if !packed.len().is_multiple_of(NB * 2 * groups.max(1)) || groups * 2 > MAX_TAPS || P > PX {
            return;
        }
        let _ = m;
        // SAFETY: `Avx2` exists only once AVX2 was detected; every block of `packed` holds
        // `groups` groups of 16 × 2 i16, every patch row `2 · groups` i16, and P <= PX
        // (checked above).
        unsafe { blocks_avx2::<P>(self, packed, patch, groups, c0, nc, dst) }
    }

    /// Repacks output channels `c0 .. c0 + nc` (see the module docs).
    fn repack(&self, m: Avx2, c0: usize, nc: usize, packed: &mut [i16]) {
        let k = self.k;
        for (b, blk) in packed.chunks_exact_mut(NB * self.kp).enumerate() {
            let o0 = b * NB;
            let rows = nc.saturating_sub(o0).min(NB);
            let wb = self
                .p
                .weights
                .get((c0 + o0) * k..(c0 + o0 + rows) * k)
                .unwrap_or(&[]);
            m.repack_block(wb, rows, k, blk);
        }
    }
}

impl Avx2 {
    /// One 16-channel block: `blk[(g · 16 + j) · 2 + t] = w[j · k + 2g + t]` for the `rows`
    /// rows of `wb` (`k` taps each), 0 past a row's end and for the rows `rows .. 16`.
    /// `blk` holds `16 × 2` i16 per group of 2 taps.
    fn repack_block(self, wb: &[i8], rows: usize, k: usize, blk: &mut [i16]) {
        let groups = blk.len() / (NB * 2);
        if rows > NB || wb.len() != rows * k || groups * 2 < k {
            blk.fill(0);
            return;
        }
        for half in [0, 8] {
            let mut g0 = 0;
            while g0 < groups {
                // 16 taps (8 groups) of each of 8 rows, zero past the row's end.
                let mut r = [[0i8; 16]; 8];
                for (j, chunk) in r.iter_mut().enumerate() {
                    if half + j >= rows {
                        continue;
                    }
                    let row = wb.get((half + j) * k..(half + j + 1) * k).unwrap_or(&[]);
                    for (d, &s) in chunk.iter_mut().zip(row.get(2 * g0..).unwrap_or(&[])) {
                        *d = s;
                    }
                }
                // SAFETY: `Avx2` exists only once AVX2 was detected.
                let cols = unsafe { transpose8_widened(&r) };
                for (n, c) in cols.iter().enumerate().take(groups - g0) {
                    let at = ((g0 + n) * NB + half) * 2;
                    if let Some(d) = blk.get_mut(at..at + 16) {
                        // SAFETY: `d` is 16 writable i16 (32 bytes); unaligned store.
                        unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast(), *c) };
                    }
                }
                g0 += 8;
            }
        }
    }
}

/// Rows of 16 int8 widened to 8 pairs of i16 (one 32-bit lane per pair), transposed:
/// `out[n]` lane `j` = pair `n` of row `j`.
///
/// # Safety
/// AVX2 available.
#[target_feature(enable = "avx2")]
unsafe fn transpose8_widened(r: &[[i8; 16]; 8]) -> [__m256i; 8] {
    let mut v = [_mm256_setzero_si256(); 8];
    for (d, s) in v.iter_mut().zip(r) {
        // SAFETY: `s` is 16 bytes; unaligned load.
        *d = _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(s.as_ptr().cast()) });
    }
    let mut t = [_mm256_setzero_si256(); 8];
    for i in 0..4 {
        t[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    // u[4a + c], 128-bit lane L: pair 4L + c of rows 4a .. 4a + 4.
    let mut u = [_mm256_setzero_si256(); 8];
    for a in 0..2 {
        let b = 4 * a;
        u[b] = _mm256_unpacklo_epi64(t[b], t[b + 2]);
        u[b + 1] = _mm256_unpackhi_epi64(t[b], t[b + 2]);
        u[b + 2] = _mm256_unpacklo_epi64(t[b + 1], t[b + 3]);
        u[b + 3] = _mm256_unpackhi_epi64(t[b + 1], t[b + 3]);
    }
    let mut out = [_mm256_setzero_si256(); 8];
    for c in 0..4 {
        out[c] = _mm256_permute2x128_si256::<0x20>(u[c], u[4 + c]);
        out[4 + c] = _mm256_permute2x128_si256::<0x31>(u[c], u[4 + c]);
    }
    out
}

/// See [`Conv::blocks`]: the micro-kernel on each 16-channel block, then the reference's
/// requantisation of every output.
///
/// # Safety
/// AVX2 available; `packed` is whole blocks of `groups` groups of 16 × 2 i16,
/// `groups * 2 <= MAX_TAPS`, `P <= PX`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn blocks_avx2<const P: usize>(
    conv: &Conv<'_>,
    packed: &[i16],
    patch: &[[i16; MAX_TAPS]; PX],
    groups: usize,
    c0: usize,
    nc: usize,
    dst: &mut [i8],
) {
    let (oc, p) = (conv.oc, conv.p);
    for (b, w) in packed.chunks_exact(NB * 2 * groups).enumerate() {
        // SAFETY: the caller's contract.
        let acc = unsafe { block_avx2::<P>(w.as_ptr(), patch, groups) };
        for (px, a) in dst.chunks_exact_mut(oc).zip(&acc) {
            let mut sums = [0i32; 16];
            // SAFETY: `sums` is 64 writable bytes; unaligned stores.
            unsafe {
                _mm256_storeu_si256(sums.as_mut_ptr().cast(), a[0]);
                _mm256_storeu_si256(sums.as_mut_ptr().add(8).cast(), a[1]);
            }
            let first = c0 + b * NB;
            let live = nc.saturating_sub(b * NB).min(NB);
            let outs = px.get_mut(first..first + live).unwrap_or(&mut []);
            for (o, (d, &s)) in outs.iter_mut().zip(&sums).enumerate() {
                let ch = first + o;
                let acc = p.bias.get(ch).unwrap_or(0).wrapping_add(s);
                *d = out_value(acc, p.rescale.at(ch), conv.out_zp, p.clamp);
            }
        }
    }
}

/// `row[i] = raw[i] − zp` as i16.
#[target_feature(enable = "avx2")]
fn widen(raw: &[i8], zp: i8, row: &mut [i16]) {
    let zpv = _mm256_set1_epi16(zp as i16);
    let mut chunks = raw.chunks_exact(16).zip(row.chunks_exact_mut(16));
    for (s, d) in chunks.by_ref() {
        // SAFETY: `s` is 16 bytes and `d` 16 writable i16; unaligned load and store.
        unsafe {
            let v = _mm256_cvtepi8_epi16(_mm_loadu_si128(s.as_ptr().cast()));
            _mm256_storeu_si256(d.as_mut_ptr().cast(), _mm256_sub_epi16(v, zpv));
        }
    }
    let done = raw.len() / 16 * 16;
    for (d, &v) in row.iter_mut().skip(done).zip(raw.iter().skip(done)) {
        *d = v as i16 - zp as i16;
    }
}

/// The micro-kernel: `P` pixels × 16 channels, `2P` `vpmaddwd` per group of 2 taps.
///
/// # Safety
/// AVX2 available, `w` valid for `groups * 32` i16, `groups * 2 <= MAX_TAPS`, `P <= PX`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn block_avx2<const P: usize>(
    w: *const i16,
    patch: &[[i16; MAX_TAPS]; PX],
    groups: usize,
) -> Acc<P> {
    let mut acc: Acc<P> = [[_mm256_setzero_si256(); 2]; P];
    let rows: [*const i16; P] = core::array::from_fn(|p| patch[p.min(PX - 1)].as_ptr());
    for g in 0..groups {
        // SAFETY: g < groups: i16 `g * 32 .. g * 32 + 32` of `w` (the contract).
        let (w0, w1) = unsafe {
            (
                _mm256_loadu_si256(w.add(g * 32).cast()),
                _mm256_loadu_si256(w.add(g * 32 + 16).cast()),
            )
        };
        for (a, r) in acc.iter_mut().zip(&rows) {
            // SAFETY: 2 * g + 2 <= 2 * groups <= MAX_TAPS, the row's length.
            let x = unsafe { (r.add(2 * g) as *const i32).read_unaligned() };
            let xb = _mm256_set1_epi32(x);
            a[0] = _mm256_add_epi32(a[0], _mm256_madd_epi16(w0, xb));
            a[1] = _mm256_add_epi32(a[1], _mm256_madd_epi16(w1, xb));
        }
    }
    acc
}
