//! edgecnn on QEMU's MPS2 AN386 machine (Cortex-M4F): boots, exercises the `no_std`,
//! allocation-free edgecnn runtime, prints `edgecnn qemu-mps2-an386: OK` through semihosting
//! and exits with code 0. Any failure (a check or a panic) prints what went wrong and exits
//! with code 1, so `cargo xtask board run qemu-mps2-an386` and `tests/board_qemu.rs` see it.
//!
//! With an embedded plan (see `build.rs`), it parses the plan in place,
//! binds it to a `static` arena of exactly the size the plan asks for, runs it on the embedded
//! image (or a fixed pseudo-random input) and prints a digest of the output and the top-1
//! class, which the host test compares with the host's.

#![no_std]
#![no_main]

mod check;
mod plan {
    include!(concat!(env!("OUT_DIR"), "/plan.rs"));
}

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use edgecnn::runtime::{Plan, Session};

/// The board's name, as printed in the closing line.
const BOARD: &str = "qemu-mps2-an386";

/// The plan's arena, in `.bss` (the caller owns every byte the runtime touches).
static mut ARENA: [u8; plan::ARENA_BYTES] = [0; plan::ARENA_BYTES];

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
fn run() -> Result<(), &'static str> {
    // The plan checksum, computed on the device with the same code as on the host.
    let input = core::hint::black_box(b"123456789");
    if edgecnn::format::crc32::crc32(input) != 0xCBF4_3926 {
        return Err("format::crc32 gave a wrong check value");
    }

    let Some(blob) = plan::PLAN else {
        hprintln!(
            "edgecnn {}: no plan embedded (run one: `cargo xtask board run {} --plan FILE`)",
            BOARD,
            BOARD
        );
        return Ok(());
    };
    let plan = match Plan::parse(blob) {
        Ok(p) => p,
        Err(e) => {
            hprintln!("edgecnn {}: Plan::parse: {}", BOARD, e);
            hprintln!(
                "edgecnn {}: (a stale assets/model.plan? regenerate it: `cargo xtask board plan {}`)",
                BOARD,
                BOARD
            );
            return Err("the embedded plan does not parse");
        }
    };
    hprintln!(
        "edgecnn {}: plan parsed: {} bytes, {} steps, arena {} bytes",
        BOARD,
        blob.len(),
        plan.num_steps(),
        plan.arena_bytes()
    );
    // SAFETY: `run` is called once, from `main`, with interrupts unused: this is the only
    // reference to ARENA that ever exists.
    let arena: &'static mut [u8] = unsafe { &mut *core::ptr::addr_of_mut!(ARENA) };
    let mut session = match Session::new(&plan, arena) {
        Ok(s) => s,
        Err(e) => {
            hprintln!("edgecnn {}: Session::new: {}", BOARD, e);
            return Err("cannot bind the plan to the arena");
        }
    };
    match plan::INPUT_PIXELS {
        Some((name, pixels)) => {
            hprintln!("edgecnn {}: input: {}", BOARD, name);
            if let Err(e) = session.set_input_pixels(pixels) {
                hprintln!("edgecnn {}: Session::set_input_pixels: {}", BOARD, e);
                return Err("the embedded pixels do not fit the plan's input");
            }
        }
        None => check::fill_input(session.input_mut()),
    }
    if let Err(e) = session.run() {
        hprintln!("edgecnn {}: Session::run: {}", BOARD, e);
        return Err("the plan failed to run");
    }
    hprintln!(
        "{}",
        check::result_line(BOARD, plan.num_steps(), session.output())
    );
    if let Some(label) = check::argmax(session.output()).and_then(|k| plan.label(k)) {
        hprintln!("edgecnn {}: top-1: {}", BOARD, label);
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
