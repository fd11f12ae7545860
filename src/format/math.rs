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
    let shift = shift.clamp(1, 62);
    let prod = acc as i64 * multiplier as i64;
    let r = (prod + (1i64 << (shift - 1))) >> shift;
    r.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}
