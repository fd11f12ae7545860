//! Memory figures computed from a plan file alone (`compiler::memory`, `edgecnn inspect`):
//! exact numbers on a hand-built plan, and the same figures the compiler reported on
//! compiled ones.
#![cfg(feature = "cli")]

#[path = "cli_support/mod.rs"]
mod cli_support;
#[path = "compiler_support/mod.rs"]
mod compiler_support;

use edgecnn::compiler::memory::{self, Contents};
use edgecnn::compiler::{compile_with_report, CalibrationMethod, CompileOptions};
use edgecnn::format::model::{Add, Op, PlanModel, Requant, Requantize, Step, TensorDesc};
use edgecnn::runtime::{Plan, Session};
use serde_json::Value;

fn one(multiplier: i32, shift: u8) -> Requant {
    Requant {
        multiplier: vec![multiplier],
        shift: vec![shift],
    }
}

fn t(offset: u32) -> TensorDesc {
    TensorDesc {
        shape: [1, 1, 100],
        offset,
        scale: 0.1,
        zero_point: 0,
    }
}

/// Four 100-byte tensors: `t1 = rq(t0)`, `t2 = rq(t1)`, `t3 = t1 + t2` written in place
/// over `t2`. Lifetimes t0 [0,0], t1 [0,2], t2 [1,2], t3 [2,2].
pub fn chain_plan() -> PlanModel {
    let rq = || {
        Op::Requantize(Requantize {
            requant: one(1 << 30, 30), // × 1
            act_min: -128,
            act_max: 127,
        })
    };
    let add = Op::Add(Add {
        a: one(1 << 30, 31), // a' = (a << 20) / 2
        b: one(1 << 30, 31),
        out: one(1 << 30, 49), // (a' + b') / 2^19
        act_min: -128,
        act_max: 127,
    });
    let step = |op, inputs: Vec<u16>, output| Step {
        op,
        inputs,
        output,
        scratch: (0, 0),
    };
    PlanModel {
        name: "chain with one in-place add".into(),
        tensors: vec![t(0), t(112), t(0), t(0)],
        steps: vec![
            step(rq(), vec![0], 1),
            step(rq(), vec![1], 2),
            step(add, vec![1, 2], 3),
        ],
        input: 0,
        output: 3,
        arena_bytes: 212,
        preprocess: None,
        labels: vec![],
    }
}

#[test]
fn figures_of_a_hand_built_plan() {
    let blob = chain_plan().encode();
    let plan = Plan::parse(&blob).expect("runtime accepts the in-place add");
    let r = memory::plan_report(&plan);
    assert_eq!(r.arena_bytes, 212);
    // step 2: t1 + t2 + t3 alive, each counted
    assert_eq!(r.lower_bound_bytes, 300);
    // t2 and t3 share their bytes
    assert_eq!(r.buffer_lower_bound_bytes, 200);
    // greedy on separate tensors: t0 0, t1 112, t2 0, t3 224
    assert_eq!(r.greedy_bytes, 324);
    assert_eq!(r.naive_bytes, 4 * 112);
    assert_eq!(r.in_place_steps, 1);
    let bufs = memory::plan_buffers(&plan);
    let tensors: Vec<&Contents> = bufs.iter().map(|b| &b.contents).collect();
    assert_eq!(
        tensors,
        [
            &Contents::Tensors(vec![0]),
            &Contents::Tensors(vec![1]),
            &Contents::Tensors(vec![2, 3]),
        ]
    );
    // and it runs
    let mut arena = vec![0u8; plan.arena_bytes()];
    let mut s = Session::new(&plan, &mut arena).unwrap();
    s.set_input(&[3i8; 100]).unwrap();
    s.run().unwrap();
    assert!(s.output().iter().all(|&v| v == 6), "{:?}", s.output());
}

#[test]
fn inspect_shows_the_figures() {
    let dir = cli_support::scratch("memplan_inspect");
    let path = dir.join("chain.plan");
    std::fs::write(&path, chain_plan().encode()).unwrap();
    let run = cli_support::edgecnn(&["inspect", path.to_str().unwrap()]);
    let text = run.ok();
    assert!(
        text.contains("arena 212 B = 0.654 x greedy-by-size 324 B; tensor lower bound 300 B, with in place 200 B (1 steps in place); naive 448 B"),
        "{text}"
    );
    let run = cli_support::edgecnn(&["inspect", path.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(v["arena_bytes"], 212);
    assert_eq!(v["tensor_lower_bound_bytes"], 300);
    assert_eq!(v["greedy_bytes"], 324);
    assert_eq!(v["naive_bytes"], 448);
    assert_eq!(v["buffer_lower_bound_bytes"], 200);
    assert_eq!(v["in_place_steps"], 1);
}

/// On compiled plans the figures read back from the file are the compiler's own.
#[test]
fn plan_file_figures_equal_the_compilers() {
    for name in ["residual", "concat", "lrn"] {
        let path = compiler_support::onnx(name);
        let float = edgecnn::compiler::FloatModel::load(&path, None).unwrap();
        let n: usize = float.input_shape().iter().product();
        let calib: Vec<Vec<f32>> = (0..8).map(|i| compiler_support::normal(i, n)).collect();
        let options = CompileOptions {
            input_shape: None,
            method: CalibrationMethod::DEFAULT,
            preprocess: None,
            labels: vec![],
        };
        let (model, report) = compile_with_report(&path, &calib, &options, &mut |_, _| {}).unwrap();
        let blob = model.encode();
        let plan = Plan::parse(&blob).unwrap();
        let from_file = memory::plan_report(&plan);
        assert_eq!(from_file, report.memory, "{name}");
        let r = from_file;
        assert!(r.buffer_lower_bound_bytes <= r.lower_bound_bytes, "{name}");
        assert!(r.lower_bound_bytes <= r.greedy_bytes, "{name}");
        assert!(r.greedy_bytes <= r.naive_bytes, "{name}");
        assert!(r.arena_bytes <= r.greedy_bytes, "{name}");
        assert!(r.arena_bytes >= r.buffer_lower_bound_bytes, "{name}");
        compiler_support::assert_memory_sound(&model);
    }
}
