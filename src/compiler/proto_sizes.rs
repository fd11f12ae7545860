//! Bounds, on the protobuf, the tensors tract would build from constants while typing a model.
//!
//! tract evaluates every node whose inputs are all constants while it types the model
//! (`into_typed`), before [`super::import`] can look at the typed shapes. A tiny file can ask
//! for an enormous constant that way: `ConstantOfShape([1 << 30])`, an `Expand` or `Tile` of a
//! literal to billions of elements, a `Range` with a step of 1e-9, two constant vectors whose
//! broadcast sum is their product. The onnx fuzz target found the first (2026-12-02: a
//! `ConstantOfShape` of 4.2·10^8 i64 elements ran the process out of memory).
//!
//! [`check`] walks the graph once, knowing the shape of every initializer and `Constant` output
//! and the values of the small integer and float ones, and refuses, naming the node:
//! - an op that makes a tensor from a *value* (`ConstantOfShape`, `Expand`, `Tile`, `Range`,
//!   `OneHot`) when that value is computed rather than a literal (no classifier computes one,
//!   and a computed one cannot be bounded here), or when the literal asks for more than
//!   [`MAX_TENSOR_ELEMENTS`] elements, a negative size or a zero `Range` step;
//! - a `Pad`, `Resize`/`Upsample` or `Random*` op whose literal sizes ask for more;
//! - an elementwise, `MatMul` or `Gemm` op on constant inputs of known shapes whose result
//!   would be larger.
//!
//! Everything else, including all four torchvision architectures, passes untouched. Shapes
//! that depend on the graph input are bounded later, on the typed model (`check_sizes`).

use super::import::MAX_TENSOR_ELEMENTS;
use std::collections::HashMap;
use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};

/// What [`check`] knows of one constant: its shape and, when it is small and numeric, its
/// values as `f64` (exact for every integer a size can sensibly be).
struct Known {
    dims: Vec<u64>,
    values: Option<Vec<f64>>,
}

/// The most values of one constant [`check`] reads (sizes and steps are short vectors).
const MAX_READ: usize = 64;

/// ONNX `TensorProto.DataType` codes read here.
const FLOAT: i32 = 1;
const INT32: i32 = 6;
const INT64: i32 = 7;
const DOUBLE: i32 = 11;

fn read_values(t: &TensorProto, count: usize) -> Option<Vec<f64>> {
    if count > MAX_READ {
        return None;
    }
    let raw = |width: usize| -> Option<Vec<[u8; 8]>> {
        if t.raw_data.len() != count.checked_mul(width)? {
            return None;
        }
        Some(
            t.raw_data
                .chunks_exact(width)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b[..width].copy_from_slice(c);
                    b
                })
                .collect(),
        )
    };
    let from_raw = !t.raw_data.is_empty();
    let values: Vec<f64> = match t.data_type {
        INT64 if from_raw => raw(8)?
            .into_iter()
            .map(|b| i64::from_le_bytes(b) as f64)
            .collect(),
        INT64 => t.int64_data.iter().map(|&v| v as f64).collect(),
        INT32 if from_raw => raw(4)?
            .into_iter()
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
            .collect(),
        INT32 => t.int32_data.iter().map(|&v| f64::from(v)).collect(),
        FLOAT if from_raw => raw(4)?
            .into_iter()
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        FLOAT => t.float_data.iter().map(|&v| f64::from(v)).collect(),
        DOUBLE if from_raw => raw(8)?.into_iter().map(f64::from_le_bytes).collect(),
        DOUBLE => t.double_data.clone(),
        _ => return None,
    };
    (values.len() == count).then_some(values)
}

fn known(t: &TensorProto) -> Option<Known> {
    let dims: Vec<u64> = t
        .dims
        .iter()
        .map(|&d| u64::try_from(d).ok())
        .collect::<Option<_>>()?;
    let count = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d))?;
    let values = usize::try_from(count).ok().and_then(|n| read_values(t, n));
    Some(Known { dims, values })
}

