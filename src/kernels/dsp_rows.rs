//! The packed DSP GEMM's ([`super::dsp_packed`]) input rows, widened once: a small cache
//! of input rows already split into i16 pairs in `SXTB16` order, with the padding columns
//! (and, for rows above or below the input, a whole row) holding the zero point's pairs, so
//! that a pixel pair's patch is copied from it (`LDM`/`STM`, 3 instructions a group for
//! both pixels) instead of widened from the input per window (10, and each input pixel lies
//! in up to `kh × kw` windows).
//!
//! Taken when the input has a multiple of 4 channels (so that every window row starts on a
//! group of the row), the window is not dilated along the width and `2 · kh + 1` rows of
//! the padded width fit [`ROW_WORDS`] (8 KiB of stack). A row is widened into one of
//! `2 · kh` slots the first time a window needs it, and stays until a later output row
//! needs its slot: output rows go in increasing order, so each input row is widened about
//! once per call, and the two output rows a pixel pair may span (odd widths) hold at most
//! `2 · kh` rows between them.
#![allow(unsafe_code)]

use core::arch::asm;
use core::mem::MaybeUninit;

use super::gemm::Job;

/// Words of widened rows on the stack (8 KiB: 7 rows of 9 × 64 channels, or of 30 × 16).
pub(super) const ROW_WORDS: usize = 2048;

/// The caller's buffer for [`Rows`] (a local array: returning the cache by value would
/// copy 8 KiB).
pub(super) type RowBuf = [MaybeUninit<u32>; ROW_WORDS];

/// Tallest kernel the cache takes.
const MAX_KH: usize = 5;

/// Row slots (the zero-point row comes after them).
const MAX_SLOTS: usize = 2 * MAX_KH;

/// One output row's slots, per kernel row.
#[derive(Clone, Copy)]
struct RowSlots {
    oy: usize,
    slot: [usize; MAX_KH],
}

/// The cache of widened input rows (see the module docs).
pub(super) struct Rows<'r> {
    buf: &'r mut RowBuf,
    /// Words of one widened row: the padded width times `ic / 2`.
    slot_words: usize,
    /// Row slots in use (`2 · kh`); slot `slots` is the zero-point row.
    slots: usize,
    /// The input row each slot holds (`None`: empty).
    tags: [Option<usize>; MAX_SLOTS],
    /// The last two output rows' slots (`None`: not yet).
    recent: [Option<RowSlots>; 2],
    /// The entry of `recent` replaced next.
    older: usize,
    /// The last pixel pair's two output rows (valid while no row is loaded: loading clears
    /// it), and their kernel rows' slot offsets in words (pixel 0's, pixel 1's per row).
    last: Option<(usize, usize)>,
    bases: [usize; 2 * MAX_KH],
    /// Whether the zero-point row is filled (on first use: a conv without vertical padding
    /// never reads it).
    zero_row: bool,
    /// The zero point's widened pair.
    zpp: u32,
}

impl<'r> Rows<'r> {
    /// An empty cache for `job` in `buf`; `None` when the conv is not one it takes (see the
    /// module docs).
    pub(super) fn new(job: &Job<'_>, buf: &'r mut RowBuf) -> Option<Self> {
        let w = &job.p.window;
        let ([kh, kw], [_, sw]) = (w.kernel, w.stride);
        if !job.ic.is_multiple_of(4) || w.dilation[1] != 1 || kh == 0 || kh > MAX_KH {
            return None;
        }
        let padded = (job.ow.checked_sub(1)?).checked_mul(sw)?.checked_add(kw)?;
        let slot_words = padded.checked_mul(job.ic / 2)?;
        let slots = 2 * kh;
        if (slots + 1).checked_mul(slot_words)? > ROW_WORDS {
            return None;
        }
        Some(Self {
            buf,
            slot_words,
            slots,
            tags: [None; MAX_SLOTS],
            recent: [None; 2],
            older: 0,
            last: None,
            bases: [0; 2 * MAX_KH],
            zero_row: false,
            zpp: pairs_of(job.zp),
        })
    }

