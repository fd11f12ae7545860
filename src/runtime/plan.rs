//! [`Plan`]: a validated, zero-copy view of a plan blob.

use super::error::ParseError;
use super::step::{decode_step, OpView, StepView};
use crate::format::crc32::crc32;
use crate::format::pack::{self, PackKind};
use crate::format::view;
use crate::format::wire::{self, header, tensor, u16_at, u32_at, u8_at, ALIGN, HEADER_LEN};
use crate::format::Layout;

/// A tensor as the plan describes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorInfo {
    /// Height, width, channels.
    pub shape: [u32; 3],
    /// Arena offset.
    pub offset: u32,
    /// Bytes it spans in the arena: every element, for a streamed tensor its resident rows
    /// only ([`crate::format::stream`]), for a view its first element to its last
    /// ([`crate::format::view`]).
    pub len: u32,
    /// Rows resident in the arena (`shape[0]` unless streamed).
    pub rows: u32,
    /// Bytes from one pixel to the next: `shape[2]` for a dense tensor, more for a view.
    pub pitch: u32,
    /// Real value of one step (host information).
    pub scale: f32,
    /// The int8 value of real 0.
    pub zero_point: i8,
}

impl TensorInfo {
    /// True for a streamed tensor: fewer rows resident in the arena than it has
    /// ([`crate::format::stream`]).
    pub fn is_streamed(&self) -> bool {
        self.rows < self.shape[0]
    }

    /// True for a view: a tensor written into its channel slice of a Concat's output,
    /// its pixels `pitch` bytes apart ([`crate::format::view`]).
    pub fn is_view(&self) -> bool {
        self.pitch != self.shape[2]
    }

    /// `offset .. offset + len` as `usize`s (saturating: a hand-made `TensorInfo` past the
    /// address space gives a range no slice has, never an overflow).
    pub fn range(&self) -> core::ops::Range<usize> {
        let start = self.offset as usize;
        start..start.saturating_add(self.len as usize)
    }
}

/// Tensor ids read in place (`u16` little-endian).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ids<'b>(pub(crate) &'b [u8]);

impl<'b> Ids<'b> {
    /// Number of ids.
    pub fn len(&self) -> usize {
        self.0.len() / 2
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.len() < 2
    }
    /// Id `i`.
    pub fn get(&self, i: usize) -> Option<u16> {
        u16_at(self.0, i.checked_mul(2)?)
    }
    /// All ids.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'b {
        self.0
            .as_chunks::<2>()
            .0
            .iter()
            .map(|&c| u16::from_le_bytes(c))
    }
}

/// One step, described for `inspect`.
#[derive(Clone, Copy, Debug)]
pub struct StepInfo<'b> {
    /// Op name, e.g. `"Conv2d"`.
    pub op: &'static str,
    /// Input tensor ids.
    pub inputs: Ids<'b>,
    /// Output tensor id.
    pub output: u16,
    /// Shape of the first input.
    pub input_shape: [u32; 3],
    /// Shape of the output.
    pub output_shape: [u32; 3],
    /// Kernel (h, w) of a conv or pool, else `[0, 0]`.
    pub kernel: [u16; 2],
    /// Stride (h, w) of a conv or pool, else `[0, 0]`.
    pub stride: [u16; 2],
    /// Padding (top, left) of a conv or pool, else `[0, 0]`.
    pub pad: [u16; 2],
    /// Dilation of a conv (pools: `[1, 1]`), else `[0, 0]`.
    pub dilation: [u16; 2],
    /// Conv groups, else 0.
    pub groups: u16,
    /// Multiply-accumulates (or element operations for elementwise ops).
    pub macs: u64,
    /// Bytes of parameters read from the blob (weights, bias, rescale, tables).
    pub weight_bytes: usize,
    /// Scratch `(offset, len)` in the arena.
    pub scratch: (u32, u32),
    /// The output overlaps the input by rows (a conv or pool run in bands, see
    /// [`crate::format::overlap`]).
    pub overlapped: bool,
}

impl StepInfo<'_> {
    /// The input tensor ids, in op order.
    pub fn inputs(&self) -> impl Iterator<Item = u16> + '_ {
        self.inputs.iter()
    }
}

