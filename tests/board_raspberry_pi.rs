//! The runtime on 64-bit ARM Linux (Raspberry Pi), under `qemu-aarch64-static`: the
//! `raspberry-pi` board runs every golden model (`tests/data/golden`) on its test images
//! and must report every class and output digest equal to the host runtime's, then
//! `edgecnn raspberry-pi: OK`, exit 0. See `board_support`. Needs qemu-user-static,
//! gcc-aarch64-linux-gnu and an aarch64 toolchain: when missing it fails, saying to run
//! `cargo xtask setup`; it never skips.

// The xtask's board logic and the firmware's input/digest code, shared by path.
#[allow(dead_code)]
#[path = "../xtask/src/board.rs"]
mod board;
#[allow(dead_code)]
#[path = "../xtask/src/toolchain.rs"]
mod toolchain;
#[allow(dead_code)]
#[path = "../xtask/src/util.rs"]
mod util;

mod board_support;

#[test]
fn raspberry_pi_matches_every_golden_output() {
    board_support::run_board_golden("raspberry-pi");
}

/// `raspberry-pi PLAN IMAGE…`: the plan file of a golden model and its first test image as a
/// PGM give the host's class and output digest; a file of the wrong size is refused with
/// an error and a failure exit code.
#[test]
fn raspberry_pi_classifies_a_plan_file_and_pgm_images() {
    use std::{fs, path::Path, process::Command};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let b = board::Board::find(root, "raspberry-pi").unwrap_or_else(|e| panic!("{e}"));
    let elf = b
        .build(root, None)
        .unwrap_or_else(|e| panic!("{e} (run `cargo xtask setup`)"));
    let golden = root.join("tests/data/golden/micro_resnet8");
    let inputs = fs::read(golden.join("inputs.bin")).expect("inputs.bin");
    let expected = fs::read(golden.join("expected.bin")).expect("expected.bin");
    let labels = fs::read_to_string(golden.join("labels.txt")).expect("labels.txt");
    let n = labels.lines().filter(|l| !l.trim().is_empty()).count();
    let (px, outn) = (inputs.len() / n, expected.len() / n);
    assert_eq!(px, 28 * 28, "micro_resnet8 takes 28x28 grey images");
    // What the host runtime gave for image 0: top-1 (ties to the lowest index) and digest.
    let out: Vec<i8> = expected[..outn].iter().map(|&b| b as i8).collect();
    let class = (0..out.len()).fold(0, |best, i| if out[i] > out[best] { i } else { best });
    let digest = out.iter().fold(0x811C_9DC5u32, |h, &v| {
        (h ^ u32::from(v as u8)).wrapping_mul(0x0100_0193)
    });

    let dir = std::env::temp_dir().join(format!("edgecnn-rpi-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let pgm = dir.join("0000.pgm");
    let mut bytes = b"P5\n# 0000.png of the golden set\n28 28\n255\n".to_vec();
    bytes.extend_from_slice(&inputs[..px]);
    fs::write(&pgm, bytes).expect("write pgm");
    let small = dir.join("small.pgm");
    fs::write(&small, b"P5\n2 2\n255\n\x00\x01\x02\x03").expect("write pgm");

    let run = |images: &[&Path]| {
        let (program, args) = b.runner.split_first().expect("runner");
        let out = Command::new(program)
            .args(args)
            .arg(&elf)
            .arg(golden.join("model.plan"))
            .args(images)
            .output()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e} (run `cargo xtask setup`)"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = run(&[&pgm]);
    let want = format!("0000.pgm: class {class} ");
    let line = text
        .lines()
        .find(|l| l.contains(&want))
        .unwrap_or_else(|| panic!("no `{want}` line; it printed:\n{text}"));
    assert!(ok, "exit code not 0:\n{text}");
    assert!(
        line.ends_with(&format!("digest {digest:#010x}")),
        "digest differs from the host's {digest:#010x}: {line}"
    );
    let (ok, text) = run(&[&small]);
    assert!(
        !ok && text.contains("2x2x1 but the plan takes 28x28x1"),
        "{text}"
    );
    fs::remove_dir_all(&dir).ok();
    println!("raspberry-pi file mode: {line}");
}
