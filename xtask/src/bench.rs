//! `cargo xtask bench`: edgecnn int8 against tract f32 (same ONNX, same Rust process
//! family: the `edgecnn bench --float` path) and ONNX Runtime f32 and int8
//! (`models/bench/ort_bench.py`, QOperator U8S8 per-channel from the same calibration
//! images), one thread each, interleaved: every round times each engine once per model,
//! and the table reports the median over rounds of each round's median (≥ 10 timed runs
//! after warm-up per round). Then the Cortex-M4/M7 instruction counts under
//! `qemu-system-arm -icount shift=0` (`cargo xtask boards`).
//!
//! Builds the CLI in the release profile (a second tract build, ~13 min cold on 2 cores:
//! benchmarks are not part of `cargo xtask test`). Writes the table as Markdown to
//! `$CARGO_TARGET_DIR/bench/results.md`.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use crate::fullsize;
use crate::setup::PYTHON;
use crate::util::{err, host_cargo, host_target_dir, output, run, Result};

/// One benchmarked model and how to feed it.
struct Model {
    name: String,
    onnx: PathBuf,
    /// `edgecnn compile` options beyond the model, calibration set and output.
    compile: &'static [&'static str],
    calibration: &'static str,
    /// `ort_bench.py` options describing the same preprocessing.
    ort: &'static [&'static str],
}

const MICRO_COMPILE: &[&str] = &["--channels", "1", "--mean", "0.2860", "--std", "0.3530"];
const MICRO_ORT: &[&str] = &[
    "--channels",
    "1",
    "--size",
    "28",
    "--mean",
    "0.2860",
    "--std",
    "0.3530",
];
const FULL_COMPILE: &[&str] = &["--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"];
const FULL_ORT: &[&str] = &["--size", "224"];
/// Packs for this host's kernels: on x86-64 the VNNI GEMM's layout, so that it reads the
/// weights in place (unused, and harmless, on a CPU without VNNI).
const HOST_PACKS: &[&str] = if cfg!(target_arch = "x86_64") {
    &["--pack", "x86-vnni"]
} else {
    &[]
};

const MICRO: [&str; 4] = ["resnet8", "alexnet", "vgg", "googlenet"];
const FULL: [&str; 5] = ["resnet18", "resnet50", "googlenet", "vgg11", "alexnet"];

/// Options of `cargo xtask bench`.
pub struct Options {
    /// Timed runs per engine, model and round.
    pub runs: usize,
    /// Rounds (each times every engine once per model).
    pub rounds: usize,
    /// Only these models (`micro_resnet8`, `resnet18`, …); all when empty.
    pub only: Vec<String>,
    /// Skip ONNX Runtime (no Python packages needed).
    pub no_ort: bool,
    /// Skip the QEMU instruction counts.
    pub no_boards: bool,
}

impl Options {
    pub fn parse(mut rest: &[&str]) -> Result<Self> {
        let mut o = Options {
            runs: 10,
            rounds: 3,
            only: Vec::new(),
            no_ort: false,
            no_boards: false,
        };
        let number = |flag: &str, v: &str| -> Result<usize> {
            v.parse::<usize>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| err(format!("{flag} wants a whole number ≥ 1, not `{v}`")))
        };
        loop {
            match rest {
                [] => return Ok(o),
                ["--runs", v, more @ ..] => {
                    o.runs = number("--runs", v)?;
                    rest = more;
                }
                ["--rounds", v, more @ ..] => {
                    o.rounds = number("--rounds", v)?;
                    rest = more;
                }
                ["--models", v, more @ ..] => {
                    o.only = v.split(',').map(str::to_string).collect();
                    rest = more;
                }
                ["--no-ort", more @ ..] => {
                    o.no_ort = true;
                    rest = more;
                }
                ["--no-boards", more @ ..] => {
                    o.no_boards = true;
                    rest = more;
                }
                _ => return Err(err(format!("unexpected arguments: {}", rest.join(" ")))),
            }
        }
    }
}

