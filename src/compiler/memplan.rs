//! Execution order, lifetimes and arena offsets.
//!
//! Buffers are the int8 tensors the steps touch plus each step's scratch
//! ([`crate::kernels::scratch_bytes`]). A tensor lives from the step that writes it (the
//! input: step 0) to the last step that reads it (the output: the last step), inclusive, so a
//! step's output never overlaps its inputs or its scratch — except **in place**: an `Add` or
//! `Requantize` may write over an input that dies at that step (same size; never the model
//! input or output), the two tensors then sharing one buffer. Offsets are assigned greedily
//! by size (TensorFlow Lite Micro's planner, [`memory::greedy_by_size`]): largest first, each
//! at the lowest [`memory::ALIGN`]ed offset that does not collide with an already placed buffer alive
//! at the same time.
//!
//! The order is chosen among a few topological orders (the source order, depth-first
//! orders that finish one branch before starting the next, smallest or largest branch first,
//! and a list schedule growing live bytes least), and in place is taken or not, by the
//! resulting arena size (in place on a tie: it lowers the peak at its own step).
//!
//! **Window overlap**: a conv or pool whose input dies at its step may write its output
//! starting a computed gap below the input ([`crate::format::overlap`]), over input rows it
//! has already read; the runtime runs such a step in bands of rows. The placement allows it
//! as one more choice ([`memory::Overlap`]), taken when it lowers the arena and then kept
//! only for the steps the arena needs (the others stay disjoint and run whole).
//!
//! **Zero-copy Concat**: the convs and pools feeding a Concat may write straight into their
//! channel slices of its output ([`crate::format::view`]). The output then lives from the
//! first of them on, the inputs take no bytes of their own, and each of those steps gets a
//! scratch band of a few output rows. Kept per Concat only where the arena needs it.

use super::ir::TensorId;
use super::memory::{self, Buffer, Overlap};
use super::quantize::{QModel, QStep};
use crate::format::model::Op;
use crate::format::overlap::RowOverlap;
use crate::format::stream::StreamGeometry;

pub use super::memory::MemoryReport;

/// Choices of the memory planner. The default turns every optimisation on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryOptions {
    /// Let an `Add` or `Requantize` write its output over an input that dies at that step,
    /// when that lowers the arena.
    pub in_place: bool,
    /// Let a conv or pool write its output over the rows of its dying input it has already
    /// read ([`crate::format::overlap`]), when that lowers the arena.
    pub window_overlap: bool,
    /// Let a conv or pool stream its output into the conv or pool right after it, its only
    /// reader, through a buffer of a few rows ([`crate::format::stream`]), when that lowers
    /// the arena.
    pub streaming: bool,
    /// Let the convs and pools feeding a Concat write straight into their channel slices
    /// of its output ([`crate::format::view`]), which then copies nothing, when that lowers
    /// the arena.
    pub zero_copy_concat: bool,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            in_place: true,
            window_overlap: true,
            streaming: true,
            zero_copy_concat: true,
        }
    }
}

impl MemoryOptions {
    /// Every optimisation off: each tensor whole and apart (greedy-by-size's arena).
    pub const NONE: MemoryOptions = MemoryOptions {
        in_place: false,
        window_overlap: false,
        streaming: false,
        zero_copy_concat: false,
    };
}

/// Graphs with at most this many buffers get the exhaustive offset search.
const EXACT_MAX_BUFFERS: usize = 24;
/// Nodes the exhaustive search may visit before it gives up (then greedy's offsets stay).
const EXACT_NODE_LIMIT: usize = 20_000;

/// Output rows per band an overlapped step is planned for: a 32nd of its rows, and at least
/// 4 on maps of 32 rows or more. Bands are kernel calls and `--threads` splits a band's
/// rows, so one-row bands of a large map would run on one thread (VGG-11 with 2 threads:
/// 134 ms against 117 ms); small maps keep one-row bands, whose gap is smallest. The gap
/// costs about one band of rows.
fn band_rows(out_rows: u64) -> u64 {
    if out_rows >= 32 {
        (out_rows / 32).max(4)
    } else {
        1
    }
}

