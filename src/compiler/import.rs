//! The one door to tract: load an ONNX file, fix its input, type it, and lower it into the
//! closed float [`ir::Graph`] (NHWC). Also the float reference runner used for calibration
//! and by [`super::FloatModel`].
//!
//! We lower from tract's `into_typed()` form (not decluttered): convolutions stay `Conv`,
//! pools stay `MaxPool` / `SumPool`, and the rest arrives as a handful of generic ops:
//!
//! | ONNX | typed tract | ir |
//! |---|---|---|
//! | Conv | `Conv` (OIHW kernel, bias as const inputs) | `Conv` |
//! | BatchNormalization | `Mul` + `Add` with constants | `Affine` (folded by passes) |
//! | Relu, Clip | `Max` / `Min` with a scalar constant | `Clamp` (fused by passes) |
//! | MaxPool / AveragePool | `MaxPool` / `SumPool` (ceil mode in the padding spec) | pools |
//! | GlobalAveragePool | `Reduce<Sum>` + `Div` | `AvgPool` + `Affine` (cancelled) |
//! | Gemm / MatMul | `EinSum` (+ `Mul`, `Add`) | `Dense` + `Affine` |
//! | Flatten, Reshape, Squeeze | `Reshape`, `RmAxis`, `AddAxis` | nothing: a view |
//! | Dropout, Identity, Cast | `Dropout`, `Identity`, `Cast` | nothing: an alias |
//! | Pad (constant) | `Pad` | `Pad` (folded by passes) |
//! | Concat, Add, Softmax, LRN | `TypedConcat`, `Add`, `Softmax`, `Lrn` | same |
//! | `x[:, c] * a + b` per channel, Concat (GoogLeNet `transform_input`) | `Gather`/`Slice`, `AddAxis`, `Mul`, `Add`, `TypedConcat` | one per-channel `Affine` |
//!
//! Any node whose inputs are all constants is evaluated here (shape arithmetic, weight casts,
//! BatchNorm slope and intercept). A tract value holding an activation is an ir tensor seen
//! through tract's shape: `[1, C, H, W]` is the spatial view; any other shape of the same
//! volume enumerates the tensor in NCHW order (a flatten), which matters only for `Dense`
//! (whose weight columns are permuted to NHWC order here) and is rejected elsewhere when
//! the orders differ.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_core::ops::change_axes::AxisOp;
use tract_core::ops::cnn::{Conv as TConv, KernelFormat, MaxPool, PaddingSpec, PoolSpec, SumPool};
use tract_core::ops::einsum::EinSum;
use tract_core::ops::nn::{DataFormat, Reduce, Reducer, Softmax, SoftmaxKind};
use tract_onnx::prelude::*;
use tract_onnx::tract_core;
use tract_onnx::tract_hir::infer::Factoid;
use tract_onnx::tract_hir::internal::DimLike;
use tract_onnx_opl::lrn::Lrn;

use super::ir::{self, Clamp, Graph, SourceRef, TensorId, Window};
use super::CompileError;
use crate::format::model::Layout;

/// A loaded, typed tract model with its input fixed.
pub(crate) struct Loaded {
    /// The typed (not optimised) model.
    pub model: TypedModel,
    /// Input shape in the model's layout, batch included.
    pub input_shape: Vec<usize>,
    /// The file, for messages.
    pub path: PathBuf,
}

/// Result of lowering: the float graph plus what calibration needs to run the reference.
pub(crate) struct Imported {
    /// The float graph.
    pub graph: Graph,
    /// The input layout of the source model.
    pub layout: Layout,
    /// `SourceRef(i)` is `outlets[i]` of `loaded.model`.
    outlets: Vec<OutletId>,
    loaded: Loaded,
}

fn load_err(path: &Path, e: impl std::fmt::Display) -> CompileError {
    CompileError::Load {
        path: path.to_path_buf(),
        message: e.to_string().replace('\n', " "),
    }
}

/// Reads and types `path`, fixing the input shape (`input_shape`, else the file's; a symbolic
/// batch dimension alone becomes 1, any other symbolic dimension is `DynamicInput`).
pub(crate) fn load(path: &Path, input_shape: Option<&[usize]>) -> Result<Loaded, CompileError> {
    super::tract_guard::guarded(path, "loading and typing the model", || {
        load_unguarded(path, input_shape)
    })
}

/// [`load`] without the guard against tract panics.
fn load_unguarded(path: &Path, input_shape: Option<&[usize]>) -> Result<Loaded, CompileError> {
    let bytes = std::fs::read(path).map_err(|source| CompileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let onnx = tract_onnx::onnx();
    let proto = onnx
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| load_err(path, format!("Reading proto model: {e:#}")))?;
    check_proto(path, &proto)?;
    let mut model = onnx
        .model_for_proto_model(&proto)
        .map_err(|e| load_err(path, format!("Translating proto model to model: {e:#}")))?;
    if model.inputs.len() != 1 || model.outputs.len() != 1 {
        return Err(CompileError::Other(format!(
            "{}: the model has {} inputs and {} outputs; exactly one of each is supported",
            path.display(),
            model.inputs.len(),
            model.outputs.len()
        )));
    }
    let input_name = model.node(model.inputs[0].node).name.clone();
    let fact = model.input_fact(0).map_err(|e| load_err(path, e))?.clone();
    let shape: Vec<usize> = match input_shape {
        Some(s) => {
            if let Some(rank) = fact.shape.rank().concretize() {
                if rank as usize != s.len() {
                    return Err(CompileError::Other(format!(
                        "{}: input `{input_name}` has rank {rank}, --input-shape gives {}",
                        path.display(),
                        s.len()
                    )));
                }
            }
            s.to_vec()
        }
        None => {
            let printed = format!("{:?}", fact.shape);
            let dynamic = || CompileError::DynamicInput {
                path: path.to_path_buf(),
                input: input_name.clone(),
                shape: printed.clone(),
            };
            let dims = fact.shape.concretize().ok_or_else(dynamic)?;
            let mut shape = Vec::with_capacity(dims.len());
            for (i, d) in dims.iter().enumerate() {
                match d.to_usize() {
                    Ok(v) => shape.push(v),
                    Err(_) if i == 0 => shape.push(1),
                    Err(_) => return Err(dynamic()),
                }
            }
            shape
        }
    };
    if shape.first() != Some(&1) {
        return Err(CompileError::Other(format!(
            "{}: input shape {shape:?}: batch must be 1",
            path.display()
        )));
    }
    model
        .set_input_fact(0, f32::fact(&shape).into())
        .map_err(|e| load_err(path, format!("{e:#}")))?;
    refuse_known_failures(path, &model)?;
    let model = model
        .into_typed()
        .map_err(|e| load_err(path, format!("{e:#}")))?;
    check_sizes(path, &model)?;
    Ok(Loaded {
        model,
        input_shape: shape,
        path: path.to_path_buf(),
    })
}

