//! Plans end to end: encode → parse round trip, a hand-built multi-step plan against the
//! oracles, binding and input errors, rejection of inconsistent plans, and corruption:
//! every flipped byte is caught by the checksum, and with the checksum fixed up the parser
//! either rejects the plan or the run completes without panicking.

mod runtime_oracle;

use edgecnn::classify::{top_k, Classifier};
use edgecnn::format::model::*;
use edgecnn::runtime::{BindError, ParseError, Plan, RunError, Session, StepFault};
use runtime_oracle as oracle;
use runtime_oracle::Rng;

const IN: [u32; 3] = [5, 6, 3];

fn tensor(shape: [u32; 3], zp: i8, scale: f32) -> TensorDesc {
    TensorDesc {
        shape,
        offset: 0,
        scale,
        zero_point: zp,
        resident_rows: 0,
        pitch: 0,
    }
}

fn rq(m: i32, s: u8) -> Requant {
    Requant {
        multiplier: vec![m],
        shift: vec![s],
    }
}

/// input → conv 3×3 pad 1 (ReLU) → LRN → maxpool 2×2/2 (ceil) → requantize → add → concat →
/// fully connected → softmax.
fn model(seed: u32) -> PlanModel {
    let mut rng = Rng(seed);
    let mut tensors = vec![
        tensor(IN, 3, 0.02),                   // 0 input
        tensor([5, 6, 4], -5, 0.05),           // 1 conv
        tensor([5, 6, 4], 2, 0.05),            // 2 lrn
        tensor([3, 3, 4], 2, 0.05),            // 3 maxpool
        tensor([3, 3, 4], -7, 0.03),           // 4 requantize
        tensor([3, 3, 4], 2, 0.08),            // 5 add
        tensor([3, 3, 8], 2, 0.05),            // 6 concat (inputs share its zero point)
        tensor([1, 1, 10], 4, 0.1),            // 7 fc
        tensor([1, 1, 10], -128, 1.0 / 256.0), // 8 softmax
    ];
    let mut off = 0;
    for t in tensors.iter_mut() {
        t.offset = off;
        off += (t.len() as u32).div_ceil(4) * 4;
    }
    let conv = Conv2d {
        kernel: [3, 3],
        stride: [1, 1],
        dilation: [1, 1],
        pad: [1, 1],
        groups: 1,
        weights: rng.i8s(4 * 3 * 3 * 3),
        bias: (0..4).map(|_| rng.range(-3000, 3000) as i32).collect(),
        requant: Requant {
            multiplier: (0..4).map(|_| rng.mult()).collect(),
            shift: vec![40, 41, 40, 39],
        },
        act_min: -5,
        act_max: 127,
    };
    let fc = FullyConnected {
        weights: rng.i8s(10 * 72),
        bias: (0..10).map(|_| rng.range(-9000, 9000) as i32).collect(),
        requant: rq(rng.mult(), 42),
        act_min: -128,
        act_max: 127,
    };
    let step = |op, inputs: Vec<u16>, output| Step {
        op,
        inputs,
        output,
        scratch: (0, 0),
    };
    let steps = vec![
        step(Op::Conv2d(conv), vec![0], 1),
        step(
            Op::Lrn(Lrn {
                size: 3,
                lut: (0..640).map(|i| (1 << 30) - i * 1_000_000).collect(),
                lut_shift: 30,
            }),
            vec![1],
            2,
        ),
        step(
            Op::MaxPool(Pool {
                kernel: [2, 2],
                stride: [2, 2],
                pad: [0, 0],
                act_min: -128,
                act_max: 127,
            }),
            vec![2],
            3,
        ),
        step(
            Op::Requantize(Requantize {
                requant: rq(rng.mult(), 31),
                act_min: -7,
                act_max: 127,
            }),
            vec![3],
            4,
        ),
        step(
            Op::Add(Add {
                a: rq(rng.mult(), 21),
                b: rq(rng.mult(), 21),
                out: rq(rng.mult(), 31),
                act_min: -128,
                act_max: 127,
            }),
            vec![3, 4],
            5,
        ),
        step(Op::Concat, vec![5, 3], 6),
        step(Op::FullyConnected(fc), vec![6], 7),
        step(
            Op::Softmax(Softmax {
                exp_lut: oracle::exp_lut(0.1),
            }),
            vec![7],
            8,
        ),
    ];
    let lut: Vec<[i8; 256]> = (0..3)
        .map(|c| core::array::from_fn(|p| ((p as i32 - 128 + c * 5) / 2) as i8))
        .collect();
    PlanModel {
        name: "hand-built test plan".into(),
        tensors,
        steps,
        input: 0,
        output: 8,
        arena_bytes: off,
        preprocess: Some(Preprocess {
            lut,
            scale: 1.0 / 255.0,
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
            source_layout: Layout::Nchw,
        }),
        labels: (0..10).map(|i| format!("class {i} ✓")).collect(),
    }
}

