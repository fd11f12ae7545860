//! Execution order, lifetimes and arena offsets.
//!
//! Buffers are the int8 tensors the steps touch plus each step's scratch
//! ([`crate::kernels::scratch_bytes`]). A buffer lives from the step that writes it (the input:
//! step 0) to the last step that reads it (the output: the last step), inclusive, so a step's
//! output never overlaps its inputs or its scratch. Offsets are assigned greedily by size
//! (TensorFlow Lite Micro's planner): largest first, each at the lowest [`ALIGN`]ed offset
//! that does not collide with an already placed buffer alive at the same time.
//!
//! The order is chosen among a few topological orders (the source order and depth-first
//! orders that finish one branch before starting the next, smallest or largest branch first)
//! by the resulting arena size.

use super::ir::TensorId;
use super::quantize::QModel;

/// Alignment of every buffer offset in the arena.
pub const ALIGN: u32 = 16;

/// Memory figures of a plan, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryReport {
    /// The arena the plan declares (= `greedy_bytes`).
    pub arena_bytes: u32,
    /// Most bytes (tensors + scratch) alive at one step of the chosen order: no planner that
    /// keeps every buffer whole can do better.
    pub lower_bound_bytes: u32,
    /// What the greedy-by-size placement needs.
    pub greedy_bytes: u32,
    /// Every buffer at its own offset (no reuse).
    pub naive_bytes: u32,
}

/// The planned memory: step order, offsets, scratch.
#[derive(Clone, Debug)]
pub struct MemPlan {
    /// Indices into `QModel::steps`, in execution order.
    pub order: Vec<usize>,
    /// Offset of each tensor (by ir id) that the steps touch.
    pub offsets: Vec<(TensorId, u32)>,
    /// `(offset, len)` of each step's scratch, by position in `order`.
    pub scratch: Vec<(u32, u32)>,
    /// Figures.
    pub report: MemoryReport,
}

#[derive(Clone, Copy, Debug)]
struct Buffer {
    size: u32,
    first: usize,
    last: usize,
}

fn align(v: u32) -> u32 {
    v.div_ceil(ALIGN) * ALIGN
}

/// Greedy by size; returns offsets (same order as `bufs`) and the arena size.
fn greedy(bufs: &[Buffer]) -> (Vec<u32>, u32) {
    let mut idx: Vec<usize> = (0..bufs.len()).collect();
    idx.sort_by_key(|&i| (std::cmp::Reverse(bufs[i].size), bufs[i].first, i));
    let mut offs = vec![0u32; bufs.len()];
    let mut placed: Vec<usize> = vec![];
    let mut arena = 0u32;
    for &i in &idx {
        let b = bufs[i];
        if b.size == 0 {
            continue;
        }
        let mut busy: Vec<(u32, u32)> = placed
            .iter()
            .filter(|&&j| bufs[j].first <= b.last && b.first <= bufs[j].last)
            .map(|&j| (offs[j], offs[j] + bufs[j].size))
            .collect();
        busy.sort_unstable();
        let mut at = 0u32;
        for (s, e) in busy {
            if at + b.size <= s {
                break;
            }
            at = at.max(align(e));
        }
        offs[i] = at;
        arena = arena.max(at + b.size);
        placed.push(i);
    }
    (offs, arena)
}

/// Buffers of `order`: one per touched tensor, then one per step's scratch.
fn buffers(q: &QModel, order: &[usize], scratch: &[u32]) -> (Vec<TensorId>, Vec<Buffer>) {
    let mut tensors: Vec<TensorId> = vec![q.input];
    let mut bufs: Vec<Buffer> = vec![];
    let size = |t: TensorId| q.shapes[t].iter().product::<usize>() as u32;
    let last = order.len().saturating_sub(1);
    bufs.push(Buffer {
        size: size(q.input),
        first: 0,
        last: 0,
    });
    for (pos, &s) in order.iter().enumerate() {
        let step = &q.steps[s];
        for &t in step.inputs.iter().chain(std::iter::once(&step.output)) {
            match tensors.iter().position(|&x| x == t) {
                Some(i) => bufs[i].last = bufs[i].last.max(pos),
                None => {
                    tensors.push(t);
                    bufs.push(Buffer {
                        size: size(t),
                        first: pos,
                        last: pos,
                    });
                }
            }
        }
    }
    if let Some(i) = tensors.iter().position(|&x| x == q.output) {
        bufs[i].last = last;
    }
    for (pos, &s) in order.iter().enumerate() {
        bufs.push(Buffer {
            size: scratch[s],
            first: pos,
            last: pos,
        });
    }
    (tensors, bufs)
}

fn lower_bound(bufs: &[Buffer], steps: usize) -> u32 {
    (0..steps.max(1))
        .map(|p| {
            bufs.iter()
                .filter(|b| b.first <= p && p <= b.last)
                .map(|b| b.size)
                .sum::<u32>()
        })
        .max()
        .unwrap_or(0)
}

