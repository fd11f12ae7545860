//! The integer math every kernel and the compiler share, available without `alloc`
//! (re-exported by `format::model`).

/// `round(acc * multiplier * 2^-shift)`, rounding half up, saturated to `i32`.
///
/// `((acc as i64) * (multiplier as i64) + (1 << (shift - 1))) >> shift`, arithmetic shift.
/// Integer only: this is the single definition every kernel and the compiler share.
/// `shift` belongs in `1..=62` (the plan parser rejects anything else); a stray value is
/// clamped into that range, so no argument panics (shift by 0 - 1 or by ≥ 64 would).
#[inline(always)]
pub fn requantize(acc: i32, multiplier: i32, shift: u8) -> i32 {
    Requantizer::new(multiplier, shift).apply(acc)
}

/// [`requantize`] with its multiplier and shift fixed: the half and the shift are worked
/// out once (in [`Requantizer::new`]) for a kernel that requantises many values of one
/// channel. Same values as [`requantize`], which is defined through it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requantizer {
    multiplier: i32,
    /// The shift, clamped into `1..=62`.
    shift: u32,
    /// `2^(shift - 1)`.
    half: i64,
}

impl Requantizer {
    /// `multiplier` and `shift` as for [`requantize`] (the shift clamped into `1..=62`).
    #[inline(always)]
    pub fn new(multiplier: i32, shift: u8) -> Self {
        let shift = u32::from(shift.clamp(1, 62));
        Self {
            multiplier,
            shift,
            half: 1i64 << (shift - 1),
        }
    }

    /// [`requantize`]`(acc, multiplier, shift)`.
    #[inline(always)]
    pub fn apply(self, acc: i32) -> i32 {
        let prod = acc as i64 * self.multiplier as i64;
        let sum = prod + self.half; // |prod| ≤ 2^62 and the half ≤ 2^61: no overflow
        if self.shift >= 32 {
            // The same value with one 32-bit shift (what 32-bit cores want): floors compose,
            // so `sum >> shift == (sum >> 32) >> (shift - 32)`, and |sum >> 32| < 2^31
            // already fits i32 (no clamp).
            return ((sum >> 32) as i32) >> (self.shift - 32);
        }
        (sum >> self.shift).clamp(i32::MIN as i64, i32::MAX as i64) as i32
    }
}

/// `t[v as u8] = requantize((v − zp) << 20, m, s)` for every int8 `v` (a residual Add's
/// input rescale table), and the least and greatest entry.
///
/// For `s ≥ 32` it steps the i64 sum `((v − zp) << 20) · m + 2^(s−1)` by `m << 20` from
/// `v = −128` (the products are linear in `v`, `|v − zp| ≤ 255`, so neither the shift nor
/// the sum overflows) and takes [`Requantizer::apply`]'s upper-word shift of each: the same
/// values as 256 calls of [`requantize`] (the tests compare them), one addition and one
/// shift an entry on a 32-bit core. The entries are monotonic in `v` (a floor of a linear
/// function), so the extremes are the first and last. Other shifts call [`requantize`].
pub fn rescale_table_into(t: &mut [i32; 256], zp: i8, m: i32, s: u8) -> (i32, i32) {
    let s = s.clamp(1, 62);
    let at = |v: i8| v as u8 as usize;
    if s < 32 {
        for v in i8::MIN..=i8::MAX {
            if let Some(e) = t.get_mut(at(v)) {
                *e = requantize((v as i32 - zp as i32) << 20, m, s);
            }
        }
    } else {
        let step = (m as i64) << 20;
        let mut sum = (-128 - zp as i32) as i64 * step + (1i64 << (s - 1));
        let sh = u32::from(s) - 32;
        // v = -128..=-1 at indices 128..=255, then 0..=127 at 0..=127
        let (low, high) = t.split_at_mut(128);
        for e in high.iter_mut() {
            *e = ((sum >> 32) as i32) >> sh;
            sum += step;
        }
        for e in low.iter_mut() {
            *e = ((sum >> 32) as i32) >> sh;
            sum += step;
        }
    }
    let (first, last) = (t[128], t[127]); // v = -128 and v = 127
    (first.min(last), first.max(last))
}