/// A little-endian `f32` array read in place (host information; never used by `run`).
#[derive(Clone, Copy, Default)]
pub struct F32s<'b>(&'b [u8]);

impl core::fmt::Debug for F32s<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'b> F32s<'b> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.len() < 4
    }
    /// Element `i`.
    pub fn get(&self, i: usize) -> Option<f32> {
        u32_at(self.0, i.checked_mul(4)?).map(f32::from_bits)
    }
    /// All elements.
    pub fn iter(&self) -> impl Iterator<Item = f32> + 'b {
        self.0
            .as_chunks::<4>()
            .0
            .iter()
            .map(|&c| f32::from_bits(u32::from_le_bytes(c)))
    }
    /// All elements, copied.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> alloc::vec::Vec<f32> {
        self.iter().collect()
    }
}

/// The plan's pixel preprocessing: per-channel tables (what the device uses) plus the float
/// recipe they were built from (host information: `real = (pixel * scale - mean[c]) / std[c]`).
#[derive(Clone, Copy)]
pub struct PreprocessInfo<'b> {
    /// Pixel scale.
    pub scale: f32,
    /// Per-channel (or single) mean, after `scale`.
    pub mean: F32s<'b>,
    /// Per-channel (or single) standard deviation, after `scale`.
    pub std: F32s<'b>,
    /// The source model's input layout.
    pub source_layout: Layout,
    lut: &'b [u8],
}

impl core::fmt::Debug for PreprocessInfo<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreprocessInfo")
            .field("scale", &self.scale)
            .field("mean", &self.mean)
            .field("std", &self.std)
            .field("source_layout", &self.source_layout)
            .field("channels", &self.channels())
            .finish()
    }
}

impl<'b> PreprocessInfo<'b> {
    /// Number of channels (= tables).
    pub fn channels(&self) -> usize {
        self.lut.len() / 256
    }
    /// The 256-entry table of channel `c`.
    pub fn lut(&self, c: usize) -> Option<&'b [i8]> {
        let t = self
            .lut
            .get(c.checked_mul(256)?..c.checked_mul(256)?.checked_add(256)?)?;
        Some(bytemuck::cast_slice(t))
    }
    /// All tables, channel `c` at `c * 256`.
    pub fn luts(&self) -> &'b [i8] {
        bytemuck::cast_slice(self.lut)
    }
}

/// A plan blob, validated once by [`Plan::parse`] and then read in place.
///
/// Holding a `Plan` is the proof that every offset, length and op argument in the blob is
/// consistent: [`Session::run`](super::Session::run) relies on it and never panics.
/// Its `Debug` output is a summary (the blob itself may be megabytes).
#[derive(Clone, Copy)]
pub struct Plan<'b> {
    pub(crate) blob: &'b [u8],
    /// Wire version (1 to 4).
    version: u16,
    arena_bytes: u32,
    input: u16,
    output: u16,
    tensors: usize,
    n_tensors: usize,
    steps: usize,
    n_steps: usize,
    data: (usize, usize),
    labels: &'b [u8],
    name: &'b str,
    preprocess: Option<PreprocessInfo<'b>>,
    weights_bytes: usize,
    macs: u64,
    /// The pack table `(offset, count)`, once validated (version 4; else `(0, 0)`).
    packs: (usize, usize),
    packed_bytes: usize,
}

impl core::fmt::Debug for Plan<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Plan")
            .field("name", &self.name)
            .field("blob_bytes", &self.blob.len())
            .field("arena_bytes", &self.arena_bytes)
            .field("input", &self.input_shape())
            .field("output", &self.output_shape())
            .field("tensors", &self.n_tensors)
            .field("steps", &self.n_steps)
            .field("labels", &self.num_labels())
            .field("preprocess", &self.preprocess.is_some())
            .field("weights_bytes", &self.weights_bytes)
            .field("macs", &self.macs)
            .field("packs", &self.packs.1)
            .finish()
    }
}

fn hdr_u32(b: &[u8], at: usize) -> Result<u32, ParseError> {
    u32_at(b, at).ok_or(ParseError::BadHeader)
}

