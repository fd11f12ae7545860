//! x86-64 AVX-512 residual Add, 16 elements per step.
//!
//! [`reference::add_into`](super::reference::add_into) rescales each input
//! (`a' = requantize((a − zp_a) << 20, m_a, s_a)`, through a 256-entry table when the Add is
//! large), adds them saturating at the i32 range, and requantises the sum. This computes the
//! same per lane: the two input rescales (table gathers are slower on Zen 4), a saturating
//! add, the i64 requantisation and clamp. Same values, so the same bytes; the last
//! `len % 16` elements take the same step with masked loads and stores.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use super::reference;
use super::x86::{requantize16, requantize16_hi, requantize16_unclamped, Avx512Vnni};
use super::{AddParams, KernelError, Operand, Out};

/// [`reference::add_into`] on AVX-512: same contract, errors and bytes.
pub(super) fn add_into(
    m: Avx512Vnni,
    a: Operand<'_>,
    b: Operand<'_>,
    y: Out<'_>,
    p: &AddParams,
) -> Result<(), KernelError> {
    if y.shape.len() != Some(y.data.len()) || !a.fits(&y) || !b.fits(&y) {
        return reference::add_into(a, b, y, p); // its error
    }
    let step = Step {
        a: (a.zero_point(), p.a),
        b: (b.zero_point(), p.b),
        out: p.out,
        zp: y.zero_point,
        lo: p.clamp.min,
        hi: p.clamp.max,
    };
    m.add_all(&a, &b, y.data, &step);
    Ok(())
}

/// The parameters of one Add step: each input's zero point and rescale, the sum's rescale,
/// the output zero point and clamp.
struct Step {
    a: (i8, (i32, u8)),
    b: (i8, (i32, u8)),
    out: (i32, u8),
    zp: i8,
    lo: i8,
    hi: i8,
}

impl Avx512Vnni {
    /// `y = a + b` (see [`add16`]), 16 elements at a time; an [`Operand::Output`] input reads
    /// `y` itself. The lengths were checked by the caller.
    fn add_all(self, a: &Operand<'_>, b: &Operand<'_>, y: &mut [i8], step: &Step) {
        // SAFETY: `Avx512Vnni` exists only once AVX-512 F/BW/VNNI were detected.
        unsafe { add_all(a, b, y, step) }
    }
}

/// See [`Avx512Vnni::add_all`]. One function with the target features, so that the steps
/// inline into its loop and their constants are computed once. The inputs are read in
/// place, 16 bytes at a time (the last step masked); an in-place input is `y`'s own bytes,
/// read before they are overwritten.
#[target_feature(enable = "avx512f,avx512bw")]
fn add_all(a: &Operand<'_>, b: &Operand<'_>, y: &mut [i8], step: &Step) {
    let len = y.len();
    // The input's bytes (`None`: `y` itself), which the caller checked hold `len`.
    let src = |o: &Operand<'_>| match o {
        Operand::Tensor(t) => Some(t.data.as_ptr()),
        Operand::Output { .. } => None,
    };
    let (pa, pb) = (src(a), src(b));
    let lens_ok = |o: &Operand<'_>| match o {
        Operand::Tensor(t) => t.data.len() >= len,
        Operand::Output { .. } => true,
    };
    if !lens_ok(a) || !lens_ok(b) {
        return;
    }
    let out = y.as_mut_ptr();
    let (pa, pb) = (
        pa.unwrap_or(out.cast_const()),
        pb.unwrap_or(out.cast_const()),
    );
    let fast = bound(step.a.1) + bound(step.b.1) <= i32::MAX as i128;
    let hi = step.out.1.clamp(1, 62) >= 32;
    match (fast, hi) {
        // SAFETY: `pa`, `pb` and `out` hold `len` bytes (checked above).
        (true, true) => unsafe {
            add_run(pa, pb, out, len, |a, b| add16::<true, true>(a, b, step))
        },
        // SAFETY: as above.
        (true, false) => unsafe {
            add_run(pa, pb, out, len, |a, b| add16::<true, false>(a, b, step))
        },
        // SAFETY: as above.
        (false, true) => unsafe {
            add_run(pa, pb, out, len, |a, b| add16::<false, true>(a, b, step))
        },
        // SAFETY: as above.
        (false, false) => unsafe {
            add_run(pa, pb, out, len, |a, b| add16::<false, false>(a, b, step))
        },
    }
}

/// A bound on `|requantize((x − zp) << 20, m, s)|` for every `x − zp` in `−255 ..= 255`:
/// `(255 · 2^20 · |m| + 2^(s−1)) / 2^s + 1`. When the two inputs' bounds add up to at most
/// `i32::MAX` (the usual case: `m / 2^s` is at most about 1), neither rescale reaches the
/// reference's clamp to the i32 range, nor their sum its saturation.
fn bound((m, s): (i32, u8)) -> i128 {
    let s = s.clamp(1, 62) as u32;
    (((255i128 << 20) * (m as i128).abs() + (1i128 << (s - 1))) >> s) + 1
}

