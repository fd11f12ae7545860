//! x86-64 AVX-512 VNNI dense convolution as a small GEMM with the output channels across
//! the lanes: `vpdpbusd` of one pixel's 4 input bytes, broadcast, against 16 channels × 4
//! taps. No horizontal reductions, and the requantisation is vectorised too.
//!
//! Per call (per thread band), for each chunk of up to [`CHUNK_OC`] output channels:
//! 1. the chunk's weights in the layout `[32-channel block][tap / 4][32][4]` (i8, as they
//!    are), taps padded to a multiple of 4 with weight 0: read in place from the plan's
//!    [`PackKind::X86Vnni`](crate::format::pack::PackKind::X86Vnni) pack when it has one
//!    (packed at compile time, with each channel's weight sum), else repacked on the stack;
//! 2. for each block of up to [`PX`] output pixels, their windows as `x + 128` (u8: the byte
//!    with its top bit flipped), positions in the padding filled with `zp + 128`, in one of
//!    three ways:
//!    - when the chunks are several and every pixel's patch fits [`CACHE`] bytes (the small
//!      maps of the last stages), each pixel's whole window is gathered into a patch row in
//!      the weights' tap order once, before the first chunk, and every chunk reads them;
//!    - else, for a conv without dilation whose window rows are whole groups of 4 taps
//!      (every 3×3 conv of the classic models), the block lies in one output row and reads
//!      its windows in place from a tile of the `kh` input rows it covers ([`Tile`]),
//!      gathered per block and chunk;
//!    - else (the 7×7 stem over 3 channels, dilated convs) each chunk gathers each block's
//!      patch rows again;
//! 3. `vpdpbusd` gives `Σ w · (x + 128)` per pixel and channel; the exact
//!    `Σ w · (x − zp)` over the valid taps is that minus `(zp + 128) · Σ w` (per channel,
//!    folded into the bias once per chunk): a padded tap holds `zp + 128` and adds
//!    `w · (zp + 128)`, which the correction takes back, as the reference skips the tap.
//!    Everything is i32 wrapping, the same sum modulo 2^32, so the accumulators are the
//!    reference's bit for bit, and the requantisation is the reference's in i64 lanes (or,
//!    where every shift of 16 channels is at least 32, its exact 32-bit form).
//!
//! The pixels of a call are cut into blocks of nearly equal size (49 as 7 × 7, not 6 × 8 + 1):
//! a block of one pixel loads two weight vectors per two `vpdpbusd`. While a chunk computes,
//! the next chunk's weights are prefetched into L2.
//!
//! Stack: [`WBUF`] bytes plus [`PX`] × [`MAX_TAPS`] of patches (about 184 KiB), or two
//! [`TILE`]-byte tiles on the tiled path (about 216 KiB), or, on the small-map path,
//! [`CACHE`] bytes of patches (about 368 KiB); the three paths' frames are apart (each is
//! its own function, not inlined); plus three [`CHUNK_OC`] i32 arrays. Host threads have
//! ≥ 2 MiB. Allocates nothing.
#![allow(unsafe_code)]

use core::arch::x86_64::*;
use core::mem::MaybeUninit;

use super::amx::{self, Amx};
use super::gemm::{self, Job, MAX_TAPS};
use super::x86::{requantize16, Avx512Vnni};
use super::{ConvParams, I32s, In, KernelError, Out, Packed};
use crate::format::math::AddOutRequant;

/// Output channels of one micro-kernel call: two vectors of 16.
const NB: usize = 32;
/// Most output pixels of one micro-kernel call.
const PX: usize = 8;
/// Most output channels repacked at once.
const CHUNK_OC: usize = 256;
/// Bytes of repacked weights: one 32-channel block of the largest window.
const WBUF: usize = NB * MAX_TAPS;
/// Bytes of patches gathered once for every chunk: a 7 × 7 map of the largest window.
const CACHE: usize = 49 * MAX_TAPS;

/// [`reference::conv2d`](super::reference::conv2d) for a dense convolution [`covers`]
/// accepts; same contract, errors and bytes. Output rows are split into `threads` bands as
/// in the dot-product kernels (feature `threads`).
///
/// [`covers`]: super::gemm::covers
pub(super) fn conv2d(
    m: Avx512Vnni,
    amx: Option<Amx>,
    x: In<'_>,
    y: Out<'_>,
    p: &ConvParams<'_>,
    threads: usize,
) -> Result<(), KernelError> {
    let Some(job) = Job::new(&x, &y, p)? else {
        return Ok(());
    };
    let kp = job.k.next_multiple_of(4);
    let pack = match p.packed {
        Some(Packed::X86Vnni { blocks, sums })
            if blocks.len() == job.oc.div_ceil(NB) * NB * kp && sums.len() == job.oc =>
        {
            Some((blocks, sums))
        }
        _ => None,
    };
    let conv = Conv {
        job: &job,
        kp,
        pack,
        tile: None,
    };
    // On AMX: windows padded to whole 64-tap steps with weight 0, read from the pack when it
    // already has that many taps, else from a repack of every channel per call, when that
    // fits.
    let on_amx = amx.and_then(|amx| {
        let kpa = job.k.next_multiple_of(amx::K_STEP);
        let pack = conv.pack.filter(|_| kpa == kp);
        let fits = pack.is_some() || (job.oc <= CHUNK_OC && job.oc.div_ceil(NB) * NB * kpa <= WBUF);
        (kpa <= MAX_TAPS && fits).then_some((
            amx,
            Conv {
                kp: kpa,
                pack,
                tile: Tile::of(&job, amx::PIXELS, amx::K_STEP, AMX_TILE),
                ..conv
            },
        ))
    });
    // The tiled order of the taps is the plain one: the same pack, the same repack.
    let tiled = Tile::of(&job, PX, 4, TILE).map(|tile| Conv {
        tile: Some(tile),
        ..conv
    });
    gemm::in_bands(&job, y, threads, |out, pix0| {
        let npix = out.len() / job.oc.max(1);
        match (&on_amx, &tiled) {
            (Some((amx, c)), _) if npix * job.oc * c.kp >= AMX_MIN_MACS => {
                c.pixels_on_amx(*amx, out, pix0)
            }
            (_, Some(t)) if !conv.caches(npix) => t.pixels_tiled(m, out, pix0),
            _ => conv.pixels(m, out, pix0),
        }
    });
    Ok(())
}

/// Bytes of the tile of input rows of [`Conv::pixels_amx_tiled`].
const AMX_TILE: usize = 128 * 1024;

/// Least multiply-adds (padded taps × outputs) of a call that runs on AMX: a call has a
/// fixed cost (the tile configuration, buffers, whole 32 × 32 blocks), and below about this
/// the VNNI paths were faster (measured on the micro models' convs: 0.09–1.4 M MACs took
/// 1.1–2.2× as long on tiles).
const AMX_MIN_MACS: usize = 4 << 20;

/// Most pixels of [`Conv::pixels_amx_cached`]: two blocks of [`amx::PIXELS`].
const AMX_CACHE_ROWS: usize = 2 * amx::PIXELS;

/// Bytes of one tile of input rows (see [`Tile`]).
const TILE: usize = PX * MAX_TAPS;
/// Bytes from a multiple of 4 KiB past the first tile of [`Conv::pixels_tiled`] to its
/// second.
const TILE_GAP: usize = 2048;

/// The geometry of a tile of input rows, for a dense conv without dilation whose window
/// rows are whole groups of taps (`kw · ic` a multiple of 4 for the VNNI micro-kernel, of
/// [`amx::K_STEP`] for AMX): a block of up to `pixels` pixels ([`PX`], [`amx::PIXELS`]) of
/// one output row reads its windows from a tile of `kh` input rows, each the
/// `(n − 1) · sw + kw` input pixels the block's windows cover, as `x + 128` (`zp + 128` in
/// the padding). Pixel `p`'s window row `ky` is then the `line` bytes at
/// `ky · span + p · step` of the tile, in the weights' tap order: nothing is copied per
/// pixel, and a 3×3 stride-1 conv copies each input byte about 3 times per block instead
/// of 9.
///
/// A conv whose window rows are not whole groups (the 7×7 stem over 3 channels: 21 bytes)
/// keeps the per-pixel patches: padding its rows to 24 bytes cost more in the VNNI
/// micro-kernel (14 % more taps, a 6-group inner loop) than the patches' copies (measured on
/// ResNet-18's stem: 0.95 ms against 0.85).
#[derive(Clone, Copy, Debug)]
struct Tile {
    /// Bytes of a window row: `kw · ic`.
    line: usize,
    /// Bytes from one pixel's window to the next's in a tile row: `sw · ic`.
    step: usize,
    /// Bytes of a tile row: `(pixels − 1) · step + line`.
    span: usize,
}

