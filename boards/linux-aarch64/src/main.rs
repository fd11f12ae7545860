//! edgecnn on 64-bit ARM Linux (Raspberry Pi; here under `qemu-aarch64-static`): runs the
//! embedded plan (see `build.rs`) on the same fixed input as the Cortex-M firmware, prints
//! the output digest (which the host tests compare with the host's) and
//! `edgecnn linux-aarch64: OK`, exits 0. Any failure prints what went wrong and exits 1.

#[path = "../../qemu-mps2-an386/src/check.rs"]
mod check;
mod plan {
    include!(concat!(env!("OUT_DIR"), "/plan.rs"));
}

use std::process::ExitCode;

use edgecnn::runtime::{Plan, Session};

/// The board's name, as printed in the closing line.
const BOARD: &str = "linux-aarch64";

fn main() -> ExitCode {
    println!("edgecnn {BOARD}: started ({})", std::env::consts::ARCH);
    match run() {
        Ok(()) => {
            println!("edgecnn {BOARD}: OK");
            ExitCode::SUCCESS
        }
        Err(what) => {
            println!("edgecnn {BOARD}: FAILED: {what}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    if edgecnn::format::crc32::crc32(std::hint::black_box(b"123456789")) != 0xCBF4_3926 {
        return Err("format::crc32 gave a wrong check value".into());
    }
    let Some(blob) = plan::PLAN else {
        println!(
            "edgecnn {BOARD}: no plan embedded (run one: `cargo xtask board run {BOARD} --plan FILE`)"
        );
        return Ok(());
    };
    let plan = Plan::parse(blob).map_err(|e| format!("Plan::parse: {e}"))?;
    println!(
        "edgecnn {BOARD}: plan parsed: {} bytes, {} steps, arena {} bytes",
        blob.len(),
        plan.num_steps(),
        plan.arena_bytes()
    );
    // The caller owns the arena; on Linux a heap buffer of the size in the plan header.
    let mut arena = vec![0u8; plan::ARENA_BYTES];
    let mut session = Session::new(&plan, &mut arena).map_err(|e| format!("Session::new: {e}"))?;
    check::fill_input(session.input_mut());
    session.run().map_err(|e| format!("Session::run: {e}"))?;
    println!(
        "{}",
        check::result_line(BOARD, plan.num_steps(), session.output())
    );
    Ok(())
}