/// Checks a table of `count` records of `rec` bytes at `off`: aligned, inside `total`.
fn table(off: u32, count: u32, rec: usize, total: usize) -> Result<(usize, usize), ParseError> {
    let (off, count) = (off as usize, count as usize);
    let end = count
        .checked_mul(rec)
        .and_then(|l| l.checked_add(off))
        .ok_or(ParseError::Section)?;
    if !off.is_multiple_of(ALIGN) || off < HEADER_LEN || end > total {
        return Err(ParseError::Section);
    }
    Ok((off, count))
}

impl<'b> Plan<'b> {
    /// Validates `blob` completely (layout in [`crate::format`]) and returns a view of it.
    ///
    /// Bytes after the declared total length are ignored (flash padding). Checks: magic,
    /// version, header, length, CRC-32, sections inside the blob, every data reference
    /// inside the data section, every tensor inside `arena_bytes`, every step's arity,
    /// tensor ids, shapes against its parameters, parameter lengths and ranges, and that no
    /// step's output overlaps its inputs. Never panics.
    pub fn parse(blob: &'b [u8]) -> Result<Self, ParseError> {
        let trunc = |needed: usize| ParseError::Truncated {
            needed: needed as u32,
            got: blob.len(),
        };
        if blob.len() < HEADER_LEN {
            return Err(trunc(HEADER_LEN));
        }
        if blob.get(..4) != Some(&wire::MAGIC[..]) {
            return Err(ParseError::BadMagic);
        }
        let version = u16_at(blob, header::VERSION).ok_or(ParseError::BadHeader)?;
        if !wire::VERSIONS.contains(&version) {
            return Err(ParseError::UnsupportedVersion(version));
        }
        if u16_at(blob, header::HEADER_LEN) != Some(HEADER_LEN as u16) {
            return Err(ParseError::BadHeader);
        }
        let total = hdr_u32(blob, header::TOTAL_LEN)? as usize;
        if total < HEADER_LEN {
            return Err(ParseError::BadHeader);
        }
        let blob = blob.get(..total).ok_or(trunc(total))?;
        let stored = hdr_u32(blob, header::CRC)?;
        let computed = crc32(blob.get(wire::CHECKED_FROM..).unwrap_or(&[]));
        if stored != computed {
            return Err(ParseError::Checksum { stored, computed });
        }
        let packs = if version >= 4 {
            table(
                hdr_u32(blob, header::PACKS)?,
                hdr_u32(blob, header::PACKS + 4)?,
                wire::PACK_RECORD_LEN,
                total,
            )?
        } else if blob
            .get(header::RESERVED..HEADER_LEN)
            .is_none_or(|r| r.iter().any(|&b| b != 0))
        {
            return Err(ParseError::BadHeader);
        } else {
            (0, 0)
        };
        let (tensors, n_tensors) = table(
            hdr_u32(blob, header::TENSORS)?,
            hdr_u32(blob, header::TENSORS + 4)?,
            wire::tensor_record_len(version),
            total,
        )?;
        let (steps, n_steps) = table(
            hdr_u32(blob, header::STEPS)?,
            hdr_u32(blob, header::STEPS + 4)?,
            wire::STEP_RECORD_LEN,
            total,
        )?;
        let data = table(
            hdr_u32(blob, header::DATA)?,
            hdr_u32(blob, header::DATA + 4)?,
            1,
            total,
        )?;
        let mut plan = Plan {
            blob,
            version,
            arena_bytes: hdr_u32(blob, header::ARENA_BYTES)?,
            input: u16_at(blob, header::INPUT).ok_or(ParseError::BadHeader)?,
            output: u16_at(blob, header::OUTPUT).ok_or(ParseError::BadHeader)?,
            tensors,
            n_tensors: n_tensors.min(usize::from(u16::MAX) + 1),
            steps,
            n_steps,
            data,
            labels: &[],
            name: "",
            preprocess: None,
            weights_bytes: 0,
            macs: 0,
            packs: (0, 0),
            packed_bytes: 0,
        };
        if n_tensors > usize::from(u16::MAX) + 1 {
            return Err(ParseError::Section);
        }
        for id in 0..n_tensors {
            plan.check_tensor(id as u16)?;
        }
        let input = plan.tensor(plan.input).ok_or(ParseError::InputOutput)?;
        plan.tensor(plan.output).ok_or(ParseError::InputOutput)?;
        let (mut weights, mut macs) = (0usize, 0u64);
        for i in 0..n_steps {
            let v = decode_step(&plan, i).map_err(|fault| ParseError::Step {
                step: i as u32,
                fault,
            })?;
            weights = weights.saturating_add(v.weight_bytes);
            macs = macs.saturating_add(v.macs);
        }
        plan.weights_bytes = weights;
        plan.macs = macs;
        plan.check_streams()?;
        plan.check_views()?;
        plan.packed_bytes = plan.check_packs(packs)?;
        plan.packs = packs;

        // Labels: a table of refs, each to UTF-8 bytes.
        let labels = plan.data_ref(header::LABELS).ok_or(ParseError::Labels)?;
        if !labels.len().is_multiple_of(wire::REF_LEN) {
            return Err(ParseError::Labels);
        }
        plan.labels = labels;
        for i in 0..plan.num_labels() {
            let r = plan
                .data_ref_in(labels, i * wire::REF_LEN)
                .ok_or(ParseError::Labels)?;
            core::str::from_utf8(r).map_err(|_| ParseError::Labels)?;
        }
        let name = plan.data_ref(header::NAME).ok_or(ParseError::Name)?;
        plan.name = core::str::from_utf8(name).map_err(|_| ParseError::Name)?;
        plan.preprocess = plan.parse_preprocess(input.shape[2])?;
        Ok(plan)
    }

