//! edgecnn on QEMU's MPS2 AN500 machine (Cortex-M7): runs every golden model embedded by
//! `build.rs` on its test images (all in flash, the arena a `static`), prints class, score,
//! output digest and instructions per image through semihosting, and exits with code 0 only
//! when every answer matches the host runtime's (`edgecnn qemu-mps2-an500: OK`); any
//! mismatch, error or panic exits with code 1. The logic is `boards/common/mps2.rs`, shared
//! with the Cortex-M4F board; the classify call is `boards/common/golden.rs`.

#![no_std]
#![no_main]

// classify_one goes unused: this board parses each plan once and calls classify_parsed.
#[allow(dead_code)]
#[path = "../../common/golden.rs"]
mod golden;
#[path = "../../common/kernel_check.rs"]
mod kernel_check;
#[path = "../../common/mps2.rs"]
mod mps2;
#[path = "../../common/stack.rs"]
mod stack;
mod data {
    use crate::golden::{GoldenImage, GoldenModel};
    include!(concat!(env!("OUT_DIR"), "/golden.rs"));
}

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

/// The board's name, as printed in every line.
const BOARD: &str = "qemu-mps2-an500";

#[entry]
fn main() -> ! {
    stack::paint();
    let core = cortex_m::Peripherals::take().expect("taken once");
    mps2::start_clock(core.SYST);
    hprintln!("edgecnn {}: booted (Cortex-M7)", BOARD);
    match mps2::run_golden(BOARD) {
        Ok(()) => {
            hprintln!("edgecnn {}: OK", BOARD);
            debug::exit(debug::EXIT_SUCCESS);
        }
        Err(what) => {
            hprintln!("edgecnn {}: FAILED: {}", BOARD, what);
            debug::exit(debug::EXIT_FAILURE);
        }
    }
    // Only reached when semihosting is off (real hardware without a debugger).
    loop {
        cortex_m::asm::wfi();
    }
}

/// Reports a panic through semihosting and exits QEMU with a failure code.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("edgecnn {}: PANIC: {}", BOARD, info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::udf();
    }
}