/// `out[i] = f(a[i], b[i])`, 16 bytes at a time (the last step masked).
///
/// # Safety
/// AVX-512 F/BW available; `pa`, `pb` and `out` valid for `len` bytes (`out` may be one of
/// the others: each step reads its 16 bytes before it writes them).
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn add_run(
    pa: *const i8,
    pb: *const i8,
    out: *mut i8,
    len: usize,
    f: impl Fn(__m128i, __m128i) -> __m128i,
) {
    let mut i = 0;
    while i + 16 <= len {
        // SAFETY: bytes `i .. i + 16 <= len` of each pointer, all of which hold `len` bytes
        // (the contract); unaligned loads and store.
        unsafe {
            let (va, vb) = (
                _mm_loadu_si128(pa.add(i).cast()),
                _mm_loadu_si128(pb.add(i).cast()),
            );
            _mm_storeu_si128(out.add(i).cast(), f(va, vb));
        }
        i += 16;
    }
    if i < len {
        let mask: __mmask64 = (1u64 << (len - i)) - 1;
        // SAFETY: the mask selects bytes `i .. len` of each pointer (the contract);
        // masked-out bytes are neither read nor written.
        unsafe {
            let load = |p: *const i8| _mm512_castsi512_si128(_mm512_maskz_loadu_epi8(mask, p));
            let r = f(load(pa.add(i)), load(pb.add(i)));
            _mm512_mask_storeu_epi8(out.add(i), mask, _mm512_castsi128_si512(r));
        }
    }
}

/// `requantize((x − zp) << 20, m, s)` per lane: the reference's `a'` (or `b'`). With
/// `UNCLAMPED` the clamp to the i32 range is left out ([`bound`] said it changes nothing).
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn rescaled<const UNCLAMPED: bool>(x: __m128i, (z, (m, s)): (i8, (i32, u8))) -> __m512i {
    let v = _mm512_cvtepi8_epi32(x);
    let v = _mm512_slli_epi32::<20>(_mm512_sub_epi32(v, _mm512_set1_epi32(z as i32)));
    let s = _mm512_set1_epi32(s.clamp(1, 62) as i32);
    if UNCLAMPED {
        requantize16_unclamped(v, _mm512_set1_epi32(m), s)
    } else {
        let (imin, imax) = (
            _mm512_set1_epi64(i32::MIN as i64),
            _mm512_set1_epi64(i32::MAX as i64),
        );
        requantize16(v, _mm512_set1_epi32(m), s, imin, imax)
    }
}

/// 16 outputs of the reference's arithmetic: `a'` and `b'` (what its tables hold), then
/// `clamp(requantize(a' +sat b', m, s) + zp)`. `FAST`: the rescales need no clamp and their
/// sum no saturation ([`bound`]); `HI`: the output shift is at least 32
/// ([`requantize16_hi`]: same value, cheaper).
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn add16<const FAST: bool, const HI: bool>(a: __m128i, b: __m128i, step: &Step) -> __m128i {
    let (va, vb) = (rescaled::<FAST>(a, step.a), rescaled::<FAST>(b, step.b));
    let sum = _mm512_add_epi32(va, vb);
    let sum = if FAST {
        sum // no overflow (see `bound`)
    } else {
        // Saturating: where both signs agree and the sum's differs, the bound of a's sign.
        let over = _mm512_cmplt_epi32_mask(
            _mm512_and_si512(_mm512_xor_si512(va, sum), _mm512_xor_si512(vb, sum)),
            _mm512_setzero_si512(),
        );
        let bound = _mm512_xor_si512(_mm512_srai_epi32::<31>(va), _mm512_set1_epi32(i32::MAX));
        _mm512_mask_blend_epi32(over, sum, bound)
    };
    let zp = step.zp as i32;
    let (m, s) = (
        _mm512_set1_epi32(step.out.0),
        _mm512_set1_epi32(step.out.1.clamp(1, 62) as i32),
    );
    let r = if HI {
        let (lo, hi) = (step.lo as i32 - zp, step.hi as i32 - zp);
        requantize16_hi(sum, m, s, _mm512_set1_epi32(lo), _mm512_set1_epi32(hi))
    } else {
        let (lo, hi) = (step.lo as i64 - zp as i64, step.hi as i64 - zp as i64);
        requantize16(sum, m, s, _mm512_set1_epi64(lo), _mm512_set1_epi64(hi))
    };
    _mm512_cvtepi32_epi8(_mm512_add_epi32(r, _mm512_set1_epi32(zp)))
}