/// Largest `|acc|` [`FoldedRequant`] takes: a window's sum of at most 576 taps of
/// `|x − zp| ≤ 255` times `|w| ≤ 128` is below it.
pub const FOLDED_ACC_LIMIT: i32 = 1 << 25;

/// `requantize(acc + bias, m, s) + zp` as one 64-bit multiply-add and a shift, for the
/// 32-bit cores' GEMM (an `SMLAL` into a per-channel constant, then an `ASR` of the upper
/// word): `(acc·m + c) >> s` with `c = bias·m + 2^(s−1) + zp·2^s`.
///
/// Exact for `s` in `32..=53`, `|bias| < 2^31 − 2^25` and `|acc| <`
/// [`FOLDED_ACC_LIMIT`]: then `acc + bias` does not wrap, so
/// `(acc + bias)·m + 2^(s−1) + zp·2^s = acc·m + c`, which stays inside i64
/// (`2^56 + 2^62 + 2^52 + 2^60 < 2^63`); `⌊(v + zp·2^s) / 2^s⌋ = ⌊v / 2^s⌋ + zp`; and for
/// `s ≥ 32` the requantised value is below 2^31 in magnitude, so adding `zp` never
/// saturates. The tests check it at the rounding ties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoldedRequant {
    /// `bias·m + 2^(s−1) + zp·2^s`.
    pub c: i64,
    /// The multiplier.
    pub m: i32,
    /// The shift minus 32 (what the upper word is shifted by).
    pub sh: u32,
}

impl FoldedRequant {
    /// The folded form of a channel, `None` outside the range where it is exact.
    pub fn new(bias: i32, m: i32, s: u8, zp: i8) -> Option<Self> {
        if !(32..=53).contains(&s) || bias.unsigned_abs() >= (1 << 31) - (1 << 25) {
            return None;
        }
        let c = bias as i64 * m as i64 + (1i64 << (s - 1)) + ((zp as i64) << s);
        Some(Self {
            c,
            m,
            sh: u32::from(s) - 32,
        })
    }

    /// `requantize(acc + bias, m, s) + zp` for `|acc| <` [`FOLDED_ACC_LIMIT`], computed as
    /// the cores do: the upper word of `acc·m + c`, shifted right by `s − 32` (floors
    /// compose), as i32.
    pub fn apply(self, acc: i32) -> i32 {
        let hi = ((acc as i64 * self.m as i64 + self.c) >> 32) as i32;
        hi >> self.sh
    }
}

/// The output requantisation of a residual Add on 32-bit cores, `requantize(v, m, s) + zp`,
/// as an `SMMLA` (upper word of `v·m`, plus a constant) and an `ASR`:
/// `(⌊v·m / 2^32⌋ + c) >> (s − 32)` with `c = 2^(s−33) + zp·2^(s−32)`.
///
/// Exact for `s` in `33..=54` and every i32 `v`: `requantize(v, m, s) + zp` is
/// `⌊(v·m + 2^(s−1) + zp·2^s) / 2^s⌋` (no saturation for `s ≥ 32`), whose numerator is
/// `v·m + c·2^32` because `2^(s−1) + zp·2^s` has a zero low word for `s ≥ 33`; so its upper
/// word is `⌊v·m / 2^32⌋ + c` exactly, inside i32 (`|c| ≤ 2^21 + 2^29`, `|⌊v·m / 2^32⌋| ≤
/// 2^30`); floors compose. The tests check it at the rounding ties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddOutRequant {
    /// `2^(s−33) + zp·2^(s−32)`.
    pub c: i32,
    /// The multiplier.
    pub m: i32,
    /// The shift minus 32.
    pub sh: u32,
}