/// The most elements one tensor of a model may have: 2^28 (1 GiB as f32), far above any
/// edge classifier (VGG's largest activation has 3.2 M) and far below what would exhaust the
/// host when calibration materialises it. A larger tensor is refused before anything is
/// allocated for it.
pub const MAX_TENSOR_ELEMENTS: u64 = 1 << 28;

/// The opsets of the default ONNX domain this importer accepts.
pub const OPSETS: std::ops::RangeInclusive<i64> = 1..=22;

/// Checks on the protobuf itself, before tract sees it: a known opset, no constant tract would
/// build larger than [`MAX_TENSOR_ELEMENTS`] ([`super::proto_sizes`]), and every name a node
/// or the graph output reads is produced by some node, a graph input or an initializer
/// (tract would otherwise fail inside with a bare "no entry found for key").
fn check_proto(path: &Path, proto: &tract_onnx::pb::ModelProto) -> Result<(), CompileError> {
    let other = |m: String| CompileError::Other(format!("{}: {m}", path.display()));
    for set in &proto.opset_import {
        let default_domain = set.domain.is_empty() || set.domain == "ai.onnx";
        if default_domain && !OPSETS.contains(&set.version) {
            return Err(other(format!(
                "opset {} of the ONNX domain is not supported (this importer reads opsets {}..={})",
                set.version,
                OPSETS.start(),
                OPSETS.end()
            )));
        }
    }
    let Some(graph) = &proto.graph else {
        return Ok(()); // tract reports the missing graph
    };
    super::proto_sizes::check(graph).map_err(|(node, op, why)| CompileError::Unsupported {
        path: path.to_path_buf(),
        node,
        op,
        why,
    })?;
    if !graph.sparse_initializer.is_empty() {
        return Ok(()); // names of sparse initializers: left to tract
    }
    let known: std::collections::HashSet<&str> = graph
        .input
        .iter()
        .map(|v| v.name.as_str())
        .chain(graph.initializer.iter().map(|t| t.name.as_str()))
        .chain(
            graph
                .node
                .iter()
                .flat_map(|n| n.output.iter().map(String::as_str)),
        )
        .collect();
    for node in &graph.node {
        if let Some(missing) = node
            .input
            .iter()
            .find(|i| !i.is_empty() && !known.contains(i.as_str()))
        {
            return Err(other(format!(
                "node `{}` ({}) reads `{missing}`, which no node, graph input or initializer produces",
                node.name, node.op_type
            )));
        }
    }
    if let Some(out) = graph
        .output
        .iter()
        .find(|o| !known.contains(o.name.as_str()))
    {
        return Err(other(format!(
            "graph output `{}` is produced by no node, graph input or initializer",
            out.name
        )));
    }
    Ok(())
}

/// Refuses a typed model with a tensor of more than [`MAX_TENSOR_ELEMENTS`] elements.
fn check_sizes(path: &Path, model: &TypedModel) -> Result<(), CompileError> {
    for node in model.nodes() {
        for (slot, out) in node.outputs.iter().enumerate() {
            let Some(dims) = out.fact.shape.as_concrete() else {
                continue;
            };
            let elements = dims
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
            if elements.is_none_or(|n| n > MAX_TENSOR_ELEMENTS) {
                return Err(CompileError::Other(format!(
                    "{}: tensor {slot} of node `{}` has shape {dims:?}, more than {} elements \
                     (2^{}): refused before anything is allocated for it",
                    path.display(),
                    node.name,
                    MAX_TENSOR_ELEMENTS,
                    MAX_TENSOR_ELEMENTS.trailing_zeros()
                )));
            }
        }
    }
    Ok(())
}

/// Names the node when tract could parse but will not type a model: ops tract does not
/// implement, and the `If` torch's `LocalResponseNorm` export contains.
fn refuse_known_failures(path: &Path, model: &InferenceModel) -> Result<(), CompileError> {
    for node in model.nodes() {
        let name = node.op.name();
        let unsupported = |op: &str, why: &str| CompileError::Unsupported {
            path: path.to_path_buf(),
            node: node.name.clone(),
            op: op.to_string(),
            why: why.to_string(),
        };
        if let Some(op) = name
            .strip_prefix("Unimplemented(")
            .and_then(|n| n.strip_suffix(')'))
        {
            return Err(unsupported(
                op,
                "tract's ONNX importer does not implement this op",
            ));
        }
        if name == "If" {
            return Err(unsupported(
                "If",
                "data-dependent control flow (torch exports nn.LocalResponseNorm this way; \
                 export it as the ONNX LRN op instead)",
            ));
        }
    }
    Ok(())
}

/// A value in the tract graph during lowering.
#[derive(Clone)]
enum Val {
    Const(Arc<Tensor>),
    Act(TensorId),
    /// `scale * src[:, ch] + shift`: one channel of a spatial activation under a scalar
    /// affine, pending until a Concat puts the channels back together (GoogLeNet's
    /// `transform_input`). It never becomes a tensor of its own.
    Chan {
        src: TensorId,
        ch: usize,
        scale: f32,
        shift: f32,
    },
}

/// The input layout: NHWC when every consumer of the input moves axis 3 to 1 (the
/// `Transpose(0, 3, 1, 2)` TensorFlow exports start with), NCHW otherwise.
pub(crate) fn input_layout(loaded: &Loaded) -> Layout {
    let model = &loaded.model;
    let Some(&input) = model.inputs.first() else {
        return Layout::Nchw;
    };
    let succ = model.outlet_successors(input);
    let moves = |inlet: &InletId| {
        matches!(
            model.node(inlet.node).op_as::<AxisOp>(),
            Some(AxisOp::Move(3, 1))
        )
    };
    if loaded.input_shape.len() == 4 && !succ.is_empty() && succ.iter().all(moves) {
        Layout::Nhwc
    } else {
        Layout::Nchw
    }
}

