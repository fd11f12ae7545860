//! int8 kernels, one function per [`Op`](crate::format::model::Op), exactly per the
//! contract in `format::model`.
//!
//! [`reference`](mod@reference) is the portable implementation and the oracle for any SIMD variant.
//! Kernels read parameters **in place** from the plan blob: integer arrays are little-endian
//! byte views ([`I32s`], [`U32s`]) so they work from unaligned flash.
//!
//! [`conv2d`] and [`fully_connected`] (>95% of a classifier's MACs) dispatch to the best
//! SIMD variant the CPU has ([`Isa::best`]); each is bit-exact with the reference.
//!
//! Contract of every kernel: it never panics and never allocates, whatever its arguments.
//! Inconsistent shapes/lengths give [`KernelError`]; parameter values that are out of the
//! contract (a shift of 0, an exp table of zeros) give some output, but never a panic.
//! The runtime validates everything at parse time, so it never sees an error here.

pub mod reference;

#[cfg(target_arch = "x86_64")]
mod amx;
#[cfg(target_arch = "x86_64")]
mod avx2_gemm;
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "arm", target_feature = "dsp")
))]
mod dense;
mod detect;
mod dispatch;
#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod dsp;
#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod dsp_add;
#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod dsp_dw;
#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod dsp_gemm;
#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod dsp_packed;
#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod dsp_rows;
#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod dsp_stem;
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "arm", target_feature = "dsp")
))]
mod gemm;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod vnni_gemm;
#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
mod x86_add;
#[cfg(target_arch = "x86_64")]
mod x86_pool;

pub use dispatch::{
    add_on, conv2d, conv2d_on, conv2d_on_threads, fully_connected, fully_connected_on,
    fully_connected_on_threads, max_pool, max_pool_on, Isa,
};
pub use reference::*;

/// A kernel's arguments do not fit together (lengths vs shapes vs parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelError;

/// Height, width, channels of an NHWC (batch 1) tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

impl Shape {
    /// From `[h, w, c]`.
    pub fn new(s: [u32; 3]) -> Self {
        Self {
            h: s[0] as usize,
            w: s[1] as usize,
            c: s[2] as usize,
        }
    }
    /// `h * w * c`, `None` on overflow.
    pub fn len(&self) -> Option<usize> {
        self.h.checked_mul(self.w)?.checked_mul(self.c)
    }
    /// True when any dimension is 0.
    pub fn is_empty(&self) -> bool {
        self.h == 0 || self.w == 0 || self.c == 0
    }
}

/// A read-only int8 tensor view.
#[derive(Clone, Copy, Debug)]
pub struct In<'a> {
    /// The elements, NHWC.
    pub data: &'a [i8],
    /// Its shape; `data.len()` must equal `shape.len()`.
    pub shape: Shape,
    /// Zero point.
    pub zero_point: i8,
}

/// A writable int8 tensor view.
#[derive(Debug)]
pub struct Out<'a> {
    /// The elements, NHWC.
    pub data: &'a mut [i8],
    /// Its shape; `data.len()` must equal `shape.len()`.
    pub shape: Shape,
    /// Zero point.
    pub zero_point: i8,
}

impl In<'_> {
    fn check(&self) -> Result<(), KernelError> {
        (self.shape.len() == Some(self.data.len()))
            .then_some(())
            .ok_or(KernelError)
    }
}
impl Out<'_> {
    fn check(&self) -> Result<(), KernelError> {
        (self.shape.len() == Some(self.data.len()))
            .then_some(())
            .ok_or(KernelError)
    }
}

/// An input of an elementwise op that may run in place.
#[derive(Clone, Copy, Debug)]
pub enum Operand<'a> {
    /// A separate tensor.
    Tensor(In<'a>),
    /// The output buffer itself (same shape), holding this input's values at this zero point
    /// until the op overwrites them.
    Output {
        /// The input's zero point.
        zero_point: i8,
    },
}

impl Operand<'_> {
    /// The input's zero point.
    pub fn zero_point(&self) -> i8 {
        match self {
            Operand::Tensor(t) => t.zero_point,
            Operand::Output { zero_point } => *zero_point,
        }
    }

    /// Whether this input has `y`'s shape and holds all of it (an [`Operand::Output`] is
    /// `y` itself): what the SIMD Adds check before reading it in place.
    pub fn fits(&self, y: &Out<'_>) -> bool {
        match self {
            Operand::Tensor(t) => t.shape == y.shape && t.shape.len() == Some(t.data.len()),
            Operand::Output { .. } => true,
        }
    }
}

