//! Every SIMD variant of the dense kernels ([`Isa`]) that this CPU runs gives the reference's
//! bytes: random shapes, strides, pads, dilations, groups, odd channel counts, random zero
//! points (and the extremes), per-channel and single rescales, clamps. Under
//! `qemu-aarch64-static` the same tests cover NEON and `sdot`.

mod runtime_oracle;

use edgecnn::format::pack::{pack, PackKind, PackQuant};
use edgecnn::kernels::{
    self, reference, Clamp, ConvParams, FcParams, I32s, In, Isa, Out, Packed, Rescale, Shape,
    Window,
};
use runtime_oracle::{le_i32, Rng};

/// The variants to check here (the reference itself included, as a control).
fn isas() -> Vec<Isa> {
    Isa::all_available().collect()
}

/// The x86-64 VNNI pack of a dense conv's weights, as the compiler makes it
/// (`--pack x86-vnni`).
fn vnni_pack(p: &ConvParams<'_>, oc: usize) -> Vec<u8> {
    pack(
        PackKind::X86Vnni,
        p.weights,
        oc,
        p.weights.len() / oc,
        &PackQuant::default(),
    )
    .unwrap()
}

/// `p` with its weights also in `bytes`, a [`vnni_pack`], as a plan with that pack hands
/// them to the kernels.
fn with_pack<'a>(p: &ConvParams<'a>, bytes: &'a [u8], oc: usize) -> ConvParams<'a> {
    let k = p.weights.len() / oc;
    ConvParams {
        packed: Some(Packed::new(PackKind::X86Vnni, bytes, oc, k).unwrap()),
        ..*p
    }
}

const CHANNELS: [usize; 12] = [1, 2, 3, 7, 8, 16, 17, 32, 33, 64, 65, 130];

fn channels(rng: &mut Rng) -> usize {
    CHANNELS[rng.usize(0, CHANNELS.len() - 1)]
}

/// A zero point, often an extreme.
fn zero_point(rng: &mut Rng) -> i8 {
    match rng.usize(0, 4) {
        0 => -128,
        1 => 127,
        2 => 0,
        _ => rng.i8(),
    }
}

/// int8 data, sometimes all at an extreme (largest products).
fn data(rng: &mut Rng, n: usize) -> Vec<i8> {
    match rng.usize(0, 9) {
        0 => vec![-128; n],
        1 => vec![127; n],
        _ => rng.i8s(n),
    }
}

struct Rq {
    bias: Vec<u8>,
    mult: Vec<u8>,
    shift: Vec<u8>,
    clamp: Clamp,
}

impl Rq {
    /// A dense or grouped conv's parameters: `w` (`[oc][kh][kw][ic / groups]`) and these.
    fn conv<'a>(&'a self, window: Window, groups: usize, w: &'a [i8]) -> ConvParams<'a> {
        ConvParams {
            window,
            groups,
            weights: w,
            packed: None,
            bias: I32s::new(&self.bias).unwrap(),
            rescale: Rescale {
                multiplier: I32s::new(&self.mult).unwrap(),
                shift: &self.shift,
            },
            clamp: self.clamp,
        }
    }
}

/// Bias, per-channel or single rescale with shifts that keep outputs spread, clamp.
fn requant(rng: &mut Rng, n: usize, taps: usize) -> Rq {
    let bias: Vec<i32> = (0..n).map(|_| rng.range(-50_000, 50_000) as i32).collect();
    let k = if rng.usize(0, 1) == 0 { 1 } else { n };
    let mult: Vec<i32> = (0..k).map(|_| rng.mult()).collect();
    let base = 31 + 32 - ((taps * 128 * 128) as u32).leading_zeros() as i64 - 8;
    let shift = (0..k)
        .map(|_| (base + rng.range(-3, 2)).clamp(1, 62) as u8)
        .collect();
    let clamp = match rng.usize(0, 2) {
        0 => Clamp::NONE,
        1 => Clamp {
            min: rng.range(-128, 0) as i8,
            max: 127,
        },
        _ => {
            let (a, b) = (rng.i8(), rng.i8());
            Clamp {
                min: a.min(b),
                max: a.max(b),
            }
        }
    };
    Rq {
        bias: le_i32(&bias),
        mult: le_i32(&mult),
        shift,
        clamp,
    }
}

