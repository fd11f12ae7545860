//! The runtime on 64-bit ARM Linux (Raspberry Pi), under `qemu-aarch64-static`, bit-exact
//! with the host: the `linux-aarch64` board runs the same small plan on the same input as the
//! host and must print the same output digest and top-1 class, then
//! `edgecnn linux-aarch64: OK`, and exit 0. See `board_support`.
//! Needs qemu-user-static, gcc-aarch64-linux-gnu and an aarch64 toolchain: when they are
//! missing it fails, saying to run `cargo xtask setup`; it never skips silently.

// The xtask's board logic and the firmware's input/digest code, shared by path.
#[allow(dead_code)]
#[path = "../xtask/src/board.rs"]
mod board;
#[allow(dead_code)]
#[path = "../boards/qemu-mps2-an386/src/check.rs"]
mod check;
#[allow(dead_code)]
#[path = "../xtask/src/toolchain.rs"]
mod toolchain;
#[allow(dead_code)]
#[path = "../xtask/src/util.rs"]
mod util;

mod board_support;

#[test]
fn linux_aarch64_runs_a_plan_bit_exact_with_the_host() {
    board_support::run_board_bit_exact("linux-aarch64");
}