/// The row geometry of step `s` if it is a conv or pool (offsets 0).
fn row_geometry(q: &QModel, s: &QStep) -> Option<RowOverlap> {
    let (kernel, stride, dilation, pad) = match &s.op {
        Op::Conv2d(c) => (c.kernel[0], c.stride[0], c.dilation[0], c.pad[0]),
        Op::MaxPool(p) => (p.kernel[0], p.stride[0], 1, p.pad[0]),
        Op::AvgPool(a) => (a.pool.kernel[0], a.pool.stride[0], 1, a.pool.pad[0]),
        _ => return None,
    };
    let &[x] = s.inputs.as_slice() else {
        return None;
    };
    let shape = |t: TensorId| q.shapes[t].map(|d| d as u64);
    RowOverlap::of_window(
        shape(x),
        shape(s.output),
        kernel.into(),
        stride.into(),
        dilation.into(),
        pad.into(),
    )
}

/// Overlap candidates of `order` over the buffer `groups` (`of`: each buffer's group): a
/// conv or pool whose input group dies at its step and whose output group starts there,
/// never over the model input (the caller's data survives a run), and never at the
/// `busy_steps` (streamed, or writing a view).
fn overlap_candidates(
    q: &QModel,
    order: &[usize],
    tensors: &[TensorId],
    of: &[usize],
    groups: &[Buffer],
    busy_steps: &[usize],
) -> Vec<Overlap> {
    let index = |t: TensorId| tensors.iter().position(|&x| x == t);
    let mut out = vec![];
    for (pos, &s) in order.iter().enumerate() {
        if busy_steps.contains(&pos) {
            continue;
        }
        let step = &q.steps[s];
        let Some(g) = row_geometry(q, step) else {
            continue;
        };
        let (Some(x), Some(y)) = (index(step.inputs[0]), index(step.output)) else {
            continue;
        };
        let (gx, gy) = (of[x], of[y]);
        if gx == gy || step.inputs[0] == q.input || groups[gx].last != pos {
            continue;
        }
        if groups[gy].first != pos {
            continue;
        }
        let band = band_rows(g.out_rows);
        let align = u64::from(memory::ALIGN);
        let (Some(below), Some(above)) = (g.gap_below(band, align), g.gap_above(band, align))
        else {
            continue;
        };
        // Only where the output may really reach into the input's bytes.
        let (sx, sy) = (u64::from(groups[gx].size), u64::from(groups[gy].size));
        let cap = |gap: u64, limit: u64| u32::try_from(gap.min(limit)).unwrap_or(u32::MAX);
        if below < sy || above < sx {
            out.push(Overlap {
                out: gy,
                inp: gx,
                gap_below: cap(below, sy),
                gap_above: cap(above, sx),
            });
        }
    }
    out
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
    /// Streamed tensors and their resident rows ([`crate::format::stream`]).
    pub resident_rows: Vec<(TensorId, u32)>,
    /// Views and their pixel pitch ([`crate::format::view`]).
    pub pitch: Vec<(TensorId, u32)>,
    /// The offsets are proven optimal for the chosen order, lifetimes and buffers: the
    /// exhaustive search ([`memory::exact_placement`]) ran to the end with no overlaps.
    pub proven_optimal: bool,
    /// Figures.
    pub report: MemoryReport,
}