fn shape(h: usize, w: usize, c: usize) -> Shape {
    Shape { h, w, c }
}

/// Random conv case: `mode` 0 dense k×k, 1 dense 1×1, 2 grouped, 3 depthwise.
#[allow(clippy::type_complexity)]
fn conv_case(rng: &mut Rng) -> Option<(Vec<i8>, Shape, i8, Shape, i8, Window, usize, Vec<i8>, Rq)> {
    let mode = rng.usize(0, 5).min(3); // dense is the hot path: weight it
    let g = match mode {
        0 | 1 => 1,
        2 => rng.usize(2, 3),
        _ => rng.usize(1, 8),
    };
    let ic = if mode == 3 { g } else { g * channels(rng) };
    let oc = if mode == 3 { g } else { g * channels(rng) };
    let (ih, iw) = (rng.usize(1, 12), rng.usize(1, 12));
    let k = if mode == 1 {
        [1, 1]
    } else {
        [rng.usize(1, 5), rng.usize(1, 7)]
    };
    let s = [rng.usize(1, 3), rng.usize(1, 3)];
    let d = if mode == 1 || rng.usize(0, 2) != 0 {
        [1, 1]
    } else {
        [rng.usize(1, 3), rng.usize(1, 3)]
    };
    let p = [rng.usize(0, k[0] + 1), rng.usize(0, k[1] + 1)];
    let out = |n: usize, k: usize, s: usize, d: usize, p: usize, pe: usize| {
        let eff = (k - 1) * d + 1;
        (n + p + pe >= eff).then(|| (n + p + pe - eff) / s + 1)
    };
    let oh = out(ih, k[0], s[0], d[0], p[0], rng.usize(0, p[0]))?;
    let ow = out(iw, k[1], s[1], d[1], p[1], rng.usize(0, p[1]))?;
    let x = data(rng, ih * iw * ic);
    let w = data(rng, oc * k[0] * k[1] * (ic / g));
    let mut rq = requant(rng, oc, k[0] * k[1] * ic / g);
    if rng.usize(0, 3) == 0 {
        // Shifts on both sides of 32 (the VNNI GEMM's requantisation takes a cheaper form
        // when all of a vector's are at least 32); most outputs then saturate.
        for s in rq.shift.iter_mut() {
            *s = rng.range(16, 40) as u8;
        }
    }
    let win = Window {
        kernel: k,
        stride: s,
        dilation: d,
        pad: p,
    };
    let (xzp, yzp) = (zero_point(rng), rng.i8());
    Some((
        x,
        shape(ih, iw, ic),
        xzp,
        shape(oh, ow, oc),
        yzp,
        win,
        g,
        w,
        rq,
    ))
}

