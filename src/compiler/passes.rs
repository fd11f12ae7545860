//! Float-graph simplification, run to a fixed point after import:
//!
//! 1. **affine folding**: consecutive `Affine`s merge; an `Affine` after a `Conv` / `Dense`
//!    (BatchNorm, Gemm `alpha`, a constant `Mul` before Softmax) folds into its weights and
//!    bias; an identity `Affine` (GlobalAveragePool's `Sum` then `Div`) disappears; an
//!    `Affine` that cannot go backwards (BatchNorm after a pool) folds forward into its
//!    readers when they are all `Dense` or unpadded `Conv`s;
//! 2. **clamp fusion**: a `Clamp` (ReLU, ReLU6, Clip) fuses into the op producing its input
//!    (conv, dense, pools, add, another clamp);
//! 3. **pad folding**: a zero `Pad` folds into consuming convolutions and average pools
//!    (which then count the padding), a `-inf` one into max pools;
//! 4. **input affine**: a per-channel `Affine` of the graph input none of the above absorbs
//!    (GoogLeNet's `transform_input` before a padded conv) becomes a depthwise 1x1 `Conv`;
//! 5. dead nodes go.
//!
//! Dropout and Flatten never reach the IR (import treats them as aliases). After the passes
//! no `Affine` or `Pad` may remain: [`run`] reports the first as unsupported.
//!
//! Fusing keeps the *later* tensor (the one tract computed after the fused op), so the
//! calibration ranges are the fused op's real output ranges.

use super::ir::{Clamp, Conv, Graph, Op, Window};

/// A node the passes could not eliminate: `(node name, op name, why)`.
pub type Leftover = (String, String, String);

