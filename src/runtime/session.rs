//! [`Session`]: a plan bound to a caller-owned arena; runs the steps.

use super::error::{BindError, RunError};
use super::plan::{Plan, TensorInfo};
use super::step::{OpView, StepView};
use crate::format::overlap::RowOverlap;
use crate::format::view;
use crate::kernels::{self, In, Isa, Operand, Out, Shape};

/// A [`Plan`] bound to an arena. Allocation-free; `run` never panics.
///
/// The arena holds every activation; the caller writes the input tensor
/// ([`Session::input_mut`], [`Session::set_input`], [`Session::set_input_pixels`]), calls
/// [`Session::run`] and reads [`Session::output`].
#[derive(Debug)]
pub struct Session<'p, 'b, 'a> {
    plan: &'p Plan<'b>,
    arena: &'a mut [u8],
    /// Threads for convolutions and fully connected layers (1 unless `set_threads`).
    threads: usize,
    /// The instruction set of the dense kernels (`Isa::best()` unless `set_isa`).
    isa: Isa,
}

fn view<'x>(t: &TensorInfo, bytes: &'x [u8]) -> In<'x> {
    In {
        data: bytemuck::cast_slice(bytes),
        shape: Shape::new(t.shape),
        zero_point: t.zero_point,
    }
}

impl<'p, 'b, 'a> Session<'p, 'b, 'a> {
    /// Binds `plan` to `arena`. Fails with [`BindError::ArenaTooSmall`] (exact byte counts)
    /// when `arena.len() < plan.arena_bytes()`; extra bytes are left untouched.
    pub fn new(plan: &'p Plan<'b>, arena: &'a mut [u8]) -> Result<Self, BindError> {
        let needed = plan.arena_bytes();
        if arena.len() < needed {
            return Err(BindError::ArenaTooSmall {
                needed,
                available: arena.len(),
            });
        }
        Ok(Self {
            plan,
            arena,
            threads: 1,
            isa: Isa::best(),
        })
    }

    /// Splits every convolution and fully connected layer across `threads` threads (feature
    /// `threads`, std only; `0` counts as 1). The output bytes do not depend on the count.
    /// With more than one thread, [`Session::run`] spawns scoped threads, which allocate:
    /// the allocation-free guarantee is for one thread, the default.
    #[cfg(feature = "threads")]
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Runs the SIMD kernels (convolutions, fully connected layers, Add, max pools) on `isa`
    /// instead of the fastest this CPU has, falling back to [`Isa::Reference`] when `isa` is
    /// not [available](Isa::available) here. Every ISA gives the same bytes: this is for checking
    /// exactly that, and for measuring one path against another.
    pub fn set_isa(&mut self, isa: Isa) {
        self.isa = isa;
    }

    /// The instruction set the dense kernels run on (see [`Session::set_isa`]).
    pub fn isa(&self) -> Isa {
        if self.isa.available() {
            self.isa
        } else {
            Isa::Reference
        }
    }

    /// The plan.
    pub fn plan(&self) -> &'p Plan<'b> {
        self.plan
    }

    fn range(&self, id: u16) -> Option<core::ops::Range<usize>> {
        self.plan.tensor(id).map(|t| t.range())
    }

    /// The input tensor, to be written before [`Session::run`].
    pub fn input_mut(&mut self) -> &mut [i8] {
        let r = self.range(self.plan.input_id()).unwrap_or(0..0);
        bytemuck::cast_slice_mut(self.arena.get_mut(r).unwrap_or(&mut []))
    }

    /// Copies a quantised input. Fails with [`RunError::InputLength`] on a length mismatch.
    pub fn set_input(&mut self, q: &[i8]) -> Result<(), RunError> {
        let inp = self.input_mut();
        if inp.len() != q.len() {
            return Err(RunError::InputLength {
                expected: inp.len(),
                got: q.len(),
            });
        }
        inp.copy_from_slice(q);
        Ok(())
    }

