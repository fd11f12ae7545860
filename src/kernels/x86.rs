//! x86-64 [`Micro`] kernels: AVX2 (`vpmovsxbw` + `vpmaddwd`) and AVX-512 VNNI (`vpdpbusd`).
//!
//! Both are exact: AVX2 widens to i16, subtracts the zero point (|x - zp| ≤ 255, so each
//! i16 product pair fits `vpmaddwd`'s i32), and accumulates in i32 lanes. VNNI multiplies
//! `u = x + 128` (u8) by `w` (s8) and corrects with `Σw * (128 + zp)`, i32 wrapping, which is
//! the same sum modulo 2^32. A kernel value exists only once its features were detected.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use super::dense::{pad16, runs, slices, tail_start, Micro, TAIL_MASK};

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
        rows: impl Iterator<Item = (usize, usize)>,
        run: usize,
        zp: i8,
        acc: &mut [[i32; P]; O],
    ) {
        // SAFETY: `Avx2` is only constructed after AVX2 was detected (`Avx2::new`).
        unsafe { dot_avx2(x, w, rows, run, zp, acc) }
    }
}

/// The lane sums of four vectors: `[Σa, Σb, Σc, Σd]` (wrapping).
#[target_feature(enable = "avx2")]
#[inline]
fn hsum4(a: __m256i, b: __m256i, c: __m256i, d: __m256i) -> __m128i {
    let ab = _mm256_hadd_epi32(a, b);
    let cd = _mm256_hadd_epi32(c, d);
    let s = _mm256_hadd_epi32(ab, cd);
    _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s))
}

/// Adds the lane sums of `v[o][p]` to `acc[o][p]`, four vectors per reduction.
#[target_feature(enable = "avx2")]
#[inline]
fn reduce_into<const P: usize, const O: usize>(v: &[[__m256i; P]; O], acc: &mut [[i32; P]; O]) {
    let z = _mm256_setzero_si256();
    let mut flat = v.iter().flatten();
    let mut out = acc.iter_mut().flatten();
    loop {
        let (Some(&a), b, c, d) = (flat.next(), flat.next(), flat.next(), flat.next()) else {
            return;
        };
        let (b, c, d) = (*b.unwrap_or(&z), *c.unwrap_or(&z), *d.unwrap_or(&z));
        let mut s = [0i32; 4];
        // SAFETY: `s` is 16 writable bytes; unaligned store.
        unsafe { _mm_storeu_si128(s.as_mut_ptr().cast(), hsum4(a, b, c, d)) };
        // `s` first: a zip polls its left side first, and `out` must not lose an element.
        for (s, o) in s.into_iter().zip(out.by_ref()) {
            *o = o.wrapping_add(s);
        }
    }
}

/// See [`Micro::dot`].
#[target_feature(enable = "avx2")]
#[inline]
fn dot_avx2<const P: usize, const O: usize>(
    x: &[&[i8]; P],
    w: &[&[i8]; O],
    rows: impl Iterator<Item = (usize, usize)>,
    run: usize,
    zp: i8,
    acc: &mut [[i32; P]; O],
) {
    let zpv = _mm256_set1_epi16(zp as i16);
    let mut v = [[_mm256_setzero_si256(); P]; O];
    for (xo, wo) in rows {
        let (Some(xs), Some(ws)) = (runs(x, xo, run), runs(w, wo, run)) else {
            continue;
        };
        let (xp, wp) = (xs.map(<[i8]>::as_ptr), ws.map(<[i8]>::as_ptr));
        let mut i = 0;
        while i + 16 <= run {
            // SAFETY: every run is exactly `run` long (`runs`) and i + 16 <= run.
            unsafe { step_full(&xp, &wp, i, zpv, &mut v) };
            i += 16;
        }
        if i < run {
            // The last 1..15 elements: the run's last 16 with the earlier weights masked to
            // zero, or zero-padded copies for a run shorter than 16.
            if let (Some(at), Some(m)) = (tail_start(run), TAIL_MASK.get(run - i..run - i + 16)) {
                // SAFETY: `m` is 16 bytes; unaligned load.
                let mask = unsafe { _mm_loadu_si128(m.as_ptr().cast()) };
                step_avx2(&xs, &ws, at, zpv, mask, &mut v);
            } else {
                let (xt, wt) = (pad16(&xs, i), pad16(&ws, i));
                let all = _mm_set1_epi8(-1);
                step_avx2(&slices(&xt), &slices(&wt), 0, zpv, all, &mut v);
            }
        }
    }
    reduce_into(&v, acc);
}