/// A little-endian `i32` array read in place (any alignment).
#[derive(Clone, Copy, Debug, Default)]
pub struct I32s<'a>(&'a [u8]);

impl<'a> I32s<'a> {
    /// Views `bytes`; `None` unless its length is a multiple of 4.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        bytes.len().is_multiple_of(4).then_some(Self(bytes))
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Element `i`, `None` out of range.
    #[inline]
    pub fn get(&self, i: usize) -> Option<i32> {
        crate::format::wire::i32_at(self.0, i.checked_mul(4)?)
    }
    /// All elements.
    pub fn iter(&self) -> impl Iterator<Item = i32> + 'a {
        self.0
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// A little-endian `u32` array read in place (any alignment).
#[derive(Clone, Copy, Debug, Default)]
pub struct U32s<'a>(&'a [u8]);

impl<'a> U32s<'a> {
    /// Views `bytes`; `None` unless its length is a multiple of 4.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        bytes.len().is_multiple_of(4).then_some(Self(bytes))
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Element `i`, `None` out of range.
    #[inline]
    pub fn get(&self, i: usize) -> Option<u32> {
        crate::format::wire::u32_at(self.0, i.checked_mul(4)?)
    }
}

/// Per-channel (or single) fixed-point rescale, see
/// [`requantize`](crate::format::model::requantize): `len() == 1` applies to every channel.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rescale<'a> {
    /// Multipliers.
    pub multiplier: I32s<'a>,
    /// Right shifts, `1..=62` (others are clamped into that range).
    pub shift: &'a [u8],
}

impl Rescale<'_> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.multiplier.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.multiplier.is_empty()
    }
    /// True when it has one entry or `n`, with as many shifts as multipliers.
    pub fn fits(&self, n: usize) -> bool {
        let l = self.multiplier.len();
        self.shift.len() == l && (l == 1 || l == n)
    }
    /// `(multiplier, shift)` of channel `i` (entry 0 when there is one). Out of range gives
    /// `(0, 1)`; the shift is clamped into `1..=62`.
    #[inline]
    pub fn at(&self, i: usize) -> (i32, u8) {
        let i = if self.multiplier.len() == 1 { 0 } else { i };
        let m = self.multiplier.get(i).unwrap_or(0);
        let s = self.shift.get(i).copied().unwrap_or(1).clamp(1, 62);
        (m, s)
    }
}

/// Fused activation clamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clamp {
    /// Lower bound.
    pub min: i8,
    /// Upper bound.
    pub max: i8,
}

impl Clamp {
    /// No clamping beyond int8.
    pub const NONE: Self = Self {
        min: i8::MIN,
        max: i8::MAX,
    };
    /// Clamps an i32 into `[min, max]` (if `min > max`, `max` wins: never panics).
    #[inline(always)]
    pub fn apply(self, v: i32) -> i8 {
        v.max(self.min as i32).min(self.max as i32) as i8
    }
}

/// Window geometry of a conv or pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Kernel (h, w), ≥ 1.
    pub kernel: [usize; 2],
    /// Stride (h, w), ≥ 1.
    pub stride: [usize; 2],
    /// Dilation (h, w), ≥ 1 (pools: 1).
    pub dilation: [usize; 2],
    /// Padding before (top, left).
    pub pad: [usize; 2],
}

/// Parameters of a convolution (weights `[oc][kh][kw][ic / groups]`).
#[derive(Clone, Copy, Debug)]
pub struct ConvParams<'a> {
    /// Geometry.
    pub window: Window,
    /// Groups, ≥ 1, dividing both channel counts.
    pub groups: usize,
    /// Weights.
    pub weights: &'a [i8],
    /// Bias per output channel.
    pub bias: I32s<'a>,
    /// Per-channel rescale.
    pub rescale: Rescale<'a>,
    /// Fused activation.
    pub clamp: Clamp,
    /// The same weights packed at compile time for a kernel, if the plan has such a pack
    /// ([`crate::format::pack`]): the kernel of that kind reads it instead of repacking
    /// `weights`; every other kernel ignores it. It must hold the same weights (the
    /// compiler packs them from `weights`); the kernels check only its length.
    pub packed: Option<Packed<'a>>,
}

/// The pack kinds ([`crate::format::pack`]) a kernel of this build reads, best first: the
/// runtime hands a conv the first of them its plan holds, and ignores the others.
pub const NATIVE_PACKS: &[crate::format::pack::PackKind] = {
    use crate::format::pack::PackKind;
    if cfg!(target_arch = "x86_64") {
        &[PackKind::X86Vnni]
    } else if cfg!(all(target_arch = "arm", target_feature = "dsp")) {
        &[PackKind::CortexMDsp]
    } else {
        &[]
    }
};

