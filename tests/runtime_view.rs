//! Zero-copy Concat in the runtime: convs, max pools and average pools writing straight into
//! their channel slices of a Concat's output (views, `edgecnn::format::view`) give exactly
//! the bytes of the same steps writing dense tensors that the Concat copies, over random
//! shapes, windows, band sizes (the scratch) and slice orders; `Plan::parse` refuses every
//! misuse of a view.

mod runtime_oracle;
mod window_support;

use edgecnn::format::model::*;
use edgecnn::format::wire;
use edgecnn::runtime::{ParseError, Plan, StepFault};
use runtime_oracle::Rng;
use window_support::{random_case, run, Case};

fn tensor(shape: [u32; 3], offset: u32, zero_point: i8, pitch: u32) -> TensorDesc {
    TensorDesc {
        shape,
        offset,
        scale: 0.05,
        zero_point,
        resident_rows: 0,
        pitch,
    }
}

/// One random input and 2–4 random convs or pools of it whose outputs share a height and
/// width, so that they concatenate (a view needs a sibling: alone it would be dense).
struct Branches {
    ishape: [u32; 3],
    cases: Vec<Case>,
}

fn random_branches(rng: &mut Rng) -> Branches {
    loop {
        let first = random_case(rng, None);
        let ishape = first.ishape;
        let (oh, ow) = (first.oshape[0], first.oshape[1]);
        let mut cases = vec![first];
        let wanted = rng.usize(2, 4);
        for _ in 0..200 {
            if cases.len() >= wanted {
                break;
            }
            let c = random_case(rng, Some(ishape));
            if c.oshape[0] == oh && c.oshape[1] == ow {
                cases.push(c);
            }
        }
        if cases.len() >= 2 {
            return Branches { ishape, cases };
        }
    }
}

impl Branches {
    fn pixels(&self) -> u32 {
        self.cases[0].oshape[0] * self.cases[0].oshape[1]
    }
    fn channels(&self) -> u32 {
        self.cases.iter().map(|c| c.oshape[2]).sum()
    }

    /// Every branch to its own dense tensor, then a copying Concat (tensor ids: 0 input,
    /// 1..=n branches, n + 1 the Concat's output).
    fn copying(&self, zp: i8) -> PlanModel {
        let mut tensors = vec![tensor(self.ishape, 0, zp, 0)];
        let mut at = self.ishape.iter().product::<u32>();
        for c in &self.cases {
            tensors.push(tensor(c.oshape, at, zp, 0));
            at += c.oshape.iter().product::<u32>();
        }
        let [h, w, _] = self.cases[0].oshape;
        tensors.push(tensor([h, w, self.channels()], at, zp, 0));
        self.plan(
            tensors,
            vec![(0, 0); self.cases.len()],
            at + self.pixels() * self.channels(),
        )
    }

    /// Every branch written into its slice of the Concat's output through a scratch of
    /// `band_rows[k]` rows (tensor ids as in [`Branches::copying`]).
    fn viewed(&self, zp: i8, band_rows: &[u32]) -> PlanModel {
        let ilen = self.ishape.iter().product::<u32>();
        let ylen = self.pixels() * self.channels();
        let mut tensors = vec![tensor(self.ishape, 0, zp, 0)];
        let mut channel = 0;
        let mut scratch = vec![];
        let mut scratch_at = ilen + ylen;
        for (c, &rows) in self.cases.iter().zip(band_rows) {
            tensors.push(tensor(c.oshape, ilen + channel, zp, self.channels()));
            channel += c.oshape[2];
            let len = rows * c.oshape[1] * c.oshape[2];
            scratch.push((scratch_at, len));
            scratch_at += len;
        }
        let [h, w, _] = self.cases[0].oshape;
        tensors.push(tensor([h, w, self.channels()], ilen, zp, 0));
        self.plan(tensors, scratch, scratch_at)
    }

    fn plan(&self, tensors: Vec<TensorDesc>, scratch: Vec<(u32, u32)>, arena: u32) -> PlanModel {
        let n = self.cases.len() as u16;
        let mut steps: Vec<Step> = self
            .cases
            .iter()
            .zip(scratch)
            .enumerate()
            .map(|(k, (c, scratch))| Step {
                op: c.op.clone(),
                inputs: vec![0],
                output: k as u16 + 1,
                scratch,
            })
            .collect();
        steps.push(Step {
            op: Op::Concat,
            inputs: (1..=n).collect(),
            output: n + 1,
            scratch: (0, 0),
        });
        PlanModel {
            name: "views".into(),
            tensors,
            steps,
            input: 0,
            output: n + 1,
            arena_bytes: arena,
            preprocess: None,
            labels: vec![],
        }
    }
}

