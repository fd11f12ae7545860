//! The plan wire format: the host↔device contract.
//!
//! * [`model`] (feature `alloc`): the owned meaning of a plan, built by the compiler,
//!   written by `PlanModel::encode`.
//! * the wire layout (no_std): parsed and validated by [`crate::runtime::Plan::parse`].
//!
//! # Wire layout, versions 1 to 4
//!
//! Version 2 only gives meaning to a tensor record's bytes 22..24 (resident rows, for a
//! streamed tensor); version 1 requires them to be zero. Version 3 makes tensor records 32
//! bytes long: bytes 24..28 hold the pixel pitch of a *view* (a tensor written straight into
//! its slice of a Concat's output, [`view`]; 0 for a dense tensor), bytes 28..32 are zero.
//! Version 4 (32-byte tensor records too) gives the header's last 8 bytes to the table of
//! *packs*: dense convs' weights laid out ahead of time for one kernel ([`pack`]), each
//! on a 64-byte boundary from the blob's start. The encoder writes the oldest version that
//! holds the plan: 1 without streams, views or packs, 2 with a stream, 3 with a view, 4
//! with a pack. So plans without them stay readable by older runtimes, and plans with them
//! are refused by those rather than misread.
//!
//! All integers little-endian, read with `from_le_bytes` (no alignment needed). Every
//! section and every data item starts 16-byte aligned relative to the blob start, so a blob
//! placed 16-aligned in flash has naturally aligned arrays. Weights and tables are read **in
//! place**: nothing is copied out of the blob. A *ref* is `(offset: u32, len: u32)` in bytes,
//! `offset` from the blob start; every ref of a used field lies inside the data section.
//! Field offsets are in [`wire`] (`wire::header`, `wire::tensor`, `wire::step`, …).
//!
//! ```text
//! header (80 bytes)
//!   0  magic "ECNN"          4  version u16 (1–4)   6  header_len u16 = 80
//!   8  total_len u32          12 crc32 u32 of blob[16 .. total_len] (CRC-32/ISO-HDLC)
//!   16 arena_bytes u32        20 input id u16         22 output id u16
//!   24 tensor table (offset u32, count u32)           32 step table (offset u32, count u32)
//!   40 data section (offset u32, len u32)             48 labels: ref to `count` refs
//!   56 name: ref (UTF-8)      64 preprocess: ref to the preprocess record, len 0 = none
//!   72 versions 1–3: reserved [u8; 8] = 0; version 4: pack table (offset u32, count u32)
//! tensor record (24 bytes)
//!   0 h, w, c: u32 × 3        12 arena offset u32     16 scale f32 (bits)
//!   20 zero_point i8          21 zero u8      22 resident rows u16 (0 = whole tensor)
//!   version 3 only (32-byte records): 24 pixel pitch u32 (0 = dense)   28 zero u32
//! step record (80 bytes)
//!   0 op u8 (1 Conv2d, 2 FullyConnected, 3 MaxPool, 4 AvgPool, 5 Add, 6 Concat, 7 Lrn,
//!     8 Softmax, 9 Requantize)    1 act_min i8    2 act_max i8
//!   3 flags u8 (bit 0: AvgPool count_include_pad)  4 output id u16   6 num_inputs u16
//!   8 inputs: ref to num_inputs × u16 ids          16 scratch offset u32   20 scratch len u32
//!   24 params [u16; 12]: kernel h, w | stride h, w | dilation h, w | pad top, left |
//!      pad bottom, right (AvgPool) | groups (Conv2d) or LRN size | LRN lut_shift
//!   48 refs [ref; 4]:
//!      Conv2d, FullyConnected: weights i8, bias i32, multiplier i32 (1 or oc), shift u8
//!      Add: -, -, multipliers [a, b, out] i32, shifts [a, b, out] u8
//!      Requantize: -, -, multiplier i32 (1), shift u8 (1)
//!      Lrn: lut i32 (≥ 1 entry)      Softmax: exp_lut u32 × 256      others: unused
//! pack record (16 bytes, version 4; sorted by (step, kind), strictly)
//!   0 step u16 (a dense Conv2d)   2 kind u8 (1 x86-vnni)   3 zero u8   4 zero u32
//!   8 ref to the packed bytes (exactly `pack::packed_len` for the conv and kind)
//! preprocess record (32 bytes, in the data section)
//!   0 scale f32    4 source layout u8 (0 NCHW, 1 NHWC), 3 zero bytes
//!   8 lut: ref to c × 256 i8 (table of channel k at k × 256)   16 mean: ref f32 × n
//!   24 std: ref f32 × n
//! data section: packs (64-aligned), weights, biases, multipliers, shifts, LUTs, input-id
//!   lists, label strings and the label ref table, the name, the preprocess arrays and
//!   record; 16-aligned items.
//! ```
//!
//! The encoder lays sections out as header, tensor table, step table, pack table, data
//! (64-aligned when there are packs), and pads the
//! blob to a multiple of 16; the parser only relies on the offsets in the header.
//!
//! Arena rules the parser enforces: every tensor (all dimensions ≥ 1) lies inside
//! `0..arena_bytes`; a step's output does not overlap its inputs, except that `Add` and
//! `Requantize` may run **in place** (output occupying exactly an input's bytes), and a
//! `Conv2d`, `MaxPool` or `AvgPool` output may overlap its input **by rows** where
//! [`overlap::RowOverlap::is_safe`] holds (the runtime then computes it in bands); a tensor
//! with resident rows (fewer than its height) is **streamed** between a conv or pool and the
//! conv or pool right after it, its only reader ([`stream`]: the buffer must fit that pair's
//! schedule, the producer's input lies apart from the consumer's output); a tensor with a
//! pixel pitch is a **view** ([`view`]): written by a conv or pool with at least a row of
//! scratch, read only by Concats of whose output it is exactly a channel slice; a step's
//! scratch `(offset, len)` lies inside the arena and overlaps neither its inputs nor output.
//! `FullyConnected` outputs are `1 × 1 × out`; pool and concat inputs share the output's
//! zero point. Requantisation arrays hold one entry or one per output channel (`Add`:
//! exactly three, `Requantize`: one), shifts in `1..=62`. Output sizes of convs and pools
//! lie between the floor-mode size without end padding and the ceil-mode size (the last
//! window starts inside the input or the start padding).
//!
//! # Panic contract
//!
//! Everything here that runs on the device (the field readers in [`wire`], [`crc32`],
//! [`math`]) is total: readers return `None` outside the slice, never panic, never allocate.
//! The encoder ([`model`], host only) never panics either: a model that breaks the contract
//! still encodes and the parser rejects it. Enforced by the same
//! `#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic,
//! clippy::indexing_slicing)]` as [`crate::runtime`] (see its contract).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod crc32;
pub mod math;
#[cfg(feature = "alloc")]
pub mod model;
pub mod overlap;
pub mod pack;
pub mod stream;
pub mod view;
pub mod wire;

/// Memory layout of a float tensor as the source model (or a `.npy` file) has it.
/// (Defined here, without `alloc`, so the runtime's `PreprocessInfo` can carry it;
/// re-exported by [`model`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Layout {
    /// Channels first (torch, ONNX default).
    Nchw,
    /// Channels last (TensorFlow exports).
    Nhwc,
}