/// The whole plan through the oracles: every intermediate tensor.
fn oracle_run(m: &PlanModel, x: &[i8]) -> Vec<Vec<i8>> {
    let t = &m.tensors;
    let zp = |i: usize| t[i].zero_point;
    let mut v: Vec<Vec<i8>> = vec![x.to_vec()];
    for s in &m.steps {
        let a = &v[s.inputs[0] as usize];
        let y = match &s.op {
            Op::Conv2d(c) => oracle::conv(
                a,
                [5, 6, 3],
                zp(0),
                [5, 6, 4],
                zp(1),
                [3, 3],
                [1, 1],
                [1, 1],
                [1, 1],
                1,
                &c.weights,
                &c.bias,
                &c.requant.multiplier,
                &c.requant.shift,
                c.act_min,
                c.act_max,
            ),
            Op::Lrn(l) => oracle::lrn(a, 4, zp(1), zp(2), l.size as usize, &l.lut, l.lut_shift),
            Op::MaxPool(p) => oracle::max_pool(
                a,
                [5, 6, 4],
                [3, 3],
                [2, 2],
                [2, 2],
                [0, 0],
                p.act_min,
                p.act_max,
            ),
            Op::Requantize(r) => oracle::requant(
                a,
                zp(3),
                zp(4),
                r.requant.multiplier[0],
                r.requant.shift[0],
                r.act_min,
                r.act_max,
            ),
            Op::Add(p) => {
                let r = [&p.a, &p.b, &p.out].map(|r| (r.multiplier[0], r.shift[0]));
                oracle::add(
                    a,
                    zp(3),
                    &v[s.inputs[1] as usize],
                    zp(4),
                    zp(5),
                    r,
                    p.act_min,
                    p.act_max,
                )
            }
            Op::Concat => oracle::concat(&[(&v[5], 4), (&v[3], 4)], 9),
            Op::FullyConnected(f) => oracle::fc(
                a,
                zp(6),
                10,
                zp(7),
                &f.weights,
                &f.bias,
                &f.requant.multiplier,
                &f.requant.shift,
                f.act_min,
                f.act_max,
            ),
            Op::Softmax(sm) => oracle::softmax(a, 10, &sm.exp_lut),
            other => panic!("not in the test plan: {other:?}"),
        };
        assert_eq!(s.output as usize, v.len());
        v.push(y);
    }
    v
}

fn pixels(rng: &mut Rng) -> Vec<u8> {
    (0..IN.iter().product::<u32>())
        .map(|_| rng.next() as u8)
        .collect()
}

