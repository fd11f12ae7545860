//! Residual Add on the Cortex-M DSP extension (Armv7E-M): 11 instructions per element
//! (13 with a lower bound, a ReLU; 15 with both bounds), against about 30 for the
//! reference on the M4.
//!
//! [`reference::add_into`](super::reference::add_into) rescales each input
//! (`a' = requantize((a − zp_a) << 20, m_a, s_a)`, through a 256-entry table when the Add is
//! large), adds them saturating at the i32 range and requantises the sum. This looks both
//! rescales up in 256-entry tables (the same values as the reference's, stepped by
//! [`rescale_table_into`]), adds them (the tables' extremes are checked first: when their
//! sum could saturate, the reference runs instead) and requantises the sum with `SMMLA`:
//!
//! For an output shift `s` in `33..=54`, `requantize(v, m, s) + zp` (no saturation for
//! `s ≥ 32`: the value is below 2^31 in magnitude) is `⌊(v·m + 2^(s−1) + zp·2^s) / 2^s⌋`.
//! With `c = 2^(s−33) + zp·2^(s−32)` that numerator is `v·m + c·2^32` (the low word of the
//! constant is 0 for `s ≥ 33`), and `SMMLA r, v, m, c` gives its upper word
//! `c + ⌊v·m / 2^32⌋` exactly, which stays inside i32 (`|c| ≤ 2^21 + 2^29`,
//! `|⌊v·m / 2^32⌋| ≤ 2^30` for `s ≤ 54`); floors compose, so `ASR` by `s − 32` finishes it.
//! `SSAT` to int8 then changes nothing for the int8 clamp that follows (`SSUB8`/`SEL`, as in
//! [`dsp_gemm`](super::dsp_gemm)). Other output shifts run on the reference. The constant
//! is [`AddOutRequant`]'s, whose tests check this argument on the host at the rounding ties
//! (values one below, at and one above each tie), which random data almost never reaches.
#![allow(unsafe_code)]

use core::arch::asm;

use super::{reference, AddParams, Clamp, KernelError, Operand, Out};
use crate::format::math::{rescale_table_into, AddOutRequant};

/// [`reference::add_into`] on the DSP extension: same contract, errors and bytes.
pub(super) fn add_into(
    a: Operand<'_>,
    b: Operand<'_>,
    y: Out<'_>,
    p: &AddParams,
) -> Result<(), KernelError> {
    let (m, s) = (p.out.0, p.out.1.clamp(1, 62));
    if y.shape.len() != Some(y.data.len())
        || !a.fits(&y)
        || !b.fits(&y)
        || !(33..=54).contains(&s)
        || y.data.len() < MIN_LEN
    {
        return reference::add_into(a, b, y, p); // its error, or its arithmetic
    }
    let mut tables = [[0i32; 256]; 2];
    let [ta, tb] = &mut tables;
    let ra = rescale_table_into(ta, a.zero_point(), p.a.0, p.a.1);
    let rb = rescale_table_into(tb, b.zero_point(), p.b.0, p.b.1);
    // The sum of two entries must not saturate (the reference's add saturates).
    let (lo, hi) = (ra.0 as i64 + rb.0 as i64, ra.1 as i64 + rb.1 as i64);
    if hi > i32::MAX as i64 || lo < i32::MIN as i64 {
        return reference::add_into(a, b, y, p);
    }
    // The folded constant and its exactness argument: `format::math`, tested there on the
    // host at the rounding ties.
    let Some(f) = AddOutRequant::new(m, s, y.zero_point) else {
        return reference::add_into(a, b, y, p);
    };
    let step = Step {
        m: f.m,
        c: f.c,
        sh: f.sh,
        clamp: p.clamp,
    };
    let len = y.data.len();
    let out = y.data.as_mut_ptr();
    // An `Operand::Output` input reads the output buffer itself (each element before it is
    // overwritten: the loop loads an element's inputs before it stores it).
    let src = |o: &Operand<'_>| match o {
        Operand::Tensor(t) => t.data.as_ptr(),
        Operand::Output { .. } => out.cast_const(),
    };
    // SAFETY: `len ≥ MIN_LEN ≥ 1`; the inputs are `len` bytes each (`fits`: a tensor's
    // data is its shape's length, which is the output's) or the output itself, which is
    // `len` bytes; `tables` holds 512 words.
    unsafe { add_all(src(&a), src(&b), out, len, tables.as_ptr().cast(), &step) };
    Ok(())
}

/// Elements from which the tables (512 requantisations) pay for themselves.
const MIN_LEN: usize = 256;

/// The output requantisation of [`add_all`] (see the module doc).
struct Step {
    m: i32,
    c: i32,
    sh: u32,
    clamp: Clamp,
}

