//! Image decoding and preprocessing (feature `image`): a PNG or JPEG file becomes the pixels
//! a plan consumes and the float tensor its source model consumes.
//!
//! One resize serves both paths, so the int8 runtime and the float reference always see the
//! same image:
//!
//! 1. decode (PNG or JPEG, recognised by content, not by file name), refusing absurd headers
//!    ([`MAX_SIDE`], [`MAX_DECODE_BYTES`]) *before* any pixel buffer is allocated;
//! 2. convert to the model's channel count: 1 = luma (ITU-R BT.709 weights, as the `image`
//!    crate does), 3 = RGB; alpha is dropped;
//! 3. resize to the model's `h × w`: an image already that size is taken untouched; otherwise
//!    it is scaled (bilinear) so that it *covers* `h × w` keeping its aspect ratio (the shorter
//!    side relative to the target matches) and the centre is cropped out;
//! 4. the result is [`Pixels`]: interleaved HWC `u8`, exactly what
//!    `Session::set_input_pixels` takes, and via [`Pixels::to_tensor`] the float input
//!    `real = (pixel * scale - mean[c]) / std[c]` in the model's own layout.

use std::fmt;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageReader, Limits};

use crate::format::model::Layout;

/// Largest accepted image width or height, in pixels.
pub const MAX_SIDE: u32 = 16_384;

/// Largest decoded image buffer the decoder may allocate, in bytes.
pub const MAX_DECODE_BYTES: u64 = 256 << 20;

/// The float recipe `real = (pixel * scale - mean[c]) / std[c]`.
///
/// `mean` and `std` hold one entry (used for every channel) or one per channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalize {
    /// Multiplier applied to the raw `u8` pixel first (typically `1/255`).
    pub scale: f32,
    /// Per-channel mean, after `scale`.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation, after `scale`.
    pub std: Vec<f32>,
}

impl Normalize {
    /// The real value of `pixel` in channel `c`.
    pub fn apply(&self, pixel: u8, c: usize) -> f32 {
        let mean = pick(&self.mean, c, 0.0);
        let std = pick(&self.std, c, 1.0);
        (f32::from(pixel) * self.scale - mean) / std
    }

    /// Checks that the recipe fits `channels` channels and divides by no zero.
    pub fn check(&self, channels: usize) -> Result<(), String> {
        for (what, v) in [("mean", &self.mean), ("std", &self.std)] {
            if !(v.len() <= 1 || v.len() == channels) {
                let want = if channels == 1 {
                    "1 value".to_string()
                } else {
                    format!("1 or {channels} values")
                };
                return Err(format!(
                    "--{what} has {} values; the model has {channels} channel(s): give {want}",
                    v.len()
                ));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(format!("--{what} values must be finite"));
            }
        }
        if self.std.contains(&0.0) {
            return Err("--std values must not be 0".into());
        }
        if !self.scale.is_finite() || self.scale == 0.0 {
            return Err("--scale must be finite and non-zero".into());
        }
        Ok(())
    }
}

fn pick(v: &[f32], c: usize, default: f32) -> f32 {
    match v.len() {
        0 => default,
        1 => v[0],
        _ => v.get(c).copied().unwrap_or(default),
    }
}

/// A decoded, converted, resized image: interleaved HWC `u8`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pixels {
    height: u32,
    width: u32,
    channels: u8,
    data: Vec<u8>,
}

impl Pixels {
    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Channels (1 or 3).
    pub fn channels(&self) -> u8 {
        self.channels
    }
    /// The bytes, `(y * width + x) * channels + c`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The float input tensor of the source model (batch dropped) in `layout`:
    /// `real = (pixel * scale - mean[c]) / std[c]`.
    pub fn to_tensor(&self, norm: &Normalize, layout: Layout) -> Vec<f32> {
        let (h, w, c) = (
            self.height as usize,
            self.width as usize,
            self.channels as usize,
        );
        let mut out = vec![0.0f32; h * w * c];
        for (i, &p) in self.data.iter().enumerate() {
            let ch = i % c;
            let pos = i / c; // y * w + x
            let j = match layout {
                Layout::Nhwc => i,
                Layout::Nchw => ch * h * w + pos,
            };
            out[j] = norm.apply(p, ch);
        }
        out
    }
}

/// What went wrong with an image, without the file name (see [`ImageError`]).
#[derive(Debug)]
pub enum ImageErrorKind {
    /// The file could not be read.
    Io(std::io::Error),
    /// The content is neither PNG nor JPEG.
    UnknownFormat,
    /// The header announces an image larger than [`MAX_SIDE`] or [`MAX_DECODE_BYTES`].
    TooLarge {
        /// Announced width.
        width: u32,
        /// Announced height.
        height: u32,
    },
    /// The header announces zero pixels.
    Empty {
        /// Announced width.
        width: u32,
        /// Announced height.
        height: u32,
    },
    /// The decoder failed (truncated or corrupt data).
    Decode(String),
    /// The model wants a channel count other than 1 or 3, or a zero-sized target.
    Target(String),
}

