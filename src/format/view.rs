//! Views: a tensor written straight into its channel slice of a Concat's output, so that a
//! Concat copies nothing (*zero-copy Concat*).
//!
//! In NHWC a Concat along channels interleaves its inputs pixel by pixel: output pixel `p`
//! holds input 0's channels of pixel `p`, then input 1's, and so on. A *view* is a tensor
//! whose pixel pitch (bytes from one pixel to the next) is larger than its channel count:
//! element `(y, x, c)` lies at `offset + (y * w + x) * pitch + c`. Input `k` of a Concat
//! with output `Y` is the view of its slice when it lies at `Y.offset + Σ_{j<k} c_j` with
//! pitch `Y.c`. The compiler makes every input of a Concat such a view where that lowers the
//! arena: the branch outputs then never exist apart from the concatenation, and `Y` takes
//! their place from the first branch on.
//!
//! The kernels write dense rows, so the runtime runs the step writing a view in bands of
//! [`band_rows`] output rows into the step's scratch, and [`scatter`]s each band into the
//! view. Every output byte is the kernel's, moved once: the bytes of `Y` are those of
//! running the steps apart and copying.
//!
//! Rules `Plan::parse` enforces (version 3 plans): a view's pitch is larger than its
//! channel count; a view is neither the model's input nor its output, nor streamed; the step
//! writing it is a conv or pool, not run in overlapping bands, with a scratch of at least
//! one output row; a step reading it is a Concat of which it is exactly the slice above.
//! Its span (first element to last, [`span`]) lies inside the arena and apart from the
//! writing step's input and scratch.

/// Bytes a view of `pixels` pixels of `channels` channels spans at `pitch` bytes a pixel:
/// from its first element to its last, `(pixels - 1) * pitch + channels` (0 for no pixel).
/// `None` on overflow.
pub fn span(pixels: u64, channels: u64, pitch: u64) -> Option<u64> {
    match pixels.checked_sub(1) {
        None => Some(0),
        Some(rest) => rest.checked_mul(pitch)?.checked_add(channels),
    }
}

/// Bytes a tensor record spans in the arena: `rows` rows (its height, or a streamed
/// tensor's resident rows) of `w × c` bytes when dense (`pitch` 0); for a view, its
/// [`span`] over all `h × w` pixels. `None` on overflow.
pub fn tensor_bytes([h, w, c]: [u32; 3], rows: u32, pitch: u32) -> Option<u64> {
    let (h, w, c) = (u64::from(h), u64::from(w), u64::from(c));
    if pitch == 0 {
        u64::from(rows).checked_mul(w)?.checked_mul(c)
    } else {
        span(h.checked_mul(w)?, c, pitch.into())
    }
}

/// Output rows per band a step writing a view runs with: as many whole rows of `row_bytes`
/// as its scratch of `scratch_len` bytes holds. `None` when not one fits.
pub fn band_rows(scratch_len: u64, row_bytes: u64) -> Option<u64> {
    scratch_len.checked_div(row_bytes).filter(|&rows| rows >= 1)
}

/// Copies the dense pixels of `band` (`channels` bytes each) into `dst`, whose pixels are
/// `pitch` bytes apart (`dst` starts at the first pixel and spans [`span`] bytes), leaving
/// the bytes between them untouched. `None` (with `dst` maybe partly written) when the
/// lengths do not fit.
pub fn scatter(band: &[u8], channels: usize, dst: &mut [u8], pitch: usize) -> Option<()> {
    if channels == 0 || pitch < channels || !band.len().is_multiple_of(channels) {
        return None;
    }
    let pixels = band.len() / channels;
    let need = span(pixels as u64, channels as u64, pitch as u64)?;
    if dst.len() as u64 != need {
        return None;
    }
    for (d, s) in dst.chunks_mut(pitch).zip(band.chunks_exact(channels)) {
        d.get_mut(..channels)?.copy_from_slice(s);
    }
    Some(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests: a None is a failure
mod tests {
    use super::*;

    #[test]
    fn span_covers_first_to_last_element() {
        assert_eq!(span(0, 8, 24), Some(0));
        assert_eq!(span(1, 8, 24), Some(8));
        assert_eq!(span(4, 8, 24), Some(3 * 24 + 8));
        assert_eq!(span(u64::MAX, 8, 24), None);
    }

    #[test]
    fn band_rows_are_whole_rows_of_the_scratch() {
        assert_eq!(band_rows(100, 30), Some(3));
        assert_eq!(band_rows(29, 30), None);
        assert_eq!(band_rows(100, 0), None);
    }

    #[test]
    fn scatter_writes_only_its_channels() {
        // Three pixels of 2 channels into a pitch of 5, at channel offset 0 of `dst`.
        let band = [1, 2, 3, 4, 5, 6];
        let mut dst = [9u8; 12];
        scatter(&band, 2, &mut dst, 5).unwrap();
        assert_eq!(dst, [1, 2, 9, 9, 9, 3, 4, 9, 9, 9, 5, 6]);
        // Wrong lengths are refused.
        assert!(scatter(&band, 2, &mut [0u8; 13], 5).is_none());
        assert!(scatter(&band, 4, &mut [0u8; 9], 5).is_none());
        assert!(scatter(&band, 2, &mut [0u8; 6], 1).is_none());
    }
}
