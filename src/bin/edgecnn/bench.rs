//! `edgecnn bench`: time `Session::run` on a plan in one process.
//!
//! The input is the plan's zero-point input (all zeros in the quantised
//! domain); warm-up runs come first, then `--runs` timed runs on `--threads`
//! threads (default 1).

use std::time::Instant;

use edgecnn::compiler::FloatModel;
use edgecnn::kernels::Isa;
use edgecnn::runtime::Session;
use serde_json::json;

use crate::args::BenchArgs;
use crate::fail::{Context, Fail, Result};
use crate::plan::{self, LoadedPlan};

/// Runs the benchmark and prints min/median/max milliseconds.
pub fn run(args: &BenchArgs) -> Result<()> {
    if args.float {
        return run_float(args);
    }
    let loaded = LoadedPlan::read(&args.plan)?;
    let plan = loaded.plan()?;
    let mut arena = plan::arena(&plan);
    let mut session = Session::new(&plan, &mut arena).at(&args.plan)?;
    session.set_threads(args.threads.into());
    if let Some(name) = &args.isa {
        session.set_isa(parse_isa(name).map_err(|e| Fail::at(&args.plan, e))?);
    }
    for _ in 0..args.warmup {
        session.run().at(&args.plan)?;
    }
    let runs = args.runs.max(1);
    let mut ms = Vec::with_capacity(runs);
    // `steps[k][r]`: milliseconds of step `k` in run `r` (with `--per-step`).
    let mut steps = vec![Vec::with_capacity(runs); plan.num_steps()];
    for _ in 0..runs {
        let t = Instant::now();
        if args.per_step {
            let mut last = t;
            session
                .run_with(|k, _, _| {
                    let now = Instant::now();
                    if let Some(v) = steps.get_mut(k) {
                        v.push((now - last).as_secs_f64() * 1e3);
                    }
                    last = now;
                })
                .at(&args.plan)?;
        } else {
            session.run().at(&args.plan)?;
        }
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    if args.per_step {
        print_steps(&plan, &mut steps);
    }
    let isa = format!("{:?}", session.isa());
    report(args, ms, &isa, args.threads.into())
}

/// One line per step: op, MACs, median ms, share of the summed medians, GMAC/s.
fn print_steps(plan: &edgecnn::runtime::Plan<'_>, steps: &mut [Vec<f64>]) {
    let medians: Vec<f64> = steps.iter_mut().map(|v| median(v)).collect();
    let total: f64 = medians.iter().sum();
    println!("step  op              MACs          median_ms  share  GMAC/s");
    for (k, &t) in medians.iter().enumerate() {
        let Some(s) = plan.step(k) else { continue };
        let gmacs = if t > 0.0 {
            s.macs as f64 / t / 1e6
        } else {
            0.0
        };
        println!(
            "{k:>4}  {:<15} {:>13} {t:>10.3} {:>5.1}% {gmacs:>7.1}",
            s.op,
            s.macs,
            100.0 * t / total.max(f64::MIN_POSITIVE),
        );
    }
}

/// The median of `v` (sorted in place); 0 when empty.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// `--isa NAME`: an [`Isa`] by its lower-case name, which this CPU must be able to run.
fn parse_isa(name: &str) -> core::result::Result<Isa, String> {
    let lower = |i: &Isa| format!("{i:?}").to_lowercase();
    let available: Vec<String> = Isa::all_available().map(|i| lower(&i)).collect();
    match Isa::ALL.iter().find(|i| lower(i) == name.to_lowercase()) {
        Some(&isa) if isa.available() => Ok(isa),
        Some(_) => Err(format!(
            "--isa {name}: this CPU (or build) cannot run it; available: {}",
            available.join(", ")
        )),
        None => Err(format!(
            "--isa {name}: unknown; this CPU has: {}",
            available.join(", ")
        )),
    }
}

/// `--float`: times tract f32 on the ONNX model (zero input), for comparison.
fn run_float(args: &BenchArgs) -> Result<()> {
    if args.threads != 1 {
        return Err(Fail::at(
            &args.plan,
            "--float times tract on one thread: drop --threads",
        ));
    }
    if args.isa.is_some() {
        return Err(Fail::at(&args.plan, "--float times tract: drop --isa"));
    }
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
    report(args, ms, "tract-f32", 1)
}

/// Prints min/median/max (text or JSON).
fn report(args: &BenchArgs, mut ms: Vec<f64>, isa: &str, threads: usize) -> Result<()> {
    let median = median(&mut ms);
    let (min, max) = (ms[0], ms[ms.len() - 1]);
    if args.json {
        let v = json!({"median_ms": median, "min_ms": min, "max_ms": max,
            "runs": ms.len(), "warmup": args.warmup, "threads": threads, "isa": isa});
        println!("{v}");
    } else {
        println!(
            "{} runs: min {min:.3} ms, median {median:.3} ms, max {max:.3} ms; isa {isa}; {threads} thread{}",
            ms.len(),
            if threads == 1 { "" } else { "s" }
        );
    }
    Ok(())
}