impl AddOutRequant {
    /// The folded form, `None` for a shift outside `33..=54`.
    pub fn new(m: i32, s: u8, zp: i8) -> Option<Self> {
        if !(33..=54).contains(&s) {
            return None;
        }
        Some(Self {
            c: (1i32 << (s - 33)) + ((zp as i32) << (s - 32)),
            m,
            sh: u32::from(s) - 32,
        })
    }

    /// `requantize(v, m, s) + zp`, computed as the cores do.
    pub fn apply(self, v: i32) -> i32 {
        let hi = ((v as i64 * self.m as i64) >> 32) as i32;
        hi.wrapping_add(self.c) >> self.sh
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests: a None or a bad index is a failure
mod tests {
    use super::{requantize, rescale_table_into};

    /// The stepped table is 256 calls of `requantize`, with the extremes it reports, for
    /// extreme and ordinary zero points, multipliers of both signs and magnitudes, and
    /// shifts on both sides of 32 (and out of range, clamped).
    #[test]
    fn rescale_table_is_requantize_of_every_byte() {
        let mut seed = 0x2545_f491u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut cases = vec![
            (-128i8, i32::MAX, 1u8),
            (127, i32::MIN, 62),
            (0, 1 << 30, 31),
            (0, 1 << 30, 32),
            (-1, -(1 << 30), 0),
            (5, 123_456_789, 70),
            (-128, i32::MIN, 32),
            (127, i32::MAX, 33),
        ];
        for _ in 0..400 {
            let s = (next() % 64) as u8;
            cases.push((next() as i8, next() as i32, s));
        }
        for (zp, m, s) in cases {
            let mut t = [0i32; 256];
            let (lo, hi) = rescale_table_into(&mut t, zp, m, s);
            for v in i8::MIN..=i8::MAX {
                let want = requantize((v as i32 - zp as i32) << 20, m, s);
                assert_eq!(t[v as u8 as usize], want, "zp {zp} m {m} s {s} v {v}");
            }
            assert_eq!(lo, *t.iter().min().unwrap(), "zp {zp} m {m} s {s}");
            assert_eq!(hi, *t.iter().max().unwrap(), "zp {zp} m {m} s {s}");
        }
    }

    /// The definition, in i128: `(acc·m + 2^(shift-1)) >> shift`, saturated to i32.
    fn exact(acc: i32, m: i32, shift: u8) -> i32 {
        let s = shift.clamp(1, 62);
        let r = (acc as i128 * m as i128 + (1i128 << (s - 1))) >> s;
        r.clamp(i32::MIN as i128, i32::MAX as i128) as i32
    }

    /// Both paths (`shift < 32` in i64, `shift ≥ 32` through the high word) against the
    /// definition: extreme and random operands, every shift, out-of-range shifts clamped.
    #[test]
    fn requantize_matches_the_definition_on_both_paths() {
        let edges = [
            i32::MIN,
            i32::MIN + 1,
            -65_536,
            -1,
            0,
            1,
            65_535,
            i32::MAX - 1,
            i32::MAX,
        ];
        let mut x = 0x2545_f491_u32;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as i32
        };
        for shift in 0..=70u8 {
            for &a in &edges {
                for &m in &edges {
                    assert_eq!(
                        requantize(a, m, shift),
                        exact(a, m, shift),
                        "{a} {m} {shift}"
                    );
                }
            }
            for _ in 0..2000 {
                let (a, m) = (next(), next());
                assert_eq!(
                    requantize(a, m, shift),
                    exact(a, m, shift),
                    "{a} {m} {shift}"
                );
            }
        }
    }

    /// A deterministic xorshift32 stream from `seed` (non-zero).
    fn xorshift(mut x: u32) -> impl FnMut() -> u32 {
        move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        }
    }