    /// Writes the input from interleaved HWC `u8` pixels through the plan's per-channel
    /// tables. Fails with [`RunError::NoPreprocess`] if the plan has none, or
    /// [`RunError::InputLength`] on a length mismatch.
    pub fn set_input_pixels(&mut self, hwc: &[u8]) -> Result<(), RunError> {
        let pre = self.plan.preprocess().ok_or(RunError::NoPreprocess)?;
        let c = self.plan.input_shape()[2] as usize;
        let inp = self.input_mut();
        if inp.len() != hwc.len() {
            return Err(RunError::InputLength {
                expected: inp.len(),
                got: hwc.len(),
            });
        }
        if c == 0 {
            return Ok(());
        }
        let luts = pre.luts();
        for (px, o) in hwc.chunks_exact(c).zip(inp.chunks_exact_mut(c)) {
            for ((&v, o), t) in px.iter().zip(o).zip(luts.chunks_exact(256)) {
                *o = t.get(v as usize).copied().unwrap_or(0);
            }
        }
        Ok(())
    }

    /// Runs every step in order. After a successful [`Plan::parse`] this cannot fail; the
    /// [`RunError::Step`] error exists so that no internal inconsistency can panic.
    pub fn run(&mut self) -> Result<(), RunError> {
        self.run_with(|_, _, _| {})
    }

    /// [`Session::run`], calling `after(step, output_id, output)` once each step has written
    /// its output: for per-step parity checks and tracing (tensors whose bytes a later step
    /// reuses can only be observed here).
    pub fn run_with(&mut self, mut after: impl FnMut(usize, u16, &[i8])) -> Result<(), RunError> {
        let mut i = 0;
        while i < self.plan.num_steps() {
            let v = self.plan.step_view(i).ok_or(RunError::Step(i as u32))?;
            if self.plan.tensor(v.output).is_some_and(|t| t.is_streamed()) {
                // Validated: the next step is its only reader; both run together.
                let c = self.plan.step_view(i + 1).ok_or(RunError::Step(i as u32))?;
                self.run_streamed(&v, &c).ok_or(RunError::Step(i as u32))?;
                after(i, v.output, self.tensor(v.output).unwrap_or(&[]));
                after(i + 1, c.output, self.tensor(c.output).unwrap_or(&[]));
                i += 2;
                continue;
            }
            self.run_step(&v).ok_or(RunError::Step(i as u32))?;
            after(i, v.output, self.tensor(v.output).unwrap_or(&[]));
            i += 1;
        }
        Ok(())
    }

