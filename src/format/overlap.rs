//! Sliding-window overlap: when a convolution's or pool's output may share bytes with its
//! input.
//!
//! Activations are `h × w × c`, so each image row is one contiguous run of bytes. Output row
//! `y` reads input rows [`RowOverlap::first_row`]`(y) .. `[`RowOverlap::end_row`]`(y + 1)`,
//! and both bounds never decrease with `y`. So an output may overlap its input in two ways:
//!
//! - **below** it, computed top-down: rows `0..=y` must end before the first input row that
//!   row `y` (and so every later row) still reads,
//!   `out_offset + (y + 1) · out_row ≤ in_offset + first_row(y) · in_row` for every `y`;
//! - **above** it, computed bottom-up: rows `y..` must start after the last input row that
//!   row `y` (and so every earlier row) reads,
//!   `out_offset + y · out_row ≥ in_offset + end_row(y + 1) · in_row` for every `y`.
//!
//! The runtime then computes the output in *bands* of rows, in that order: each band's
//! output bytes lie wholly on the other side of every input row it and the bands after it
//! read, so the two are disjoint slices of the arena, and the kernel is the ordinary one on
//! a band of the input with the top padding adjusted. The bytes are those of the disjoint
//! placement.
//!
//! The parser accepts an overlapping `Conv2d`, `MaxPool` or `AvgPool` only when
//! [`RowOverlap::is_safe`] holds; the compiler places outputs at least
//! [`RowOverlap::gap_below`] below or [`RowOverlap::gap_above`] above their input.

/// The row geometry of one windowed step whose output may overlap its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowOverlap {
    /// Arena offset of the input.
    pub in_offset: u64,
    /// Bytes of one input row (`w × c`).
    pub in_row: u64,
    /// Input rows.
    pub in_rows: u64,
    /// Arena offset of the output.
    pub out_offset: u64,
    /// Bytes of one output row.
    pub out_row: u64,
    /// Output rows.
    pub out_rows: u64,
    /// Vertical stride, ≥ 1.
    pub stride: u64,
    /// Top padding.
    pub pad_top: u64,
    /// Effective kernel height `(k - 1) · dilation + 1`, ≥ 1.
    pub extent: u64,
}

impl RowOverlap {
    /// The geometry of a window (vertical `kernel`, `stride`, `dilation`, `pad_top`) from an
    /// `h × w × c` input to an `h × w × c` output, both at offset 0 (set the offsets with
    /// struct update syntax). `None` for a kernel or dilation of 0 or on overflow.
    pub fn of_window(
        input: [u64; 3],
        output: [u64; 3],
        kernel: u64,
        stride: u64,
        dilation: u64,
        pad_top: u64,
    ) -> Option<Self> {
        if dilation == 0 {
            return None;
        }
        Some(RowOverlap {
            in_offset: 0,
            in_row: input[1].checked_mul(input[2])?,
            in_rows: input[0],
            out_offset: 0,
            out_row: output[1].checked_mul(output[2])?,
            out_rows: output[0],
            stride,
            pad_top,
            extent: kernel
                .checked_sub(1)?
                .checked_mul(dilation)?
                .checked_add(1)?,
        })
    }

    /// The first input row output row `y` reads (windows starting in the top padding read
    /// from row 0). `None` when the window starts below the input (a row wholly in the end
    /// padding): such a step is never run overlapped.
    pub fn first_row(&self, y: u64) -> Option<u64> {
        let start = y.checked_mul(self.stride)?.saturating_sub(self.pad_top);
        (start < self.in_rows).then_some(start)
    }

    /// One past the last input row output rows `..y1` read (at most `in_rows`).
    pub fn end_row(&self, y1: u64) -> u64 {
        let last_start = y1
            .saturating_sub(1)
            .saturating_mul(self.stride)
            .saturating_add(self.extent);
        last_start.saturating_sub(self.pad_top).min(self.in_rows)
    }

    /// Top padding of the band starting at output row `y0`.
    pub fn band_pad_top(&self, y0: u64) -> u64 {
        self.pad_top.saturating_sub(y0.saturating_mul(self.stride))
    }

    /// Where the input row `first_row(y)` starts in the arena.
    fn guard(&self, y: u64) -> Option<u64> {
        self.first_row(y)?
            .checked_mul(self.in_row)?
            .checked_add(self.in_offset)
    }

    /// One past the last output row of the top-down band starting at `y0`: the most rows
    /// whose bytes end at or before the input row `first_row(y0)`. `None` if not even row
    /// `y0` fits (or `y0` is past the end).
    pub fn band_end(&self, y0: u64) -> Option<u64> {
        if y0 >= self.out_rows || self.out_row == 0 {
            return None;
        }
        let room = self.guard(y0)?.checked_sub(self.out_offset)?;
        let y1 = (room / self.out_row).min(self.out_rows);
        (y1 > y0).then_some(y1)
    }

    /// The first output row of the bottom-up band ending at `y1`: the fewest rows from which
    /// on the bytes start at or after the end of the input rows the band reads. `None` if
    /// not even row `y1 - 1` fits.
    pub fn band_start(&self, y1: u64) -> Option<u64> {
        if y1 == 0 || y1 > self.out_rows || self.out_row == 0 {
            return None;
        }
        self.first_row(y1 - 1)?;
        let end = self
            .end_row(y1)
            .checked_mul(self.in_row)?
            .checked_add(self.in_offset)?;
        let y0 = end.saturating_sub(self.out_offset).div_ceil(self.out_row);
        (y0 < y1).then_some(y0)
    }