    /// `x` with `x·m ≡ t (mod 2^bits)` for odd `m` (the inverse by Newton's iteration).
    fn solve(m: i64, t: i64, bits: u32) -> i64 {
        let mut inv: i64 = 1;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2i64.wrapping_sub(m.wrapping_mul(inv)));
        }
        let mask = (1i64 << bits) - 1;
        t.wrapping_mul(inv) & mask
    }

    /// The values around each rounding tie of `requantize(·, m, s)`: `v` with
    /// `v·m ≡ 2^(s−1) + d (mod 2^s)`, `d` in `-1..=1`, as i64 residues (to be placed).
    fn ties(m: i32, s: u8) -> [i64; 3] {
        let m = (m | 1) as i64;
        [-1, 0, 1].map(|d| solve(m, (1i64 << (s - 1)) + d, u32::from(s)))
    }

    #[test]
    fn folded_gemm_requantisation_is_exact_at_the_ties() {
        let mut next = xorshift(0x2545_f491);
        let mut checked = 0;
        for _ in 0..4000 {
            let m = ((next() >> 1) | 0x4000_0000) as i32 | 1;
            // Half the time the smallest shifts, where most ties can be placed in i32.
            let s = 32 + (next() % if next().is_multiple_of(2) { 3 } else { 22 }) as u8;
            let zp = next() as i8;
            let acc = (next() % (2 * super::FOLDED_ACC_LIMIT as u32 - 1)) as i32
                - (super::FOLDED_ACC_LIMIT - 1);
            // A bias that puts `acc + bias` on (or next to) a tie, where it fits the range.
            for tie in ties(m, s) {
                let v = tie - (1i64 << s) * ((tie >> (s - 1)) & 1);
                let bias = v - acc as i64;
                let Ok(bias) = i32::try_from(bias) else {
                    continue;
                };
                let Some(f) = super::FoldedRequant::new(bias, m, s, zp) else {
                    continue;
                };
                let want = requantize(acc + bias, m, s) as i64 + zp as i64;
                assert_eq!(
                    f.apply(acc) as i64,
                    want,
                    "acc {acc} bias {bias} m {m} s {s}"
                );
                checked += 1;
            }
            // And a random bias.
            let bias = (next() % (1 << 30)) as i32 - (1 << 29);
            let f = super::FoldedRequant::new(bias, m, s, zp).unwrap();
            let want = requantize(acc + bias, m, s) as i64 + zp as i64;
            assert_eq!(f.apply(acc) as i64, want);
        }
        assert!(checked > 1000, "only {checked} ties placed");
        assert!(super::FoldedRequant::new(0, 1 << 30, 31, 0).is_none());
        assert!(super::FoldedRequant::new(i32::MAX, 1 << 30, 40, 0).is_none());
    }

    #[test]
    fn folded_add_requantisation_is_exact_at_the_ties() {
        let mut next = xorshift(0x9e37_79b9);
        let mut checked = 0;
        for _ in 0..4000 {
            let m = ((next() >> 1) | 0x4000_0000) as i32 | 1;
            let s = 33 + (next() % if next().is_multiple_of(2) { 3 } else { 22 }) as u8;
            let zp = next() as i8;
            let f = super::AddOutRequant::new(m, s, zp).unwrap();
            for tie in ties(m, s) {
                // The residue, or the residue minus 2^s, if either is an i32.
                for v in [tie, tie - (1i64 << s)] {
                    let Ok(v) = i32::try_from(v) else { continue };
                    let want = requantize(v, m, s) as i64 + zp as i64;
                    assert_eq!(f.apply(v) as i64, want, "v {v} m {m} s {s} zp {zp}");
                    checked += 1;
                }
            }
            let v = next() as i32;
            assert_eq!(f.apply(v) as i64, requantize(v, m, s) as i64 + zp as i64);
        }
        assert!(checked > 1000, "only {checked} ties placed");
        assert!(super::AddOutRequant::new(1 << 30, 32, 0).is_none());
        assert!(super::AddOutRequant::new(1 << 30, 55, 0).is_none());
    }
}