/// The bulk step of [`dot_avx2`]: elements `i .. i + 16` of every run, unmasked.
///
/// # Safety
/// Every pointer of `xp` and `wp` must be valid for reads of `i + 16` bytes, and AVX2
/// available.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn step_full<const P: usize, const O: usize>(
    xp: &[*const i8; P],
    wp: &[*const i8; O],
    i: usize,
    zpv: __m256i,
    v: &mut [[__m256i; P]; O],
) {
    let mut xv = [_mm256_setzero_si256(); P];
    for (d, &s) in xv.iter_mut().zip(xp) {
        // SAFETY: `s` is valid for `i + 16` bytes (the caller's contract); unaligned load.
        let l = unsafe { _mm_loadu_si128(s.add(i).cast()) };
        *d = _mm256_sub_epi16(_mm256_cvtepi8_epi16(l), zpv);
    }
    for (vo, &s) in v.iter_mut().zip(wp) {
        // SAFETY: as above.
        let wv = _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(s.add(i).cast()) });
        for (a, &xj) in vo.iter_mut().zip(&xv) {
            *a = _mm256_add_epi32(*a, _mm256_madd_epi16(wv, xj));
        }
    }
}

/// The tail step of [`dot_avx2`]: elements `i .. i + 16` of every run, weights ANDed with
/// `wmask`. Runs shorter than `i + 16` are skipped (the caller never passes one).
#[target_feature(enable = "avx2")]
#[inline]
fn step_avx2<const P: usize, const O: usize>(
    xs: &[&[i8]; P],
    ws: &[&[i8]; O],
    i: usize,
    zpv: __m256i,
    wmask: __m128i,
    v: &mut [[__m256i; P]; O],
) {
    if xs.iter().chain(ws).any(|s| s.len() < i.saturating_add(16)) {
        return;
    }
    let mut xv = [_mm256_setzero_si256(); P];
    for (d, s) in xv.iter_mut().zip(xs) {
        // SAFETY: i + 16 <= s.len() (checked above); unaligned load.
        let l = unsafe { _mm_loadu_si128(s.as_ptr().add(i).cast()) };
        *d = _mm256_sub_epi16(_mm256_cvtepi8_epi16(l), zpv);
    }
    for (vo, s) in v.iter_mut().zip(ws) {
        // SAFETY: i + 16 <= s.len() (checked above); unaligned load.
        let l = unsafe { _mm_loadu_si128(s.as_ptr().add(i).cast()) };
        let wv = _mm256_cvtepi8_epi16(_mm_and_si128(l, wmask));
        for (a, &xj) in vo.iter_mut().zip(&xv) {
            *a = _mm256_add_epi32(*a, _mm256_madd_epi16(wv, xj));
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
        rows: impl Iterator<Item = (usize, usize)>,
        run: usize,
        zp: i8,
        acc: &mut [[i32; P]; O],
    ) {
        // SAFETY: `Avx512Vnni` is only constructed after AVX-512 F/BW/VNNI (and AVX2) were
        // detected.
        unsafe { dot_vnni(x, w, rows, run, zp, acc) }
    }
}

/// `a`'s two 256-bit halves added.
#[target_feature(enable = "avx512f")]
#[inline]
fn fold512(a: __m512i) -> __m256i {
    _mm256_add_epi32(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64::<1>(a))
}

/// See [`Micro::dot`]. Computes `Σ w * (x + 128) - (128 + zp) * Σ w`.
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vnni")]
#[inline]
fn dot_vnni<const P: usize, const O: usize>(
    x: &[&[i8]; P],
    w: &[&[i8]; O],
    rows: impl Iterator<Item = (usize, usize)>,
    run: usize,
    zp: i8,
    acc: &mut [[i32; P]; O],
) {
    let flip = _mm512_set1_epi8(i8::MIN);
    let ones = _mm512_set1_epi8(1);
    let mut v = [[_mm512_setzero_si512(); P]; O];
    let mut sw = [_mm512_setzero_si512(); O];
    for (xo, wo) in rows {
        let (Some(xs), Some(ws)) = (runs(x, xo, run), runs(w, wo, run)) else {
            continue;
        };
        let mut i = 0;
        while i < run {
            let left = run - i;
            let mask: __mmask64 = if left >= 64 { !0 } else { (1u64 << left) - 1 };
            let mut xv = [_mm512_setzero_si512(); P];
            for (d, s) in xv.iter_mut().zip(&xs) {
                // SAFETY: i < run == s.len(), and the mask covers only elements i .. run;
                // masked-out bytes are not read (no fault) and come back as 0.
                let l = unsafe { _mm512_maskz_loadu_epi8(mask, s.as_ptr().add(i)) };
                *d = _mm512_xor_si512(l, flip); // x + 128 as u8 (pads: 128, times weight 0)
            }
            for ((vo, so), s) in v.iter_mut().zip(sw.iter_mut()).zip(&ws) {
                // SAFETY: as above; masked-out weights are 0.
                let wv = unsafe { _mm512_maskz_loadu_epi8(mask, s.as_ptr().add(i)) };
                *so = _mm512_dpbusd_epi32(*so, ones, wv);
                for (a, &xj) in vo.iter_mut().zip(&xv) {
                    *a = _mm512_dpbusd_epi32(*a, xj, wv);
                }
            }
            i += 64;
        }
    }
    let corr = 128i32 + zp as i32;
    // Loops, not `map` closures: a closure would not inherit the target features.
    let mut h = [[_mm256_setzero_si256(); P]; O];
    let mut hs = [[_mm256_setzero_si256(); 1]; O];
    for (((ho, vo), hso), &so) in h.iter_mut().zip(&v).zip(hs.iter_mut()).zip(&sw) {
        for (hv, &a) in ho.iter_mut().zip(vo) {
            *hv = fold512(a);
        }
        hso[0] = fold512(so);
    }
    let mut s = [[0i32; 1]; O];
    reduce_into(&hs, &mut s);
    let mut d = [[0i32; P]; O];
    reduce_into(&h, &mut d);
    for ((ao, dd), s) in acc.iter_mut().zip(&d).zip(&s) {
        let c = s[0].wrapping_mul(corr);
        for (a, &dv) in ao.iter_mut().zip(dd) {
            *a = a.wrapping_add(dv.wrapping_sub(c));
        }
    }
}

/// The first half of every requantisation below, for 16 i32 lanes `x` with multipliers `m`
/// and shifts `s` (in 1..=62): `x · m + 2^(s−1)` in 64-bit lanes, `[even lanes, odd
/// lanes]`, and the shifts laid out the same way (even lanes in the low halves of the
/// 64-bit lanes, odd lanes shifted down).
#[target_feature(enable = "avx512f")]
#[inline]
fn rounded_products(x: __m512i, m: __m512i, s: __m512i) -> ([__m512i; 2], [__m512i; 2]) {
    let one = _mm512_set1_epi64(1);
    let s_ev = _mm512_srli_epi64::<32>(_mm512_slli_epi64::<32>(s));
    let s_od = _mm512_srli_epi64::<32>(s);
    let h_ev = _mm512_sllv_epi64(one, _mm512_sub_epi64(s_ev, one));
    let h_od = _mm512_sllv_epi64(one, _mm512_sub_epi64(s_od, one));
    let ev = _mm512_mul_epi32(x, m);
    let od = _mm512_mul_epi32(_mm512_srli_epi64::<32>(x), _mm512_srli_epi64::<32>(m));
    (
        [_mm512_add_epi64(ev, h_ev), _mm512_add_epi64(od, h_od)],
        [s_ev, s_od],
    )
}

/// `clamp((x · m + 2^(s−1)) >> s, lo, hi)` for 16 i32 lanes, computed in i64: `m` and `s` per
/// lane (`s` in 1..=62), `lo` and `hi` as i64 lanes inside the i32 range. With `[lo, hi]` the
/// i32 range this is [`requantize`](crate::format::math::requantize); with the output clamp
/// minus the output zero point, the reference's `out_value` before adding that zero point
/// (clamping once in i64 equals its clamp to i32, saturating add and clamp to i8).
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) fn requantize16(
    x: __m512i,
    m: __m512i,
    s: __m512i,
    lo: __m512i,
    hi: __m512i,
) -> __m512i {
    let ([ev, od], [s_ev, s_od]) = rounded_products(x, m, s);
    let ev = _mm512_srav_epi64(ev, s_ev);
    let od = _mm512_srav_epi64(od, s_od);
    let ev = _mm512_min_epi64(_mm512_max_epi64(ev, lo), hi);
    let od = _mm512_min_epi64(_mm512_max_epi64(od, lo), hi);
    _mm512_mask_blend_epi32(0xAAAA, ev, _mm512_slli_epi64::<32>(od))
}

