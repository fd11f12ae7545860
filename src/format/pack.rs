//! Weights packed at compile time for one kernel, so that the device does no repacking.
//!
//! A conv's weights are stored `[oc][kh][kw][ic / groups]`, the layout every kernel can read
//! and the one [`crate::kernels::reference`] defines the bytes with. A fast kernel wants
//! them in another order; without a pack it reorders them on every call (on x86-64 the
//! VNNI GEMM spent about 9 % of ResNet-18's time so). A plan of wire version 4 may carry,
//! for a dense conv, its weights once more in a kernel's order: a *pack* of some
//! [`PackKind`]. The canonical weights stay in the plan, so a plan runs on every target
//! and every kernel path, and gives the same bytes whichever it takes; a kernel that finds
//! a pack of its kind reads it in place instead of repacking.
//!
//! # Wire
//!
//! Header bytes 72..80 (reserved and zero before version 4) hold the pack table's
//! `(offset u32, count u32)`. Each 16-byte record ([`wire::pack`](super::wire::pack)):
//!
//! ```text
//! 0 step u16   2 kind u8   3 zero u8   4 zero u32   8 ref (offset u32, len u32) to the bytes
//! ```
//!
//! Records are sorted by `(step, kind)`, strictly ascending (at most one pack per kind and
//! step). The parser checks that each names a dense conv (`groups == 1`) and is exactly
//! [`packed_len`] bytes long for it.
//!
//! # Kinds
//!
//! * [`PackKind::X86Vnni`]: for the AVX-512 VNNI GEMM. With `k = kh · kw · ic` taps per
//!   output channel, `kp = k` rounded up to a multiple of 4, and `oc` output channels in
//!   blocks of 32: first the blocks, `blocks[b][g][j][t] = w[32b + j][4g + t]` as `i8`
//!   (block `b < ⌈oc / 32⌉`, group `g < kp / 4`, channel `j < 32`, tap `t < 4`; 0 past
//!   `k` taps or `oc` channels), `⌈oc / 32⌉ · 32 · kp` bytes; then each channel's weight sum
//!   `Σ_t w[o][t]` as `i32` little-endian, `4 · oc` bytes.
//!
//! * [`PackKind::CortexMDsp`]: for the Cortex-M DSP GEMM (`SMLAD` on i16 pairs, 2 pixels ×
//!   2 channels). With `kg = ⌈k / 4⌉` groups of 4 taps and the output channels in pairs:
//!   first the pairs, `pairs[p][g][c][h]` a little-endian word holding two i16, `(lo, hi) =
//!   (w[2p + c][4g + h], w[2p + c][4g + h + 2])` (pair `p < ⌈oc / 2⌉`, group `g < kg`,
//!   channel `c < 2`, half `h < 2`; 0 past `k` taps or `oc` channels): the order in which
//!   `SXTB16` and `SXTB16 ROR #8` split a word of 4 input bytes, `16 · ⌈oc / 2⌉ · kg`
//!   bytes; then each channel's weight sum as `i32` little-endian, `4 · oc` bytes (the
//!   kernel folds `−zp · Σ w` into the bias instead of subtracting the zero point from
//!   every input).
//!
//! Everything here is total: lengths are `None` on overflow, and nothing panics.

/// Channels per block of a [`PackKind::X86Vnni`] pack.
pub const VNNI_BLOCK: usize = 32;

/// The kernel layout a pack holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum PackKind {
    /// `[32-channel block][tap / 4][32][4]` plus per-channel weight sums, for the x86-64
    /// AVX-512 VNNI GEMM (see the [module docs](self)).
    X86Vnni = 1,
    /// `[channel pair][tap / 4][2][2]` i16 words plus per-channel weight sums, for the
    /// Cortex-M DSP GEMM (see the [module docs](self)).
    CortexMDsp = 2,
}

impl PackKind {
    /// Every kind, in wire order.
    pub const ALL: [PackKind; 2] = [PackKind::X86Vnni, PackKind::CortexMDsp];

    /// The kind for a wire byte, `None` if unknown.
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::X86Vnni),
            2 => Some(Self::CortexMDsp),
            _ => None,
        }
    }

    /// The name the CLI takes and `inspect` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::X86Vnni => "x86-vnni",
            Self::CortexMDsp => "cortex-m-dsp",
        }
    }

    /// The kind of a [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Bytes of a pack of `kind` for a dense conv of `oc` output channels and `k` taps per
