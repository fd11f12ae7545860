//! The Cortex-M firmware boards under `qemu-system-arm`: `qemu-mps2-an386` (Cortex-M4F) and
//! `qemu-mps2-an500` (Cortex-M7) run every golden model (`tests/data/golden`) on its test
//! images from flash, with the arena a `static`, and must report every class and output
//! digest equal to the host runtime's, then `edgecnn <board>: OK`, exit code 0
//! (semihosting). See `board_support`. Needs `qemu-system-arm` and a thumbv7em toolchain:
//! when they are missing it fails, saying to run `cargo xtask setup`; it never skips.

// The xtask's board logic and the firmware's input/digest code, shared by path.
#[allow(dead_code)]
#[path = "../xtask/src/board.rs"]
mod board;
#[allow(dead_code)]
#[path = "../xtask/src/toolchain.rs"]
mod toolchain;
#[allow(dead_code)]
#[path = "../xtask/src/util.rs"]
mod util;

mod board_support;

#[test]
fn qemu_mps2_an386_matches_every_golden_output() {
    board_support::run_board_golden("qemu-mps2-an386");
}

#[test]
fn qemu_mps2_an500_matches_every_golden_output() {
    board_support::run_board_golden("qemu-mps2-an500");
}
