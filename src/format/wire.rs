//! Byte layout of the plan blob: constants, little-endian field readers and (feature
//! `alloc`) the encoder behind [`PlanModel::encode`](super::model::PlanModel::encode).
//!
//! The layout itself is specified in the [module documentation of `format`](super).
//! Readers here never panic: every read is a checked `get` that yields `None` when the
//! requested bytes are outside the slice.

/// The first four bytes of every plan.
pub const MAGIC: [u8; 4] = *b"ECNN";
/// The newest wire version this crate reads and writes: 4, which added packs (a conv's
/// weights laid out ahead of time for one kernel, [`crate::format::pack`]) through a table
/// in the header's last 8 bytes. Version 3 added views (a tensor record's pixel pitch, for
/// a tensor written straight into its slice of a Concat's output) in 32-byte tensor
/// records. Version 2 added streamed tensors (a tensor record's resident rows). The
/// encoder writes the oldest version that can hold the plan: 1 without streams, views or
/// packs (byte for byte what version-1 runtimes read), 2 with a stream, 3 with a view, 4
/// with a pack; older runtimes refuse a newer version rather than misread it.
pub const VERSION: u16 = 4;
/// The wire versions this crate reads.
pub const VERSIONS: core::ops::RangeInclusive<u16> = 1..=VERSION;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 80;
/// The checksum covers `blob[CHECKED_FROM..total_len]` (everything after the preamble).
pub const CHECKED_FROM: usize = 16;
/// Alignment of every section and data item, relative to the blob start.
pub const ALIGN: usize = 16;
/// Size of one tensor record in versions 1 and 2.
pub const TENSOR_RECORD_LEN: usize = 24;
/// Size of one tensor record in version 3 (the version-2 record, then the pixel pitch and
/// 4 reserved bytes).
pub const TENSOR_RECORD_LEN_V3: usize = 32;

/// Size of one tensor record in wire `version`.
pub const fn tensor_record_len(version: u16) -> usize {
    if version >= 3 {
        TENSOR_RECORD_LEN_V3
    } else {
        TENSOR_RECORD_LEN
    }
}
/// Size of one step record.
pub const STEP_RECORD_LEN: usize = 80;
/// Size of one pack record (version 4).
pub const PACK_RECORD_LEN: usize = 16;
/// Size of one `(offset, len)` reference.
pub const REF_LEN: usize = 8;
/// Size of the preprocess record.
pub const PREPROCESS_RECORD_LEN: usize = 32;

/// Byte offsets of the header fields.
pub mod header {
    /// `[u8; 4]` = [`MAGIC`](super::MAGIC).
    pub const MAGIC: usize = 0;
    /// `u16` wire version.
    pub const VERSION: usize = 4;
    /// `u16` header length (= [`HEADER_LEN`](super::HEADER_LEN)).
    pub const HEADER_LEN: usize = 6;
    /// `u32` total blob length.
    pub const TOTAL_LEN: usize = 8;
    /// `u32` CRC-32 of `blob[16..total_len]`.
    pub const CRC: usize = 12;
    /// `u32` arena bytes.
    pub const ARENA_BYTES: usize = 16;
    /// `u16` input tensor id.
    pub const INPUT: usize = 20;
    /// `u16` output tensor id.
    pub const OUTPUT: usize = 22;
    /// `u32` offset, `u32` count of the tensor table.
    pub const TENSORS: usize = 24;
    /// `u32` offset, `u32` count of the step table.
    pub const STEPS: usize = 32;
    /// `u32` offset, `u32` length of the data section.
    pub const DATA: usize = 40;
    /// Ref to the label table (a run of refs, one per label).
    pub const LABELS: usize = 48;
    /// Ref to the UTF-8 name.
    pub const NAME: usize = 56;
    /// Ref to the preprocess record (length 0 = none).
    pub const PREPROCESS: usize = 64;
    /// Versions 1–3: 8 reserved bytes, zero.
    pub const RESERVED: usize = 72;
    /// Version 4: `u32` offset, `u32` count of the pack table (in the reserved bytes).
    pub const PACKS: usize = 72;
}