struct Lowerer<'a> {
    loaded: &'a Loaded,
    layout: Layout,
    graph: Graph,
    vals: HashMap<OutletId, Val>,
    outlets: Vec<OutletId>,
    /// The NHWC input outlet and its tensor.
    nhwc_input: Option<(OutletId, TensorId)>,
}

/// Lowers a loaded model into the float IR.
pub(crate) fn lower(loaded: Loaded) -> Result<Imported, CompileError> {
    let layout = input_layout(&loaded);
    let mut lw = Lowerer {
        loaded: &loaded,
        layout,
        graph: Graph {
            tensors: vec![],
            nodes: vec![],
            input: 0,
            output: 0,
        },
        vals: HashMap::new(),
        outlets: vec![],
        nhwc_input: None,
    };
    let order = loaded
        .model
        .eval_order()
        .map_err(|e| load_err(&loaded.path, e))?;
    for id in order {
        lw.node(id)?;
    }
    let out = loaded
        .model
        .output_outlets()
        .map_err(|e| load_err(&loaded.path, e))?[0];
    let output = match lw.vals.get(&out) {
        Some(Val::Act(t)) => *t,
        _ => {
            return Err(CompileError::Other(format!(
                "{}: the model output does not depend on its input",
                loaded.path.display()
            )))
        }
    };
    let oshape = lw.graph.tensors[output].shape;
    if oshape[0] * oshape[1] > 1 && oshape[2] > 1 {
        let node = &loaded.model.node(out.node);
        return Err(lw.unsupported(node, "the model output is a feature map, not a vector"));
    }
    lw.graph.output = output;
    let Lowerer { graph, outlets, .. } = lw;
    Ok(Imported {
        graph,
        layout,
        outlets,
        loaded,
    })
}

fn f32s(t: &Tensor) -> TractResult<Vec<f32>> {
    let c = t.cast_to::<f32>()?;
    Ok(c.to_plain_array_view::<f32>()?.iter().copied().collect())
}

fn concrete(fact: &TypedFact) -> Option<Vec<usize>> {
    fact.shape.as_concrete().map(|s| s.to_vec())
}

