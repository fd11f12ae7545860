//! Window overlap in the runtime: a conv, max pool or average pool whose output overlaps its
//! input by rows (above or below it, at the least gap `edgecnn::format::overlap` allows for
//! bands of 1, 2 or 3 rows, or farther) gives exactly the bytes of the same step with the
//! output apart, over random shapes, strides, dilations, paddings (ceil mode included) and
//! groups; a placement one byte too close is refused by `Plan::parse`.

mod runtime_oracle;
mod window_support;

use edgecnn::format::model::*;
use edgecnn::runtime::{ParseError, Plan, StepFault};
use runtime_oracle::Rng;
use window_support::{random_case, run, Case};

fn tensor(shape: [u32; 3], offset: u32, zero_point: i8) -> TensorDesc {
    TensorDesc {
        shape,
        offset,
        scale: 0.05,
        zero_point,
        resident_rows: 0,
        pitch: 0,
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

#[test]
fn overlapped_windows_give_the_bytes_of_apart_windows() {
    let mut rng = Rng(0x0E71A9);
    let mut overlapping = 0;
    for case_no in 0..runtime_oracle::cases(400) {
        let case = random_case(&mut rng, None);
        let zp = rng.i8();
        let (ilen, olen) = (
            case.ishape.iter().product::<u32>(),
            case.oshape.iter().product::<u32>(),
        );
        let x = rng.i8s(ilen as usize);
        let apart = run(&plan(&case, 0, ilen, ilen + olen, zp), &x);
        let g = case.geometry();
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
