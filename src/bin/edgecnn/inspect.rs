//! `edgecnn inspect`: the plan step by step (op, shapes, MACs, weights, arena, scratch) and
//! its memory figures, computed from the plan file alone ([`edgecnn::compiler::memory`]).

use edgecnn::compiler::memory::{self, MemoryReport};
use edgecnn::format::pack::PackKind;
use edgecnn::runtime::Plan;
use serde_json::{json, Value};

use crate::arena_map;
use crate::args::InspectArgs;
use crate::fail::{Context, Result};
use crate::inspect_svg;
use crate::plan::LoadedPlan;

/// Runs the command.
pub fn run(args: &InspectArgs) -> Result<()> {
    let loaded = LoadedPlan::read(&args.plan)?;
    let plan = loaded.plan()?;
    let steps: Vec<Value> = (0..plan.num_steps())
        .filter_map(|i| step_json(&plan, i))
        .collect();
    let mem = memory::plan_report(&plan);
    if let Some(svg) = &args.svg {
        std::fs::write(svg, inspect_svg::render(&plan, &mem)).at(svg)?;
    }
    // Every pack: (step, kind, bytes).
    let packs: Vec<(usize, PackKind, usize)> = (0..plan.num_steps())
        .flat_map(|i| PackKind::ALL.into_iter().map(move |k| (i, k)))
        .filter_map(|(i, k)| Some((i, k, plan.pack(i, k)?.len())))
        .collect();
    if args.json {
        let pack_json: Vec<Value> = packs
            .iter()
            .map(|&(step, kind, bytes)| json!({"step": step, "kind": kind.name(), "bytes": bytes}))
            .collect();
        let tensors: Vec<Value> = (0..plan.num_tensors())
            .filter_map(|id| tensor_json(&plan, u16::try_from(id).ok()?))
            .collect();
        println!(
            "{}",
            json!({
                "plan": args.plan.display().to_string(),
                "name": plan.name(),
                "arena_bytes": plan.arena_bytes(),
                "tensor_lower_bound_bytes": mem.lower_bound_bytes,
                "greedy_bytes": mem.greedy_bytes,
                "naive_bytes": mem.naive_bytes,
                "buffer_lower_bound_bytes": mem.buffer_lower_bound_bytes,
                "in_place_steps": mem.in_place_steps,
                "overlapped_steps": mem.overlapped_steps,
                "streamed_tensors": mem.streamed_tensors,
                "view_tensors": mem.view_tensors,
                "weights_bytes": plan.weights_bytes(),
                "packed_bytes": plan.packed_bytes(),
                "packs": pack_json,
                "macs": plan.macs(),
                "input_shape": plan.input_shape(),
                "output_shape": plan.output_shape(),
                "labels": plan.num_labels(),
                "preprocess": plan.preprocess().is_some(),
                "steps": steps,
                "tensors": tensors,
            })
        );
        return Ok(());
    }
    println!("{}: {}", args.plan.display(), plan.name());
    println!(
        "{:>4}  {:<15} {:<24} {:<12} {:>13} {:>11} {:>21} {:>10}",
        "step", "op", "inputs", "output", "MACs", "weights", "output @arena+len", "scratch"
    );
    for i in 0..plan.num_steps() {
        let Some(s) = plan.step(i) else { continue };
        let inputs: Vec<String> = s
            .inputs()
            .filter_map(|id| plan.tensor(id))
            .map(|t| shape_str(t.shape))
            .collect();
        let (out_shape, out_at) = plan
            .tensor(s.output)
            .map(|t| (shape_str(t.shape), format!("{}+{}", t.offset, t.len)))
            .unwrap_or_default();
        println!(
            "{i:>4}  {:<15} {:<24} {:<12} {:>13} {:>11} {:>21} {:>10}",
            s.op,
            inputs.join(" "),
            out_shape,
            s.macs,
            s.weight_bytes,
            out_at,
            s.scratch.1,
        );
    }
    let [h, w, c] = plan.input_shape();
    println!(
        "total: {} steps, {} MACs, weights {} bytes, arena {} bytes, input {h}x{w}x{c}, {} labels",
        plan.num_steps(),
        plan.macs(),
        plan.weights_bytes(),
        plan.arena_bytes(),
        plan.num_labels()
    );
    if !packs.is_empty() {
        let kinds: std::collections::BTreeSet<&str> =
            packs.iter().map(|&(_, k, _)| k.name()).collect();
        println!(
            "packs: {} ({}), {} bytes: the dense convs' weights laid out ahead of time",
            packs.len(),
            kinds.into_iter().collect::<Vec<_>>().join(", "),
            plan.packed_bytes()
        );
    }
    let (rows, peak) = arena_map::render(&plan);
    println!();
    println!(
        "arena over time (# output, = inputs, s scratch, . live; {} bytes wide):",
        plan.arena_bytes()
    );
    for row in rows {
        println!("{row}");
    }
    println!(
        "peak live bytes {peak} (tensors + scratch alive at one step), arena {} bytes",
        plan.arena_bytes()
    );
    println!("{}", memory_line(&mem));
    if let Some(svg) = &args.svg {
        println!("arena picture: {}", svg.display());
    }
    Ok(())
}

/// The memory figures on one line, e.g. `memory: arena 1000 B = 0.98 x greedy …`.
fn memory_line(m: &MemoryReport) -> String {
    let ratio = if m.greedy_bytes == 0 {
        1.0
    } else {
        f64::from(m.arena_bytes) / f64::from(m.greedy_bytes)
    };
    format!(
        "memory: arena {} B = {ratio:.3} x greedy-by-size {} B; tensor lower bound {} B, \
         with in place {} B ({} steps in place, {} overlapped by rows, {} tensors streamed, \
         {} written into their Concat); naive {} B",
        m.arena_bytes,
        m.greedy_bytes,
        m.lower_bound_bytes,
        m.buffer_lower_bound_bytes,
        m.in_place_steps,
        m.overlapped_steps,
        m.streamed_tensors,
        m.view_tensors,
        m.naive_bytes
    )
}

fn shape_str([h, w, c]: [u32; 3]) -> String {
    format!("{h}x{w}x{c}")
}

fn tensor_json(plan: &Plan<'_>, id: u16) -> Option<Value> {
    let t = plan.tensor(id)?;
    Some(json!({
        "id": id,
        "shape": t.shape,
        "offset": t.offset,
        "len": t.len,
        "resident_rows": t.rows,
        "pitch": t.pitch,
        "scale": t.scale,
        "zero_point": t.zero_point,
    }))
}

fn step_json(plan: &Plan<'_>, i: usize) -> Option<Value> {
    let s = plan.step(i)?;
    let inputs: Vec<Value> = s.inputs().filter_map(|id| tensor_json(plan, id)).collect();
    Some(json!({
        "index": i,
        "op": s.op,
        "inputs": inputs,
        "output": tensor_json(plan, s.output)?,
        "kernel": s.kernel,
        "stride": s.stride,
        "pad": s.pad,
        "dilation": s.dilation,
        "groups": s.groups,
        "overlapped": s.overlapped,
        "macs": s.macs,
        "weight_bytes": s.weight_bytes,
        "scratch_offset": s.scratch.0,
        "scratch_bytes": s.scratch.1,
    }))
}