/// List scheduling: among the ready steps, run the one that grows the live bytes least
/// (its output minus the inputs it is the last reader of); ties in source order.
fn memory_greedy_order(q: &QModel) -> Vec<usize> {
    let n = q.steps.len();
    let size = |t: TensorId| q.shapes[t].iter().product::<usize>() as i64;
    let mut readers: std::collections::HashMap<TensorId, usize> = Default::default();
    for s in &q.steps {
        let mut ins = s.inputs.clone();
        ins.sort_unstable();
        ins.dedup();
        for t in ins {
            *readers.entry(t).or_default() += 1;
        }
    }
    let mut available: std::collections::HashSet<TensorId> = [q.input].into_iter().collect();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let mut best: Option<(i64, usize)> = None;
        for (i, s) in q.steps.iter().enumerate() {
            if done[i] || !s.inputs.iter().all(|t| available.contains(t)) {
                continue;
            }
            let mut ins = s.inputs.clone();
            ins.sort_unstable();
            ins.dedup();
            let freed: i64 = ins
                .iter()
                .filter(|&&t| readers[&t] == 1 && t != q.output)
                .map(|&t| size(t))
                .sum();
            let delta = size(s.output) - freed;
            if best.is_none_or(|(d, _)| delta < d) {
                best = Some((delta, i));
            }
        }
        let Some((_, i)) = best else {
            // not a DAG over available tensors (cannot happen for a valid model)
            order.extend((0..n).filter(|&s| !done[s]));
            break;
        };
        done[i] = true;
        order.push(i);
        available.insert(q.steps[i].output);
        let mut ins = q.steps[i].inputs.clone();
        ins.sort_unstable();
        ins.dedup();
        for t in ins {
            *readers.get_mut(&t).unwrap() -= 1;
        }
    }
    order
}

/// Topological orders to try: source order plus depth-first orders from the output.
fn candidate_orders(q: &QModel) -> Vec<Vec<usize>> {
    let n = q.steps.len();
    let producer = |t: TensorId| q.steps.iter().position(|s| s.output == t);
    let mut orders = vec![(0..n).collect::<Vec<_>>()];
    for largest_first in [false, true] {
        // size of the subgraph feeding each step (bytes of outputs), a proxy for branch cost
        let mut order = vec![];
        let mut done = vec![false; n];
        fn visit(
            s: usize,
            q: &QModel,
            done: &mut Vec<bool>,
            order: &mut Vec<usize>,
            largest_first: bool,
            producer: &dyn Fn(TensorId) -> Option<usize>,
        ) {
            if done[s] {
                return;
            }
            done[s] = true;
            let mut deps: Vec<usize> = q.steps[s]
                .inputs
                .iter()
                .filter_map(|&t| producer(t))
                .collect();
            let weight = |d: usize| q.shapes[q.steps[d].output].iter().product::<usize>();
            deps.sort_by_key(|&d| weight(d));
            if largest_first {
                deps.reverse();
            }
            for d in deps {
                visit(d, q, done, order, largest_first, producer);
            }
            order.push(s);
        }
        if let Some(last) = producer(q.output) {
            visit(last, q, &mut done, &mut order, largest_first, &producer);
        }
        // steps not feeding the output (should not exist) keep source order at the end
        order.extend((0..n).filter(|&s| !done[s]));
        if !orders.contains(&order) {
            orders.push(order);
        }
    }
    let order = memory_greedy_order(q);
    if !orders.contains(&order) {
        orders.push(order);
    }
    orders
}

/// Plans memory for `q`; `scratch[s]` is the scratch of step `s`.
pub fn plan(q: &QModel, scratch: &[u32]) -> MemPlan {
    let mut best: Option<MemPlan> = None;
    for order in candidate_orders(q) {
        let (tensors, bufs) = buffers(q, &order, scratch);
        let (offs, arena) = greedy(&bufs);
        let nt = tensors.len();
        let report = MemoryReport {
            arena_bytes: arena,
            lower_bound_bytes: lower_bound(&bufs, order.len()),
            greedy_bytes: arena,
            naive_bytes: bufs.iter().map(|b| align(b.size)).sum(),
        };
        let better = match &best {
            None => true,
            Some(b) => report.arena_bytes < b.report.arena_bytes,
        };
        if better {
            best = Some(MemPlan {
                offsets: tensors
                    .iter()
                    .copied()
                    .zip(offs[..nt].iter().copied())
                    .collect(),
                scratch: (0..order.len())
                    .map(|p| (offs[nt + p], bufs[nt + p].size))
                    .collect(),
                order,
                report,
            });
        }
    }
    best.unwrap_or(MemPlan {
        order: vec![],
        offsets: vec![],
        scratch: vec![],
        report: MemoryReport::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_reuses_dead_buffers_and_never_overlaps_live_ones() {
        let bufs = vec![
            Buffer {
                size: 100,
                first: 0,
                last: 1,
            },
            Buffer {
                size: 50,
                first: 1,
                last: 2,
            },
            Buffer {
                size: 100,
                first: 2,
                last: 3,
            },
            Buffer {
                size: 10,
                first: 3,
                last: 3,
            },
        ];
        let (offs, arena) = greedy(&bufs);
        for i in 0..bufs.len() {
            for j in 0..i {
                let (a, b) = (bufs[i], bufs[j]);
                if a.first <= b.last && b.first <= a.last {
                    let disjoint = offs[i] + a.size <= offs[j] || offs[j] + b.size <= offs[i];
                    assert!(disjoint, "{i} {j} {offs:?}");
                }
            }
            assert_eq!(offs[i] % ALIGN, 0);
        }
        assert!(arena >= lower_bound(&bufs, 4));
        assert!(arena <= 176, "{arena}");
    }
}