#[test]
fn encode_parse_round_trip() {
    let m = model(1);
    let blob = m.encode();
    assert_eq!(&blob[..4], b"ECNN");
    assert_eq!(blob.len() % 16, 0);
    let plan = Plan::parse(&blob).unwrap();
    assert_eq!(plan.arena_bytes(), m.arena_bytes as usize);
    assert_eq!(plan.input_shape(), IN);
    assert_eq!(plan.output_shape(), [1, 1, 10]);
    assert_eq!(plan.input_quant(), (0.02, 3));
    assert_eq!(plan.output_quant(), (1.0 / 256.0, -128));
    assert_eq!(plan.num_steps(), m.steps.len());
    assert_eq!(plan.num_tensors(), m.tensors.len());
    for (id, t) in m.tensors.iter().enumerate() {
        let info = plan.tensor(id as u16).unwrap();
        assert_eq!(
            (info.shape, info.offset, info.len as usize),
            (t.shape, t.offset, t.len())
        );
        assert_eq!((info.scale, info.zero_point), (t.scale, t.zero_point));
    }
    assert!(plan.tensor(m.tensors.len() as u16).is_none());
    assert_eq!(plan.name(), "hand-built test plan");
    assert_eq!(plan.num_labels(), 10);
    assert_eq!(plan.label(7), Some("class 7 ✓"));
    assert_eq!(plan.label(10), None);
    let names: Vec<&str> = (0..plan.num_steps())
        .map(|i| plan.step(i).unwrap().op)
        .collect();
    assert_eq!(
        names,
        [
            "Conv2d",
            "Lrn",
            "MaxPool",
            "Requantize",
            "Add",
            "Concat",
            "FullyConnected",
            "Softmax"
        ]
    );
    assert!(plan.step(plan.num_steps()).is_none());
    let conv = plan.step(0).unwrap();
    assert_eq!(
        (
            conv.kernel,
            conv.pad,
            conv.stride,
            conv.dilation,
            conv.groups
        ),
        ([3, 3], [1, 1], [1, 1], [1, 1], 1)
    );
    assert_eq!((conv.input_shape, conv.output_shape), (IN, [5, 6, 4]));
    assert_eq!(conv.macs, 5 * 6 * 4 * 27);
    assert_eq!(conv.weight_bytes, 108 + 16 + 16 + 4);
    let add = plan.step(4).unwrap();
    assert_eq!(add.inputs.iter().collect::<Vec<_>>(), [3, 4]);
    assert_eq!(add.output, 5);
    assert_eq!(
        plan.macs(),
        (0..plan.num_steps())
            .map(|i| plan.step(i).unwrap().macs)
            .sum::<u64>()
    );
    assert!(plan.weights_bytes() >= 108 + 720);
    let pre = plan.preprocess().unwrap();
    assert_eq!(
        (pre.channels(), pre.scale, pre.source_layout),
        (3, 1.0 / 255.0, Layout::Nchw)
    );
    assert_eq!(
        (
            pre.mean.get(1),
            pre.std.get(2),
            pre.mean.get(3),
            pre.std.to_vec().len()
        ),
        (Some(0.456), Some(0.225), None, 3)
    );
    let lut = m.preprocess.as_ref().unwrap().lut[2];
    assert_eq!(pre.lut(2).unwrap(), &lut[..]);
    let dbg = format!("{plan:?}");
    assert!(
        dbg.contains("hand-built test plan") && dbg.len() < 400,
        "summary: {dbg}"
    );
    // Trailing bytes (flash padding) are ignored.
    let mut padded = blob.clone();
    padded.extend_from_slice(&[0xAA; 13]);
    assert_eq!(Plan::parse(&padded).unwrap().blob().len(), blob.len());
}

#[test]
fn multi_step_plan_matches_oracle() {
    let m = model(2);
    let blob = m.encode();
    let plan = Plan::parse(&blob).unwrap();
    let mut arena = vec![0u8; plan.arena_bytes()];
    let mut session = Session::new(&plan, &mut arena).unwrap();
    let mut rng = Rng(99);
    let mut distinct = std::collections::BTreeSet::new();
    for _ in 0..oracle::cases(20) {
        let px = pixels(&mut rng);
        session.set_input_pixels(&px).unwrap();
        let lut = &m.preprocess.as_ref().unwrap().lut;
        let x: Vec<i8> = px
            .iter()
            .enumerate()
            .map(|(i, &p)| lut[i % 3][p as usize])
            .collect();
        assert_eq!(session.input_mut(), &x[..]);
        session.run().unwrap();
        let expected = oracle_run(&m, &x);
        for (id, e) in expected.iter().enumerate() {
            assert_eq!(session.tensor(id as u16).unwrap(), &e[..], "tensor {id}");
        }
        assert_eq!(session.output(), &expected[8][..]);
        let mut seen = 0;
        session
            .run_with(|step, id, out| {
                assert_eq!((step + 1, id as usize), (seen + 1, step + 1));
                assert_eq!(out, &expected[id as usize][..], "step {step}");
                seen += 1;
            })
            .unwrap();
        assert_eq!(seen, m.steps.len());
        distinct.extend(expected[7].iter().copied());
    }
    // 20 inputs natively; 2 under Miri (`oracle::cases`), where fewer values can show.
    let want = if cfg!(miri) { 4 } else { 20 };
    assert!(distinct.len() > want, "fc outputs vary: {distinct:?}");
}

