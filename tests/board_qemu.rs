//! Builds the `qemu-mps2-an386` firmware (Cortex-M4F, `no_std`, edgecnn without default
//! features) and boots it under QEMU: it must print `edgecnn qemu-mps2-an386: OK` and exit 0.
//!
//! Uses the xtask's own board logic (its files included by path), so this test and
//! `cargo xtask board run qemu-mps2-an386` build and run exactly the same way.
//! Needs `qemu-system-arm` and a thumbv7em toolchain: it fails, saying so, when they are
//! missing (`cargo xtask setup` installs both); it never skips silently.

#[allow(dead_code)]
#[path = "../xtask/src/board.rs"]
mod board;
#[allow(dead_code)]
#[path = "../xtask/src/toolchain.rs"]
mod toolchain;
#[allow(dead_code)]
#[path = "../xtask/src/util.rs"]
mod util;

use std::path::Path;

const BOARD: &str = "qemu-mps2-an386";

#[test]
fn qemu_mps2_an386_boots_and_prints_ok() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let setup_hint = "run `cargo xtask setup` to install QEMU and the cross toolchain";
    let board = board::Board::find(root, BOARD).unwrap_or_else(|e| panic!("{e}"));
    let elf = board
        .build(root)
        .unwrap_or_else(|e| panic!("building the {BOARD} firmware failed: {e}\n({setup_hint})"));
    let outcome = board
        .run(&elf, board::DEFAULT_TIMEOUT)
        .unwrap_or_else(|e| panic!("running {BOARD} under QEMU failed: {e}\n({setup_hint})"));
    let ok_line = board::RunOutcome::ok_line(BOARD);
    assert!(
        outcome.output.lines().any(|l| l.trim() == ok_line),
        "the firmware never printed `{ok_line}`; it printed:\n{}",
        outcome.output
    );
    assert_eq!(
        outcome.code,
        Some(0),
        "QEMU's exit code (the firmware's semihosting exit); output:\n{}",
        outcome.output
    );
}
