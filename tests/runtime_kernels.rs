//! Every reference kernel against an independent nested-loop oracle on random shapes:
//! odd sizes, padding, strides, dilation, groups, depthwise, per-channel and single rescale.

mod runtime_oracle;

use edgecnn::kernels::{
    self, AddParams, AvgParams, Clamp, ConvParams, FcParams, I32s, In, LrnParams, Out, Rescale,
    Shape, U32s, Window,
};
use runtime_oracle as oracle;
use runtime_oracle::{le_i32, le_u32, Rng};

fn shape(h: usize, w: usize, c: usize) -> Shape {
    Shape { h, w, c }
}

/// Output length along an axis for a random end padding, if the window fits.
fn out_len(rng: &mut Rng, n: usize, k: usize, s: usize, d: usize, p: usize) -> Option<usize> {
    let eff = (k - 1) * d + 1;
    let pe = rng.usize(0, p);
    (n + p + pe >= eff).then(|| (n + p + pe - eff) / s + 1)
}

fn clamp_pair(rng: &mut Rng) -> (i8, i8) {
    match rng.usize(0, 2) {
        0 => (i8::MIN, i8::MAX),
        1 => {
            let lo = rng.range(-128, 0) as i8;
            (lo, i8::MAX)
        }
        _ => {
            let a = rng.i8();
            let b = rng.i8();
            (a.min(b), a.max(b))
        }
    }
}

#[test]
fn conv2d_matches_oracle() {
    let mut rng = Rng(0x5eed_0001);
    let mut cases = 0;
    let mut seen = [false; 256];
    while cases < oracle::cases(400) {
        let mode = rng.usize(0, 3); // 0 dense, 1 grouped, 2 depthwise, 3 dense 1x1
        let g = match mode {
            0 | 3 => 1,
            1 => rng.usize(2, 3),
            _ => rng.usize(1, 6),
        };
        let ic = if mode == 2 { g } else { g * rng.usize(1, 5) };
        let oc = g * rng.usize(1, if mode == 2 { 2 } else { 5 });
        let (ih, iw) = (rng.usize(1, 11), rng.usize(1, 11));
        let k = if mode == 3 {
            [1, 1]
        } else {
            [rng.usize(1, 5), rng.usize(1, 5)]
        };
        let s = [rng.usize(1, 3), rng.usize(1, 3)];
        let d = if mode == 3 {
            [1, 1]
        } else {
            [rng.usize(1, 3), rng.usize(1, 3)]
        };
        let p = [rng.usize(0, k[0] - 1 + d[0]), rng.usize(0, k[1] - 1 + d[1])];
        let (Some(oh), Some(ow)) = (
            out_len(&mut rng, ih, k[0], s[0], d[0], p[0]),
            out_len(&mut rng, iw, k[1], s[1], d[1], p[1]),
        ) else {
            continue;
        };
        cases += 1;
        let x = rng.i8s(ih * iw * ic);
        let w = rng.i8s(oc * k[0] * k[1] * (ic / g));
        let bias: Vec<i32> = (0..oc).map(|_| rng.range(-20_000, 20_000) as i32).collect();
        let n_rq = if rng.usize(0, 1) == 0 { 1 } else { oc };
        let m: Vec<i32> = (0..n_rq).map(|_| rng.mult()).collect();
        let taps = (k[0] * k[1] * ic / g) as u32;
        let base = 31 + 32 - (taps * 128 * 128).leading_zeros() as u8 - 8;
        let sh: Vec<u8> = (0..n_rq)
            .map(|_| (base as i64 + rng.range(-2, 2)).clamp(1, 62) as u8)
            .collect();
        let (xzp, yzp) = (rng.i8(), rng.i8());
        let (lo, hi) = clamp_pair(&mut rng);
        let expected = oracle::conv(
            &x,
            [ih, iw, ic],
            xzp,
            [oh, ow, oc],
            yzp,
            k,
            s,
            d,
            p,
            g,
            &w,
            &bias,
            &m,
            &sh,
            lo,
            hi,
        );
        let mut y = vec![0i8; oh * ow * oc];
        let (bb, mb) = (le_i32(&bias), le_i32(&m));
        let params = ConvParams {
            window: Window {
                kernel: k,
                stride: s,
                dilation: d,
                pad: p,
            },
            groups: g,
            weights: &w,
            packed: None,
            bias: I32s::new(&bb).unwrap(),
            rescale: Rescale {
                multiplier: I32s::new(&mb).unwrap(),
                shift: &sh,
            },
            clamp: Clamp { min: lo, max: hi },
        };
        kernels::conv2d(
            In {
                data: &x,
                shape: shape(ih, iw, ic),
                zero_point: xzp,
            },
            Out {
                data: &mut y,
                shape: shape(oh, ow, oc),
                zero_point: yzp,
            },
            &params,
        )
        .unwrap();
        for &v in &y {
            seen[(v as u8) as usize] = true;
        }
        assert_eq!(y, expected, "conv case {cases}: in {ih}x{iw}x{ic} out {oh}x{ow}x{oc} k{k:?} s{s:?} d{d:?} p{p:?} g{g}");
    }
    let distinct = seen.iter().filter(|&&b| b).count();
    assert!(
        distinct > if cfg!(miri) { 2 } else { 200 },
        "outputs are not degenerate: {distinct} distinct values"
    );
}

