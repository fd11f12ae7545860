//! Quantised steps + memory plan → [`PlanModel`] (tensor ids renumbered densely as `u16`).

use std::collections::HashMap;

use super::memplan::MemPlan;
use super::quantize::QModel;
use super::CompileError;
use crate::format::model::{PlanModel, Step, TensorDesc};

/// Builds the plan. `name` is free text, `labels` the class names.
pub fn emit(
    q: &QModel,
    mem: &MemPlan,
    name: String,
    labels: Vec<String>,
) -> Result<PlanModel, CompileError> {
    let mut ids: HashMap<usize, u16> = HashMap::new();
    let mut tensors = vec![];
    for &(t, offset) in &mem.offsets {
        let id = u16::try_from(tensors.len())
            .map_err(|_| CompileError::Other("more than 65535 tensors".into()))?;
        let p = q.params[&t];
        let [h, w, c] = q.shapes[t];
        let dim = |v: usize| {
            u32::try_from(v).map_err(|_| CompileError::Other(format!("dimension {v} too large")))
        };
        tensors.push(TensorDesc {
            shape: [dim(h)?, dim(w)?, dim(c)?],
            offset,
            scale: p.scale,
            zero_point: p.zero_point,
            resident_rows: mem
                .resident_rows
                .iter()
                .find(|r| r.0 == t)
                .map_or(0, |r| r.1),
            pitch: mem.pitch.iter().find(|r| r.0 == t).map_or(0, |r| r.1),
        });
        ids.insert(t, id);
    }
    let steps = mem
        .order
        .iter()
        .zip(&mem.scratch)
        .map(|(&s, &scratch)| {
            let st = &q.steps[s];
            Step {
                op: st.op.clone(),
                inputs: st.inputs.iter().map(|t| ids[t]).collect(),
                output: ids[&st.output],
                scratch,
            }
        })
        .collect();
    Ok(PlanModel {
        name,
        tensors,
        steps,
        input: ids[&q.input],
        output: ids[&q.output],
        arena_bytes: mem.report.arena_bytes,
        preprocess: q.preprocess.clone(),
        labels,
    })
}