fn models(root: &Path) -> Vec<Model> {
    let micro = MICRO.iter().map(|m| Model {
        name: format!("micro_{m}"),
        onnx: root.join(format!("models/micro_{m}.onnx")),
        compile: MICRO_COMPILE,
        calibration: "models/data/fashion-calib",
        ort: MICRO_ORT,
    });
    let full = FULL.iter().map(|m| Model {
        name: m.to_string(),
        onnx: fullsize::cache(root).join(format!("{m}.onnx")),
        compile: FULL_COMPILE,
        calibration: "models/data/photos-calib",
        ort: FULL_ORT,
    });
    micro.chain(full).collect()
}

/// Medians (ms) of one model, one entry per round.
#[derive(Default)]
struct Times {
    edgecnn: Vec<f64>,
    tract: Vec<f64>,
    ort_f32: Vec<f64>,
    ort_int8: Vec<f64>,
}

pub fn run_bench(root: &Path, o: &Options) -> Result<()> {
    let models: Vec<Model> = models(root)
        .into_iter()
        .filter(|m| o.only.is_empty() || o.only.contains(&m.name))
        .collect();
    if models.is_empty() {
        return Err(err("--models matched none of the benchmarked models"));
    }
    let target = host_target_dir(root);
    let dir = target.join("bench");
    fs::create_dir_all(&dir).map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;

    println!("bench 1/4: build the edgecnn CLI in release (first time: ~13 min on 2 cores)");
    run(host_cargo().current_dir(root).args([
        "build",
        "--release",
        "--features",
        "cli",
        "--bin",
        "edgecnn",
    ]))?;
    let cli = target.join("release/edgecnn");

    if models.iter().any(|m| !m.onnx.is_file()) {
        println!("bench: exporting the full-size models (models/build.py full)");
        if let Some(export) = fullsize::spawn_missing(root)? {
            export.wait()?;
        }
    }

    println!("bench 2/4: compile every model to an int8 plan");
    for m in &models {
        let plan = dir.join(format!("{}.plan", m.name));
        run(Command::new(&cli)
            .current_dir(root)
            .arg("compile")
            .arg(&m.onnx)
            .args(["--calibration", m.calibration])
            .args(m.compile)
            .args(HOST_PACKS)
            .arg("-o")
            .arg(&plan))?;
    }

    let python = if o.no_ort {
        None
    } else {
        Some(ort_python(root, &target)?)
    };

    println!(
        "bench 3/4: {} rounds × {} runs per engine and model, interleaved, one thread",
        o.rounds, o.runs
    );
    let mut times: Vec<Times> = models.iter().map(|_| Times::default()).collect();
    let runs = o.runs.to_string();
    for round in 1..=o.rounds {
        for (m, t) in models.iter().zip(&mut times) {
            let plan = dir.join(format!("{}.plan", m.name));
            let bench = |target: &Path, extra: &[&str]| -> Result<f64> {
                let out = output(
                    Command::new(&cli)
                        .arg("bench")
                        .arg(target)
                        .args(["--runs", &runs, "--warmup", "3", "--json"])
                        .args(extra),
                )?;
                json_number(&out, "median_ms")
            };
            t.edgecnn.push(bench(&plan, &[])?);
            t.tract.push(bench(&m.onnx, &["--float"])?);
            if let Some(py) = &python {
                let int8 = dir.join(format!("{}.ort-u8s8.onnx", m.name));
                let out = output(
                    Command::new(PYTHON)
                        .env("PYTHONPATH", py)
                        .current_dir(root)
                        .arg("models/bench/ort_bench.py")
                        .arg(&m.onnx)
                        .arg(m.calibration)
                        .args(["--runs", &runs, "--warmup", "3"])
                        .args(m.ort)
                        .arg("--int8-cache")
                        .arg(&int8),
                )?;
                t.ort_f32.push(json_number(&out, "ort_f32_ms")?);
                t.ort_int8.push(json_number(&out, "ort_int8_ms")?);
            }
            println!(
                "  round {round}/{}: {:<16} edgecnn {:.3} ms, tract f32 {:.3} ms{}",
                o.rounds,
                m.name,
                t.edgecnn.last().copied().unwrap_or(0.0),
                t.tract.last().copied().unwrap_or(0.0),
                match (t.ort_f32.last(), t.ort_int8.last()) {
                    (Some(f), Some(i)) => format!(", ORT f32 {f:.3} ms, ORT int8 {i:.3} ms"),
                    _ => String::new(),
                }
            );
        }
    }

    let table = table(&models, &mut times, &cpu_model(), o);
    println!("\n{table}");
    let md = dir.join("results.md");
    fs::write(&md, &table).map_err(|e| err(format!("cannot write {}: {e}", md.display())))?;
    println!("bench: table written to {}", md.display());

    if o.no_boards {
        return Ok(());
    }
    println!("bench 4/4: Cortex-M4/M7 instructions per inference (QEMU -icount shift=0)");
    crate::board_table::run(root)
}

