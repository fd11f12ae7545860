//! Stack high-water measurement for the Cortex-M boards (cortex-m-rt's memory layout),
//! shared by path by every firmware `main.rs`: [`paint`] first thing in `main`, [`used`]
//! after the work. The stack grows down from the end of RAM towards the end of the statics.

extern "C" {
    /// End of `.bss`/`.uninit` (cortex-m-rt): the stack may grow down to here.
    static __sheap: u32;
    /// Top of the stack (cortex-m-rt: the end of RAM).
    static _stack_start: u32;
}

/// The word written over the unused stack.
const PAINT: u32 = 0x5EED_F00D;

/// Fills the unused stack (from the end of the statics up to 256 bytes below the current
/// stack pointer) with a pattern, to measure the high-water mark later with [`used`].
pub fn paint() {
    let bottom = core::ptr::addr_of!(__sheap) as usize;
    let limit = cortex_m::register::msp::read() as usize - 256;
    let mut p = bottom.next_multiple_of(4);
    while p < limit {
        // SAFETY: [__sheap, sp - 256) is RAM no live object occupies (below the stack).
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack used so far (top of RAM down to the lowest word not holding the pattern).
pub fn used() -> usize {
    let bottom = core::ptr::addr_of!(__sheap) as usize;
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let mut p = bottom.next_multiple_of(4);
    // SAFETY: reads of RAM inside [__sheap, _stack_start).
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    top - p
}
