//! x86-64 AVX-512 residual Add: the reference's tabulated rescales, 16 elements per step.
//!
//! [`reference::add_into`](super::reference::add_into) rescales each input through a
//! 256-entry table (`a'`, `b'`), adds them saturating at the i32 range, and requantises the
//! sum. This computes the same per lane: the two input rescales (what the tables hold; table
//! gathers are slower on Zen 4), a saturating add, the i64 requantisation and clamp. Same values, so the same bytes; the last `len % 16` elements
//! and Adds under [`ADD_TABLE_MIN_LEN`] take the reference.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use super::reference::{self, out_value, rescaled_table, ADD_TABLE_MIN_LEN};
use super::x86::Avx512Vnni;
use super::{AddParams, KernelError, Operand, Out};

/// [`reference::add_into`] on AVX-512: same contract, errors and bytes.
pub(super) fn add_into(
    m: Avx512Vnni,
    a: Operand<'_>,
    b: Operand<'_>,
    y: Out<'_>,
    p: &AddParams,
) -> Result<(), KernelError> {
    let shaped = |o: &Operand<'_>| match o {
        Operand::Tensor(t) => t.shape == y.shape && t.shape.len() == Some(t.data.len()),
        Operand::Output { .. } => true,
    };
    if y.shape.len() != Some(y.data.len())
        || !shaped(&a)
        || !shaped(&b)
        || y.data.len() < ADD_TABLE_MIN_LEN
    {
        return reference::add_into(a, b, y, p);
    }
    let zp = |o: &Operand<'_>| match o {
        Operand::Tensor(t) => t.zero_point as i32,
        Operand::Output { zero_point } => *zero_point as i32,
    };
    let (ta, tb) = (rescaled_table(zp(&a), p.a), rescaled_table(zp(&b), p.b));
    let out = (p.out.0, p.out.1.clamp(1, 62));
    let (yzp, clamp) = (y.zero_point, p.clamp);
    let look = |t: &[i32; 256], v: i8| t.get(v as u8 as usize).copied().unwrap_or(0);
    let input = |o: &Operand<'_>, at: usize, own: &[i8]| -> [i8; 16] {
        let src = match o {
            Operand::Tensor(t) => t.data.get(at..at + 16).unwrap_or(&[]),
            Operand::Output { .. } => own,
        };
        let mut v = [0i8; 16];
        for (d, &s) in v.iter_mut().zip(src) {
            *d = s;
        }
        v
    };
    let steps = y.data.len() / 16;
    for (i, dst) in y.data.chunks_exact_mut(16).enumerate() {
        let (av, bv) = (input(&a, 16 * i, dst), input(&b, 16 * i, dst));
        let (ra, rb) = ((zp(&a), p.a), (zp(&b), p.b));
        // SAFETY: `Avx512Vnni` exists only once AVX-512 F/BW/VNNI were detected.
        let r = unsafe { add16(&av, &bv, ra, rb, out, yzp, clamp.min, clamp.max) };
        dst.copy_from_slice(&r);
    }
    let _ = m;
    // The tail, as the reference computes it.
    let tail = 16 * steps;
    for (k, d) in y.data.iter_mut().enumerate().skip(tail) {
        let v = |o: &Operand<'_>, own: i8| match o {
            Operand::Tensor(t) => t.data.get(k).copied().unwrap_or(0),
            Operand::Output { .. } => own,
        };
        let (x, z) = (v(&a, *d), v(&b, *d));
        *d = out_value(look(&ta, x).saturating_add(look(&tb, z)), out, yzp, clamp);
    }
    Ok(())
}

/// 16 outputs of the reference's arithmetic: `a' = requantize((a − zp_a) << 20, m_a, s_a)`
/// (what its table holds), the same for `b`, then `clamp(requantize(a' +sat b', m, s) + zp)`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw")]
fn add16(
    a: &[i8; 16],
    b: &[i8; 16],
    (azp, ra): (i32, (i32, u8)),
    (bzp, rb): (i32, (i32, u8)),
    out: (i32, u8),
    zp: i8,
    lo: i8,
    hi: i8,
) -> [i8; 16] {
    // SAFETY: 16-byte arrays; unaligned loads.
    let (xa, xb) = unsafe {
        (
            _mm512_cvtepi8_epi32(_mm_loadu_si128(a.as_ptr().cast())),
            _mm512_cvtepi8_epi32(_mm_loadu_si128(b.as_ptr().cast())),
        )
    };
    let shifted =
        |x: __m512i, z: i32| _mm512_slli_epi32::<20>(_mm512_sub_epi32(x, _mm512_set1_epi32(z)));
    let (imin, imax) = (i32::MIN as i64, i32::MAX as i64);
    let va = requantize16(shifted(xa, azp), ra, imin, imax);
    let vb = requantize16(shifted(xb, bzp), rb, imin, imax);
    // Saturating i32 add: where both signs agree and the sum's differs, the bound of a's sign.
    let sum = _mm512_add_epi32(va, vb);
    let zero = _mm512_setzero_si512();
    let over = _mm512_cmplt_epi32_mask(
        _mm512_and_si512(_mm512_xor_si512(va, sum), _mm512_xor_si512(vb, sum)),
        zero,
    );
    let bound = _mm512_xor_si512(_mm512_srai_epi32::<31>(va), _mm512_set1_epi32(i32::MAX));
    let sum = _mm512_mask_blend_epi32(over, sum, bound);
    let r = requantize16(sum, out, lo as i64 - zp as i64, hi as i64 - zp as i64);
    let bytes = _mm512_cvtepi32_epi8(_mm512_add_epi32(r, _mm512_set1_epi32(zp as i32)));
    let mut outv = [0i8; 16];
    // SAFETY: 16 writable bytes; unaligned store.
    unsafe { _mm_storeu_si128(outv.as_mut_ptr().cast(), bytes) };
    outv
}

/// `((x · m + 2^(s−1)) >> s)` clamped to `[lo, hi]` per i32 lane, in i64 (`s` in 1..=62,
/// `[lo, hi]` inside the i32 range): [`requantize`](crate::format::math::requantize) when
/// `[lo, hi]` is the whole i32 range.
#[target_feature(enable = "avx512f")]
#[inline]
fn requantize16(x: __m512i, (m, s): (i32, u8), lo: i64, hi: i64) -> __m512i {
    let s = s.clamp(1, 62);
    let mv = _mm512_set1_epi64(m as i64);
    let half = _mm512_set1_epi64(1i64 << (s - 1));
    let sv = _mm_set1_epi64x(s as i64);
    let (l, h) = (_mm512_set1_epi64(lo), _mm512_set1_epi64(hi));
    let ev = _mm512_mul_epi32(x, mv);
    let od = _mm512_mul_epi32(_mm512_srli_epi64::<32>(x), mv);
    let ev = _mm512_sra_epi64(_mm512_add_epi64(ev, half), sv);
    let od = _mm512_sra_epi64(_mm512_add_epi64(od, half), sv);
    let ev = _mm512_min_epi64(_mm512_max_epi64(ev, l), h);
    let od = _mm512_min_epi64(_mm512_max_epi64(od, l), h);
    _mm512_mask_blend_epi32(0xAAAA, ev, _mm512_slli_epi64::<32>(od))
}
