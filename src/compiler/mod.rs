//! The host-side compiler (feature `compiler`): ONNX → calibrated int8 [`PlanModel`].
//!
//! Stages, each handing a distinct type to the next:
//! `import` (tract → [`ir::Graph`], float) → `passes` → `calibrate` (ranges) →
//! `quantize` → `memplan` → `emit` ([`PlanModel`]).
//!
//! Only `import` (and the float reference [`FloatModel`]) name tract types.

use std::path::{Path, PathBuf};

use crate::format::model::{Layout, PlanModel};

/// How activation ranges are chosen from calibration data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CalibrationMethod {
    /// Observed minimum and maximum.
    MinMax,
    /// The given percentile of |values| (e.g. 99.99), per tensor.
    Percentile(f32),
}

/// How the float input tensor is made from 8-bit pixels; stored in the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PreprocessSpec {
    /// `real = (pixel * scale - mean[c]) / std[c]`
    pub scale: f32,
    /// Per-channel mean (1 or C entries).
    pub mean: Vec<f32>,
    /// Per-channel std (1 or C entries).
    pub std: Vec<f32>,
}

/// Everything `compile` needs besides the model file.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Input shape in the model's own layout, e.g. `[1, 3, 224, 224]`; required only when
    /// the file's input has a symbolic dimension.
    pub input_shape: Option<Vec<usize>>,
    /// Calibration method.
    pub method: CalibrationMethod,
    /// Pixel preprocessing stored in the plan (None for `.npy` calibration inputs).
    pub preprocess: Option<PreprocessSpec>,
    /// Class names stored in the plan.
    pub labels: Vec<String>,
}

/// Compiler failures. Every variant names the file (and node) involved; none is a panic.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The model file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// tract could not load or type the model.
    #[error("{path}: cannot load ONNX model: {message}")]
    Load {
        /// The file.
        path: PathBuf,
        /// tract's message, flattened.
        message: String,
    },
    /// The input has a symbolic dimension and no `input_shape` was given.
    #[error("{path}: input `{input}` has a dynamic shape {shape}; pass --input-shape (e.g. 1,3,224,224)")]
    DynamicInput {
        /// The file.
        path: PathBuf,
        /// Input name.
        input: String,
        /// The shape as tract prints it.
        shape: String,
    },
    /// An op (or op configuration) the IR cannot express.
    #[error("{path}: node `{node}` ({op}): unsupported: {why}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Node name.
        node: String,
        /// Op type.
        op: String,
        /// What exactly is not supported.
        why: String,
    },
    /// Calibration data does not fit the model.
    #[error("calibration: {0}")]
    Calibration(String),
    /// Anything else, with context.
    #[error("{0}")]
    Other(String),
}

/// Compiles `model` into a plan, calibrating on `calibration` (float inputs, each one item in
/// the model's own layout, batch dimension dropped). `progress(done, total)` is called as
/// calibration advances.
pub fn compile(
    model: &Path,
    calibration: &[Vec<f32>],
    options: &CompileOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PlanModel, CompileError> {
    let _ = (model, calibration, options, progress);
    Err(CompileError::Other("compiler not implemented yet".into()))
}

/// The float reference (tract), for parity tests and `eval --reference`.
pub struct FloatModel {
    _private: (),
}

impl FloatModel {
    /// Loads `model`, fixing the input shape (required if the file's is dynamic).
    pub fn load(model: &Path, input_shape: Option<&[usize]>) -> Result<Self, CompileError> {
        let _ = (model, input_shape);
        Err(CompileError::Other("not implemented yet".into()))
    }
    /// The input shape in the model's layout, batch included.
    pub fn input_shape(&self) -> &[usize] {
        &[]
    }
    /// The model's input layout as the import pass recognised it.
    pub fn layout(&self) -> Layout {
        Layout::Nchw
    }
    /// Runs one input (model layout, batch dropped) and returns the flattened output.
    pub fn run(&self, input: &[f32]) -> Result<Vec<f32>, CompileError> {
        let _ = input;
        Err(CompileError::Other("not implemented yet".into()))
    }
}
