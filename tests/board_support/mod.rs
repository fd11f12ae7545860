//! Shared by the board tests (`tests/board_*.rs`, `tests/targets_*.rs`): a small plan encoded
//! on the host, the host runtime's result on it, and one function that builds a board with
//! that plan embedded, runs it and checks it is bit-exact with the host.
//!
//! Each test crate includes, at its root and by path, the xtask's board logic (`board`,
//! `toolchain`, `util`) and the firmware's input/digest code (`check`): declared in each
//! test file. So the tests build and run exactly like `cargo xtask board run <board> --plan FILE`.

use crate::{board, check, util};
use std::path::Path;

use edgecnn::format::model::*;
use edgecnn::runtime::{Plan, Session};

/// A fixed-seed generator for weights.
struct Lcg(u32);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        self.0
    }
    fn i8s(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| (self.next() >> 16) as u8 as i8).collect()
    }
    fn i32s(&mut self, n: usize, span: i32) -> Vec<i32> {
        (0..n)
            .map(|_| (self.next() >> 8) as i32 % span - span / 2)
            .collect()
    }
}

fn requant(m: f64, n: usize) -> Requant {
    let (multiplier, shift) = quantize_multiplier(m);
    Requant {
        multiplier: vec![multiplier; n],
        shift: vec![shift; n],
    }
}

/// `[12, 12, 3]` → conv 3×3 pad 1 + ReLU `[12, 12, 8]` → max pool 2×2 `[6, 6, 8]` →
/// add (x + x) → fully connected `[1, 1, 10]` → softmax.
pub fn test_plan() -> PlanModel {
    let mut rng = Lcg(2024);
    let shapes: [([u32; 3], i8, f32); 6] = [
        ([12, 12, 3], -3, 0.02),
        ([12, 12, 8], -128, 0.05),
        ([6, 6, 8], -128, 0.05),
        ([6, 6, 8], -128, 0.1),
        ([1, 1, 10], 5, 0.2),
        ([1, 1, 10], -128, 1.0 / 256.0),
    ];
    let mut offset = 0;
    let tensors: Vec<TensorDesc> = shapes
        .iter()
        .map(|&(shape, zero_point, scale)| {
            let t = TensorDesc {
                shape,
                offset,
                scale,
                zero_point,
            };
            offset += (t.len() as u32).div_ceil(16) * 16;
            t
        })
        .collect();
    let step = |op, inputs: Vec<u16>, output| Step {
        op,
        inputs,
        output,
        scratch: (0, 0),
    };
    let s_fc_in = 0.1f32;
    let steps = vec![
        step(
            Op::Conv2d(Conv2d {
                kernel: [3, 3],
                stride: [1, 1],
                dilation: [1, 1],
                pad: [1, 1],
                groups: 1,
                weights: rng.i8s(8 * 3 * 3 * 3),
                bias: rng.i32s(8, 4000),
                requant: requant(0.02 * 0.01 / 0.05, 8),
                act_min: -128,
                act_max: 127,
            }),
            vec![0],
            1,
        ),
        step(
            Op::MaxPool(Pool {
                kernel: [2, 2],
                stride: [2, 2],
                pad: [0, 0],
                act_min: -128,
                act_max: 127,
            }),
            vec![1],
            2,
        ),
        step(
            Op::Add(Add {
                a: requant(0.5, 1),
                b: requant(0.5, 1),
                out: requant(0.05 / 0.1, 1),
                act_min: -128,
                act_max: 127,
            }),
            vec![2, 2],
            3,
        ),
        step(
            Op::FullyConnected(FullyConnected {
                weights: rng.i8s(10 * 6 * 6 * 8),
                bias: rng.i32s(10, 20000),
                requant: requant(f64::from(s_fc_in) * 0.01 / 0.2, 10),
                act_min: -128,
                act_max: 127,
            }),
            vec![3],
            4,
        ),
        step(
            Op::Softmax(Softmax {
                exp_lut: core::array::from_fn(|d| {
                    ((-(d as f64) * 0.2).exp() * f64::from(1u32 << 20)).round() as u32
                }),
            }),
            vec![4],
            5,
        ),
    ];
    PlanModel {
        name: "board test plan".into(),
        tensors,
        steps,
        input: 0,
        output: 5,
        arena_bytes: offset,
        preprocess: None,
        labels: (0..10).map(|i| format!("class {i}")).collect(),
    }
}

/// Runs the plan with the host runtime on the firmware's input; returns the line the
/// firmware must print.
pub fn host_result(board: &str, blob: &[u8]) -> String {
    let plan = Plan::parse(blob).expect("the test plan parses on the host");
    let mut arena = vec![0u8; plan.arena_bytes()];
    let mut session = Session::new(&plan, &mut arena).expect("arena fits");
    check::fill_input(session.input_mut());
    session.run().expect("the test plan runs on the host");
    check::result_line(board, plan.num_steps(), session.output()).to_string()
}

/// Encodes [`test_plan`], builds `board` with it embedded, runs it under its runner (QEMU)
/// and asserts that it prints the host's result line and its OK line and exits 0.
/// Fails (never skips) when QEMU or the cross toolchain is missing.
pub fn run_board_bit_exact(board_name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let setup_hint = "run `cargo xtask setup` to install QEMU and the cross toolchains";

    let blob = test_plan().encode();
    let expected = host_result(board_name, &blob);
    let plan_dir = util::cross_target_dir(root).join("board-plans");
    std::fs::create_dir_all(&plan_dir).expect("create the plan folder");
    let plan_file = plan_dir.join(format!("{board_name}-test.plan"));
    std::fs::write(&plan_file, &blob).expect("write the test plan");

    let board = board::Board::find(root, board_name).unwrap_or_else(|e| panic!("{e}"));
    let elf = board.build(root, Some(&plan_file)).unwrap_or_else(|e| {
        panic!("building the {board_name} firmware failed: {e}\n({setup_hint})")
    });
    let outcome = board
        .run(&elf, board::DEFAULT_TIMEOUT)
        .unwrap_or_else(|e| panic!("running {board_name} failed: {e}\n({setup_hint})"));

    let printed = |line: &str| outcome.output.lines().any(|l| l.trim() == line);
    assert!(
        printed(&expected),
        "{board_name}'s result differs from the host's.\nhost:     {expected}\n{board_name} printed:\n{}",
        outcome.output
    );
    let ok_line = board::RunOutcome::ok_line(board_name);
    assert!(
        printed(&ok_line),
        "{board_name} never printed `{ok_line}`; it printed:\n{}",
        outcome.output
    );
    assert_eq!(
        outcome.code,
        Some(0),
        "{board_name}'s exit code (through QEMU); output:\n{}",
        outcome.output
    );
}