#[test]
fn views_give_the_bytes_of_a_copying_concat() {
    let mut rng = Rng(0x5C0FFEE);
    let mut banded = 0;
    for case_no in 0..runtime_oracle::cases(300) {
        let b = random_branches(&mut rng);
        let zp = rng.i8();
        let x = rng.i8s(b.ishape.iter().product::<u32>() as usize);
        let copied = run(&b.copying(zp), &x);
        let oh = b.cases[0].oshape[0];
        let rows: Vec<u32> = b
            .cases
            .iter()
            .map(|_| rng.usize(1, oh as usize + 1) as u32)
            .collect();
        banded += rows.iter().filter(|&&r| r < oh).count();
        let viewed = b.viewed(zp, &rows);
        assert_eq!(
            viewed.encode()[4..6],
            3u16.to_le_bytes(),
            "a plan with views is v3"
        );
        assert_eq!(run(&viewed, &x), copied, "case {case_no}: rows {rows:?}");
    }
    assert!(banded >= runtime_oracle::cases(300) / 2, "{banded}");
}

#[test]
fn plans_without_views_keep_their_version() {
    let mut rng = Rng(7);
    let b = random_branches(&mut rng);
    let blob = b.copying(0).encode();
    assert_eq!(blob[4..6], 1u16.to_le_bytes());
    assert_eq!(blob.len() % wire::ALIGN, 0);
}

fn step_fault(step: usize, fault: StepFault) -> Option<ParseError> {
    Some(ParseError::Step {
        step: step as u32,
        fault,
    })
}

/// Runs `check` on the viewed plans of a few random branch sets (one-row bands).
fn each_viewed(seed: u32, mut check: impl FnMut(&Branches, PlanModel)) {
    let mut rng = Rng(seed);
    for _ in 0..runtime_oracle::cases(30) {
        let b = random_branches(&mut rng);
        let m = b.viewed(3, &vec![1; b.cases.len()]);
        assert!(Plan::parse(&m.encode()).is_ok());
        check(&b, m);
    }
}

#[test]
fn a_view_off_its_slice_is_refused() {
    each_viewed(0xBAD5EED, |b, m| {
        let concat = b.cases.len();
        // One byte off: no longer exactly its slice of the output.
        let mut off = m.clone();
        off.tensors[1].offset += 1;
        assert_eq!(
            Plan::parse(&off.encode()).err(),
            step_fault(concat, StepFault::View)
        );
        // A pitch wider than the output's channels: past the arena, into the scratch, or
        // not its slice.
        let mut wide = m.clone();
        wide.tensors[1].pitch += 1;
        let r = Plan::parse(&wide.encode()).err();
        assert!(
            r == Some(ParseError::Tensor(1))
                || r == step_fault(0, StepFault::Overlap)
                || r == step_fault(concat, StepFault::View),
            "{r:?}"
        );
        // A pitch no wider than its channels is no view.
        let mut narrow = m;
        narrow.tensors[1].pitch = narrow.tensors[1].shape[2];
        assert_eq!(
            Plan::parse(&narrow.encode()).err(),
            Some(ParseError::Tensor(1))
        );
    });
}

#[test]
fn a_view_written_without_a_row_of_scratch_is_refused() {
    each_viewed(0x5CA7C4, |b, mut m| {
        let row = b.cases[0].oshape[1] * b.cases[0].oshape[2];
        m.steps[0].scratch.1 = row - 1;
        assert_eq!(
            Plan::parse(&m.encode()).err(),
            step_fault(0, StepFault::View)
        );
    });
}

#[test]
fn a_view_read_by_anything_but_its_concat_is_refused() {
    each_viewed(0x4EAD, |b, mut m| {
        // A max pool reading view 1 into a new tensor past the arena's end.
        let shape = b.cases[0].oshape;
        let at = m.arena_bytes;
        m.tensors.push(tensor(shape, at, 3, 0));
        m.arena_bytes += shape.iter().product::<u32>();
        m.steps.push(Step {
            op: Op::MaxPool(Pool {
                kernel: [1, 1],
                stride: [1, 1],
                pad: [0, 0],
                act_min: -128,
                act_max: 127,
            }),
            inputs: vec![1],
            output: m.tensors.len() as u16 - 1,
            scratch: (0, 0),
        });
        assert_eq!(
            Plan::parse(&m.encode()).err(),
            step_fault(b.cases.len() + 1, StepFault::View)
        );
    });
}

#[test]
fn a_view_as_the_model_output_is_refused() {
    each_viewed(0x0071, |_, mut m| {
        m.output = 1;
        assert_eq!(
            Plan::parse(&m.encode()).err(),
            Some(ParseError::InputOutput)
        );
    });
}

