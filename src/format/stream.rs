//! Streaming: a tensor that flows from one windowed step straight into the next through a
//! buffer of a few rows, so that it never exists whole in the arena.
//!
//! A *streamed* tensor `X1` (a tensor record with `resident_rows` > 0) is written by a
//! conv or pool `P` (from `X0`) and read by the step right after it, a conv or pool `C` (to
//! `X2`), and by nothing else. The runtime runs `P` and `C` together, in bands of `C`'s
//! output rows ([`StreamGeometry::schedule`]): for each band it keeps the `X1` rows the band
//! still reads at the front of the buffer, has `P` compute the `X1` rows the band needs
//! next, behind them, then runs `C` on the buffer. Each `X1` row is computed once, and the
//! bytes of `X2` are those of running `P` and `C` one after the other on a whole `X1`.
//!
//! `X0` is read until `C`'s last band, so it must stay apart from `X2` (the parser checks
//! it, and the compiler extends `X0`'s lifetime to `C`'s step).

use super::overlap::RowOverlap;

/// The rows of a streamed tensor: `producer` writes it (`X0` → `X1`) and `consumer` reads it
/// (`X1` → `X2`); offsets in the two geometries are not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamGeometry {
    /// `P`: input rows `X0`, output rows `X1`.
    pub producer: RowOverlap,
    /// `C`: input rows `X1`, output rows `X2`.
    pub consumer: RowOverlap,
    /// Rows of `X1` the buffer holds.
    pub resident: u64,
}

/// One band of the schedule. Rows are `X1` rows unless said otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    /// The `X1` row at the front of the buffer before this band.
    pub old_base: u64,
    /// The `X1` row at the front of the buffer during this band (the first row it reads).
    pub base: u64,
    /// Rows already computed that move to the front: `keep.0 .. keep.1` (maybe empty).
    pub keep: (u64, u64),
    /// Rows `P` computes now, behind them (maybe empty).
    pub produce: (u64, u64),
    /// `X2` rows `C` computes from buffer rows `0 .. reads_end - base`.
    pub consume: (u64, u64),
    /// One past the last `X1` row this band reads.
    pub reads_end: u64,
}

impl StreamGeometry {
    /// Runs `f` on every band in order: the largest bands of `C`'s rows whose `X1` rows fit
    /// in the buffer. `None` (and no further call) when some band does not fit, when `P`
    /// would compute a row that reads no `X0` row, or when `f` returns `None`.
    pub fn schedule(&self, mut f: impl FnMut(Band) -> Option<()>) -> Option<()> {
        let (c, p) = (&self.consumer, &self.producer);
        if c.in_rows != p.out_rows || self.resident == 0 {
            return None;
        }
        let (mut base, mut produced, mut c0) = (0u64, 0u64, 0u64);
        while c0 < c.out_rows {
            let lo = c.first_row(c0)?;
            let fits = |c1: u64| c.end_row(c1).saturating_sub(lo) <= self.resident;
            let mut c1 = c0 + 1;
            if !fits(c1) {
                return None;
            }
            while c1 < c.out_rows && fits(c1 + 1) {
                c1 += 1;
            }
            let hi = c.end_row(c1);
            let start = produced.max(lo);
            if start < hi {
                p.first_row(start)?;
            }
            f(Band {
                old_base: base,
                base: lo,
                keep: (lo, produced.max(lo)),
                produce: (start, hi.max(start)),
                consume: (c0, c1),
                reads_end: hi,
            })?;
            base = lo;
            produced = produced.max(hi);
            c0 = c1;
        }
        Some(())
    }

    /// True when [`StreamGeometry::schedule`] runs to the end.
    pub fn is_feasible(&self) -> bool {
        self.schedule(|_| Some(())).is_some()
    }

    /// The fewest resident rows that let `C` run in bands of `band` of its output rows.
    pub fn resident_for(consumer: &RowOverlap, band: u64) -> Option<u64> {
        let band = band.max(1);
        let mut need = 0u64;
        let mut c0 = 0u64;
        while c0 < consumer.out_rows {
            let c1 = c0.saturating_add(band).min(consumer.out_rows);
            let lo = consumer.first_row(c0)?;
            need = need.max(consumer.end_row(c1).saturating_sub(lo));
            c0 = c1;
        }
        Some(need.max(1))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a None is a failure
mod tests {
    use super::*;

    fn geometry(rows_in: u64, rows_out: u64, stride: u64, pad: u64, extent: u64) -> RowOverlap {
        RowOverlap {
            in_offset: 0,
            in_row: 1,
            in_rows: rows_in,
            out_offset: 0,
            out_row: 1,
            out_rows: rows_out,
            stride,
            pad_top: pad,
            extent,
        }
    }

    /// A 7×7/2 conv from 224 rows to 112, then a 3×3/2 pad 1 max pool to 56 (a ResNet stem).
    fn stem(resident: u64) -> StreamGeometry {
        StreamGeometry {
            producer: geometry(224, 112, 2, 3, 7),
            consumer: geometry(112, 56, 2, 1, 3),
            resident,
        }
    }

    #[test]
    fn every_row_is_produced_once_and_consumed_in_order() {
        for resident in [2, 3, 4, 7, 20, 112] {
            let g = stem(resident);
            let mut produced = 0;
            let mut consumed = 0;
            let ok = g.schedule(|b| {
                assert!(b.base >= b.old_base);
                assert_eq!(b.produce.0, produced.max(b.base));
                assert!(b.reads_end - b.base <= resident);
                produced = produced.max(b.produce.1);
                assert_eq!(b.consume.0, consumed);
                consumed = b.consume.1;
                Some(())
            });
            assert_eq!(ok.is_some(), resident >= 3, "resident {resident}");
            if ok.is_some() {
                assert_eq!(consumed, 56);
                assert_eq!(produced, 112);
            }
        }
    }

    #[test]
    fn resident_rows_for_a_band_are_exactly_enough() {
        let c = geometry(112, 56, 2, 1, 3);
        for band in 1..=8 {
            let r = StreamGeometry::resident_for(&c, band).unwrap();
            assert_eq!(r, (band - 1) * 2 + 3, "{band}");
            assert!(stem(r).is_feasible());
            if band == 1 {
                assert!(!stem(r - 1).is_feasible());
            }
        }
    }

    #[test]
    fn a_consumer_skipping_rows_skips_producing_them() {
        // 1×1 stride 2: X1 rows 1, 3, 5… are never read, and never computed.
        let g = StreamGeometry {
            producer: geometry(8, 8, 1, 0, 1),
            consumer: geometry(8, 4, 2, 0, 1),
            resident: 1,
        };
        let mut made = vec![];
        assert!(g
            .schedule(|b| {
                made.extend(b.produce.0..b.produce.1);
                Some(())
            })
            .is_some());
        assert_eq!(made, [0, 2, 4, 6]);
    }
}