    fn run_step(&mut self, v: &StepView<'b>) -> Option<()> {
        if v.overlapped {
            return self.run_in_bands(v);
        }
        let plan = self.plan;
        let isa = self.isa;
        let yt = plan.tensor(v.output)?;
        if yt.is_view() {
            return self.run_into_view(v);
        }
        let yr = yt.range();
        // Split the arena around the output: inputs (validated disjoint) lie wholly below or
        // above it, so they can be borrowed immutably while the output is borrowed mutably.
        let (lo, rest) = self.arena.split_at_mut_checked(yr.start)?;
        let (out, hi) = rest.split_at_mut_checked(yr.len())?;
        let (lo, hi) = (&*lo, &*hi);
        let input = |k: usize| -> Option<In<'_>> {
            let t = plan.tensor(v.inputs.get(k)?)?;
            let r = t.range();
            let bytes = if r.is_empty() {
                &[]
            } else if r.end <= yr.start {
                lo.get(r)?
            } else if r.start >= yr.end {
                hi.get(r.start - yr.end..r.end - yr.end)?
            } else {
                return None;
            };
            Some(view(&t, bytes))
        };
        let mut y = Out {
            data: bytemuck::cast_slice_mut(out),
            shape: Shape::new(yt.shape),
            zero_point: yt.zero_point,
        };
        let res = match &v.op {
            OpView::Conv2d(p) => kernels::conv2d_on_threads(isa, input(0)?, y, p, self.threads),
            OpView::FullyConnected(p) => {
                kernels::fully_connected_on_threads(isa, input(0)?, y, p, self.threads)
            }
            OpView::MaxPool(w, c) => kernels::max_pool_on(isa, input(0)?, y, w, *c),
            OpView::AvgPool(p) => kernels::avg_pool(input(0)?, y, p),
            OpView::Add(p) => {
                let operand = |k: usize| -> Option<Operand<'_>> {
                    let t = plan.tensor(v.inputs.get(k)?)?;
                    Some(if t.range() == yr {
                        Operand::Output {
                            zero_point: t.zero_point,
                        }
                    } else {
                        Operand::Tensor(input(k)?)
                    })
                };
                kernels::add_on(isa, operand(0)?, operand(1)?, y, p)
            }
            OpView::Concat => {
                let mut off = 0usize;
                for k in 0..v.inputs.len() {
                    let t = plan.tensor(v.inputs.get(k)?)?;
                    // A view (validated: exactly this slice) was written in place by its
                    // producer: nothing to copy.
                    if !t.is_view() {
                        kernels::concat_into(input(k)?, &mut y, off).ok()?;
                    }
                    off = off.checked_add(t.shape[2] as usize)?;
                }
                Ok(())
            }
            OpView::Lrn(p) => kernels::lrn(input(0)?, y, p),
            OpView::Softmax(t) => kernels::softmax(input(0)?, y, *t),
            OpView::Requantize(r, c) => {
                let t = plan.tensor(v.inputs.get(0)?)?;
                if t.range() == yr {
                    kernels::requantize_in_place(y, t.zero_point, r, *c)
                } else {
                    kernels::requantize_op(input(0)?, y, r, *c)
                }
            }
        };
        res.ok()
    }

    /// A conv or pool whose output overlaps its input by rows (validated by
    /// [`Plan::parse`], see [`crate::format::overlap`]): computed band by band, top-down when
    /// the output lies below the input and bottom-up when above, each band's output bytes
    /// lying wholly on the far side of the input rows it and every later band read, so both
    /// are disjoint slices of the arena. Same bytes as the disjoint placement.
    fn run_in_bands(&mut self, v: &StepView<'b>) -> Option<()> {
        let plan = self.plan;
        let xt = plan.tensor(v.inputs.get(0)?)?;
        let yt = plan.tensor(v.output)?;
        let window = super::step::window_of(&v.op)?;
        let g = super::step::row_overlap(&xt, &yt, &window)?;
        let below = g.is_below();
        // Top-down bands when the output lies below the input, bottom-up when above.
        let mut next = if below { 0 } else { g.out_rows };
        while (below && next < g.out_rows) || (!below && next > 0) {
            let (y0, y1) = if below {
                (next, g.band_end(next)?)
            } else {
                (g.band_start(next)?, next)
            };
            next = if below { y1 } else { y0 };
            let (a, b) = (g.first_row(y0)?, g.end_row(y1));
            let x_band = row_range(g.in_offset, g.in_row, (a, b))?;
            let y_band = row_range(g.out_offset, g.out_row, (y0, y1))?;
            // The band's output and the input rows: validated disjoint.
            let (inp, out) = split_two(self.arena, x_band, y_band)?;
            let band = Band {
                x: &xt,
                x_rows: (a, b),
                y: &yt,
                y_rows: (y0, y1),
                pad_top: g.band_pad_top(y0),
            };
            band.run(&v.op, inp, out, self.isa, self.threads)?;
        }
        Some(())
    }

    /// A conv or pool writing a view, its channel slice of a Concat's output (validated by
    /// [`Plan::parse`], see [`crate::format::view`]): band by band through the step's
    /// scratch. Same bytes as writing a dense tensor and copying it into the Concat.
    fn run_into_view(&mut self, v: &StepView<'b>) -> Option<()> {
        let plan = self.plan;
        let xt = plan.tensor(v.inputs.get(0)?)?;
        let yt = plan.tensor(v.output)?;
        let g = super::step::row_overlap(&xt, &yt, &super::step::window_of(&v.op)?)?;
        ViewBands {
            op: &v.op,
            x: &xt,
            x_at: (g.in_offset, 0),
            g: &g,
            y: &yt,
            scratch: v.scratch,
        }
        .run(self.arena, (0, g.out_rows), self.isa, self.threads)
    }

    /// A conv or pool `p` whose output is streamed into the conv or pool `c` (validated by
    /// [`Plan::parse`], see [`crate::format::stream`]): band by band, the rows still needed
    /// move to the front of the buffer, `p` computes the next rows behind them, and `c` runs
    /// on the buffer. Same bytes as running `p` then `c` on a whole tensor.
    fn run_streamed(&mut self, p: &StepView<'b>, c: &StepView<'b>) -> Option<()> {
        let plan = self.plan;
        let x0 = plan.tensor(p.inputs.get(0)?)?;
        let x1 = plan.tensor(p.output)?;
        let x2 = plan.tensor(c.output)?;
        let g = super::step::stream_geometry(plan, p, c)?;
        let row0 = g.producer.in_row;
        let row1 = g.consumer.in_row;
        let row2 = g.consumer.out_row;
        let buf = x1.range();
        let (isa, threads) = (self.isa, self.threads);
        let arena = &mut *self.arena;
        g.schedule(|band| {
            // Keep the rows this band still reads at the front of the buffer.
            if band.keep.1 > band.keep.0 && band.base > band.old_base {
                let kept = (band.keep.0 - band.old_base, band.keep.1 - band.old_base);
                arena
                    .get_mut(buf.clone())?
                    .copy_within(row_range(0, row1, kept)?, 0);
            }
            // p: X0 rows → the new X1 rows, behind the kept ones.
            if band.produce.1 > band.produce.0 {
                let (r0, r1) = band.produce;
                let (a, b) = (g.producer.first_row(r0)?, g.producer.end_row(r1));
                let x_band = row_range(x0.offset.into(), row0, (a, b))?;
                let y_band = row_range(x1.offset.into(), row1, (r0 - band.base, r1 - band.base))?;
                let (inp, out) = split_two(arena, x_band, y_band)?;
                Band {
                    x: &x0,
                    x_rows: (a, b),
                    y: &x1,
                    y_rows: (r0, r1),
                    pad_top: g.producer.band_pad_top(r0),
                }
                .run(&p.op, inp, out, isa, threads)?;
            }
            // c: the buffer's rows → X2 rows.
            let (c0, c1) = band.consume;
            if x2.is_view() {
                // Through c's scratch into the view (validated apart from X0 and X1).
                return ViewBands {
                    op: &c.op,
                    x: &x1,
                    x_at: (x1.offset.into(), band.base),
                    g: &g.consumer,
                    y: &x2,
                    scratch: c.scratch,
                }
                .run(arena, (c0, c1), isa, threads);
            }
            let x_band = row_range(x1.offset.into(), row1, (0, band.reads_end - band.base))?;
            let y_band = row_range(x2.offset.into(), row2, (c0, c1))?;
            let (inp, out) = split_two(arena, x_band, y_band)?;
            Band {
                x: &x1,
                x_rows: (band.base, band.reads_end),
                y: &x2,
                y_rows: (c0, c1),
                pad_top: g.consumer.band_pad_top(c0),
            }
            .run(&c.op, inp, out, isa, threads)
        })
    }

    /// The output tensor (valid after [`Session::run`]).
    pub fn output(&self) -> &[i8] {
        self.tensor(self.plan.output_id()).unwrap_or(&[])
    }

    /// Any tensor's current bytes, `None` for an unknown id (for parity tests, debugging).
    /// A tensor whose arena bytes were reused by a later step shows the later contents; a
    /// view ([`crate::format::view`]) shows its span, its pixels interleaved with the other
    /// channels of its Concat's output; a streamed tensor its resident rows.
    pub fn tensor(&self, id: u16) -> Option<&[i8]> {
        let r = self.range(id)?;
        self.arena.get(r).map(bytemuck::cast_slice)
    }

    /// The whole arena (read-only).
    pub fn arena(&self) -> &[u8] {
        self.arena
    }
}

