//! The `qemu-mps2-an386` firmware (Cortex-M4F, `no_std`, edgecnn without default features)
//! under `qemu-system-arm`, bit-exact with the host.
//!
//! The test encodes a small plan on the host (conv 3×3 + ReLU → max pool → add →
//! fully connected → softmax, weights from a fixed seed), builds the firmware with that plan
//! embedded in flash and its arena in a `static`, boots it, and checks that it prints the
//! same output digest and top-1 class as the host runtime, then
//! `edgecnn qemu-mps2-an386: OK`, and exits 0 (semihosting). See `board_support`.
//! Needs `qemu-system-arm` and a thumbv7em toolchain: when they are missing it fails, saying
//! to run `cargo xtask setup`; it never skips silently.

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
fn qemu_mps2_an386_runs_a_plan_bit_exact_with_the_host() {
    board_support::run_board_bit_exact("qemu-mps2-an386");
}