impl Tile {
    /// The geometry of `job`'s tiles for blocks of up to `pixels` pixels, window rows a
    /// multiple of `group` bytes, at most `most` bytes a tile; `None` when the conv is
    /// dilated, its window rows are not whole groups, or its tiles would not fit (then the
    /// patches are gathered per pixel).
    fn of(job: &Job<'_>, pixels: usize, group: usize, most: usize) -> Option<Self> {
        let w = &job.p.window;
        let ([kh, kw], [_, sw]) = (w.kernel, w.stride);
        if w.dilation != [1, 1] || kh == 0 {
            return None;
        }
        let line = kw.checked_mul(job.ic)?;
        let step = sw.checked_mul(job.ic)?;
        let span = step
            .checked_mul(pixels.checked_sub(1)?)?
            .checked_add(line)?;
        (line > 0 && line.is_multiple_of(group) && kh.checked_mul(span)? <= most).then_some(Self {
            line,
            step,
            span,
        })
    }
}

/// A conv on this kernel: the checked job, its taps rounded up to 4, and the plan's pack
/// of its weights (all of its 32-channel blocks, and each channel's `Σ w`), if it has one
/// of the right length.
struct Conv<'a> {
    job: &'a Job<'a>,
    kp: usize,
    pack: Option<(&'a [u8], I32s<'a>)>,
    /// The geometry of its tiles of input rows, when this conv runs on them
    /// ([`Conv::pixels_tiled`], [`Conv::pixels_amx_tiled`]).
    tile: Option<Tile>,
}

impl<'a> core::ops::Deref for Conv<'a> {
    type Target = Job<'a>;
    fn deref(&self) -> &Job<'a> {
        self.job
    }
}

/// The size of the next block of pixels when `left` remain: as many as [`PX`] allows,
/// spread evenly over the blocks that `left` needs.
fn block_len(left: usize, most: usize) -> usize {
    left.div_ceil(left.div_ceil(most).max(1))
}