#[test]
fn conv2d_rejects_inconsistent_arguments() {
    let x = [0i8; 12];
    let mut y = [0i8; 4];
    let (b, m) = (le_i32(&[0; 4]), le_i32(&[1 << 30]));
    let w = [1i8; 4 * 3]; // 1x1, ic 3, oc 4
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
    let run = |p: &ConvParams, y: &mut [i8]| {
        kernels::conv2d(
            In {
                data: &x[..3],
                shape: shape(1, 1, 3),
                zero_point: 0,
            },
            Out {
                data: y,
                shape: shape(1, 1, 4),
                zero_point: 0,
            },
            p,
        )
    };
    assert!(run(&p, &mut y).is_ok());
    p.groups = 2; // 3 % 2 != 0
    assert!(run(&p, &mut y).is_err());
    p.groups = 1;
    p.weights = &w[..11];
    assert!(run(&p, &mut y).is_err());
    p.weights = &w;
    p.window.stride = [0, 1];
    assert!(run(&p, &mut y).is_err());
    p.window.stride = [1, 1];
    assert!(run(&p, &mut y[..3]).is_err(), "output length vs shape");
}

#[test]
fn fully_connected_matches_oracle() {
    let mut rng = Rng(0x5eed_0002);
    for case in 0..oracle::cases(200) {
        let (h, w, c) = (rng.usize(1, 4), rng.usize(1, 4), rng.usize(1, 40));
        let n_in = h * w * c;
        let n_out = rng.usize(1, 33);
        let x = rng.i8s(n_in);
        let wt = rng.i8s(n_in * n_out);
        let bias: Vec<i32> = (0..n_out)
            .map(|_| rng.range(-50_000, 50_000) as i32)
            .collect();
        let n_rq = if case % 2 == 0 { 1 } else { n_out };
        let m: Vec<i32> = (0..n_rq).map(|_| rng.mult()).collect();
        let base = 31 + 32 - ((n_in as u32) * 128 * 128).leading_zeros() as u8 - 8;
        let sh: Vec<u8> = (0..n_rq)
            .map(|_| (base as i64 + rng.range(-2, 2)) as u8)
            .collect();
        let (xzp, yzp) = (rng.i8(), rng.i8());
        let (lo, hi) = clamp_pair(&mut rng);
        let expected = oracle::fc(&x, xzp, n_out, yzp, &wt, &bias, &m, &sh, lo, hi);
        let mut y = vec![0i8; n_out];
        let (bb, mb) = (le_i32(&bias), le_i32(&m));
        let p = FcParams {
            weights: &wt,
            bias: I32s::new(&bb).unwrap(),
            rescale: Rescale {
                multiplier: I32s::new(&mb).unwrap(),
                shift: &sh,
            },
            clamp: Clamp { min: lo, max: hi },
        };
        kernels::fully_connected(
            In {
                data: &x,
                shape: shape(h, w, c),
                zero_point: xzp,
            },
            Out {
                data: &mut y,
                shape: shape(1, 1, n_out),
                zero_point: yzp,
            },
            &p,
        )
        .unwrap();
        assert_eq!(y, expected, "fc case {case}");
    }
}