    /// Pixels `pix` and `pix + 1` (pixel 1 is pixel 0 again when `second` is false: past
    /// the last pixel, its outputs are not written) into `patch` (4 words a group: pixel 0's
    /// pair of words, then pixel 1's), widening the rows they need first.
    pub(super) fn fill(
        &mut self,
        job: &Job<'_>,
        patch: &mut [MaybeUninit<u32>],
        pix: usize,
        second: bool,
    ) {
        let w = &job.p.window;
        let ([kh, kw], [_, sw]) = (w.kernel, w.stride);
        let ow = job.ow.max(1);
        let pix1 = if second { pix + 1 } else { pix };
        let (oy0, ox0) = (pix / ow, pix % ow);
        let (oy1, ox1) = (pix1 / ow, pix1 % ow);
        let kh = kh.min(MAX_KH);
        // The same two output rows as the last pair's (every pair of a row but its first):
        // their slots again, without looking them up.
        if self.last != Some((oy0, oy1)) {
            let e0 = self.output_row(job, oy0, None);
            let e1 = self.output_row(job, oy1, Some(e0));
            let (Some(a), Some(b)) = (self.recent[e0], self.recent[e1]) else {
                return;
            };
            for (ky, pair) in self.bases.chunks_exact_mut(2).take(kh).enumerate() {
                pair[0] = a.slot[ky] * self.slot_words;
                pair[1] = b.slot[ky] * self.slot_words;
            }
            self.last = Some((oy0, oy1));
        }
        let pixel_words = job.ic / 2;
        let row_groups = kw * job.ic / 4;
        let (col0, col1) = (ox0 * sw * pixel_words, ox1 * sw * pixel_words);
        // Each kernel row's two sources: a slot's start plus the pixel's column. Every slot
        // named is below `slots + 1` and a window's columns end within its slot (`ox < ow`,
        // and a slot is the padded width `(ow - 1) * sw + kw`), so these reads stay in the
        // `(slots + 1) * slot_words ≤ ROW_WORDS` words `new` checked; checked again here
        // (slot starts are below `slots * slot_words`).
        let end = self.slots * self.slot_words + col0.max(col1) + 2 * row_groups;
        if row_groups == 0 || kh == 0 || end > ROW_WORDS || patch.len() < 4 * row_groups * kh {
            return;
        }
        let base = self.buf.as_ptr().cast::<u32>();
        let mut src = [MaybeUninit::<*const u32>::uninit(); 2 * MAX_KH];
        for (d, (i, &at)) in src
            .iter_mut()
            .zip(self.bases.iter().enumerate())
            .take(2 * kh)
        {
            d.write(base.wrapping_add(at + if i % 2 == 0 { col0 } else { col1 }));
        }
        // SAFETY: the first `2 * kh` entries of `src` were written just above, each valid
        // for reading `2 * row_groups` words (`end ≤ ROW_WORDS`), all written: every slot
        // a `RowSlots` names was filled by `load` (all `slot_words` of it) or is the
        // zero-point row, filled by `output_row` before it names it; `patch` holds the
        // `4 * row_groups * kh` words written.
        unsafe {
            copy_rows(
                src.as_ptr().cast(),
                kh,
                patch.as_mut_ptr().cast(),
                row_groups,
            )
        };
    }