impl Conv<'_> {
    /// Output channels repacked at once: whole 32-channel blocks of the largest window fit
    /// `wbuf`; more per chunk when the window is small.
    fn per_chunk(&self) -> usize {
        (WBUF / self.kp.max(1) / NB * NB).clamp(NB, CHUNK_OC)
    }

    /// Whether a call for `npix` pixels gathers their patches once for several chunks
    /// ([`Conv::pixels_cached`]).
    fn caches(&self, npix: usize) -> bool {
        self.per_chunk() < self.oc && npix * self.kp <= CACHE
    }

    /// Computes the output pixels `pix0 ..` that `out` holds (whole pixels of `oc` bytes).
    fn pixels(&self, m: Avx512Vnni, out: &mut [i8], pix0: usize) {
        let npix = out.len() / self.oc;
        let per_chunk = self.per_chunk();
        if self.caches(npix) {
            self.pixels_cached(m, out, pix0, per_chunk);
        } else {
            self.pixels_chunked(m, out, pix0, per_chunk);
        }
    }

    /// [`Conv::pixels`] on the tiled path (`self.tile` is set; see [`Tile`]): blocks of
    /// pixels within one output row, each read from a tile gathered for it. The next
    /// block's tile is gathered before this block is computed, so that the tile's stores
    /// (some masked, which the store buffer cannot forward) have reached the cache when the
    /// micro-kernel reads them.
    #[inline(never)]
    fn pixels_tiled(&self, m: Avx512Vnni, out: &mut [i8], pix0: usize) {
        let Some(tile) = self.tile else {
            return;
        };
        let (oc, kh) = (self.oc, self.p.window.kernel[0]);
        let (npix, ow) = (out.len() / oc, self.ow.max(1));
        let per_chunk = self.per_chunk();
        let mut wbuf = MaybeUninit::<Aligned<WBUF>>::uninit();
        let wbuf = zeroed(&mut wbuf, self.wbuf_len(per_chunk));
        // The two tiles, 2 KiB off a multiple of 4 KiB apart: the next tile's stores are in
        // flight while this one is read, and a load whose address matches an older store's
        // in the low 12 bits waits for it (4K aliasing).
        let len = kh * tile.span;
        let second = len.next_multiple_of(4096) + TILE_GAP;
        let mut tiles = MaybeUninit::<Aligned<{ 2 * TILE + TILE_GAP }>>::uninit();
        let tiles = zeroed(&mut tiles, second + len);
        let (a, b) = tiles.split_at_mut(second.min(tiles.len()));
        let mut this: &mut [i8] = bytemuck::cast_slice_mut(a.get_mut(..len).unwrap_or(&mut []));
        let mut ahead: &mut [i8] = bytemuck::cast_slice_mut(b.get_mut(..len).unwrap_or(&mut []));
        // The block starting `q` pixels into the call: as many of its row's pixels as
        // [`PX`] allows, spread evenly over the blocks the rest of the row needs.
        let block_at = |q: usize| block_len(ow - (pix0 + q) % ow, PX).min(npix - q);
        let mut chunk = Chunk::new();
        let mut c0 = 0;
        while c0 < oc && npix > 0 {
            let nc = per_chunk.min(oc - c0);
            let packed = self.chunk_weights(m, c0, nc, wbuf, &mut chunk);
            let mut next = self.next_chunk(c0 + nc, per_chunk, npix);
            let mut q = 0;
            let mut n = block_at(0);
            self.gather_tile(m, tile, pix0, n, this);
            while q < npix {
                let q_next = q + n;
                let n_next = if q_next < npix { block_at(q_next) } else { 0 };
                if n_next > 0 {
                    self.gather_tile(m, tile, pix0 + q_next, n_next, ahead);
                }
                let dst = &mut out[q * oc..q_next * oc];
                let pf = next.next().unwrap_or(&[]);
                let b = Blocks {
                    packed,
                    patch: this,
                    chunk: &chunk,
                    nc,
                    c0,
                    pf,
                };
                self.tiled_blocks(m, tile, &b, n, dst);
                core::mem::swap(&mut this, &mut ahead);
                (q, n) = (q_next, n_next);
            }
            c0 += nc;
        }
    }

    /// The tile of the `n` pixels from `pix` (one output row's) into `tile` (`kh` rows of
    /// `span` bytes): see [`Tile`].
    fn gather_tile(&self, m: Avx512Vnni, t: Tile, pix: usize, n: usize, tile: &mut [i8]) {
        let _ = m;
        let w = &self.p.window;
        let ([kh, kw], [sh, sw], [pt, pl]) = (w.kernel, w.stride, w.pad);
        let (ic, iw, ih) = (self.ic, self.iw, self.ih);
        let fill = self.zp ^ i8::MIN;
        let (oy, ox) = (pix / self.ow.max(1), pix % self.ow.max(1));
        // The bytes of a tile row the block reads, and the input pixels they hold.
        let used = ((n.max(1) - 1) * t.step + t.line).min(t.span);
        let cols = (n.max(1) - 1) * sw + kw;
        let ix0 = (ox * sw) as isize - pl as isize;
        // The input columns inside the image, as tile bytes `a .. b` and input column `c`.
        let first = ix0.max(0);
        let last = (ix0 + cols as isize).min(iw as isize);
        for (ky, row) in tile.chunks_exact_mut(t.span.max(1)).take(kh).enumerate() {
            let row = &mut row[..used];
            let iy = (oy * sh + ky) as isize - pt as isize;
            if iy < 0 || iy >= ih as isize || first >= last {
                row.fill(fill);
                continue;
            }
            let a = (first - ix0) as usize * ic;
            let b = (last - ix0) as usize * ic;
            let from = (iy as usize * iw + first as usize) * ic;
            let (Some(src), true) = (self.x.get(from..from + (b - a)), b <= used) else {
                row.fill(fill);
                continue;
            };
            // SAFETY: `Avx512Vnni` exists only once AVX-512 F/BW were detected.
            unsafe { fill_flip_avx512(row, a, src, fill) };
        }
    }

    /// [`Conv::blocks`] on the tiled path: `b.patch` is the block's tile.
    fn tiled_blocks(&self, m: Avx512Vnni, t: Tile, b: &Blocks<'_>, n: usize, dst: &mut [i8]) {
        match n {
            1 => self.tiled_blocks_of::<1>(m, t, b, dst),
            2 => self.tiled_blocks_of::<2>(m, t, b, dst),
            3 => self.tiled_blocks_of::<3>(m, t, b, dst),
            4 => self.tiled_blocks_of::<4>(m, t, b, dst),
            5 => self.tiled_blocks_of::<5>(m, t, b, dst),
            6 => self.tiled_blocks_of::<6>(m, t, b, dst),
            7 => self.tiled_blocks_of::<7>(m, t, b, dst),
            _ => self.tiled_blocks_of::<PX>(m, t, b, dst),
        }
    }

    /// [`Conv::tiled_blocks`] for `P` pixels.
    #[inline(always)]
    fn tiled_blocks_of<const P: usize>(
        &self,
        m: Avx512Vnni,
        t: Tile,
        b: &Blocks<'_>,
        dst: &mut [i8],
    ) {
        let (kp, kh) = (self.kp, self.p.window.kernel[0]);
        let blocks = (b.packed.len() / (NB * kp).max(1)).max(1);
        let mut pf = b.pf.chunks(b.pf.len().div_ceil(blocks).max(1));
        for (k, w) in b.packed.chunks_exact(NB * kp).enumerate() {
            let o = k * NB;
            let acc = m.block_tiled::<P>(w, b.patch, t, kh, pf.next().unwrap_or(&[]));
            let o_end = (o + NB).min(b.nc);
            m.store(&acc, b.chunk, o, o_end, b.c0, self.oc, self.job, dst);
        }
    }

    /// [`Conv::pixels`] on AMX tiles, `kp` a multiple of [`amx::K_STEP`]: maps of at most
    /// [`AMX_CACHE_ROWS`] pixels with their patches gathered once, else tiles of input rows
    /// when the geometry allows (`self.tile`), else per-pixel patches.
    fn pixels_on_amx(&self, amx: Amx, out: &mut [i8], pix0: usize) {
        if out.len() / self.oc.max(1) <= AMX_CACHE_ROWS {
            self.pixels_amx_cached(amx, out, pix0);
        } else if let Some(t) = self.tile {
            self.pixels_amx_tiled(amx, t, out, pix0);
        } else {
            self.pixels_amx(amx, out, pix0);
        }
    }

    /// [`Conv::pixels`] on AMX tiles ([`amx`]), `kp` a multiple of [`amx::K_STEP`]: blocks
    /// of [`amx::PIXELS`] pixels (consecutive in NHWC order, across rows), each gathered
    /// once into patch rows, then every 32-channel block multiplied by them on tiles and
    /// stored through the same requantisation.
    #[inline(never)]
    fn pixels_amx(&self, amx: Amx, out: &mut [i8], pix0: usize) {
        let (oc, kp) = (self.oc, self.kp);
        let m = amx.vnni;
        let mut wbuf = MaybeUninit::<Aligned<WBUF>>::uninit();
        let mut chunk = Chunk::new();
        let (blocks, sums) = self.amx_weights(m, &mut wbuf, &mut chunk);
        let npix = out.len() / oc;
        let mut patches = MaybeUninit::<Aligned<{ amx::PIXELS * MAX_TAPS }>>::uninit();
        let patches = zeroed(&mut patches, amx::PIXELS * kp);
        let mut acc = [[m.zero(); 2]; amx::PIXELS];
        let tiles = amx.tiles();
        let mut q = 0;
        while q < npix {
            let n = (npix - q).min(amx::PIXELS);
            let rows = &mut patches[..n * kp];
            self.gather_flipped(m, pix0 + q, bytemuck::cast_slice_mut(rows));
            let dst = &mut out[q * oc..(q + n) * oc];
            self.amx_blocks(blocks, sums, &mut chunk, |chunk, c0, o, o_end, w| {
                let geometry = (kp, kp, amx::PIXELS * kp);
                tiles.block32(patches, geometry, 1, n > amx::ROWS, w, &mut acc);
                m.store(&acc[..n], chunk, o, o_end, c0, oc, self.job, dst);
            });
            q += n;
        }
    }

    /// The AMX paths' weights, every 32-channel block of `kp` taps: the plan's pack when it
    /// has one of that layout, else all of them repacked into `wbuf` (the caller checked
    /// that they fit, and that there are at most [`CHUNK_OC`] channels). The channels'
    /// constants are put in `chunk` when they fit it (at most [`CHUNK_OC`] channels); else
    /// the pack's sums are returned for [`Conv::amx_blocks`] to compute them per chunk.
    fn amx_weights<'s>(
        &'s self,
        m: Avx512Vnni,
        wbuf: &'s mut MaybeUninit<Aligned<WBUF>>,
        chunk: &mut Chunk,
    ) -> (&'s [u8], Option<I32s<'s>>) {
        let oc = self.oc;
        if let Some((blocks, sums)) = self.pack {
            if oc <= CHUNK_OC {
                for o in 0..oc {
                    self.constants(0, o, sums.get(o).unwrap_or(0), chunk);
                }
                return (blocks, None);
            }
            return (blocks, Some(sums));
        }
        let len = oc.div_ceil(NB) * NB * self.kp;
        let packed = zeroed(wbuf, len);
        self.repack(m, 0, oc.min(CHUNK_OC), packed, chunk);
        (packed, None)
    }

    /// Every 32-channel block of `blocks` (the AMX paths' weights, `kp` taps each), in
    /// order: `f(chunk, c0, o, o_end, w)` for channels `c0 + o .. c0 + o_end`, their
    /// constants in `chunk` (index `o ..`). With `sums` (more than [`CHUNK_OC`] channels,
    /// see [`Conv::amx_weights`]) each chunk's constants are computed before its blocks.
    fn amx_blocks(
        &self,
        blocks: &[u8],
        sums: Option<I32s<'_>>,
        chunk: &mut Chunk,
        mut f: impl FnMut(&Chunk, usize, usize, usize, &[u8]),
    ) {
        let (oc, kp) = (self.oc, self.kp);
        let mut c0 = 0;
        while c0 < oc {
            let nc = CHUNK_OC.min(oc - c0);
            if let Some(sums) = sums {
                for o in 0..nc {
                    self.constants(c0, o, sums.get(c0 + o).unwrap_or(0), chunk);
                }
            }
            for o in (0..nc).step_by(NB) {
                let at = (c0 + o) * kp;
                let w = blocks.get(at..at + NB * kp).unwrap_or(&[]);
                f(chunk, c0, o, (o + NB).min(nc), w);
            }
            c0 += nc;
        }
    }

    /// [`Conv::pixels_amx`] reading each block's windows from a tile of input rows
    /// (`self.tile`, as `t`): blocks of up to [`amx::PIXELS`] pixels of one output row (a
    /// block of at most 16 computes one tile of patches, not two), nothing gathered per
    /// pixel.
    #[inline(never)]
    fn pixels_amx_tiled(&self, amx: Amx, t: Tile, out: &mut [i8], pix0: usize) {
        let (oc, kh) = (self.oc, self.p.window.kernel[0]);
        let m = amx.vnni;
        let mut wbuf = MaybeUninit::<Aligned<WBUF>>::uninit();
        let mut chunk = Chunk::new();
        let (blocks, sums) = self.amx_weights(m, &mut wbuf, &mut chunk);
        let (npix, ow) = (out.len() / oc, self.ow.max(1));
        let mut tile = MaybeUninit::<Aligned<AMX_TILE>>::uninit();
        let tile = zeroed(&mut tile, kh * t.span);
        let mut acc = [[m.zero(); 2]; amx::PIXELS];
        let tiles = amx.tiles();
        let mut q = 0;
        while q < npix {
            // The rest of this output row, in blocks of nearly equal size.
            let n = block_len(ow - (pix0 + q) % ow, amx::PIXELS).min(npix - q);
            self.gather_tile(m, t, pix0 + q, n, bytemuck::cast_slice_mut(tile));
            let dst = &mut out[q * oc..(q + n) * oc];
            self.amx_blocks(blocks, sums, &mut chunk, |chunk, c0, o, o_end, w| {
                let geometry = (t.line, t.step, t.span);
                tiles.block32(tile, geometry, kh, n > amx::ROWS, w, &mut acc);
                m.store(&acc[..n], chunk, o, o_end, c0, oc, self.job, dst);
            });
            q += n;
        }
    }

    /// [`Conv::pixels_amx`] for at most [`AMX_CACHE_ROWS`] pixels (the last stage's 7×7
    /// maps): every patch gathered once, then each 32-channel block multiplied by all of
    /// them in turn, so that the weights (2.4 MB for a 3×3 conv over 512 channels) are read
    /// once per call, not once per block of pixels.
    #[inline(never)]
    fn pixels_amx_cached(&self, amx: Amx, out: &mut [i8], pix0: usize) {
        let (oc, kp) = (self.oc, self.kp);
        let m = amx.vnni;
        let mut wbuf = MaybeUninit::<Aligned<WBUF>>::uninit();
        let mut chunk = Chunk::new();
        let (blocks, sums) = self.amx_weights(m, &mut wbuf, &mut chunk);
        let npix = out.len() / oc;
        let rows = npix.next_multiple_of(amx::PIXELS).min(AMX_CACHE_ROWS);
        let mut patches = MaybeUninit::<Aligned<{ AMX_CACHE_ROWS * MAX_TAPS }>>::uninit();
        let patches = zeroed(&mut patches, rows * kp);
        self.gather_flipped(m, pix0, bytemuck::cast_slice_mut(&mut patches[..npix * kp]));
        let mut acc = [[m.zero(); 2]; amx::PIXELS];
        let tiles = amx.tiles();
        self.amx_blocks(blocks, sums, &mut chunk, |chunk, c0, o, o_end, w| {
            for q in (0..npix).step_by(amx::PIXELS) {
                let n = (npix - q).min(amx::PIXELS);
                let patch = patches.get(q * kp..).unwrap_or(&[]);
                let geometry = (kp, kp, amx::PIXELS * kp);
                tiles.block32(patch, geometry, 1, n > amx::ROWS, w, &mut acc);
                let dst = &mut out[q * oc..(q + n) * oc];
                m.store(&acc[..n], chunk, o, o_end, c0, oc, self.job, dst);
            }
        });
    }

    /// [`Conv::pixels`] gathering each block of pixels again for each chunk. Not inlined, so
    /// that its patch buffer and [`Conv::pixels_cached`]'s are never on the stack together.
    #[inline(never)]
    fn pixels_chunked(&self, m: Avx512Vnni, out: &mut [i8], pix0: usize, per_chunk: usize) {
        let (oc, kp) = (self.oc, self.kp);
        let npix = out.len() / oc;
        let mut wbuf = MaybeUninit::<Aligned<WBUF>>::uninit();
        let wbuf = zeroed(&mut wbuf, self.wbuf_len(per_chunk));
        let mut patch = MaybeUninit::<Aligned<{ PX * MAX_TAPS }>>::uninit();
        let patch: &mut [i8] = bytemuck::cast_slice_mut(zeroed(&mut patch, PX * kp));
        let mut chunk = Chunk::new();
        let mut c0 = 0;
        while c0 < oc {
            let nc = per_chunk.min(oc - c0);
            let packed = self.chunk_weights(m, c0, nc, wbuf, &mut chunk);
            let mut next = self.next_chunk(c0 + nc, per_chunk, npix);
            let mut q = 0;
            while q < npix {
                let n = block_len(npix - q, PX);
                self.gather_flipped(m, pix0 + q, &mut patch[..n * kp]);
                let dst = &mut out[q * oc..(q + n) * oc];
                let pf = next.next().unwrap_or(&[]);
                self.blocks(m, patch, n, packed, &chunk, nc, c0, pf, dst);
                q += n;
            }
            c0 += nc;
        }
    }

    /// [`Conv::pixels`] gathering every pixel's patch once (`npix · kp <= CACHE`), for
    /// every chunk to read.
    #[inline(never)]
    fn pixels_cached(&self, m: Avx512Vnni, out: &mut [i8], pix0: usize, per_chunk: usize) {
        let (oc, kp) = (self.oc, self.kp);
        let npix = out.len() / oc;
        let mut patches = MaybeUninit::<Aligned<CACHE>>::uninit();
        let patches: &mut [i8] = bytemuck::cast_slice_mut(zeroed(&mut patches, npix * kp));
        self.gather_flipped(m, pix0, patches);
        let mut wbuf = MaybeUninit::<Aligned<WBUF>>::uninit();
        let wbuf = zeroed(&mut wbuf, self.wbuf_len(per_chunk));
        let mut chunk = Chunk::new();
        let mut c0 = 0;
        while c0 < oc {
            let nc = per_chunk.min(oc - c0);
            let packed = self.chunk_weights(m, c0, nc, wbuf, &mut chunk);
            let mut next = self.next_chunk(c0 + nc, per_chunk, npix);
            let mut q = 0;
            while q < npix {
                let n = block_len(npix - q, PX);
                let patch = patches.get(q * kp..).unwrap_or(&[]);
                let dst = &mut out[q * oc..(q + n) * oc];
                let pf = next.next().unwrap_or(&[]);
                self.blocks(m, patch, n, packed, &chunk, nc, c0, pf, dst);
                q += n;
            }
            c0 += nc;
        }
    }

    /// The raw weights of the chunk after the one being computed (up to `per_chunk`
    /// channels from `c1`), in one piece per block of the `npix` pixels: each block's
    /// micro-kernel prefetches its piece into L2, a line every few groups of taps, so that
    /// the next repack finds them there. In a whole model they come from memory, and the
    /// repack's 16 rows at a time are more streams than the hardware prefetcher follows
    /// (prefetching a whole piece at once, before the block, gained nothing).
    fn next_chunk(&self, c1: usize, per_chunk: usize, npix: usize) -> core::slice::Chunks<'_, i8> {
        let c2 = (c1 + per_chunk).min(self.oc);
        let next = match self.pack {
            // The packed chunk: whole blocks from `c1`, a multiple of 32.
            Some((blocks, _)) => {
                let kp = self.kp;
                let end = (c2.div_ceil(NB) * NB * kp).min(blocks.len());
                bytemuck::cast_slice(blocks.get(c1 * kp..end).unwrap_or(&[]))
            }
            None => self.p.weights.get(c1 * self.k..c2 * self.k).unwrap_or(&[]),
        };
        next.chunks(next.len().div_ceil(npix.div_ceil(PX)).max(1))
    }

    /// Bytes of the repacking buffer a call with chunks of `per_chunk` channels uses: none
    /// when the plan has a pack.
    fn wbuf_len(&self, per_chunk: usize) -> usize {
        if self.pack.is_some() {
            0
        } else {
            per_chunk.min(self.oc).div_ceil(NB) * NB * self.kp
        }
    }

    /// The packed weights of output channels `c0 .. c0 + nc` (`c0` a multiple of [`NB`],
    /// whole blocks), and their per-channel constants in `chunk`: the plan's pack read in
    /// place, else repacked into `wbuf` (at least [`Conv::wbuf_len`] bytes, zeroed).
    fn chunk_weights<'s>(
        &'s self,
        m: Avx512Vnni,
        c0: usize,
        nc: usize,
        wbuf: &'s mut [u8],
        chunk: &mut Chunk,
    ) -> &'s [u8] {
        let len = nc.div_ceil(NB) * NB * self.kp;
        if let Some((blocks, sums)) = self.pack {
            for o in 0..nc {
                self.constants(c0, o, sums.get(c0 + o).unwrap_or(0), chunk);
            }
            return blocks.get(c0 * self.kp..c0 * self.kp + len).unwrap_or(&[]);
        }
        let packed = wbuf.get_mut(..len).unwrap_or(&mut []);
        self.repack(m, c0, nc, packed, chunk);
        packed
    }

    /// Channel `c0 + o`'s constants in `chunk` (index `o`), from its weight sum `sum`:
    /// `base = bias − (zp + 128) · Σ w`, the multiplier and the shift.
    #[inline]
    fn constants(&self, c0: usize, o: usize, sum: i32, chunk: &mut Chunk) {
        let (mult, shift) = self.p.rescale.at(c0 + o);
        let bias = self.p.bias.get(c0 + o).unwrap_or(0);
        let zp128 = self.zp as i32 + 128;
        if let (Some(b), Some(m), Some(s), Some(f)) = (
            chunk.base.get_mut(o),
            chunk.mult.get_mut(o),
            chunk.shift.get_mut(o),
            chunk.fold.get_mut(o),
        ) {
            *b = bias.wrapping_sub(zp128.wrapping_mul(sum));
            *m = mult;
            *s = shift as i32;
            *f = AddOutRequant::new(mult, shift, self.out_zp).map_or(0, |r| r.c);
        }
    }

    /// The windows of pixels `pix, pix + 1, …` into the rows of `kp` bytes of `rows`, as
    /// `x + 128`, `zp + 128` in the padding.
    #[inline]
    fn gather_flipped(&self, m: Avx512Vnni, pix: usize, rows: &mut [i8]) {
        let _ = m;
        // SAFETY: `Avx512Vnni` exists only once AVX-512 F/BW were detected.
        unsafe { gather_flip_avx512(self.job, pix, rows, self.kp) }
    }

    /// Every 32-channel block of the chunk (`nc` channels from `c0`, repacked in `packed`)
    /// for the `n` pixels (1 ..= [`PX`]) whose patches are the rows of `kp` bytes at the
    /// start of `patch`; writes them to `dst` (`n` whole pixels).
    #[allow(clippy::too_many_arguments)]
    fn blocks(
        &self,
        m: Avx512Vnni,
        patch: &[i8],
        n: usize,
        packed: &[u8],
        chunk: &Chunk,
        nc: usize,
        c0: usize,
        pf: &[i8],
        dst: &mut [i8],
    ) {
        let b = Blocks {
            packed,
            patch,
            chunk,
            nc,
            c0,
            pf,
        };
        match n {
            1 => self.blocks_of::<1>(m, &b, dst),
            2 => self.blocks_of::<2>(m, &b, dst),
            3 => self.blocks_of::<3>(m, &b, dst),
            4 => self.blocks_of::<4>(m, &b, dst),
            5 => self.blocks_of::<5>(m, &b, dst),
            6 => self.blocks_of::<6>(m, &b, dst),
            7 => self.blocks_of::<7>(m, &b, dst),
            _ => self.blocks_of::<PX>(m, &b, dst),
        }
    }

    /// [`Conv::blocks`] for `P` pixels.
    #[inline(always)]
    fn blocks_of<const P: usize>(&self, m: Avx512Vnni, b: &Blocks<'_>, dst: &mut [i8]) {
        let kp = self.kp;
        let blocks = (b.packed.len() / (NB * kp).max(1)).max(1);
        let mut pf = b.pf.chunks(b.pf.len().div_ceil(blocks).max(1));
        for (k, w) in b.packed.chunks_exact(NB * kp).enumerate() {
            let o = k * NB;
            let acc = m.block::<P>(w, b.patch, kp, pf.next().unwrap_or(&[]));
            let o_end = (o + NB).min(b.nc);
            m.store(&acc, b.chunk, o, o_end, b.c0, self.oc, self.job, dst);
        }
    }

    /// Repacks output channels `c0 .. c0 + nc` (see the module docs) and their per-channel
    /// constants ([`Conv::constants`]).
    fn repack(&self, m: Avx512Vnni, c0: usize, nc: usize, packed: &mut [u8], chunk: &mut Chunk) {
        let k = self.k;
        for (b, blk) in packed.chunks_exact_mut(NB * self.kp).enumerate() {
            let o0 = b * NB;
            let rows = nc.saturating_sub(o0).min(NB);
            let wb = self
                .p
                .weights
                .get((c0 + o0) * k..(c0 + o0 + rows) * k)
                .unwrap_or(&[]);
            m.repack_block(wb, rows, k, blk);
            // Σ w of each channel from the repacked block (its padding is weight 0).
            let sums = m.block_sums(blk);
            for (j, &sum) in sums.iter().enumerate().take(rows) {
                self.constants(c0, o0 + j, sum, chunk);
            }
        }
    }
}