#[test]
fn classifier_returns_top_k_with_labels() {
    let m = model(3);
    let blob = m.encode();
    let plan = Plan::parse(&blob).unwrap();
    let mut arena = vec![0u8; plan.arena_bytes()];
    let px = pixels(&mut Rng(5));
    let mut c = Classifier::new(&plan, &mut arena).unwrap();
    let best = c.classify_pixels::<3>(&px).unwrap();
    assert_eq!(best, top_k::<3>(c.session().output()));
    assert_eq!(
        c.label(&best[0]),
        Some(format!("class {} ✓", best[0].index).as_str())
    );
    let q = c.session().tensor(0).unwrap().to_vec();
    assert_eq!(c.classify::<3>(&q).unwrap(), best);
    assert_eq!(
        c.classify::<3>(&q[1..]),
        Err(RunError::InputLength {
            expected: 90,
            got: 89
        })
    );
}

#[test]
fn arena_size_and_input_length_errors() {
    let mut m = model(4);
    let blob = m.encode();
    let plan = Plan::parse(&blob).unwrap();
    let n = plan.arena_bytes();
    let mut arena = vec![0u8; n + 7];
    assert_eq!(
        Session::new(&plan, &mut arena[..n - 1]).err(),
        Some(BindError::ArenaTooSmall {
            needed: n,
            available: n - 1
        })
    );
    assert_eq!(
        Session::new(&plan, &mut []).err(),
        Some(BindError::ArenaTooSmall {
            needed: n,
            available: 0
        })
    );
    let mut s = Session::new(&plan, &mut arena).unwrap();
    assert_eq!(
        s.set_input(&[0; 91]),
        Err(RunError::InputLength {
            expected: 90,
            got: 91
        })
    );
    assert_eq!(
        s.set_input_pixels(&[0; 3]),
        Err(RunError::InputLength {
            expected: 90,
            got: 3
        })
    );
    assert_eq!(s.set_input(&[1; 90]), Ok(()));
    assert_eq!(s.run(), Ok(()));
    assert!(RunError::InputLength {
        expected: 90,
        got: 91
    }
    .to_string()
    .contains("90"));

    m.preprocess = None;
    let blob = m.encode();
    let plan = Plan::parse(&blob).unwrap();
    assert!(plan.preprocess().is_none());
    let mut s = Session::new(&plan, &mut arena).unwrap();
    assert_eq!(s.set_input_pixels(&[0; 90]), Err(RunError::NoPreprocess));
}

#[test]
fn quantize_input_uses_input_scale() {
    let blob = model(6).encode();
    let plan = Plan::parse(&blob).unwrap();
    let f: Vec<f32> = (0..90).map(|i| i as f32 * 0.02 - 0.9).collect();
    let mut q = vec![0i8; 90];
    edgecnn::runtime::quantize_input(&plan, &f, &mut q).unwrap();
    assert_eq!((q[0], q[45], q[89]), (-42, 3, 47));
    assert!(edgecnn::runtime::quantize_input(&plan, &f[1..], &mut q).is_err());
}

fn conv(m: &mut PlanModel) -> &mut Conv2d {
    match &mut m.steps[0].op {
        Op::Conv2d(c) => c,
        _ => unreachable!(),
    }
}

fn step_fault(m: &PlanModel) -> Option<StepFault> {
    match Plan::parse(&m.encode()) {
        Err(ParseError::Step { fault, .. }) => Some(fault),
        other => panic!("expected a step fault, got {:?}", other.map(|_| "a plan")),
    }
}

