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

#[cfg(test)]
mod tests {
    use super::requantize;

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
}
