//! edgecnn on a Raspberry Pi (64-bit ARM Linux; here under `qemu-aarch64-static`): runs every
//! golden model embedded by `build.rs` on its test images through the same `classify_one` as
//! the firmware and the host test, prints class, score and output digest per image, and
//! exits 0 with `edgecnn raspberry-pi: OK` only when every answer matches the host's.
//!
//! `raspberry-pi PLAN IMAGE…` classifies your own images (binary PGM/PPM at the model's
//! input size) with a plan file instead: see `files.rs`.

#[allow(dead_code)] // arena_bytes: this board uses one arena of the largest size
#[path = "../../common/golden.rs"]
mod golden;
mod files;
mod data {
    use crate::golden::{GoldenImage, GoldenModel};
    include!(concat!(env!("OUT_DIR"), "/golden.rs"));
}

use std::process::ExitCode;

use golden::{classify_one, digest_on, matches, other_isas};

/// The board's name, as printed in every line.
const BOARD: &str = "raspberry-pi";

fn main() -> ExitCode {
    let args: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    if let Some((plan, images)) = args.split_first() {
        let images: Vec<&std::path::Path> = images.iter().map(|p| p.as_path()).collect();
        return match files::classify_files(plan, &images) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    golden_check()
}

/// Runs every embedded golden model on its images; success only when all match the host.
fn golden_check() -> ExitCode {
    println!("edgecnn {BOARD}: started ({})", std::env::consts::ARCH);
    // The caller owns the arena; here one buffer of the largest size any plan needs.
    let mut arena = vec![0u8; data::ARENA_BYTES];
    let (mut failures, mut total) = (0, 0);
    for model in data::MODELS {
        for image in model.images {
            total += 1;
            match classify_one(model.plan, &mut arena, image.pixels) {
                Ok(a) if matches(image, &a) => println!(
                    "edgecnn {BOARD}: {} {} label {} class {} score {} digest {:#010x} ok",
                    model.name, image.name, image.label, a.class.index, a.class.score, a.digest
                ),
                Ok(a) => {
                    failures += 1;
                    println!(
                        "edgecnn {BOARD}: {} {} class {} score {} digest {:#010x} MISMATCH: host class {} score {} digest {:#010x}",
                        model.name, image.name, a.class.index, a.class.score, a.digest, image.class, image.score, image.digest
                    );
                }
                Err(e) => {
                    failures += 1;
                    println!("edgecnn {BOARD}: {} {}: {e}", model.name, image.name);
                }
            }
        }
    }
    // The other kernel paths this CPU has (reference, NEON, when `sdot` ran above) give the
    // host's bytes too, on every image.
    for isa in other_isas() {
        for model in data::MODELS {
            for image in model.images {
                match digest_on(isa, model.plan, &mut arena, image.pixels) {
                    Ok(d) if d == image.digest => {}
                    Ok(d) => {
                        failures += 1;
                        println!(
                            "edgecnn {BOARD}: {} {} on {isa:?}: digest {d:#010x} MISMATCH: host {:#010x}",
                            model.name, image.name, image.digest
                        );
                    }
                    Err(e) => {
                        failures += 1;
                        println!("edgecnn {BOARD}: {} {} on {isa:?}: {e}", model.name, image.name);
                    }
                }
            }
        }
        println!("edgecnn {BOARD}: every digest matches the host on {isa:?}");
    }
    if failures > 0 {
        println!("edgecnn {BOARD}: FAILED: {failures} of {total} images differ from the host");
        return ExitCode::FAILURE;
    }
    println!(
        "edgecnn {BOARD}: {} models, {total} images: every class and digest matches the host",
        data::MODELS.len()
    );
    println!("edgecnn {BOARD}: OK");
    ExitCode::SUCCESS
}