/// The constant a `Constant` node makes, from whichever attribute holds it.
fn constant_node(node: &NodeProto) -> Option<Known> {
    let attr = node.attribute.first()?;
    match attr.name.as_str() {
        "value" => known(attr.t.as_ref()?),
        "value_int" => Some(Known {
            dims: vec![],
            values: Some(vec![attr.i as f64]),
        }),
        "value_float" => Some(Known {
            dims: vec![],
            values: Some(vec![f64::from(attr.f)]),
        }),
        "value_ints" => Some(Known {
            dims: vec![attr.ints.len() as u64],
            values: (attr.ints.len() <= MAX_READ)
                .then(|| attr.ints.iter().map(|&v| v as f64).collect()),
        }),
        "value_floats" => Some(Known {
            dims: vec![attr.floats.len() as u64],
            values: (attr.floats.len() <= MAX_READ)
                .then(|| attr.floats.iter().map(|&v| f64::from(v)).collect()),
        }),
        _ => None,
    }
}

/// `Some(product)` if it is at most [`MAX_TENSOR_ELEMENTS`], else `None`.
fn bounded_product(factors: impl IntoIterator<Item = f64>) -> Option<u64> {
    let limit = MAX_TENSOR_ELEMENTS as f64;
    let mut acc = 1.0f64;
    for f in factors {
        if !(f >= 0.0 && f.is_finite()) {
            return None;
        }
        acc *= f;
        if acc > limit {
            return None;
        }
    }
    Some(acc as u64)
}

/// Multidirectional (numpy) broadcast of known shapes; `None` if they do not broadcast.
fn broadcast(shapes: &[&[u64]]) -> Option<Vec<u64>> {
    let rank = shapes.iter().map(|s| s.len()).max()?;
    let mut out = vec![1u64; rank];
    for s in shapes {
        for (o, &d) in out[rank - s.len()..].iter_mut().zip(s.iter()) {
            match (*o, d) {
                (a, b) if a == b || b == 1 => {}
                (1, b) => *o = b,
                _ => return None,
            }
        }
    }
    Some(out)
}

const ELEMENTWISE: &[&str] = &[
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Max",
    "Min",
    "Sum",
    "Mean",
    "Where",
    "And",
    "Or",
    "Xor",
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "Mod",
    "BitShift",
    "PRelu",
];