#[test]
fn conv2d_every_isa_matches_reference() {
    let isas = isas();
    let mut rng = Rng(0x513d_0001);
    let mut cases = 0;
    while cases < 600 {
        let Some((x, xs, xzp, ys, yzp, win, g, w, rq)) = conv_case(&mut rng) else {
            continue;
        };
        cases += 1;
        let p = rq.conv(win, g, &w);
        let n = ys.len().unwrap();
        let run = |f: &dyn Fn(In<'_>, Out<'_>) -> Result<(), kernels::KernelError>| {
            let mut y = vec![0x55u8 as i8; n];
            let xin = In {
                data: &x,
                shape: xs,
                zero_point: xzp,
            };
            let yout = Out {
                data: &mut y,
                shape: ys,
                zero_point: yzp,
            };
            f(xin, yout).unwrap();
            y
        };
        let expected = run(&|a, b| reference::conv2d(a, b, &p));
        let what = format!("case {cases}: in {xs:?} zp {xzp} out {ys:?} {win:?} groups {g}");
        for &isa in &isas {
            let got = run(&|a, b| kernels::conv2d_on(isa, a, b, &p));
            assert_eq!(got, expected, "{isa:?} {what}");
        }
        assert_eq!(
            run(&|a, b| kernels::conv2d(a, b, &p)),
            expected,
            "best {what}"
        );
        // More threads than rows, uneven bands, one band per row (feature `threads`).
        for threads in [2, 3, 7] {
            assert_eq!(
                run(&|a, b| kernels::conv2d_on_threads(Isa::best(), a, b, &p, threads)),
                expected,
                "{threads} threads {what}"
            );
        }
        // With the weights also packed at compile time: the VNNI GEMM reads the pack, every
        // other path ignores it.
        if g == 1 {
            let oc = ys.c;
            let bytes = vnni_pack(&p, oc);
            let pp = with_pack(&p, &bytes, oc);
            for &isa in &isas {
                let got = run(&|a, b| kernels::conv2d_on(isa, a, b, &pp));
                assert_eq!(got, expected, "{isa:?} packed {what}");
            }
            assert_eq!(
                run(&|a, b| kernels::conv2d_on_threads(Isa::best(), a, b, &pp, 3)),
                expected,
                "3 threads packed {what}"
            );
        }
    }
}

/// The VNNI GEMM really reads the pack (not the weights) when the plan has one: one packed
/// weight changed changes its output and no other path's. With per-pixel patches (7 input
/// channels: a window row of 21 bytes), on the tiled path (8 channels: 24) and, on AMX, on
/// tiles of 64 taps (64 channels: 576 taps; AMX pads 72 taps to 128 and repacks them).
/// Needs AVX-512 VNNI (this project's CI machine has it); elsewhere the test says so and
/// checks nothing more.
#[test]
fn vnni_gemm_reads_the_pack() {
    if !Isa::all_available().any(|i| i == Isa::Avx512Vnni) {
        eprintln!("no AVX-512 VNNI on this CPU: the pack is never read here");
        return;
    }
    // (rows, columns, input channels, whether AMX reads the pack): small convs run on the
    // VNNI paths under `Isa::Amx` too; large ones on tiles, which read the pack when its
    // windows (rounded up to 4 taps) are whole 64-tap steps already (576 taps), and pad
    // the others (72 taps to 128), repacking the weights themselves.
    for (ih, iw, ic, amx_reads) in [
        (6, 5, 7, true),
        (6, 5, 8, true),
        (16, 16, 64, true),
        (32, 32, 8, false),
    ] {
        vnni_gemm_reads_the_pack_of(ih, iw, ic, amx_reads);
    }
}

fn vnni_gemm_reads_the_pack_of(ih: usize, iw: usize, ic: usize, amx_reads: bool) {
    let mut rng = Rng(0x513d_0004);
    let oc = 40;
    let x = rng.i8s(ih * iw * ic);
    let w = rng.i8s(oc * 9 * ic);
    let mut rq = requant(&mut rng, oc, 9 * ic);
    rq.clamp = Clamp::NONE;
    rq.shift.fill(12);
    let window = Window {
        kernel: [3, 3],
        stride: [1, 1],
        dilation: [1, 1],
        pad: [1, 1],
    };
    let p = rq.conv(window, 1, &w);
    let run = |isa: Isa, p: &ConvParams<'_>| {
        let mut y = vec![0i8; ih * iw * oc];
        let xin = In {
            data: &x,
            shape: shape(ih, iw, ic),
            zero_point: 3,
        };
        let yout = Out {
            data: &mut y,
            shape: shape(ih, iw, oc),
            zero_point: 0,
        };
        kernels::conv2d_on(isa, xin, yout, p).unwrap();
        y
    };
    let expected = run(Isa::Reference, &p);
    let mut bytes = vnni_pack(&p, oc);
    assert_eq!(run(Isa::Avx512Vnni, &with_pack(&p, &bytes, oc)), expected);
    // Channel 33's tap 5 (second block, second group), and its sum left as it was.
    let kp = (9 * ic).next_multiple_of(4);
    let at = 32 * kp + (32 + 1) * 4 + 1;
    bytes[at] = bytes[at].wrapping_add(64);
    let pp = with_pack(&p, &bytes, oc);
    let got = run(Isa::Avx512Vnni, &pp);
    let differ: Vec<usize> = (0..expected.len())
        .filter(|&i| got[i] != expected[i])
        .map(|i| i % oc)
        .collect();
    assert!(
        !differ.is_empty() && differ.iter().all(|&c| c == 33),
        "{ic} channels: {differ:?}"
    );
    let readers: &[Isa] = if amx_reads {
        &[Isa::Avx512Vnni, Isa::Amx]
    } else {
        &[Isa::Avx512Vnni]
    };
    for isa in Isa::all_available().filter(|i| readers.contains(i)) {
        assert_eq!(run(isa, &pp), got, "{isa:?} {ic} channels reads the pack");
    }
    for isa in Isa::all_available().filter(|i| !readers.contains(i)) {
        assert_eq!(
            run(isa, &pp),
            expected,
            "{isa:?} {ic} channels must ignore the pack"
        );
    }
}