/// output channel (`kh · kw · ic`); `None` on overflow.
pub fn packed_len(kind: PackKind, oc: usize, k: usize) -> Option<usize> {
    match kind {
        PackKind::X86Vnni => {
            let kp = k.checked_next_multiple_of(4)?;
            let blocks = oc.div_ceil(VNNI_BLOCK).checked_mul(VNNI_BLOCK)?;
            blocks.checked_mul(kp)?.checked_add(oc.checked_mul(4)?)
        }
        PackKind::CortexMDsp => {
            let groups = k.div_ceil(4);
            let pairs = oc.div_ceil(2);
            pairs
                .checked_mul(groups)?
                .checked_mul(16)?
                .checked_add(oc.checked_mul(4)?)
        }
    }
}

/// A [`PackKind::X86Vnni`] pack split into its blocks and its weight sums, if `bytes` is
/// exactly [`packed_len`] long for `oc` channels of `k` taps.
pub fn split_vnni(bytes: &[u8], oc: usize, k: usize) -> Option<(&[u8], &[u8])> {
    split(PackKind::X86Vnni, bytes, oc, k)
}

/// A pack of `kind` split into its weights and its `4 · oc` bytes of weight sums (every
/// kind ends with them), if `bytes` is exactly [`packed_len`] long for `oc` channels of
/// `k` taps.
pub fn split(kind: PackKind, bytes: &[u8], oc: usize, k: usize) -> Option<(&[u8], &[u8])> {
    if packed_len(kind, oc, k) != Some(bytes.len()) {
        return None;
    }
    bytes.split_at_checked(bytes.len() - 4 * oc)
}

/// Packs `weights` (`[oc][k]`, `oc · k` bytes) as `kind`; `None` if the length does not
/// match or overflows.
#[cfg(feature = "alloc")]
pub fn pack(kind: PackKind, weights: &[i8], oc: usize, k: usize) -> Option<alloc::vec::Vec<u8>> {
    let mut out = alloc::vec![0u8; packed_len(kind, oc, k)?];
    pack_into(kind, weights, oc, k, &mut out)?;
    Some(out)
}

/// [`pack`] into `out` without allocating (for firmware that packs at run time, such as
/// the boards' on-core kernel check): `out` must be exactly [`packed_len`] bytes; `None`
/// (and `out` unspecified) if it is not, or if `weights` is not `oc · k` bytes, or `k == 0`.
pub fn pack_into(
    kind: PackKind,
    weights: &[i8],
    oc: usize,
    k: usize,
    out: &mut [u8],
) -> Option<()> {
    if oc.checked_mul(k) != Some(weights.len()) || k == 0 {
        return None;
    }
    let len = packed_len(kind, oc, k)?;
    if out.len() != len {
        return None;
    }
    out.fill(0);
    let (packed, sums) = out.split_at_mut(len - 4 * oc);
    for (row, sum) in weights.chunks_exact(k).zip(sums.chunks_exact_mut(4)) {
        let s: i32 = row.iter().map(|&w| i32::from(w)).sum();
        sum.copy_from_slice(&s.to_le_bytes());
    }
    match kind {
        PackKind::X86Vnni => {
            let kp = k.next_multiple_of(4);
            for (o, row) in weights.chunks_exact(k).enumerate() {
                let (b, j) = (o / VNNI_BLOCK, o % VNNI_BLOCK);
                let block = b * VNNI_BLOCK * kp;
                for (t, &w) in row.iter().enumerate() {
                    let at = block + ((t / 4) * VNNI_BLOCK + j) * 4 + t % 4;
                    if let Some(d) = packed.get_mut(at) {
                        *d = w as u8;
                    }
                }
            }
        }
        PackKind::CortexMDsp => {
            let groups = k.div_ceil(4);
            for (o, row) in weights.chunks_exact(k).enumerate() {
                let (p, c) = (o / 2, o % 2);
                for (t, &w) in row.iter().enumerate() {
                    let (g, i) = (t / 4, t % 4);
                    // tap i of a group: half i % 2 of the word, lane i / 2 (taps 0, 2 in
                    // word 0; 1, 3 in word 1)
                    let word = ((p * groups + g) * 2 + c) * 2 + i % 2;
                    let at = 4 * word + 2 * (i / 2);
                    if let Some(d) = packed.get_mut(at..at + 2) {
                        d.copy_from_slice(&i16::from(w).to_le_bytes());
                    }
                }
            }
        }
    }
    Some(())
}

#[cfg(all(test, feature = "alloc"))]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests: a None is a failure
mod tests {
    use super::*;

