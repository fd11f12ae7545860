//! Host-only helpers (feature `std`): float ↔ int8 conversion of a plan's input and output.
//! Never used by the run path, which is integer only.

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