/// Layers larger than the random cases: windows up to and past the 4 608 taps of the VNNI
/// GEMM path, more output channels than it repacks at once (several chunks, a partial last
/// one; patches gathered once for all chunks, and gathered per chunk), the 7×7 stride-2
/// stem, pixel counts that are not a multiple of its 8-pixel blocks.
#[test]
fn conv2d_large_layers_every_isa_matches_reference() {
    let isas = isas();
    let mut rng = Rng(0x513d_0003);
    // (ih, iw, ic, k, stride, pad, dilation, oc)
    let layers = [
        (5, 5, 512, 3, 1, 1, 1, 40),   // exactly 4 608 taps
        (4, 3, 520, 3, 1, 1, 1, 17),   // 4 680 taps: past the GEMM path
        (23, 23, 3, 7, 2, 3, 1, 64),   // the stem
        (6, 7, 64, 1, 1, 0, 1, 300),   // two chunks of a 1×1, the last partial
        (5, 6, 256, 3, 2, 1, 1, 264),  // five chunks of 64, the last of 8
        (9, 9, 24, 3, 1, 2, 2, 48),    // dilated both ways
        (3, 3, 16, 5, 1, 2, 1, 16),    // windows mostly in the padding
        (32, 32, 64, 3, 1, 1, 1, 64),  // 38 M MACs: the GEMM path splits it across 2 threads
        (7, 7, 512, 3, 1, 1, 1, 72),   // ResNet-18's last stage: patches cached, at the limit
        (10, 10, 512, 3, 1, 1, 1, 40), // too many patches to cache: two chunks regathered
        // The tiled path: rows of 15 and 23 pixels (blocks of 8 + 7, 8 + 8 + 7), stride 2
        // (windows 2 · ic bytes apart in a tile), left and right edges in the padding, a
        // one-pixel-wide output, windows wider than the input.
        (13, 30, 16, 3, 2, 1, 1, 24),
        (9, 23, 8, 3, 1, 1, 1, 33),
        (6, 1, 32, 3, 1, 1, 1, 64),
        (4, 4, 12, 5, 1, 3, 1, 20),
        // AMX (at least 4 M multiply-adds a call): tiles of input rows with blocks of 32 and
        // of at most 16 pixels (rows of 14 and 12), stride 2, more channels than one chunk
        // of constants with a partial last block; a dilated conv, whose patches are gathered
        // per pixel; maps of at most 64 pixels, gathered once.
        (20, 14, 64, 3, 1, 1, 1, 40),
        (24, 24, 64, 3, 2, 1, 1, 64),
        (16, 16, 64, 1, 1, 0, 1, 300),
        (16, 16, 64, 3, 1, 2, 2, 64),
        (8, 8, 128, 3, 1, 1, 1, 64),
        (40, 40, 3, 7, 2, 3, 1, 64), // a stem: 147 taps padded to 192 and repacked
    ];
    for (n, &(ih, iw, ic, k, s, pad, d, oc)) in layers.iter().enumerate() {
        let eff = (k - 1) * d + 1;
        let (oh, ow) = ((ih + 2 * pad - eff) / s + 1, (iw + 2 * pad - eff) / s + 1);
        let x = rng.i8s(ih * iw * ic);
        let w = rng.i8s(oc * k * k * ic);
        let mut rq = requant(&mut rng, oc, k * k * ic);
        rq.clamp = Clamp::NONE;
        // Shifts that spread these sums (≈ √taps · 74² for uniform int8) over the int8 range.
        let spread = ((k * k * ic) as f64).sqrt() * 5476.0 * 1.5e9 / 40.0;
        rq.shift.fill(spread.log2().round() as u8);
        let window = Window {
            kernel: [k, k],
            stride: [s, s],
            dilation: [d, d],
            pad: [pad, pad],
        };
        let p = rq.conv(window, 1, &w);
        let xzp = zero_point(&mut rng);
        let run = |f: &dyn Fn(In<'_>, Out<'_>) -> Result<(), kernels::KernelError>| {
            let mut y = vec![0x55u8 as i8; oh * ow * oc];
            let xin = In {
                data: &x,
                shape: shape(ih, iw, ic),
                zero_point: xzp,
            };
            let yout = Out {
                data: &mut y,
                shape: shape(oh, ow, oc),
                zero_point: -3,
            };
            f(xin, yout).unwrap();
            y
        };
        let expected = run(&|a, b| reference::conv2d(a, b, &p));
        let mut seen = [false; 256];
        expected.iter().for_each(|&v| seen[v as u8 as usize] = true);
        let distinct = seen.iter().filter(|&&s| s).count();
        assert!(
            distinct >= 8,
            "layer {n}: only {distinct} output values, a weak check"
        );
        for &isa in &isas {
            assert_eq!(
                run(&|a, b| kernels::conv2d_on(isa, a, b, &p)),
                expected,
                "{isa:?} layer {n}"
            );
            for threads in [2, 3] {
                assert_eq!(
                    run(&|a, b| kernels::conv2d_on_threads(isa, a, b, &p, threads)),
                    expected,
                    "{isa:?} {threads} threads layer {n}"
                );
            }
        }
        let bytes = vnni_pack(&p, oc);
        let pp = with_pack(&p, &bytes, oc);
        for &isa in &isas {
            assert_eq!(
                run(&|a, b| kernels::conv2d_on(isa, a, b, &pp)),
                expected,
                "{isa:?} packed layer {n}"
            );
        }
        assert_eq!(
            run(&|a, b| kernels::conv2d_on_threads(Isa::best(), a, b, &pp, 2)),
            expected,
            "2 threads packed layer {n}"
        );
    }
}