/// [`requantize16`] for lanes whose shifts are all at least 32 (a conv's usually are: its
/// scale is far below 1), with `lo` and `hi` as i32 lanes: the high half of each 64-bit
/// `x · m + 2^(s−1)` (its floor divided by 2^32, which always fits i32) shifted right by
/// `s − 32` in 32-bit lanes (floors compose), then clamped in 32-bit lanes. Same values;
/// no 64-bit shifts or clamps.
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) fn requantize16_hi(
    x: __m512i,
    m: __m512i,
    s: __m512i,
    lo: __m512i,
    hi: __m512i,
) -> __m512i {
    let ([ev, od], _) = rounded_products(x, m, s);
    let high = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64::<32>(ev), od);
    let r = _mm512_srav_epi32(high, _mm512_sub_epi32(s, _mm512_set1_epi32(32)));
    _mm512_min_epi32(_mm512_max_epi32(r, lo), hi)
}

/// [`requantize16`] without the clamp, for lanes whose result is known to fit i32.
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) fn requantize16_unclamped(x: __m512i, m: __m512i, s: __m512i) -> __m512i {
    let ([ev, od], [s_ev, s_od]) = rounded_products(x, m, s);
    let ev = _mm512_srav_epi64(ev, s_ev);
    let od = _mm512_srav_epi64(od, s_od);
    _mm512_mask_blend_epi32(0xAAAA, ev, _mm512_slli_epi64::<32>(od))
}
