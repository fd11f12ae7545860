//! edgecnn on Nordic's nRF52840 DK (Cortex-M4F at 64 MHz): runs every golden model embedded
//! by `build.rs` on its test images (all in flash, the arena a `static`) through the same
//! `classify_one` as the host and the QEMU boards, and
//!
//! * logs class, score, output digest and CPU cycles (DWT `CYCCNT`) per image over RTT with
//!   defmt (`probe-rs run` decodes it on the host);
//! * blinks LED1 `class + 1` times per image (embedded-hal `OutputPin` + `DelayNs`);
//! * at the end lights LED2 when every answer equals the host runtime's (and logs
//!   `edgecnn nrf52840-dk: OK`), LED4 when any differs;
//! * with a debugger attached, ends `probe-rs run` through semihosting with exit code 0 (all
//!   equal) or 1; without one it stays in a low-power wait with the LEDs showing the result.

#![no_std]
#![no_main]

#[path = "../../common/golden.rs"]
mod golden;
mod signal;
#[path = "../../common/stack.rs"]
mod stack;
mod data {
    use crate::golden::{GoldenImage, GoldenModel};
    include!(concat!(env!("OUT_DIR"), "/golden.rs"));
}

use cortex_m::peripheral::{DCB, DWT};
use cortex_m_semihosting::debug;
use defmt_rtt as _;
use embedded_hal::{delay::DelayNs, digital::OutputPin};
use nrf52840_hal::{self as hal, gpio::Level, pac};

use crate::data::{ARENA_BYTES, MODELS};
use crate::golden::{classify_one, matches, ClassifyError};
use crate::signal::Led;

/// The board's name, as printed in every line.
const BOARD: &str = "nrf52840-dk";

/// The nRF52840's CPU clock (HCLK64M).
const CPU_HZ: u32 = 64_000_000;

/// Every plan's arena, in `.bss`, sized at build time for the largest embedded plan.
static mut ARENA: [u8; ARENA_BYTES] = [0; ARENA_BYTES];

#[cortex_m_rt::entry]
fn main() -> ! {
    stack::paint();
    let mut core = cortex_m::Peripherals::take().expect("taken once at boot");
    let p = pac::Peripherals::take().expect("taken once at boot");
    // The 32 MHz crystal instead of the internal RC oscillator: the CPU runs at 64 MHz
    // either way, the crystal keeps it there to 40 ppm, so cycles convert to time exactly.
    let _clocks = hal::clocks::Clocks::new(p.CLOCK).enable_ext_hfosc();
    core.DCB.enable_trace();
    core.DWT.enable_cycle_counter();
    let port0 = hal::gpio::p0::Parts::new(p.P0);
    // The DK's LEDs (LED1..LED4 on P0.13..P0.16) light when their pin is low.
    let mut class_led = Led::new(port0.p0_13.into_push_pull_output(Level::High), true);
    let mut ok_led = Led::new(port0.p0_14.into_push_pull_output(Level::High), true);
    let mut fail_led = Led::new(port0.p0_16.into_push_pull_output(Level::High), true);
    let mut delay = hal::Timer::new(p.TIMER0);

    defmt::info!(
        "edgecnn {=str}: booted (nRF52840, Cortex-M4F at {=u32} Hz)",
        BOARD,
        CPU_HZ
    );
    let passed = run_golden(&mut class_led, &mut delay);
    let lit = if passed {
        defmt::info!("edgecnn {=str}: OK", BOARD);
        ok_led.on()
    } else {
        defmt::error!("edgecnn {=str}: FAILED", BOARD);
        fail_led.on()
    };
    if lit.is_err() {
        defmt::warn!("could not light the result LED");
    }
    finish(passed)
}