/// The bytes of rows `r0..r1` of rows of `row` bytes starting at `offset`; `None` on
/// overflow.
fn row_range(offset: u64, row: u64, (r0, r1): (u64, u64)) -> Option<core::ops::Range<usize>> {
    let at = |r: u64| usize::try_from(offset.checked_add(r.checked_mul(row)?)?).ok();
    Some(at(r0)?..at(r1)?)
}

/// `arena[x]` read-only and `arena[y]` mutable, for two disjoint ranges; `None` if they
/// overlap or leave the arena.
fn split_two(
    arena: &mut [u8],
    x: core::ops::Range<usize>,
    y: core::ops::Range<usize>,
) -> Option<(&[u8], &mut [u8])> {
    if x.end <= y.start {
        let (lo, hi) = arena.split_at_mut_checked(y.start)?;
        Some((lo.get(x)?, hi.get_mut(..y.end.checked_sub(y.start)?)?))
    } else if y.end <= x.start {
        let (lo, hi) = arena.split_at_mut_checked(x.start)?;
        Some((hi.get(..x.end.checked_sub(x.start)?)?, lo.get_mut(y)?))
    } else {
        None
    }
}

/// A conv or pool writing rows of a view ([`crate::format::view`]): in bands of as many
/// rows as its scratch holds, each computed densely into the scratch by the ordinary kernel
/// and scattered into the view.
struct ViewBands<'s, 'b> {
    op: &'s OpView<'b>,
    /// The input.
    x: &'s TensorInfo,
    /// Where the input's rows lie: row `r` at `x_at.0 + (r - x_at.1) * row bytes` (the
    /// whole tensor, or a stream's buffer whose first row is `x_at.1`).
    x_at: (u64, u64),
    /// The step's row geometry (its offsets unused).
    g: &'s RowOverlap,
    /// The view.
    y: &'s TensorInfo,
    /// The step's scratch `(offset, len)`.
    scratch: (u32, u32),
}

