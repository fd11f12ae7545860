//! A firmware build whose golden models do not fit the board's RAM fails in `build.rs`
//! with a message giving the bytes needed and available (not a cryptic linker error).
//! Builds `qemu-mps2-an386` with `EDGECNN_RAM_BYTES=16384`. Needs the thumbv7em toolchain
//! (`cargo xtask setup`); never skips.

use std::path::Path;

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