/// Runs every golden model on every embedded image, logs and blinks each answer, and returns
/// whether every class and output digest equals the host runtime's.
fn run_golden<P: OutputPin>(led: &mut Led<P>, delay: &mut impl DelayNs) -> bool {
    // SAFETY: `run_golden` runs once, from `main`; no interrupt touches ARENA: this is the
    // only reference to it that ever exists.
    let arena: &'static mut [u8] = unsafe { &mut *core::ptr::addr_of_mut!(ARENA) };
    let mut failures = 0u32;
    let mut total = 0u32;
    for model in MODELS {
        let t0 = DWT::cycle_count();
        let parsed = edgecnn::runtime::Plan::parse(model.plan);
        let parse = DWT::cycle_count().wrapping_sub(t0);
        if let Err(e) = parsed {
            defmt::error!("{=str}: the plan does not parse: {}", model.name, e);
            failures += 1;
            continue;
        }
        let mut sum = 0u64;
        for image in model.images {
            total += 1;
            let t0 = DWT::cycle_count();
            let answer = classify_one(model.plan, &mut arena[..model.arena_bytes], image.pixels);
            // CYCCNT wraps after 2^32 cycles (67 s at 64 MHz), far above one inference.
            let cycles = DWT::cycle_count().wrapping_sub(t0);
            sum += u64::from(cycles);
            match answer {
                Ok(a) if matches(image, &a) => {
                    defmt::info!(
                        "{=str} {=str} label {=u16} class {=u16} score {=i8} digest {=u32:#010x} cycles {=u32} ({=u32} us) ok",
                        model.name,
                        image.name,
                        image.label,
                        a.class.index,
                        a.class.score,
                        a.digest,
                        cycles,
                        cycles / (CPU_HZ / 1_000_000)
                    );
                    if led.show_class(delay, a.class.index).is_err() {
                        defmt::warn!("could not blink the class LED");
                    }
                }
                Ok(a) => {
                    failures += 1;
                    defmt::error!(
                        "{=str} {=str} class {=u16} score {=i8} digest {=u32:#010x} MISMATCH: host class {=u16} score {=i8} digest {=u32:#010x}",
                        model.name,
                        image.name,
                        a.class.index,
                        a.class.score,
                        a.digest,
                        image.class,
                        image.score,
                        image.digest
                    );
                }
                Err(e) => {
                    failures += 1;
                    log_error(model.name, image.name, e);
                }
            }
        }
        let n = model.images.len().max(1) as u64;
        defmt::info!(
            "edgecnn-stat board={=str} model={=str} plan={=usize} arena={=usize} images={=usize} cycles={=u64} parse={=u32}",
            BOARD,
            model.name,
            model.plan.len(),
            model.arena_bytes,
            model.images.len(),
            sum / n,
            parse
        );
    }
    defmt::info!(
        "edgecnn-stat board={=str} stack={=usize} arena_static={=usize}",
        BOARD,
        stack::used(),
        ARENA_BYTES
    );
    if failures > 0 {
        defmt::error!("{=u32} of {=u32} images differ from the host", failures, total);
        return false;
    }
    defmt::info!(
        "{=usize} models, {=u32} images: every class and digest matches the host",
        MODELS.len(),
        total
    );
    true
}

/// Logs a failed `classify_one` with the runtime's own error (defmt::Format from edgecnn's
/// `defmt` feature).
fn log_error(model: &str, image: &str, e: ClassifyError) {
    match e {
        ClassifyError::Parse(e) => defmt::error!("{=str} {=str}: Plan::parse: {}", model, image, e),
        ClassifyError::Bind(e) => {
            defmt::error!("{=str} {=str}: Classifier::new: {}", model, image, e)
        }
        ClassifyError::Run(e) => defmt::error!("{=str} {=str}: classify_pixels: {}", model, image, e),
        ClassifyError::NoClass => defmt::error!("{=str} {=str}: the output is empty", model, image),
    }
}

/// Ends the run: through semihosting when a debugger is attached (so `probe-rs run` exits
/// with the result), else waits forever with the LEDs showing it. A semihosting call without
/// a debugger would stop the core with a HardFault, hence the check.
fn finish(passed: bool) -> ! {
    if DCB::is_debugger_attached() {
        debug::exit(if passed {
            debug::EXIT_SUCCESS
        } else {
            debug::EXIT_FAILURE
        });
    }
    loop {
        cortex_m::asm::wfi();
    }
}

/// Logs the panic over RTT and ends the run as a failure.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("edgecnn {=str}: PANIC: {}", BOARD, defmt::Display2Format(info));
    finish(false)
}
