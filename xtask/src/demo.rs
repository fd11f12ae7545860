//! `cargo xtask demo`: the main job, end to end on this host, through the `edgecnn` CLI:
//! compile the bundled micro ResNet-8 (ONNX) to an int8 plan calibrated on real images,
//! evaluate it against its labels and the float reference, classify three images, and show
//! the plan. Uses the same dev profile as `cargo xtask test`, so tract is compiled once.

use std::{ffi::OsString, fs, path::Path};

use crate::util::{err, host_cargo, run, Result};

const MODEL: &str = "models/micro_resnet8.onnx";
const CALIBRATION: &str = "models/data/fashion-calib";
const CLASSES: &str = "models/data/fashion-classes.txt";
const TEST_SET: &str = "models/data/fashion-test";
const TEST_LABELS: &str = "models/data/fashion-test/labels.txt";
const PLAN: &str = "target/demo/micro_resnet8.plan";

pub fn run_demo(root: &Path) -> Result<()> {
    check_inputs(root)?;
    let images = first_images(&root.join(TEST_SET), 3)?;
    fs::create_dir_all(root.join("target/demo"))
        .map_err(|e| err(format!("cannot create target/demo: {e}")))?;

    println!("demo 1/5: build the edgecnn CLI (first time: compiles tract, ~10 min on 2 cores)");
    run(host_cargo()
        .current_dir(root)
        .args(["build", "--features", "cli", "--bin", "edgecnn"]))?;

    println!("demo 2/5: compile {MODEL} to an int8 plan, calibrated on {CALIBRATION}");
    compile_plan(root, Path::new(PLAN))?;

    println!("demo 3/5: int8 accuracy vs. labels and vs. the float model (tract)");
    edgecnn(
        root,
        &[
            "eval",
            PLAN,
            "--inputs",
            TEST_SET,
            "--labels",
            TEST_LABELS,
            "--reference",
            MODEL,
        ],
    )?;

    println!("demo 4/5: classify {} test images", images.len());
    let mut args: Vec<OsString> = vec!["classify".into(), PLAN.into()];
    args.extend(images.into_iter().map(OsString::from));
    args.extend(["--top".into(), "3".into()]);
    edgecnn(root, &args)?;

    println!("demo 5/5: the plan, step by step");
    edgecnn(root, &["inspect", PLAN])?;
    println!("demo: done; the plan is {PLAN}");
    Ok(())
}

/// `edgecnn compile` of the demo model (micro ResNet-8, Fashion-MNIST preprocessing) to `out`.
pub fn compile_plan(root: &Path, out: &Path) -> Result<()> {
    compile_model(root, MODEL, out, &[])
}

/// Compiles any bundled ONNX model (`models/….onnx`) like the demo model: same calibration
/// set, labels and normalisation.
/// `extra`: more `edgecnn compile` arguments (such as `--pack KIND`).
pub fn compile_model(root: &Path, model: &str, out: &Path, extra: &[&str]) -> Result<()> {
    let out = out.as_os_str();
    let args: [&std::ffi::OsStr; 16] = [
        "compile".as_ref(),
        model.as_ref(),
        "--calibration".as_ref(),
        CALIBRATION.as_ref(),
        "--labels".as_ref(),
        CLASSES.as_ref(),
        "--channels".as_ref(),
        "1".as_ref(),
        "--scale".as_ref(),
        "0.00392156862745098".as_ref(),
        "--mean".as_ref(),
        "0.2860".as_ref(),
        "--std".as_ref(),
        "0.3530".as_ref(),
        "-o".as_ref(),
        out,
    ];
    let extra = extra.iter().map(std::ffi::OsStr::new);
    let all: Vec<&std::ffi::OsStr> = args.into_iter().chain(extra).collect();
    edgecnn(root, &all)
}

/// The first test image, the one a board classifies by default.
pub const BOARD_IMAGE: &str = "models/data/fashion-test/0000.png";

/// `cargo run -q --features cli --bin edgecnn -- <args>` in the repository root.
pub fn edgecnn<S: AsRef<std::ffi::OsStr>>(root: &Path, args: &[S]) -> Result<()> {
    run(host_cargo()
        .current_dir(root)
        .args(["run", "-q", "--features", "cli", "--bin", "edgecnn", "--"])
        .args(args))
}

/// Fails, saying how to rebuild them, when the bundled model or images are missing.
pub fn check_inputs(root: &Path) -> Result<()> {
    for input in [MODEL, CALIBRATION, CLASSES, TEST_SET, TEST_LABELS] {
        if !root.join(input).exists() {
            return Err(err(format!(
                "{input} is missing: it is part of the repository; rebuild it with \
                 `cargo xtask setup --models && cargo xtask models`"
            )));
        }
    }
    Ok(())
}

/// The first `n` PNG/JPEG files of `dir` (sorted by name), as paths relative to the root.
fn first_images(dir: &Path, n: usize) -> Result<Vec<String>> {
    let entries =
        fs::read_dir(dir).map_err(|e| err(format!("cannot read {}: {e}", dir.display())))?;
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            let lower = name.to_ascii_lowercase();
            [".png", ".jpg", ".jpeg"].iter().any(|x| lower.ends_with(x))
        })
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(err(format!("{} has no PNG/JPEG images", dir.display())));
    }
    Ok(names
        .into_iter()
        .take(n)
        .map(|name| format!("{TEST_SET}/{name}"))
        .collect())
}
