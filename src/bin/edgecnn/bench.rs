//! `edgecnn bench`: time `Session::run` on a plan in one process.
//!
//! The input is the plan's zero-point input (all zeros in the quantised
//! domain); warm-up runs come first, then `--runs` timed runs. One thread:
//! the runtime has no threading yet.

use std::time::Instant;

use edgecnn::compiler::FloatModel;
use edgecnn::kernels::Isa;
use edgecnn::runtime::Session;
use serde_json::json;

use crate::args::BenchArgs;
use crate::fail::{Context, Fail, Result};
use crate::plan::{self, LoadedPlan};

/// The kernel ISA the dispatcher picks on this CPU (the most capable available).
fn isa() -> String {
    let best = Isa::ALL.iter().rev().find(|i| i.available());
    format!("{:?}", best.copied().unwrap_or(Isa::Reference))
}

/// Runs the benchmark and prints min/median/max milliseconds.
pub fn run(args: &BenchArgs) -> Result<()> {
    if args.float {
        return run_float(args);
    }
    let loaded = LoadedPlan::read(&args.plan)?;
    let plan = loaded.plan()?;
    let mut arena = plan::arena(&plan);
    let mut session = Session::new(&plan, &mut arena).at(&args.plan)?;
    for _ in 0..args.warmup {
        session.run().at(&args.plan)?;
    }
    let mut ms = Vec::with_capacity(args.runs.max(1));
    for _ in 0..args.runs.max(1) {
        let t = Instant::now();
        session.run().at(&args.plan)?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report(args, ms, &isa())
}

/// `--float`: times tract f32 on the ONNX model (zero input), for comparison.
fn run_float(args: &BenchArgs) -> Result<()> {
    let model = FloatModel::load(&args.plan, None).map_err(|e| Fail::at(&args.plan, e))?;
    let n: usize = model.input_shape().iter().skip(1).product();
    let x = vec![0.0f32; n];
    for _ in 0..args.warmup {
        model.run(&x).map_err(|e| Fail::at(&args.plan, e))?;
    }
    let mut ms = Vec::with_capacity(args.runs.max(1));
    for _ in 0..args.runs.max(1) {
        let t = Instant::now();
        model.run(&x).map_err(|e| Fail::at(&args.plan, e))?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report(args, ms, "tract-f32")
}

/// Prints min/median/max (text or JSON).
fn report(args: &BenchArgs, mut ms: Vec<f64>, isa: &str) -> Result<()> {
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let (min, max) = (ms[0], ms[ms.len() - 1]);
    if args.json {
        let v = json!({"median_ms": median, "min_ms": min, "max_ms": max,
            "runs": ms.len(), "warmup": args.warmup, "threads": 1, "isa": isa});
        println!("{v}");
    } else {
        println!(
            "{} runs: min {min:.3} ms, median {median:.3} ms, max {max:.3} ms; isa {isa}; 1 thread (no threading yet)",
            ms.len()
        );
    }
    Ok(())
}