    #[test]
    fn vnni_pack_places_every_weight_and_sums_each_channel() {
        // 33 channels (two blocks, the second with one row), 5 taps (2 groups, 3 padded).
        let (oc, k) = (33, 5);
        let w: alloc::vec::Vec<i8> = (0..oc * k)
            .map(|i| (i as i32 * 7 % 251 - 125) as i8)
            .collect();
        let p = pack(PackKind::X86Vnni, &w, oc, k).unwrap();
        assert_eq!(p.len(), 64 * 8 + 4 * oc);
        let (blocks, sums) = split_vnni(&p, oc, k).unwrap();
        let kp = 8;
        for o in 0..64 {
            for t in 0..kp {
                let at = (o / 32) * 32 * kp + ((t / 4) * 32 + o % 32) * 4 + t % 4;
                let want = if o < oc && t < k { w[o * k + t] } else { 0 };
                assert_eq!(blocks[at] as i8, want, "channel {o} tap {t}");
            }
        }
        for o in 0..oc {
            let s = i32::from_le_bytes(sums[4 * o..4 * o + 4].try_into().unwrap());
            assert_eq!(
                s,
                w[o * k..(o + 1) * k].iter().map(|&v| v as i32).sum::<i32>()
            );
        }
    }

    #[test]
    fn cortex_m_pack_places_every_weight_as_i16_in_sxtb16_order_and_sums_each_channel() {
        // 3 channels (two pairs, the second with one channel), 6 taps (2 groups, 2 padded).
        let (oc, k) = (3, 6);
        let w: alloc::vec::Vec<i8> = (0..oc * k)
            .map(|i| (i as i32 * 37 % 256 - 128) as i8)
            .collect();
        let p = pack(PackKind::CortexMDsp, &w, oc, k).unwrap();
        let (pairs, sums) = split(PackKind::CortexMDsp, &p, oc, k).unwrap();
        assert_eq!(pairs.len(), 2 * 2 * 16);
        let half = |at: usize| i16::from_le_bytes([pairs[at], pairs[at + 1]]);
        for o in 0..4 {
            for t in 0..8 {
                let (pr, c, g, i) = (o / 2, o % 2, t / 4, t % 4);
                let word = ((pr * 2 + g) * 2 + c) * 2 + i % 2;
                let want = if o < oc && t < k { w[o * k + t] } else { 0 };
                assert_eq!(half(4 * word + 2 * (i / 2)), i16::from(want), "{o} {t}");
            }
        }
        for o in 0..oc {
            let s = i32::from_le_bytes(sums[4 * o..4 * o + 4].try_into().unwrap());
            assert_eq!(
                s,
                w[o * k..(o + 1) * k].iter().map(|&v| v as i32).sum::<i32>()
            );
        }
        // A dot product over the pack, pairing words as SMLAD does, is the plain one.
        let x: alloc::vec::Vec<i8> = (0..8).map(|i| (i * 45 - 100) as i8).collect();
        for o in 0..oc {
            let (pr, c) = (o / 2, o % 2);
            let mut acc = 0i32;
            for g in 0..2 {
                let xw = |i: usize| i32::from(x[4 * g + i]);
                let word = |h: usize| ((pr * 2 + g) * 2 + c) * 2 + h;
                let lo = |h: usize| i32::from(half(4 * word(h)));
                let hi = |h: usize| i32::from(half(4 * word(h) + 2));
                // SXTB16: (x0, x2); SXTB16 ROR 8: (x1, x3)
                acc += xw(0) * lo(0) + xw(2) * hi(0) + xw(1) * lo(1) + xw(3) * hi(1);
            }
            let want: i32 = (0..k)
                .map(|t| i32::from(x[t]) * i32::from(w[o * k + t]))
                .sum();
            assert_eq!(acc, want);
        }
    }

    #[test]
    fn lengths_are_checked() {
        assert_eq!(packed_len(PackKind::X86Vnni, 1, 1), Some(32 * 4 + 4));
        assert_eq!(packed_len(PackKind::X86Vnni, usize::MAX, 4), None);
        assert!(pack(PackKind::X86Vnni, &[1, 2, 3], 2, 2).is_none());
        assert!(split_vnni(&[0; 10], 1, 1).is_none());
        assert_eq!(PackKind::from_name("x86-vnni"), Some(PackKind::X86Vnni));
        assert_eq!(PackKind::from_u8(0), None);
        assert_eq!(
            packed_len(PackKind::CortexMDsp, 3, 5),
            Some(2 * 2 * 16 + 12)
        );
        assert_eq!(
            PackKind::from_name("cortex-m-dsp"),
            Some(PackKind::CortexMDsp)
        );
        let mut small = [0u8; 10];
        assert!(pack_into(PackKind::CortexMDsp, &[1; 5], 1, 5, &mut small).is_none());
    }
}
