//! What import + passes make of the test models: the folded, fused float graph.
#![cfg(feature = "compiler")]

mod compiler_support;

use compiler_support::onnx;
use edgecnn::compiler::float_graph;
use edgecnn::compiler::ir::{Clamp, Op};

fn ops(name: &str) -> Vec<Op> {
    float_graph(&onnx(name), None)
        .unwrap()
        .nodes
        .into_iter()
        .map(|n| n.op)
        .collect()
}

fn names(ops: &[Op]) -> Vec<&'static str> {
    ops.iter().map(Op::name).collect()
}

const RELU: Clamp = Clamp {
    min: 0.0,
    max: f32::INFINITY,
};

#[test]
fn bn_relu_clip_dropout_fold_away() {
    let ops = ops("conv_bn_relu_fc");
    assert_eq!(names(&ops), ["Conv", "MaxPool", "Conv", "Dense", "Dense"]);
    let Op::Conv(c) = &ops[0] else { unreachable!() };
    assert_eq!(c.act, RELU);
    let Op::Conv(c) = &ops[2] else { unreachable!() };
    assert_eq!(c.act, Clamp { min: 0.0, max: 6.0 });
    assert_eq!(c.stride, [2, 2]);
    let Op::Dense(d) = &ops[3] else {
        unreachable!()
    };
    assert_eq!(d.act, RELU, "BatchNorm1d folded, then ReLU fused");
    assert_eq!(d.weights.len(), 32 * 256);
}

#[test]
fn global_average_pool_is_one_avgpool() {
    let g = float_graph(&onnx("residual"), None).unwrap();
    let names = names(&g.nodes.iter().map(|n| n.op.clone()).collect::<Vec<_>>());
    assert_eq!(
        names,
        ["Conv", "Conv", "Conv", "Add", "Conv", "Conv", "Conv", "Add", "AvgPool", "Dense"]
    );
    let gap = g
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::AvgPool { .. }))
        .unwrap();
    assert_eq!(g.tensors[gap.output].shape, [1, 1, 16]);
    assert!(g
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Add(_)))
        .all(|n| n.op == Op::Add(RELU)));
}

#[test]
fn pads_fold_into_conv_and_avgpool() {
    let ops = ops("avgpool_pad");
    assert_eq!(names(&ops), ["Conv", "AvgPool", "Conv", "AvgPool", "Dense"]);
    let Op::Conv(c) = &ops[0] else { unreachable!() };
    assert_eq!(c.pad, [1, 1, 1, 1]);
    let Op::AvgPool {
        window,
        count_include_pad,
        ..
    } = &ops[1]
    else {
        unreachable!()
    };
    assert_eq!(window.pad, [1, 1, 1, 1]);
    assert!(*count_include_pad);
    let Op::Conv(c) = &ops[2] else { unreachable!() };
    assert_eq!((c.dilation, c.pad), ([2, 2], [2, 2, 2, 2]));
}

#[test]
fn ceil_mode_and_concat() {
    let g = float_graph(&onnx("concat"), None).unwrap();
    let cat = g.nodes.iter().find(|n| n.op == Op::Concat).unwrap();
    assert_eq!(cat.inputs.len(), 4);
    assert_eq!(g.tensors[cat.output].shape, [10, 10, 18]);
    let pool = g
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::AvgPool { .. }))
        .unwrap();
    assert_eq!(g.tensors[pool.output].shape, [6, 6, 18], "ceil mode");
}

#[test]
fn lrn_and_softmax_survive() {
    assert_eq!(
        names(&ops("lrn")),
        ["Conv", "Lrn", "MaxPool", "Conv", "Lrn", "MaxPool", "Dense"]
    );
    // the constant Mul before the softmax folds into the Gemm
    assert_eq!(
        names(&ops("softmax")),
        ["Conv", "AvgPool", "Dense", "Softmax"]
    );
}

#[test]
fn batchnorm_after_a_pool_folds_forward() {
    assert_eq!(
        names(&ops("bn_after_pool")),
        ["Conv", "MaxPool", "Conv", "Dense"]
    );
}