impl ViewBands<'_, '_> {
    /// Output rows `y0..y1`.
    fn run(
        &self,
        arena: &mut [u8],
        (mut y0, y1): (u64, u64),
        isa: Isa,
        threads: usize,
    ) -> Option<()> {
        let [_, w, c] = self.y.shape.map(u64::from);
        let row = w.checked_mul(c)?;
        let rows = view::band_rows(self.scratch.1.into(), row)?;
        let pitch = u64::from(self.y.pitch);
        while y0 < y1 {
            let end = y0.saturating_add(rows).min(y1);
            let (a, b) = (self.g.first_row(y0)?, self.g.end_row(end));
            let x_rows = (a.checked_sub(self.x_at.1)?, b.checked_sub(self.x_at.1)?);
            let x_band = row_range(self.x_at.0, self.g.in_row, x_rows)?;
            let band = row_range(self.scratch.0.into(), row, (0, end - y0))?;
            // Input rows and scratch: validated disjoint.
            let (inp, out) = split_two(arena, x_band, band.clone())?;
            Band {
                x: self.x,
                x_rows: (a, b),
                y: self.y,
                y_rows: (y0, end),
                pad_top: self.g.band_pad_top(y0),
            }
            .run(self.op, inp, out, isa, threads)?;
            // Scratch and view: validated disjoint.
            let pixels = (end - y0).checked_mul(w)?;
            let first =
                u64::from(self.y.offset).checked_add(y0.checked_mul(w)?.checked_mul(pitch)?)?;
            let span = view::span(pixels, c, pitch)?;
            let dst =
                usize::try_from(first).ok()?..usize::try_from(first.checked_add(span)?).ok()?;
            let (src, dst) = split_two(arena, band, dst)?;
            view::scatter(
                src,
                usize::try_from(c).ok()?,
                dst,
                usize::try_from(pitch).ok()?,
            )?;
            y0 = end;
        }
        Some(())
    }
}

/// A band of a conv or pool: input rows `x_rows` of `x` (given as their bytes) to output rows
/// `y_rows` of `y`, with the top padding the band starts with.
struct Band<'t> {
    x: &'t TensorInfo,
    x_rows: (u64, u64),
    y: &'t TensorInfo,
    y_rows: (u64, u64),
    pad_top: u64,
}

impl Band<'_> {
    /// Runs `op` (a conv or pool) on the band: the ordinary kernel on a band-sized input and
    /// output, the top padding adjusted, and an average pool's divisor keeping its bottom
    /// bound (the input rows below the band stand in for the padding).
    fn run(
        &self,
        op: &OpView<'_>,
        inp: &[u8],
        out: &mut [u8],
        isa: Isa,
        threads: usize,
    ) -> Option<()> {
        let rows = |(a, b): (u64, u64)| u32::try_from(b.checked_sub(a)?).ok();
        let x = In {
            data: bytemuck::cast_slice(inp),
            shape: Shape::new([rows(self.x_rows)?, self.x.shape[1], self.x.shape[2]]),
            zero_point: self.x.zero_point,
        };
        let y = Out {
            data: bytemuck::cast_slice_mut(out),
            shape: Shape::new([rows(self.y_rows)?, self.y.shape[1], self.y.shape[2]]),
            zero_point: self.y.zero_point,
        };
        let pad_top = usize::try_from(self.pad_top).ok()?;
        let res = match op {
            OpView::Conv2d(p) => {
                let mut p = *p;
                p.window.pad[0] = pad_top;
                kernels::conv2d_on_threads(isa, x, y, &p, threads)
            }
            OpView::MaxPool(w, c) => {
                let mut w = *w;
                w.pad[0] = pad_top;
                kernels::max_pool_on(isa, x, y, &w, *c)
            }
            OpView::AvgPool(p) => {
                let mut p = *p;
                p.window.pad[0] = pad_top;
                let below = u64::from(self.x.shape[0]).checked_sub(self.x_rows.1)?;
                p.pad_end[0] = p.pad_end[0].checked_add(usize::try_from(below).ok()?)?;
                kernels::avg_pool(x, y, &p)
            }
            _ => return None,
        };
        res.ok()
    }
}