/// A tile row: `row[a .. a + src.len()] = src ^ 0x80` (`x + 128` as u8), the rest `fill`.
///
/// # Safety
/// AVX-512 F/BW available.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn fill_flip_avx512(row: &mut [i8], a: usize, src: &[i8], fill: i8) {
    let b = a + src.len();
    if b > row.len() {
        row.fill(fill);
        return;
    }
    fill_short(&mut row[..a], fill);
    fill_short(&mut row[b..], fill);
    // SAFETY: AVX-512 F/BW are enabled here; `row[a .. b]` and `src` hold `src.len()` bytes.
    unsafe { copy_flip_avx512(row.as_mut_ptr().add(a), src.as_ptr(), src.len()) }
}

/// `N` bytes on a cache line boundary: the micro-kernel's 64-byte weight loads, and the
/// repack's stores, each touch one line, not two.
#[repr(C, align(64))]
struct Aligned<const N: usize>([u8; N]);

/// The first `len` bytes (at most `N`) of `buf`, zeroed: the buffers are large, and a call
/// (one row band of a streamed conv) often uses a small part of them.
fn zeroed<const N: usize>(buf: &mut MaybeUninit<Aligned<N>>, len: usize) -> &mut [u8] {
    let len = len.min(N);
    let p = buf.as_mut_ptr().cast::<u8>();
    // SAFETY: `p` points to `N >= len` writable bytes, exclusively borrowed for the result's
    // lifetime; they are all initialised (to 0) before the slice is made.
    unsafe {
        core::ptr::write_bytes(p, 0, len);
        core::slice::from_raw_parts_mut(p, len)
    }
}