impl Lowerer<'_> {
    fn unsupported(&self, node: &TypedNode, why: impl Into<String>) -> CompileError {
        CompileError::Unsupported {
            path: self.loaded.path.clone(),
            node: node.name.clone(),
            op: node.op.name().to_string(),
            why: why.into(),
        }
    }

    fn new_tensor(&mut self, name: &str, shape: [usize; 3], outlet: OutletId) -> TensorId {
        self.outlets.push(outlet);
        self.graph.tensors.push(ir::Tensor {
            name: name.to_string(),
            shape,
            source: Some(SourceRef(self.outlets.len() - 1)),
        });
        self.graph.tensors.len() - 1
    }

    fn push(
        &mut self,
        node: &TypedNode,
        op: ir::Op,
        inputs: Vec<TensorId>,
        shape: [usize; 3],
    ) -> TensorId {
        let out = self.new_tensor(&node.name, shape, OutletId::new(node.id, 0));
        self.graph.nodes.push(ir::Node {
            name: node.name.clone(),
            op,
            inputs,
            output: out,
        });
        self.vals.insert(OutletId::new(node.id, 0), Val::Act(out));
        out
    }

    fn shape_of(&self, t: TensorId) -> [usize; 3] {
        self.graph.tensors[t].shape
    }

    /// True when tract's shape of this value is the spatial `[1, C, H, W]` view of `t`.
    fn is_spatial(&self, t: TensorId, tshape: &[usize]) -> bool {
        let [h, w, c] = self.shape_of(t);
        tshape == [1, c, h, w]
    }

    /// True when NCHW and NHWC enumerations of `t` coincide.
    fn order_free(&self, t: TensorId) -> bool {
        let [h, w, c] = self.shape_of(t);
        h * w == 1 || c == 1
    }

    fn node(&mut self, id: usize) -> Result<(), CompileError> {
        let loaded = self.loaded;
        let model = &loaded.model;
        let node = model.node(id);
        if node
            .op_as::<tract_core::ops::source::TypedSource>()
            .is_some()
        {
            let s = &self.loaded.input_shape;
            if s.len() != 4 {
                return Err(self.unsupported(
                    node,
                    format!("input of rank {} (expected N,C,H,W)", s.len()),
                ));
            }
            let hwc = match self.layout {
                Layout::Nchw => [s[2], s[3], s[1]],
                Layout::Nhwc => [s[1], s[2], s[3]],
            };
            let t = self.new_tensor(&node.name, hwc, OutletId::new(id, 0));
            self.graph.input = t;
            match self.layout {
                Layout::Nchw => {
                    self.vals.insert(OutletId::new(id, 0), Val::Act(t));
                }
                // Only the moves to NCHW read it (see `input_layout`); they alias it.
                Layout::Nhwc => self.nhwc_input = Some((OutletId::new(id, 0), t)),
            }
            return Ok(());
        }
        if let Some((outlet, t)) = self.nhwc_input {
            if node.inputs.first() == Some(&outlet) {
                self.vals.insert(OutletId::new(id, 0), Val::Act(t));
                return Ok(());
            }
        }
        // Constants: known facts, or nodes whose inputs are all constants.
        if node.outputs.iter().all(|o| o.fact.konst.is_some()) {
            for (i, o) in node.outputs.iter().enumerate() {
                self.vals.insert(
                    OutletId::new(id, i),
                    Val::Const(o.fact.konst.clone().unwrap()),
                );
            }
            return Ok(());
        }
        let inputs: Vec<Val> =
            node.inputs
                .iter()
                .map(|o| {
                    self.vals.get(o).cloned().ok_or_else(|| {
                        self.unsupported(node, "input produced by an unsupported node")
                    })
                })
                .collect::<Result<_, _>>()?;
        if inputs.iter().any(|v| matches!(v, Val::Chan { .. })) {
            return self.channel_user(node, &inputs);
        }
        if inputs.iter().all(|v| matches!(v, Val::Const(_))) {
            let tv: TVec<TValue> = inputs
                .iter()
                .filter_map(|v| match v {
                    Val::Const(t) => Some(t.clone().into_tvalue()),
                    _ => None,
                })
                .collect();
            let out = node
                .op
                .eval_out_of_plan(tv)
                .map_err(|e| self.unsupported(node, format!("constant evaluation failed: {e}")))?
                .ok_or_else(|| self.unsupported(node, "cannot evaluate on constants"))?;
            for (i, o) in out.into_iter().enumerate() {
                self.vals
                    .insert(OutletId::new(id, i), Val::Const(o.into_arc_tensor()));
            }
            return Ok(());
        }
        let out_shape = concrete(&node.outputs[0].fact)
            .ok_or_else(|| self.unsupported(node, "symbolic output shape"))?;
        let act = |i: usize| -> Option<TensorId> {
            match inputs.get(i) {
                Some(Val::Act(t)) => Some(*t),
                _ => None,
            }
        };
        let konst = |i: usize| -> Option<Arc<Tensor>> {
            match inputs.get(i) {
                Some(Val::Const(t)) => Some(t.clone()),
                _ => None,
            }
        };
        let in_shape = |i: usize| concrete(model.outlet_fact(node.inputs[i]).ok()?);
        let alias = |me: &mut Self, t: TensorId| {
            me.vals.insert(OutletId::new(id, 0), Val::Act(t));
        };

        let name = node.op.name().to_string();
        if let Some(ch) = self.single_channel(node, &inputs)? {
            self.vals.insert(OutletId::new(id, 0), ch);
            return Ok(());
        }
        if let Some(conv) = node.op_as::<TConv>() {
            let x = act(0).ok_or_else(|| self.unsupported(node, "kernel is an activation"))?;
            return self.conv(node, conv, x, konst(1), konst(2), &out_shape);
        }
        if let Some(mp) = node.op_as::<MaxPool>() {
            if mp.with_index_outputs.is_some() {
                return Err(self.unsupported(node, "MaxPool with indices output"));
            }
            let x = act(0).ok_or_else(|| self.unsupported(node, "first input is a constant"))?;
            let (window, _) = self.window(node, &mp.pool_spec, x)?;
            let shape = self.spatial_out(node, &out_shape)?;
            self.push(node, ir::Op::MaxPool(window, Clamp::NONE), vec![x], shape);
            return Ok(());
        }
        if let Some(sp) = node.op_as::<SumPool>() {
            let x = act(0).ok_or_else(|| self.unsupported(node, "first input is a constant"))?;
            let (window, _) = self.window(node, &sp.pool_spec, x)?;
            let shape = self.spatial_out(node, &out_shape)?;
            let has_pad = window.pad.iter().any(|&p| p > 0);
            let k = (window.kernel[0] * window.kernel[1]) as f32;
            let t = self.push(
                node,
                ir::Op::AvgPool {
                    window,
                    count_include_pad: sp.count_include_pad,
                    act: Clamp::NONE,
                },
                vec![x],
                shape,
            );
            if !sp.normalize {
                if has_pad && !sp.count_include_pad {
                    return Err(
                        self.unsupported(node, "un-normalised sum pool with excluded padding")
                    );
                }
                self.affine_after(node, t, vec![k], vec![0.0], shape);
            }
            return Ok(());
        }
        if let Some(red) = node.op_as::<Reduce>() {
            let x = act(0).ok_or_else(|| self.unsupported(node, "first input is a constant"))?;
            let ish = in_shape(0).unwrap_or_default();
            if !self.is_spatial(x, &ish)
                || red.axes.iter().copied().collect::<Vec<_>>() != vec![2, 3]
            {
                return Err(self.unsupported(
                    node,
                    format!("reduction over axes {:?} of {ish:?}", red.axes),
                ));
            }
            let [h, w, c] = self.shape_of(x);
            let window = Window {
                kernel: [h, w],
                stride: [1, 1],
                pad: [0; 4],
            };
            match red.reducer {
                Reducer::Sum => {
                    let t = self.push(
                        node,
                        ir::Op::AvgPool {
                            window,
                            count_include_pad: false,
                            act: Clamp::NONE,
                        },
                        vec![x],
                        [1, 1, c],
                    );
                    self.affine_after(node, t, vec![(h * w) as f32], vec![0.0], [1, 1, c]);
                }
                Reducer::Max => {
                    self.push(
                        node,
                        ir::Op::MaxPool(window, Clamp::NONE),
                        vec![x],
                        [1, 1, c],
                    );
                }
                _ => return Err(self.unsupported(node, format!("reducer {:?}", red.reducer))),
            }
            return Ok(());
        }
        if let Some(sm) = node.op_as::<Softmax>() {
            let x = act(0).ok_or_else(|| self.unsupported(node, "first input is a constant"))?;
            if sm.kind != SoftmaxKind::Softmax || sm.quant_output_dt.is_some() {
                return Err(self.unsupported(node, "only plain float softmax"));
            }
            let ish = in_shape(0).unwrap_or_default();
            let [h, w, c] = self.shape_of(x);
            let ok = if self.is_spatial(x, &ish) {
                sm.axes.as_slice() == [1]
            } else {
                // a vector: the axes must cover every non-unit axis
                h * w == 1 && (0..ish.len()).all(|a| ish[a] == 1 || sm.axes.contains(&a))
            };
            if !ok {
                return Err(
                    self.unsupported(node, format!("softmax over axes {:?} of {ish:?}", sm.axes))
                );
            }
            self.push(node, ir::Op::Softmax, vec![x], [h, w, c]);
            return Ok(());
        }
        if let Some(lrn) = node.op_as::<Lrn>() {
            let x = act(0).ok_or_else(|| self.unsupported(node, "first input is a constant"))?;
            let ish = in_shape(0).unwrap_or_default();
            if !self.is_spatial(x, &ish) {
                return Err(self.unsupported(node, "LRN on a non-NCHW tensor"));
            }
            let op = ir::Op::Lrn {
                size: lrn.size,
                alpha: lrn.alpha,
                beta: lrn.beta,
                bias: lrn.bias,
            };
            let s = self.shape_of(x);
            self.push(node, op, vec![x], s);
            return Ok(());
        }
        if let Some(es) = node.op_as::<EinSum>() {
            return self.einsum(node, es, &inputs, &out_shape);
        }
        if let Some(cat) = node.op_as::<tract_core::ops::array::TypedConcat>() {
            let mut xs = vec![];
            let (mut h0, mut w0, mut c) = (0, 0, 0);
            for i in 0..inputs.len() {
                let x = act(i)
                    .ok_or_else(|| self.unsupported(node, "concatenation with a constant"))?;
                let ish = in_shape(i).unwrap_or_default();
                let [h, w, ci] = self.shape_of(x);
                let ok = if self.is_spatial(x, &ish) {
                    cat.axis == 1
                } else {
                    h * w == 1
                        && ish
                            .iter()
                            .enumerate()
                            .all(|(a, &d)| d == 1 || a == cat.axis)
                };
                if !ok || (i > 0 && (h, w) != (h0, w0)) {
                    return Err(self.unsupported(
                        node,
                        format!("concatenation on axis {} of {ish:?}", cat.axis),
                    ));
                }
                (h0, w0) = (h, w);
                c += ci;
                xs.push(x);
            }
            self.push(node, ir::Op::Concat, xs, [h0, w0, c]);
            return Ok(());
        }
        if let Some(pad) = node.op_as::<tract_core::ops::array::Pad>() {
            let x = act(0).ok_or_else(|| self.unsupported(node, "first input is a constant"))?;
            let ish = in_shape(0).unwrap_or_default();
            let value = match &pad.mode {
                tract_core::ops::array::PadMode::Constant(v) => {
                    f32s(v).ok().and_then(|v| v.first().copied()).unwrap_or(0.0)
                }
                _ => return Err(self.unsupported(node, "only constant padding")),
            };
            if !self.is_spatial(x, &ish)
                || pad.pads.len() != 4
                || pad.pads[0] != (0, 0)
                || pad.pads[1] != (0, 0)
            {
                return Err(self.unsupported(node, format!("padding {:?} of {ish:?}", pad.pads)));
            }
            let p = [pad.pads[2].0, pad.pads[3].0, pad.pads[2].1, pad.pads[3].1];
            let shape = self.spatial_out(node, &out_shape)?;
            self.push(node, ir::Op::Pad { pad: p, value }, vec![x], shape);
            return Ok(());
        }
        if let Some(axis_op) = node.op_as::<AxisOp>() {
            let x = act(0).ok_or_else(|| self.unsupported(node, "first input is a constant"))?;
            if let AxisOp::Move(from, to) = axis_op {
                // Moving an axis keeps the order only if every axis it passes over is unit.
                let ish = in_shape(0).unwrap_or_default();
                let (lo, hi) = (*from.min(to), *from.max(to));
                let moved = ish
                    .get(lo..=hi)
                    .map(|s| s.iter().filter(|&&d| d > 1).count())
                    .unwrap_or(2);
                if moved > 1 {
                    return Err(self.unsupported(node, "transposition of a feature map"));
                }
            }
            alias(self, x);
            return Ok(());
        }
        match name.as_str() {
            "Dropout" | "Identity" => {
                alias(
                    self,
                    act(0).ok_or_else(|| self.unsupported(node, "first input is a constant"))?,
                );
                Ok(())
            }
            "Cast" => {
                let dt = node.outputs[0].fact.datum_type;
                if dt != f32::datum_type() {
                    return Err(self.unsupported(node, format!("cast of an activation to {dt:?}")));
                }
                alias(
                    self,
                    act(0).ok_or_else(|| self.unsupported(node, "first input is a constant"))?,
                );
                Ok(())
            }
            "Add" | "Sub" | "Mul" | "Div" | "Max" | "Min" => {
                self.binary(node, &name, &inputs, &out_shape)
            }
            _ => Err(self.unsupported(node, "no int8 lowering for this op")),
        }
    }

    /// A `Gather` of one index, or a `Slice` of length one, on the channel axis of a spatial
    /// activation: the start of a per-channel split (`x[:, c]`), as a [`Val::Chan`].
    /// `None` for any other node.
    fn single_channel(
        &self,
        node: &TypedNode,
        inputs: &[Val],
    ) -> Result<Option<Val>, CompileError> {
        let ch = if let Some(g) = node.op_as::<tract_core::ops::array::Gather>() {
            let (Some(Val::Act(_)), Some(Val::Const(idx))) = (inputs.first(), inputs.get(1)) else {
                return Ok(None);
            };
            if g.axis != 1 || idx.len() != 1 {
                return Ok(None);
            }
            let i = idx
                .cast_to_scalar::<i64>()
                .map_err(|e| self.unsupported(node, format!("gather index: {e}")))?;
            Some(i)
        } else if let Some(sl) = node.op_as::<tract_core::ops::array::Slice>() {
            match (sl.start.to_i64(), sl.end.to_i64()) {
                (Ok(a), Ok(b)) if sl.axis == 1 && b == a + 1 => Some(a),
                _ => return Ok(None),
            }
        } else {
            None
        };
        let Some(i) = ch else { return Ok(None) };
        let Some(Val::Act(src)) = inputs.first() else {
            return Ok(None);
        };
        let ish = concrete(
            self.loaded
                .model
                .outlet_fact(node.inputs[0])
                .map_err(|e| self.unsupported(node, format!("input fact: {e}")))?,
        )
        .unwrap_or_default();
        if !self.is_spatial(*src, &ish) {
            return Err(self.unsupported(node, format!("channel slice of {ish:?}")));
        }
        let c = self.shape_of(*src)[2] as i64;
        let i = if i < 0 { i + c } else { i };
        if !(0..c).contains(&i) {
            return Err(self.unsupported(node, format!("channel {i} of {c}")));
        }
        Ok(Some(Val::Chan {
            src: *src,
            ch: i as usize,
            scale: 1.0,
            shift: 0.0,
        }))
    }

    /// A node reading a pending single channel ([`Val::Chan`]): a unit-axis change or a
    /// scalar `Mul`/`Add`/`Sub`/`Div` keeps it pending; a channel-axis `Concat` of every
    /// channel of one tensor, in order, becomes one per-channel `Affine` of that tensor
    /// (folded later like a BatchNorm). Anything else is unsupported.
    fn channel_user(&mut self, node: &TypedNode, inputs: &[Val]) -> Result<(), CompileError> {
        let id = node.id;
        let why = "a single channel of an activation is only supported through scalar \
                   Mul/Add/Sub/Div and a Concat of all channels back in order \
                   (GoogLeNet's transform_input)";
        if let Some(axis_op) = node.op_as::<AxisOp>() {
            if matches!(axis_op, AxisOp::Add(_) | AxisOp::Rm(_)) {
                self.vals.insert(OutletId::new(id, 0), inputs[0].clone());
                return Ok(());
            }
        }
        if let Some(cat) = node.op_as::<tract_core::ops::array::TypedConcat>() {
            let out_shape = concrete(&node.outputs[0].fact).unwrap_or_default();
            let mut parts = vec![];
            for v in inputs {
                match v {
                    Val::Chan {
                        src,
                        ch,
                        scale,
                        shift,
                    } => parts.push((*src, *ch, *scale, *shift)),
                    _ => return Err(self.unsupported(node, why)),
                }
            }
            let src = parts[0].0;
            let whole = cat.axis == 1
                && self.is_spatial(src, &out_shape)
                && parts.len() == self.shape_of(src)[2]
                && parts
                    .iter()
                    .enumerate()
                    .all(|(i, p)| p.0 == src && p.1 == i);
            if !whole {
                return Err(self.unsupported(node, why));
            }
            let op = ir::Op::Affine {
                scale: parts.iter().map(|p| p.2).collect(),
                shift: parts.iter().map(|p| p.3).collect(),
            };
            let s = self.shape_of(src);
            self.push(node, op, vec![src], s);
            return Ok(());
        }
        let name = node.op.name().to_string();
        if let (true, [a, b]) = (
            matches!(name.as_str(), "Mul" | "Add" | "Sub" | "Div"),
            inputs,
        ) {
            let (chan, k, chan_first) = match (a, b) {
                (Val::Chan { .. }, Val::Const(k)) => (a, k, true),
                (Val::Const(k), Val::Chan { .. }) => (b, k, false),
                _ => return Err(self.unsupported(node, why)),
            };
            let Val::Chan {
                src,
                ch,
                scale,
                shift,
            } = chan.clone()
            else {
                return Err(self.unsupported(node, why));
            };
            let kv = f32s(k).map_err(|e| self.unsupported(node, e.to_string()))?;
            if kv.len() != 1 {
                return Err(self.unsupported(node, why));
            }
            let k = kv[0];
            let (scale, shift) = match (name.as_str(), chan_first) {
                ("Mul", _) => (scale * k, shift * k),
                ("Add", _) => (scale, shift + k),
                ("Sub", true) => (scale, shift - k),
                ("Sub", false) => (-scale, k - shift),
                ("Div", true) => (scale / k, shift / k),
                _ => return Err(self.unsupported(node, why)),
            };
            self.vals.insert(
                OutletId::new(id, 0),
                Val::Chan {
                    src,
                    ch,
                    scale,
                    shift,
                },
            );
            return Ok(());
        }
        Err(self.unsupported(node, why))
    }

    fn spatial_out(&self, node: &TypedNode, s: &[usize]) -> Result<[usize; 3], CompileError> {
        if s.len() != 4 || s[0] != 1 {
            return Err(self.unsupported(
                node,
                format!("output shape {s:?} is not N,C,H,W with N = 1"),
            ));
        }
        Ok([s[2], s[3], s[1]])
    }

    fn affine_after(
        &mut self,
        node: &TypedNode,
        t: TensorId,
        scale: Vec<f32>,
        shift: Vec<f32>,
        shape: [usize; 3],
    ) {
        // Same tract outlet: the affine's output is what tract computes; the pool output
        // before it is never calibrated on its own (the affine is cancelled or folded).
        let out = self.new_tensor(&node.name, shape, OutletId::new(node.id, 0));
        self.graph.tensors[t].source = None;
        self.graph.nodes.push(ir::Node {
            name: format!("{}.scale", node.name),
            op: ir::Op::Affine { scale, shift },
            inputs: vec![t],
            output: out,
        });
        self.vals.insert(OutletId::new(node.id, 0), Val::Act(out));
    }

    /// Window geometry of a pool or conv on `x` (`[1, C, H, W]`), plus whether ceil mode is on.
    fn window(
        &self,
        node: &TypedNode,
        ps: &PoolSpec,
        x: TensorId,
    ) -> Result<(Window, bool), CompileError> {
        if ps.data_format != DataFormat::NCHW {
            return Err(self.unsupported(node, format!("data format {:?}", ps.data_format)));
        }
        if ps.kernel_shape.len() != 2 {
            return Err(self.unsupported(node, format!("{}-D window", ps.kernel_shape.len())));
        }
        let [h, w, _] = self.shape_of(x);
        let computed = ps.computed_padding(&[h, w]);
        let (mut pad, ceil) = (
            [
                computed[0].pad_before,
                computed[1].pad_before,
                computed[0].pad_after,
                computed[1].pad_after,
            ],
            false,
        );
        let ceil = match &ps.padding {
            PaddingSpec::ExplicitOnnxPool(b, a, ceil) => {
                pad = [b[0], b[1], a[0], a[1]];
                *ceil
            }
            _ => ceil,
        };
        let k = [ps.kernel_shape[0], ps.kernel_shape[1]];
        let s = ps.strides();
        Ok((
            Window {
                kernel: k,
                stride: [s[0], s[1]],
                pad,
            },
            ceil,
        ))
    }

    fn conv(
        &mut self,
        node: &TypedNode,
        conv: &TConv,
        x: TensorId,
        kernel: Option<Arc<Tensor>>,
        bias: Option<Arc<Tensor>>,
        out_shape: &[usize],
    ) -> Result<(), CompileError> {
        if conv.q_params.is_some() {
            return Err(self.unsupported(node, "quantized convolution"));
        }
        let kernel = kernel.ok_or_else(|| self.unsupported(node, "kernel is not a constant"))?;
        let (window, _) = self.window(node, &conv.pool_spec, x)?;
        let shape = self.spatial_out(node, out_shape)?;
        let [_, _, ic] = self.shape_of(x);
        let oc = shape[2];
        let g = conv.group;
        let [kh, kw] = window.kernel;
        if ic % g != 0 || oc % g != 0 {
            return Err(self.unsupported(
                node,
                format!("groups {g} do not divide channels {ic} -> {oc}"),
            ));
        }
        let icg = ic / g;
        let wv = f32s(&kernel).map_err(|e| self.unsupported(node, e.to_string()))?;
        if wv.len() != oc * icg * kh * kw {
            return Err(self.unsupported(node, format!("kernel shape {:?}", kernel.shape())));
        }
        // to [oc][kh][kw][icg]
        let mut weights = vec![0f32; wv.len()];
        for o in 0..oc {
            for y in 0..kh {
                for xx in 0..kw {
                    for i in 0..icg {
                        let src = match conv.kernel_fmt {
                            KernelFormat::OIHW => ((o * icg + i) * kh + y) * kw + xx,
                            KernelFormat::OHWI => ((o * kh + y) * kw + xx) * icg + i,
                            // HWIO: [kh][kw][icg][oc]
                            KernelFormat::HWIO => ((y * kw + xx) * icg + i) * oc + o,
                        };
                        weights[((o * kh + y) * kw + xx) * icg + i] = wv[src];
                    }
                }
            }
        }
        let bias = match bias {
            None => vec![0.0; oc],
            Some(b) => {
                let b = f32s(&b).map_err(|e| self.unsupported(node, e.to_string()))?;
                match b.len() {
                    1 => vec![b[0]; oc],
                    n if n == oc => b,
                    n => {
                        return Err(
                            self.unsupported(node, format!("bias of {n} values for {oc} channels"))
                        )
                    }
                }
            }
        };
        let d = conv.pool_spec.dilations();
        let op = ir::Op::Conv(ir::Conv {
            kernel: window.kernel,
            stride: window.stride,
            dilation: [d[0], d[1]],
            pad: window.pad,
            groups: g,
            weights,
            bias,
            act: Clamp::NONE,
        });
        self.push(node, op, vec![x], shape);
        Ok(())
    }

    /// EinSum of an activation and a constant, contracting the whole activation: a Dense.
    fn einsum(
        &mut self,
        node: &TypedNode,
        es: &EinSum,
        inputs: &[Val],
        out_shape: &[usize],
    ) -> Result<(), CompileError> {
        if es.q_params.is_some() || inputs.len() != 2 {
            return Err(self.unsupported(node, "quantized or non-binary einsum"));
        }
        let (ai, x, w) = match (&inputs[0], &inputs[1]) {
            (Val::Act(x), Val::Const(w)) => (0, *x, w.clone()),
            (Val::Const(w), Val::Act(x)) => (1, *x, w.clone()),
            _ => return Err(self.unsupported(node, "einsum needs one activation and one constant")),
        };
        let wi = 1 - ai;
        let ashape =
            concrete(self.loaded.model.outlet_fact(node.inputs[ai]).unwrap()).unwrap_or_default();
        let wshape = w.shape().to_vec();
        // Classify axes.
        let (mut k_axes_a, mut k_axes_w, mut n_axes_w) = (vec![], vec![], vec![]);
        for axis in es.axes.iter_all_axes() {
            let (ia, iw, io) = (&axis.inputs[ai], &axis.inputs[wi], &axis.outputs[0]);
            let asz = ia.first().map(|&p| ashape[p]).unwrap_or(1);
            let wsz = iw.first().map(|&p| wshape[p]).unwrap_or(1);
            if ia.len() > 1 || iw.len() > 1 || io.len() > 1 {
                return Err(
                    self.unsupported(node, format!("repeated axis in einsum {:?}", es.axes))
                );
            }
            match (ia.first(), iw.first(), io.first()) {
                (Some(&pa), Some(&pw), None) => {
                    k_axes_a.push(pa);
                    k_axes_w.push(pw);
                }
                (None, Some(&pw), Some(_)) => n_axes_w.push(pw),
                (None, Some(_), None) if wsz == 1 => {}
                (Some(_), _, _) if asz == 1 => {}
                _ => {
                    return Err(self.unsupported(
                        node,
                        format!("einsum {:?} is not a matrix product", es.axes),
                    ))
                }
            }
        }
        let k: usize = k_axes_a.iter().map(|&p| ashape[p]).product();
        let n: usize = n_axes_w.iter().map(|&p| wshape[p]).product();
        let len = self.graph.tensors[x].len();
        if k != len || k_axes_a.len() != 1 || n_axes_w.len() > 1 {
            return Err(self.unsupported(
                node,
                format!("einsum {:?} does not contract the whole input", es.axes),
            ));
        }
        // W as [n][k] in tract's (NCHW-enumeration) order of the input.
        let wv = w
            .cast_to::<f32>()
            .map_err(|e| self.unsupported(node, e.to_string()))?;
        let view = wv
            .to_plain_array_view::<f32>()
            .map_err(|e| self.unsupported(node, e.to_string()))?;
        let mut perm: Vec<usize> = n_axes_w.clone();
        perm.push(k_axes_w[0]);
        for a in 0..wshape.len() {
            if !perm.contains(&a) {
                perm.push(a);
            }
        }
        let view = view.permuted_axes(perm);
        let flat: Vec<f32> = view.iter().copied().collect();
        // flat is [n][k] (unit axes trailing). Permute columns: NCHW index -> NHWC index.
        let [h, wd, c] = self.shape_of(x);
        let mut weights = vec![0f32; n * k];
        for o in 0..n {
            for ch in 0..c {
                for y in 0..h {
                    for xx in 0..wd {
                        let nchw = (ch * h + y) * wd + xx;
                        let nhwc = (y * wd + xx) * c + ch;
                        weights[o * k + nhwc] = flat[o * k + nchw];
                    }
                }
            }
        }
        if out_shape.iter().product::<usize>() != n {
            return Err(self.unsupported(node, format!("output shape {out_shape:?}")));
        }
        let op = ir::Op::Dense(ir::Dense {
            weights,
            bias: vec![0.0; n],
            act: Clamp::NONE,
        });
        self.push(node, op, vec![x], [1, 1, n]);
        Ok(())
    }

    /// Per-channel view of a constant combined with activation `x` seen as `ashape`.
    ///
    /// Also accepts a constant of the activation's full size (BatchNorm1d after a flatten):
    /// returned per element, in NHWC order.
    fn channel_vec(&self, x: TensorId, ashape: &[usize], k: &Tensor) -> Option<Vec<f32>> {
        let v = f32s(k).ok()?;
        if v.len() == 1 {
            return Some(v);
        }
        let kshape = k.shape();
        if kshape.len() > ashape.len() {
            return None;
        }
        let off = ashape.len() - kshape.len();
        let [h, w, c] = self.shape_of(x);
        if h * w > 1 && v.len() == h * w * c && kshape == &ashape[off..] {
            // elementwise over the tract enumeration (NCHW order of x): to NHWC
            let mut out = vec![0.0; v.len()];
            for ch in 0..c {
                for p in 0..h * w {
                    out[p * c + ch] = v[ch * h * w + p];
                }
            }
            return Some(out);
        }
        // the axis of ashape holding the channels
        let caxis = if self.is_spatial(x, ashape) {
            1
        } else if h * w == 1 {
            ashape.iter().position(|&d| d == c)?
        } else {
            return None;
        };
        for (i, &d) in kshape.iter().enumerate() {
            let a = i + off;
            if d != 1 && a != caxis {
                return None;
            }
            if a == caxis && d != 1 && d != c {
                return None;
            }
        }
        if v.len() == c || v.len() == 1 {
            Some(v)
        } else {
            None
        }
    }

    fn binary(
        &mut self,
        node: &TypedNode,
        name: &str,
        inputs: &[Val],
        out_shape: &[usize],
    ) -> Result<(), CompileError> {
        let loaded = self.loaded;
        let model = &loaded.model;
        match (&inputs[0], &inputs[1]) {
            (Val::Act(a), Val::Act(b)) => {
                let (a, b) = (*a, *b);
                if name != "Add" {
                    return Err(self.unsupported(node, format!("{name} of two activations")));
                }
                let sa = concrete(model.outlet_fact(node.inputs[0]).unwrap()).unwrap_or_default();
                let sb = concrete(model.outlet_fact(node.inputs[1]).unwrap()).unwrap_or_default();
                let (ta, tb) = (self.shape_of(a), self.shape_of(b));
                let views_agree = sa == sb
                    && (self.is_spatial(a, &sa) == self.is_spatial(b, &sb)
                        || (self.order_free(a) && self.order_free(b)));
                if ta != tb || !views_agree || sa != out_shape {
                    return Err(self.unsupported(
                        node,
                        format!("Add of shapes {sa:?} and {sb:?} (broadcasting)"),
                    ));
                }
                self.push(node, ir::Op::Add(Clamp::NONE), vec![a, b], ta);
                Ok(())
            }
            (Val::Const(_), Val::Const(_)) => unreachable!(),
            (x, k) => {
                let act_first = matches!(x, Val::Act(_));
                let (t, kt, ai) = match (x, k) {
                    (Val::Act(t), Val::Const(k)) => (*t, k.clone(), 0),
                    (Val::Const(k), Val::Act(t)) => (*t, k.clone(), 1),
                    _ => unreachable!(),
                };
                let ashape =
                    concrete(model.outlet_fact(node.inputs[ai]).unwrap()).unwrap_or_default();
                if ashape != out_shape {
                    return Err(self.unsupported(
                        node,
                        format!("broadcast of the activation {ashape:?} to {out_shape:?}"),
                    ));
                }
                let v = self.channel_vec(t, &ashape, &kt).ok_or_else(|| {
                    self.unsupported(
                        node,
                        format!("constant of shape {:?} is not per channel", kt.shape()),
                    )
                })?;
                let ones = vec![1.0; v.len()];
                let zeros = vec![0.0; v.len()];
                let op = match (name, act_first) {
                    ("Mul", _) => ir::Op::Affine {
                        scale: v,
                        shift: zeros,
                    },
                    ("Add", _) => ir::Op::Affine {
                        scale: ones,
                        shift: v,
                    },
                    ("Sub", true) => ir::Op::Affine {
                        scale: ones,
                        shift: v.iter().map(|x| -x).collect(),
                    },
                    ("Sub", false) => ir::Op::Affine {
                        scale: vec![-1.0; v.len()],
                        shift: v,
                    },
                    ("Div", true) => ir::Op::Affine {
                        scale: v.iter().map(|x| 1.0 / x).collect(),
                        shift: zeros,
                    },
                    ("Max", _) if v.len() == 1 => ir::Op::Clamp(Clamp {
                        min: v[0],
                        max: f32::INFINITY,
                    }),
                    ("Min", _) if v.len() == 1 => ir::Op::Clamp(Clamp {
                        min: f32::NEG_INFINITY,
                        max: v[0],
                    }),
                    _ => {
                        return Err(self.unsupported(
                            node,
                            format!("{name} with a constant of shape {:?}", kt.shape()),
                        ))
                    }
                };
                let s = self.shape_of(t);
                self.push(node, op, vec![t], s);
                Ok(())
            }
        }
    }
}

