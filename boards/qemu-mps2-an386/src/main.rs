//! edgecnn on QEMU's MPS2 AN386 machine (Cortex-M4F): boots, exercises the `no_std` edgecnn
//! library, prints `edgecnn qemu-mps2-an386: OK` through semihosting and exits with code 0.
//! Any failure (a check or a panic) prints what went wrong and exits with code 1, so
//! `cargo xtask board run qemu-mps2-an386` and `tests/board_qemu.rs` see it.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

/// The board's name, as printed in the closing line.
const BOARD: &str = "qemu-mps2-an386";

#[entry]
fn main() -> ! {
    hprintln!("edgecnn {}: booted", BOARD);
    match run() {
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

/// The checks this firmware runs on the device.
///
/// TODO(board): once `edgecnn::runtime::Plan` and `Session` land, embed a plan compiled ahead
/// of time (build.rs, from `models/`), parse it, run it on an embedded test image in a
/// `static` arena and compare the top-1 class with the host's answer.
fn run() -> Result<(), &'static str> {
    // The plan checksum, computed on the device with the same code as on the host.
    let input = core::hint::black_box(b"123456789");
    if edgecnn::format::crc32::crc32(input) != 0xCBF4_3926 {
        return Err("format::crc32 gave a wrong check value");
    }
    Ok(())
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
