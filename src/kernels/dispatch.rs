//! Which instruction set runs the dense kernels, and the dispatching entry points.

#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "arm", target_feature = "dsp")
))]
use super::dense;
use super::{
    reference, AddParams, Clamp, ConvParams, FcParams, In, KernelError, Operand, Out, Window,
};

/// An implementation of the dense kernels ([`conv2d`], [`fully_connected`]). Every one gives
/// the reference's bytes; they differ only in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Isa {
    /// [`reference`](mod@reference): portable safe Rust.
    Reference,
    /// x86-64 AVX2: int8 widened to i16, `vpmaddwd`; dense convs whose weights repack in at
    /// most 8 chunks as a GEMM with 8 output channels per vector, others as dot products.
    Avx2,
    /// x86-64 AVX-512 VNNI: dense convs up to 4 608 taps per output as a GEMM with 16 output
    /// channels per vector (`vpdpbusd`, weights repacked on the stack per call); larger
    /// ones, and fully connected layers, as `vpdpbusd` dot products on 64 bytes.
    Avx512Vnni,
    /// x86-64 AMX-INT8 (Intel Sapphire Rapids and later, on Linux): [`Isa::Avx512Vnni`]
    /// with the GEMM's products on tiles (`tdpbusd`, 16 × 16 sums of 64 taps each) for the
    /// dense convs of at least 4 M multiply-adds a call, their windows padded to whole
    /// 64-tap steps (read from the `x86-vnni` pack when it has those taps already, else
    /// repacked per call when the weights fit); everything else as [`Isa::Avx512Vnni`].
    Amx,
    /// aarch64 NEON: `smlal` on i16.
    Neon,
    /// aarch64 NEON with the Armv8.2 dot product (`sdot`).
    NeonDot,
    /// Cortex-M DSP extension (`SXTB16`, `SMLAD`); compiled in when the target has `dsp`.
    Dsp,
}

impl Isa {
    /// Every variant, slowest first.
    pub const ALL: [Isa; 7] = [
        Isa::Reference,
        Isa::Avx2,
        Isa::Avx512Vnni,
        Isa::Amx,
        Isa::Neon,
        Isa::NeonDot,
        Isa::Dsp,
    ];

