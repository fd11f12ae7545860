//! Window overlap in the runtime: a conv, max pool or average pool whose output overlaps its
//! input by rows (above or below it, at the least gap `edgecnn::format::overlap` allows for
//! bands of 1, 2 or 3 rows, or farther) gives exactly the bytes of the same step with the
//! output apart, over random shapes, strides, dilations, paddings (ceil mode included) and
//! groups; a placement one byte too close is refused by `Plan::parse`.

mod runtime_oracle;

use edgecnn::format::model::*;
use edgecnn::format::overlap::RowOverlap;
use edgecnn::runtime::{ParseError, Plan, Session, StepFault};
use runtime_oracle::Rng;

fn tensor(shape: [u32; 3], offset: u32, zero_point: i8) -> TensorDesc {
    TensorDesc {
        shape,
        offset,
        scale: 0.05,
        zero_point,
    }
}

/// One random windowed op on an input of `ishape`, with its output shape and the
/// geometry's top padding, stride and extent.
struct Case {
    op: Op,
    ishape: [u32; 3],
    oshape: [u32; 3],
    stride: u64,
    pad_top: u64,
    extent: u64,
}

fn random_case(rng: &mut Rng) -> Case {
    let kind = rng.usize(0, 2);
    let (h, w, c) = (rng.usize(1, 12), rng.usize(1, 6), rng.usize(1, 5));
    let kh = rng.usize(1, 4).min(h + 2);
    let kw = rng.usize(1, 3).min(w + 2);
    let dil = if kind == 0 { rng.usize(1, 2) } else { 1 };
    let (eh, ew) = ((kh - 1) * dil + 1, (kw - 1) * dil + 1);
    let (sh, sw) = (rng.usize(1, 3), rng.usize(1, 2));
    let pt = rng.usize(0, kh - 1);
    let pl = rng.usize(0, kw - 1);
    // end padding at most the start padding; the output rows follow (ceil mode sometimes)
    let (pb, pr) = (rng.usize(0, pt), rng.usize(0, pl));
    let axis = |n: usize, p0: usize, p1: usize, e: usize, s: usize, ceil: bool| -> Option<usize> {
        let span = (n + p0 + p1).checked_sub(e)?;
        let floor = span / s + 1;
        // ceil mode only while the last window starts inside the input or the start pad
        let out = if ceil && span % s != 0 {
            floor + 1
        } else {
            floor
        };
        ((out - 1) * s < n + p0).then_some(out).or(Some(floor))
    };
    let ceil = rng.usize(0, 1) == 1;
    let (Some(oh), Some(ow)) = (axis(h, pt, pb, eh, sh, ceil), axis(w, pl, pr, ew, sw, ceil))
    else {
        return random_case(rng);
    };
    let (groups, oc) = if kind == 0 {
        let g = if c % 2 == 0 && rng.usize(0, 1) == 1 {
            2
        } else {
            1
        };
        (g, g * rng.usize(1, 3))
    } else {
        (1, c)
    };
    let pool = Pool {
        kernel: [kh as u16, kw as u16],
        stride: [sh as u16, sw as u16],
        pad: [pt as u16, pl as u16],
        act_min: -128,
        act_max: 127,
    };
    let op = match kind {
        0 => Op::Conv2d(Conv2d {
            kernel: [kh as u16, kw as u16],
            stride: [sh as u16, sw as u16],
            dilation: [dil as u16, dil as u16],
            pad: [pt as u16, pl as u16],
            groups: groups as u16,
            weights: rng.i8s(oc * kh * kw * (c / groups)),
            bias: (0..oc).map(|_| rng.range(-3000, 3000) as i32).collect(),
            requant: Requant {
                multiplier: (0..oc).map(|_| rng.mult()).collect(),
                shift: (0..oc).map(|_| rng.range(37, 41) as u8).collect(),
            },
            act_min: -128,
            act_max: 127,
        }),
        1 => Op::MaxPool(pool),
        _ => Op::AvgPool(AvgPool {
            pool,
            pad_end: [pb as u16, pr as u16],
            count_include_pad: rng.usize(0, 1) == 1,
        }),
    };
    Case {
        op,
        ishape: [h as u32, w as u32, c as u32],
        oshape: [oh as u32, ow as u32, oc as u32],
        stride: sh as u64,
        pad_top: pt as u64,
        extent: eh as u64,
    }
}