/// What [`Conv::blocks_of`] reads: the repacked chunk (channels `c0 .. c0 + nc`) and the
/// gathered patches (rows of `kp` bytes, from the block's first pixel).
struct Blocks<'a> {
    packed: &'a [u8],
    patch: &'a [i8],
    chunk: &'a Chunk,
    nc: usize,
    c0: usize,
    /// Bytes to prefetch into L2 meanwhile.
    pf: &'a [i8],
}

/// Per-channel constants of the repacked chunk (index: channel − chunk start).
struct Chunk {
    /// `bias − (zp + 128) · Σ w` (i32 wrapping).
    base: [i32; CHUNK_OC],
    mult: [i32; CHUNK_OC],
    /// Right shift, `1..=62`.
    shift: [i32; CHUNK_OC],
    /// [`AddOutRequant`]'s `c` with the output zero point, for a shift in `33..=54`
    /// (else 0, unused).
    fold: [i32; CHUNK_OC],
}

impl Chunk {
    fn new() -> Self {
        Chunk {
            base: [0; CHUNK_OC],
            mult: [0; CHUNK_OC],
            shift: [1; CHUNK_OC],
            fold: [0; CHUNK_OC],
        }
    }
}

/// Accumulators of one block: [`PX`] pixels × two vectors of 16 channels.
type Acc<const P: usize = PX> = [[__m512i; 2]; P];

impl Avx512Vnni {
    /// The 32 channels' weight sums of a repacked block (`[group][32][4]`, i8): one
    /// `vpdpbusd` of ones per 16 channels and group, no pass over the rows.
    fn block_sums(self, blk: &[u8]) -> [i32; NB] {
        let mut out = [0i32; NB];
        // SAFETY: `Avx512Vnni` exists only once AVX-512 F/BW/VNNI were detected.
        unsafe { block_sums_vnni(blk, &mut out) };
        out
    }

    /// `Σ_g w[g] · patch[p · stride + 4g ..][..4]` (the patch bytes as u8) for `g < groups`
    /// and pixels `p < P`, per lane (see [`block_vnni`]); `stride` is the patch rows' length
    /// and `4 · groups`.
    fn block<const P: usize>(self, w: &[u8], patch: &[i8], stride: usize, pf: &[i8]) -> Acc<P> {
        let groups = stride / 4;
        if P == 0 || w.len() < groups * NB * 4 || patch.len() < (P - 1) * stride + 4 * groups {
            return [[self.zero(); 2]; P];
        }
        let (w, patch) = (w.as_ptr(), patch.as_ptr());
        let step = pf.len().div_ceil(groups.max(1));
        // SAFETY: as in `sum`; `w` holds `groups` groups of 32 × 4 bytes and every patch
        // row `p < P` holds `4 * groups` bytes from `p * stride` (both checked above).
        unsafe {
            if pf.is_empty() {
                block_vnni::<P, false>(w, patch, stride, groups, pf.as_ptr(), 0)
            } else {
                block_vnni::<P, true>(w, patch, stride, groups, pf.as_ptr(), step)
            }
        }
    }

