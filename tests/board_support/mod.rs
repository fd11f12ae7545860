//! Shared by the board tests (`tests/board_*.rs`, `tests/targets_*.rs`): builds a board with
//! every golden model of `tests/data/golden` embedded (its `build.rs` reads them), runs it
//! under its runner (QEMU) and checks that it reports every class and output digest equal to
//! the host runtime's (`expected.bin`, itself checked by `tests/board_golden.rs`), prints its
//! OK line and exits 0.
//!
//! Each test crate includes, at its root and by path, the xtask's board logic (`board`,
//! `toolchain`, `util`), so the tests build and run exactly like `cargo xtask board run`.

use crate::board;
use std::path::Path;

/// Builds and runs `board_name`; panics (never skips) when QEMU or the cross toolchain is
/// missing or any answer differs from the host's.
pub fn run_board_golden(board_name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let setup_hint = "run `cargo xtask setup` to install QEMU and the cross toolchains";
    let board = board::Board::find(root, board_name).unwrap_or_else(|e| panic!("{e}"));
    let elf = board.build(root, None).unwrap_or_else(|e| {
        panic!("building the {board_name} firmware failed: {e}\n({setup_hint})")
    });
    let outcome = board
        .run(&elf, board::DEFAULT_TIMEOUT)
        .unwrap_or_else(|e| panic!("running {board_name} failed: {e}\n({setup_hint})"));
    let matched = outcome
        .output
        .lines()
        .any(|l| l.contains("every class and digest matches the host"));
    assert!(
        matched,
        "{board_name} did not match the host's golden outputs; it printed:\n{}",
        outcome.output
    );
    assert!(
        outcome.passed(board_name),
        "{board_name} never printed `{}` with exit code 0 (code {:?}); it printed:\n{}",
        board::RunOutcome::ok_line(board_name),
        outcome.code,
        outcome.output
    );
    println!("{board_name}: golden check OK");
}
