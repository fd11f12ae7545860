//! The runtime on 64-bit ARM Linux (Raspberry Pi), under `qemu-aarch64-static`: the
//! `linux-aarch64` board runs every golden model (`tests/data/golden`) on its test images
//! and must report every class and output digest equal to the host runtime's, then
//! `edgecnn linux-aarch64: OK`, exit 0. See `board_support`. Needs qemu-user-static,
//! gcc-aarch64-linux-gnu and an aarch64 toolchain: when missing it fails, saying to run
//! `cargo xtask setup`; it never skips.

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
fn linux_aarch64_matches_every_golden_output() {
    board_support::run_board_golden("linux-aarch64");
}
