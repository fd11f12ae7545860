//! The golden check as QEMU's MPS2 boards run it (`qemu-mps2-an386`: Cortex-M4F,
//! `qemu-mps2-an500`: Cortex-M7), shared by path by both `main.rs` files.
//!
//! For every embedded golden model it parses the plan once, as firmware does at boot (the
//! instructions that took are the `parse=` of its `edgecnn-stat` line), then for every image
//! calls [`classify_parsed`] (what the host and Linux boards' `classify_one` calls after its
//! parse) and prints, through semihosting, one line per image with the class, score, output
//! digest and the instructions the inference took (bind, preprocessing, run, top-1), then
//! one `edgecnn-stat` line per model for `cargo xtask boards`. It returns `Err` when any class or digest differs
//! from the host runtime's.
//!
//! Instructions are counted with SysTick on the core clock. Under `qemu-system-arm -icount
//! shift=0` QEMU's virtual clock advances 1 ns per instruction, and the MPS2 core clock is
//! 25 MHz, so one SysTick tick is 40 instructions; [`calibrate`] measures that ratio at boot
//! with a loop of known length and the firmware prints it. Without `-icount` the counts
//! follow the host's wall clock and mean nothing. The stack high-water mark comes from
//! `stack.rs` (the `main.rs` paints the stack first). Then one `edgecnn-step` line per step
//! of each model's first image (where the instructions go), and `kernel_check.rs` compares
//! the DSP kernels with the reference on random layers.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::{syst::SystClkSource, SCB, SYST};
use cortex_m_rt::exception;
use cortex_m_semihosting::hprintln;

use crate::data::{ARENA_BYTES, MODELS};
use crate::golden::{classify_parsed, digest_on, matches, other_isas};

/// Random layers [`crate::kernel_check::check`] compares on every boot.
const KERNEL_CASES: u32 = 400;

/// Every plan's arena, in `.bss`, sized at build time for the largest embedded plan.
static mut ARENA: [u8; ARENA_BYTES] = [0; ARENA_BYTES];

/// SysTick wraps (every 2^24 ticks).
static WRAPS: AtomicU32 = AtomicU32::new(0);

const RELOAD: u32 = 0x00FF_FFFF;

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Starts SysTick on the core clock, free running, counting wraps.
pub fn start_clock(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Core clock ticks since [`start_clock`].
pub fn ticks() -> u64 {
    loop {
        let wraps = WRAPS.load(Ordering::Acquire);
        let current = SYST::get_current();
        // A wrap between the two reads shows as a changed count: read again.
        // A wrap not yet taken as an exception shows as a pending SysTick: wait for it.
        if WRAPS.load(Ordering::Acquire) == wraps && !SCB::is_pendst_pending() {
            return (u64::from(wraps) << 24) + u64::from(RELOAD - current);
        }
        cortex_m::asm::nop();
    }
}

/// Runs a loop of exactly `2 × n` instructions (`subs`, `bne`) and returns the instructions
/// per SysTick tick it measured, ×1000.
pub fn calibrate(n: u32) -> u64 {
    let start = ticks();
    // SAFETY: a register-only countdown loop; touches no memory.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {n}, {n}, #1",
            "bne 2b",
            n = inout(reg) n => _,
            options(nomem, nostack)
        );
    }
    let took = ticks() - start;
    (2 * u64::from(n) * 1000) / took.max(1)
}

/// Prints one `edgecnn-step` line per step of one inference of `plan` on `pixels`: op,
/// multiply-accumulates (element operations for elementwise ops) and instructions, counted
/// between the end of the step before and the end of this one (a streamed pair runs as
/// one: its first step gets both, the second about none). Prints nothing when the plan
/// does not bind or run (the golden check above reports that).
fn profile(
    board: &str,
    name: &str,
    plan_bytes: &[u8],
    arena: &mut [u8],
    pixels: &[u8],
    instructions: &dyn Fn(u64) -> u64,
) {
    let Ok(plan) = edgecnn::runtime::Plan::parse(plan_bytes) else {
        return;
    };
    let Ok(mut session) = edgecnn::runtime::Session::new(&plan, arena) else {
        return;
    };
    if session.set_input_pixels(pixels).is_err() {
        return;
    }
    let mut last = ticks();
    let _ = session.run_with(|i, _, _| {
        let now = ticks();
        let (op, macs) = plan.step(i).map_or(("?", 0), |s| (s.op, s.macs));
        hprintln!(
            "edgecnn-step board={} model={} step={} op={} macs={} instructions={}",
            board,
            name,
            i,
            op,
            macs,
            instructions(now - last)
        );
        last = ticks();
    });
}