/// Byte offsets inside a pack record (version 4, [`crate::format::pack`]).
pub mod pack {
    /// `u16` step index: a dense `Conv2d`.
    pub const STEP: usize = 0;
    /// `u8` [`PackKind`](crate::format::pack::PackKind).
    pub const KIND: usize = 2;
    /// 5 zero bytes (a `u8`, then a `u32`).
    pub const ZERO: usize = 3;
    /// Ref to the packed bytes.
    pub const DATA: usize = 8;
}

/// Byte offsets inside a tensor record.
pub mod tensor {
    /// `[u32; 3]` h, w, c.
    pub const SHAPE: usize = 0;
    /// `u32` arena offset.
    pub const OFFSET: usize = 12;
    /// `f32` scale (bits).
    pub const SCALE: usize = 16;
    /// `i8` zero point; followed by 1 zero byte.
    pub const ZERO_POINT: usize = 20;
    /// `u16` resident rows: 0 = the whole tensor is in the arena; else only this many rows
    /// (a tensor streamed between two windowed steps, see [`crate::format::stream`]).
    pub const RESIDENT_ROWS: usize = 22;
    /// Version 3: `u32` pixel pitch, the bytes from one pixel to the next: 0 for a dense
    /// tensor (the pitch is its channel count); more than the channel count for a *view*,
    /// a tensor written straight into its slice of a Concat's output
    /// ([`crate::format::view`]).
    pub const PITCH: usize = 24;
    /// Version 3: 4 reserved bytes, zero.
    pub const RESERVED: usize = 28;
}

/// Byte offsets inside a step record.
pub mod step {
    /// `u8` op code (see [`OpCode`](super::OpCode)).
    pub const OP: usize = 0;
    /// `i8` activation lower clamp.
    pub const ACT_MIN: usize = 1;
    /// `i8` activation upper clamp.
    pub const ACT_MAX: usize = 2;
    /// `u8` flags; bit 0 = AvgPool `count_include_pad`.
    pub const FLAGS: usize = 3;
    /// `u16` output tensor id.
    pub const OUTPUT: usize = 4;
    /// `u16` number of inputs.
    pub const NUM_INPUTS: usize = 6;
    /// Ref to `num_inputs` `u16` tensor ids.
    pub const INPUTS: usize = 8;
    /// `u32` scratch offset in the arena.
    pub const SCRATCH_OFFSET: usize = 16;
    /// `u32` scratch length.
    pub const SCRATCH_LEN: usize = 20;
    /// `[u16; 12]` parameters, indexed by the `P_*` constants.
    pub const PARAMS: usize = 24;
    /// `[Ref; 4]` data references, indexed by the `R_*` constants.
    pub const REFS: usize = 48;

    /// Kernel height.
    pub const P_KERNEL_H: usize = 0;
    /// Kernel width.
    pub const P_KERNEL_W: usize = 1;
    /// Stride height.
    pub const P_STRIDE_H: usize = 2;
    /// Stride width.
    pub const P_STRIDE_W: usize = 3;
    /// Dilation height.
    pub const P_DILATION_H: usize = 4;
    /// Dilation width.
    pub const P_DILATION_W: usize = 5;
    /// Padding top.
    pub const P_PAD_TOP: usize = 6;
    /// Padding left.
    pub const P_PAD_LEFT: usize = 7;
    /// Padding bottom (AvgPool divisor only).
    pub const P_PAD_BOTTOM: usize = 8;
    /// Padding right (AvgPool divisor only).
    pub const P_PAD_RIGHT: usize = 9;
    /// Conv groups.
    pub const P_GROUPS: usize = 10;
    /// LRN window size.
    pub const P_LRN_SIZE: usize = 10;
    /// LRN lut shift.
    pub const P_LRN_SHIFT: usize = 11;

