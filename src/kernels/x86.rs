//! x86-64 [`Micro`] kernels: AVX2 (`vpmovsxbw` + `vpmaddwd`) and AVX-512 VNNI (`vpdpbusd`).
//!
//! Both are exact: AVX2 widens to i16, subtracts the zero point (|x - zp| ≤ 255, so each
//! i16 product pair fits `vpmaddwd`'s i32), and accumulates in i32 lanes. VNNI multiplies
//! `u = x + 128` (u8) by `w` (s8) and corrects with `Σw * (128 + zp)`, i32 wrapping, which is
//! the same sum modulo 2^32. A kernel value exists only once its features were detected.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use super::dense::{common_len, tail, Micro};

/// AVX2 dot products, 16 int8 per step.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx2(());

impl Avx2 {
    /// `Some` when the CPU has AVX2.
    pub(super) fn new() -> Option<Self> {
        super::detect::has_avx2().then_some(Self(()))
    }
}

impl Micro for Avx2 {
    #[inline]
    fn dot<const P: usize, const O: usize>(
        self,
        x: &[&[i8]; P],
        w: &[&[i8]; O],
        zp: i8,
        acc: &mut [[i32; P]; O],
    ) {
        let n = common_len(x, w);
        // SAFETY: `Avx2` is only constructed after AVX2 was detected (`Avx2::new`), and
        // every slice holds at least `n` elements.
        unsafe { dot_avx2(x, w, n, zp, acc) }
    }
}

/// Sum of the 8 i32 lanes (wrapping).
#[target_feature(enable = "avx2")]
#[inline]
fn hsum256(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// See [`Micro::dot`]; `n` ≤ every slice's length (caller's duty, checked by `common_len`).
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn dot_avx2<const P: usize, const O: usize>(
    x: &[&[i8]; P],
    w: &[&[i8]; O],
    n: usize,
    zp: i8,
    acc: &mut [[i32; P]; O],
) {
    let zpv = _mm256_set1_epi16(zp as i16);
    let mut v = [[_mm256_setzero_si256(); P]; O];
    let mut i = 0;
    while i + 16 <= n {
        let mut xv = [_mm256_setzero_si256(); P];
        for (d, s) in xv.iter_mut().zip(x) {
            // SAFETY: i + 16 <= n <= s.len(); unaligned load.
            let l = unsafe { _mm_loadu_si128(s.as_ptr().add(i).cast()) };
            *d = _mm256_sub_epi16(_mm256_cvtepi8_epi16(l), zpv);
        }
        for (vo, s) in v.iter_mut().zip(w) {
            // SAFETY: i + 16 <= n <= s.len(); unaligned load.
            let l = unsafe { _mm_loadu_si128(s.as_ptr().add(i).cast()) };
            let wv = _mm256_cvtepi8_epi16(l);
            for (a, &xj) in vo.iter_mut().zip(&xv) {
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(wv, xj));
            }
        }
        i += 16;
    }
    for ((ao, vo), ws) in acc.iter_mut().zip(&v).zip(w) {
        for ((a, &vj), xs) in ao.iter_mut().zip(vo).zip(x) {
            let s = hsum256(vj).wrapping_add(tail(ws, xs, i, n, zp));
            *a = a.wrapping_add(s);
        }
    }
}

/// AVX-512 VNNI dot products, 64 int8 per step, masked tail.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx512Vnni(());

impl Avx512Vnni {
    /// `Some` when the CPU has AVX-512 F, BW and VNNI.
    pub(super) fn new() -> Option<Self> {
        super::detect::has_avx512vnni().then_some(Self(()))
    }
}

impl Micro for Avx512Vnni {
    #[inline]
    fn dot<const P: usize, const O: usize>(
        self,
        x: &[&[i8]; P],
        w: &[&[i8]; O],
        zp: i8,
        acc: &mut [[i32; P]; O],
    ) {
        let n = common_len(x, w);
        // SAFETY: `Avx512Vnni` is only constructed after AVX-512 F/BW/VNNI were detected,
        // and every slice holds at least `n` elements.
        unsafe { dot_vnni(x, w, n, zp, acc) }
    }
}

/// See [`Micro::dot`]; `n` ≤ every slice's length (caller's duty, checked by `common_len`).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn dot_vnni<const P: usize, const O: usize>(
    x: &[&[i8]; P],
    w: &[&[i8]; O],
    n: usize,
    zp: i8,
    acc: &mut [[i32; P]; O],
) {
    let flip = _mm512_set1_epi8(i8::MIN);
    let ones = _mm512_set1_epi8(1);
    let mut v = [[_mm512_setzero_si512(); P]; O];
    let mut sw = [_mm512_setzero_si512(); O];
    let mut i = 0;
    while i < n {
        let left = n - i;
        let mask: __mmask64 = if left >= 64 { !0 } else { (1u64 << left) - 1 };
        let mut xv = [_mm512_setzero_si512(); P];
        for (d, s) in xv.iter_mut().zip(x) {
            // SAFETY: the mask covers only elements i .. n, all inside `s`; masked-out
            // bytes are not read (no fault) and come back as 0.
            let l = unsafe { _mm512_maskz_loadu_epi8(mask, s.as_ptr().add(i)) };
            *d = _mm512_xor_si512(l, flip); // x + 128 as u8 (0 -> 128, times a zero weight)
        }
        for ((vo, so), s) in v.iter_mut().zip(sw.iter_mut()).zip(w) {
            // SAFETY: as above, the mask keeps the load inside `s`; padding weights are 0.
            let wv = unsafe { _mm512_maskz_loadu_epi8(mask, s.as_ptr().add(i)) };
            *so = _mm512_dpbusd_epi32(*so, ones, wv);
            for (a, &xj) in vo.iter_mut().zip(&xv) {
                *a = _mm512_dpbusd_epi32(*a, xj, wv);
            }
        }
        i += 64;
    }
    let corr = 128i32 + zp as i32;
    for ((ao, vo), so) in acc.iter_mut().zip(&v).zip(&sw) {
        let c = _mm512_reduce_add_epi32(*so).wrapping_mul(corr);
        for (a, &vj) in ao.iter_mut().zip(vo) {
            *a = a.wrapping_add(_mm512_reduce_add_epi32(vj).wrapping_sub(c));
        }
    }
}
