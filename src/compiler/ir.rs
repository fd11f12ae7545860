//! The compiler's own float graph: a closed set of ops, every activation NHWC with batch 1.
//!
//! `import` builds it from tract, `passes` simplify it (fold affine ops into producers, fuse
//! clamps, fold pads), `calibrate` measures its tensors and `quantize` turns it into int8
//! steps. No tract type appears here.
//!
//! Conventions:
//! * a tensor's shape is `[h, w, c]`; a vector (after Flatten / Gemm) is `[1, 1, n]`;
//! * conv weights are `[oc][kh][kw][ic / groups]`, dense weights `[out][in]` with `in` in
//!   NHWC flatten order of the input tensor (import permutes ONNX's NCHW order);
//! * nodes are stored in a valid execution (topological) order.

/// Index of a tensor in [`Graph::tensors`].
pub type TensorId = usize;

/// Opaque handle the importer uses to find a tensor's float values in the reference model
/// (for calibration). Meaningful only to `import`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceRef(pub usize);

/// A float activation tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Name for messages (the producing ONNX node's).
    pub name: String,
    /// `[h, w, c]`.
    pub shape: [usize; 3],
    /// Where the reference model computes the same values (any element order).
    pub source: Option<SourceRef>,
}

impl Tensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A clamp on real values; `(-inf, inf)` is no clamp, `(0, inf)` a ReLU, `(0, 6)` a ReLU6.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clamp {
    /// Lower bound (may be `-inf`).
    pub min: f32,
    /// Upper bound (may be `inf`).
    pub max: f32,
}

impl Clamp {
    /// No clamp at all.
    pub const NONE: Clamp = Clamp {
        min: f32::NEG_INFINITY,
        max: f32::INFINITY,
    };

    /// The clamp applying `self` then `other`.
    pub fn then(self, other: Clamp) -> Clamp {
        let min = self.min.max(other.min);
        let max = self.max.min(other.max).max(min);
        Clamp { min, max }
    }
    /// Applies the clamp to a value.
    pub fn apply(self, v: f32) -> f32 {
        v.max(self.min).min(self.max)
    }
}

/// 2-D convolution (dense, grouped or depthwise) with a fused clamp.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv {
    /// Kernel `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride `[h, w]`.
    pub stride: [usize; 2],
    /// Dilation `[h, w]`.
    pub dilation: [usize; 2],
    /// Padding `[top, left, bottom, right]` (zeros).
    pub pad: [usize; 4],
    /// Groups.
    pub groups: usize,
    /// `[oc][kh][kw][ic / groups]`.
    pub weights: Vec<f32>,
    /// Per output channel.
    pub bias: Vec<f32>,
    /// Fused activation.
    pub act: Clamp,
}

/// Fully connected layer over the whole input read flat (NHWC order) with a fused clamp.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// `[out][in]`.
    pub weights: Vec<f32>,
    /// Per output.
    pub bias: Vec<f32>,
    /// Fused activation.
    pub act: Clamp,
}

/// Window geometry shared by the pools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// `[kh, kw]`.
    pub kernel: [usize; 2],
    /// `[h, w]`.
    pub stride: [usize; 2],
    /// `[top, left, bottom, right]`; the output shape already accounts for ceil mode.
    pub pad: [usize; 4],
}

/// The closed op set.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Convolution. Inputs `[x]`.
    Conv(Conv),
    /// Fully connected. Inputs `[x]`.
    Dense(Dense),
    /// Max pooling over valid positions, then a clamp. Inputs `[x]`.
    MaxPool(Window, Clamp),
    /// Average pooling, then a clamp. Inputs `[x]`.
    AvgPool {
        /// Window.
        window: Window,
        /// ONNX `count_include_pad`.
        count_include_pad: bool,
        /// Fused activation.
        act: Clamp,
    },
    /// Elementwise sum of two same-shape tensors, then a clamp. Inputs `[a, b]`.
    Add(Clamp),
    /// Channel concatenation. Inputs `[x0, x1, ...]`.
    Concat,
    /// ONNX LRN across channels. Inputs `[x]`.
    Lrn {
        /// Window size.
        size: usize,
        /// ONNX alpha (divided by `size` in the formula).
        alpha: f32,
        /// Exponent.
        beta: f32,
        /// Additive bias ("k").
        bias: f32,
    },
    /// Softmax over channels of every pixel. Inputs `[x]`.
    Softmax,
    /// `x * scale + shift` per tensor (1 entry), per channel (C entries) or per element
    /// (H·W·C entries, NHWC order; only when H·W > 1): BatchNorm and constant Mul/Add/Sub/Div
    /// before they are folded into a neighbour. Inputs `[x]`.
    Affine {
        /// Per channel (or one) factor.
        scale: Vec<f32>,
        /// Per channel (or one) offset.
        shift: Vec<f32>,
    },
    /// A standalone clamp (ReLU, Clip) before fusion. Inputs `[x]`.
    Clamp(Clamp),
    /// Constant padding `[top, left, bottom, right]` before it is folded into a consumer.
    /// Inputs `[x]`.
    Pad {
        /// Amounts.
        pad: [usize; 4],
        /// Padding value.
        value: f32,
    },
}