/// Runs every pass to a fixed point; fails on an `Affine` or `Pad` that cannot be folded.
pub fn run(g: &mut Graph) -> Result<(), Leftover> {
    loop {
        let changed =
            fold_affine(g) || fuse_clamp(g) || fold_pad(g) || input_affine_to_depthwise(g);
        if !changed {
            break;
        }
    }
    remove_dead(g);
    for n in &g.nodes {
        match &n.op {
            Op::Affine { .. } => {
                return Err((
                    n.name.clone(),
                    "Mul/Add".into(),
                    "a per-channel scale/offset neither right after a Conv/Gemm nor only read by \
                     Gemms and unpadded Convs cannot be folded"
                        .into(),
                ))
            }
            Op::Pad { value, .. } => {
                return Err((
                    n.name.clone(),
                    "Pad".into(),
                    format!("padding with {value} cannot be folded into its consumers"),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// If node `i` reads a tensor that only it reads and whose producer may be rewritten,
/// returns the producer's index.
fn exclusive_producer(g: &Graph, i: usize) -> Option<usize> {
    let t = *g.nodes[i].inputs.first()?;
    if g.nodes[i].inputs.len() != 1 || t == g.output || t == g.input {
        return None;
    }
    if g.consumers(t) != [i] {
        return None;
    }
    g.producer(t)
}

/// Removes node `i` (one input, elementwise identity), keeping its output tensor when it can.
fn splice_out(g: &mut Graph, i: usize) {
    let out = g.nodes[i].output;
    if let Some(p) = exclusive_producer(g, i) {
        g.nodes[p].output = out;
    } else {
        let inp = g.nodes[i].inputs[0];
        g.rewire(out, inp);
    }
    g.nodes.remove(i);
}

/// `v` as `n` entries if it has 1 or `n`, else `None`.
fn expand(v: &[f32], n: usize) -> Option<Vec<f32>> {
    match v.len() {
        l if l == n => Some(v.to_vec()),
        1 => Some(vec![v[0]; n]),
        _ => None,
    }
}

/// Scale and shift of an affine, each as `n` entries, if both allow it.
fn expand2(scale: &[f32], shift: &[f32], n: usize) -> Option<(Vec<f32>, Vec<f32>)> {
    Some((expand(scale, n)?, expand(shift, n)?))
}

fn fold_affine(g: &mut Graph) -> bool {
    for i in 0..g.nodes.len() {
        let Op::Affine { scale, shift } = g.nodes[i].op.clone() else {
            continue;
        };
        let identity =
            scale.iter().all(|&s| (s - 1.0).abs() < 1e-6) && shift.iter().all(|&t| t == 0.0);
        if identity {
            splice_out(g, i);
            return true;
        }
        let Some(p) = exclusive_producer(g, i) else {
            if fold_affine_forward(g, i) {
                return true;
            }
            continue;
        };
        let out = g.nodes[i].output;
        let folded = match &mut g.nodes[p].op {
            Op::Affine {
                scale: s0,
                shift: t0,
            } => {
                let n = s0.len().max(t0.len()).max(scale.len()).max(shift.len());
                match (expand2(s0, t0, n), expand2(&scale, &shift, n)) {
                    (Some((s0b, t0b)), Some((s1, t1))) => {
                        *s0 = (0..n).map(|c| s0b[c] * s1[c]).collect();
                        *t0 = (0..n).map(|c| t0b[c] * s1[c] + t1[c]).collect();
                        true
                    }
                    _ => false,
                }
            }
            Op::Conv(conv) if conv.act == Clamp::NONE => {
                let oc = conv.bias.len();
                let per = conv.weights.len() / oc.max(1);
                let Some((s, t)) = expand2(&scale, &shift, oc) else {
                    if fold_affine_forward(g, i) {
                        return true;
                    }
                    continue;
                };
                for o in 0..oc {
                    conv.weights[o * per..(o + 1) * per]
                        .iter_mut()
                        .for_each(|w| *w *= s[o]);
                    conv.bias[o] = conv.bias[o] * s[o] + t[o];
                }
                true
            }
            Op::Dense(d) if d.act == Clamp::NONE => {
                let n = d.bias.len();
                let per = d.weights.len() / n.max(1);
                let Some((s, t)) = expand2(&scale, &shift, n) else {
                    if fold_affine_forward(g, i) {
                        return true;
                    }
                    continue;
                };
                for o in 0..n {
                    d.weights[o * per..(o + 1) * per]
                        .iter_mut()
                        .for_each(|w| *w *= s[o]);
                    d.bias[o] = d.bias[o] * s[o] + t[o];
                }
                true
            }
            _ => false,
        };
        if folded {
            g.nodes[p].output = out;
            g.nodes.remove(i);
            return true;
        }
        if fold_affine_forward(g, i) {
            return true;
        }
    }
    false
}

/// Folds `Affine` node `i` into its consumers when every one is a `Dense` or an unpadded
/// `Conv` (exact: `W (s x + b) + c = (W s) x + (W b + c)`; a padded conv would see the
/// padding shifted, so it is left alone).
fn fold_affine_forward(g: &mut Graph, i: usize) -> bool {
    let Op::Affine { scale, shift } = g.nodes[i].op.clone() else {
        return false;
    };
    let (src, out) = (g.nodes[i].inputs[0], g.nodes[i].output);
    let consumers = g.consumers(out);
    let ok = |op: &Op| match op {
        Op::Dense(_) => true,
        Op::Conv(c) => c.pad == [0; 4],
        _ => false,
    };
    if out == g.output || consumers.is_empty() || !consumers.iter().all(|&c| ok(&g.nodes[c].op)) {
        return false;
    }
    let [h, w, c_in] = g.tensors[src].shape;
    let ok = |op: &Op| match op {
        Op::Dense(_) => {
            expand2(&scale, &shift, c_in).is_some()
                || expand2(&scale, &shift, h * w * c_in).is_some()
        }
        _ => expand2(&scale, &shift, c_in).is_some(),
    };
    if !consumers.iter().all(|&c| ok(&g.nodes[c].op)) {
        return false;
    }
    // per input element of a Dense (NHWC flatten order), per channel for a Conv
    let (s, t) = match expand2(&scale, &shift, c_in) {
        Some(st) => st,
        None => expand2(&scale, &shift, h * w * c_in).unwrap_or_default(),
    };
    let per_channel = s.len() == c_in;
    for &c in &consumers {
        match &mut g.nodes[c].op {
            Op::Dense(d) => {
                let n = d.bias.len();
                let k = d.weights.len() / n.max(1);
                for o in 0..n {
                    for j in 0..k {
                        let e = if per_channel { j % c_in } else { j };
                        let w = &mut d.weights[o * k + j];
                        d.bias[o] += *w * t[e];
                        *w *= s[e];
                    }
                }
            }
            Op::Conv(conv) => {
                let oc = conv.bias.len();
                let per = conv.weights.len() / oc.max(1);
                let icg = c_in / conv.groups;
                let ocg = oc / conv.groups;
                for o in 0..oc {
                    let g0 = (o / ocg) * icg;
                    for j in 0..per {
                        let ic = g0 + j % icg;
                        let w = &mut conv.weights[o * per + j];
                        conv.bias[o] += *w * t[ic];
                        *w *= s[ic];
                    }
                }
            }
            _ => unreachable!(),
        }
        for x in &mut g.nodes[c].inputs {
            if *x == out {
                *x = src;
            }
        }
    }
    g.nodes.remove(i);
    true
}

/// Turns a per-channel `Affine` of the graph input that nothing could absorb (GoogLeNet's
/// `transform_input` before a *padded* conv: folding it into the conv would shift the
/// padding) into the exact equivalent, a depthwise 1x1 `Conv` (weight = scale, bias =
/// shift). Runs only once the other passes are stuck; costs `h * w * c` MACs.
fn input_affine_to_depthwise(g: &mut Graph) -> bool {
    for i in 0..g.nodes.len() {
        let Op::Affine { scale, shift } = &g.nodes[i].op else {
            continue;
        };
        if g.nodes[i].inputs != [g.input] {
            continue;
        }
        let c = g.tensors[g.input].shape[2];
        let Some((weights, bias)) = expand2(scale, shift, c) else {
            continue;
        };
        g.nodes[i].op = Op::Conv(Conv {
            kernel: [1, 1],
            stride: [1, 1],
            dilation: [1, 1],
            pad: [0; 4],
            groups: c,
            weights,
            bias,
            act: Clamp::NONE,
        });
        return true;
    }
    false
}

fn fuse_clamp(g: &mut Graph) -> bool {
    for i in 0..g.nodes.len() {
        let Op::Clamp(c) = g.nodes[i].op else {
            continue;
        };
        let Some(p) = exclusive_producer(g, i) else {
            continue;
        };
        let out = g.nodes[i].output;
        let act = match &mut g.nodes[p].op {
            Op::Conv(conv) => &mut conv.act,
            Op::Dense(d) => &mut d.act,
            Op::MaxPool(_, act) | Op::AvgPool { act, .. } | Op::Add(act) | Op::Clamp(act) => act,
            _ => continue,
        };
        *act = act.then(c);
        g.nodes[p].output = out;
        g.nodes.remove(i);
        return true;
    }
    false
}

fn add_pad(w: &mut [usize; 4], p: [usize; 4]) {
    for k in 0..4 {
        w[k] += p[k];
    }
}

fn fold_pad(g: &mut Graph) -> bool {
    for i in 0..g.nodes.len() {
        let Op::Pad { pad, value } = g.nodes[i].op else {
            continue;
        };
        let out = g.nodes[i].output;
        let consumers = g.consumers(out);
        if out == g.output || consumers.is_empty() {
            continue;
        }
        let foldable = |op: &Op| match op {
            Op::Conv(_) => value == 0.0,
            Op::AvgPool {
                window,
                count_include_pad,
                ..
            } => value == 0.0 && (*count_include_pad || window.pad == [0; 4]),
            Op::MaxPool(..) => value == f32::NEG_INFINITY || value <= -f32::MAX,
            _ => false,
        };
        if !consumers.iter().all(|&c| foldable(&g.nodes[c].op)) {
            continue;
        }
        let src = g.nodes[i].inputs[0];
        for &c in &consumers {
            match &mut g.nodes[c].op {
                Op::Conv(conv) => add_pad(&mut conv.pad, pad),
                Op::AvgPool {
                    window: Window { pad: wp, .. },
                    count_include_pad,
                    ..
                } => {
                    add_pad(wp, pad);
                    *count_include_pad = true;
                }
                Op::MaxPool(Window { pad: wp, .. }, _) => add_pad(wp, pad),
                _ => unreachable!(),
            }
            for x in &mut g.nodes[c].inputs {
                if *x == out {
                    *x = src;
                }
            }
        }
        g.nodes.remove(i);
        return true;
    }
    false
}

/// Drops nodes whose output does not reach the graph output.
fn remove_dead(g: &mut Graph) {
    let mut live = vec![false; g.tensors.len()];
    live[g.output] = true;
    let mut keep = vec![false; g.nodes.len()];
    for i in (0..g.nodes.len()).rev() {
        if live[g.nodes[i].output] {
            keep[i] = true;
            for &x in &g.nodes[i].inputs {
                live[x] = true;
            }
        }
    }
    let mut k = keep.into_iter();
    g.nodes.retain(|_| k.next().unwrap_or(false));
}

#[cfg(test)]
mod tests {
    use super::super::ir::{Conv, Node, Tensor};
    use super::*;

    fn t(n: &str, shape: [usize; 3]) -> Tensor {
        Tensor {
            name: n.into(),
            shape,
            source: None,
        }
    }

    fn conv_graph(extra: Vec<Op>) -> Graph {
        let mut tensors = vec![t("x", [4, 4, 1]), t("c", [4, 4, 2])];
        let conv = Conv {
            kernel: [1, 1],
            stride: [1, 1],
            dilation: [1, 1],
            pad: [0; 4],
            groups: 1,
            weights: vec![1.0, 2.0],
            bias: vec![0.5, -0.5],
            act: Clamp::NONE,
        };
        let mut nodes = vec![Node {
            name: "conv".into(),
            op: Op::Conv(conv),
            inputs: vec![0],
            output: 1,
        }];
        for (k, op) in extra.into_iter().enumerate() {
            tensors.push(t("e", [4, 4, 2]));
            nodes.push(Node {
                name: format!("n{k}"),
                op,
                inputs: vec![k + 1],
                output: k + 2,
            });
        }
        let output = tensors.len() - 1;
        Graph {
            tensors,
            nodes,
            input: 0,
            output,
        }
    }

    #[test]
    fn bn_and_relu_fold_into_conv() {
        let mut g = conv_graph(vec![
            Op::Affine {
                scale: vec![2.0, 3.0],
                shift: vec![1.0, 0.0],
            },
            Op::Clamp(Clamp {
                min: 0.0,
                max: f32::INFINITY,
            }),
            Op::Clamp(Clamp {
                min: f32::NEG_INFINITY,
                max: 6.0,
            }),
        ]);
        run(&mut g).unwrap();
        assert_eq!(g.nodes.len(), 1);
        let Op::Conv(c) = &g.nodes[0].op else {
            panic!()
        };
        assert_eq!(c.weights, vec![2.0, 6.0]);
        assert_eq!(c.bias, vec![2.0, -1.5]);
        assert_eq!(c.act, Clamp { min: 0.0, max: 6.0 });
        assert_eq!(g.nodes[0].output, g.output);
    }

    #[test]
    fn identity_affines_cancel_and_keep_the_last_tensor() {
        let mut g = conv_graph(vec![
            Op::Affine {
                scale: vec![16.0],
                shift: vec![0.0],
            },
            Op::Affine {
                scale: vec![1.0 / 16.0],
                shift: vec![0.0],
            },
        ]);
        // put a clamp between conv and the affines so they cannot fold into the conv
        g.nodes[0].op = match g.nodes[0].op.clone() {
            Op::Conv(mut c) => {
                c.act = Clamp {
                    min: 0.0,
                    max: f32::INFINITY,
                };
                Op::Conv(c)
            }
            o => o,
        };
        run(&mut g).unwrap();
        assert_eq!(g.nodes.len(), 1);
        assert_eq!(g.nodes[0].output, 3);
    }

    #[test]
    fn zero_pad_folds_into_conv() {
        let mut g = conv_graph(vec![]);
        g.tensors.push(t("p", [6, 6, 1]));
        g.nodes.insert(
            0,
            Node {
                name: "pad".into(),
                op: Op::Pad {
                    pad: [1, 1, 1, 1],
                    value: 0.0,
                },
                inputs: vec![0],
                output: 2,
            },
        );
        g.nodes[1].inputs = vec![2];
        run(&mut g).unwrap();
        assert_eq!(g.nodes.len(), 1);
        let Op::Conv(c) = &g.nodes[0].op else {
            panic!()
        };
        assert_eq!(c.pad, [1, 1, 1, 1]);
        assert_eq!(g.nodes[0].inputs, vec![0]);
    }

    #[test]
    fn affine_after_a_clamp_folds_forward_into_dense() {
        use super::super::ir::Dense;
        let mut g = conv_graph(vec![
            Op::Clamp(Clamp {
                min: 0.0,
                max: f32::INFINITY,
            }),
            Op::Affine {
                scale: vec![2.0, 3.0],
                shift: vec![1.0, -1.0],
            },
        ]);
        // a dense reading the affine's output: [4,4,2] flat = 32 inputs, 1 output, weights 1
        g.tensors.push(t("d", [1, 1, 1]));
        let a = g.output;
        g.nodes.push(Node {
            name: "fc".into(),
            op: Op::Dense(Dense {
                weights: vec![1.0; 32],
                bias: vec![0.0],
                act: Clamp::NONE,
            }),
            inputs: vec![a],
            output: a + 1,
        });
        g.output = a + 1;
        run(&mut g).unwrap();
        assert_eq!(g.nodes.len(), 2, "{:?}", g.nodes);
        let Op::Dense(d) = &g.nodes[1].op else {
            panic!()
        };
        assert_eq!(&d.weights[..4], &[2.0, 3.0, 2.0, 3.0]);
        assert_eq!(d.bias, vec![0.0], "16 positions of +1 and 16 of -1");
    }

    #[test]
    fn unfoldable_affine_is_reported() {
        let mut g = conv_graph(vec![
            Op::Clamp(Clamp {
                min: 0.0,
                max: f32::INFINITY,
            }),
            Op::Affine {
                scale: vec![2.0],
                shift: vec![1.0],
            },
        ]);
        assert!(run(&mut g).is_err());
    }
}