#[test]
fn pools_match_oracle() {
    let mut rng = Rng(0x5eed_0003);
    let mut cases = 0;
    while cases < oracle::cases(400) {
        let (ih, iw, c) = (rng.usize(1, 12), rng.usize(1, 12), rng.usize(1, 7));
        let k = [rng.usize(1, 4), rng.usize(1, 4)];
        let s = [rng.usize(1, 3), rng.usize(1, 3)];
        let p = [rng.usize(0, k[0] - 1), rng.usize(0, k[1] - 1)];
        let pe = [rng.usize(0, k[0] - 1), rng.usize(0, k[1] - 1)];
        if ih + p[0] + pe[0] < k[0] || iw + p[1] + pe[1] < k[1] {
            continue;
        }
        cases += 1;
        let (oh, ow) = (
            (ih + p[0] + pe[0] - k[0]) / s[0] + 1,
            (iw + p[1] + pe[1] - k[1]) / s[1] + 1,
        );
        let x = rng.i8s(ih * iw * c);
        let zp = rng.i8();
        let (lo, hi) = clamp_pair(&mut rng);
        let window = Window {
            kernel: k,
            stride: s,
            dilation: [1, 1],
            pad: p,
        };
        let clamp = Clamp { min: lo, max: hi };

        let mut y = vec![0i8; oh * ow * c];
        let xin = In {
            data: &x,
            shape: shape(ih, iw, c),
            zero_point: zp,
        };
        kernels::max_pool(
            xin,
            Out {
                data: &mut y,
                shape: shape(oh, ow, c),
                zero_point: zp,
            },
            &window,
            clamp,
        )
        .unwrap();
        assert_eq!(
            y,
            oracle::max_pool(&x, [ih, iw, c], [oh, ow], k, s, p, lo, hi),
            "maxpool case {cases}"
        );

        for include in [false, true] {
            let params = AvgParams {
                window,
                pad_end: pe,
                count_include_pad: include,
                clamp,
            };
            kernels::avg_pool(
                xin,
                Out {
                    data: &mut y,
                    shape: shape(oh, ow, c),
                    zero_point: zp,
                },
                &params,
            )
            .unwrap();
            let expected =
                oracle::avg_pool(&x, [ih, iw, c], zp, [oh, ow], k, s, p, pe, include, lo, hi);
            assert_eq!(y, expected, "avgpool case {cases} include_pad {include}");
        }
    }
}

#[test]
fn global_average_pool_rounds_half_away_from_zero() {
    // 2 values per channel: sums -3, 3, -1 over n = 2 → -1.5, 1.5, -0.5 → -2, 2, -1.
    let x = [-1i8, 1, 0, -2, 2, -1];
    let mut y = [0i8; 3];
    let p = AvgParams {
        window: Window {
            kernel: [1, 2],
            stride: [1, 1],
            dilation: [1, 1],
            pad: [0, 0],
        },
        pad_end: [0, 0],
        count_include_pad: false,
        clamp: Clamp::NONE,
    };
    kernels::avg_pool(
        In {
            data: &x,
            shape: shape(1, 2, 3),
            zero_point: 0,
        },
        Out {
            data: &mut y,
            shape: shape(1, 1, 3),
            zero_point: 0,
        },
        &p,
    )
    .unwrap();
    assert_eq!(y, [-2, 2, -1]);
}