/// The tensors of `order` with their separate lifetimes (the input first), then one buffer
/// per step's scratch; a streamed tensor takes only its resident rows, and its producer's
/// input lives until the consumer's step.
fn buffers(
    q: &QModel,
    order: &[usize],
    scratch: &[u32],
    streams: &[Stream],
    views: &[ConcatViews],
) -> (Vec<TensorId>, Vec<Buffer>) {
    let mut tensors: Vec<TensorId> = vec![q.input];
    let mut index: std::collections::HashMap<TensorId, usize> = [(q.input, 0)].into();
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
            match index.get(&t) {
                Some(&i) => bufs[i].last = bufs[i].last.max(pos),
                None => {
                    index.insert(t, tensors.len());
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
    if let Some(&i) = index.get(&q.output) {
        bufs[i].last = last;
    }
    for st in streams {
        let [_, w, c] = q.shapes[st.tensor];
        if let Some(&i) = index.get(&st.tensor) {
            bufs[i].size = st.rows * (w * c) as u32;
        }
        // The producer's input is read until the consumer's last band.
        if let Some(&i) = index.get(&st.source) {
            bufs[i].last = bufs[i].last.max(st.pos + 1);
        }
    }
    // A zero-copy Concat's output lives from its first producer on; its inputs take no
    // bytes of their own, and their producers a scratch band each.
    let mut scratch_at: Vec<u32> = order.iter().map(|&s| scratch[s]).collect();
    for v in views {
        for input in &v.inputs {
            if let Some(&i) = index.get(&input.tensor) {
                bufs[i].size = 0;
            }
            scratch_at[input.producer] = scratch_at[input.producer].max(input.band_bytes);
        }
        if let Some(&i) = index.get(&v.output) {
            let first = v.inputs.iter().map(|x| x.producer).min().unwrap_or(v.pos);
            bufs[i].first = bufs[i].first.min(first);
        }
    }
    for (pos, &size) in scratch_at.iter().enumerate() {
        bufs.push(Buffer {
            size,
            first: pos,
            last: pos,
        });
    }
    (tensors, bufs)
}

/// In-place candidates of `order`: `(output, input)` index pairs into `tensors` where an
/// `Add` or `Requantize` at that position can write over an input dying there. Never the
/// model input (the caller's data survives a run) nor the model output.
fn in_place_candidates(
    q: &QModel,
    order: &[usize],
    tensors: &[TensorId],
    bufs: &[Buffer],
) -> Vec<(usize, usize)> {
    let index = |t: TensorId| tensors.iter().position(|&x| x == t);
    let mut out = vec![];
    for (pos, &s) in order.iter().enumerate() {
        let step = &q.steps[s];
        if !matches!(step.op, Op::Add(_) | Op::Requantize(_)) {
            continue;
        }
        let Some(o) = index(step.output) else {
            continue;
        };
        let distinct = step.inputs.iter().all(|&t| t != step.output)
            && (step.inputs.len() < 2 || step.inputs[0] != step.inputs[1]);
        if !distinct || step.output == q.input {
            continue;
        }
        let over = step.inputs.iter().filter_map(|&t| index(t)).find(|&i| {
            tensors[i] != q.input
                && tensors[i] != q.output
                && bufs[i].last == pos
                && bufs[i].size == bufs[o].size
        });
        if let Some(i) = over {
            out.push((o, i));
        }
    }
    out
}

/// Groups buffers along the chosen in-place `pairs` (output joins its input's group):
/// returns each buffer's group and the groups' buffers.
fn group(bufs: &[Buffer], pairs: &[(usize, usize)]) -> (Vec<usize>, Vec<Buffer>) {
    let mut parent: Vec<usize> = (0..bufs.len()).collect();
    fn root(p: &[usize], mut x: usize) -> usize {
        while p[x] != x {
            x = p[x];
        }
        x
    }
    for &(o, i) in pairs {
        let (ro, ri) = (root(&parent, o), root(&parent, i));
        parent[ro] = ri;
    }
    let mut gid = vec![usize::MAX; bufs.len()];
    let mut groups: Vec<Buffer> = vec![];
    let mut of = vec![0usize; bufs.len()];
    for k in 0..bufs.len() {
        let r = root(&parent, k);
        if gid[r] == usize::MAX {
            gid[r] = groups.len();
            groups.push(bufs[k]);
        }
        let g = &mut groups[gid[r]];
        g.first = g.first.min(bufs[k].first);
        g.last = g.last.max(bufs[k].last);
        of[k] = gid[r];
    }
    (of, groups)
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

/// A streamed tensor ([`crate::format::stream`]): written by the step at `pos` of the order,
/// read only by the step at `pos + 1`, held in `rows` resident rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stream {
    pos: usize,
    tensor: TensorId,
    /// The producer's input.
    source: TensorId,
    rows: u32,
}

/// Consumer output rows per band of a stream: a 16th of them (at least one).
fn stream_band_rows(out_rows: u64) -> u64 {
    (out_rows / 16).max(1)
}

/// Streams of `order`: a conv or pool whose output only the conv or pool right after it
/// reads, neither end the model's input or output, no two chained.
fn stream_candidates(q: &QModel, order: &[usize]) -> Vec<Stream> {
    let mut out: Vec<Stream> = vec![];
    for (pos, pair) in order.windows(2).enumerate() {
        let (p, c) = (&q.steps[pair[0]], &q.steps[pair[1]]);
        let (Some(pg), Some(cg)) = (row_geometry(q, p), row_geometry(q, c)) else {
            continue;
        };
        let x1 = p.output;
        let readers = q.steps.iter().filter(|s| s.inputs.contains(&x1)).count();
        let chained = out.last().is_some_and(|l| l.pos + 1 == pos);
        if chained
            || readers != 1
            || c.inputs != [x1]
            || x1 == q.input
            || x1 == q.output
            || p.inputs[0] == x1
        {
            continue;
        }
        let Some(rows) = StreamGeometry::resident_for(&cg, stream_band_rows(cg.out_rows)) else {
            continue;
        };
        let g = StreamGeometry {
            producer: pg,
            consumer: cg,
            resident: rows,
        };
        if rows < pg.out_rows && g.is_feasible() {
            out.push(Stream {
                pos,
                tensor: x1,
                source: p.inputs[0],
                rows: rows as u32,
            });
        }
    }
    out
}

/// A zero-copy Concat ([`crate::format::view`]): every input written straight into its
/// channel slice of the output by its producer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ConcatViews {
    /// The Concat's position in the order.
    pos: usize,
    /// The Concat's output.
    output: TensorId,
    /// Its channels: the views' pixel pitch.
    pitch: u32,
    /// The inputs, in the Concat's order.
    inputs: Vec<ViewInput>,
}

/// One input of a [`ConcatViews`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ViewInput {
    tensor: TensorId,
    /// First channel of its slice of the output.
    channel_offset: u32,
    /// Position of its producer (a conv or pool) in the order.
    producer: usize,
    /// Scratch the producer writes its bands of dense rows into.
    band_bytes: u32,
}

