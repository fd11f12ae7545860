//! Independent oracles for the runtime tests: plain nested loops straight from the formulas
//! in `format::model`, sharing nothing with `kernels::reference` except `requantize` (the
//! contract's single definition). Plus a tiny seeded PRNG.
#![allow(dead_code, clippy::too_many_arguments)]

use edgecnn::format::model::requantize;

/// How many random cases a test runs: `n` natively, `n / 100` (at least 2) under Miri, which
/// interprets every instruction and runs thousands of times slower. Miri looks for undefined
/// behaviour, not for coverage: the native run keeps the full count.
pub const fn cases(n: usize) -> usize {
    if cfg!(miri) {
        if n / 100 < 2 {
            2
        } else {
            n / 100
        }
    } else {
        n
    }
}

/// xorshift32.
pub struct Rng(pub u32);

impl Rng {
    pub fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() as i64).rem_euclid(hi - lo + 1)
    }
    pub fn usize(&mut self, lo: usize, hi: usize) -> usize {
        self.range(lo as i64, hi as i64) as usize
    }
    pub fn i8s(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.next() as i8).collect()
    }
    pub fn i8(&mut self) -> i8 {
        self.next() as i8
    }
    /// A multiplier in `[2^30, 2^31)`.
    pub fn mult(&mut self) -> i32 {
        self.range(1 << 30, (1i64 << 31) - 1) as i32
    }
}

