//! The DSP kernels against the reference, on the core itself: random dense and grouped
//! convolutions and fully connected layers (shapes, strides, pads, dilations, odd channel
//! counts, one-channel 3×3 stems, global pools, windows past the DSP GEMM's 576 taps, extreme zero points and data, single and
//! per-channel rescales with shifts on both sides of 32, clamps), each run through
//! `conv2d_on(Isa::best())` / `fully_connected_on` and through `kernels::reference`, and
//! random depthwise convolutions and random Adds (`add_on`, separate or in-place operands, output shifts inside and outside
//! the DSP Add's range), the output bytes compared. The host cannot run these kernels (`tests/kernels_simd.rs` covers
//! x86-64 and aarch64); this runs on every QEMU Cortex-M boot. No allocation: the buffers
//! are fixed-size arrays on the stack, after the golden run's stack was measured.

use edgecnn::format::pack::{pack_into, packed_len, PackKind, PackQuant};
use edgecnn::kernels::{
    self, reference, AddParams, Clamp, ConvParams, FcParams, I32s, In, Isa, Operand, Out, Packed,
    Rescale, Shape, Window,
};

/// xorshift32: deterministic, no dependencies.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() as usize) % (hi - lo + 1)
    }
    fn i8(&mut self) -> i8 {
        self.next() as i8
    }
    /// A zero point, often an extreme.
    fn zero_point(&mut self) -> i8 {
        match self.range(0, 4) {
            0 => -128,
            1 => 127,
            2 => 0,
            _ => self.i8(),
        }
    }
    /// Fills `d` with int8 data, sometimes all at an extreme (the largest products).
    fn fill(&mut self, d: &mut [i8]) {
        let mode = self.range(0, 9);
        for v in d {
            *v = match mode {
                0 => -128,
                1 => 127,
                _ => self.i8(),
            };
        }
    }
}

const MAX_X: usize = 1600;
const MAX_W: usize = 6000;
const MAX_Y: usize = 1200;
const MAX_OC: usize = 24;
/// Largest [`PackKind::CortexMDsp`] pack a dense case is also run with (on the stack: a
/// case whose pack is larger runs unpacked only).
const MAX_PACK: usize = 8192;

/// A pack buffer, word-aligned as plans place packs (the packed GEMM reads it with `LDM`).
#[repr(C, align(4))]
struct PackBuf([u8; MAX_PACK]);

/// Bias, rescale and clamp for `n` outputs of `taps` taps, as little-endian bytes.
struct Requant {
    bias: [u8; 4 * MAX_OC],
    mult: [u8; 4 * MAX_OC],
    shift: [u8; MAX_OC],
    per_channel: bool,
    clamp: Clamp,
}

impl Requant {
    fn new(rng: &mut Rng, n: usize, taps: usize) -> Self {
        let mut r = Requant {
            bias: [0; 4 * MAX_OC],
            mult: [0; 4 * MAX_OC],
            shift: [0; MAX_OC],
            per_channel: rng.range(0, 1) == 1,
            clamp: Clamp::NONE,
        };
        // Shifts that keep outputs spread: the largest sum's bits + 31 - 8, moved by -3..=2,
        // so both sides of 32 come up (small layers have sums below 2^16).
        let bits = 32 - ((taps * 128 * 128) as u32).leading_zeros() as usize;
        // One layer in six takes shifts anywhere in 10..=62 and now and then a bias near the
        // i32 extremes: the DSP GEMM's general requantisation (outside its fast form's
        // 32..=53 shifts and bias range) is checked too.
        let wild = rng.range(0, 5) == 0;
        for o in 0..n {
            let b = if wild && rng.range(0, 3) == 0 {
                (rng.next() | 0x7f00_0000) as i32
            } else {
                rng.range(0, 100_000) as i32 - 50_000
            };
            r.bias[4 * o..4 * o + 4].copy_from_slice(&b.to_le_bytes());
            let m = (rng.next() >> 1 | 0x4000_0000) as i32; // Q31 in [0.5, 1)
            r.mult[4 * o..4 * o + 4].copy_from_slice(&m.to_le_bytes());
            r.shift[o] = if wild {
                rng.range(10, 62) as u8
            } else {
                (bits + 31 - 8 + rng.range(0, 5) - 3).clamp(1, 62) as u8
            };
        }
        r.clamp = match rng.range(0, 2) {
            0 => Clamp::NONE,
            1 => Clamp {
                min: (rng.range(0, 128) as i32 - 128) as i8,
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
        r
    }
    fn bias(&self, n: usize) -> I32s<'_> {
        I32s::new(&self.bias[..4 * n]).unwrap_or_default()
    }
    fn rescale(&self, n: usize) -> Rescale<'_> {
        let k = if self.per_channel { n } else { 1 };
        Rescale {
            multiplier: I32s::new(&self.mult[..4 * k]).unwrap_or_default(),
            shift: &self.shift[..k],
        }
    }
}