/// One element of [`add_quads`]' loop into `$dst`: its two bytes, their table entries,
/// their sum requantised (`SMMLA`, `ASR`) and saturated to int8 (8 instructions).
macro_rules! add_element {
    ($dst:literal) => {
        concat!(
            "ldrb {x}, [{a}], #1\n",
            "ldrb {z}, [{b}], #1\n",
            "ldr {x}, [{ta}, {x}, lsl #2]\n",
            "ldr {z}, [{tb}, {z}, lsl #2]\n",
            "add {x}, {x}, {z}\n",
            "smmla {x}, {x}, {m}, {c}\n",
            "asr {x}, {x}, {sh}\n",
            "ssat ",
            $dst,
            ", #8, {x}\n",
        )
    };
}

/// [`add_quads`]' loop: 4 elements into the bytes of `{out}` (`BFI`), `$clamp` on all four
/// lanes at once, one `STR`: 38 instructions a quad, 41 with a lower bound (against 44
/// and 52 one by one).
macro_rules! quad_loop {
    ($clamp:expr) => {
        concat!(
            "2:\n",
            add_element!("{out}"),
            add_element!("{x}"),
            "bfi {out}, {x}, #8, #8\n",
            add_element!("{x}"),
            "bfi {out}, {x}, #16, #8\n",
            add_element!("{x}"),
            "bfi {out}, {x}, #24, #8\n",
            $clamp,
            "str {out}, [{y}], #4\n",
            "subs {n}, {n}, #1\n",
            "bne 2b\n",
        )
    };
}

/// [`add_all`]'s first `4 * quads` elements, four a loop turn, for a clamp without an upper
/// bound (its lower bound, if any, kept on the stack: the loop takes every register).
///
/// # Safety
/// `quads ≥ 1`; as [`add_all`] for `4 * quads` elements; `st.clamp.max == 127`.
unsafe fn add_quads(
    a: *const i8,
    b: *const i8,
    y: *mut i8,
    quads: usize,
    tables: *const i32,
    st: &Step,
) {
    let tb = tables.wrapping_add(256);
    let lo = (st.clamp.min as u8 as u32) * 0x0101_0101;
    if st.clamp.min == i8::MIN {
        // SAFETY: reads `4 * quads` bytes from `a` and `b` (post-indexed `LDRB`: element `i`
        // of a quad is read before the quad is stored, so `y` may be an input), table words
        // at indices below 256 from `tables` and `tb`, writes `4 * quads` bytes to `y`
        // (`STR`, unaligned allowed on Armv7E-M). Only the named registers and the flags
        // are written.
        unsafe {
            asm!(
                quad_loop!(""),
                a = inout(reg) a => _,
                b = inout(reg) b => _,
                y = inout(reg) y => _,
                n = inout(reg) quads => _,
                ta = in(reg) tables,
                tb = in(reg) tb,
                m = in(reg) st.m,
                c = in(reg) st.c,
                sh = in(reg) st.sh,
                out = out(reg) _,
                x = out(reg) _,
                z = out(reg) _,
                options(nostack),
            );
        }
        return;
    }
    // SAFETY: as above; the lower bound is pushed from `out`'s register before the loop
    // takes it, read back from the stack each quad, and popped after, so the stack pointer
    // is restored on exit.
    unsafe {
        asm!(
            "push {{{out}}}",
            quad_loop!("ldr {z}, [sp]\nssub8 {x}, {out}, {z}\nsel {out}, {out}, {z}\n"),
            "add sp, sp, #4",
            a = inout(reg) a => _,
            b = inout(reg) b => _,
            y = inout(reg) y => _,
            n = inout(reg) quads => _,
            ta = in(reg) tables,
            tb = in(reg) tb,
            m = in(reg) st.m,
            c = in(reg) st.c,
            sh = in(reg) st.sh,
            out = inout(reg) lo => _,
            x = out(reg) _,
            z = out(reg) _,
        );
    }
}