pub fn le_i32(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn le_u32(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn fin(acc: i64, m: i32, s: u8, zp: i8, lo: i8, hi: i8) -> i8 {
    let acc = acc.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    let v = requantize(acc, m, s) as i64 + zp as i64;
    v.clamp(lo as i64, hi as i64) as i8
}

/// Conv: x `[ih][iw][ic]`, w `[oc][kh][kw][ic/g]`.
pub fn conv(
    x: &[i8],
    [ih, iw, ic]: [usize; 3],
    xzp: i8,
    [oh, ow, oc]: [usize; 3],
    yzp: i8,
    k: [usize; 2],
    s: [usize; 2],
    d: [usize; 2],
    p: [usize; 2],
    g: usize,
    w: &[i8],
    bias: &[i32],
    m: &[i32],
    sh: &[u8],
    lo: i8,
    hi: i8,
) -> Vec<i8> {
    let (icg, ocg) = (ic / g, oc / g);
    let mut y = vec![0i8; oh * ow * oc];
    for oy in 0..oh {
        for ox in 0..ow {
            for o in 0..oc {
                let gi = o / ocg;
                let mut acc = bias[o] as i64;
                for ky in 0..k[0] {
                    for kx in 0..k[1] {
                        let iy = (oy * s[0] + ky * d[0]) as i64 - p[0] as i64;
                        let ix = (ox * s[1] + kx * d[1]) as i64 - p[1] as i64;
                        if iy < 0 || ix < 0 || iy >= ih as i64 || ix >= iw as i64 {
                            continue;
                        }
                        for c in 0..icg {
                            let xv = x[(iy as usize * iw + ix as usize) * ic + gi * icg + c] as i64;
                            let wv = w[((o * k[0] + ky) * k[1] + kx) * icg + c] as i64;
                            acc += wv * (xv - xzp as i64);
                        }
                    }
                }
                let j = if m.len() == 1 { 0 } else { o };
                y[(oy * ow + ox) * oc + o] = fin(acc, m[j], sh[j], yzp, lo, hi);
            }
        }
    }
    y
}

pub fn fc(
    x: &[i8],
    xzp: i8,
    n_out: usize,
    yzp: i8,
    w: &[i8],
    bias: &[i32],
    m: &[i32],
    sh: &[u8],
    lo: i8,
    hi: i8,
) -> Vec<i8> {
    (0..n_out)
        .map(|o| {
            let acc = bias[o] as i64
                + x.iter()
                    .enumerate()
                    .map(|(i, &v)| w[o * x.len() + i] as i64 * (v as i64 - xzp as i64))
                    .sum::<i64>();
            let j = if m.len() == 1 { 0 } else { o };
            fin(acc, m[j], sh[j], yzp, lo, hi)
        })
        .collect()
}

pub fn max_pool(
    x: &[i8],
    [ih, iw, c]: [usize; 3],
    [oh, ow]: [usize; 2],
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
    lo: i8,
    hi: i8,
) -> Vec<i8> {
    let mut y = vec![0i8; oh * ow * c];
    for oy in 0..oh {
        for ox in 0..ow {
            for ch in 0..c {
                let mut best = i8::MIN;
                for ky in 0..k[0] {
                    for kx in 0..k[1] {
                        let iy = (oy * s[0] + ky) as i64 - p[0] as i64;
                        let ix = (ox * s[1] + kx) as i64 - p[1] as i64;
                        if (0..ih as i64).contains(&iy) && (0..iw as i64).contains(&ix) {
                            best = best.max(x[(iy as usize * iw + ix as usize) * c + ch]);
                        }
                    }
                }
                y[(oy * ow + ox) * c + ch] = best.clamp(lo, hi);
            }
        }
    }
    y
}

pub fn avg_pool(
    x: &[i8],
    [ih, iw, c]: [usize; 3],
    zp: i8,
    [oh, ow]: [usize; 2],
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
    pe: [usize; 2],
    include_pad: bool,
    lo: i8,
    hi: i8,
) -> Vec<i8> {
    let mut y = vec![0i8; oh * ow * c];
    for oy in 0..oh {
        for ox in 0..ow {
            for ch in 0..c {
                let (mut sum, mut n) = (0i64, 0i64);
                for ky in 0..k[0] {
                    for kx in 0..k[1] {
                        let iy = (oy * s[0] + ky) as i64 - p[0] as i64;
                        let ix = (ox * s[1] + kx) as i64 - p[1] as i64;
                        let inside = (0..ih as i64).contains(&iy) && (0..iw as i64).contains(&ix);
                        let in_padded = (-(p[0] as i64)..(ih + pe[0]) as i64).contains(&iy)
                            && (-(p[1] as i64)..(iw + pe[1]) as i64).contains(&ix);
                        if inside {
                            sum += x[(iy as usize * iw + ix as usize) * c + ch] as i64 - zp as i64;
                        }
                        if (include_pad && in_padded) || (!include_pad && inside) {
                            n += 1;
                        }
                    }
                }
                // Round half away from zero via f64 (exact for these magnitudes).
                let q = if n == 0 {
                    0
                } else {
                    (sum as f64 / n as f64).round() as i64
                };
                y[(oy * ow + ox) * c + ch] = (zp as i64 + q).clamp(lo as i64, hi as i64) as i8;
            }
        }
    }
    y
}

pub fn add(
    a: &[i8],
    azp: i8,
    b: &[i8],
    bzp: i8,
    yzp: i8,
    r: [(i32, u8); 3],
    lo: i8,
    hi: i8,
) -> Vec<i8> {
    a.iter()
        .zip(b)
        .map(|(&av, &bv)| {
            let a1 = requantize((av as i32 - azp as i32) * (1 << 20), r[0].0, r[0].1) as i64;
            let b1 = requantize((bv as i32 - bzp as i32) * (1 << 20), r[1].0, r[1].1) as i64;
            fin(a1 + b1, r[2].0, r[2].1, yzp, lo, hi)
        })
        .collect()
}

pub fn lrn(x: &[i8], c: usize, xzp: i8, yzp: i8, size: usize, lut: &[i32], shift: u8) -> Vec<i8> {
    let mut y = vec![0i8; x.len()];
    for (px, out) in x.chunks(c).zip(y.chunks_mut(c)) {
        for ch in 0..c {
            let lo = ch as i64 - ((size as i64 - 1) / 2);
            let hi = ch as i64 + size as i64 / 2;
            let mut ss = 0u64;
            for j in lo.max(0)..=hi.min(c as i64 - 1) {
                let d = px[j as usize] as i64 - xzp as i64;
                ss += (d * d) as u64;
            }
            let bucket = if ss < 64 {
                ss as usize
            } else {
                let mut e = 0;
                while (ss >> (e + 1)) != 0 {
                    e += 1;
                }
                64 + (e - 6) * 32 + ((ss >> (e - 5)) & 31) as usize
            };
            let f = lut[bucket.min(lut.len() - 1)] as i64;
            let d = px[ch] as i64 - xzp as i64;
            let v = (d * f + (1i64 << (shift - 1))) >> shift;
            out[ch] = (v + yzp as i64).clamp(-128, 127) as i8;
        }
    }
    y
}

pub fn softmax(x: &[i8], c: usize, lut: &[u32; 256]) -> Vec<i8> {
    let mut y = vec![0i8; x.len()];
    for (px, out) in x.chunks(c).zip(y.chunks_mut(c)) {
        let mx = *px.iter().max().unwrap();
        let s: u64 = px
            .iter()
            .map(|&v| lut[(mx as i32 - v as i32) as usize] as u64)
            .sum();
        for (o, &v) in out.iter_mut().zip(px) {
            let e = lut[(mx as i32 - v as i32) as usize] as u64;
            *o = (((e * 512 + s) / (2 * s)) as i64 - 128).clamp(-128, 127) as i8;
        }
    }
    y
}

pub fn requant(x: &[i8], xzp: i8, yzp: i8, m: i32, s: u8, lo: i8, hi: i8) -> Vec<i8> {
    x.iter()
        .map(|&v| fin(v as i64 - xzp as i64, m, s, yzp, lo, hi))
        .collect()
}

/// Channel concat of NHWC tensors with equal h, w.
pub fn concat(parts: &[(&[i8], usize)], hw: usize) -> Vec<i8> {
    let mut y = Vec::new();
    for p in 0..hw {
        for (x, c) in parts {
            y.extend_from_slice(&x[p * c..(p + 1) * c]);
        }
    }
    y
}

/// A softmax table for an input scale: `round(exp(-d * s) * 2^20)`.
pub fn exp_lut(s_in: f64) -> [u32; 256] {
    core::array::from_fn(|d| ((-(d as f64) * s_in).exp() * (1u64 << 20) as f64).round() as u32)
}
