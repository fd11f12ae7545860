//! A firmware build whose golden models do not fit the board's RAM or flash fails in
//! `build.rs` with a message giving the bytes needed and available (not a cryptic linker
//! error). Builds `qemu-mps2-an386` with `EDGECNN_RAM_BYTES=16384` and, in a target folder
//! of its own (the two tests run in parallel: one folder would make them wait for each
//! other's lock and redo each other's build-script run), with `EDGECNN_FLASH_BYTES=262144`.
//! Needs the thumbv7em toolchain (`cargo xtask setup`); never skips.

use std::{fs, path::Path};

#[allow(dead_code)]
#[path = "board_support/memory.rs"]
mod memory;
#[allow(dead_code)]
#[path = "../xtask/src/toolchain.rs"]
mod toolchain;
#[allow(dead_code)]
#[path = "../xtask/src/util.rs"]
mod util;

#[test]
fn too_small_ram_fails_the_build_with_needed_and_available_bytes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = toolchain::CrossCargo::pick("thumbv7em-none-eabihf")
        .unwrap_or_else(|e| panic!("{e} (run `cargo xtask setup`)"));
    let out = cargo
        .command("build")
        .current_dir(root.join("boards/qemu-mps2-an386"))
        .arg("--release")
        .arg("--target-dir")
        .arg(util::cross_target_dir(root).join("fit-check"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("EDGECNN_RAM_BYTES", "16384")
        .output()
        .expect("start cargo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build should fail:\n{stderr}");
    assert!(
        stderr.contains("do not fit qemu-mps2-an386's RAM: need")
            && stderr.contains("available 16384 bytes"),
        "the build failed without the fit message:\n{stderr}"
    );
    println!("board_fit: OK (16 KiB of RAM refused with needed/available bytes)");
}

#[test]
fn too_small_flash_fails_the_build_with_needed_and_available_bytes() {
    const BOARD: &str = "qemu-mps2-an386";
    const FLASH: u64 = 256 << 10;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // What build.rs must say it needs: every golden plan and its inputs (all of them: the
    // environment that would pick fewer is cleared below) + the board's code reserve.
    let golden = root.join("tests/data/golden");
    let mut models = 0;
    let mut data = 0;
    for dir in fs::read_dir(&golden).expect("tests/data/golden").flatten() {
        let dir = dir.path();
        if dir.join("model.plan").is_file() {
            models += 1;
            for file in ["model.plan", "inputs.bin"] {
                data += fs::metadata(dir.join(file))
                    .unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
                    .len();
            }
        }
    }
    let code = memory::build_rs_field(root, BOARD, "code_reserve");
    let needed = data + code;
    assert!(
        needed > FLASH,
        "{needed} bytes of golden data and code fit in {FLASH}: pick a smaller flash here"
    );
    let cargo = toolchain::CrossCargo::pick("thumbv7em-none-eabihf")
        .unwrap_or_else(|e| panic!("{e} (run `cargo xtask setup`)"));
    let out = cargo
        .command("build")
        .current_dir(root.join("boards").join(BOARD))
        .arg("--release")
        .arg("--target-dir")
        .arg(util::cross_target_dir(root).join("fit-check-flash"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("EDGECNN_GOLDEN_DIR")
        .env_remove("EDGECNN_GOLDEN_MODELS")
        .env_remove("EDGECNN_GOLDEN_IMAGES")
        .env_remove("EDGECNN_RAM_BYTES")
        .env("EDGECNN_FLASH_BYTES", FLASH.to_string())
        .output()
        .expect("start cargo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build should fail:\n{stderr}");
    let message = format!(
        "the golden models do not fit {BOARD}'s flash: need {needed} bytes ({data} plans and \
         inputs of {models} models + {code} code), available {FLASH} bytes"
    );
    assert!(
        stderr.contains(&message),
        "the build failed without the fit message `{message}`:\n{stderr}"
    );
    println!(
        "board_fit: OK ({} KiB of flash refused: need {needed} bytes, available {FLASH})",
        FLASH >> 10
    );
}