/// Output rows per band of a step writing a view: an 8th of them (at least one). Each band
/// is a kernel call (the VNNI GEMM repacks its weights per call), the scratch holds one.
fn view_band_rows(out_rows: u64) -> u64 {
    (out_rows / 8).max(1)
}

/// Zero-copy Concats of `order`: Concats of two or more distinct tensors, each written by
/// a conv or pool (maybe the consumer of a stream) and read by nothing else, none the model's
/// input or output.
fn view_candidates(q: &QModel, order: &[usize]) -> Vec<ConcatViews> {
    let mut out = vec![];
    for (pos, &s) in order.iter().enumerate() {
        let step = &q.steps[s];
        if !matches!(step.op, Op::Concat) || step.output == q.output {
            continue;
        }
        let mut inputs = vec![];
        let mut channel_offset = 0u32;
        for (k, &t) in step.inputs.iter().enumerate() {
            let producer = order.iter().position(|&p| q.steps[p].output == t);
            let readers = q.steps.iter().filter(|r| r.inputs.contains(&t)).count();
            let Some(producer) =
                producer.filter(|&p| row_geometry(q, &q.steps[order[p]]).is_some())
            else {
                break;
            };
            if readers != 1 || t == q.input || t == q.output || step.inputs[..k].contains(&t) {
                break;
            }
            let [h, w, c] = q.shapes[t];
            let band = view_band_rows(h as u64) * (w * c) as u64;
            inputs.push(ViewInput {
                tensor: t,
                channel_offset,
                producer,
                band_bytes: u32::try_from(band).unwrap_or(u32::MAX),
            });
            channel_offset += c as u32;
        }
        // One input alone would be the whole output: no view (the pitch would be its own).
        if inputs.len() >= 2 && inputs.len() == step.inputs.len() {
            out.push(ConcatViews {
                pos,
                output: step.output,
                pitch: channel_offset,
                inputs,
            });
        }
    }
    out
}

