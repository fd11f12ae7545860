//! Host-only helpers (feature `std`): float ↔ int8 conversion of a plan's input and output,
//! and a plan blob held on a cache-line boundary. Never used by the run path, which is
//! integer only.

use super::error::RunError;
use super::plan::Plan;

/// Quantises a float input (NHWC, the plan's input shape) with the input tensor's scale and
/// zero point: `q = clamp(round(v / scale) + zp, -128, 127)`. Fails with
/// [`RunError::InputLength`] when `input` or `out` has the wrong length.
pub fn quantize_input(plan: &Plan<'_>, input: &[f32], out: &mut [i8]) -> Result<(), RunError> {
    let expected = plan.tensor(plan.input_id()).map_or(0, |t| t.len as usize);
    for got in [input.len(), out.len()] {
        if got != expected {
            return Err(RunError::InputLength { expected, got });
        }
    }
    let (scale, zp) = plan.input_quant();
    for (o, &v) in out.iter_mut().zip(input) {
        let q = if scale > 0.0 {
            (v / scale).round()
        } else {
            0.0
        };
        *o = (q + zp as f32).clamp(-128.0, 127.0) as i8;
    }
    Ok(())
}

/// Dequantises the output tensor: `scale * (q - zp)` into `out` (resized to fit).
pub fn dequantize_output(plan: &Plan<'_>, q: &[i8], out: &mut Vec<f32>) {
    let (scale, zp) = plan.output_quant();
    out.clear();
    out.extend(q.iter().map(|&v| scale * (v as f32 - zp as f32)));
}

/// Cache-line alignment [`AlignedBlob`] gives.
pub const BLOB_ALIGN: usize = 64;

/// An owned copy of a plan blob that starts on a [`BLOB_ALIGN`]-byte boundary.
///
/// [`Plan::parse`] takes a blob at any alignment, but the encoder places every pack
/// ([`crate::format::pack`]) on a 64-byte boundary from the blob's start, so that the
/// kernels' 64-byte weight loads each touch one cache line when the blob itself is
/// 64-aligned. `std::fs::read` gives a `Vec<u8>` that usually is not (glibc's large
/// allocations start 16 bytes into a page); this keeps the bytes where it is.
///
/// ```
/// use edgecnn::runtime::AlignedBlob;
/// let blob = AlignedBlob::new(b"ECNN....");
/// assert_eq!(blob.as_bytes(), b"ECNN....");
/// assert_eq!(blob.as_bytes().as_ptr() as usize % 64, 0);
/// ```
#[derive(Clone)]
pub struct AlignedBlob {
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBlob {
    /// Copies `bytes` to a 64-aligned buffer (`BLOB_ALIGN - 1` bytes larger). Allocates;
    /// never panics except on allocation failure.
    pub fn new(bytes: &[u8]) -> Self {
        let mut buf = vec![0u8; bytes.len() + BLOB_ALIGN - 1];
        let start = buf.as_ptr().align_offset(BLOB_ALIGN).min(BLOB_ALIGN - 1);
        if let Some(dst) = buf.get_mut(start..start + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        AlignedBlob {
            buf,
            start,
            len: bytes.len(),
        }
    }

    /// Reads the file at `path` (see [`std::fs::read`] for its errors).
    pub fn read(path: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        Ok(Self::new(&std::fs::read(path)?))
    }

    /// The blob.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf
            .get(self.start..self.start + self.len)
            .unwrap_or(&[])
    }
}

impl core::fmt::Debug for AlignedBlob {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AlignedBlob")
            .field("len", &self.len)
            .finish()
    }
}