/// Runs the typed model in float (tract), returning the values of chosen outlets.
pub(crate) struct Reference {
    plan: Arc<TypedSimplePlan>,
    input_shape: Vec<usize>,
    path: PathBuf,
}

fn run_err(path: &Path, e: impl std::fmt::Display) -> CompileError {
    CompileError::Other(format!("{}: float reference failed: {e}", path.display()))
}

impl Reference {
    /// An optimised plan of `loaded` computing `outlets` (all of the model's outputs if empty).
    fn new(loaded: &Loaded, outlets: &[OutletId]) -> Result<Self, CompileError> {
        super::tract_guard::guarded(&loaded.path, "optimising the float model", || {
            Self::new_unguarded(loaded, outlets)
        })
    }

    /// [`Reference::new`] without the guard against tract panics.
    fn new_unguarded(loaded: &Loaded, outlets: &[OutletId]) -> Result<Self, CompileError> {
        let mut model = loaded.model.clone();
        if !outlets.is_empty() {
            model
                .select_output_outlets(outlets)
                .map_err(|e| run_err(&loaded.path, e))?;
        }
        let model = model
            .into_optimized()
            .map_err(|e| run_err(&loaded.path, format!("{e:#}")))?;
        let plan =
            TypedSimplePlan::new(model).map_err(|e| run_err(&loaded.path, format!("{e:#}")))?;
        Ok(Reference {
            plan,
            input_shape: loaded.input_shape.clone(),
            path: loaded.path.clone(),
        })
    }

