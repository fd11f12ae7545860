//! x86-64 AMX-INT8: the VNNI GEMM's micro-kernel on tiles. One `tdpbusd` multiplies a
//! 16 × 64 tile of patch bytes (`x + 128`, u8) by a 16 × 64 tile of weights (16 groups of 4
//! taps × 16 channels, s8) into 16 × 16 i32 sums: 16 384 MACs, as many as 256 `vpdpbusd`.
//!
//! The tiles are the VNNI GEMM's data in place: the patches are its rows of `kp` bytes (one
//! per pixel, `kp` a multiple of 64), the weights its `x86-vnni` pack's 32-channel blocks
//! (`[tap / 4][32][4]`, so 16 channels are 64 bytes of each 128-byte group row). The sums
//! are `Σ w · (x + 128)` modulo 2^32 exactly as `vpdpbusd`'s (no saturation), so the VNNI
//! GEMM's correction and requantisation give the reference's bytes.
//!
//! Linux asks the kernel for the tile data state once per process
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`, see [`request`]); a CPU or kernel
//! without it leaves [`Isa::Amx`](super::Isa::Amx) unavailable. Each call loads its tile
//! configuration and releases the tiles when done, so threads and other code see no state.
#![allow(unsafe_code)]

use core::arch::asm;
use core::arch::x86_64::__m512i;

use super::x86::Avx512Vnni;

/// Pixels per tile of patches (its rows) and channels per tile of sums (its columns).
pub(super) const ROWS: usize = 16;
/// Pixels of one [`Tiles::block32`] call: two tiles of patches.
pub(super) const PIXELS: usize = 2 * ROWS;
/// Bytes of taps per tile row: 16 groups of 4.
pub(super) const K_STEP: usize = 64;

/// The AMX-INT8 tiles (with the AVX-512 VNNI the rest of the GEMM uses), usable in this
/// process.
#[derive(Clone, Copy, Debug)]
pub(super) struct Amx {
    pub(super) vnni: Avx512Vnni,
}

impl Amx {
    /// `Some` when the CPU has AMX-TILE and AMX-INT8, AVX-512 VNNI, and the kernel gave this
    /// process the tile data state.
    pub(super) fn new() -> Option<Self> {
        if !super::detect::has_amx() {
            return None;
        }
        Avx512Vnni::new().map(|vnni| Self { vnni })
    }
}

/// Whether the CPU has AMX-TILE and AMX-INT8 (CPUID leaf 7: EDX bits 24 and 25) and Linux
/// lets this process use the tile data (asked for here; a repeated request is harmless).
/// `false` elsewhere.
#[cfg(all(feature = "std", not(miri), target_os = "linux"))]
pub(super) fn request() -> bool {
    let leaf7 = core::arch::x86_64::__cpuid_count(7, 0);
    if leaf7.edx & (1 << 24) == 0 || leaf7.edx & (1 << 25) == 0 {
        return false;
    }
    const ARCH_REQ_XCOMP_PERM: i64 = 0x1023;
    const XFEATURE_XTILEDATA: i64 = 18;
    const SYS_ARCH_PRCTL: i64 = 158;
    let ret: i64;
    // SAFETY: the arch_prctl system call with ARCH_REQ_XCOMP_PERM only changes which
    // extended states the kernel saves for this process; it reads and writes no memory of
    // ours. The kernel clobbers rcx and r11, declared so.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") SYS_ARCH_PRCTL => ret,
            in("rdi") ARCH_REQ_XCOMP_PERM,
            in("rsi") XFEATURE_XTILEDATA,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret == 0
}

/// The tile configuration (palette 1): tiles 0–7 all 16 rows of 64 bytes.
#[repr(C, align(64))]
struct Config {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    colsb: [u16; 16],
    rows: [u8; 16],
}

const CONFIG: Config = Config {
    palette: 1,
    start_row: 0,
    reserved: [0; 14],
    colsb: [64, 64, 64, 64, 64, 64, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0],
    rows: [16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0],
};

/// The tiles configured for [`Tiles::block32`]; released when dropped.
pub(super) struct Tiles(());

impl Amx {
    /// Configures the tiles for this thread.
    pub(super) fn tiles(self) -> Tiles {
        // SAFETY: `Amx` exists only once the CPU has AMX and the kernel granted the tile
        // data state; `CONFIG` is a valid palette-1 configuration, 64 bytes, aligned.
        unsafe { asm!("ldtilecfg [{}]", in(reg) &CONFIG, options(nostack, readonly)) };
        Tiles(())
    }
}

impl Drop for Tiles {
    fn drop(&mut self) {
        // SAFETY: the tiles were configured by `Amx::tiles` (so AMX is usable); releasing
        // them returns the tile state to its initial one.
        unsafe { asm!("tilerelease", options(nostack, nomem)) };
    }
}

impl Tiles {
    /// The sums of pixels `0 .. 16` (`upper == false`) or `0 .. 32` × 32 channels into
    /// `acc` (pixel `p`, channels `16h .. 16h + 16` in `acc[p][h]`; only `acc[..16]` is
    /// written when `upper` is false): `Σ_t w[c][t] · x[p][t]` over the `kh · line` taps of
    /// the 32-channel block `w` (`kh · line / 4` group rows of 128 bytes). Pixel `p`'s
    /// window row `ky` is the `line` bytes (a multiple of [`K_STEP`]) at
    /// `ky · span + p · step` of `tile`, where `span >= 31 · step + line`: a tile of input
    /// rows (see the VNNI GEMM's `Tile`), or, with `kh = 1` and `line = step = kp`, 32 patch
    /// rows of `kp` bytes. Rows past the caller's pixels hold whatever the buffer holds;
    /// their sums are computed and ignored.
    ///
    /// Does nothing when a length does not fit.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn block32(
        &self,
        tile: &[u8],
        (line, step, span): (usize, usize, usize),
        kh: usize,
        upper: bool,
        w: &[u8],
        acc: &mut [[__m512i; 2]; PIXELS],
    ) {
        let steps = line / K_STEP;
        if steps == 0
            || !line.is_multiple_of(K_STEP)
            || span < (PIXELS - 1) * step + line
            || tile.len() < kh * span
            || w.len() < 32 * kh * line
        {
            return;
        }
        let out = acc.as_mut_ptr().cast::<u8>();
        // SAFETY: the tiles are configured (`self`), 16 rows of 64 bytes each.
        unsafe {
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem)
            )
        };
        for ky in 0..kh {
            let lower = tile.as_ptr().wrapping_add(ky * span);
            let upper_rows = lower.wrapping_add(ROWS * step);
            let wk = w.as_ptr().wrapping_add(ky * steps * 2048);
            if upper {
                // SAFETY: per step `s < steps` the loads read rows `r < 16` at
                // `lower + s · 64 + r · step` and `upper_rows + …`, all inside the tile row
                // `ky` (its `span >= 31 · step + line` bytes, checked above, as is the
                // tile's length), and `wk + s · 2048 + r · 128 (+ 64)`, inside the row `ky`
                // of the block's `kh · line / 4` group rows of 128 bytes.
                unsafe {
                    asm!(
                        "2:",
                        "tileloadd tmm4, [{lo} + {st}*1]",
                        "tileloadd tmm6, [{w} + {wst}*1]",
                        "tdpbusd tmm0, tmm4, tmm6",
                        "tileloadd tmm7, [{w} + {wst}*1 + 64]",
                        "tdpbusd tmm1, tmm4, tmm7",
                        "tileloadd tmm5, [{up} + {st}*1]",
                        "tdpbusd tmm2, tmm5, tmm6",
                        "tdpbusd tmm3, tmm5, tmm7",
                        "add {lo}, 64",
                        "add {up}, 64",
                        "add {w}, 2048",
                        "dec {n}",
                        "jnz 2b",
                        lo = inout(reg) lower => _,
                        up = inout(reg) upper_rows => _,
                        w = inout(reg) wk => _,
                        n = inout(reg) steps => _,
                        st = in(reg) step,
                        wst = in(reg) 128usize,
                        options(nostack, readonly),
                    );
                }
            } else {
                // SAFETY: as above, without the upper rows.
                unsafe {
                    asm!(
                        "2:",
                        "tileloadd tmm4, [{lo} + {st}*1]",
                        "tileloadd tmm6, [{w} + {wst}*1]",
                        "tdpbusd tmm0, tmm4, tmm6",
                        "tileloadd tmm7, [{w} + {wst}*1 + 64]",
                        "tdpbusd tmm1, tmm4, tmm7",
                        "add {lo}, 64",
                        "add {w}, 2048",
                        "dec {n}",
                        "jnz 2b",
                        lo = inout(reg) lower => _,
                        w = inout(reg) wk => _,
                        n = inout(reg) steps => _,
                        st = in(reg) step,
                        wst = in(reg) 128usize,
                        options(nostack, readonly),
                    );
                }
            }
        }
        // SAFETY: rows `r < 16` of 64 bytes at `out + r · 128 (+ 64)` (and `out + 2048 + …`
        // when `upper`): inside `acc`, 32 × 128 bytes.
        unsafe {
            asm!(
                "tilestored [{o} + {ost}*1], tmm0",
                "tilestored [{o} + {ost}*1 + 64], tmm1",
                o = in(reg) out,
                ost = in(reg) 128usize,
                options(nostack),
            );
            if upper {
                asm!(
                    "tilestored [{o} + {ost}*1 + 2048], tmm2",
                    "tilestored [{o} + {ost}*1 + 2112], tmm3",
                    o = in(reg) out,
                    ost = in(reg) 128usize,
                    options(nostack),
                );
            }
        }
    }
}