#[test]
fn fully_connected_every_isa_matches_reference() {
    let isas = isas();
    let mut rng = Rng(0x513d_0002);
    for case in 0..300 {
        let (h, wd) = if rng.usize(0, 3) == 0 {
            (rng.usize(1, 4), rng.usize(1, 4))
        } else {
            (1, 1)
        };
        let c = match rng.usize(0, 3) {
            0 => rng.usize(1, 300),
            _ => channels(&mut rng),
        };
        let n_in = h * wd * c;
        let n_out = match rng.usize(0, 2) {
            0 => rng.usize(1, 20),
            _ => channels(&mut rng),
        };
        let x = data(&mut rng, n_in);
        let w = data(&mut rng, n_in * n_out);
        let rq = requant(&mut rng, n_out, n_in);
        let (xzp, yzp) = (zero_point(&mut rng), rng.i8());
        let p = FcParams {
            weights: &w,
            bias: I32s::new(&rq.bias).unwrap(),
            rescale: Rescale {
                multiplier: I32s::new(&rq.mult).unwrap(),
                shift: &rq.shift,
            },
            clamp: rq.clamp,
        };
        let run = |f: &dyn Fn(In<'_>, Out<'_>) -> Result<(), kernels::KernelError>| {
            let mut y = vec![0x55u8 as i8; n_out];
            let xin = In {
                data: &x,
                shape: shape(h, wd, c),
                zero_point: xzp,
            };
            let yout = Out {
                data: &mut y,
                shape: shape(1, 1, n_out),
                zero_point: yzp,
            };
            f(xin, yout).unwrap();
            y
        };
        let expected = run(&|a, b| reference::fully_connected(a, b, &p));
        for &isa in &isas {
            let got = run(&|a, b| kernels::fully_connected_on(isa, a, b, &p));
            assert_eq!(got, expected, "{isa:?} case {case}: {n_in} -> {n_out}");
        }
        let got = run(&|a, b| kernels::fully_connected(a, b, &p));
        assert_eq!(got, expected, "best case {case}: {n_in} -> {n_out}");
        for threads in [2, 3, 7] {
            let got =
                run(&|a, b| kernels::fully_connected_on_threads(Isa::best(), a, b, &p, threads));
            assert_eq!(
                got, expected,
                "{threads} threads case {case}: {n_in} -> {n_out}"
            );
        }
    }
}