    /// True when the output lies below the input (top-down bands).
    pub fn is_below(&self) -> bool {
        self.out_offset < self.in_offset
    }

    /// True when the rows can be computed in bands without overwriting an input row still
    /// to be read (the conditions in the module docs): top-down when the output starts
    /// below the input, bottom-up otherwise.
    pub fn is_safe(&self) -> bool {
        if self.stride == 0 || self.extent == 0 || self.out_row == 0 {
            return false;
        }
        if self.is_below() {
            (0..self.out_rows).all(|y| self.band_end(y).is_some())
        } else {
            (1..=self.out_rows).all(|y1| self.band_start(y1).is_some())
        }
    }

    /// The smallest distance `in_offset - out_offset` (rounded up to `align`) at which every
    /// top-down band of `band` rows (starting at multiples of `band`) fits; offsets are
    /// ignored. `None` when some output row reads no input row (it starts in the end
    /// padding).
    pub fn gap_below(&self, band: u64, align: u64) -> Option<u64> {
        let band = band.max(1);
        let mut gap = 0u64;
        let mut y0 = 0u64;
        while y0 < self.out_rows {
            let y1 = y0.saturating_add(band).min(self.out_rows);
            let before = self.first_row(y0)?.checked_mul(self.in_row)?;
            gap = gap.max(y1.checked_mul(self.out_row)?.saturating_sub(before));
            y0 = y1;
        }
        round_up(gap, align)
    }

    /// The smallest distance `out_offset - in_offset` (rounded up to `align`) at which every
    /// bottom-up band of `band` rows (ending at `out_rows`, `out_rows - band`, …) fits.
    pub fn gap_above(&self, band: u64, align: u64) -> Option<u64> {
        let band = band.max(1);
        let mut gap = 0u64;
        let mut y1 = self.out_rows;
        while y1 > 0 {
            let y0 = y1.saturating_sub(band);
            self.first_row(y1 - 1)?;
            let reads = self.end_row(y1).checked_mul(self.in_row)?;
            gap = gap.max(reads.saturating_sub(y0.checked_mul(self.out_row)?));
            y1 = y0;
        }
        round_up(gap, align)
    }
}

fn round_up(v: u64, align: u64) -> Option<u64> {
    let align = align.max(1);
    v.div_ceil(align).checked_mul(align)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a None is a failure
mod tests {
    use super::*;

    /// 3×3, stride 1, pad 1 on 8 rows of 10 bytes, output the same.
    fn same() -> RowOverlap {
        RowOverlap {
            in_offset: 1000,
            in_row: 10,
            in_rows: 8,
            out_offset: 0,
            out_row: 10,
            out_rows: 8,
            stride: 1,
            pad_top: 1,
            extent: 3,
        }
    }

    #[test]
    fn a_same_size_conv_needs_two_rows_of_gap_for_one_row_bands() {
        let g = same();
        // row y writes up to (y+1)·10 and row y still reads from row y-1: two rows.
        assert_eq!(g.gap_below(1, 1), Some(20));
        let at = RowOverlap {
            out_offset: 1000 - 20,
            ..g
        };
        assert!(at.is_safe());
        let closer = RowOverlap {
            out_offset: 1000 - 19,
            ..g
        };
        assert!(!closer.is_safe());
        // bands of 4 rows need 5 rows of gap
        assert_eq!(g.gap_below(4, 1), Some(50));
        // above: row y starts at y·10 and rows up to y read up to row y+1 (end y+2): two rows
        assert_eq!(g.gap_above(1, 1), Some(20));
        let above = RowOverlap {
            out_offset: 1000 + 20,
            ..g
        };
        assert!(above.is_safe());
        let nearer = RowOverlap {
            out_offset: 1000 + 19,
            ..g
        };
        assert!(!nearer.is_safe());
    }

    #[test]
    fn every_band_fits_at_the_gap_and_covers_the_output() {
        for (stride, pad, extent, out_rows, out_row) in [
            (2, 3, 7, 4, 21),
            (2, 0, 2, 4, 5),
            (1, 0, 1, 8, 30),
            (2, 1, 3, 4, 10),
        ] {
            let mut g = RowOverlap {
                stride,
                pad_top: pad,
                extent,
                out_rows,
                out_row,
                ..same()
            };
            for band in 1..=out_rows {
                let gap = g.gap_below(band, 16).unwrap();
                g.out_offset = g.in_offset - gap;
                assert!(g.is_safe(), "{g:?} band {band}");
                let mut y0 = 0;
                while let Some(y1) = g.band_end(y0) {
                    assert!(y1 > y0);
                    y0 = y1;
                }
                assert_eq!(y0, out_rows, "{g:?}");
                let gap = g.gap_above(band, 16).unwrap();
                g.out_offset = g.in_offset + gap;
                assert!(g.is_safe(), "{g:?} band {band} above");
                let mut y1 = out_rows;
                while let Some(y0) = g.band_start(y1) {
                    assert!(y0 < y1);
                    y1 = y0;
                }
                assert_eq!(y1, 0, "{g:?}");
            }
        }
    }

    #[test]
    fn rows_in_the_end_padding_are_never_safe() {
        let above = RowOverlap {
            out_offset: 1010,
            ..same()
        };
        assert!(!above.is_safe(), "one row above is too close");
        // 8 input rows, stride 4, pad 0, 3 output rows: row 2 starts at input row 8.
        let past = RowOverlap {
            stride: 4,
            pad_top: 0,
            out_rows: 3,
            ..same()
        };
        assert_eq!(past.gap_below(1, 1), None);
        assert_eq!(past.gap_above(1, 1), None);
    }
}