    /// The float model's own output(s).
    pub fn for_output(loaded: &Loaded) -> Result<Self, CompileError> {
        Self::new(loaded, &[])
    }

    /// Input shape, batch included.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Runs one input (model layout, batch dropped), returning every output flattened.
    pub fn run(&self, input: &[f32]) -> Result<Vec<Vec<f32>>, CompileError> {
        let want: usize = self.input_shape.iter().product();
        if input.len() != want {
            return Err(CompileError::Calibration(format!(
                "input has {} values, the model takes {want} ({:?})",
                input.len(),
                self.input_shape
            )));
        }
        let t = Tensor::from_shape(&self.input_shape, input).map_err(|e| run_err(&self.path, e))?;
        let outs = super::tract_guard::guarded(&self.path, "running the float model", || {
            self.plan
                .run(tvec![t.into_tvalue()])
                .map_err(|e| run_err(&self.path, format!("{e:#}")))
        })?;
        outs.iter()
            .map(|o| f32s(o).map_err(|e| run_err(&self.path, e)))
            .collect()
    }
}

impl Imported {
    /// A reference runner producing the values of `sources`, in that order.
    pub fn reference_for(&self, sources: &[SourceRef]) -> Result<Reference, CompileError> {
        let outlets: Vec<OutletId> = sources.iter().map(|s| self.outlets[s.0]).collect();
        Reference::new(&self.loaded, &outlets)
    }
}
