//! `raspberry-pi PLAN IMAGE…`: what a user runs on a Pi with their own plan (`edgecnn
//! compile` output) and images. Images are binary PGM (`P5`, grey) or PPM (`P6`, RGB), 8 bits
//! per sample, already at the model's input size: no image decoder comes with the runtime
//! (`convert photo.jpg -resize 28x28! -colorspace Gray img.pgm` makes one). Each image goes
//! through the same [`classify_one`] as the golden check; one line per image: file, class
//! index, label, score, output digest.

use std::{fmt, fs, path::Path};

use edgecnn::runtime::Plan;

use crate::golden::classify_one;

/// Why a file could not be classified.
#[derive(Debug)]
pub struct FileError(String);

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail(msg: String) -> FileError {
    FileError(msg)
}

/// A decoded PGM/PPM: width, height, channels (1 or 3), HWC pixels.
#[derive(Debug, PartialEq, Eq)]
pub struct Netpbm {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

/// Parses a binary PGM (`P5`) or PPM (`P6`) with a maximum value of 255 (`#` comments
/// allowed in the header).
pub fn parse_netpbm(bytes: &[u8]) -> Result<Netpbm, String> {
    let channels = match bytes.get(..2) {
        Some(b"P5") => 1,
        Some(b"P6") => 3,
        _ => return Err("not a binary PGM (P5) or PPM (P6) file".into()),
    };
    let mut at = 2;
    let mut fields = [0usize; 3];
    for field in &mut fields {
        // Whitespace and comments, then a decimal number.
        loop {
            match bytes.get(at) {
                Some(b) if b.is_ascii_whitespace() => at += 1,
                Some(b'#') => {
                    while bytes.get(at).is_some_and(|&b| b != b'\n') {
                        at += 1;
                    }
                }
                Some(_) => break,
                None => return Err("the header ends early".into()),
            }
        }
        let start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        *field = std::str::from_utf8(&bytes[start..at])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("a header field is not a number")?;
    }
    let [width, height, max] = fields;
    if max != 255 {
        return Err(format!("maximum value {max}: only 8-bit files (255) are supported"));
    }
    // Exactly one whitespace byte separates the header from the samples.
    at += 1;
    let len = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(channels))
        .ok_or("the image size overflows")?;
    let pixels = bytes
        .get(at..at + len)
        .ok_or(format!("{width}x{height}x{channels} needs {len} bytes of samples"))?;
    Ok(Netpbm {
        width,
        height,
        channels,
        pixels: pixels.to_vec(),
    })
}

/// Classifies every image in `images` with the plan file `plan_path`; prints one line each.
pub fn classify_files(plan_path: &Path, images: &[&Path]) -> Result<(), FileError> {
    let blob = fs::read(plan_path)
        .map_err(|e| fail(format!("cannot read the plan {}: {e}", plan_path.display())))?;
    let plan = Plan::parse(&blob)
        .map_err(|e| fail(format!("{}: not a valid plan: {e}", plan_path.display())))?;
    let [h, w, c] = plan.input_shape();
    let (h, w, c) = (h as usize, w as usize, c as usize);
    // The caller owns the arena: one buffer, of the size the plan says.
    let mut arena = vec![0u8; plan.arena_bytes()];
    println!(
        "plan {}: input {w}x{h}x{c}, {} classes, arena {} bytes",
        plan_path.display(),
        plan.num_labels(),
        plan.arena_bytes()
    );
    for path in images {
        let bytes = fs::read(path)
            .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
        let image = parse_netpbm(&bytes).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        if (image.height, image.width, image.channels) != (h, w, c) {
            return Err(fail(format!(
                "{}: {}x{}x{} but the plan takes {w}x{h}x{c} (resize it first)",
                path.display(),
                image.width,
                image.height,
                image.channels
            )));
        }
        let answer = classify_one(&blob, &mut arena, &image.pixels)
            .map_err(|e| fail(format!("{}: {e}", path.display())))?;
        let index = usize::from(answer.class.index);
        println!(
            "{}: class {} {} score {} digest {:#010x}",
            path.display(),
            index,
            plan.label(index).unwrap_or("?"),
            answer.class.score,
            answer.digest
        );
    }
    Ok(())
}
