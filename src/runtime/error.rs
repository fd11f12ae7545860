//! The runtime's error enums: small, `Copy`, one per operation.

use core::fmt;

/// Why a step record was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StepFault {
    /// The record lies outside the blob.
    Truncated,
    /// Unknown op code.
    UnknownOp(u8),
    /// Wrong number of inputs for the op.
    Arity,
    /// An input or output id is not in the tensor table.
    UnknownTensor(u16),
    /// A data reference leaves the data section or has a bad length for its element type.
    Ref,
    /// Tensor shapes do not fit the op and its parameters.
    Shape,
    /// A kernel, stride or dilation of 0, or a fused clamp with `min > max`.
    Window,
    /// `groups` is 0 or does not divide the channel counts.
    Groups,
    /// Weights length is not `oc × kh × kw × ic / groups` (or `out × in`).
    Weights,
    /// Bias length is not one per output channel.
    Bias,
    /// Multiplier/shift counts wrong, or a shift outside `1..=62`.
    Rescale,
    /// LRN or softmax table empty, wrong length, or unusable.
    Lut,
    /// The output overlaps an input, or the scratch overlaps either or leaves the arena.
    Overlap,
    /// A streamed tensor (fewer resident rows than rows) that is not written by a conv or
    /// pool and read only by the conv or pool right after it, whose buffer is too small for
    /// that pair, or whose producer's input overlaps the consumer's output.
    Stream,
    /// A view (a tensor with a pixel pitch, [`crate::format::view`]) written by a step that
    /// is not a conv or pool with a row of scratch, or read by a step that is not a Concat
    /// whose output it is exactly a channel slice of.
    View,
    /// A size computation overflowed.
    Overflow,
    /// Pool or concat inputs whose zero point differs from the output's (the contract says
    /// they share it).
    ZeroPoint,
}

/// [`Plan::parse`](super::Plan::parse) failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParseError {
    /// Shorter than the header or than the length it declares.
    Truncated {
        /// Bytes needed.
        needed: u32,
        /// Bytes given.
        got: usize,
    },
    /// Does not start with `ECNN`.
    BadMagic,
    /// A wire version this runtime does not read.
    UnsupportedVersion(u16),
    /// The header length or a reserved field is not what version 1 says.
    BadHeader,
    /// The CRC-32 does not match: the blob is corrupt.
    Checksum {
        /// Stored in the header.
        stored: u32,
        /// Computed over the blob.
        computed: u32,
    },
    /// A section is misaligned or leaves the blob.
    Section,
    /// A tensor has a zero dimension, overflows, or leaves the arena.
    Tensor(u16),
    /// The model's input or output id is not a tensor.
    InputOutput,
    /// A step is invalid.
    Step {
        /// Step index.
        step: u32,
        /// What is wrong.
        fault: StepFault,
    },
    /// The label table or a label is malformed (bad reference or not UTF-8).
    Labels,
    /// The name is malformed (bad reference or not UTF-8).
    Name,
    /// The preprocess record is malformed or its table does not match the input channels.
    Preprocess,
    /// A pack record ([`crate::format::pack`]) has an unknown kind or non-zero reserved
    /// bytes, is out of `(step, kind)` order, names a step that is not a dense conv, or its
    /// bytes leave the data section or are not the kind's length for that conv.
    Pack {
        /// Record index in the pack table.
        record: u32,
    },
}

/// [`Session::new`](super::Session::new) failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BindError {
    /// The arena is smaller than the plan's `arena_bytes`.
    ArenaTooSmall {
        /// Bytes the plan needs.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
}

/// Session failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RunError {
    /// The input has the wrong number of elements.
    InputLength {
        /// The input tensor's length.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// The plan has no preprocess table for raw pixels.
    NoPreprocess,
    /// A step could not run. Cannot happen for a plan that parsed; kept so that even an
    /// internal inconsistency is an error, not a panic.
    Step(u32),
}

impl fmt::Display for StepFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("record outside the blob"),
            Self::UnknownOp(c) => write!(f, "unknown op code {c}"),
            Self::Arity => f.write_str("wrong number of inputs"),
            Self::UnknownTensor(t) => write!(f, "unknown tensor id {t}"),
            Self::Ref => f.write_str("data reference out of bounds or misshaped"),
            Self::Shape => f.write_str("tensor shapes do not fit the op"),
            Self::Window => f.write_str("zero kernel/stride/dilation or inverted clamp"),
            Self::Groups => f.write_str("groups do not divide the channels"),
            Self::Weights => f.write_str("weights length mismatch"),
            Self::Bias => f.write_str("bias length mismatch"),
            Self::Rescale => f.write_str("bad multiplier/shift counts or shift outside 1..=62"),
            Self::Lut => f.write_str("bad lookup table"),
            Self::Overlap => f.write_str("output overlaps an input, or scratch misplaced"),
            Self::Stream => f.write_str("streamed tensor misused or its buffer too small"),
            Self::View => f.write_str("view misused: not written by a conv or pool with a row of scratch, or not read as its slice by a Concat"),
            Self::Overflow => f.write_str("size overflow"),
            Self::ZeroPoint => f.write_str("input and output zero points differ"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, got } => {
                write!(f, "plan truncated: needs {needed} bytes, got {got}")
            }
            Self::BadMagic => f.write_str("not an edgecnn plan (bad magic)"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported plan version {v}"),
            Self::BadHeader => f.write_str("malformed plan header"),
            Self::Checksum { stored, computed } => {
                write!(
                    f,
                    "plan checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
                )
            }
            Self::Section => f.write_str("plan section misaligned or out of bounds"),
            Self::Tensor(t) => write!(f, "tensor {t} is empty, overflows or leaves the arena"),
            Self::InputOutput => f.write_str("plan input/output id is not a tensor"),
            Self::Step { step, fault } => write!(f, "step {step}: {fault}"),
            Self::Labels => f.write_str("malformed label table"),
            Self::Name => f.write_str("malformed plan name"),
            Self::Preprocess => f.write_str("malformed preprocess record"),
            Self::Pack { record } => write!(
                f,
                "pack record {record}: unknown kind, out of order, not a dense conv's, or wrong length"
            ),
        }
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ArenaTooSmall { needed, available } => {
                write!(
                    f,
                    "arena too small: plan needs {needed} bytes, {available} given"
                )
            }
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InputLength { expected, got } => {
                write!(f, "input has {got} elements, the plan expects {expected}")
            }
            Self::NoPreprocess => f.write_str("plan has no pixel preprocessing table"),
            Self::Step(s) => write!(f, "step {s} could not run"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ParseError {}
#[cfg(feature = "std")]
impl std::error::Error for BindError {}
#[cfg(feature = "std")]
impl std::error::Error for RunError {}