#[test]
fn add_requantize_concat_match_oracle() {
    let mut rng = Rng(0x5eed_0004);
    for case in 0..oracle::cases(200) {
        // Every third case has ≥ 1024 elements: Add's tabulated path.
        let (h, w, c) = if case % 3 == 0 {
            (rng.usize(8, 12), rng.usize(8, 12), rng.usize(16, 24))
        } else {
            (rng.usize(1, 6), rng.usize(1, 6), rng.usize(1, 9))
        };
        let n = h * w * c;
        let (a, b) = (rng.i8s(n), rng.i8s(n));
        let (azp, bzp, yzp) = (rng.i8(), rng.i8(), rng.i8());
        let r = [
            (rng.mult(), rng.usize(20, 24) as u8),
            (rng.mult(), rng.usize(20, 24) as u8),
            (rng.mult(), rng.usize(20, 24) as u8),
        ];
        let (lo, hi) = clamp_pair(&mut rng);
        let mut y = vec![0i8; n];
        let sh = shape(h, w, c);
        let p = AddParams {
            a: r[0],
            b: r[1],
            out: r[2],
            clamp: Clamp { min: lo, max: hi },
        };
        kernels::add(
            In {
                data: &a,
                shape: sh,
                zero_point: azp,
            },
            In {
                data: &b,
                shape: sh,
                zero_point: bzp,
            },
            Out {
                data: &mut y,
                shape: sh,
                zero_point: yzp,
            },
            &p,
        )
        .unwrap();
        assert_eq!(
            y,
            oracle::add(&a, azp, &b, bzp, yzp, r, lo, hi),
            "add case {case}"
        );

        let (m, s) = (rng.mult(), rng.usize(28, 33) as u8);
        let mb = le_i32(&[m]);
        let rs = Rescale {
            multiplier: I32s::new(&mb).unwrap(),
            shift: &[s],
        };
        kernels::requantize_op(
            In {
                data: &a,
                shape: sh,
                zero_point: azp,
            },
            Out {
                data: &mut y,
                shape: sh,
                zero_point: yzp,
            },
            &rs,
            Clamp { min: lo, max: hi },
        )
        .unwrap();
        assert_eq!(
            y,
            oracle::requant(&a, azp, yzp, m, s, lo, hi),
            "requantize case {case}"
        );

        let c2 = rng.usize(1, 5);
        let x2 = rng.i8s(h * w * c2);
        let mut yc = vec![0i8; h * w * (c + c2)];
        let mut out = Out {
            data: &mut yc,
            shape: shape(h, w, c + c2),
            zero_point: 0,
        };
        kernels::concat_into(
            In {
                data: &a,
                shape: sh,
                zero_point: 0,
            },
            &mut out,
            0,
        )
        .unwrap();
        kernels::concat_into(
            In {
                data: &x2,
                shape: shape(h, w, c2),
                zero_point: 0,
            },
            &mut out,
            c,
        )
        .unwrap();
        assert!(kernels::concat_into(
            In {
                data: &x2,
                shape: shape(h, w, c2),
                zero_point: 0
            },
            &mut out,
            c + 1
        )
        .is_err());
        assert_eq!(
            yc,
            oracle::concat(&[(&a, c), (&x2, c2)], h * w),
            "concat case {case}"
        );
    }
}

#[test]
fn lrn_matches_oracle() {
    let mut rng = Rng(0x5eed_0005);
    for case in 0..oracle::cases(200) {
        let (h, w, c) = (rng.usize(1, 4), rng.usize(1, 4), rng.usize(1, 40));
        let size = rng.usize(1, 7);
        let x = rng.i8s(h * w * c);
        let lut_len = rng.usize(1, 700);
        let lut: Vec<i32> = (0..lut_len).map(|_| rng.range(0, 1 << 30) as i32).collect();
        let shift = rng.usize(25, 36) as u8;
        let (xzp, yzp) = (rng.i8(), rng.i8());
        let mut y = vec![0i8; x.len()];
        let lb = le_i32(&lut);
        let p = LrnParams {
            size,
            lut: I32s::new(&lb).unwrap(),
            lut_shift: shift,
        };
        let sh = shape(h, w, c);
        kernels::lrn(
            In {
                data: &x,
                shape: sh,
                zero_point: xzp,
            },
            Out {
                data: &mut y,
                shape: sh,
                zero_point: yzp,
            },
            &p,
        )
        .unwrap();
        assert_eq!(
            y,
            oracle::lrn(&x, c, xzp, yzp, size, &lut, shift),
            "lrn case {case} size {size} c {c}"
        );
    }
}

