//! Streaming in the runtime: a conv or pool whose output flows into the conv or pool right
//! after it through a buffer of a few rows gives exactly the bytes of the two steps on a
//! whole intermediate tensor, over random shapes, strides, dilations, paddings (ceil mode
//! included) and buffers from the least that fits to the whole height; a buffer one row too
//! small, a second reader or a producer input overlapping the consumer output is refused
//! by `Plan::parse`.

mod runtime_oracle;
mod window_support;

use edgecnn::format::model::*;
use edgecnn::format::stream::StreamGeometry;
use edgecnn::runtime::{ParseError, Plan, StepFault};
use runtime_oracle::Rng;
use window_support::{random_case, run, Case};

fn tensor(shape: [u32; 3], offset: u32, zero_point: i8, resident_rows: u32) -> TensorDesc {
    TensorDesc {
        shape,
        offset,
        scale: 0.05,
        zero_point,
        resident_rows,
        pitch: 0,
    }
}

/// X0 → P → X1 → C → X2, laid out apart: X0, then X1 (`rows` resident rows, 0 = whole),
/// then X2.
fn plan(p: &Case, c: &Case, rows: u32, zp: i8) -> PlanModel {
    let len = |s: [u32; 3], r: u32| (if r == 0 { s[0] } else { r }) * s[1] * s[2];
    let (l0, l1, l2) = (len(p.ishape, 0), len(p.oshape, rows), len(c.oshape, 0));
    PlanModel {
        name: "stream".into(),
        tensors: vec![
            tensor(p.ishape, 0, zp, 0),
            tensor(p.oshape, l0, zp, rows),
            tensor(c.oshape, l0 + l1, zp, 0),
        ],
        steps: vec![
            Step {
                op: p.op.clone(),
                inputs: vec![0],
                output: 1,
                scratch: (0, 0),
            },
            Step {
                op: c.op.clone(),
                inputs: vec![1],
                output: 2,
                scratch: (0, 0),
            },
        ],
        input: 0,
        output: 2,
        arena_bytes: l0 + l1 + l2,
        preprocess: None,
        labels: vec![],
    }
}

fn refused(m: &PlanModel) -> bool {
    let blob = m.encode();
    matches!(
        Plan::parse(&blob),
        Err(ParseError::Step {
            fault: StepFault::Stream,
            ..
        })
    )
}

#[test]
fn streamed_pairs_give_the_bytes_of_whole_tensors() {
    let mut rng = Rng(0x57EA);
    let mut streamed = 0;
    for case_no in 0..runtime_oracle::cases(300) {
        let p = random_case(&mut rng, None);
        let c = random_case(&mut rng, Some(p.oshape));
        let zp = rng.i8();
        let x = rng.i8s(p.ishape.iter().product::<u32>() as usize);
        let whole = run(&plan(&p, &c, 0, zp), &x);
        let h1 = p.oshape[0];
        for band in 1..=3 {
            let Some(least) = StreamGeometry::resident_for(&c.geometry(), band) else {
                continue; // a consumer row wholly in the end padding: never streamed
            };
            let g = StreamGeometry {
                producer: p.geometry(),
                consumer: c.geometry(),
                resident: least,
            };
            if !g.is_feasible() || least >= u64::from(h1) {
                continue;
            }
            let rows = least as u32 + rng.range(0, 1) as u32;
            if rows >= h1 {
                continue;
            }
            streamed += 1;
            let m = plan(&p, &c, rows, zp);
            assert_eq!(
                run(&m, &x),
                whole,
                "case {case_no}, band {band}, {rows} rows"
            );
        }
        if let Some(least) = StreamGeometry::resident_for(&c.geometry(), 1) {
            if (2..u64::from(h1)).contains(&least) {
                assert!(
                    refused(&plan(&p, &c, least as u32 - 1, zp)),
                    "case {case_no}"
                );
            }
        }
    }
    assert!(streamed > runtime_oracle::cases(300) / 2, "{streamed}");
}

#[test]
fn a_streamed_tensor_read_twice_or_beside_its_own_input_is_refused() {
    let mut rng = Rng(0xBEEF);
    let (p, c) = loop {
        let p = random_case(&mut rng, None);
        let c = random_case(&mut rng, Some(p.oshape));
        let least = StreamGeometry::resident_for(&c.geometry(), 1);
        if least.is_some_and(|l| l < u64::from(p.oshape[0])) {
            break (p, c);
        }
    };
    let rows = StreamGeometry::resident_for(&c.geometry(), 1).unwrap() as u32;
    let ok = plan(&p, &c, rows, 0);
    assert!(Plan::parse(&ok.encode()).is_ok());
    // a second reader of X1
    let mut twice = ok.clone();
    twice.steps.push(Step {
        op: c.op.clone(),
        inputs: vec![1],
        output: 2,
        scratch: (0, 0),
    });
    assert!(refused(&twice));
    // X2 placed over X0, which the producer reads until the consumer's last band
    let mut over = ok.clone();
    over.tensors[2].offset = 0;
    let blob = over.encode();
    assert!(Plan::parse(&blob).is_err());
    // the model output streamed
    let mut out = ok;
    out.output = 1;
    assert!(refused(&out));
}

/// A plan with a streamed tensor is written as wire version 2 and one without as version 1,
/// byte for byte what version-1 runtimes read; version 1 with resident rows is refused.
#[test]
fn streamed_plans_are_version_2_and_version_1_refuses_resident_rows() {
    let mut rng = Rng(0xF00D);
    let (p, c, rows) = loop {
        let p = random_case(&mut rng, None);
        let c = random_case(&mut rng, Some(p.oshape));
        if let Some(r) = StreamGeometry::resident_for(&c.geometry(), 1) {
            if r < u64::from(p.oshape[0]) {
                break (p, c, r as u32);
            }
        }
    };
    let version = |blob: &[u8]| u16::from_le_bytes([blob[4], blob[5]]);
    let whole = plan(&p, &c, 0, 0).encode();
    assert_eq!(version(&whole), 1);
    let mut streamed = plan(&p, &c, rows, 0).encode();
    assert_eq!(version(&streamed), 2);
    assert!(Plan::parse(&streamed).is_ok());
    // the same blob claiming version 1 (checksum fixed) is refused at the tensor
    streamed[4] = 1;
    let crc = edgecnn::format::crc32::crc32(&streamed[16..]);
    streamed[12..16].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(Plan::parse(&streamed).err(), Some(ParseError::Tensor(1)));
}
