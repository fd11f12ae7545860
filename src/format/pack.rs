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
}

impl PackKind {
    /// Every kind, in wire order.
    pub const ALL: [PackKind; 1] = [PackKind::X86Vnni];

    /// The kind for a wire byte, `None` if unknown.
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::X86Vnni),
            _ => None,
        }
    }

    /// The name the CLI takes and `inspect` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::X86Vnni => "x86-vnni",
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
    }
}

/// A [`PackKind::X86Vnni`] pack split into its blocks and its weight sums, if `bytes` is
/// exactly [`packed_len`] long for `oc` channels of `k` taps.
pub fn split_vnni(bytes: &[u8], oc: usize, k: usize) -> Option<(&[u8], &[u8])> {
    if packed_len(PackKind::X86Vnni, oc, k) != Some(bytes.len()) {
        return None;
    }
    bytes.split_at_checked(bytes.len() - 4 * oc)
}

/// Packs `weights` (`[oc][k]`, `oc · k` bytes) as `kind`; `None` if the length does not
/// match or overflows.
#[cfg(feature = "alloc")]
pub fn pack(kind: PackKind, weights: &[i8], oc: usize, k: usize) -> Option<alloc::vec::Vec<u8>> {
    if oc.checked_mul(k) != Some(weights.len()) || k == 0 {
        return None;
    }
    let len = packed_len(kind, oc, k)?;
    let mut out = alloc::vec![0u8; len];
    match kind {
        PackKind::X86Vnni => {
            let kp = k.next_multiple_of(4);
            let (blocks, sums) = out.split_at_mut(len - 4 * oc);
            for (o, (row, sum)) in weights
                .chunks_exact(k)
                .zip(sums.chunks_exact_mut(4))
                .enumerate()
            {
                let (b, j) = (o / VNNI_BLOCK, o % VNNI_BLOCK);
                let block = b * VNNI_BLOCK * kp;
                for (t, &w) in row.iter().enumerate() {
                    let at = block + ((t / 4) * VNNI_BLOCK + j) * 4 + t % 4;
                    if let Some(d) = blocks.get_mut(at) {
                        *d = w as u8;
                    }
                }
                let s: i32 = row.iter().map(|&w| i32::from(w)).sum();
                sum.copy_from_slice(&s.to_le_bytes());
            }
        }
    }
    Some(out)
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
    fn lengths_are_checked() {
        assert_eq!(packed_len(PackKind::X86Vnni, 1, 1), Some(32 * 4 + 4));
        assert_eq!(packed_len(PackKind::X86Vnni, usize::MAX, 4), None);
        assert!(pack(PackKind::X86Vnni, &[1, 2, 3], 2, 2).is_none());
        assert!(split_vnni(&[0; 10], 1, 1).is_none());
        assert_eq!(PackKind::from_name("x86-vnni"), Some(PackKind::X86Vnni));
        assert_eq!(PackKind::from_u8(0), None);
    }
}