/// What [`check`] ran.
pub struct Checked {
    /// Random layers run.
    pub cases: u32,
    /// Of them, dense convolutions also run with their weights packed
    /// ([`PackKind::CortexMDsp`]), as a plan compiled with `--pack cortex-m-dsp` gives them.
    pub packed: u32,
    /// Layers whose kernels returned different `Result`s or bytes than the reference.
    pub mismatches: u32,
}

/// Runs `cases` random convolutions and `cases / 4` fully connected layers on `Isa::best()`
/// and on the reference, the dense convolutions whose pack fits [`MAX_PACK`] once more with
/// it. A case whose kernels return different `Result`s, or different bytes, is a mismatch.
#[inline(never)] // its buffers stay out of the caller's frame (and its stack figure)
pub fn check(cases: u32) -> Checked {
    let mut rng = Rng(0x5eed_d5b1);
    let (mut ran, mut bad, mut packed) = (0, 0, 0);
    let mut pack = PackBuf([0; MAX_PACK]);
    let mut x = [0i8; MAX_X];
    let mut w = [0i8; MAX_W];
    let mut y0 = [0i8; MAX_Y];
    let mut y1 = [0i8; MAX_Y];
    let isa = Isa::best();
    while ran < cases {
        let grouped = rng.range(0, 5) == 0;
        // Depthwise (one channel per group, the DSP depthwise kernel) in a third of them.
        let depthwise = grouped && rng.range(0, 2) == 0;
        let g = match (grouped, depthwise) {
            (_, true) => rng.range(1, 24),
            (true, false) => rng.range(2, 3),
            _ => 1,
        };
        let ic = g * rng.range(
            1,
            if depthwise {
                1
            } else if grouped {
                8
            } else {
                70
            },
        );
        let oc = g * rng.range(1, if depthwise { 1 } else { MAX_OC / g });
        // One dense case in eight a one-channel 3×3 stem (the packed GEMM's bordered-image
        // path), which the random shapes would seldom draw.
        let stem = !grouped && rng.range(0, 7) == 0;
        let ic = if stem { 1 } else { ic };
        let k = if stem {
            [3, 3]
        } else {
            [rng.range(1, 5), rng.range(1, 5)]
        };
        let s = [rng.range(1, 2), rng.range(1, 2)];
        let d = if !stem && rng.range(0, 3) == 0 {
            [rng.range(1, 2), rng.range(1, 2)]
        } else {
            [1, 1]
        };
        let pad = [rng.range(0, k[0]), rng.range(0, k[1])];
        let (ih, iw) = (rng.range(1, 9), rng.range(1, 9));
        // One depthwise case in three a global pool (the window is the whole input: the
        // depthwise kernel's one-run path), which the random shapes would seldom draw.
        let pool = depthwise && rng.range(0, 2) == 0;
        let (k, s, d, pad) = if pool {
            ([ih, iw], [1, 1], [1, 1], [0, 0])
        } else {
            (k, s, d, pad)
        };
        let out = |n: usize, k: usize, s: usize, d: usize, p: usize| {
            let eff = (k - 1) * d + 1;
            (n + 2 * p >= eff).then(|| (n + 2 * p - eff) / s + 1)
        };
        let (Some(oh), Some(ow)) = (
            out(ih, k[0], s[0], d[0], pad[0]),
            out(iw, k[1], s[1], d[1], pad[1]),
        ) else {
            continue;
        };
        let taps = k[0] * k[1] * (ic / g);
        let (nx, nw, ny) = (ih * iw * ic, oc * taps, oh * ow * oc);
        if nx > MAX_X || nw > MAX_W || ny > MAX_Y || oc > MAX_OC {
            continue;
        }
        ran += 1;
        rng.fill(&mut x[..nx]);
        rng.fill(&mut w[..nw]);
        let rq = Requant::new(&mut rng, oc, taps);
        let (xzp, yzp) = (rng.zero_point(), rng.i8());
        let p = ConvParams {
            window: Window {
                kernel: k,
                stride: s,
                dilation: d,
                pad,
            },
            groups: g,
            weights: &w[..nw],
            packed: None,
            bias: rq.bias(oc),
            rescale: rq.rescale(oc),
            clamp: rq.clamp,
        };
        let xin = || In {
            data: &x[..nx],
            shape: Shape {
                h: ih,
                w: iw,
                c: ic,
            },
            zero_point: xzp,
        };
        let ys = Shape {
            h: oh,
            w: ow,
            c: oc,
        };
        let a = reference::conv2d(xin(), out_view(&mut y0[..ny], ys, yzp), &p);
        let b = kernels::conv2d_on(isa, xin(), out_view(&mut y1[..ny], ys, yzp), &p);
        if a != b || y0[..ny] != y1[..ny] {
            bad += 1;
        }
        let kind = PackKind::CortexMDsp;
        if let Some(len) = packed_len(kind, oc, taps).filter(|&l| g == 1 && l <= MAX_PACK) {
            let bytes = &mut pack.0[..len];
            let word = |b: &[u8], i: usize| i32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
            let bias: [i32; MAX_OC] = core::array::from_fn(|o| word(&rq.bias, o));
            let mult: [i32; MAX_OC] = core::array::from_fn(|o| word(&rq.mult, o));
            let per = if rq.per_channel { oc } else { 1 };
            let quant = PackQuant {
                bias: &bias[..oc],
                multiplier: &mult[..per],
                shift: &rq.shift[..per],
                input_zero_point: xzp,
                output_zero_point: yzp,
            };
            let pk = pack_into(kind, &w[..nw], oc, taps, &quant, bytes)
                .and_then(|()| Packed::new(kind, &pack.0[..len], oc, taps));
            match pk {
                Some(pk) => {
                    packed += 1;
                    let pp = ConvParams {
                        packed: Some(pk),
                        ..p
                    };
                    let c = kernels::conv2d_on(isa, xin(), out_view(&mut y1[..ny], ys, yzp), &pp);
                    if a != c || y0[..ny] != y1[..ny] {
                        bad += 1;
                    }
                }
                None => bad += 1, // a pack of the right length is always made and accepted
            }
        }
        if ran % 2 == 0 {
            // An Add over the same input bytes (two halves of `x`), sometimes in place.
            if !check_add(&mut rng, &x[..nx], &mut y0, &mut y1) {
                bad += 1;
            }
        }
        if ran % 4 == 0 {
            // A fully connected layer over the same input bytes.
            let n_in = nx.min(MAX_W / MAX_OC);
            let n_out = oc;
            let rq = Requant::new(&mut rng, n_out, n_in);
            let fc = FcParams {
                weights: &w[..n_in * n_out],
                bias: rq.bias(n_out),
                rescale: rq.rescale(n_out),
                clamp: rq.clamp,
            };
            let xin = In {
                data: &x[..n_in],
                shape: Shape {
                    h: 1,
                    w: 1,
                    c: n_in,
                },
                zero_point: xzp,
            };
            let ys = Shape {
                h: 1,
                w: 1,
                c: n_out,
            };
            let a = reference::fully_connected(xin, out_view(&mut y0[..n_out], ys, yzp), &fc);
            let b = kernels::fully_connected_on(isa, xin, out_view(&mut y1[..n_out], ys, yzp), &fc);
            if a != b || y0[..n_out] != y1[..n_out] {
                bad += 1;
            }
        }
    }
    Checked {
        cases: ran,
        packed,
        mismatches: bad,
    }
}