    /// Weights (`i8`) / LRN lut (`i32`) / softmax exp lut (`u32 × 256`).
    pub const R_WEIGHTS: usize = 0;
    /// Bias (`i32`).
    pub const R_BIAS: usize = 1;
    /// Requantisation multipliers (`i32`); Add: `[a, b, out]`.
    pub const R_MULT: usize = 2;
    /// Requantisation shifts (`u8`); Add: `[a, b, out]`.
    pub const R_SHIFT: usize = 3;
}

/// Byte offsets inside the preprocess record.
pub mod preprocess {
    /// `f32` pixel scale.
    pub const SCALE: usize = 0;
    /// `u8` source layout: 0 = NCHW, 1 = NHWC; followed by 3 zero bytes.
    pub const LAYOUT: usize = 4;
    /// Ref to `c × 256` `i8` (one table per channel).
    pub const LUT: usize = 8;
    /// Ref to `f32` means.
    pub const MEAN: usize = 16;
    /// Ref to `f32` standard deviations.
    pub const STD: usize = 24;
}

/// Op codes of the step record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum OpCode {
    /// [`Op::Conv2d`](super::model::Op).
    Conv2d = 1,
    /// Fully connected.
    FullyConnected = 2,
    /// Max pooling.
    MaxPool = 3,
    /// Average pooling.
    AvgPool = 4,
    /// Elementwise add.
    Add = 5,
    /// Channel concatenation.
    Concat = 6,
    /// Local response normalisation.
    Lrn = 7,
    /// Softmax over channels.
    Softmax = 8,
    /// Rescale.
    Requantize = 9,
}

impl OpCode {
    /// The op code for a byte, `None` if unknown.
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Conv2d,
            2 => Self::FullyConnected,
            3 => Self::MaxPool,
            4 => Self::AvgPool,
            5 => Self::Add,
            6 => Self::Concat,
            7 => Self::Lrn,
            8 => Self::Softmax,
            9 => Self::Requantize,
            _ => return None,
        })
    }

    /// The op's name as `inspect` shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Conv2d => "Conv2d",
            Self::FullyConnected => "FullyConnected",
            Self::MaxPool => "MaxPool",
            Self::AvgPool => "AvgPool",
            Self::Add => "Add",
            Self::Concat => "Concat",
            Self::Lrn => "Lrn",
            Self::Softmax => "Softmax",
            Self::Requantize => "Requantize",
        }
    }
}

/// Reads `N` bytes at `at`, `None` if out of range.
#[inline]
pub fn bytes<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Reads a little-endian `u16` at `at`.
#[inline]
pub fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    bytes(b, at).map(u16::from_le_bytes)
}

/// Reads a little-endian `u32` at `at`.
#[inline]
pub fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    bytes(b, at).map(u32::from_le_bytes)
}

/// Reads a little-endian `i32` at `at`.
#[inline]
pub fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    bytes(b, at).map(i32::from_le_bytes)
}

/// Reads a byte at `at`.
#[inline]
pub fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

/// Reads an `(offset, len)` reference at `at`, as `usize`s.
#[inline]
pub fn ref_at(b: &[u8], at: usize) -> Option<(usize, usize)> {
    Some((
        u32_at(b, at)? as usize,
        u32_at(b, at.checked_add(4)?)? as usize,
    ))
}

#[cfg(feature = "alloc")]
pub use encode::encode;

#[cfg(feature = "alloc")]
mod encode {
    use super::*;
    use crate::format::crc32::crc32;
    use crate::format::model::{Layout, Op, PlanModel, Requant};
    use crate::format::pack::{self as packing, PackKind};
    use alloc::vec::Vec;

    /// Alignment of packs from the blob start (when the plan has any): a cache line, so
    /// that a kernel's 64-byte loads of a blob placed 64-aligned each touch one line.
    const PACK_ALIGN: usize = 64;