    /// Checks the pack table `(offset, count)` ([`crate::format::pack`]); returns the bytes
    /// of all packs.
    fn check_packs(&self, (off, count): (usize, usize)) -> Result<usize, ParseError> {
        let mut last: Option<(u16, u8)> = None;
        let mut bytes = 0usize;
        for i in 0..count {
            let bad = ParseError::Pack { record: i as u32 };
            let at = self.record(off, i, wire::PACK_RECORD_LEN).ok_or(bad)?;
            let rec = self.blob.get(at..at + wire::PACK_RECORD_LEN).ok_or(bad)?;
            let step = u16_at(rec, wire::pack::STEP).ok_or(bad)?;
            let kind_byte = rec.get(wire::pack::KIND).copied().ok_or(bad)?;
            let kind = PackKind::from_u8(kind_byte).ok_or(bad)?;
            let zeros = rec.get(wire::pack::ZERO..wire::pack::DATA).ok_or(bad)?;
            if zeros.iter().any(|&b| b != 0) || last.is_some_and(|l| l >= (step, kind_byte)) {
                return Err(bad);
            }
            last = Some((step, kind_byte));
            let data = self.data_ref_in(rec, wire::pack::DATA).ok_or(bad)?;
            let view = self.step_view(usize::from(step)).ok_or(bad)?;
            let StepView {
                op: OpView::Conv2d(p),
                ..
            } = view
            else {
                return Err(bad);
            };
            let oc = p.bias.len();
            let k = p.weights.len().checked_div(oc).ok_or(bad)?;
            if p.groups != 1 || pack::packed_len(kind, oc, k) != Some(data.len()) {
                return Err(bad);
            }
            bytes = bytes.saturating_add(data.len());
        }
        Ok(bytes)
    }