    /// Whether this CPU (and this build's target) can run it.
    pub fn available(self) -> bool {
        match self {
            Isa::Reference => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => super::detect::has_avx2(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => super::detect::has_avx512vnni(),
            #[cfg(target_arch = "x86_64")]
            Isa::Amx => super::detect::has_amx(),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => super::detect::has_neon(),
            #[cfg(target_arch = "aarch64")]
            Isa::NeonDot => super::detect::has_dotprod(),
            #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
            Isa::Dsp => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every variant this CPU (and build) can run, slowest ([`Isa::Reference`]) first.
    pub fn all_available() -> impl DoubleEndedIterator<Item = Isa> {
        Isa::ALL.into_iter().filter(|i| i.available())
    }

    /// The fastest available variant (detected once with `std`, fixed at compile time without).
    pub fn best() -> Isa {
        Isa::all_available().next_back().unwrap_or(Isa::Reference)
    }
}

/// [`reference::conv2d`] on the best available [`Isa`]: same contract, same bytes.
pub fn conv2d(x: In<'_>, y: Out<'_>, p: &ConvParams<'_>) -> Result<(), KernelError> {
    conv2d_on_threads(Isa::best(), x, y, p, 1)
}

/// [`reference::conv2d`] on `isa`, or on the reference when `isa` is not available here.
pub fn conv2d_on(isa: Isa, x: In<'_>, y: Out<'_>, p: &ConvParams<'_>) -> Result<(), KernelError> {
    conv2d_on_threads(isa, x, y, p, 1)
}

/// [`reference::fully_connected`] on the best available [`Isa`]: same contract, same bytes.
pub fn fully_connected(x: In<'_>, y: Out<'_>, p: &FcParams<'_>) -> Result<(), KernelError> {
    fully_connected_on_threads(Isa::best(), x, y, p, 1)
}

/// [`reference::fully_connected`] on `isa`, or on the reference when `isa` is not available.
pub fn fully_connected_on(
    isa: Isa,
    x: In<'_>,
    y: Out<'_>,
    p: &FcParams<'_>,
) -> Result<(), KernelError> {
    fully_connected_on_threads(isa, x, y, p, 1)
}

/// [`conv2d_on`] with its output rows split across `threads` scoped threads (feature
/// `threads`; without it, or with `threads <= 1`, one thread). Same bytes for every count;
/// convolutions the SIMD path does not cover (grouped; dilated along the width, except on
/// the x86-64 GEMMs) run on one. Spawning threads allocates: only `threads <= 1` keeps
/// [`conv2d`]'s allocation-free guarantee.
pub fn conv2d_on_threads(
    isa: Isa,
    x: In<'_>,
    y: Out<'_>,
    p: &ConvParams<'_>,
    threads: usize,
) -> Result<(), KernelError> {
    let _ = (isa, threads);
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86;
        match isa {
            Isa::Avx512Vnni | Isa::Amx => {
                if let Some(m) = x86::Avx512Vnni::new() {
                    let amx = (isa == Isa::Amx).then(super::amx::Amx::new).flatten();
                    if super::gemm::covers(p, x.shape.c) {
                        return super::vnni_gemm::conv2d(m, amx, x, y, p, threads);
                    }
                    return dense::conv2d::<_, 4, 4>(m, x, y, p, threads);
                }
            }
            Isa::Avx2 => {
                if let Some(m) = x86::Avx2::new() {
                    if super::avx2_gemm::takes(p, x.shape.c) {
                        return super::avx2_gemm::conv2d(m, x, y, p, threads);
                    }
                    return dense::conv2d::<_, 2, 4>(m, x, y, p, threads);
                }
            }
            _ => {}
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        use super::neon;
        match isa {
            Isa::NeonDot => {
                if let Some(m) = neon::NeonDot::new() {
                    return dense::conv2d::<_, 4, 4>(m, x, y, p, threads);
                }
            }
            Isa::Neon => {
                if let Some(m) = neon::Neon::new() {
                    return dense::conv2d::<_, 4, 4>(m, x, y, p, threads);
                }
            }
            _ => {}
        }
    }
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    if isa == Isa::Dsp {
        if let Some(m) = super::dsp::Dsp::new() {
            if super::dsp_packed::takes(p, x.shape.c, y.shape.c) {
                return super::dsp_packed::conv2d(x, y, p, threads);
            }
            if super::dsp_gemm::takes(p, x.shape.c) {
                return super::dsp_gemm::conv2d(x, y, p, threads);
            }
            if super::dsp_dw::takes(p, x.shape.c, y.shape.c) {
                return super::dsp_dw::conv2d(x, y, p);
            }
            return dense::conv2d::<_, 4, 4>(m, x, y, p, threads);
        }
    }
    reference::conv2d(x, y, p)
}

/// [`fully_connected_on`] with its outputs split across `threads` scoped threads (see
/// [`conv2d_on_threads`]); same bytes for every count.
pub fn fully_connected_on_threads(
    isa: Isa,
    x: In<'_>,
    y: Out<'_>,
    p: &FcParams<'_>,
    threads: usize,
) -> Result<(), KernelError> {
    let _ = (isa, threads);
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86;
        match isa {
            Isa::Avx512Vnni | Isa::Amx => {
                if let Some(m) = x86::Avx512Vnni::new() {
                    return dense::fully_connected::<_, 8>(m, x, y, p, threads);
                }
            }
            Isa::Avx2 => {
                if let Some(m) = x86::Avx2::new() {
                    return dense::fully_connected::<_, 4>(m, x, y, p, threads);
                }
            }
            _ => {}
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        use super::neon;
        match isa {
            Isa::NeonDot => {
                if let Some(m) = neon::NeonDot::new() {
                    return dense::fully_connected::<_, 4>(m, x, y, p, threads);
                }
            }
            Isa::Neon => {
                if let Some(m) = neon::Neon::new() {
                    return dense::fully_connected::<_, 4>(m, x, y, p, threads);
                }
            }
            _ => {}
        }
    }
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    if isa == Isa::Dsp {
        if let Some(m) = super::dsp::Dsp::new() {
            return dense::fully_connected::<_, 2>(m, x, y, p, threads);
        }
    }
    reference::fully_connected(x, y, p)
}

/// [`reference::add_into`] on `isa` (vectorised on [`Isa::Avx512Vnni`] and [`Isa::Amx`],
/// whose detection includes AVX-512 F/BW; table lookups and `SMMLA` on [`Isa::Dsp`]; the reference
/// elsewhere): same contract, same bytes.
pub fn add_on(
    isa: Isa,
    a: Operand<'_>,
    b: Operand<'_>,
    y: Out<'_>,
    p: &AddParams,
) -> Result<(), KernelError> {
    let _ = isa;
    #[cfg(target_arch = "x86_64")]
    if matches!(isa, Isa::Avx512Vnni | Isa::Amx) {
        if let Some(m) = super::x86::Avx512Vnni::new() {
            return super::x86_add::add_into(m, a, b, y, p);
        }
    }
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    if isa == Isa::Dsp {
        return super::dsp_add::add_into(a, b, y, p);
    }
    reference::add_into(a, b, y, p)
}

/// [`reference::max_pool`] on the best available [`Isa`]: same contract, same bytes. (The
/// runtime calls this whatever `--isa` says: a max is exact, so only the speed differs.)
pub fn max_pool(x: In<'_>, y: Out<'_>, w: &Window, clamp: Clamp) -> Result<(), KernelError> {
    max_pool_on(Isa::best(), x, y, w, clamp)
}

/// [`reference::max_pool`] on `isa` (vectorised on [`Isa::Avx512Vnni`] and [`Isa::Amx`],
/// whose detection includes AVX-512 F/BW; the reference elsewhere): same contract, same bytes.
pub fn max_pool_on(
    isa: Isa,
    x: In<'_>,
    y: Out<'_>,
    w: &Window,
    clamp: Clamp,
) -> Result<(), KernelError> {
    let _ = isa;
    #[cfg(target_arch = "x86_64")]
    if matches!(isa, Isa::Avx512Vnni | Isa::Amx) {
        if let Some(m) = super::x86::Avx512Vnni::new() {
            return super::x86_pool::max_pool(m, x, y, w, clamp);
        }
    }
    reference::max_pool(x, y, w, clamp)
}