/// Long runs at the extremes: the largest products (`-128 * (127 - -128)`) in every lane.
#[test]
fn extreme_values_long_runs() {
    for &(xv, zp, wv) in &[(127i8, -128i8, -128i8), (-128, 127, -128), (127, -128, 127)] {
        let n_in = 4096 + 61;
        let n_out = 9;
        let x = vec![xv; n_in];
        let w = vec![wv; n_in * n_out];
        let bias = le_i32(&[0; 9]);
        let mult = le_i32(&[1 << 30]);
        let p = FcParams {
            weights: &w,
            bias: I32s::new(&bias).unwrap(),
            rescale: Rescale {
                multiplier: I32s::new(&mult).unwrap(),
                shift: &[55],
            },
            clamp: Clamp::NONE,
        };
        let mut outs = Vec::new();
        for isa in isas() {
            let mut y = vec![0i8; n_out];
            let xin = In {
                data: &x,
                shape: shape(1, 1, n_in),
                zero_point: zp,
            };
            let yout = Out {
                data: &mut y,
                shape: shape(1, 1, n_out),
                zero_point: 0,
            };
            kernels::fully_connected_on(isa, xin, yout, &p).unwrap();
            outs.push((isa, y));
        }
        for (isa, y) in &outs {
            assert_eq!(y, &outs[0].1, "{isa:?} at x {xv} zp {zp} w {wv}");
        }
    }
}

/// The dispatch really picks SIMD where the CPU has it (else these tests prove little).
#[test]
fn simd_is_detected_where_the_cpu_has_it() {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        assert!(Isa::Avx2.available());
        assert_ne!(Isa::best(), Isa::Reference);
    }
    // AMX: on Linux (which grants the tile state to a process that asks, since 5.16) a CPU
    // whose flags list `amx_int8` and `amx_tile` runs it, and it is the best.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let has = |f: &str| flags.split_whitespace().any(|w| w == f);
        if has("amx_int8") && has("amx_tile") && has("avx512_vnni") {
            assert!(
                Isa::Amx.available(),
                "the CPU lists AMX, but it is not usable"
            );
            assert_eq!(Isa::best(), Isa::Amx);
        } else {
            assert!(!Isa::Amx.available());
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        assert!(Isa::Neon.available());
        assert_ne!(Isa::best(), Isa::Reference);
        if std::arch::is_aarch64_feature_detected!("dotprod") {
            assert_eq!(Isa::best(), Isa::NeonDot);
        }
    }
    assert!(Isa::Reference.available());
}