    /// The pack of `kind` for step `step`, if the plan has one (a dense conv's weights in
    /// that kernel's layout, [`crate::format::pack`]; its length was checked by `parse`).
    pub fn pack(&self, step: usize, kind: PackKind) -> Option<&'b [u8]> {
        let (off, count) = self.packs;
        let key = (u16::try_from(step).ok()?, kind as u8);
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let at = self.record(off, mid, wire::PACK_RECORD_LEN)?;
            let rec = self.blob.get(at..at + wire::PACK_RECORD_LEN)?;
            let here = (
                u16_at(rec, wire::pack::STEP)?,
                rec.get(wire::pack::KIND).copied()?,
            );
            match here.cmp(&key) {
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
                core::cmp::Ordering::Equal => return self.data_ref_in(rec, wire::pack::DATA),
            }
        }
        None
    }

    /// Number of packs ([`crate::format::pack`]; 0 before wire version 4).
    pub fn num_packs(&self) -> usize {
        self.packs.1
    }

    /// Bytes of all packs: what the plan carries beyond its canonical weights so that
    /// kernels need not repack.
    pub fn packed_bytes(&self) -> usize {
        self.packed_bytes
    }

    /// Every streamed tensor sits between a conv or pool and the conv or pool right after
    /// it, its only reader, with a buffer large enough ([`crate::format::stream`]).
    fn check_streams(&self) -> Result<(), ParseError> {
        for id in 0..self.n_tensors {
            let id = id as u16;
            if !self.tensor(id).is_some_and(|t| t.is_streamed()) {
                continue;
            }
            let mut producer = None;
            let mut readers = 0usize;
            let mut reader = None;
            for i in 0..self.n_steps {
                let v = self.step_view(i).ok_or(ParseError::Tensor(id))?;
                if v.output == id {
                    producer = producer.or(Some(i));
                }
                if v.inputs.iter().any(|x| x == id) {
                    readers += 1;
                    reader = Some(i);
                }
            }
            let fault = |step: usize| ParseError::Step {
                step: step as u32,
                fault: super::error::StepFault::Stream,
            };
            let (Some(p), Some(c)) = (producer, reader) else {
                return Err(fault(0));
            };
            if id == self.input || id == self.output || readers != 1 || c != p + 1 {
                return Err(fault(p));
            }
            let (pv, cv) = (
                self.step_view(p).ok_or(fault(p))?,
                self.step_view(c).ok_or(fault(c))?,
            );
            if super::step::stream_geometry(self, &pv, &cv).is_none_or(|g| !g.is_feasible()) {
                return Err(fault(p));
            }
        }
        Ok(())
    }

    /// A view is neither the model's input nor its output ([`crate::format::view`]; the
    /// steps writing and reading it are checked by `decode_step`).
    fn check_views(&self) -> Result<(), ParseError> {
        for id in [self.input, self.output] {
            if self.tensor(id).is_none_or(|t| t.is_view()) {
                return Err(ParseError::InputOutput);
            }
        }
        Ok(())
    }

    fn check_tensor(&self, id: u16) -> Result<(), ParseError> {
        let at = self
            .record(self.tensors, id as usize, self.tensor_record_len())
            .ok_or(ParseError::Tensor(id))?;
        let shape = [0, 4, 8].map(|k| u32_at(self.blob, at + tensor::SHAPE + k).unwrap_or(0));
        let off = u32_at(self.blob, at + tensor::OFFSET).unwrap_or(u32::MAX) as u64;
        // Checked: three `u32`s can overflow a `u64` (fuzz regression `tensor_len_overflow`).
        let elements = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .unwrap_or(u64::MAX);
        let resident = u16_at(self.blob, at + tensor::RESIDENT_ROWS).unwrap_or(u16::MAX);
        // Version 1 reserves these bytes as zeros.
        if self.version < 2 && resident != 0 {
            return Err(ParseError::Tensor(id));
        }
        let rows = match resident {
            0 => shape[0],
            r => u32::from(r),
        };
        // Version 3: a pixel pitch (0 = dense) and 4 reserved zero bytes.
        let pitch = self.pitch_at(at).unwrap_or(u32::MAX);
        let reserved = if self.version >= 3 {
            u32_at(self.blob, at + tensor::RESERVED).unwrap_or(u32::MAX)
        } else {
            0
        };
        let len = view::tensor_bytes(shape, rows, pitch).unwrap_or(u64::MAX);
        // A view is wider than its channels, and never streamed.
        let bad_view = pitch != 0 && (pitch <= shape[2] || resident != 0);
        let bad = shape.contains(&0)
            || rows > shape[0]
            || elements > u32::MAX as u64
            || reserved != 0
            || bad_view
            || off.saturating_add(len) > self.arena_bytes as u64;
        if bad {
            return Err(ParseError::Tensor(id));
        }
        Ok(())
    }

    fn parse_preprocess(&self, channels: u32) -> Result<Option<PreprocessInfo<'b>>, ParseError> {
        if wire::ref_at(self.blob, header::PREPROCESS).is_some_and(|(_, len)| len == 0) {
            return Ok(None);
        }
        let rec = self
            .data_ref(header::PREPROCESS)
            .ok_or(ParseError::Preprocess)?;
        use wire::preprocess as p;
        if rec.len() != wire::PREPROCESS_RECORD_LEN {
            return Err(ParseError::Preprocess);
        }
        let bad = ParseError::Preprocess;
        let layout = match u8_at(rec, p::LAYOUT) {
            Some(0) => Layout::Nchw,
            Some(1) => Layout::Nhwc,
            _ => return Err(bad),
        };
        let lut = self.data_ref_in(rec, p::LUT).ok_or(bad)?;
        let mean = self.data_ref_in(rec, p::MEAN).ok_or(bad)?;
        let std = self.data_ref_in(rec, p::STD).ok_or(bad)?;
        if Some(lut.len()) != (channels as usize).checked_mul(256)
            || !mean.len().is_multiple_of(4)
            || !std.len().is_multiple_of(4)
        {
            return Err(bad);
        }
        let scale = f32::from_bits(u32_at(rec, p::SCALE).ok_or(bad)?);
        Ok(Some(PreprocessInfo {
            scale,
            mean: F32s(mean),
            std: F32s(std),
            source_layout: layout,
            lut,
        }))
    }

    /// Byte offset of record `i` of a table, if inside the blob.
    fn record(&self, base: usize, i: usize, len: usize) -> Option<usize> {
        let at = i.checked_mul(len)?.checked_add(base)?;
        (at.checked_add(len)? <= self.blob.len()).then_some(at)
    }

    /// The bytes a ref at blob offset `at` points to, if inside the data section.
    pub(crate) fn data_ref(&self, at: usize) -> Option<&'b [u8]> {
        self.data_ref_in(self.blob, at)
    }

    /// The bytes a ref stored at `rec[at..]` points to, if inside the data section.
    pub(crate) fn data_ref_in(&self, rec: &[u8], at: usize) -> Option<&'b [u8]> {
        let (off, len) = wire::ref_at(rec, at)?;
        let end = off.checked_add(len)?;
        let (d0, dlen) = self.data;
        if off < d0 || end > d0 + dlen {
            return None;
        }
        self.blob.get(off..end)
    }

    /// The pixel pitch of the tensor record at blob offset `at`: 0 (dense) before version 3.
    fn pitch_at(&self, at: usize) -> Option<u32> {
        if self.version >= 3 {
            u32_at(self.blob, at + tensor::PITCH)
        } else {
            Some(0)
        }
    }

    /// Bytes of one tensor record in this plan's wire version.
    fn tensor_record_len(&self) -> usize {
        wire::tensor_record_len(self.version)
    }

    /// The raw record of step `i`.
    pub(crate) fn step_record(&self, i: usize) -> Option<&'b [u8]> {
        let at = self.record(self.steps, i, wire::STEP_RECORD_LEN)?;
        self.blob.get(at..at + wire::STEP_RECORD_LEN)
    }

    /// The decoded, validated step `i`.
    pub(crate) fn step_view(&self, i: usize) -> Option<StepView<'b>> {
        (i < self.n_steps)
            .then(|| decode_step(self, i).ok())
            .flatten()
    }

    /// Arena bytes a [`Session`](super::Session) needs.
    pub fn arena_bytes(&self) -> usize {
        self.arena_bytes as usize
    }
    /// Input shape `[h, w, c]`.
    pub fn input_shape(&self) -> [u32; 3] {
        self.tensor(self.input).map_or([0; 3], |t| t.shape)
    }
    /// Output shape `[h, w, c]`.
    pub fn output_shape(&self) -> [u32; 3] {
        self.tensor(self.output).map_or([0; 3], |t| t.shape)
    }
    /// Input `(scale, zero_point)` (host information).
    pub fn input_quant(&self) -> (f32, i8) {
        self.tensor(self.input)
            .map_or((0.0, 0), |t| (t.scale, t.zero_point))
    }
    /// Output `(scale, zero_point)` (host information).
    pub fn output_quant(&self) -> (f32, i8) {
        self.tensor(self.output)
            .map_or((0.0, 0), |t| (t.scale, t.zero_point))
    }
    /// Input tensor id.
    pub fn input_id(&self) -> u16 {
        self.input
    }
    /// Output tensor id.
    pub fn output_id(&self) -> u16 {
        self.output
    }
    /// Number of steps.
    pub fn num_steps(&self) -> usize {
        self.n_steps
    }
    /// Step `i` described for display, `None` past the end.
    pub fn step(&self, i: usize) -> Option<StepInfo<'b>> {
        let v = self.step_view(i)?;
        let rec = self.step_record(i)?;
        let p = |k: usize| u16_at(rec, wire::step::PARAMS + 2 * k).unwrap_or(0);
        use wire::step as s;
        use wire::OpCode as C;
        let pair = |a, b| [p(a), p(b)];
        let windowed = matches!(v.code, C::Conv2d | C::MaxPool | C::AvgPool);
        let if_w = |v: [u16; 2]| if windowed { v } else { [0, 0] };
        let first = v
            .inputs
            .get(0)
            .and_then(|id| self.tensor(id))
            .map_or([0; 3], |t| t.shape);
        Some(StepInfo {
            op: v.code.name(),
            inputs: v.inputs,
            output: v.output,
            input_shape: first,
            output_shape: self.tensor(v.output).map_or([0; 3], |t| t.shape),
            kernel: if_w(pair(s::P_KERNEL_H, s::P_KERNEL_W)),
            stride: if_w(pair(s::P_STRIDE_H, s::P_STRIDE_W)),
            pad: if_w(pair(s::P_PAD_TOP, s::P_PAD_LEFT)),
            dilation: match v.code {
                C::Conv2d => pair(s::P_DILATION_H, s::P_DILATION_W),
                C::MaxPool | C::AvgPool => [1, 1],
                _ => [0, 0],
            },
            groups: if v.code == C::Conv2d {
                p(s::P_GROUPS)
            } else {
                0
            },
            macs: v.macs,
            weight_bytes: v.weight_bytes,
            scratch: v.scratch,
            overlapped: v.overlapped,
        })
    }
    /// Number of tensors.
    pub fn num_tensors(&self) -> usize {
        self.n_tensors
    }
    /// Tensor `id`, `None` if unknown.
    pub fn tensor(&self, id: u16) -> Option<TensorInfo> {
        if id as usize >= self.n_tensors {
            return None;
        }
        let at = self.record(self.tensors, id as usize, self.tensor_record_len())?;
        let b = self.blob;
        let shape = [
            u32_at(b, at + tensor::SHAPE)?,
            u32_at(b, at + tensor::SHAPE + 4)?,
            u32_at(b, at + tensor::SHAPE + 8)?,
        ];
        let rows = match u16_at(b, at + tensor::RESIDENT_ROWS)? {
            0 => shape[0],
            r => u32::from(r).min(shape[0]),
        };
        let pitch = self.pitch_at(at)?;
        let len = u32::try_from(view::tensor_bytes(shape, rows, pitch)?).ok()?;
        Some(TensorInfo {
            shape,
            offset: u32_at(b, at + tensor::OFFSET)?,
            len,
            rows,
            pitch: if pitch == 0 { shape[2] } else { pitch },
            scale: f32::from_bits(u32_at(b, at + tensor::SCALE)?),
            zero_point: u8_at(b, at + tensor::ZERO_POINT)? as i8,
        })
    }
    /// Class name `class`, `None` past the end.
    pub fn label(&self, class: usize) -> Option<&'b str> {
        let r = self.data_ref_in(self.labels, class.checked_mul(wire::REF_LEN)?)?;
        core::str::from_utf8(r).ok()
    }
    /// Number of class names (may be 0).
    pub fn num_labels(&self) -> usize {
        self.labels.len() / wire::REF_LEN
    }
    /// Free-text name (source model, compiler version).
    pub fn name(&self) -> &'b str {
        self.name
    }
    /// Pixel preprocessing, if the plan has it.
    pub fn preprocess(&self) -> Option<PreprocessInfo<'b>> {
        self.preprocess
    }
    /// Total parameter bytes read from the blob.
    pub fn weights_bytes(&self) -> usize {
        self.weights_bytes
    }
    /// Total multiply-accumulates of one run.
    pub fn macs(&self) -> u64 {
        self.macs
    }
    /// The blob (up to its declared length).
    pub fn blob(&self) -> &'b [u8] {
        self.blob
    }
}