#[test]
fn softmax_matches_oracle_and_sums_to_one() {
    let mut rng = Rng(0x5eed_0006);
    for case in 0..oracle::cases(200) {
        let (h, c) = (rng.usize(1, 3), rng.usize(1, 30));
        let x = rng.i8s(h * c);
        let lut = oracle::exp_lut(rng.range(1, 400) as f64 / 1000.0);
        let mut y = vec![0i8; x.len()];
        let sh = shape(h, 1, c);
        let lb = le_u32(&lut);
        kernels::softmax(
            In {
                data: &x,
                shape: sh,
                zero_point: 0,
            },
            Out {
                data: &mut y,
                shape: sh,
                zero_point: -128,
            },
            U32s::new(&lb).unwrap(),
        )
        .unwrap();
        let expected = oracle::softmax(&x, c, &lut);
        assert_eq!(y, expected, "softmax case {case}");
        for px in y.chunks(c) {
            let total: i64 = px.iter().map(|&v| v as i64 + 128).sum();
            assert!(
                (total - 256).abs() <= c as i64,
                "probabilities sum to ~1: {total}/256"
            );
        }
    }
}

#[test]
fn kernels_survive_out_of_contract_values() {
    // Shift 0 and a zero exp table must not panic (the parser rejects them; kernels clamp).
    let x = [5i8, -3];
    let mut y = [0i8; 2];
    let sh = shape(1, 1, 2);
    let mb = le_i32(&[i32::MAX]);
    let rs = Rescale {
        multiplier: I32s::new(&mb).unwrap(),
        shift: &[0],
    };
    kernels::requantize_op(
        In {
            data: &x,
            shape: sh,
            zero_point: 0,
        },
        Out {
            data: &mut y,
            shape: sh,
            zero_point: 0,
        },
        &rs,
        Clamp::NONE,
    )
    .unwrap();
    assert_eq!(y, [127, -128]);
    let zeros = le_u32(&[0; 256]);
    kernels::softmax(
        In {
            data: &x,
            shape: sh,
            zero_point: 0,
        },
        Out {
            data: &mut y,
            shape: sh,
            zero_point: -128,
        },
        U32s::new(&zeros).unwrap(),
    )
    .unwrap();
    assert_eq!(y, [-128, -128]);
}

#[test]
fn add_and_requantize_in_place_match_out_of_place() {
    use edgecnn::kernels::Operand;
    let mut rng = Rng(0x5eed_0007);
    for case in 0..oracle::cases(50) {
        // Every other case has ≥ 1024 elements: Add's tabulated path.
        let sh = if case % 2 == 0 {
            shape(rng.usize(8, 10), rng.usize(8, 10), rng.usize(16, 20))
        } else {
            shape(rng.usize(1, 5), rng.usize(1, 5), rng.usize(1, 6))
        };
        let n = sh.h * sh.w * sh.c;
        let (a, b) = (rng.i8s(n), rng.i8s(n));
        let (azp, bzp, yzp) = (rng.i8(), rng.i8(), rng.i8());
        let p = AddParams {
            a: (rng.mult(), 21),
            b: (rng.mult(), 21),
            out: (rng.mult(), 31),
            clamp: Clamp::NONE,
        };
        let ain = In {
            data: &a,
            shape: sh,
            zero_point: azp,
        };
        let bin = In {
            data: &b,
            shape: sh,
            zero_point: bzp,
        };
        let mut expected = vec![0i8; n];
        kernels::add(
            ain,
            bin,
            Out {
                data: &mut expected,
                shape: sh,
                zero_point: yzp,
            },
            &p,
        )
        .unwrap();

        let mut y = a.clone(); // a in place
        kernels::add_into(
            Operand::Output { zero_point: azp },
            Operand::Tensor(bin),
            Out {
                data: &mut y,
                shape: sh,
                zero_point: yzp,
            },
            &p,
        )
        .unwrap();
        assert_eq!(y, expected);
        let mut y = b.clone(); // b in place
        kernels::add_into(
            Operand::Tensor(ain),
            Operand::Output { zero_point: bzp },
            Out {
                data: &mut y,
                shape: sh,
                zero_point: yzp,
            },
            &p,
        )
        .unwrap();
        assert_eq!(y, expected);
        // a + a, both in place
        let mut expected2 = vec![0i8; n];
        let a2 = In {
            data: &a,
            shape: sh,
            zero_point: azp,
        };
        kernels::add(
            a2,
            a2,
            Out {
                data: &mut expected2,
                shape: sh,
                zero_point: yzp,
            },
            &p,
        )
        .unwrap();
        let mut y = a.clone();
        let o = Operand::Output { zero_point: azp };
        kernels::add_into(
            o,
            o,
            Out {
                data: &mut y,
                shape: sh,
                zero_point: yzp,
            },
            &p,
        )
        .unwrap();
        assert_eq!(y, expected2);

        let mb = le_i32(&[rng.mult()]);
        let rs = Rescale {
            multiplier: I32s::new(&mb).unwrap(),
            shift: &[31],
        };
        let clamp = Clamp { min: -50, max: 90 };
        kernels::requantize_op(
            ain,
            Out {
                data: &mut expected,
                shape: sh,
                zero_point: yzp,
            },
            &rs,
            clamp,
        )
        .unwrap();
        let mut y = a.clone();
        kernels::requantize_in_place(
            Out {
                data: &mut y,
                shape: sh,
                zero_point: yzp,
            },
            azp,
            &rs,
            clamp,
        )
        .unwrap();
        assert_eq!(y, expected);
    }
}

