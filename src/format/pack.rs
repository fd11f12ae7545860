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
//!   2 channels), read as one stream. With `kg = ⌈k / 4⌉` groups of 4 taps and the output
//!   channels in pairs (pair `p < ⌈oc / 2⌉` holds channels `2p` and `2p + 1`; a missing
//!   last channel is all zeros), each pair is `32 + 16 · kg` bytes, all words little-endian:
//!   - the groups, `g < kg`, each 4 words `[c][h]` (channel `c < 2`, half `h < 2`) of two
//!     i16, `(lo, hi) = (w_c[4g + h], w_c[4g + h + 2])` (0 past `k` taps): the order in
//!     which `SXTB16` and `SXTB16 ROR #8` split a word of 4 input bytes; with, between group
//!     0 and group 1 (so that one `LDM` loads both with the first weights), the two
//!     channels' sums' starting values `b_c = bias_c − zp_in · Σ_t w_c[t]` as `i32`
//!     (wrapping): the kernel sums raw inputs, `Σ w · x`, and this makes them the
//!     reference's sums plus the bias, the zero point's share included;
//!   - then per channel `(m, c, sh)` as 3 words, the output requantisation as one `SMMLA`
//!     and one `ASR` ([`AddOutRequant`](super::math::AddOutRequant): `c = 2^(s−33) +
//!     zp_out · 2^(s−32)`, `sh = s − 32`), or three zeros when the channel's shift `s` is
//!     outside `33..=54` (the kernel then requantises those convs in plain code).
//!
//! Everything here is total: lengths are `None` on overflow, and nothing panics.

use super::math::AddOutRequant;

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
    /// Per channel pair: the sums' starting values, `[tap / 4][2][2]` i16 words and the
    /// requantisation constants, for the Cortex-M DSP GEMM (see the [module docs](self)).
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
        PackKind::CortexMDsp => oc.div_ceil(2).checked_mul(dsp_pair_bytes(k)?),
    }
}

/// Where group `g` of a [`PackKind::CortexMDsp`] channel pair starts: group 0 at 0, the
/// pair's starting values at 16, the other groups from 24 on.
fn dsp_group_at(g: usize) -> usize {
    if g == 0 {
        0
    } else {
        8 + 16 * g
    }
}

/// Bytes of one channel pair of a [`PackKind::CortexMDsp`] pack for `k` taps per channel.
pub fn dsp_pair_bytes(k: usize) -> Option<usize> {
    k.div_ceil(4).checked_mul(16)?.checked_add(32)
}

/// What a [`PackKind::CortexMDsp`] pack folds in besides the weights: the conv's bias and
/// requantisation (one multiplier and shift for all channels, or one per channel) and its
/// input's and output's zero points. [`PackKind::X86Vnni`] ignores it.
#[derive(Clone, Copy, Debug, Default)]
pub struct PackQuant<'a> {
    /// Bias per output channel (missing entries are 0).
    pub bias: &'a [i32],
    /// Q31 multipliers: one, or one per output channel.
    pub multiplier: &'a [i32],
    /// Right shifts, as many as `multiplier` (clamped into `1..=62`, as the kernels do).
    pub shift: &'a [u8],
    /// The input's zero point.
    pub input_zero_point: i8,
    /// The output's zero point.
    pub output_zero_point: i8,
}