/// Inconsistent arguments are errors on every variant, as on the reference.
#[test]
fn every_isa_rejects_what_the_reference_rejects() {
    let x = [0i8; 12];
    let w = [1i8; 4 * 3];
    let (b, m) = (le_i32(&[0; 4]), le_i32(&[1 << 30]));
    for isa in isas() {
        let mut p = ConvParams {
            window: Window {
                kernel: [1, 1],
                stride: [1, 1],
                dilation: [1, 1],
                pad: [0, 0],
            },
            groups: 1,
            weights: &w,
            packed: None,
            bias: I32s::new(&b).unwrap(),
            rescale: Rescale {
                multiplier: I32s::new(&m).unwrap(),
                shift: &[31],
            },
            clamp: Clamp::NONE,
        };
        let run = |p: &ConvParams, n_out: usize| {
            let mut y = [0i8; 4];
            let xin = In {
                data: &x[..3],
                shape: shape(1, 1, 3),
                zero_point: 0,
            };
            let yout = Out {
                data: &mut y[..n_out],
                shape: shape(1, 1, 4),
                zero_point: 0,
            };
            kernels::conv2d_on(isa, xin, yout, p)
        };
        assert!(run(&p, 4).is_ok(), "{isa:?}");
        assert!(run(&p, 3).is_err(), "{isa:?} output length");
        p.weights = &w[..11];
        assert!(run(&p, 4).is_err(), "{isa:?} weights");
        p.weights = &w;
        p.window.stride = [0, 1];
        assert!(run(&p, 4).is_err(), "{isa:?} stride 0");
        let fc = FcParams {
            weights: &w[..11],
            bias: I32s::new(&b).unwrap(),
            rescale: Rescale {
                multiplier: I32s::new(&m).unwrap(),
                shift: &[31],
            },
            clamp: Clamp::NONE,
        };
        let mut y = [0i8; 4];
        let xin = In {
            data: &x[..3],
            shape: shape(1, 1, 3),
            zero_point: 0,
        };
        let yout = Out {
            data: &mut y,
            shape: shape(1, 1, 4),
            zero_point: 0,
        };
        assert!(
            kernels::fully_connected_on(isa, xin, yout, &fc).is_err(),
            "{isa:?} fc weights"
        );
    }
}

/// The residual Add on every ISA: short lengths and lengths around the reference's tabulated
/// and the 16-lane thresholds, in place on either input or both, rescales large enough to
/// saturate the i32 sum, clamps.
#[test]
fn add_every_isa_matches_reference() {
    use edgecnn::kernels::{AddParams, Operand};
    let isas = isas();
    let mut rng = Rng(0x513d_0004);
    for case in 0..300 {
        let n = [1, 17, 1023, 1024, 1025, 1040, 4099, 12_544][case % 8];
        let (a, b) = (data(&mut rng, n), data(&mut rng, n));
        let (azp, bzp, yzp) = (zero_point(&mut rng), zero_point(&mut rng), rng.i8());
        let shift = |rng: &mut Rng| rng.range(1, 62) as u8;
        let p = AddParams {
            a: (rng.mult(), if case % 7 == 0 { 1 } else { shift(&mut rng) }),
            b: (rng.mult(), if case % 5 == 0 { 1 } else { shift(&mut rng) }),
            out: (rng.mult(), shift(&mut rng)),
            clamp: requant(&mut rng, 1, 1).clamp,
        };
        let s = shape(1, 1, n);
        let mode = case % 4; // 0: separate, 1: a in place, 2: b in place, 3: both
        let run = |isa: Option<Isa>| {
            let mut y = match mode {
                2 => b.clone(),
                0 => vec![0x55u8 as i8; n],
                _ => a.clone(),
            };
            let ta = In {
                data: &a,
                shape: s,
                zero_point: azp,
            };
            let tb = In {
                data: &b,
                shape: s,
                zero_point: bzp,
            };
            let (oa, ob) = match mode {
                0 => (Operand::Tensor(ta), Operand::Tensor(tb)),
                1 => (Operand::Output { zero_point: azp }, Operand::Tensor(tb)),
                2 => (Operand::Tensor(ta), Operand::Output { zero_point: bzp }),
                _ => (
                    Operand::Output { zero_point: azp },
                    Operand::Output { zero_point: azp },
                ),
            };
            let out = Out {
                data: &mut y,
                shape: s,
                zero_point: yzp,
            };
            match isa {
                Some(isa) => kernels::add_on(isa, oa, ob, out, &p).unwrap(),
                None => reference::add_into(oa, ob, out, &p).unwrap(),
            }
            y
        };
        let expected = run(None);
        for &isa in &isas {
            assert_eq!(
                run(Some(isa)),
                expected,
                "{isa:?} case {case} len {n} {p:?}"
            );
        }
    }
}

