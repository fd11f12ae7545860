//! `edgecnn compile`: calibration inputs → `compiler::compile` → plan file + summary.

use std::time::Instant;

use edgecnn::compiler::{self, CompileError, CompileOptions, FloatModel, PreprocessSpec};
use edgecnn::format::model::Layout;
use edgecnn::image::Normalize;

use crate::args::CompileArgs;
use crate::data::{self, Inputs};
use crate::fail::{Context, Fail, Result};
use crate::plan::LoadedPlan;
use crate::progress;
use crate::sample::Shape;

/// Runs the command.
pub fn run(args: &CompileArgs) -> Result<()> {
    let start = Instant::now();
    std::fs::metadata(&args.model).at(&args.model)?;
    // Load the float model first: a broken model file is reported before anything else.
    let float = FloatModel::load(
        &args.model,
        args.input_shape.as_ref().map(|d| d.0.as_slice()),
    )?;
    let labels = match &args.labels {
        Some(p) => data::class_names(p)?,
        None => Vec::new(),
    };
    let inputs = data::calibration(&args.calibration, args.limit)?;
    let norm = Normalize {
        scale: args.scale,
        mean: args.mean.0.clone(),
        std: args.std.0.clone(),
    };

    let (calibration, preprocess) = match &inputs {
        Inputs::Tensor { items, path, .. } => {
            let want: usize = float.input_shape().iter().skip(1).product();
            if items[0].len() != want {
                return Err(Fail::at(
                    path,
                    format!(
                        "items have {} values, the model's input {:?} takes {want}",
                        items[0].len(),
                        float.input_shape()
                    ),
                ));
            }
            (items.clone(), None)
        }
        Inputs::Images(_) => {
            let shape = image_shape(args, &float)?;
            norm.check(shape.c as usize)
                .map_err(|e| Fail::at(&args.calibration, e))?;
            let pb = progress::bar(inputs.len(), "decoding");
            let mut items = Vec::with_capacity(inputs.len());
            for i in 0..inputs.len() {
                let sample = shape.load(&inputs, i)?;
                items.push(shape.float_input(&sample, Some(&norm))?);
                pb.inc(1);
            }
            pb.finish_and_clear();
            let spec = PreprocessSpec {
                scale: norm.scale,
                mean: norm.mean.clone(),
                std: norm.std.clone(),
            };
            (items, Some(spec))
        }
    };

    let options = CompileOptions {
        input_shape: args.input_shape.as_ref().map(|d| d.0.clone()),
        method: args.calibration_method,
        preprocess,
        labels,
    };
    let pb = progress::bar(calibration.len(), "calibrating");
    let memory = compiler::MemoryOptions {
        in_place: !args.no_in_place,
        window_overlap: !args.no_window_overlap,
        streaming: !args.no_streaming,
        zero_copy_concat: !args.no_zero_copy_concat,
    };
    let result = compiler::compile_with_memory(
        &args.model,
        &calibration,
        &options,
        memory,
        &mut |done, total| {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
        },
    )
    .map(|(plan, _)| plan);
    pb.finish_and_clear();
    let model = result.map_err(|e| match e {
        CompileError::Calibration(_) => Fail::at(&args.calibration, e),
        e => Fail::from(e),
    })?;

    let blob = model.encode_with_packs(&args.pack);
    std::fs::write(&args.output, &blob).at(&args.output)?;
    let plan = LoadedPlan::from_bytes(&blob, &args.output);
    let p = plan.plan()?;
    let packs = if p.num_packs() == 0 {
        String::new()
    } else {
        format!(" (+{} bytes in {} packs)", p.packed_bytes(), p.num_packs())
    };
    println!(
        "{}: {} steps, arena {} bytes, weights {} bytes{packs}, {} MACs, {} calibration inputs, {:.1} s",
        args.output.display(),
        p.num_steps(),
        p.arena_bytes(),
        p.weights_bytes(),
        p.macs(),
        calibration.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The model's image input `(h, w, c, layout)`: from `--input-shape` or the model itself,
/// with `--layout` and `--channels` as overrides / checks.
fn image_shape(args: &CompileArgs, float: &FloatModel) -> Result<Shape> {
    let shape = float.input_shape().to_vec();
    let layout = args.layout.map_or(float.layout(), Layout::from);
    let s = Shape::from_model(&shape, layout, &args.model)?;
    if let Some(c) = args.channels {
        if u32::from(c) != s.c {
            return Err(Fail::at(
                &args.model,
                format!(
                    "--channels {c}, but the input {shape:?} ({layout:?}) has {} channel(s)",
                    s.c
                ),
            ));
        }
    }
    if !(s.c == 1 || s.c == 3) {
        return Err(Fail::at(
            &args.model,
            format!(
                "input {shape:?} read as {layout:?} has {} channel(s); images give 1 or 3 \
                 (pass --layout if the layout was misread)",
                s.c
            ),
        ));
    }
    Ok(s)
}