#[test]
fn a_view_written_by_an_op_without_bands_is_refused() {
    each_viewed(0xADD, |_, mut m| {
        // A Requantize from a new tensor of the view's shape, past the arena's end.
        let shape = m.tensors[1].shape;
        let at = m.arena_bytes;
        m.tensors.push(tensor(shape, at, 3, 0));
        m.arena_bytes += shape.iter().product::<u32>();
        m.steps[0] = Step {
            op: Op::Requantize(Requantize {
                requant: Requant {
                    multiplier: vec![1 << 30],
                    shift: vec![30],
                },
                act_min: -128,
                act_max: 127,
            }),
            inputs: vec![m.tensors.len() as u16 - 1],
            output: 1,
            scratch: m.steps[0].scratch,
        };
        assert_eq!(
            Plan::parse(&m.encode()).err(),
            step_fault(0, StepFault::View)
        );
    });
}

/// X0 → P → X1 (streamed through `rows` rows, or whole for 0) → C → V, and X0 → B → W; V and
/// W concatenated into Y. With `views`, V and W are views of Y written through scratch bands
/// of `band` rows; else they are dense and the Concat copies. Tensor ids: X0 0, X1 1, V 2,
/// W 3, Y 4.
fn streamed_into_view(
    p: &Case,
    c: &Case,
    b: &Case,
    rows: u32,
    views: bool,
    band: u32,
) -> PlanModel {
    let zp = 5;
    let len = |s: [u32; 3]| s.iter().product::<u32>();
    let l0 = len(p.ishape);
    let l1 = if rows == 0 {
        len(p.oshape)
    } else {
        rows * p.oshape[1] * p.oshape[2]
    };
    let [h, w, cv] = c.oshape;
    let cw = b.oshape[2];
    let y_at = l0 + l1;
    let y_len = h * w * (cv + cw);
    let mut tensors = vec![
        tensor(p.ishape, 0, zp, 0),
        tensor(p.oshape, l0, zp, 0),
        tensor(c.oshape, 0, zp, 0),
        tensor(b.oshape, 0, zp, 0),
        tensor([h, w, cv + cw], y_at, zp, 0),
    ];
    tensors[1].resident_rows = rows;
    let mut scratch = [(0, 0); 2];
    let arena = if views {
        tensors[2].offset = y_at;
        tensors[2].pitch = cv + cw;
        tensors[3].offset = y_at + cv;
        tensors[3].pitch = cv + cw;
        scratch[0] = (y_at + y_len, band * w * cv);
        scratch[1] = (y_at + y_len + band * w * cv, band * w * cw);
        y_at + y_len + band * w * (cv + cw)
    } else {
        tensors[2].offset = y_at + y_len;
        tensors[3].offset = y_at + y_len + len(c.oshape);
        y_at + y_len + len(c.oshape) + len(b.oshape)
    };
    let step = |op: &Op, inputs: Vec<u16>, output: u16, scratch: (u32, u32)| Step {
        op: op.clone(),
        inputs,
        output,
        scratch,
    };
    PlanModel {
        name: "streamed into a view".into(),
        tensors,
        steps: vec![
            step(&p.op, vec![0], 1, (0, 0)),
            step(&c.op, vec![1], 2, scratch[0]),
            step(&b.op, vec![0], 3, scratch[1]),
            step(&Op::Concat, vec![2, 3], 4, (0, 0)),
        ],
        input: 0,
        output: 4,
        arena_bytes: arena,
        preprocess: None,
        labels: vec![],
    }
}

#[test]
fn a_streamed_consumer_writes_its_view_in_bands() {
    use edgecnn::format::stream::StreamGeometry;
    let mut rng = Rng(0x57EA_u32 ^ 0x71E);
    let mut checked = 0;
    for case_no in 0..runtime_oracle::cases(600) {
        let p = random_case(&mut rng, None);
        let c = random_case(&mut rng, Some(p.oshape));
        let Some(b) = (0..100)
            .map(|_| random_case(&mut rng, Some(p.ishape)))
            .find(|b| b.oshape[..2] == c.oshape[..2])
        else {
            continue;
        };
        let Some(least) = StreamGeometry::resident_for(&c.geometry(), 1) else {
            continue;
        };
        let g = StreamGeometry {
            producer: p.geometry(),
            consumer: c.geometry(),
            resident: least,
        };
        let rows = least as u32 + rng.range(0, 1) as u32;
        if !g.is_feasible() || rows >= p.oshape[0] {
            continue;
        }
        let x = rng.i8s(p.ishape.iter().product::<u32>() as usize);
        let copied = run(&streamed_into_view(&p, &c, &b, 0, false, 0), &x);
        let band = rng.usize(1, c.oshape[0] as usize) as u32;
        let m = streamed_into_view(&p, &c, &b, rows, true, band);
        assert_eq!(
            run(&m, &x),
            copied,
            "case {case_no}: {rows} rows, bands of {band}"
        );
        checked += 1;
        // The consumer's scratch over X0, which P reads until C's last band, is refused.
        let mut over = m.clone();
        over.steps[1].scratch.0 = 0;
        assert!(Plan::parse(&over.encode()).is_err(), "case {case_no}");
    }
    assert!(checked >= runtime_oracle::cases(600) / 20, "{checked}");
}