    /// Where a data item landed: `(offset, len)` relative to the blob start.
    type Ref = (u32, u32);

    /// Collects data items, each 16-byte aligned; offsets are made absolute at the end.
    struct Data {
        bytes: Vec<u8>,
    }

    impl Data {
        fn push(&mut self, item: &[u8]) -> Ref {
            self.push_aligned(item, ALIGN)
        }
        /// [`Data::push`] at a multiple of `align` (a multiple of [`ALIGN`]) from the data
        /// section's start.
        fn push_aligned(&mut self, item: &[u8], align: usize) -> Ref {
            while !self.bytes.len().is_multiple_of(align) {
                self.bytes.push(0);
            }
            let at = self.bytes.len() as u32;
            self.bytes.extend_from_slice(item);
            (at, item.len() as u32)
        }
        fn push_i8(&mut self, v: &[i8]) -> Ref {
            self.push(bytemuck::cast_slice(v))
        }
        fn push_i32(&mut self, v: &[i32]) -> Ref {
            let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            self.push(&b)
        }
        fn push_u32(&mut self, v: &[u32]) -> Ref {
            let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            self.push(&b)
        }
        fn push_f32(&mut self, v: &[f32]) -> Ref {
            let b: Vec<u8> = v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect();
            self.push(&b)
        }
    }

    /// Copies `v` to `b[at..]`. Every call site writes into a record or buffer this module
    /// sized for the field, so the range always exists (the round-trip tests read every
    /// field back); were it ever missing the write is skipped and `Plan::parse` rejects the
    /// blob, rather than the host panicking.
    fn put(b: &mut [u8], at: usize, v: &[u8]) {
        if let Some(dst) = at.checked_add(v.len()).and_then(|end| b.get_mut(at..end)) {
            dst.copy_from_slice(v);
        }
    }
    fn put_u16(b: &mut [u8], at: usize, v: u16) {
        put(b, at, &v.to_le_bytes());
    }
    fn put_u32(b: &mut [u8], at: usize, v: u32) {
        put(b, at, &v.to_le_bytes());
    }
    /// Writes a data-relative ref as absolute (`base` = data section offset); offsets past
    /// `u32` wrap (the documented truncation).
    fn put_ref(b: &mut [u8], at: usize, r: Ref, base: u32) {
        put_u32(b, at, r.0.wrapping_add(base));
        put_u32(b, at + 4, r.1);
    }
    fn align(n: usize) -> usize {
        n.div_ceil(ALIGN) * ALIGN
    }

    fn requant_refs(d: &mut Data, parts: &[&Requant]) -> (Ref, Ref) {
        let m: Vec<i32> = parts
            .iter()
            .flat_map(|r| r.multiplier.iter().copied())
            .collect();
        let s: Vec<u8> = parts.iter().flat_map(|r| r.shift.iter().copied()).collect();
        (d.push_i32(&m), d.push(&s))
    }