    /// [`Avx512Vnni::block`] on a tile (see [`Tile`]): for pixel `p < P`, window row
    /// `ky < kh` is the `t.line` bytes of `tile` at `ky · t.span + p · t.step`; `w` holds
    /// `kh · t.line / 4` groups.
    fn block_tiled<const P: usize>(
        self,
        w: &[u8],
        tile: &[i8],
        t: Tile,
        kh: usize,
        pf: &[i8],
    ) -> Acc<P> {
        let groups = t.line / 4;
        let all = kh * groups;
        let last = (P.max(1) - 1) * t.step + (kh.max(1) - 1) * t.span + t.line;
        if P == 0 || kh == 0 || w.len() < all * NB * 4 || tile.len() < last {
            return [[self.zero(); 2]; P];
        }
        let step = pf.len().div_ceil(all.max(1));
        let (w, tile) = (w.as_ptr(), tile.as_ptr());
        // SAFETY: as in `sum`; `w` holds `kh · groups` groups of 32 × 4 bytes, and for
        // every `p < P`, `ky < kh` the tile holds `4 · groups = t.line` bytes from
        // `ky · span + p · step` (the last of them checked above).
        unsafe {
            if pf.is_empty() {
                block_tiled_vnni::<P, false>(w, tile, t, kh, pf.as_ptr(), 0)
            } else {
                block_tiled_vnni::<P, true>(w, tile, t, kh, pf.as_ptr(), step)
            }
        }
    }

    /// The zero vector.
    fn zero(self) -> __m512i {
        // SAFETY: as in `sum`.
        unsafe { _mm512_setzero_si512() }
    }

    /// One 32-channel block: `blk[(g · 32 + j) · 4 + t] = w[j · k + 4g + t]` for the `rows`
    /// rows of `wb` (`k` bytes each), `0` past a row's end and for the rows `rows .. 32`.
    /// `blk` is 32 × 4 bytes per group.
    fn repack_block(self, wb: &[i8], rows: usize, k: usize, blk: &mut [u8]) {
        // 32 whole rows of whole groups overwrite every byte (see `repack_vnni`).
        if rows != NB || !k.is_multiple_of(4) || blk.len() != k * NB {
            blk.fill(0);
        }
        let full = k / 4;
        if rows > NB || wb.len() != rows * k || blk.len() < full * NB * 4 || k > MAX_TAPS {
            return;
        }
        // SAFETY: as in `sum`; the bounds are checked above.
        unsafe { repack_vnni(wb, rows, k, blk) };
        // The last 1..3 taps of each row, when `k` is not a multiple of 4.
        if !k.is_multiple_of(4) {
            for (j, w) in wb.chunks_exact(k).enumerate() {
                let at = (full * NB + j) * 4;
                for (d, &v) in blk
                    .get_mut(at..at + 4)
                    .unwrap_or(&mut [])
                    .iter_mut()
                    .zip(&w[4 * full..])
                {
                    *d = v as u8;
                }
            }
        }
    }

    /// Requantises `acc` and writes pixels `0 .. acc.len()`, channels `o .. o_end` of the
    /// chunk starting at `c0` into `dst` (whole pixels of `oc` bytes).
    #[allow(clippy::too_many_arguments)]
    fn store(
        self,
        acc: &[[__m512i; 2]],
        chunk: &Chunk,
        o: usize,
        o_end: usize,
        c0: usize,
        oc: usize,
        job: &Job<'_>,
        dst: &mut [i8],
    ) {
        // SAFETY: as in `sum`.
        unsafe { store_vnni(acc, chunk, o, o_end, c0, oc, job, dst) }
    }
}

/// [`Conv::gather_flipped`]: [`Job::gather_filled`] inlined here, with its copies inlined
/// too (a stem conv's kernel row is 21 bytes: a call per row costs more than the copy).
/// A window wholly inside the input (most of them) is copied here directly: `kh` runs of
/// `kw · ic` bytes, bounds checked once.
#[target_feature(enable = "avx512f,avx512bw")]
fn gather_flip_avx512(job: &Job<'_>, pix: usize, rows: &mut [i8], kp: usize) {
    let ow = job.ow.max(1);
    // One division per run of pixels, not per pixel.
    let (mut oy, mut ox) = (pix / ow, pix % ow);
    for (j, row) in rows.chunks_exact_mut(kp.max(1)).enumerate() {
        gather_one(job, pix + j, oy, ox, row);
        ox += 1;
        if ox == ow {
            (oy, ox) = (oy + 1, 0);
        }
    }
}

/// One pixel's window for [`gather_flip_avx512`]: pixel `pix`, at output row `oy`, column
/// `ox`.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn gather_one(job: &Job<'_>, pix: usize, oy: usize, ox: usize, row: &mut [i8]) {
    let fill = job.zp ^ i8::MIN;
    let w = &job.p.window;
    let ([kh, kw], [sh, sw], [dh, dw], [pt, pl]) = (w.kernel, w.stride, w.dilation, w.pad);
    let (ic, iw) = (job.ic, job.iw);
    if let (Some(iy0), Some(ix0)) = ((oy * sh).checked_sub(pt), (ox * sw).checked_sub(pl)) {
        let line = kw * ic;
        let step = dh * iw * ic;
        let start = (iy0 * iw + ix0) * ic;
        let inside = dw == 1 && kh > 0 && iy0 + (kh - 1) * dh < job.ih && ix0 + kw <= iw;
        if inside && start + (kh - 1) * step + line <= job.x.len() && kh * line <= row.len() {
            // Short lines (the stem's 21 bytes): whole 32-byte loads and stores for all but
            // the last line, each store's excess overwritten by the next line's copy (and
            // past the window by the fill below); masked copies of a few bytes cost more
            // here (they cross cache lines).
            let short = line <= 32
                && kh >= 2
                && (kh - 2) * line + 32 <= row.len()
                && start + (kh - 2) * step + 32 <= job.x.len();
            let exact_from = if short { kh - 1 } else { 0 };
            if short {
                let flip = _mm256_set1_epi8(i8::MIN);
                for ky in 0..kh - 1 {
                    // SAFETY: AVX2 is implied by AVX-512 F; source bytes `start + ky · step ..`
                    // `+ 32` lie in `job.x` and destination bytes `ky · line .. + 32` in `row`
                    // (both checked above for the last `ky`, `kh − 2`).
                    unsafe {
                        let v = _mm256_loadu_si256(job.x.as_ptr().add(start + ky * step).cast());
                        let d = row.as_mut_ptr().add(ky * line);
                        _mm256_storeu_si256(d.cast(), _mm256_xor_si256(v, flip));
                    }
                }
            }
            for ky in exact_from..kh {
                // SAFETY: AVX-512 F/BW are enabled here; source bytes `start + ky · step ..`
                // `+ line` lie in `job.x` and destination bytes `ky · line .. + line` in
                // `row` (both checked above for the last `ky`).
                unsafe {
                    copy_flip_avx512(
                        row.as_mut_ptr().add(ky * line),
                        job.x.as_ptr().add(start + ky * step),
                        line,
                    )
                }
            }
            fill_short(&mut row[kh * line..], fill);
            return;
        }
    }
    job.gather_filled(pix, row, fill, |d, s| {
        if d.len() == s.len() {
            // SAFETY: AVX-512 F/BW are enabled here; both slices hold `s.len()` bytes.
            unsafe { copy_flip_avx512(d.as_mut_ptr(), s.as_ptr(), s.len()) }
        }
    });
}

/// `d.fill(v)`, one masked store when `d` is at most 64 bytes (the few bytes past a window,
/// up to the next multiple of 4: a `memset` call per pixel cost more than the store).
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn fill_short(d: &mut [i8], v: i8) {
    if d.len() > 64 {
        d.fill(v);
        return;
    }
    let mask: __mmask64 = if d.len() == 64 {
        !0
    } else {
        (1u64 << d.len()) - 1
    };
    // SAFETY: the mask selects `d`'s bytes; masked-out bytes are not written.
    unsafe { _mm512_mask_storeu_epi8(d.as_mut_ptr(), mask, _mm512_set1_epi8(v)) }
}

