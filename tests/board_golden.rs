//! The golden folders `tests/data/golden/<model>/` on the host: the host runtime, called
//! through the same `classify_one` the firmware and the Linux board call, reproduces
//! `expected.bin` byte for byte (and the classes in `expected.txt`) for every bundled model.
//! The boards (`tests/board_qemu.rs`, `tests/board_raspberry_pi.rs`) check the same files.
//!
//! `cargo xtask golden` regenerates the folders: it compiles each `models/micro_*.onnx` to
//! `model.plan` with the CLI, then runs this test with `EDGECNN_GOLDEN_WRITE=1`, which decodes
//! the first [`IMAGES`] test images into `inputs.bin`/`labels.txt` and writes the host
//! runtime's outputs to `expected.bin`/`expected.txt` instead of checking them.
//!
//! It also checks that `README.md` and `boards/README.md` show that `classify_one` verbatim:
//! each must hold, inside a ```` ```rust ```` block, the exact lines between
//! `// README-SNIPPET-START` and `// README-SNIPPET-END` of `boards/common/golden.rs`, doc
//! comments included (only trailing whitespace is ignored).
//! Needs feature `image` (part of `cli`, which `cargo xtask test` enables).
#![cfg(feature = "image")]

#[allow(dead_code)]
#[path = "../boards/common/golden.rs"]
mod golden;

use std::{fmt::Write as _, fs, path::Path};

use edgecnn::runtime::{Plan, Session};

/// Test images per model.
const IMAGES: usize = 8;
const TEST_SET: &str = "models/data/fashion-test";

fn golden_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden")
}