impl Op {
    /// A short name for messages and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv(_) => "Conv",
            Op::Dense(_) => "Dense",
            Op::MaxPool(..) => "MaxPool",
            Op::AvgPool { .. } => "AvgPool",
            Op::Add(_) => "Add",
            Op::Concat => "Concat",
            Op::Lrn { .. } => "Lrn",
            Op::Softmax => "Softmax",
            Op::Affine { .. } => "Affine",
            Op::Clamp(_) => "Clamp",
            Op::Pad { .. } => "Pad",
        }
    }
}

/// One op application.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The ONNX node it came from (for messages).
    pub name: String,
    /// What it computes.
    pub op: Op,
    /// Input tensors.
    pub inputs: Vec<TensorId>,
    /// Output tensor.
    pub output: TensorId,
}

/// A whole float model: one input, one output.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// All tensors (some may become unused after passes).
    pub tensors: Vec<Tensor>,
    /// Nodes in a valid execution order.
    pub nodes: Vec<Node>,
    /// The model input.
    pub input: TensorId,
    /// The model output.
    pub output: TensorId,
}

impl Graph {
    /// Indices of the nodes reading `t`.
    pub fn consumers(&self, t: TensorId) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].inputs.contains(&t))
            .collect()
    }
    /// Index of the node writing `t`, if any.
    pub fn producer(&self, t: TensorId) -> Option<usize> {
        self.nodes.iter().position(|n| n.output == t)
    }
    /// Replaces every read of `from` by `to` (and the graph output).
    pub fn rewire(&mut self, from: TensorId, to: TensorId) {
        for n in &mut self.nodes {
            for i in &mut n.inputs {
                if *i == from {
                    *i = to;
                }
            }
        }
        if self.output == from {
            self.output = to;
        }
    }
}

/// Output size of a window along one axis (`floor` or `ceil` mode, ONNX rules: in ceil mode
/// the last window must start inside the input or the left padding).
pub fn window_out(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad: (usize, usize),
    ceil: bool,
) -> usize {
    let eff = dilation * (kernel - 1) + 1;
    let span = (input + pad.0 + pad.1).saturating_sub(eff);
    let mut out = if ceil {
        span.div_ceil(stride) + 1
    } else {
        span / stride + 1
    };
    if ceil && (out - 1) * stride >= input + pad.0 {
        out -= 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_composition() {
        let relu = Clamp {
            min: 0.0,
            max: f32::INFINITY,
        };
        let six = Clamp {
            min: f32::NEG_INFINITY,
            max: 6.0,
        };
        assert_eq!(relu.then(six), Clamp { min: 0.0, max: 6.0 });
        assert_eq!(Clamp::NONE.then(relu), relu);
        assert_eq!(relu.apply(-1.0), 0.0);
    }

    #[test]
    fn window_sizes() {
        // 20 -> maxpool 3/2 ceil -> 10; floor -> 9
        assert_eq!(window_out(20, 3, 2, 1, (0, 0), true), 10);
        assert_eq!(window_out(20, 3, 2, 1, (0, 0), false), 9);
        // 10 -> avgpool 3/2 pad 1 ceil -> 6
        assert_eq!(window_out(10, 3, 2, 1, (1, 1), true), 6);
        // 112 -> 3/2 pad 1 -> 56 (ResNet stem)
        assert_eq!(window_out(112, 3, 2, 1, (1, 1), false), 56);
    }
}