/// `d[i] = s[i] ^ 0x80` (`x + 128` as u8) for `i < len`: 64 bytes per step, the last (or
/// only) step masked.
///
/// # Safety
/// AVX-512 F/BW available; `d` and `s` valid for `len` bytes.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn copy_flip_avx512(d: *mut i8, s: *const i8, len: usize) {
    let flip = _mm512_set1_epi8(i8::MIN);
    let mut i = 0;
    while i + 64 <= len {
        // SAFETY: bytes i .. i + 64 <= len of both (the caller's contract).
        unsafe {
            let v = _mm512_loadu_si512(s.add(i).cast());
            _mm512_storeu_si512(d.add(i).cast(), _mm512_xor_si512(v, flip));
        }
        i += 64;
    }
    if i < len {
        let mask: __mmask64 = (1u64 << (len - i)) - 1;
        // SAFETY: the mask covers bytes i .. len of both; masked-out bytes are neither read
        // nor written.
        unsafe {
            let v = _mm512_maskz_loadu_epi8(mask, s.add(i));
            _mm512_mask_storeu_epi8(d.add(i), mask, _mm512_xor_si512(v, flip));
        }
    }
}

/// See [`Avx512Vnni::block_sums`].
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn block_sums_vnni(blk: &[u8], out: &mut [i32; NB]) {
    let ones = _mm512_set1_epi8(1);
    // Two chains per half: one would wait on `vpdpbusd`'s latency.
    let mut s = [_mm512_setzero_si512(); 4];
    for (i, g) in blk.chunks_exact(NB * 4).enumerate() {
        let h = 2 * (i & 1);
        // SAFETY: `g` is 128 bytes; unaligned loads.
        let (w0, w1) = unsafe {
            (
                _mm512_loadu_si512(g.as_ptr().cast()),
                _mm512_loadu_si512(g.as_ptr().add(64).cast()),
            )
        };
        s[h] = _mm512_dpbusd_epi32(s[h], ones, w0);
        s[h + 1] = _mm512_dpbusd_epi32(s[h + 1], ones, w1);
    }
    let (lo, hi) = (_mm512_add_epi32(s[0], s[2]), _mm512_add_epi32(s[1], s[3]));
    // SAFETY: `out` is 32 i32 (128 bytes); unaligned stores.
    unsafe {
        _mm512_storeu_si512(out.as_mut_ptr().cast(), lo);
        _mm512_storeu_si512(out.as_mut_ptr().add(16).cast(), hi);
    }
}

/// The whole groups of 4 taps of [`Avx512Vnni::repack_block`], 16 rows × 16 groups at a
/// time: [`repack16_full`] for a whole tile, else 16 contiguous row loads (masked at the
/// rows' ends), a 16 × 16 transpose of 4-byte groups, 16 stores (a gather per group is
/// several times slower on Zen 4).
///
/// # Safety
/// AVX-512 F/BW available; `rows <= 32`, `wb.len() == rows * k`, `k <= MAX_TAPS` and
/// `blk.len() >= (k / 4) * 128`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn repack_vnni(wb: &[i8], rows: usize, k: usize, blk: &mut [u8]) {
    let full = k / 4;
    for first in [0, 16] {
        let live = rows.saturating_sub(first).min(16);
        if live == 0 && first > 0 {
            break; // `blk` was filled with weight 0 already
        }
        let mut g0 = 0;
        while g0 < full {
            let groups = (full - g0).min(16);
            if live == 16 && groups == 16 {
                // SAFETY: rows first .. first + 16 < rows, bytes 4 · g0 .. 4 · g0 + 64 <=
                // 4 · full <= k of each; destination as below.
                unsafe {
                    repack16_full(
                        wb.as_ptr().add(first * k + 4 * g0),
                        k,
                        blk.as_mut_ptr().add((g0 * NB + first) * 4),
                    )
                };
                g0 += 16;
                continue;
            }
            let bytes = 4 * groups;
            let mask: __mmask64 = if bytes == 64 { !0 } else { (1u64 << bytes) - 1 };
            let mut r = [_mm512_setzero_si512(); 16];
            for (j, v) in r.iter_mut().enumerate().take(live) {
                let at = (first + j) * k + 4 * g0;
                // 16 rows are 16 streams, more than the hardware prefetcher follows: ask for
                // each row's bytes four steps ahead (a hint; no access, no fault).
                _mm_prefetch::<_MM_HINT_T0>(wb.as_ptr().wrapping_add(at + 256));
                // SAFETY: row first + j < rows; bytes at .. at + 4 · groups lie inside the
                // row (4 · (g0 + groups) <= 4 · full <= k); masked-out bytes are not read.
                *v = unsafe { _mm512_maskz_loadu_epi8(mask, wb.as_ptr().add(at)) };
            }
            let cols = transpose16(&r);
            for (n, &c) in cols.iter().enumerate().take(groups) {
                let at = ((g0 + n) * NB + first) * 4;
                // SAFETY: at + 64 <= ((g0 + n) · 32 + 32) · 4 <= full · 128 <= blk.len().
                unsafe { _mm512_storeu_si512(blk.as_mut_ptr().add(at).cast(), c) };
            }
            g0 += groups;
        }
    }
}

/// 16 whole rows × 16 groups of [`repack_vnni`], the transpose's 128-bit-lane stage done
/// by the loads: register `i` of column quad `c` takes, in 128-bit lane `L`, bytes `16c ..
/// 16c + 16` of row `4L + i`; an in-lane 4 × 4 transpose of 4-byte groups then gives four
/// output columns. 64 16-byte loads and 32 shuffles, against 16 loads and 64 shuffles (half
/// of them across lanes) for [`transpose16`].
///
/// # Safety
/// AVX-512 F available; `src` valid for 64 bytes from `j · k` for each `j < 16`, `dst` for
/// 64 bytes from `n · 128` for each `n < 16`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn repack16_full(src: *const i8, k: usize, dst: *mut u8) {
    for c in 0..4 {
        let x: [__m512i; 4] = core::array::from_fn(|i| {
            // SAFETY: rows `i`, 4 + i, 8 + i, 12 + i, bytes 16c .. 16c + 16 (the contract).
            unsafe {
                let row = |l: usize| _mm_loadu_si128(src.add((4 * l + i) * k + 16 * c).cast());
                let v = _mm512_castsi128_si512(row(0));
                let v = _mm512_inserti32x4::<1>(v, row(1));
                let v = _mm512_inserti32x4::<2>(v, row(2));
                _mm512_inserti32x4::<3>(v, row(3))
            }
        });
        let t0 = _mm512_unpacklo_epi32(x[0], x[1]);
        let t1 = _mm512_unpackhi_epi32(x[0], x[1]);
        let t2 = _mm512_unpacklo_epi32(x[2], x[3]);
        let t3 = _mm512_unpackhi_epi32(x[2], x[3]);
        let y = [
            _mm512_unpacklo_epi64(t0, t2),
            _mm512_unpackhi_epi64(t0, t2),
            _mm512_unpacklo_epi64(t1, t3),
            _mm512_unpackhi_epi64(t1, t3),
        ];
        for (n, &v) in y.iter().enumerate() {
            // SAFETY: column 4c + n < 16: bytes (4c + n) · 128 .. + 64 (the contract).
            unsafe { _mm512_storeu_si512(dst.add((4 * c + n) * NB * 4).cast(), v) };
        }
    }
}