/// A conv's weights packed at compile time for one kernel ([`crate::format::pack`]).
#[derive(Clone, Copy, Debug)]
pub enum Packed<'a> {
    /// [`PackKind::X86Vnni`](crate::format::pack::PackKind::X86Vnni), for the AVX-512 VNNI
    /// GEMM.
    X86Vnni {
        /// `[⌈oc / 32⌉][kp / 4][32][4]` weights, 0 past the taps and channels.
        blocks: &'a [u8],
        /// `Σ w` of each output channel.
        sums: I32s<'a>,
    },
    /// [`PackKind::CortexMDsp`](crate::format::pack::PackKind::CortexMDsp), for the
    /// Cortex-M DSP GEMM.
    CortexMDsp {
        /// `⌈oc / 2⌉` channel pairs of [`dsp_pair_bytes`] each (their sums' starting
        /// values, weights as i16 and requantisation constants); word-aligned (a pack that
        /// is not is not made: see [`Packed::new`]).
        ///
        /// [`dsp_pair_bytes`]: crate::format::pack::dsp_pair_bytes
        pairs: &'a [u8],
    },
}

impl<'a> Packed<'a> {
    /// A pack of `kind` (its wire bytes) for a dense conv of `oc` output channels and `k`
    /// taps per channel; `None` unless `bytes` is exactly its length (and, for the
    /// Cortex-M DSP GEMM's, which it reads with `LDM`, word-aligned).
    pub fn new(
        kind: crate::format::pack::PackKind,
        bytes: &'a [u8],
        oc: usize,
        k: usize,
    ) -> Option<Self> {
        use crate::format::pack::{packed_len, split_vnni, PackKind};
        match kind {
            PackKind::X86Vnni => {
                let (blocks, sums) = split_vnni(bytes, oc, k)?;
                Some(Self::X86Vnni {
                    blocks,
                    sums: I32s::new(sums)?,
                })
            }
            // Plans place packs 64-aligned from a 16-aligned blob: aligned in every parsed
            // plan.
            PackKind::CortexMDsp => (packed_len(kind, oc, k) == Some(bytes.len())
                && bytes.as_ptr().cast::<u32>().is_aligned())
            .then_some(Self::CortexMDsp { pairs: bytes }),
        }
    }
}

impl<'a> ConvParams<'a> {
    /// The weights, bias, rescale and clamp as a fully connected layer's (what the kernels'
    /// dot products and requantisation read).
    pub fn fc(&self) -> FcParams<'a> {
        FcParams {
            weights: self.weights,
            bias: self.bias,
            rescale: self.rescale,
            clamp: self.clamp,
        }
    }
}

/// Parameters of a fully connected layer (weights `[out][in]`).
#[derive(Clone, Copy, Debug)]
pub struct FcParams<'a> {
    /// Weights.
    pub weights: &'a [i8],
    /// Bias per output.
    pub bias: I32s<'a>,
    /// Per-output rescale.
    pub rescale: Rescale<'a>,
    /// Fused activation.
    pub clamp: Clamp,
}

/// Parameters of an average pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgParams {
    /// Geometry (dilation 1).
    pub window: Window,
    /// Padding after (bottom, right), for the divisor.
    pub pad_end: [usize; 2],
    /// ONNX `count_include_pad`.
    pub count_include_pad: bool,
    /// Clamp.
    pub clamp: Clamp,
}

/// Parameters of an elementwise add.
#[derive(Clone, Copy, Debug)]
pub struct AddParams {
    /// Rescale of `a`.
    pub a: (i32, u8),
    /// Rescale of `b`.
    pub b: (i32, u8),
    /// Rescale of the sum.
    pub out: (i32, u8),
    /// Clamp.
    pub clamp: Clamp,
}

/// Parameters of local response normalisation.
#[derive(Clone, Copy, Debug)]
pub struct LrnParams<'a> {
    /// Window size across channels, ≥ 1.
    pub size: usize,
    /// Factor table, ≥ 1 entry.
    pub lut: I32s<'a>,
    /// Right shift after the multiply, `1..=62`.
    pub lut_shift: u8,
}

#[cfg(feature = "alloc")]
/// Scratch bytes a step needs in the arena (the compiler plans them). The reference kernels
/// work without scratch, so this is 0 for every op today.
pub fn scratch_bytes(
    op: &crate::format::model::Op,
    in_shape: [u32; 3],
    out_shape: [u32; 3],
) -> u32 {
    let _ = (op, in_shape, out_shape);
    0
}