/// Greedy-by-size with `overlaps`, then without each overlap that the arena does not need
/// (an overlapped step runs in bands: fewer is faster). Returns the overlaps kept, the
/// offsets and the arena.
fn place_pruned(groups: &[Buffer], overlaps: Vec<Overlap>) -> (Vec<Overlap>, Vec<u32>, u32) {
    let (kept, (offs, arena)) = prune(
        overlaps,
        |o| Some(memory::greedy_by_size_with(groups, o)),
        |r| r.1,
    )
    .unwrap_or_default();
    (kept, offs, arena)
}

/// The better of `eval` with none of `all` and with all of them [`prune`]d to those the
/// arena needs; on a tie, none (every choice costs run time).
fn none_or_pruned<T: Clone>(
    all: Vec<T>,
    mut eval: impl FnMut(&[T]) -> Option<MemPlan>,
) -> Option<MemPlan> {
    let none = eval(&[]);
    if all.is_empty() {
        return none;
    }
    let pruned = prune(all, &mut eval, |p| p.report.arena_bytes).map(|(_, found)| found);
    match (none, pruned) {
        (Some(n), Some(p)) if p.report.arena_bytes < n.report.arena_bytes => Some(p),
        (Some(n), _) => Some(n),
        (None, p) => p,
    }
}

/// Evaluates `choices`, then drops each choice whose removal does not grow `arena` of the
/// result: the choices the arena needs, and the result with only those. `None` when
/// `eval` gives nothing for all of `choices`.
fn prune<T: Clone, R>(
    mut choices: Vec<T>,
    mut eval: impl FnMut(&[T]) -> Option<R>,
    arena: impl Fn(&R) -> u32,
) -> Option<(Vec<T>, R)> {
    let mut found = eval(&choices)?;
    let mut k = 0;
    while k < choices.len() {
        let mut fewer = choices.clone();
        fewer.remove(k);
        match eval(&fewer) {
            Some(r) if arena(&r) <= arena(&found) => {
                choices = fewer;
                found = r;
            }
            _ => k += 1,
        }
    }
    Some((choices, found))
}

/// How many of `overlaps` really overlap at the chosen offsets.
fn count_overlapped(groups: &[Buffer], offs: &[u32], overlaps: &[Overlap]) -> u32 {
    overlaps
        .iter()
        .filter(|o| {
            let (a, b) = (offs[o.out], offs[o.inp]);
            a < b + groups[o.inp].size && b < a + groups[o.out].size
        })
        .count() as u32
}

/// Plans memory for `q`; `scratch[s]` is the scratch of step `s`.
///
/// For each candidate order: the tensor-level figures on separate, whole tensors; then
/// greedy-by-size placement with and without streams, zero-copy Concats, in place and
/// window overlap (each where enabled); the smallest arena wins (ties: the earlier choice,
/// in place first), and streams and zero-copy Concats the arena does not need are dropped
/// again.
pub fn plan(q: &QModel, scratch: &[u32], options: MemoryOptions) -> MemPlan {
    let mut best: Option<MemPlan> = None;
    for order in candidate_orders(q) {
        let streams = if options.streaming {
            stream_candidates(q, &order)
        } else {
            vec![]
        };
        // Tensor-level figures: whole tensors, nothing streamed (what TFLM's planner sees).
        let (_, whole) = buffers(q, &order, scratch, &[], &[]);
        let figures = WholeFigures {
            greedy: memory::greedy_by_size(&whole).1,
            lower_bound: memory::lower_bound(&whole, order.len()),
            naive: memory::naive(&whole),
        };
        let views = if options.zero_copy_concat {
            view_candidates(q, &order)
        } else {
            vec![]
        };
        // Streams, and for each set of streams zero-copy Concats, each tried as a set and
        // then dropped one by one where the arena does not need them.
        let found = none_or_pruned(streams, |s| {
            none_or_pruned(views.clone(), |v| {
                plan_order(q, scratch, options, &order, s, v, figures)
            })
        });
        if let Some(found) = found {
            if best
                .as_ref()
                .is_none_or(|b| found.report.arena_bytes < b.report.arena_bytes)
            {
                best = Some(found);
            }
        }
    }
    best.unwrap_or(MemPlan {
        order: vec![],
        offsets: vec![],
        scratch: vec![],
        resident_rows: vec![],
        pitch: vec![],
        proven_optimal: true,
        report: MemoryReport::default(),
    })
}