/// `y[i] = clamp(sat8((c + hi(tables[a[i]] + tables[256 + b[i]]) · m) >> sh))`, `hi` the
/// upper word of the i64 product (`a[i]`, `b[i]` as unsigned bytes).
///
/// # Safety
/// `len ≥ 1`; `a` and `b` are valid for reading `len` bytes, `y` for writing `len` bytes
/// (an input may be `y` itself: element `i` is read before it is written); `tables` for
/// reading 512 words.
unsafe fn add_all(
    a: *const i8,
    b: *const i8,
    y: *mut i8,
    len: usize,
    tables: *const i32,
    st: &Step,
) {
    // Whole quads first (without an upper bound), then the rest one by one.
    let quads = if st.clamp.max == i8::MAX { len / 4 } else { 0 };
    if quads > 0 {
        // SAFETY: the first `4 * quads ≤ len` elements, within the caller's bounds.
        unsafe { add_quads(a, b, y, quads, tables, st) };
    }
    let done = 4 * quads;
    let len = len - done;
    if len == 0 {
        return;
    }
    let (a, b, y) = (
        a.wrapping_add(done),
        b.wrapping_add(done),
        y.wrapping_add(done),
    );
    let tb = tables.wrapping_add(256);
    if st.clamp == Clamp::NONE {
        // SAFETY: by the caller's contract: reads `len` bytes from `a` and `b` (post-indexed
        // `LDRB`), table words at indices below 256 from `tables` and `tb`, writes `len`
        // bytes to `y`. Only the named registers and the flags are written.
        unsafe {
            asm!(
                "2:",
                "ldrb {x}, [{a}], #1",
                "ldrb {z}, [{b}], #1",
                "ldr {x}, [{ta}, {x}, lsl #2]",
                "ldr {z}, [{tb}, {z}, lsl #2]",
                "add {x}, {x}, {z}",
                "smmla {x}, {x}, {m}, {c}",
                "asr {x}, {x}, {sh}",
                "ssat {x}, #8, {x}",
                "strb {x}, [{y}], #1",
                "subs {n}, {n}, #1",
                "bne 2b",
                a = inout(reg) a => _,
                b = inout(reg) b => _,
                y = inout(reg) y => _,
                n = inout(reg) len => _,
                ta = in(reg) tables,
                tb = in(reg) tb,
                m = in(reg) st.m,
                c = in(reg) st.c,
                sh = in(reg) st.sh,
                x = out(reg) _,
                z = out(reg) _,
                options(nostack),
            );
        }
        return;
    }
    let lo = (st.clamp.min as u8 as u32) * 0x0101_0101;
    let hi = (st.clamp.max as u8 as u32) * 0x0101_0101;
    if st.clamp.max == i8::MAX {
        // A lower bound only (a ReLU): one `SSUB8`/`SEL` pair.
        // SAFETY: as above; `lo` is only read.
        unsafe {
            asm!(
                "2:",
                "ldrb {x}, [{a}], #1",
                "ldrb {z}, [{b}], #1",
                "ldr {x}, [{ta}, {x}, lsl #2]",
                "ldr {z}, [{tb}, {z}, lsl #2]",
                "add {x}, {x}, {z}",
                "smmla {x}, {x}, {m}, {c}",
                "asr {x}, {x}, {sh}",
                "ssat {x}, #8, {x}",
                "ssub8 {z}, {x}, {lo}",
                "sel {x}, {x}, {lo}",
                "strb {x}, [{y}], #1",
                "subs {n}, {n}, #1",
                "bne 2b",
                a = inout(reg) a => _,
                b = inout(reg) b => _,
                y = inout(reg) y => _,
                n = inout(reg) len => _,
                ta = in(reg) tables,
                tb = in(reg) tb,
                m = in(reg) st.m,
                c = in(reg) st.c,
                sh = in(reg) st.sh,
                lo = in(reg) lo,
                x = out(reg) _,
                z = out(reg) _,
                options(nostack),
            );
        }
        return;
    }
    // SAFETY: as above; `lo` and `hi` are only read.
    unsafe {
        asm!(
            "2:",
            "ldrb {x}, [{a}], #1",
            "ldrb {z}, [{b}], #1",
            "ldr {x}, [{ta}, {x}, lsl #2]",
            "ldr {z}, [{tb}, {z}, lsl #2]",
            "add {x}, {x}, {z}",
            "smmla {x}, {x}, {m}, {c}",
            "asr {x}, {x}, {sh}",
            "ssat {x}, #8, {x}",
            "ssub8 {z}, {x}, {lo}",
            "sel {x}, {x}, {lo}",
            "ssub8 {z}, {x}, {hi}",
            "sel {x}, {hi}, {x}",
            "strb {x}, [{y}], #1",
            "subs {n}, {n}, #1",
            "bne 2b",
            a = inout(reg) a => _,
            b = inout(reg) b => _,
            y = inout(reg) y => _,
            n = inout(reg) len => _,
            ta = in(reg) tables,
            tb = in(reg) tb,
            m = in(reg) st.m,
            c = in(reg) st.c,
            sh = in(reg) st.sh,
            lo = in(reg) lo,
            hi = in(reg) hi,
            x = out(reg) _,
            z = out(reg) _,
            options(nostack),
        );
    }
}