#[test]
fn parse_rejects_inconsistent_plans() {
    let base = model(7);
    let edit = |f: &dyn Fn(&mut PlanModel)| {
        let mut m = base.clone();
        f(&mut m);
        m
    };
    assert_eq!(
        step_fault(&edit(&|m| m.tensors[1].offset = m.tensors[0].offset + 8)),
        Some(StepFault::Overlap)
    );
    assert_eq!(
        step_fault(&edit(&|m| conv(m).requant.shift[2] = 0)),
        Some(StepFault::Rescale)
    );
    assert_eq!(
        step_fault(&edit(&|m| conv(m).requant.shift[2] = 63)),
        Some(StepFault::Rescale)
    );
    assert_eq!(
        step_fault(&edit(&|m| conv(m).requant.shift.pop().map(drop).unwrap())),
        Some(StepFault::Rescale)
    );
    assert_eq!(
        step_fault(&edit(&|m| conv(m).weights.pop().map(drop).unwrap())),
        Some(StepFault::Weights)
    );
    assert_eq!(
        step_fault(&edit(&|m| conv(m).bias.push(0))),
        Some(StepFault::Bias)
    );
    assert_eq!(
        step_fault(&edit(&|m| conv(m).groups = 2)),
        Some(StepFault::Groups)
    );
    assert_eq!(
        step_fault(&edit(&|m| conv(m).stride = [0, 1])),
        Some(StepFault::Window)
    );
    assert_eq!(
        step_fault(&edit(&|m| conv(m).stride = [2, 1])),
        Some(StepFault::Shape),
        "stride 2 cannot give 5 rows from 5"
    );
    assert_eq!(
        step_fault(&edit(&|m| m.tensors[6].zero_point = 0)),
        Some(StepFault::ZeroPoint),
        "concat zp"
    );
    assert_eq!(
        step_fault(&edit(&|m| m.tensors[3].zero_point = 0)),
        Some(StepFault::ZeroPoint),
        "pool zp"
    );
    let inverted = edit(&|m| {
        conv(m).act_min = 10;
        conv(m).act_max = 5;
    });
    assert_eq!(step_fault(&inverted), Some(StepFault::Window));
    assert_eq!(
        step_fault(&edit(&|m| m.steps[4].inputs.pop().map(drop).unwrap())),
        Some(StepFault::Arity)
    );
    assert_eq!(
        step_fault(&edit(&|m| m.steps[5].inputs[1] = 99)),
        Some(StepFault::UnknownTensor(99))
    );
    assert_eq!(
        step_fault(&edit(&|m| m.steps[5].inputs.push(3))),
        Some(StepFault::Shape),
        "concat channels sum"
    );
    assert_eq!(
        step_fault(&edit(&|m| m.tensors[5].shape = [3, 1, 12])),
        Some(StepFault::Shape),
        "add shapes"
    );
    assert_eq!(
        step_fault(&edit(
            &|m| if let Op::FullyConnected(f) = &mut m.steps[6].op {
                f.weights.truncate(700)
            }
        )),
        Some(StepFault::Weights)
    );
    assert_eq!(
        step_fault(&edit(&|m| if let Op::Lrn(l) = &mut m.steps[1].op {
            l.lut.clear()
        })),
        Some(StepFault::Lut)
    );
    assert_eq!(
        step_fault(&edit(&|m| if let Op::Softmax(s) = &mut m.steps[7].op {
            s.exp_lut[0] = 0
        })),
        Some(StepFault::Lut)
    );
    assert_eq!(
        step_fault(&edit(&|m| m.steps[2].scratch = (m.arena_bytes - 4, 8))),
        Some(StepFault::Overlap)
    );
    assert_eq!(
        step_fault(&edit(&|m| m.steps[2].scratch = (m.tensors[3].offset, 8))),
        Some(StepFault::Overlap)
    );
    let ok = edit(&|m| {
        m.arena_bytes += 64;
        m.steps[2].scratch = (m.arena_bytes - 64, 64);
    });
    assert!(
        Plan::parse(&ok.encode()).is_ok(),
        "scratch in a free part of the arena"
    );

    let parse = |m: &PlanModel| Plan::parse(&m.encode()).err();
    assert_eq!(
        parse(&edit(&|m| m.arena_bytes = m.tensors[8].offset + 9)),
        Some(ParseError::Tensor(8))
    );
    assert_eq!(
        parse(&edit(&|m| m.tensors[2].shape[1] = 0)),
        Some(ParseError::Tensor(2))
    );
    assert_eq!(
        parse(&edit(&|m| m.output = 9)),
        Some(ParseError::InputOutput)
    );
    assert_eq!(
        parse(&edit(&|m| m
            .preprocess
            .as_mut()
            .unwrap()
            .lut
            .pop()
            .map(drop)
            .unwrap())),
        Some(ParseError::Preprocess)
    );
    assert_eq!(
        Plan::parse(&[0; 10]).err(),
        Some(ParseError::Truncated {
            needed: 80,
            got: 10
        })
    );
    let mut blob = base.encode();
    blob[4] = 5;
    assert_eq!(
        Plan::parse(&blob).err(),
        Some(ParseError::UnsupportedVersion(5))
    );
    blob[0] = b'X';
    assert_eq!(Plan::parse(&blob).err(), Some(ParseError::BadMagic));
    let blob = base.encode();
    assert!(matches!(
        Plan::parse(&blob[..blob.len() - 16]),
        Err(ParseError::Truncated { .. })
    ));
}