/// Runs every golden model on every embedded image; `Err` if anything differs from the host.
pub fn run_golden(board: &str) -> Result<(), &'static str> {
    let per_tick_x1000 = calibrate(1_000_000);
    hprintln!(
        "edgecnn {}: clock: {}.{:03} instructions per SysTick tick (a 2000000-instruction loop; 40.000 expected under -icount shift=0)",
        board,
        per_tick_x1000 / 1000,
        per_tick_x1000 % 1000
    );
    let instructions = |t: u64| t * per_tick_x1000 / 1000;
    // SAFETY: `run_golden` runs once, from `main`; no interrupt touches ARENA: this is the
    // only reference to it that ever exists.
    let arena: &'static mut [u8] = unsafe { &mut *core::ptr::addr_of_mut!(ARENA) };
    let mut failures = 0u32;
    let mut total = 0u32;
    for model in MODELS {
        let t0 = ticks();
        let parsed = edgecnn::runtime::Plan::parse(model.plan);
        let parse = instructions(ticks() - t0);
        let Ok(plan) = parsed else {
            hprintln!("edgecnn {}: {}: the plan does not parse", board, model.name);
            failures += 1;
            continue;
        };
        let mut sum = 0u64;
        for image in model.images {
            total += 1;
            let t0 = ticks();
            let answer = classify_parsed(&plan, &mut arena[..model.arena_bytes], image.pixels);
            let took = instructions(ticks() - t0);
            sum += took;
            match answer {
                Ok(a) if matches(image, &a) => hprintln!(
                    "edgecnn {}: {} {} label {} class {} score {} digest {:#010x} instructions {} ok",
                    board, model.name, image.name, image.label, a.class.index, a.class.score, a.digest, took
                ),
                Ok(a) => {
                    failures += 1;
                    hprintln!(
                        "edgecnn {}: {} {} label {} class {} score {} digest {:#010x} MISMATCH: host class {} score {} digest {:#010x}",
                        board, model.name, image.name, image.label, a.class.index, a.class.score, a.digest, image.class, image.score, image.digest
                    );
                }
                Err(e) => {
                    failures += 1;
                    hprintln!("edgecnn {}: {} {}: {}", board, model.name, image.name, e);
                }
            }
        }
        let n = model.images.len().max(1) as u64;
        hprintln!(
            "edgecnn-stat board={} model={} plan={} arena={} images={} instructions={} parse={}",
            board,
            model.name,
            model.plan.len(),
            model.arena_bytes,
            model.images.len(),
            sum / n,
            parse
        );
    }
    // Where the instructions go: each model's first image once more, step by step.
    for model in MODELS {
        if let Some(image) = model.images.first() {
            let arena = &mut arena[..model.arena_bytes];
            profile(
                board,
                model.name,
                model.plan,
                arena,
                image.pixels,
                &instructions,
            );
        }
    }
    // The other kernel paths this core has (the reference, when the DSP one ran above) give
    // the host's bytes too: each model's first image on each.
    for isa in other_isas() {
        for model in MODELS {
            let Some(image) = model.images.first() else {
                continue;
            };
            match digest_on(
                isa,
                model.plan,
                &mut arena[..model.arena_bytes],
                image.pixels,
            ) {
                Ok(d) if d == image.digest => hprintln!(
                    "edgecnn {}: {} {} on {:?}: digest {:#010x} ok",
                    board,
                    model.name,
                    image.name,
                    isa,
                    d
                ),
                Ok(d) => {
                    failures += 1;
                    hprintln!(
                        "edgecnn {}: {} {} on {:?}: digest {:#010x} MISMATCH: host {:#010x}",
                        board,
                        model.name,
                        image.name,
                        isa,
                        d,
                        image.digest
                    );
                }
                Err(e) => {
                    failures += 1;
                    hprintln!(
                        "edgecnn {}: {} {} on {:?}: {}",
                        board,
                        model.name,
                        image.name,
                        isa,
                        e
                    );
                }
            }
        }
    }
    hprintln!(
        "edgecnn-stat board={} stack={} arena_static={}",
        board,
        crate::stack::used(),
        ARENA_BYTES
    );
    // The DSP kernels against the reference on random layers (after the stack figure: its
    // buffers are not part of the golden run's footprint).
    let checked = crate::kernel_check::check(KERNEL_CASES);
    let mismatches = checked.mismatches;
    hprintln!(
        "edgecnn-kernels board={} isa={:?} cases={} packed={} mismatches={}",
        board,
        edgecnn::kernels::Isa::best(),
        checked.cases,
        checked.packed,
        mismatches
    );
    if mismatches > 0 {
        hprintln!(
            "edgecnn {}: {} random layers differ from the reference",
            board,
            mismatches
        );
        return Err("kernels differ from the reference");
    }
    if failures > 0 {
        hprintln!(
            "edgecnn {}: {} of {} images differ from the host",
            board,
            failures,
            total
        );
        return Err("outputs differ from the host runtime's");
    }
    hprintln!(
        "edgecnn {}: {} models, {} images: every class and digest matches the host",
        board,
        MODELS.len(),
        total
    );
    Ok(())
}
