//! `cargo xtask golden [MODEL…]`: regenerates `tests/data/golden/<model>/` for every bundled
//! micro model (`models/micro_*.onnx`, or the named ones):
//!
//! 1. `model.plan`: `edgecnn compile` with the bundled calibration set and normalisation,
//!    exactly as `cargo xtask demo` compiles the demo model, plus the Cortex-M DSP pack
//!    (`--pack cortex-m-dsp`) for the models in [`PACKED`];
//! 2. `inputs.bin`, `labels.txt`, `expected.bin`, `expected.txt`: `tests/board_golden.rs`
//!    run with `EDGECNN_GOLDEN_WRITE=1` (decodes the first test images, runs the host
//!    runtime through the boards' own `classify_one`).
//!
//! The files are committed; the boards' `build.rs` embed them and never compile a model.

use std::{fs, path::Path};

use crate::demo;
use crate::util::{err, host_cargo, run, Result};

/// The golden folder, relative to the repository root.
pub const GOLDEN: &str = "tests/data/golden";

/// The golden models compiled with `--pack cortex-m-dsp`, so that the boards run the
/// packed DSP GEMM on them. The others (micro_alexnet) keep canonical weights only: the
/// boards run the unpacked GEMM on them, and all four, with their packs, still fit the
/// nRF52840's 1 MiB of flash (a pack holds a conv's weights again as i16).
pub const PACKED: &[&str] = &["micro_googlenet", "micro_resnet8", "micro_vgg"];

/// The bundled micro models (`models/micro_*.onnx`), by stem, sorted.
pub fn bundled_models(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("models");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| err(format!("cannot read {}: {e}", dir.display())))?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".onnx")
                .filter(|stem| stem.starts_with("micro_"))
                .map(String::from)
        })
        .collect();
    names.sort();
    Ok(names)
}

pub fn run_golden(root: &Path, only: &[&str]) -> Result<()> {
    demo::check_inputs(root)?;
    let models: Vec<String> = if only.is_empty() {
        bundled_models(root)?
    } else {
        only.iter().map(|s| s.to_string()).collect()
    };
    if models.is_empty() {
        return Err(err("no models/micro_*.onnx to compile"));
    }
    println!(
        "golden 1/2: compile {} with the edgecnn CLI",
        models.join(", ")
    );
    for model in &models {
        let onnx = format!("models/{model}.onnx");
        if !root.join(&onnx).is_file() {
            return Err(err(format!("{onnx} does not exist")));
        }
        let dir = root.join(GOLDEN).join(model);
        fs::create_dir_all(&dir)
            .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
        let packs: &[&str] = if PACKED.contains(&model.as_str()) {
            &["--pack", "cortex-m-dsp"]
        } else {
            &[]
        };
        demo::compile_model(root, &onnx, &dir.join("model.plan"), packs)?;
    }
    println!("golden 2/2: inputs and the host runtime's outputs (tests/board_golden.rs)");
    run(host_cargo()
        .current_dir(root)
        .env("EDGECNN_GOLDEN_WRITE", "1")
        .args([
            "test",
            "--features",
            "cli",
            "--test",
            "board_golden",
            "--",
            "--nocapture",
        ]))?;
    println!(
        "golden: wrote {GOLDEN}/{{{}}}; commit them",
        models.join(",")
    );
    Ok(())
}
