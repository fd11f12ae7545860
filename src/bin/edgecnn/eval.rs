//! `edgecnn eval`: int8 top-1 on a labelled set, and with `--reference` the float model's
//! top-1 and the int8/float top-1 agreement on the very same inputs.

use edgecnn::compiler::{CompileError, FloatModel};
use edgecnn::format::model::Layout;
use edgecnn::runtime::Session;
use serde_json::json;

use crate::args::EvalArgs;
use crate::data::{self, Inputs};
use crate::fail::{Context, Fail, Result};
use crate::plan::{self, LoadedPlan};
use crate::progress;
use crate::sample::{guess_layout, Sample};

/// Index of the largest value (the first on ties).
fn argmax<T: PartialOrd + Copy>(v: &[T]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &x) in v.iter().enumerate() {
        if best.is_none_or(|b| x > v[b]) {
            best = Some(i);
        }
    }
    best
}

/// Runs the command.
pub fn run(args: &EvalArgs) -> Result<()> {
    let loaded = LoadedPlan::read(&args.plan)?;
    let plan = loaded.plan()?;
    let (inputs, labels) = data::labelled(&args.inputs, &args.labels, args.limit)?;
    let recipe = plan::recipe(&plan);
    let [h, w, c] = plan.input_shape();

    // The source layout: stored with the plan's recipe; for `.npy` items read from their
    // shape when the plan has none (the reference model settles ties, else NCHW).
    let known = match (&recipe, &inputs) {
        (Some((_, l)), _) => Some(*l),
        (None, Inputs::Tensor { item_shape, .. }) => guess_layout(item_shape, h, w, c),
        (None, Inputs::Images(_)) => {
            return Err(Fail::at(
                &args.plan,
                "the plan has no pixel preprocessing (it was compiled from .npy inputs); \
                 evaluate it on .npy inputs",
            ))
        }
    };
    let reference = match &args.reference {
        Some(p) => {
            let fixed = plan::input_shape(&plan, known.unwrap_or(Layout::Nchw)).model_shape();
            Some(load_reference(p, &fixed)?)
        }
        None => None,
    };
    let layout = known
        .or(reference.as_ref().map(FloatModel::layout))
        .unwrap_or(Layout::Nchw);
    let shape = plan::input_shape(&plan, layout);
    if let Some(m) = &reference {
        if m.input_shape().iter().product::<usize>() != shape.len() {
            return Err(Fail::at(
                args.reference.as_deref().unwrap_or(&args.plan),
                format!(
                    "the model's input {:?} does not match the plan's input {h}x{w}x{c}",
                    m.input_shape()
                ),
            ));
        }
    }
    let norm = recipe.as_ref().map(|(n, _)| n);
    let in_quant = plan.input_quant();

    let mut arena = plan::arena(&plan);
    let mut session = Session::new(&plan, &mut arena).at(&args.plan)?;
    session.set_threads(args.threads.into());
    let (mut int8_ok, mut float_ok, mut agree) = (0usize, 0usize, 0usize);
    let pb = progress::bar(inputs.len(), "evaluating");
    for (i, &label) in labels.iter().enumerate() {
        let sample = shape.load(&inputs, i)?;
        let source = source_name(&inputs, i, &args.inputs);
        match &sample {
            Sample::Pixels(p) => session.set_input_pixels(p.as_bytes()).at(&source)?,
            Sample::Float(v) => session
                .set_input(&shape.quantize(v, in_quant.0, in_quant.1))
                .at(&source)?,
        }
        session.run().at(&source)?;
        let out = session.output();
        if label >= out.len() {
            return Err(Fail::at(
                &args.labels,
                format!(
                    "label {label} of input {i}, the plan has {} classes",
                    out.len()
                ),
            ));
        }
        let int8 = argmax(out);
        int8_ok += usize::from(int8 == Some(label));
        if let Some(m) = &reference {
            let x = shape.float_input(&sample, norm)?;
            let y = m.run(&x).map_err(|e| Fail::at(&source, e))?;
            let float = argmax(&y);
            float_ok += usize::from(float == Some(label));
            agree += usize::from(float == int8);
        }
        pb.inc(1);
    }
    pb.finish_and_clear();

    let n = labels.len();
    let frac = |k: usize| k as f64 / n as f64;
    let with_ref = |k: usize| reference.as_ref().map(|_| frac(k));
    if args.json {
        println!(
            "{}",
            json!({
                "plan": args.plan.display().to_string(),
                "inputs": args.inputs.display().to_string(),
                "n": n,
                "int8_top1": frac(int8_ok),
                "float_top1": with_ref(float_ok),
                "agreement": with_ref(agree),
                "arena_bytes": plan.arena_bytes(),
                "weights_bytes": plan.weights_bytes(),
                "macs": plan.macs(),
            })
        );
    } else {
        println!("{}: {n} inputs", args.plan.display());
        println!("  int8 top-1   {:.4}", frac(int8_ok));
        if reference.is_some() {
            println!("  float top-1  {:.4}", frac(float_ok));
            println!("  agreement    {:.4}", frac(agree));
        }
        println!("  arena        {} bytes", plan.arena_bytes());
    }
    Ok(())
}

/// Loads the float model, fixing its input to `shape` only if the file's is dynamic.
fn load_reference(path: &std::path::Path, shape: &[usize]) -> Result<FloatModel> {
    match FloatModel::load(path, None) {
        Err(CompileError::DynamicInput { .. }) => Ok(FloatModel::load(path, Some(shape))?),
        r => Ok(r?),
    }
}

/// The file to name when input `i` fails.
fn source_name(inputs: &Inputs, i: usize, dir: &std::path::Path) -> std::path::PathBuf {
    match inputs {
        Inputs::Images(files) => files[i].clone(),
        Inputs::Tensor { .. } => dir.to_path_buf(),
    }
}
