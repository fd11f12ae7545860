//! `edgecnn classify`: decode images, run the plan, print top-K classes.

use edgecnn::classify::top_k;
use edgecnn::runtime::Session;
use serde_json::json;

use crate::args::ClassifyArgs;
use crate::fail::{Context, Fail, Result};
use crate::plan::{self, LoadedPlan};

/// The largest `--top` (the const capacity handed to `top_k`).
const MAX_TOP: usize = 64;

/// Runs the command.
pub fn run(args: &ClassifyArgs) -> Result<()> {
    let loaded = LoadedPlan::read(&args.plan)?;
    let plan = loaded.plan()?;
    let names = plan::class_names(&plan, args.labels.as_deref())?;
    let Some((_, layout)) = plan::recipe(&plan) else {
        return Err(Fail::at(
            &args.plan,
            "the plan has no pixel preprocessing (it was compiled from .npy inputs); \
             recompile it from images to classify images",
        ));
    };
    let shape = plan::input_shape(&plan, layout);
    let channels = u8::try_from(shape.c).unwrap_or(0);
    let out_quant = plan.output_quant();
    let mut arena = plan::arena(&plan);
    let mut session = Session::new(&plan, &mut arena).at(&args.plan)?;
    session.set_threads(args.threads.into());

    let mut results = Vec::new();
    for path in &args.images {
        let pixels = edgecnn::image::load(path, shape.h, shape.w, channels)?;
        session.set_input_pixels(pixels.as_bytes()).at(path)?;
        session.run().at(path)?;
        let top = top_k::<MAX_TOP>(session.output());
        let top: Vec<_> = top
            .iter()
            .take(usize::from(args.top))
            .map(|class| {
                let i = usize::from(class.index);
                // No name (or an empty one) is JSON null.
                let name = names.get(i).filter(|n| !n.is_empty()).cloned();
                (i, name, plan::dequantize(class.score, out_quant))
            })
            .collect();
        if args.json {
            results.push(json!({
                "file": path.display().to_string(),
                "top": top.iter().map(|(i, name, score)| json!({
                    "index": i, "label": name, "score": score,
                })).collect::<Vec<_>>(),
            }));
        } else {
            println!("{}", path.display());
            for (rank, (i, name, score)) in top.iter().enumerate() {
                let name = name.as_deref().unwrap_or("");
                println!("  {:>2}. {score:>9.4}  {i:>4}  {name}", rank + 1);
            }
        }
    }
    if args.json {
        println!(
            "{}",
            json!({ "plan": args.plan.display().to_string(), "results": results })
        );
    }
    Ok(())
}