/// Refuses a graph in which tract would build an over-large constant; see the module docs.
/// The error is the node's name, its op and why.
pub(crate) fn check(graph: &GraphProto) -> Result<(), (String, String, String)> {
    let mut consts: HashMap<&str, Known> = HashMap::new();
    for t in &graph.initializer {
        if let Some(k) = known(t) {
            consts.insert(t.name.as_str(), k);
        }
    }
    for node in &graph.node {
        let refuse = |why: String| Err((node.name.clone(), node.op_type.clone(), why));
        let input = |i: usize| {
            node.input
                .get(i)
                .filter(|n| !n.is_empty())
                .and_then(|n| consts.get(n.as_str()))
        };
        let literal = |i: usize, what: &str| -> Result<&[f64], (String, String, String)> {
            match input(i).and_then(|k| k.values.as_deref()) {
                Some(v) => Ok(v),
                None => Err((
                    node.name.clone(),
                    node.op_type.clone(),
                    format!(
                        "its {what} (input {i}) is not a literal constant; edgecnn bounds the \
                         tensors this op creates before building them, so it needs one"
                    ),
                )),
            }
        };
        let too_big = |what: &str| {
            format!(
                "its {what} asks for a tensor of more than {MAX_TENSOR_ELEMENTS} elements (2^{}), \
                 a negative or non-integer size: refused before anything is allocated for it",
                MAX_TENSOR_ELEMENTS.trailing_zeros()
            )
        };
        let data_elements =
            input(0).and_then(|k| bounded_product(k.dims.iter().map(|&d| d as f64)));
        match node.op_type.as_str() {
            "Constant" => {
                if let (Some(out), Some(k)) = (node.output.first(), constant_node(node)) {
                    consts.insert(out.as_str(), k);
                }
                continue;
            }
            "ConstantOfShape" => {
                if bounded_product(literal(0, "shape")?.iter().copied()).is_none() {
                    return refuse(too_big("shape"));
                }
            }
            "Expand" => {
                let shape = literal(1, "shape")?;
                if bounded_product(shape.iter().map(|&d| d.max(1.0))).is_none() {
                    return refuse(too_big("shape"));
                }
            }
            // Output = the data's elements times the repeats, or times the depth.
            "Tile" | "OneHot" => {
                let what = if node.op_type == "Tile" {
                    "repeats"
                } else {
                    "depth"
                };
                let factors = literal(1, what)?;
                let base = data_elements.unwrap_or(1) as f64;
                if bounded_product(factors.iter().copied().chain([base])).is_none() {
                    return refuse(too_big(what));
                }
            }
            "Range" => {
                let (start, limit, delta) = (
                    literal(0, "start")?,
                    literal(1, "limit")?,
                    literal(2, "delta")?,
                );
                let (&[s], &[l], &[d]) = (start, limit, delta) else {
                    return refuse("start, limit and delta must be scalars".into());
                };
                let n = ((l - s) / d).ceil().max(0.0);
                if d == 0.0 || bounded_product([n]).is_none() {
                    return refuse(too_big("start, limit and delta"));
                }
            }
            "Pad" => {
                let pads: Vec<f64> = match node.attribute.iter().find(|a| a.name == "pads") {
                    Some(a) => a.ints.iter().map(|&v| v as f64).collect(),
                    None => match input(1).and_then(|k| k.values.as_deref()) {
                        Some(v) => v.to_vec(),
                        None => continue, // computed pads on a graph input: typed sizes catch it
                    },
                };
                let rank = pads.len() / 2;
                let dims: Vec<f64> = match input(0) {
                    Some(k) if k.dims.len() == rank => k.dims.iter().map(|&d| d as f64).collect(),
                    _ => vec![1.0; rank],
                };
                let padded = (0..rank).map(|a| (dims[a] + pads[a] + pads[a + rank]).max(0.0));
                if bounded_product(padded).is_none() {
                    return refuse(too_big("padding"));
                }
            }
            "Resize" | "Upsample" => {
                let sizes = input(3).and_then(|k| k.values.as_deref());
                let scales_input = if node.op_type == "Upsample" { 1 } else { 2 };
                let scales = input(scales_input).and_then(|k| k.values.as_deref());
                let dims = input(0).map(|k| k.dims.iter().map(|&d| d as f64).collect::<Vec<_>>());
                let out: Option<Vec<f64>> = match (sizes, scales) {
                    (Some(s), _) if !s.is_empty() => Some(s.to_vec()),
                    (_, Some(sc)) if !sc.is_empty() => Some(match &dims {
                        Some(d) if d.len() == sc.len() => {
                            d.iter().zip(sc).map(|(d, s)| d * s).collect()
                        }
                        _ => sc.to_vec(),
                    }),
                    _ => None,
                };
                if out.is_some_and(|o| bounded_product(o).is_none()) {
                    return refuse(too_big("sizes or scales"));
                }
            }
            "RandomNormal" | "RandomUniform" => {
                if let Some(a) = node.attribute.iter().find(|a| a.name == "shape") {
                    if bounded_product(a.ints.iter().map(|&v| v as f64)).is_none() {
                        return refuse(too_big("shape"));
                    }
                }
            }
            op => {
                let all_known: Option<Vec<&[u64]>> = node
                    .input
                    .iter()
                    .filter(|n| !n.is_empty())
                    .map(|n| consts.get(n.as_str()).map(|k| k.dims.as_slice()))
                    .collect();
                let Some(shapes) = all_known.filter(|s| !s.is_empty()) else {
                    continue;
                };
                let out = if ELEMENTWISE.contains(&op) {
                    broadcast(&shapes)
                } else if matches!(op, "MatMul" | "Gemm") && shapes.len() >= 2 {
                    let (a, b) = (shapes[0], shapes[1]);
                    // The largest of the two orientations bounds both transposes of Gemm.
                    let rows = a.iter().copied().max().unwrap_or(1);
                    let cols = b.iter().copied().max().unwrap_or(1);
                    let batch = a.len().max(b.len()).saturating_sub(2);
                    let lead: Vec<u64> = a.iter().chain(b.iter()).take(batch).copied().collect();
                    Some(lead.into_iter().chain([rows, cols]).collect())
                } else {
                    None
                };
                if out.is_some_and(|o| bounded_product(o.iter().map(|&d| d as f64)).is_none()) {
                    return refuse(too_big("result on constant inputs"));
                }
                // The result is a constant too, of a shape this pass does not track further.
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{AttributeProto, NodeProto};

    fn i64s(name: &str, v: &[i64]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: vec![v.len() as i64],
            data_type: INT64,
            raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ..Default::default()
        }
    }

    fn node(op: &str, inputs: &[&str]) -> NodeProto {
        NodeProto {
            name: format!("the_{op}"),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec!["out".into()],
            ..Default::default()
        }
    }

    fn graph(init: Vec<TensorProto>, nodes: Vec<NodeProto>) -> GraphProto {
        GraphProto {
            initializer: init,
            node: nodes,
            ..Default::default()
        }
    }

    #[test]
    fn constant_of_shape_is_bounded() {
        let small = graph(
            vec![i64s("s", &[1, 64, 8, 8])],
            vec![node("ConstantOfShape", &["s"])],
        );
        assert!(check(&small).is_ok());
        let huge = graph(
            vec![i64s("s", &[0x1901_0004, 1])],
            vec![node("ConstantOfShape", &["s"])],
        );
        let (name, op, why) = check(&huge).unwrap_err();
        assert_eq!(
            (name.as_str(), op.as_str()),
            ("the_ConstantOfShape", "ConstantOfShape")
        );
        assert!(why.contains("268435456"), "{why}");
        let negative = graph(
            vec![i64s("s", &[-1, 4])],
            vec![node("ConstantOfShape", &["s"])],
        );
        assert!(check(&negative).is_err());
    }

    #[test]
    fn computed_sizes_are_refused_for_tensor_making_ops() {
        let g = graph(vec![], vec![node("Expand", &["x", "computed"])]);
        let (_, _, why) = check(&g).unwrap_err();
        assert!(why.contains("not a literal constant"), "{why}");
    }

    #[test]
    fn constant_node_values_are_read() {
        let mut c = node("Constant", &[]);
        c.output = vec!["s".into()];
        c.attribute = vec![AttributeProto {
            name: "value".into(),
            t: Some(i64s("", &[1 << 20, 1 << 20])),
            ..Default::default()
        }];
        let g = graph(vec![], vec![c, node("Expand", &["x", "s"])]);
        assert!(check(&g).unwrap_err().2.contains("more than"));
    }

    #[test]
    fn range_with_a_tiny_step_or_zero_step_is_refused() {
        let scalar = |name: &str, v: f32| TensorProto {
            name: name.into(),
            data_type: FLOAT,
            float_data: vec![v],
            ..Default::default()
        };
        let g = |d: f32| {
            graph(
                vec![scalar("a", 0.0), scalar("b", 1.0), scalar("d", d)],
                vec![node("Range", &["a", "b", "d"])],
            )
        };
        assert!(check(&g(0.25)).is_ok());
        assert!(check(&g(1e-9)).is_err());
        assert!(check(&g(0.0)).is_err());
    }

    #[test]
    fn broadcast_of_constants_is_bounded() {
        let t = |name: &str, dims: &[i64]| TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: 2, // uint8, values not read
            raw_data: vec![0; dims.iter().product::<i64>() as usize],
            ..Default::default()
        };
        let ok = graph(
            vec![t("a", &[1, 64]), t("b", &[64, 1])],
            vec![node("Add", &["a", "b"])],
        );
        assert!(check(&ok).is_ok());
        let big = graph(
            vec![t("a", &[1, 32768]), t("b", &[32768, 1])],
            vec![node("Add", &["a", "b"])],
        );
        assert!(check(&big).is_err());
    }

    #[test]
    fn graph_input_shapes_are_left_to_the_typed_check() {
        let g = graph(
            vec![],
            vec![node("Add", &["input", "x"]), node("Relu", &["out"])],
        );
        assert!(check(&g).is_ok());
    }
}