fn fix_crc(blob: &mut [u8]) {
    let total =
        (u32::from_le_bytes(blob[8..12].try_into().unwrap()) as usize).clamp(16, blob.len());
    let crc = edgecnn::format::crc32::crc32(&blob[16..total]);
    blob[12..16].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn every_corrupted_byte_is_caught_or_harmless() {
    let m = model(8);
    let blob = m.encode();
    let arena_len = m.arena_bytes as usize;
    let mut arena = vec![0u8; arena_len * 2 + 4096];
    let (mut accepted, mut rejected) = (0, 0);
    // Under Miri 8 bytes spread over the blob (header, tables and weights), one flip each:
    // each case parses twice and runs, seconds apiece there. See `oracle::cases`.
    let (stride, flips): (usize, &[u8]) = if cfg!(miri) {
        (blob.len() / 8, &[0xFF])
    } else {
        (1, &[0x01, 0x80, 0xFF])
    };
    for i in (0..blob.len()).step_by(stride.max(1)) {
        for &flip in flips {
            let mut bad = blob.clone();
            bad[i] ^= flip;
            assert!(
                Plan::parse(&bad).is_err(),
                "byte {i} ^ {flip:#x} went unnoticed"
            );
            fix_crc(&mut bad);
            match Plan::parse(&bad) {
                Err(_) => rejected += 1,
                Ok(plan) => {
                    accepted += 1;
                    let Ok(mut s) = Session::new(&plan, &mut arena) else {
                        continue;
                    };
                    s.input_mut().fill(1);
                    assert_eq!(s.run(), Ok(()), "a parsed plan runs (byte {i} ^ {flip:#x})");
                    let _ = top_k::<5>(s.output());
                    for k in 0..plan.num_steps() {
                        let _ = plan.step(k).unwrap();
                    }
                }
            }
        }
    }
    // Natively both outcomes must show; Miri's eight cases are about undefined behaviour.
    assert!(
        cfg!(miri) || (rejected > 0 && accepted > 0),
        "both outcomes exercised: {accepted} accepted, {rejected} rejected"
    );
}

/// Add and Requantize may write over an input occupying exactly the output's bytes.
#[test]
fn elementwise_steps_run_in_place() {
    let mut rng = Rng(11);
    let sh = [3, 3, 4];
    let t = |off: u32, zp: i8| TensorDesc {
        shape: sh,
        offset: off,
        scale: 0.1,
        zero_point: zp,
        resident_rows: 0,
        pitch: 0,
    };
    // t0 input at 0; t1 at 36; t2, t3, t4 all over t1's bytes.
    let tensors = vec![t(0, 3), t(36, -4), t(36, 6), t(36, -2), t(36, 1)];
    let add = |rng: &mut Rng| {
        Op::Add(Add {
            a: rq(rng.mult(), 21),
            b: rq(rng.mult(), 21),
            out: rq(rng.mult(), 31),
            act_min: -128,
            act_max: 127,
        })
    };
    let requant = |rng: &mut Rng| {
        Op::Requantize(Requantize {
            requant: rq(rng.mult(), 31),
            act_min: -100,
            act_max: 120,
        })
    };
    let step = |op, inputs: Vec<u16>, output| Step {
        op,
        inputs,
        output,
        scratch: (0, 0),
    };
    let steps = vec![
        step(requant(&mut rng), vec![0], 1),
        step(add(&mut rng), vec![1, 0], 2),
        step(requant(&mut rng), vec![2], 3),
        step(add(&mut rng), vec![3, 3], 4),
    ];
    let m = PlanModel {
        name: "in place".into(),
        tensors,
        steps,
        input: 0,
        output: 4,
        arena_bytes: 72,
        preprocess: None,
        labels: vec![],
    };
    let blob = m.encode();
    let plan = Plan::parse(&blob).unwrap();
    let mut arena = [0u8; 72];
    let mut s = Session::new(&plan, &mut arena).unwrap();
    let x = rng.i8s(36);
    s.set_input(&x).unwrap();
    s.run().unwrap();

    let zp = |i: usize| m.tensors[i].zero_point;
    let mut v: Vec<Vec<i8>> = vec![x];
    for st in &m.steps {
        let a = &v[st.inputs[0] as usize];
        let o = st.output as usize;
        let y = match &st.op {
            Op::Requantize(r) => oracle::requant(
                a,
                zp(st.inputs[0] as usize),
                zp(o),
                r.requant.multiplier[0],
                r.requant.shift[0],
                r.act_min,
                r.act_max,
            ),
            Op::Add(p) => {
                let r = [&p.a, &p.b, &p.out].map(|r| (r.multiplier[0], r.shift[0]));
                let b = st.inputs[1] as usize;
                oracle::add(
                    a,
                    zp(st.inputs[0] as usize),
                    &v[b],
                    zp(b),
                    zp(o),
                    r,
                    p.act_min,
                    p.act_max,
                )
            }
            _ => unreachable!(),
        };
        v.push(y);
    }
    assert_eq!(s.output(), &v[4][..]);
    assert!(v[4].iter().any(|&q| q != v[4][0]), "output is not constant");

    // Only an exact alias is allowed, and only for elementwise ops.
    let mut partial = m.clone();
    partial.tensors[2].offset = 37;
    partial.arena_bytes = 80;
    assert_eq!(step_fault(&partial), Some(StepFault::Overlap));
    let mut pool = m.clone();
    pool.steps[2].op = Op::MaxPool(Pool {
        kernel: [1, 1],
        stride: [1, 1],
        pad: [0, 0],
        act_min: -128,
        act_max: 127,
    });
    assert_eq!(step_fault(&pool), Some(StepFault::Overlap));
}

/// Random multi-byte damage, including extreme 16/32-bit values, with the checksum fixed up:
/// the parser rejects the blob or the plan runs to completion (no panic, no overflow).
#[test]
fn random_damage_with_valid_checksum_never_panics() {
    let blob = model(9).encode();
    let mut rng = Rng(0xDA4A_6E00);
    let mut arena = vec![0u8; 1 << 16];
    let extremes: [u32; 6] = [0, 1, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0xFFFF_FFFF];
    let (mut accepted, mut rejected) = (0, 0);
    // Ten under Miri, where each parse + run is slow; thousands natively.
    for _ in 0..if cfg!(miri) { 10 } else { 4000 } {
        let mut bad = blob.clone();
        for _ in 0..rng.usize(1, 4) {
            let at = rng.usize(16, bad.len() - 4) & !1;
            match rng.usize(0, 2) {
                0 => bad[at] = rng.next() as u8,
                1 => {
                    let v = extremes[rng.usize(0, extremes.len() - 1)];
                    bad[at..at + 2].copy_from_slice(&(v as u16).to_le_bytes());
                }
                _ => {
                    let v = extremes[rng.usize(0, extremes.len() - 1)];
                    let at = at & !3;
                    bad[at..at + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
        }
        fix_crc(&mut bad);
        let Ok(plan) = Plan::parse(&bad) else {
            rejected += 1;
            continue;
        };
        accepted += 1;
        let Ok(mut s) = Session::new(&plan, &mut arena) else {
            continue;
        };
        s.input_mut().fill(-3);
        assert_eq!(s.run(), Ok(()));
        let _ = (
            plan.name(),
            plan.label(0),
            plan.preprocess().map(|p| p.lut(0)),
        );
    }
    // Ten damaged blobs under Miri need not show both outcomes; what Miri checks is that
    // neither path has undefined behaviour.
    assert!(
        cfg!(miri) || (rejected > 0 && accepted > 0),
        "{accepted} accepted, {rejected} rejected"
    );
}

/// Weights are read in place with `from_le_bytes`: a blob at an odd address runs the same.
#[test]
fn unaligned_blob_gives_the_same_output() {
    let blob = model(12).encode();
    // Place a copy at an address ≡ 1 (mod 4), whatever the allocator's alignment (under Miri
    // a byte vector can start anywhere).
    let mut buf = vec![0u8; blob.len() + 4];
    let k = (0..4)
        .find(|k| (buf.as_ptr() as usize + k) % 4 == 1)
        .unwrap();
    buf[k..k + blob.len()].copy_from_slice(&blob);
    let shifted = &buf[k..k + blob.len()];
    assert_eq!(shifted.as_ptr() as usize % 4, 1);
    let x: Vec<i8> = Rng(3).i8s(90);
    let mut outputs = Vec::new();
    for b in [&blob[..], shifted] {
        let plan = Plan::parse(b).unwrap();
        let mut arena = vec![0u8; plan.arena_bytes()];
        let mut s = Session::new(&plan, &mut arena).unwrap();
        s.set_input(&x).unwrap();
        s.run().unwrap();
        outputs.push(s.output().to_vec());
    }
    assert_eq!(outputs[0], outputs[1]);
}