    /// The entry of `recent` holding output row `oy`'s slots, loading its input rows first
    /// if needed (never into the slots of entry `keep`).
    fn output_row(&mut self, job: &Job<'_>, oy: usize, keep: Option<usize>) -> usize {
        if let Some(e) = (0..2).find(|&e| self.recent[e].is_some_and(|r| r.oy == oy)) {
            return e;
        }
        let e = match keep {
            Some(k) => 1 - k.min(1),
            None => self.older,
        };
        self.older = 1 - e;
        let kept = keep.and_then(|k| self.recent.get(k).copied().flatten());
        let w = &job.p.window;
        let (kh, sh, dh, pt) = (w.kernel[0], w.stride[0], w.dilation[0], w.pad[0]);
        let mut entry = RowSlots {
            oy,
            slot: [self.slots; MAX_KH],
        };
        for ky in 0..kh.min(MAX_KH) {
            let Some(iy) = (oy * sh + ky * dh)
                .checked_sub(pt)
                .filter(|&iy| iy < job.ih)
            else {
                // the zero-point row (slot `slots`, `entry`'s default)
                if !self.zero_row {
                    let at = self.slots * self.slot_words;
                    for v in self.buf.iter_mut().skip(at).take(self.slot_words) {
                        v.write(self.zpp);
                    }
                    self.zero_row = true;
                }
                continue;
            };
            let taken = |s: usize| {
                kept.is_some_and(|r| r.slot[..kh.min(MAX_KH)].contains(&s))
                    || entry.slot[..ky].contains(&s)
            };
            let slot = match (0..self.slots).find(|&s| self.tags[s] == Some(iy)) {
                Some(s) => s,
                None => {
                    // An empty slot, else the one holding the lowest row, outside the rows
                    // this pixel pair reads (there are `2 · kh` slots for at most `2 · kh`).
                    let free = (0..self.slots)
                        .filter(|&s| !taken(s))
                        .min_by_key(|&s| self.tags[s].map_or(0, |t| t + 1));
                    let Some(s) = free else { continue };
                    self.load(job, s, iy);
                    // The other entry, if it read slot `s`, is stale now (it is not `keep`:
                    // `keep`'s slots are never taken).
                    let other = &mut self.recent[1 - e];
                    if other.is_some_and(|r| r.slot[..kh.min(MAX_KH)].contains(&s)) {
                        *other = None;
                    }
                    s
                }
            };
            entry.slot[ky] = slot;
        }
        self.recent[e] = Some(entry);
        e
    }

    /// Input row `iy` widened into slot `s`: the padding columns' words the zero point's
    /// pairs, the input's its bytes' (`SXTB16`, `SXTB16 ROR #8` of each word).
    fn load(&mut self, job: &Job<'_>, s: usize, iy: usize) {
        let pl = job.p.window.pad[1];
        let pixel_words = job.ic / 2;
        let padded = self.slot_words / pixel_words.max(1);
        let zpp = self.zpp;
        let base = s * self.slot_words;
        let Some(slot) = self.buf.get_mut(base..base + self.slot_words) else {
            return;
        };
        let inside = job.iw.min(padded.saturating_sub(pl));
        let (left, rest) = slot.split_at_mut((pl.min(padded) * pixel_words).min(slot.len()));
        let (mid, right) = rest.split_at_mut((inside * pixel_words).min(rest.len()));
        for v in left.iter_mut().chain(right.iter_mut()) {
            v.write(zpp);
        }
        let from = iy * job.iw * job.ic;
        let groups = inside * job.ic / 4;
        if let Some(src) = job.x.get(from..from + 4 * groups) {
            if groups > 0 && mid.len() >= 2 * groups {
                // SAFETY: `src` holds `4 * groups` bytes and `mid` `2 * groups` words.
                unsafe { widen_row(src.as_ptr(), mid.as_mut_ptr().cast(), groups) };
            }
        }
        if let Some(t) = self.tags.get_mut(s) {
            *t = Some(iy);
        }
        self.last = None;
    }
}

/// The zero point's widened pair, `(zp, zp)` as two i16.
fn pairs_of(zp: i8) -> u32 {
    (zp as i16 as u16 as u32) * 0x0001_0001
}