impl fmt::Display for ImageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot read: {e}"),
            Self::UnknownFormat => f.write_str("not a PNG or JPEG image"),
            Self::TooLarge { width, height } => write!(
                f,
                "image header says {width}x{height} pixels, over the limit of \
                 {MAX_SIDE}x{MAX_SIDE} pixels / {} MiB decoded",
                MAX_DECODE_BYTES >> 20
            ),
            Self::Empty { width, height } => {
                write!(f, "image header says {width}x{height} pixels: empty image")
            }
            Self::Decode(m) => write!(f, "cannot decode image: {m}"),
            Self::Target(m) => f.write_str(m),
        }
    }
}

/// An image failure, naming the file: displays as `<file>: <problem>`.
#[derive(Debug)]
pub struct ImageError {
    /// The file.
    pub path: PathBuf,
    /// The problem.
    pub kind: ImageErrorKind,
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.kind)
    }
}

impl std::error::Error for ImageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ImageErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Reads `path` and turns it into `height × width × channels` pixels (see the module docs).
pub fn load(path: &Path, height: u32, width: u32, channels: u8) -> Result<Pixels, ImageError> {
    let err = |kind| ImageError {
        path: path.to_path_buf(),
        kind,
    };
    let bytes = std::fs::read(path).map_err(|e| err(ImageErrorKind::Io(e)))?;
    decode(&bytes, height, width, channels).map_err(err)
}

/// [`load`] on bytes already in memory.
pub fn decode(
    bytes: &[u8],
    height: u32,
    width: u32,
    channels: u8,
) -> Result<Pixels, ImageErrorKind> {
    if !(channels == 1 || channels == 3) {
        return Err(ImageErrorKind::Target(format!(
            "the model takes {channels}-channel input; images give 1 (gray) or 3 (RGB)"
        )));
    }
    if height == 0 || width == 0 {
        return Err(ImageErrorKind::Target(format!(
            "the model's input is {height}x{width} pixels"
        )));
    }
    let reader = |limits: Limits| -> Result<ImageReader<Cursor<&[u8]>>, ImageErrorKind> {
        let mut r = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(ImageErrorKind::Io)?;
        if r.format().is_none() {
            return Err(ImageErrorKind::UnknownFormat);
        }
        r.limits(limits);
        Ok(r)
    };
    check_png_chunks(bytes)?;
    // Header first (reading it allocates no pixels): reject absurd or empty sizes with the
    // announced numbers before the decoder allocates anything.
    let (w, h) = reader(Limits::no_limits())?
        .into_dimensions()
        .map_err(|e| ImageErrorKind::Decode(e.to_string()))?;
    if w == 0 || h == 0 {
        return Err(ImageErrorKind::Empty {
            width: w,
            height: h,
        });
    }
    // 8 bytes per pixel covers 16-bit RGBA, the widest layout PNG and JPEG decode to.
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) * 8 > MAX_DECODE_BYTES {
        return Err(ImageErrorKind::TooLarge {
            width: w,
            height: h,
        });
    }
    let img = reader(limits())?.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => ImageErrorKind::TooLarge {
            width: w,
            height: h,
        },
        e => ImageErrorKind::Decode(e.to_string()),
    })?;
    Ok(convert(&img, height, width, channels))
}

/// PNG chunk rules the `png` decoder (0.18) does not check and panics on instead (found by
/// the `image` fuzz target): a `PLTE` must hold 1..=256 whole RGB entries, and an indexed
/// image's `tRNS` no more entries than its palette (and come after it). Walks the chunk
/// headers only: no CRC check, no decompression. Anything not PNG passes untouched.
fn check_png_chunks(bytes: &[u8]) -> Result<(), ImageErrorKind> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let Some(mut rest) = bytes.strip_prefix(SIGNATURE) else {
        return Ok(());
    };
    let (mut indexed, mut palette) = (false, None::<usize>);
    while let [a, b, c, d, kind @ ..] = rest {
        let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
        match kind.get(..4) {
            // IHDR data: width, height (4 bytes each), bit depth, colour type (3 = indexed).
            Some(b"IHDR") => indexed = kind.get(4 + 9) == Some(&3),
            Some(b"PLTE") => {
                if len == 0 || len > 768 || !len.is_multiple_of(3) {
                    return Err(ImageErrorKind::Decode(format!(
                        "PNG palette (PLTE) of {len} bytes: must be 1 to 256 RGB entries of 3 bytes"
                    )));
                }
                palette = Some(len / 3);
            }
            Some(b"tRNS") if indexed => {
                let entries = palette.unwrap_or(0);
                if len > entries {
                    return Err(ImageErrorKind::Decode(format!(
                        "PNG transparency (tRNS) has {len} entries for a palette of {entries}"
                    )));
                }
            }
            Some(b"IEND") | None => break,
            _ => {}
        }
        match len.checked_add(12).and_then(|n| rest.get(n..)) {
            Some(next) => rest = next,
            None => break, // truncated: the decoder reports it
        }
    }
    Ok(())
}

fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(MAX_SIDE);
    l.max_image_height = Some(MAX_SIDE);
    l.max_alloc = Some(MAX_DECODE_BYTES);
    l
}

/// Channel conversion, then cover-and-centre-crop resize (skipped when the size matches).
fn convert(img: &DynamicImage, height: u32, width: u32, channels: u8) -> Pixels {
    let img = if channels == 1 {
        DynamicImage::ImageLuma8(img.to_luma8())
    } else {
        DynamicImage::ImageRgb8(img.to_rgb8())
    };
    let img = if img.width() == width && img.height() == height {
        img
    } else {
        img.resize_to_fill(width, height, image::imageops::FilterType::Triangle)
    };
    let data = if channels == 1 {
        img.into_luma8().into_raw()
    } else {
        img.into_rgb8().into_raw()
    };
    Pixels {
        height,
        width,
        channels,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb(f(x, y)));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn same_size_is_untouched() {
        let bytes = png(4, 3, |x, y| [x as u8 * 10, y as u8, 7]);
        let p = decode(&bytes, 3, 4, 3).unwrap();
        assert_eq!(p.as_bytes()[..6], [0, 0, 7, 10, 0, 7]);
        assert_eq!(p.as_bytes().len(), 4 * 3 * 3);
    }

    #[test]
    fn resize_covers_and_crops_centre() {
        // 8x4, left half black, right half white: a 2x2 crop of the centre keeps both halves.
        let bytes = png(8, 4, |x, _| if x < 4 { [0; 3] } else { [255; 3] });
        let p = decode(&bytes, 2, 2, 1).unwrap();
        let b = p.as_bytes();
        assert!(b[0] < 64 && b[1] > 192, "{b:?}");
    }

    #[test]
    fn tensor_layouts_and_normalisation() {
        let bytes = png(2, 1, |x, _| [x as u8 * 255, 0, 51]);
        let p = decode(&bytes, 1, 2, 3).unwrap();
        let n = Normalize {
            scale: 1.0 / 255.0,
            mean: vec![0.0, 0.0, 0.1],
            std: vec![0.5],
        };
        let nhwc = p.to_tensor(&n, Layout::Nhwc);
        let nchw = p.to_tensor(&n, Layout::Nchw);
        assert_eq!(nhwc.len(), 6);
        assert!((nhwc[3] - 2.0).abs() < 1e-6); // x=1, c=0: 1.0 / 0.5
        assert!((nchw[1] - 2.0).abs() < 1e-6);
        assert!((nchw[4] - 0.2).abs() < 1e-6); // c=2: (0.2 - 0.1) / 0.5
    }

    #[test]
    fn jpeg_gray_to_rgb() {
        let img = image::GrayImage::from_fn(8, 8, |_, _| image::Luma([200]));
        let mut bytes = Vec::new();
        img.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Jpeg)
            .unwrap();
        let p = decode(&bytes, 4, 4, 3).unwrap();
        assert_eq!(p.as_bytes().len(), 4 * 4 * 3);
        assert!(p.as_bytes().iter().all(|&v| v.abs_diff(200) <= 3));
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        assert!(matches!(
            decode(b"hello world", 2, 2, 1),
            Err(ImageErrorKind::UnknownFormat)
        ));
        let bytes = png(16, 16, |x, y| [x as u8, y as u8, 0]);
        let cut = &bytes[..bytes.len() / 2];
        assert!(matches!(
            decode(cut, 2, 2, 1),
            Err(ImageErrorKind::Decode(_))
        ));
    }

    /// Found by the `image` fuzz target in CI: a 59-byte PLTE made `png` 0.18.1 index past
    /// the palette (palette.rs:74) instead of returning an error.
    #[test]
    fn palette_not_a_multiple_of_three_is_an_error_not_a_panic() {
        let bytes = include_bytes!("../tests/data/bad/bad_palette.png");
        for (h, w, c) in [(1, 1, 1), (7, 5, 3), (28, 28, 1)] {
            match decode(bytes, h, w, c) {
                Err(ImageErrorKind::Decode(m)) => assert!(m.contains("PLTE"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn huge_header_is_refused_before_decoding() {
        let mut bytes = png(1, 1, |_, _| [0; 3]);
        // IHDR: type at 12..16, width/height at 16..24, CRC (over type + data) at 29..33.
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let e = decode(&bytes, 2, 2, 1).unwrap_err();
        assert!(matches!(e, ImageErrorKind::TooLarge { .. }), "{e}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
}
