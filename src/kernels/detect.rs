//! CPU feature detection for the SIMD kernels.
//!
//! With `std`, features are detected at run time once and cached in an atomic; without it
//! (firmware, `no_std` Linux builds) only what the target was compiled for
//! (`-C target-feature`) counts. Under Miri nothing is detected: the reference runs.

#[cfg(all(
    feature = "std",
    not(miri),
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod cache {
    use core::sync::atomic::{AtomicU8, Ordering};

    /// Bit 7: detection done; bits 0..7: features (see the `F_*` constants).
    static FEATURES: AtomicU8 = AtomicU8::new(0);
    const DONE: u8 = 0x80;

    /// The detected feature bits (detects on first call; races only repeat the detection).
    pub(super) fn features(detect: fn() -> u8) -> u8 {
        let f = FEATURES.load(Ordering::Relaxed);
        if f & DONE != 0 {
            return f;
        }
        let f = detect() | DONE;
        FEATURES.store(f, Ordering::Relaxed);
        f
    }
}

#[cfg(all(feature = "std", not(miri), target_arch = "x86_64"))]
const F_AVX2: u8 = 1;
#[cfg(all(feature = "std", not(miri), target_arch = "x86_64"))]
const F_AVX512VNNI: u8 = 2;

#[cfg(all(feature = "std", not(miri), target_arch = "x86_64"))]
const F_AMX: u8 = 4;

#[cfg(all(feature = "std", not(miri), target_arch = "x86_64"))]
fn x86() -> u8 {
    let mut f = 0;
    if std::is_x86_feature_detected!("avx2") {
        f |= F_AVX2;
    }
    if f & F_AVX2 != 0
        && std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vnni")
    {
        f |= F_AVX512VNNI;
    }
    #[cfg(target_os = "linux")]
    if f & F_AVX512VNNI != 0 && super::amx::request() {
        f |= F_AMX;
    }
    f
}

/// The CPU has AMX-TILE and AMX-INT8 (and AVX-512 VNNI), and the operating system let this
/// process use the tiles (asked once, on Linux with `std`; never without `std`).
#[cfg(target_arch = "x86_64")]
pub(super) fn has_amx() -> bool {
    #[cfg(all(feature = "std", not(miri)))]
    {
        cache::features(x86) & F_AMX != 0
    }
    #[cfg(not(all(feature = "std", not(miri))))]
    {
        false
    }
}

/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
pub(super) fn has_avx2() -> bool {
    #[cfg(all(feature = "std", not(miri)))]
    {
        cache::features(x86) & F_AVX2 != 0
    }
    #[cfg(not(all(feature = "std", not(miri))))]
    {
        cfg!(all(target_feature = "avx2", not(miri)))
    }
}

/// The CPU has AVX2 and AVX-512 F, BW and VNNI.
#[cfg(target_arch = "x86_64")]
pub(super) fn has_avx512vnni() -> bool {
    #[cfg(all(feature = "std", not(miri)))]
    {
        cache::features(x86) & F_AVX512VNNI != 0
    }
    #[cfg(not(all(feature = "std", not(miri))))]
    {
        cfg!(all(
            target_feature = "avx2",
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512vnni",
            not(miri)
        ))
    }
}

#[cfg(all(feature = "std", not(miri), target_arch = "aarch64"))]
const F_DOTPROD: u8 = 1;

#[cfg(all(feature = "std", not(miri), target_arch = "aarch64"))]
fn arm64() -> u8 {
    if std::arch::is_aarch64_feature_detected!("dotprod") {
        F_DOTPROD
    } else {
        0
    }
}

/// The CPU has NEON (baseline on aarch64 targets that enable it, as all Linux ones do).
#[cfg(target_arch = "aarch64")]
pub(super) fn has_neon() -> bool {
    cfg!(all(target_feature = "neon", not(miri)))
}

/// The CPU has the Armv8.2 dot product instructions (`sdot`).
#[cfg(target_arch = "aarch64")]
pub(super) fn has_dotprod() -> bool {
    #[cfg(all(feature = "std", not(miri)))]
    {
        has_neon() && cache::features(arm64) & F_DOTPROD != 0
    }
    #[cfg(not(all(feature = "std", not(miri))))]
    {
        cfg!(all(
            target_feature = "neon",
            target_feature = "dotprod",
            not(miri)
        ))
    }
}