/// Wide channel counts: input runs longer than the kernels' internal chunk (128), blocks of
/// neighbouring pixels and partial output-channel blocks.
#[test]
fn conv2d_wide_channels_match_oracle() {
    let mut rng = Rng(0x5eed_0008);
    for case in 0..oracle::cases(12) {
        let (ih, iw) = (rng.usize(3, 9), rng.usize(4, 14));
        let (ic, oc) = (rng.usize(40, 200), rng.usize(1, 21));
        let kk = [1, 3, 5][case % 3];
        let (k, s, d, p) = (
            [kk, kk],
            [1 + case % 2, 1 + case % 2],
            [1, 1],
            [kk / 2, kk / 2],
        );
        let oh = (ih + 2 * p[0] - k[0]) / s[0] + 1;
        let ow = (iw + 2 * p[1] - k[1]) / s[1] + 1;
        let x = rng.i8s(ih * iw * ic);
        let w = rng.i8s(oc * k[0] * k[1] * ic);
        let bias: Vec<i32> = (0..oc).map(|_| rng.range(-50_000, 50_000) as i32).collect();
        let m: Vec<i32> = (0..oc).map(|_| rng.mult()).collect();
        let sh: Vec<u8> = (0..oc).map(|_| rng.usize(38, 42) as u8).collect();
        let (xzp, yzp) = (rng.i8(), rng.i8());
        let expected = oracle::conv(
            &x,
            [ih, iw, ic],
            xzp,
            [oh, ow, oc],
            yzp,
            k,
            s,
            d,
            p,
            1,
            &w,
            &bias,
            &m,
            &sh,
            -128,
            127,
        );
        let (bb, mb) = (le_i32(&bias), le_i32(&m));
        let params = ConvParams {
            window: Window {
                kernel: k,
                stride: s,
                dilation: d,
                pad: p,
            },
            groups: 1,
            weights: &w,
            packed: None,
            bias: I32s::new(&bb).unwrap(),
            rescale: Rescale {
                multiplier: I32s::new(&mb).unwrap(),
                shift: &sh,
            },
            clamp: Clamp::NONE,
        };
        let mut y = vec![0i8; oh * ow * oc];
        kernels::conv2d(
            In {
                data: &x,
                shape: shape(ih, iw, ic),
                zero_point: xzp,
            },
            Out {
                data: &mut y,
                shape: shape(oh, ow, oc),
                zero_point: yzp,
            },
            &params,
        )
        .unwrap();
        assert_eq!(
            y, expected,
            "wide conv case {case}: {ih}x{iw}x{ic} -> {oh}x{ow}x{oc} k{kk}"
        );
        let distinct: std::collections::BTreeSet<i8> = y.iter().copied().collect();
        assert!(distinct.len() > 10, "case {case}: outputs vary");
    }
}
