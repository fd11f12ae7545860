//! Random convs and pools for the window tests (`runtime_overlap`, `runtime_stream`).
#![allow(dead_code)]

use edgecnn::format::model::*;
use edgecnn::format::overlap::RowOverlap;
use edgecnn::runtime::{Plan, Session};

use crate::runtime_oracle::Rng;

/// One random windowed op on an input of `ishape`, with its output shape and the
/// geometry's top padding, stride and extent.
pub struct Case {
    pub op: Op,
    pub ishape: [u32; 3],
    pub oshape: [u32; 3],
    pub stride: u64,
    pub pad_top: u64,
    pub extent: u64,
}

pub fn random_case(rng: &mut Rng, input: Option<[u32; 3]>) -> Case {
    let kind = rng.usize(0, 2);
    let (h, w, c) = match input {
        Some([h, w, c]) => (h as usize, w as usize, c as usize),
        None => (rng.usize(1, 12), rng.usize(1, 6), rng.usize(1, 5)),
    };
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
        return random_case(rng, input);
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

impl Case {
    /// The row geometry, offsets 0.
    pub fn geometry(&self) -> RowOverlap {
        RowOverlap {
            in_offset: 0,
            in_row: u64::from(self.ishape[1] * self.ishape[2]),
            in_rows: u64::from(self.ishape[0]),
            out_offset: 0,
            out_row: u64::from(self.oshape[1] * self.oshape[2]),
            out_rows: u64::from(self.oshape[0]),
            stride: self.stride,
            pad_top: self.pad_top,
            extent: self.extent,
        }
    }
}

/// Parses, binds and runs `m` on the int8 input `x`; its output bytes.
pub fn run(m: &PlanModel, x: &[i8]) -> Vec<i8> {
    let blob = m.encode();
    let p = Plan::parse(&blob).unwrap_or_else(|e| panic!("{e}: {m:?}"));
    let mut arena = vec![0u8; p.arena_bytes()];
    let mut s = Session::new(&p, &mut arena).unwrap();
    s.set_input(x).unwrap();
    s.run().unwrap();
    s.output().to_vec()
}