/// For `g < groups`: `dst[2g] = sxtb16(w)`, `dst[2g + 1] = sxtb16(w ror 8)`, `w` the `g`-th
/// word of `src` (two groups a loop turn: 10 instructions).
///
/// # Safety
/// `groups ≥ 1`; `src` is valid for reading `4 * groups` bytes (any alignment) and `dst`
/// for writing `2 * groups` words (word-aligned).
#[inline(always)]
unsafe fn widen_row(src: *const i8, dst: *mut u32, groups: usize) {
    // SAFETY: reads `4 * groups` bytes from `src` (`LDR`, unaligned allowed on Armv7E-M),
    // writes `2 * groups` words to `dst` (`STRD`, word-aligned), within the caller's
    // bounds. Only the named registers and the flags are written.
    unsafe {
        asm!(
            "lsrs {n}, {n}, #1",
            "bcc 3f",
            // an odd count: one group first
            "ldr {v}, [{src}], #4",
            "sxtb16 {a}, {v}",
            "sxtb16 {v}, {v}, ror #8",
            "strd {a}, {v}, [{dst}], #8",
            "3:",
            // Z still from `lsrs` (nothing since sets flags): no pair left
            "beq 4f",
            "2:",
            "ldr {v}, [{src}], #4",
            "ldr {u}, [{src}], #4",
            "sxtb16 {a}, {v}",
            "sxtb16 {v}, {v}, ror #8",
            "strd {a}, {v}, [{dst}], #8",
            "sxtb16 {a}, {u}",
            "sxtb16 {u}, {u}, ror #8",
            "strd {a}, {u}, [{dst}], #8",
            "subs {n}, {n}, #1",
            "bne 2b",
            "4:",
            src = inout(reg) src => _,
            dst = inout(reg) dst => _,
            n = inout(reg) groups => _,
            v = out(reg) _,
            u = out(reg) _,
            a = out(reg) _,
            options(nostack),
        );
    }
}

/// For each of `rows` kernel rows, `groups` groups of two pixels' widened words (2 words a
/// group each, from the row's two sources in `src`: pixel 0's, then pixel 1's) interleaved
/// into `d`: per group pixel 0's 2 words, then pixel 1's; the rows one after another. Four
/// groups a loop turn (two `LDM`s and two `STM`s for each two), after the count's odd one
/// and odd two.
///
/// # Safety
/// `rows ≥ 1`, `groups ≥ 1`; `src` is valid for reading `2 * rows` pointers, each valid for
/// reading `2 * groups` words; `d` is valid for writing `4 * groups * rows` words; all
/// word-aligned.
#[inline(always)]
unsafe fn copy_rows(src: *const *const u32, rows: usize, d: *mut u32, groups: usize) {
    // SAFETY: reads `2 * rows` pointers from `src` (`LDM`), `2 * groups` words through each
    // (`LDM`/`LDRD`), writes `4 * groups * rows` words to `d` (`STM`): within the caller's
    // bounds. `r6` and `r7` (which cannot be operands) and the group count are pushed first
    // and popped last, restoring them and the stack pointer. Every other register written is
    // an operand or clobber; flags are clobbered.
    unsafe {
        asm!(
            "push {{r6, r7, r11}}",
            "1:",
            "ldm r12!, {{r8, r9}}",
            "ldr r11, [sp, #8]",
            // the count's low two bits: one group, then two
            "lsrs r11, r11, #1",
            "bcc 3f",
            "ldrd r0, r1, [r8], #8",
            "ldrd r4, r5, [r9], #8",
            "stm r10!, {{r0, r1, r4, r5}}",
            "3:",
            "lsrs r11, r11, #1",
            "bcc 5f",
            "ldm r8!, {{r0-r3}}",
            "ldm r9!, {{r4-r7}}",
            "stm r10!, {{r0, r1, r4, r5}}",
            "stm r10!, {{r2, r3, r6, r7}}",
            "5:",
            // Z from the last `lsrs`: no four groups left
            "beq 4f",
            "2:",
            "ldm r8!, {{r0-r3}}",
            "ldm r9!, {{r4-r7}}",
            "stm r10!, {{r0, r1, r4, r5}}",
            "stm r10!, {{r2, r3, r6, r7}}",
            "ldm r8!, {{r0-r3}}",
            "ldm r9!, {{r4-r7}}",
            "stm r10!, {{r0, r1, r4, r5}}",
            "stm r10!, {{r2, r3, r6, r7}}",
            "subs r11, r11, #1",
            "bne 2b",
            "4:",
            "subs lr, lr, #1",
            "bne 1b",
            "pop {{r6, r7, r11}}",
            inout("r12") src => _,
            inout("lr") rows => _,
            inout("r10") d => _,
            in("r11") groups,
            out("r0") _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
        );
    }
}