    /// Encodes `m` into a plan blob (layout in [`crate::format`]), with a pack of each of
    /// `packs` for every dense conv ([`crate::format::pack`]). Infallible: a model that
    /// breaks the contract still encodes, and `Plan::parse` rejects it.
    ///
    /// Lengths beyond `u32` are truncated (and so rejected by the parser).
    pub fn encode(m: &PlanModel, packs: &[PackKind]) -> Vec<u8> {
        let mut d = Data { bytes: Vec::new() };
        // Packs first, each on a cache line from the data section's start.
        let mut kinds = packs.to_vec();
        kinds.sort();
        kinds.dedup();
        let mut pack_recs: Vec<(u16, PackKind, Ref)> = Vec::new();
        for (i, s) in m.steps.iter().enumerate() {
            let Op::Conv2d(c) = &s.op else { continue };
            let oc = m
                .tensors
                .get(usize::from(s.output))
                .map_or(0, |t| t.shape[2] as usize);
            if c.groups != 1 || oc == 0 || !c.weights.len().is_multiple_of(oc) {
                continue;
            }
            let zp = |id: Option<&u16>| {
                id.and_then(|&t| m.tensors.get(usize::from(t)))
                    .map_or(0, |t| t.zero_point)
            };
            let quant = packing::PackQuant {
                bias: &c.bias,
                multiplier: &c.requant.multiplier,
                shift: &c.requant.shift,
                input_zero_point: zp(s.inputs.first()),
                output_zero_point: zp(Some(&s.output)),
            };
            let k = c.weights.len() / oc;
            for &kind in &kinds {
                if let Some(b) = packing::pack(kind, &c.weights, oc, k, &quant) {
                    pack_recs.push((i as u16, kind, d.push_aligned(&b, PACK_ALIGN)));
                }
            }
        }
        // Step records, with data-relative refs patched once the data offset is known.
        let mut steps = alloc::vec![0u8; m.steps.len() * STEP_RECORD_LEN];
        let mut step_refs: Vec<[Ref; 5]> = Vec::with_capacity(m.steps.len());
        for (rec, s) in steps.chunks_exact_mut(STEP_RECORD_LEN).zip(&m.steps) {
            let ids: Vec<u8> = s.inputs.iter().flat_map(|x| x.to_le_bytes()).collect();
            let mut refs = [(0u32, 0u32); 5];
            refs[0] = d.push(&ids);
            put_u16(rec, step::OUTPUT, s.output);
            put_u16(rec, step::NUM_INPUTS, s.inputs.len() as u16);
            put_u32(rec, step::SCRATCH_OFFSET, s.scratch.0);
            put_u32(rec, step::SCRATCH_LEN, s.scratch.1);
            let mut p = [0u16; 12];
            let (code, act) = match &s.op {
                Op::Conv2d(c) => {
                    p[step::P_KERNEL_H] = c.kernel[0];
                    p[step::P_KERNEL_W] = c.kernel[1];
                    p[step::P_STRIDE_H] = c.stride[0];
                    p[step::P_STRIDE_W] = c.stride[1];
                    p[step::P_DILATION_H] = c.dilation[0];
                    p[step::P_DILATION_W] = c.dilation[1];
                    p[step::P_PAD_TOP] = c.pad[0];
                    p[step::P_PAD_LEFT] = c.pad[1];
                    p[step::P_GROUPS] = c.groups;
                    refs[1 + step::R_WEIGHTS] = d.push_i8(&c.weights);
                    refs[1 + step::R_BIAS] = d.push_i32(&c.bias);
                    let (m, s) = requant_refs(&mut d, &[&c.requant]);
                    refs[1 + step::R_MULT] = m;
                    refs[1 + step::R_SHIFT] = s;
                    (OpCode::Conv2d, (c.act_min, c.act_max))
                }
                Op::FullyConnected(f) => {
                    refs[1 + step::R_WEIGHTS] = d.push_i8(&f.weights);
                    refs[1 + step::R_BIAS] = d.push_i32(&f.bias);
                    let (m, s) = requant_refs(&mut d, &[&f.requant]);
                    refs[1 + step::R_MULT] = m;
                    refs[1 + step::R_SHIFT] = s;
                    (OpCode::FullyConnected, (f.act_min, f.act_max))
                }
                Op::MaxPool(pl) | Op::AvgPool(crate::format::model::AvgPool { pool: pl, .. }) => {
                    p[step::P_KERNEL_H] = pl.kernel[0];
                    p[step::P_KERNEL_W] = pl.kernel[1];
                    p[step::P_STRIDE_H] = pl.stride[0];
                    p[step::P_STRIDE_W] = pl.stride[1];
                    p[step::P_DILATION_H] = 1;
                    p[step::P_DILATION_W] = 1;
                    p[step::P_PAD_TOP] = pl.pad[0];
                    p[step::P_PAD_LEFT] = pl.pad[1];
                    let code = if let Op::AvgPool(a) = &s.op {
                        p[step::P_PAD_BOTTOM] = a.pad_end[0];
                        p[step::P_PAD_RIGHT] = a.pad_end[1];
                        put(rec, step::FLAGS, &[u8::from(a.count_include_pad)]);
                        OpCode::AvgPool
                    } else {
                        OpCode::MaxPool
                    };
                    (code, (pl.act_min, pl.act_max))
                }
                Op::Add(a) => {
                    let (m, s) = requant_refs(&mut d, &[&a.a, &a.b, &a.out]);
                    refs[1 + step::R_MULT] = m;
                    refs[1 + step::R_SHIFT] = s;
                    (OpCode::Add, (a.act_min, a.act_max))
                }
                Op::Concat => (OpCode::Concat, (i8::MIN, i8::MAX)),
                Op::Lrn(l) => {
                    p[step::P_LRN_SIZE] = l.size;
                    p[step::P_LRN_SHIFT] = l.lut_shift as u16;
                    refs[1 + step::R_WEIGHTS] = d.push_i32(&l.lut);
                    (OpCode::Lrn, (i8::MIN, i8::MAX))
                }
                Op::Softmax(sm) => {
                    refs[1 + step::R_WEIGHTS] = d.push_u32(&sm.exp_lut);
                    (OpCode::Softmax, (i8::MIN, i8::MAX))
                }
                Op::Requantize(r) => {
                    let (m, s) = requant_refs(&mut d, &[&r.requant]);
                    refs[1 + step::R_MULT] = m;
                    refs[1 + step::R_SHIFT] = s;
                    (OpCode::Requantize, (r.act_min, r.act_max))
                }
            };
            put(rec, step::OP, &[code as u8]);
            put(rec, step::ACT_MIN, &[act.0 as u8]);
            put(rec, step::ACT_MAX, &[act.1 as u8]);
            for (k, v) in p.iter().enumerate() {
                put_u16(rec, step::PARAMS + 2 * k, *v);
            }
            step_refs.push(refs);
        }

        // Labels: strings first, then the table of refs to them.
        let label_refs: Vec<Ref> = m.labels.iter().map(|l| d.push(l.as_bytes())).collect();
        let name_ref = d.push(m.name.as_bytes());
        // Preprocess: its arrays, then its record (refs patched below).
        let pre = m.preprocess.as_ref().map(|p| {
            let lut: Vec<u8> = p
                .lut
                .iter()
                .flat_map(|t| t.iter().map(|&v| v as u8))
                .collect();
            (
                p,
                d.push(&lut),
                d.push_f32(&p.mean),
                d.push_f32(&p.std),
                d.push(&[0u8; PREPROCESS_RECORD_LEN]),
            )
        });
        let labels_table = d.push(&alloc::vec![0u8; label_refs.len() * REF_LEN]);

        let streamed = m.tensors.iter().any(|t| t.resident_rows != 0);
        let viewed = m.tensors.iter().any(|t| t.pitch != 0);
        let version = match (!pack_recs.is_empty(), viewed, streamed) {
            (true, ..) => 4,
            (false, true, _) => 3,
            (false, false, true) => 2,
            (false, false, false) => 1,
        };
        let record_len = tensor_record_len(version);
        let tensors_off = HEADER_LEN;
        let steps_off = align(tensors_off + m.tensors.len() * record_len);
        let packs_off = align(steps_off + steps.len());
        let mut data_off = align(packs_off + pack_recs.len() * PACK_RECORD_LEN);
        if !pack_recs.is_empty() {
            data_off = data_off.div_ceil(PACK_ALIGN) * PACK_ALIGN;
        }
        let total = align(data_off + d.bytes.len());
        let base = data_off as u32;

        // Patch the data-relative refs that live inside the data section.
        for (i, r) in label_refs.iter().enumerate() {
            put_ref(
                &mut d.bytes,
                labels_table.0 as usize + i * REF_LEN,
                *r,
                base,
            );
        }
        if let Some((p, lut, mean, std, rec)) = pre {
            let at = rec.0 as usize;
            put_u32(&mut d.bytes, at + preprocess::SCALE, p.scale.to_bits());
            let layout = match p.source_layout {
                Layout::Nchw => 0,
                Layout::Nhwc => 1,
            };
            put(&mut d.bytes, at + preprocess::LAYOUT, &[layout]);
            put_ref(&mut d.bytes, at + preprocess::LUT, lut, base);
            put_ref(&mut d.bytes, at + preprocess::MEAN, mean, base);
            put_ref(&mut d.bytes, at + preprocess::STD, std, base);
        }
        for (rec, refs) in steps.chunks_exact_mut(STEP_RECORD_LEN).zip(&step_refs) {
            let [inputs, data @ ..] = *refs;
            put_ref(rec, step::INPUTS, inputs, base);
            for (k, r) in data.into_iter().enumerate() {
                put_ref(rec, step::REFS + k * REF_LEN, r, base);
            }
        }

        let mut b = alloc::vec![0u8; total];
        put(&mut b, header::MAGIC, &MAGIC);
        put_u16(&mut b, header::VERSION, version);
        put_u16(&mut b, header::HEADER_LEN, HEADER_LEN as u16);
        put_u32(&mut b, header::TOTAL_LEN, total as u32);
        put_u32(&mut b, header::ARENA_BYTES, m.arena_bytes);
        put_u16(&mut b, header::INPUT, m.input);
        put_u16(&mut b, header::OUTPUT, m.output);
        put_u32(&mut b, header::TENSORS, tensors_off as u32);
        put_u32(&mut b, header::TENSORS + 4, m.tensors.len() as u32);
        put_u32(&mut b, header::STEPS, steps_off as u32);
        put_u32(&mut b, header::STEPS + 4, m.steps.len() as u32);
        put_u32(&mut b, header::DATA, base);
        put_u32(&mut b, header::DATA + 4, d.bytes.len() as u32);
        put_ref(&mut b, header::LABELS, labels_table, base);
        put_ref(&mut b, header::NAME, name_ref, base);
        if let Some((.., rec)) = pre {
            put_ref(&mut b, header::PREPROCESS, rec, base);
        }
        for (i, t) in m.tensors.iter().enumerate() {
            let at = tensors_off + i * record_len;
            for (k, &dim) in t.shape.iter().enumerate() {
                put_u32(&mut b, at + tensor::SHAPE + 4 * k, dim);
            }
            put_u32(&mut b, at + tensor::OFFSET, t.offset);
            put_u32(&mut b, at + tensor::SCALE, t.scale.to_bits());
            put(&mut b, at + tensor::ZERO_POINT, &[t.zero_point as u8]);
            put(
                &mut b,
                at + tensor::RESIDENT_ROWS,
                &(t.resident_rows.min(u32::from(u16::MAX)) as u16).to_le_bytes(),
            );
            if version >= 3 {
                put_u32(&mut b, at + tensor::PITCH, t.pitch);
            }
        }
        put(&mut b, steps_off, &steps);
        if !pack_recs.is_empty() {
            put_u32(&mut b, header::PACKS, packs_off as u32);
            put_u32(&mut b, header::PACKS + 4, pack_recs.len() as u32);
        }
        for (i, &(step_id, kind, r)) in pack_recs.iter().enumerate() {
            let at = packs_off + i * PACK_RECORD_LEN;
            put_u16(&mut b, at + pack::STEP, step_id);
            put(&mut b, at + pack::KIND, &[kind as u8]);
            put_ref(&mut b, at + pack::DATA, r, base);
        }
        put(&mut b, data_off, &d.bytes);
        let crc = crc32(b.get(CHECKED_FROM..).unwrap_or(&[]));
        put_u32(&mut b, header::CRC, crc);
        b
    }
}