/// A random clamp: none, a ReLU-like lower bound, or both bounds.
fn clamp(rng: &mut Rng) -> Clamp {
    match rng.range(0, 2) {
        0 => Clamp::NONE,
        1 => Clamp {
            min: rng.i8(),
            max: 127,
        },
        _ => {
            let (a, b) = (rng.i8(), rng.i8());
            Clamp {
                min: a.min(b),
                max: a.max(b),
            }
        }
    }
}

/// One random Add of `x`'s two halves (or of one half and the output itself, in place, or
/// of the output with itself) on `Isa::best()` and on the reference; `true` when the results
/// and bytes agree. Lengths from 1 to 800 (both sides of the DSP Add's 256-element
/// threshold), output shifts mostly in its `33..=54` range, sometimes outside.
fn check_add(rng: &mut Rng, x: &[i8], y0: &mut [i8], y1: &mut [i8]) -> bool {
    let half = x.len() / 2;
    let len = half.min(rng.range(1, 800));
    if len == 0 {
        return true;
    }
    let (a, b) = (&x[..len], &x[half..half + len]);
    let shape = Shape { h: 1, w: len, c: 1 };
    let m = |rng: &mut Rng| (rng.next() >> 1 | 0x4000_0000) as i32;
    let s_in = |rng: &mut Rng| rng.range(34, 42) as u8;
    let s_out = if rng.range(0, 5) == 0 {
        rng.range(20, 62)
    } else {
        rng.range(38, 48)
    } as u8;
    let p = AddParams {
        a: (m(rng), s_in(rng)),
        b: (m(rng), s_in(rng)),
        out: (m(rng), s_out),
        clamp: clamp(rng),
    };
    let (azp, bzp, yzp) = (rng.zero_point(), rng.zero_point(), rng.i8());
    let mode = rng.range(0, 3);
    let (y0, y1) = (&mut y0[..len], &mut y1[..len]);
    // In place: the output holds `a`'s bytes before the op.
    y0.copy_from_slice(a);
    y1.copy_from_slice(a);
    let operands = |mode: usize| -> (Operand<'_>, Operand<'_>) {
        let ta = Operand::Tensor(In {
            data: a,
            shape,
            zero_point: azp,
        });
        let tb = Operand::Tensor(In {
            data: b,
            shape,
            zero_point: bzp,
        });
        let out = Operand::Output { zero_point: azp };
        match mode {
            0 => (ta, tb),
            1 => (out, tb),
            2 => (tb, out),
            _ => (out, out),
        }
    };
    let (oa, ob) = operands(mode);
    let r0 = reference::add_into(
        oa,
        ob,
        Out {
            data: y0,
            shape,
            zero_point: yzp,
        },
        &p,
    );
    let (oa, ob) = operands(mode);
    let r1 = kernels::add_on(
        Isa::best(),
        oa,
        ob,
        Out {
            data: &mut *y1,
            shape,
            zero_point: yzp,
        },
        &p,
    );
    r0 == r1 && y0 == y1
}

fn out_view(data: &mut [i8], shape: Shape, zero_point: i8) -> Out<'_> {
    data.fill(0x55);
    Out {
        data,
        shape,
        zero_point,
    }
}
