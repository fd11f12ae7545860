//! The trained micro models (models/micro_*.onnx) on the Fashion-MNIST test images: int8
//! top-1 within 0.5 point of float and ≥ 97 % agreement. A missing model fails (they are committed).
#![cfg(all(feature = "compiler", feature = "image"))]

mod compiler_support;

use std::path::{Path, PathBuf};

use edgecnn::compiler::{
    compile_with_report, CalibrationMethod, CompileOptions, FloatModel, PreprocessSpec,
};
use edgecnn::format::model::PlanModel;
use edgecnn::runtime::{dequantize_output, Plan, Session};

const MEAN: f32 = 0.2860;
const STD: f32 = 0.3530;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn gray(path: &Path) -> Vec<u8> {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_luma8()
        .into_raw()
}

fn normalize(px: &[u8]) -> Vec<f32> {
    px.iter()
        .map(|&p| (p as f32 / 255.0 - MEAN) / STD)
        .collect()
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

fn test_set() -> Vec<(Vec<u8>, usize)> {
    let dir = root().join("data/fashion-test");
    let labels = std::fs::read_to_string(dir.join("labels.txt")).unwrap();
    labels
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (f, c) = (it.next()?, it.next()?.parse().ok()?);
            Some((gray(&dir.join(f)), c))
        })
        .collect()
}

fn calib_set() -> Vec<Vec<f32>> {
    let dir = root().join("data/fashion-calib");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    files.iter().map(|p| normalize(&gray(p))).collect()
}

fn int8_logits(plan: &PlanModel, px: &[u8]) -> Vec<f32> {
    let blob = plan.encode();
    let p = Plan::parse(&blob).unwrap();
    let mut arena = vec![0u8; p.arena_bytes()];
    let mut s = Session::new(&p, &mut arena).unwrap();
    s.set_input_pixels(px).unwrap();
    s.run().unwrap();
    let mut out = vec![];
    dequantize_output(&p, s.output(), &mut out);
    out
}

struct Figures {
    float_acc: f64,
    int8_acc: f64,
    agreement: f64,
    mean_cosine: f64,
}

fn evaluate(
    model: &Path,
    method: CalibrationMethod,
    calib: &[Vec<f32>],
    test: &[(Vec<u8>, usize)],
) -> Figures {
    let float = FloatModel::load(model, None).unwrap();
    let options = CompileOptions {
        input_shape: None,
        method,
        preprocess: Some(PreprocessSpec {
            scale: 1.0 / 255.0,
            mean: vec![MEAN],
            std: vec![STD],
        }),
        labels: vec![],
    };
    let (plan, report) = compile_with_report(model, calib, &options, &mut |_, _| {}).unwrap();
    compiler_support::assert_memory_sound(&plan);
    let (mut f_ok, mut q_ok, mut agree, mut cos) = (0, 0, 0, 0.0);
    for (px, label) in test {
        let fl = float.run(&normalize(px)).unwrap();
        let ql = int8_logits(&plan, px);
        cos += compiler_support::cosine(&fl, &ql) as f64;
        let (f, q) = (argmax(&fl), argmax(&ql));
        f_ok += (f == *label) as usize;
        q_ok += (q == *label) as usize;
        agree += (f == q) as usize;
    }
    let n = test.len() as f64;
    let fig = Figures {
        float_acc: 100.0 * f_ok as f64 / n,
        int8_acc: 100.0 * q_ok as f64 / n,
        agreement: 100.0 * agree as f64 / n,
        mean_cosine: cos / n,
    };
    eprintln!(
        "{} {method:?}: float {:.2} %, int8 {:.2} %, agreement {:.2} %, logits cosine {:.5} ({} images), {} steps, arena {} B (lower bound {}, naive {})",
        model.file_name().unwrap().to_string_lossy(),
        fig.float_acc,
        fig.int8_acc,
        fig.agreement,
        fig.mean_cosine,
        test.len(),
        plan.steps.len(),
        report.memory.arena_bytes,
        report.memory.lower_bound_bytes,
        report.memory.naive_bytes,
    );
    fig
}

fn check(name: &str) {
    let model = root().join(format!("{name}.onnx"));
    assert!(
        model.exists(),
        "{}: missing (committed; rebuild with `cargo xtask models micro`)",
        model.display()
    );
    let (calib, test) = (calib_set(), test_set());
    assert!(test.len() >= 100 && !calib.is_empty());
    let f = evaluate(&model, CalibrationMethod::DEFAULT, &calib, &test);
    assert!(
        f.int8_acc >= f.float_acc - 0.5,
        "{name}: int8 {} vs float {}",
        f.int8_acc,
        f.float_acc
    );
    assert!(f.agreement >= 97.0, "{name}: agreement {}", f.agreement);
}

#[test]
fn micro_resnet8() {
    check("micro_resnet8");
}

#[test]
fn micro_alexnet() {
    check("micro_alexnet");
}

#[test]
fn micro_vgg() {
    check("micro_vgg");
}

#[test]
fn micro_googlenet() {
    check("micro_googlenet");
}

/// Every calibration method on every micro model (the measurement behind the default).
#[test]
#[ignore]
fn compare_calibration_methods() {
    let (calib, test) = (calib_set(), test_set());
    for name in [
        "micro_resnet8",
        "micro_alexnet",
        "micro_vgg",
        "micro_googlenet",
    ] {
        let model = root().join(format!("{name}.onnx"));
        if model.exists() {
            for m in [
                CalibrationMethod::MinMax,
                CalibrationMethod::Percentile(99.99),
                CalibrationMethod::Percentile(99.9),
                CalibrationMethod::Mse,
            ] {
                evaluate(&model, m, &calib, &test);
            }
        }
    }
}