/// The tensor-level figures of one order, every tensor whole and separate.
#[derive(Clone, Copy)]
struct WholeFigures {
    greedy: u32,
    lower_bound: u32,
    naive: u32,
}

/// The best placement of one order with the given `streams`.
fn plan_order(
    q: &QModel,
    scratch: &[u32],
    options: MemoryOptions,
    order: &[usize],
    streams: &[Stream],
    views: &[ConcatViews],
    whole: WholeFigures,
) -> Option<MemPlan> {
    let (tensors, bufs) = buffers(q, order, scratch, streams, views);
    let nt = tensors.len();
    // Steps that run in bands of their own: never overlapped.
    let busy_steps: Vec<usize> = streams
        .iter()
        .flat_map(|s| [s.pos, s.pos + 1])
        .chain(
            views
                .iter()
                .flat_map(|v| v.inputs.iter().map(|x| x.producer)),
        )
        .collect();
    let mut best: Option<MemPlan> = None;
    // In place first: on a tie it wins (it never costs arena and lowers that step's peak).
    let mut variants = vec![];
    if options.in_place {
        let pairs = in_place_candidates(q, order, &tensors, &bufs);
        if !pairs.is_empty() {
            variants.push(pairs);
        }
    }
    variants.push(vec![]);
    for pairs in variants {
        let (of, groups) = group(&bufs, &pairs);
        let mut overlap_variants = vec![vec![]];
        if options.window_overlap {
            let all = overlap_candidates(q, order, &tensors, &of, &groups, &busy_steps);
            if !all.is_empty() {
                overlap_variants.push(all);
            }
        }
        for overlaps in overlap_variants {
            let (overlaps, mut offs, mut arena) = place_pruned(&groups, overlaps);
            // Small graphs: the exhaustive search, proven optimal without overlaps.
            let mut proven_optimal = false;
            if groups.iter().filter(|g| g.size > 0).count() <= EXACT_MAX_BUFFERS {
                if let Some((o, a, proven)) =
                    memory::exact_placement(&groups, &overlaps, EXACT_NODE_LIMIT, arena)
                {
                    if !o.is_empty() && a < arena {
                        (offs, arena) = (o, a);
                    }
                    proven_optimal = proven;
                }
            }
            if best.as_ref().is_some_and(|b| b.report.arena_bytes <= arena) {
                continue;
            }
            let report = MemoryReport {
                arena_bytes: arena,
                lower_bound_bytes: whole.lower_bound,
                greedy_bytes: whole.greedy,
                naive_bytes: whole.naive,
                buffer_lower_bound_bytes: memory::lower_bound(&groups, order.len()),
                in_place_steps: pairs.len() as u32,
                overlapped_steps: count_overlapped(&groups, &offs, &overlaps),
                streamed_tensors: streams.len() as u32,
                view_tensors: views.iter().map(|v| v.inputs.len() as u32).sum(),
            };
            // A view lies at its channel offset inside its Concat's output.
            let offset_of = |t: TensorId| -> u32 {
                let at = |t: TensorId| {
                    tensors
                        .iter()
                        .position(|&x| x == t)
                        .map_or(0, |k| offs[of[k]])
                };
                views
                    .iter()
                    .find_map(|v| {
                        let x = v.inputs.iter().find(|x| x.tensor == t)?;
                        Some(at(v.output) + x.channel_offset)
                    })
                    .unwrap_or_else(|| at(t))
            };
            best = Some(MemPlan {
                offsets: tensors.iter().map(|&t| (t, offset_of(t))).collect(),
                pitch: views
                    .iter()
                    .flat_map(|v| v.inputs.iter().map(|x| (x.tensor, v.pitch)))
                    .collect(),
                scratch: (0..order.len())
                    .map(|p| (offs[of[nt + p]], bufs[nt + p].size))
                    .collect(),
                resident_rows: streams.iter().map(|s| (s.tensor, s.rows)).collect(),
                order: order.to_vec(),
                proven_optimal,
                report,
            });
        }
    }
    best
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::quantize::QStep;
    use crate::format::model::{Add, Requant, Requantize};

    fn rq() -> Op {
        let one = Requant {
            multiplier: vec![1 << 30],
            shift: vec![30],
        };
        Op::Requantize(Requantize {
            requant: one,
            act_min: -128,
            act_max: 127,
        })
    }

    fn add() -> Op {
        let one = || Requant {
            multiplier: vec![1 << 30],
            shift: vec![30],
        };
        Op::Add(Add {
            a: one(),
            b: one(),
            out: one(),
            act_min: -128,
            act_max: 127,
        })
    }

    /// x →rq→ a →rq→ b, c = a + b, d = rq(c): without in place the add holds a, b and c
    /// (3 × 1024 bytes), with it only two.
    fn block() -> QModel {
        let step = |op, inputs: Vec<usize>, output| QStep {
            name: String::new(),
            op,
            inputs,
            output,
        };
        QModel {
            shapes: vec![[8, 8, 16]; 5],
            params: Default::default(),
            steps: vec![
                step(rq(), vec![0], 1),
                step(rq(), vec![1], 2),
                step(add(), vec![1, 2], 3),
                step(rq(), vec![3], 4),
            ],
            input: 0,
            output: 4,
            preprocess: None,
        }
    }

    #[test]
    fn in_place_add_lowers_the_peak() {
        let q = block();
        let off = plan(&q, &[0; 4], MemoryOptions::NONE);
        let on = plan(&q, &[0; 4], MemoryOptions::default());
        assert_eq!(off.report.arena_bytes, 3 * 1024);
        assert_eq!(off.report.in_place_steps, 0);
        assert_eq!(on.report.arena_bytes, 2 * 1024);
        // the add over an addend, and the last requantize over the sum
        assert_eq!(on.report.in_place_steps, 2);
        // the tensor-level figures describe the same lifetimes either way
        assert_eq!(on.report.lower_bound_bytes, off.report.lower_bound_bytes);
        assert_eq!(on.report.greedy_bytes, 3 * 1024);
        assert_eq!(on.report.buffer_lower_bound_bytes, 2 * 1024);
        // the sum sits exactly over an addend; the input (x) keeps its bytes
        let at = |t: usize| on.offsets.iter().find(|o| o.0 == t).unwrap().1;
        assert!(at(3) == at(1) || at(3) == at(2));
        assert_eq!(at(4), at(3));
        assert_ne!(at(1), at(0));
    }

    #[test]
    fn never_in_place_over_the_model_input_or_a_live_input() {
        // c = x + a: x is the model input, a is read again later (by d = a + c)
        let mut q = block();
        q.steps = vec![
            QStep {
                name: String::new(),
                op: rq(),
                inputs: vec![0],
                output: 1,
            },
            QStep {
                name: String::new(),
                op: add(),
                inputs: vec![0, 1],
                output: 2,
            },
            QStep {
                name: String::new(),
                op: add(),
                inputs: vec![1, 2],
                output: 4,
            },
        ];
        let on = plan(&q, &[0; 3], MemoryOptions::default());
        // the first add may not write over x (the caller's input) nor over a (read later)
        let at = |t: usize| on.offsets.iter().find(|o| o.0 == t).unwrap().1;
        assert_ne!(at(2), at(0), "over the model input");
        assert_ne!(at(2), at(1), "over an input read later");
    }
}