/// Max pools on every variant against the reference: random shapes, windows (the 3×3/2 of
/// ResNet's stem among them), pads, dilations, channel counts around the 64-byte steps,
/// clamps (some with `min > max`), inputs at the extremes.
#[test]
fn max_pool_every_isa_matches_reference() {
    let isas = isas();
    let mut rng = Rng(0x513d_0005);
    let mut cases = 0;
    while cases < 400 {
        let c = [1, 3, 17, 63, 64, 65, 128, 130][rng.usize(0, 7)];
        let (ih, iw) = (rng.usize(1, 12), rng.usize(1, 12));
        let k = [rng.usize(1, 4), rng.usize(1, 4)];
        let s = [rng.usize(1, 3), rng.usize(1, 3)];
        let d = if rng.usize(0, 3) == 0 {
            [rng.usize(1, 2), rng.usize(1, 2)]
        } else {
            [1, 1]
        };
        let p = [rng.usize(0, k[0]), rng.usize(0, k[1])];
        let out = |n: usize, k: usize, s: usize, d: usize, p: usize| {
            let eff = (k - 1) * d + 1;
            (n + 2 * p >= eff).then(|| (n + 2 * p - eff) / s + 1)
        };
        let (Some(oh), Some(ow)) = (
            out(ih, k[0], s[0], d[0], p[0]),
            out(iw, k[1], s[1], d[1], p[1]),
        ) else {
            continue;
        };
        cases += 1;
        let x = data(&mut rng, ih * iw * c);
        let win = Window {
            kernel: k,
            stride: s,
            dilation: d,
            pad: p,
        };
        let mut clamp = requant(&mut rng, 1, 1).clamp;
        if rng.usize(0, 5) == 0 {
            // Out of contract, but defined: `max` wins.
            (clamp.min, clamp.max) = (clamp.max.saturating_add(1), clamp.min);
        }
        let run = |isa: Option<Isa>| {
            let mut y = vec![0x55u8 as i8; oh * ow * c];
            let xin = In {
                data: &x,
                shape: shape(ih, iw, c),
                zero_point: 0,
            };
            let yout = Out {
                data: &mut y,
                shape: shape(oh, ow, c),
                zero_point: 0,
            };
            match isa {
                Some(isa) => kernels::max_pool_on(isa, xin, yout, &win, clamp).unwrap(),
                None => reference::max_pool(xin, yout, &win, clamp).unwrap(),
            }
            y
        };
        let expected = run(None);
        for &isa in &isas {
            assert_eq!(
                run(Some(isa)),
                expected,
                "{isa:?} case {cases} {c} ch {win:?}"
            );
        }
    }
    // What the reference rejects, every variant rejects: channel counts that differ, a
    // length that does not match its shape, a zero window.
    let (x, mut y) = ([0i8; 8], [0i8; 8]);
    let win = Window {
        kernel: [1, 1],
        stride: [1, 1],
        dilation: [1, 1],
        pad: [0, 0],
    };
    let zero = Window {
        kernel: [0, 1],
        ..win
    };
    let cases = [
        (shape(2, 2, 2), shape(1, 1, 8), win),
        (shape(2, 2, 2), shape(2, 2, 1), win),
        (shape(2, 2, 2), shape(2, 2, 2), zero),
    ];
    for (xs, ys, w) in cases {
        for &isa in &isas {
            let xin = In {
                data: &x,
                shape: xs,
                zero_point: 0,
            };
            let yout = Out {
                data: &mut y,
                shape: ys,
                zero_point: 0,
            };
            let got = kernels::max_pool_on(isa, xin, yout, &w, Clamp::NONE);
            assert_eq!(
                got,
                Err(kernels::KernelError),
                "{isa:?} {xs:?} {ys:?} {w:?}"
            );
        }
    }
}