/// The Markdown result table: medians over rounds and the ratios `other / edgecnn`.
fn table(models: &[Model], times: &mut [Times], cpu: &str, o: &Options) -> String {
    let mut s = format!(
        "Measured {} on {cpu}, one thread, `cargo xtask bench --runs {} --rounds {}`: \
         median over rounds of each round's median (ms); ratio = other ÷ edgecnn \
         (> 1: edgecnn is faster).\n\n",
        today(),
        o.runs,
        o.rounds
    );
    s.push_str(
        "| model | edgecnn int8 | tract f32 | ratio | ORT f32 | ratio | ORT int8 | ratio |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (m, t) in models.iter().zip(times) {
        let e = median(&mut t.edgecnn);
        let cell = |v: &mut Vec<f64>| -> (String, String) {
            if v.is_empty() {
                return ("-".into(), "-".into());
            }
            let x = median(v);
            (format!("{x:.2}"), format!("{:.2}×", x / e))
        };
        let (tr, trr) = cell(&mut t.tract);
        let (of, ofr) = cell(&mut t.ort_f32);
        let (oi, oir) = cell(&mut t.ort_int8);
        s.push_str(&format!(
            "| {} | {e:.2} | {tr} | {trr} | {of} | {ofr} | {oi} | {oir} |\n",
            m.name
        ));
    }
    s
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The number after `"key":` in a one-line JSON object.
fn json_number(json: &str, key: &str) -> Result<f64> {
    let pat = format!("\"{key}\":");
    json.find(&pat)
        .map(|i| json[i + pat.len()..].trim_start())
        .and_then(|rest| {
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+')))
                .unwrap_or(rest.len());
            rest[..end].trim().parse().ok()
        })
        .ok_or_else(|| err(format!("no number `{key}` in `{}`", json.trim())))
}

/// A folder on `PYTHONPATH` where `onnxruntime` (and the rest of models/requirements.txt,
/// pinned) imports, installed there with pip the first time.
fn ort_python(root: &Path, target: &Path) -> Result<PathBuf> {
    let dir = target.join("bench-python");
    let imports = |dir: &Path| {
        Command::new(PYTHON)
            .env("PYTHONPATH", dir)
            .args(["-c", "import onnxruntime, onnx, PIL"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if imports(&dir) {
        return Ok(dir);
    }
    println!(
        "bench: installing models/requirements.txt (pinned onnxruntime) into {}",
        dir.display()
    );
    crate::setup::pip_install(root, Some(&dir)).map_err(|e| {
        err(format!(
            "{e}\n(pip is needed for the ONNX Runtime columns: `cargo xtask setup --models`, \
             or run `cargo xtask bench --no-ort`)"
        ))
    })?;
    if imports(&dir) {
        Ok(dir)
    } else {
        Err(err(format!(
            "onnxruntime still does not import from {}",
            dir.display()
        )))
    }
}

/// `model name` from /proc/cpuinfo.
fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".into())
}

/// Today's date (UTC), from `date`.
fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "(date unknown)".into())
}