impl PackQuant<'_> {
    /// Channel `o`'s bias, multiplier and shift (the kernels' [`Rescale::at`] rule).
    ///
    /// [`Rescale::at`]: crate::kernels::Rescale::at
    fn at(&self, o: usize) -> (i32, i32, u8) {
        let i = if self.multiplier.len() == 1 { 0 } else { o };
        let m = self.multiplier.get(i).copied().unwrap_or(0);
        let s = self.shift.get(i).copied().unwrap_or(1).clamp(1, 62);
        (self.bias.get(o).copied().unwrap_or(0), m, s)
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

/// Packs `weights` (`[oc][k]`, `oc · k` bytes) as `kind`, with `quant` for the kinds that
/// fold it in; `None` if the length does not match or overflows.
#[cfg(feature = "alloc")]
pub fn pack(
    kind: PackKind,
    weights: &[i8],
    oc: usize,
    k: usize,
    quant: &PackQuant<'_>,
) -> Option<alloc::vec::Vec<u8>> {
    let mut out = alloc::vec![0u8; packed_len(kind, oc, k)?];
    pack_into(kind, weights, oc, k, quant, &mut out)?;
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
    quant: &PackQuant<'_>,
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
    let put = |d: &mut [u8], at: usize, v: u32| {
        if let Some(d) = d.get_mut(at..at + 4) {
            d.copy_from_slice(&v.to_le_bytes());
        }
    };
    match kind {
        PackKind::X86Vnni => {
            let kp = k.next_multiple_of(4);
            let (blocks, sums) = out.split_at_mut(len - 4 * oc);
            for (o, row) in weights.chunks_exact(k).enumerate() {
                let (b, j) = (o / VNNI_BLOCK, o % VNNI_BLOCK);
                let block = b * VNNI_BLOCK * kp;
                for (t, &w) in row.iter().enumerate() {
                    let at = block + ((t / 4) * VNNI_BLOCK + j) * 4 + t % 4;
                    if let Some(d) = blocks.get_mut(at) {
                        *d = w as u8;
                    }
                }
                let s: i32 = row.iter().map(|&w| i32::from(w)).sum();
                put(sums, 4 * o, s as u32);
            }
        }
        PackKind::CortexMDsp => {
            let groups = k.div_ceil(4);
            let pair = dsp_pair_bytes(k)?;
            let zp = i32::from(quant.input_zero_point);
            for (o, row) in weights.chunks_exact(k).enumerate() {
                let (base, c) = ((o / 2) * pair, o % 2);
                let (bias, m, s) = quant.at(o);
                let sum: i32 = row.iter().map(|&w| i32::from(w)).sum();
                let start = bias.wrapping_sub(zp.wrapping_mul(sum));
                put(out, base + 16 + 4 * c, start as u32);
                for (t, &w) in row.iter().enumerate() {
                    let (g, i) = (t / 4, t % 4);
                    // tap i of a group: half i % 2 of the word, lane i / 2 (taps 0, 2 in
                    // word 0; 1, 3 in word 1); group 0 first, then the starting values
                    let at = base + dsp_group_at(g) + 8 * c + 4 * (i % 2) + 2 * (i / 2);
                    if let Some(d) = out.get_mut(at..at + 2) {
                        d.copy_from_slice(&i16::from(w).to_le_bytes());
                    }
                }
                if let Some(f) = AddOutRequant::new(m, s, quant.output_zero_point) {
                    let at = base + 8 + 16 * groups + 12 * c;
                    put(out, at, f.m as u32);
                    put(out, at + 4, f.c as u32);
                    put(out, at + 8, f.sh);
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
    use crate::format::math::requantize;

    const NO_QUANT: PackQuant<'static> = PackQuant {
        bias: &[],
        multiplier: &[],
        shift: &[],
        input_zero_point: 0,
        output_zero_point: 0,
    };

    #[test]
    fn vnni_pack_places_every_weight_and_sums_each_channel() {
        // 33 channels (two blocks, the second with one row), 5 taps (2 groups, 3 padded).
        let (oc, k) = (33, 5);
        let w: alloc::vec::Vec<i8> = (0..oc * k)
            .map(|i| (i as i32 * 7 % 251 - 125) as i8)
            .collect();
        let p = pack(PackKind::X86Vnni, &w, oc, k, &NO_QUANT).unwrap();
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

    /// Word `i` of `b` (little-endian).
    fn word(b: &[u8], i: usize) -> i32 {
        i32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap())
    }

    /// The kernel's arithmetic on the pack, in plain code: sums started at the pair's
    /// first words, raw inputs paired as `SXTB16` pairs them, one `SMMLA` and one `ASR`;
    /// it gives the reference's `requantize(Σ w·(x − zp) + bias, m, s) + zp_out` for every
    /// channel, the zero point and the bias folded in by the pack.
    #[test]
    fn cortex_m_pack_is_the_kernels_stream_and_gives_the_references_outputs() {
        // 3 channels (two pairs, the second with one channel), 6 taps (2 groups, 2 padded).
        let (oc, k, groups) = (3, 6, 2);
        let w: alloc::vec::Vec<i8> = (0..oc * k)
            .map(|i| (i as i32 * 37 % 256 - 128) as i8)
            .collect();
        let bias = [70_000, -1_234_567, i32::MAX - 5];
        let (mult, shift) = ([0x4000_0123, 0x7fff_ffff, 0x5555_5555], [40u8, 33, 31]);
        let q = PackQuant {
            bias: &bias,
            multiplier: &mult,
            shift: &shift,
            input_zero_point: -100,
            output_zero_point: 7,
        };
        let p = pack(PackKind::CortexMDsp, &w, oc, k, &q).unwrap();
        let pair = dsp_pair_bytes(k).unwrap();
        assert_eq!((pair, p.len()), (64, 2 * 64));
        let x: alloc::vec::Vec<i8> = (0..8).map(|i| (i * 45 - 100) as i8).collect();
        for o in 0..4 {
            let (pr, c) = (&p[(o / 2) * pair..(o / 2 + 1) * pair], o % 2);
            let half = |at: usize| i32::from(i16::from_le_bytes([pr[at], pr[at + 1]]));
            let group = dsp_group_at;
            for t in 0..4 * groups {
                let at = group(t / 4) + 8 * c + 4 * (t % 2) + 2 * (t % 4 / 2);
                let want = if o < oc && t < k { w[o * k + t] } else { 0 };
                assert_eq!(half(at), i32::from(want), "channel {o} tap {t}");
            }
            if o >= oc {
                // the missing channel: no starting value, no constants
                let rec = 8 + 16 * groups + 12 * c;
                assert!(pr[16 + 4 * c..20 + 4 * c].iter().all(|&b| b == 0));
                assert!(pr[rec..rec + 12].iter().all(|&b| b == 0));
                continue;
            }
            let mut acc = word(pr, 4 + c);
            for g in 0..groups {
                let xw = |i: usize| i32::from(x[4 * g + i]);
                let w0 = |h: usize| half(group(g) + 8 * c + 4 * h);
                let w1 = |h: usize| half(group(g) + 8 * c + 4 * h + 2);
                // SXTB16: (x0, x2); SXTB16 ROR 8: (x1, x3)
                acc =
                    acc.wrapping_add(xw(0) * w0(0) + xw(2) * w1(0) + xw(1) * w0(1) + xw(3) * w1(1));
            }
            let reference: i32 = (0..k)
                .map(|t| (i32::from(x[t]) + 100) * i32::from(w[o * k + t]))
                .sum();
            assert_eq!(acc, reference.wrapping_add(bias[o]), "channel {o}");
            let rec = 8 + 16 * groups + 12 * c;
            let (m, cst, sh) = (
                word(pr, rec / 4),
                word(pr, rec / 4 + 1),
                word(pr, rec / 4 + 2),
            );
            if !(33..=54).contains(&shift[o]) {
                assert_eq!((m, cst, sh), (0, 0, 0), "channel {o}: no fast form");
                continue;
            }
            let hi = ((i64::from(acc) * i64::from(m)) >> 32) as i32;
            let got = (hi + cst) >> sh;
            assert_eq!(got, requantize(acc, mult[o], shift[o]) + 7, "channel {o}");
        }
    }

    #[test]
    fn lengths_are_checked() {
        assert_eq!(packed_len(PackKind::X86Vnni, 1, 1), Some(32 * 4 + 4));
        assert_eq!(packed_len(PackKind::X86Vnni, usize::MAX, 4), None);
        assert!(pack(PackKind::X86Vnni, &[1, 2, 3], 2, 2, &NO_QUANT).is_none());
        assert!(split_vnni(&[0; 10], 1, 1).is_none());
        assert_eq!(PackKind::from_name("x86-vnni"), Some(PackKind::X86Vnni));
        assert_eq!(PackKind::from_u8(0), None);
        assert_eq!(
            packed_len(PackKind::CortexMDsp, 3, 5),
            Some(2 * (32 + 2 * 16))
        );
        assert_eq!(packed_len(PackKind::CortexMDsp, usize::MAX, 4), None);
        assert_eq!(
            PackKind::from_name("cortex-m-dsp"),
            Some(PackKind::CortexMDsp)
        );
        let mut small = [0u8; 10];
        let q = NO_QUANT;
        assert!(pack_into(PackKind::CortexMDsp, &[1; 5], 1, 5, &q, &mut small).is_none());
    }
}
