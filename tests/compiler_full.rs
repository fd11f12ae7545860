//! Full-size torchvision exports (models/cache/*.onnx, made by `models/build.py full`, not
//! committed; or the directory in `EDGECNN_FULL_DIR`): int8 logits against tract's float
//! logits on real photos, cosine ≥ 0.98. Slow, so `#[ignore]`d:
//! `cargo test --release --features compiler,image --test compiler_full -- --ignored --nocapture`.
#![cfg(all(feature = "compiler", feature = "image"))]

mod compiler_support;

use std::path::PathBuf;

use compiler_support::cosine;
use edgecnn::compiler::{
    compile_with_report, CalibrationMethod, CompileOptions, FloatModel, PreprocessSpec,
};
use edgecnn::runtime::{dequantize_output, Plan, Session};

const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

fn dir() -> PathBuf {
    std::env::var_os("EDGECNN_FULL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/cache"))
}

/// 224×224 RGB photos (HWC u8), sorted by name.
fn photos() -> Vec<Vec<u8>> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/data/photos");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| image::open(p).unwrap().to_rgb8())
        .filter(|im| im.dimensions() == (224, 224))
        .map(|im| im.into_raw())
        .collect()
}

/// HWC pixels to the float NCHW input (batch dropped).
fn nchw(px: &[u8]) -> Vec<f32> {
    let mut v = vec![0.0; px.len()];
    for i in 0..224 * 224 {
        for c in 0..3 {
            v[c * 224 * 224 + i] = (px[i * 3 + c] as f32 / 255.0 - MEAN[c]) / STD[c];
        }
    }
    v
}

fn check(name: &str) {
    let model = dir().join(format!("{name}.onnx"));
    if !model.exists() {
        eprintln!("{}: not present, skipped", model.display());
        return;
    }
    let photos = photos();
    assert!(photos.len() >= 6, "need photos in models/data/photos");
    let (calib, test) = photos.split_at(photos.len() / 2);
    let calib: Vec<Vec<f32>> = calib.iter().map(|p| nchw(p)).collect();
    let options = CompileOptions {
        input_shape: Some(vec![1, 3, 224, 224]),
        method: CalibrationMethod::DEFAULT,
        preprocess: Some(PreprocessSpec {
            scale: 1.0 / 255.0,
            mean: MEAN.to_vec(),
            std: STD.to_vec(),
        }),
        labels: vec![],
    };
    let t0 = std::time::Instant::now();
    let (plan, report) = compile_with_report(&model, &calib, &options, &mut |_, _| {}).unwrap();
    eprintln!(
        "{name}: compiled in {:.1} s: {} steps, arena {} B, lower bound {} B, naive {} B",
        t0.elapsed().as_secs_f32(),
        plan.steps.len(),
        report.memory.arena_bytes,
        report.memory.lower_bound_bytes,
        report.memory.naive_bytes
    );
    compiler_support::assert_memory_sound(&plan);
    let float = FloatModel::load(&model, Some(&[1, 3, 224, 224])).unwrap();
    let blob = plan.encode();
    let p = Plan::parse(&blob).unwrap();
    let mut arena = vec![0u8; p.arena_bytes()];
    let mut s = Session::new(&p, &mut arena).unwrap();
    let mut worst = 1.0f32;
    for px in test {
        let want = float.run(&nchw(px)).unwrap();
        s.set_input_pixels(px).unwrap();
        s.run().unwrap();
        let mut got = vec![];
        dequantize_output(&p, s.output(), &mut got);
        let c = cosine(&want, &got);
        eprintln!("  {name}: logits cosine {c:.5}");
        worst = worst.min(c);
    }
    assert!(worst >= 0.98, "{name}: worst cosine {worst}");
}

#[test]
#[ignore]
fn resnet18() {
    check("resnet18");
}

#[test]
#[ignore]
fn resnet50() {
    check("resnet50");
}

#[test]
#[ignore]
fn alexnet() {
    check("alexnet");
}

#[test]
#[ignore]
fn googlenet() {
    check("googlenet");
}

#[test]
#[ignore]
fn vgg11() {
    check("vgg11");
}

#[test]
#[ignore]
fn vgg16() {
    check("vgg16");
}