/// The model folders that hold a `model.plan`, sorted.
fn models() -> Vec<std::path::PathBuf> {
    let dir = golden_dir();
    let mut found: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask golden`)", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("model.plan").is_file())
        .collect();
    found.sort();
    assert!(
        !found.is_empty(),
        "no golden models in {} (run `cargo xtask golden`)",
        dir.display()
    );
    found
}

/// Decodes the first [`IMAGES`] test images at the plan's input size.
fn write_inputs(dir: &Path, plan: &Plan<'_>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let labels = fs::read_to_string(root.join(TEST_SET).join("labels.txt"))
        .expect("models/data/fashion-test/labels.txt");
    let [h, w, c] = plan.input_shape();
    let (mut inputs, mut list) = (Vec::new(), String::new());
    for line in labels.lines().filter(|l| !l.trim().is_empty()).take(IMAGES) {
        let file = line.split_whitespace().next().expect("a file name");
        let px = edgecnn::image::load(&root.join(TEST_SET).join(file), h, w, c as u8)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        inputs.extend_from_slice(px.as_bytes());
        list.push_str(line.trim());
        list.push('\n');
    }
    fs::write(dir.join("inputs.bin"), inputs).expect("write inputs.bin");
    fs::write(dir.join("labels.txt"), list).expect("write labels.txt");
}

/// Checks (or, with `EDGECNN_GOLDEN_WRITE=1`, writes) one model folder.
fn check_model(dir: &Path, write: bool) -> usize {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let blob = fs::read(dir.join("model.plan")).expect("read model.plan");
    let plan = Plan::parse(&blob).unwrap_or_else(|e| panic!("{name}: Plan::parse: {e}"));
    if write {
        write_inputs(dir, &plan);
    }
    let inputs = fs::read(dir.join("inputs.bin")).expect("read inputs.bin");
    let labels = fs::read_to_string(dir.join("labels.txt")).expect("read labels.txt");
    let files: Vec<&str> = labels.lines().filter(|l| !l.trim().is_empty()).collect();
    let px = inputs.len() / files.len();
    let mut arena = vec![0u8; plan.arena_bytes()];
    let (mut outputs, mut text) = (Vec::new(), String::new());
    for (i, line) in files.iter().enumerate() {
        let pixels = &inputs[i * px..(i + 1) * px];
        // The user-facing call, exactly as the boards make it.
        let answer = golden::classify_one(&blob, &mut arena, pixels)
            .unwrap_or_else(|e| panic!("{name} {line}: {e}"));
        // The raw output bytes, through a Session of its own.
        let mut session = Session::new(&plan, &mut arena).expect("arena fits");
        session.set_input_pixels(pixels).expect("pixels fit");
        session.run().expect("runs");
        let out: Vec<u8> = session.output().iter().map(|&v| v as u8).collect();
        assert_eq!(answer.digest, golden::digest(session.output()));
        // The other kernel paths this CPU has (the reference, AVX2 under VNNI…) give the
        // same bytes.
        for isa in golden::other_isas() {
            let d = golden::digest_on(isa, &blob, &mut arena, pixels)
                .unwrap_or_else(|e| panic!("{name} {line} on {isa:?}: {e}"));
            assert_eq!(d, answer.digest, "{name} {line}: {isa:?} differs");
        }
        // Split across threads (feature `threads`): the same bytes for every count.
        #[cfg(feature = "threads")]
        for threads in [2, 3] {
            let mut session = Session::new(&plan, &mut arena).expect("arena fits");
            session.set_threads(threads);
            session.set_input_pixels(pixels).expect("pixels fit");
            session.run().expect("runs");
            let d = golden::digest(session.output());
            assert_eq!(d, answer.digest, "{name} {line}: {threads} threads differ");
        }
        outputs.extend_from_slice(&out);
        writeln!(
            text,
            "{} class {} score {} digest {:#010x}",
            line.split_whitespace().next().unwrap(),
            answer.class.index,
            answer.class.score,
            answer.digest
        )
        .unwrap();
    }
    if write {
        fs::write(dir.join("expected.bin"), &outputs).expect("write expected.bin");
        fs::write(dir.join("expected.txt"), &text).expect("write expected.txt");
        println!("{name}: wrote {} images", files.len());
    } else {
        let expected = fs::read(dir.join("expected.bin")).expect("read expected.bin");
        assert!(
            expected == outputs,
            "{name}: the host runtime's output bytes differ from expected.bin \
             (a runtime or kernel change altered the int8 math; if intended, regenerate with \
             `cargo xtask golden` and say why)"
        );
        let expected_text = fs::read_to_string(dir.join("expected.txt")).expect("expected.txt");
        assert_eq!(
            expected_text, text,
            "{name}: classes differ from expected.txt"
        );
        println!("{name}: {} images bit-exact", files.len());
    }
    files.len()
}

#[test]
fn host_runtime_reproduces_every_golden_output() {
    let write = std::env::var_os("EDGECNN_GOLDEN_WRITE").is_some_and(|v| v == "1");
    let models = models();
    let images: usize = models.iter().map(|m| check_model(m, write)).sum();
    println!(
        "board_golden: OK ({} models, {images} images {})",
        models.len(),
        if write { "written" } else { "bit-exact" }
    );
}

/// `text` with each line's trailing whitespace and the trailing blank lines removed.
fn trim_trailing(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end().to_string()
}

/// The lines strictly between the `README-SNIPPET` markers of `boards/common/golden.rs`.
fn readme_snippet(root: &Path) -> String {
    let path = root.join("boards/common/golden.rs");
    let code = fs::read_to_string(&path).expect("boards/common/golden.rs");
    let lines: Vec<&str> = code.lines().collect();
    let at = |marker: &str| {
        let found: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].trim() == marker)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{} must have exactly one `{marker}` line",
            path.display()
        );
        found[0]
    };
    let (start, end) = (at("// README-SNIPPET-START"), at("// README-SNIPPET-END"));
    assert!(
        start < end,
        "{}: the snippet markers are out of order",
        path.display()
    );
    let snippet = trim_trailing(&lines[start + 1..end].join("\n"));
    assert!(
        snippet.contains("pub fn classify_one("),
        "{}: the README snippet should be `classify_one`",
        path.display()
    );
    snippet
}

/// The bodies of the fenced code blocks whose info string is `rust` (with or without
/// attributes such as `rust,ignore`), trailing whitespace trimmed.
fn rust_blocks(markdown: &str) -> Vec<String> {
    let (mut blocks, mut current): (Vec<String>, Option<Vec<&str>>) = (Vec::new(), None);
    let mut in_other = false;
    for line in markdown.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut current, fence) {
            (Some(body), Some(_)) => {
                blocks.push(trim_trailing(&body.join("\n")));
                current = None;
            }
            (Some(body), None) => body.push(line),
            (None, Some(_)) if in_other => in_other = false,
            (None, Some(info)) => {
                if info.split(',').next().map(str::trim) == Some("rust") {
                    current = Some(Vec::new());
                } else {
                    in_other = true;
                }
            }
            (None, None) => {}
        }
    }
    blocks
}

#[test]
fn readmes_show_the_classify_call_verbatim() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let snippet = readme_snippet(root);
    for readme in ["README.md", "boards/README.md"] {
        let text =
            fs::read_to_string(root.join(readme)).unwrap_or_else(|e| panic!("{readme}: {e}"));
        assert!(
            rust_blocks(&text).iter().any(|b| b.contains(&snippet)),
            "{readme} has no ```rust block holding the code between the README-SNIPPET markers \
             of boards/common/golden.rs, verbatim; paste exactly this:\n{snippet}"
        );
    }
    println!(
        "board_golden: README.md and boards/README.md show classify_one verbatim ({} lines)",
        snippet.lines().count()
    );
}