/// The one-step plan with the input at `in_offset` and the output at `out_offset`.
fn plan(case: &Case, in_offset: u32, out_offset: u32, arena: u32, zp: i8) -> PlanModel {
    PlanModel {
        name: "overlap".into(),
        tensors: vec![
            tensor(case.ishape, in_offset, zp),
            tensor(case.oshape, out_offset, zp),
        ],
        steps: vec![Step {
            op: case.op.clone(),
            inputs: vec![0],
            output: 1,
            scratch: (0, 0),
        }],
        input: 0,
        output: 1,
        arena_bytes: arena,
        preprocess: None,
        labels: vec![],
    }
}

fn run(m: &PlanModel, x: &[i8]) -> Vec<i8> {
    let blob = m.encode();
    let p = Plan::parse(&blob).unwrap_or_else(|e| panic!("{e}: {m:?}"));
    let mut arena = vec![0u8; p.arena_bytes()];
    let mut s = Session::new(&p, &mut arena).unwrap();
    s.set_input(x).unwrap();
    s.run().unwrap();
    s.output().to_vec()
}

#[test]
fn overlapped_windows_give_the_bytes_of_apart_windows() {
    let mut rng = Rng(0x0E71A9);
    let mut overlapping = 0;
    for case_no in 0..runtime_oracle::cases(400) {
        let case = random_case(&mut rng);
        let zp = rng.i8();
        let (ilen, olen) = (
            case.ishape.iter().product::<u32>(),
            case.oshape.iter().product::<u32>(),
        );
        let x = rng.i8s(ilen as usize);
        let apart = run(&plan(&case, 0, ilen, ilen + olen, zp), &x);
        let g = RowOverlap {
            in_offset: 0,
            in_row: u64::from(case.ishape[1] * case.ishape[2]),
            in_rows: u64::from(case.ishape[0]),
            out_offset: 0,
            out_row: u64::from(case.oshape[1] * case.oshape[2]),
            out_rows: u64::from(case.oshape[0]),
            stride: case.stride,
            pad_top: case.pad_top,
            extent: case.extent,
        };
        for band in 1..=3 {
            let (Some(below), Some(above)) = (g.gap_below(band, 1), g.gap_above(band, 1)) else {
                continue; // a row wholly in the end padding: never overlapped
            };
            let extra = rng.range(0, 2) as u32;
            let below = below as u32 + extra;
            let above = above as u32 + extra;
            // below: output at 0, input `below` higher
            if below < olen {
                overlapping += 1;
                let m = plan(&case, below, 0, (below + ilen).max(olen), zp);
                assert_eq!(run(&m, &x), apart, "case {case_no} below, band {band}");
            }
            // above: input at 0, output `above` higher
            if above < ilen {
                overlapping += 1;
                let m = plan(&case, 0, above, (above + olen).max(ilen), zp);
                assert_eq!(run(&m, &x), apart, "case {case_no} above, band {band}");
            }
        }
        // One byte closer than one-row bands allow is refused.
        if let Some(gap) = g.gap_below(1, 1) {
            let gap = gap as u32;
            if gap >= 1 && gap - 1 < olen && gap - 1 < ilen + olen {
                let m = plan(&case, gap - 1, 0, (gap - 1 + ilen).max(olen), zp);
                let blob = m.encode();
                assert!(
                    matches!(
                        Plan::parse(&blob),
                        Err(ParseError::Step {
                            fault: StepFault::Overlap,
                            ..
                        })
                    ),
                    "case {case_no}: too close below accepted"
                );
            }
        }
    }
    assert!(overlapping > runtime_oracle::cases(400), "{overlapping}");
}