/// The 16 × 16 transpose of 32-bit elements: `out[n]` lane `j` = `r[j]` lane `n`.
#[target_feature(enable = "avx512f")]
#[inline]
fn transpose16(r: &[__m512i; 16]) -> [__m512i; 16] {
    let mut t = [_mm512_setzero_si512(); 16];
    for i in 0..8 {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    // u[4a + c], 128-bit lane L: column 4L + c of rows 4a .. 4a + 4.
    let mut u = [_mm512_setzero_si512(); 16];
    for a in 0..4 {
        let b = 4 * a;
        u[b] = _mm512_unpacklo_epi64(t[b], t[b + 2]);
        u[b + 1] = _mm512_unpackhi_epi64(t[b], t[b + 2]);
        u[b + 2] = _mm512_unpacklo_epi64(t[b + 1], t[b + 3]);
        u[b + 3] = _mm512_unpackhi_epi64(t[b + 1], t[b + 3]);
    }
    let mut out = [_mm512_setzero_si512(); 16];
    for c in 0..4 {
        let (a, b, cc, d) = (u[c], u[4 + c], u[8 + c], u[12 + c]);
        let ab_lo = _mm512_shuffle_i32x4::<0x44>(a, b);
        let ab_hi = _mm512_shuffle_i32x4::<0xEE>(a, b);
        let cd_lo = _mm512_shuffle_i32x4::<0x44>(cc, d);
        let cd_hi = _mm512_shuffle_i32x4::<0xEE>(cc, d);
        out[c] = _mm512_shuffle_i32x4::<0x88>(ab_lo, cd_lo);
        out[4 + c] = _mm512_shuffle_i32x4::<0xDD>(ab_lo, cd_lo);
        out[8 + c] = _mm512_shuffle_i32x4::<0x88>(ab_hi, cd_hi);
        out[12 + c] = _mm512_shuffle_i32x4::<0xDD>(ab_hi, cd_hi);
    }
    out
}

/// The micro-kernel: `P` (at most 8) pixels × 32 channels, `2 · P` `vpdpbusd` per group of
/// 4 taps: the weights (i8) against the patch bytes (u8), broadcast.
///
/// # Safety
/// AVX-512 F/BW/VNNI available, `w` valid for `groups * 128` bytes, `patch` valid for
/// `4 * groups` bytes from `p * stride` for every `p < P`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn block_vnni<const P: usize, const PF: bool>(
    w: *const u8,
    patch: *const i8,
    stride: usize,
    groups: usize,
    pf: *const i8,
    pf_step: usize,
) -> Acc<P> {
    let mut acc: Acc<P> = [[_mm512_setzero_si512(); 2]; P];
    let rows: [*const i8; P] = core::array::from_fn(|p| patch.wrapping_add(p * stride));
    for g in 0..groups {
        if PF {
            // A hint: any address will do, nothing is read.
            _mm_prefetch::<_MM_HINT_T1>(pf.wrapping_add(g * pf_step));
        }
        // SAFETY: g < groups: bytes `g * 128 .. g * 128 + 128` of `w` (the contract).
        let (w0, w1) = unsafe {
            (
                _mm512_loadu_si512(w.add(g * 128).cast()),
                _mm512_loadu_si512(w.add(g * 128 + 64).cast()),
            )
        };
        for (a, r) in acc.iter_mut().zip(&rows) {
            // SAFETY: 4 * g + 4 <= 4 * groups bytes of row p (the contract).
            let x = unsafe { (r.add(4 * g) as *const i32).read_unaligned() };
            let xb = _mm512_set1_epi32(x);
            a[0] = _mm512_dpbusd_epi32(a[0], xb, w0);
            a[1] = _mm512_dpbusd_epi32(a[1], xb, w1);
        }
    }
    acc
}

/// [`block_vnni`] on a tile: see [`Avx512Vnni::block_tiled`].
///
/// # Safety
/// AVX-512 F/BW/VNNI available, `w` valid for `kh · t.line / 4 · 128` bytes, `tile` valid
/// for `t.line` bytes from `ky · t.span + p · t.step` for every `ky < kh`, `p < P`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn block_tiled_vnni<const P: usize, const PF: bool>(
    w: *const u8,
    tile: *const i8,
    t: Tile,
    kh: usize,
    pf: *const i8,
    pf_step: usize,
) -> Acc<P> {
    let mut acc: Acc<P> = [[_mm512_setzero_si512(); 2]; P];
    let groups = t.line / 4;
    let mut w = w;
    let mut pf = pf;
    for ky in 0..kh {
        let rows: [*const i8; P] =
            core::array::from_fn(|p| tile.wrapping_add(ky * t.span + p * t.step));
        for g in 0..groups {
            if PF {
                // A hint: any address will do, nothing is read.
                _mm_prefetch::<_MM_HINT_T1>(pf);
                pf = pf.wrapping_add(pf_step);
            }
            // SAFETY: group `ky · groups + g` of `w` (the contract).
            let (w0, w1) = unsafe {
                (
                    _mm512_loadu_si512(w.cast()),
                    _mm512_loadu_si512(w.add(64).cast()),
                )
            };
            w = w.wrapping_add(128);
            for (a, r) in acc.iter_mut().zip(&rows) {
                // SAFETY: 4 · g + 4 <= t.line bytes of pixel p's row ky (the contract).
                let x = unsafe { (r.add(4 * g) as *const i32).read_unaligned() };
                let xb = _mm512_set1_epi32(x);
                a[0] = _mm512_dpbusd_epi32(a[0], xb, w0);
                a[1] = _mm512_dpbusd_epi32(a[1], xb, w1);
            }
        }
    }
    acc
}

/// See [`Avx512Vnni::store`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn store_vnni(
    acc: &[[__m512i; 2]],
    chunk: &Chunk,
    o: usize,
    o_end: usize,
    c0: usize,
    oc: usize,
    job: &Job<'_>,
    dst: &mut [i8],
) {
    let clamp = job.p.clamp;
    let zp = job.out_zp as i64;
    let lo = _mm512_set1_epi64(clamp.min as i64 - zp);
    let hi = _mm512_set1_epi64(clamp.max as i64 - zp);
    let zpv = _mm512_set1_epi32(job.out_zp as i32);
    let (lo8, hi8) = (
        _mm512_set1_epi32(clamp.min as i32),
        _mm512_set1_epi32(clamp.max as i32),
    );
    for (v, o) in [o, o + 16].into_iter().enumerate() {
        if o >= o_end {
            break;
        }
        let n = (o_end - o).min(16);
        let (Some(base), Some(mult), Some(shift), Some(fold)) = (
            chunk.base.get(o..o + 16),
            chunk.mult.get(o..o + 16),
            chunk.shift.get(o..o + 16),
            chunk.fold.get(o..o + 16),
        ) else {
            return;
        };
        // SAFETY: each slice is 16 i32 (64 bytes); unaligned loads.
        let (base, mult, shift, fold) = unsafe {
            (
                _mm512_loadu_si512(base.as_ptr().cast()),
                _mm512_loadu_si512(mult.as_ptr().cast()),
                _mm512_loadu_si512(shift.as_ptr().cast()),
                _mm512_loadu_si512(fold.as_ptr().cast()),
            )
        };
        // Every lane stored shifts by 33 ..= 54 (a conv's usually do: its scale is far
        // below 1): the folded form of `format::math::AddOutRequant`, in 32-bit lanes.
        let live: __mmask16 = ((1u32 << n) - 1) as u16;
        let folds = _mm512_cmpge_epi32_mask(shift, _mm512_set1_epi32(33))
            & _mm512_cmple_epi32_mask(shift, _mm512_set1_epi32(54));
        let folded = folds & live == live;
        let sh = _mm512_sub_epi32(shift, _mm512_set1_epi32(32));
        let mult_od = _mm512_srli_epi64::<32>(mult);
        // The 16 output bytes of accumulator vector `a`: `clamp(requantize(a + base) + zp)`.
        let bytes = |a: __m512i| {
            let a = _mm512_add_epi32(a, base);
            if folded {
                // ⌊a · m / 2^32⌋ per lane (even lanes from the low halves' products, odd
                // lanes from the high halves'), plus `c`, shifted by `s − 32`.
                let ev = _mm512_mul_epi32(a, mult);
                let od = _mm512_mul_epi32(_mm512_srli_epi64::<32>(a), mult_od);
                let high = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64::<32>(ev), od);
                let r = _mm512_srav_epi32(_mm512_add_epi32(high, fold), sh);
                _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(r, lo8), hi8))
            } else {
                // (a · m + 2^(s−1)) >> s, clamped to [lo − zp, hi − zp], plus zp.
                let r = requantize16(a, mult, shift, lo, hi);
                _mm512_cvtepi32_epi8(_mm512_add_epi32(r, zpv))
            }
        };
        let first = c0 + o;
        let whole = n == 16 && first + (acc.len().max(1) - 1) * oc + 16 <= dst.len();
        if whole {
            let d = dst.as_mut_ptr().wrapping_add(first);
            for (j, a) in acc.iter().enumerate() {
                // SAFETY: bytes `first + j · oc .. + 16` of `dst` for `j < acc.len()`, the
                // last of them checked above; unaligned store.
                unsafe { _mm_storeu_si128(d.add(j * oc).cast(), bytes(a[v])) };
            }
            continue;
        }
        for (j, a) in acc.iter().enumerate() {
            let at = j * oc + first;
            if let Some(d) = dst.get_mut(at..at + n) {
                let mut b = [0i8; 16];
                // SAFETY: `b` is 16 writable bytes; unaligned store.
                unsafe { _mm_storeu_si128(b.as_mut_ptr().cast(), bytes(a[v])) };
                d.copy_from_slice(&b[..n]);
            }
        }
    }
}
