//! The malformed-input corpus (`tests/data/bad/`, made by `make_bad.py` there; its
//! `EXPECTED.tsv` lists every case): each file goes through the CLI command that reads it,
//! which must exit non-zero with one line naming the file and the problem, never a panic.
#![cfg(feature = "cli")]

#[path = "cli_support/mod.rs"]
mod support;

use std::path::Path;

use support::{edgecnn, scratch, tiny_plan};

const BAD: &str = "tests/data/bad";

/// `tiny.plan` in the corpus, the base every bad plan is derived from, is the current
/// encoding of the hand-built `tiny_plan` (so the derived files test today's format).
#[test]
fn corpus_base_plan_is_current() {
    let committed = std::fs::read(format!("{BAD}/tiny.plan")).expect("tests/data/bad/tiny.plan");
    assert!(
        committed == tiny_plan().encode(),
        "tests/data/bad/tiny.plan is stale: regenerate it (write_tiny_plan) and run \
         `python3 tests/data/bad/make_bad.py`"
    );
}

/// Runs the CLI command(s) of one corpus case.
fn run_case(file: &str, command: &str) -> Vec<support::Run> {
    let tiny = format!("{BAD}/tiny.plan");
    let dir = scratch(&format!("trust_corpus_{}", file.replace(['/', '.'], "_")));
    let out = dir.join("out.plan");
    let out = out.to_str().unwrap();
    let one = match command {
        // A model file, compiled on the corpus' own valid image.
        "compile" => edgecnn(&[
            "compile",
            file,
            "--calibration",
            "tests/data/bad/ok",
            "-o",
            out,
        ]),
        // A plan file, inspected and classified.
        "plan" => {
            return vec![
                edgecnn(&["inspect", file]),
                edgecnn(&["classify", file, "tests/data/bad/ok/ok.png"]),
            ]
        }
        // An image, classified with the valid tiny plan.
        "image" => edgecnn(&["classify", &tiny, file]),
        // A `.npy` input tensor, evaluated with the valid tiny plan.
        "npy" => edgecnn(&[
            "eval",
            &tiny,
            "--inputs",
            file,
            "--labels",
            "tests/data/bad/ok_labels.npy",
        ]),
        // A labels file for the corpus' valid image folder.
        "labels" => edgecnn(&[
            "eval",
            &tiny,
            "--inputs",
            "tests/data/bad/ok",
            "--labels",
            file,
        ]),
        other => panic!("EXPECTED.tsv: unknown command `{other}` for {file}"),
    };
    vec![one]
}

#[test]
fn every_malformed_input_fails_in_one_line() {
    let manifest = std::fs::read_to_string(format!("{BAD}/EXPECTED.tsv")).expect("EXPECTED.tsv");
    let mut cases = 0;
    for line in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, command, problem] = cols[..] else {
            panic!("EXPECTED.tsv: want 3 tab-separated columns: {line:?}");
        };
        let file = if file.contains('/') {
            file.to_string()
        } else {
            format!("{BAD}/{file}")
        };
        assert!(Path::new(&file).exists(), "{file} is missing (make_bad.py)");
        for run in run_case(&file, command) {
            run.fails_with(&file, problem);
        }
        println!("ok  {command:8} {file}: {problem}");
        cases += 1;
    }
    assert!(cases >= 20, "only {cases} malformed cases");
    println!("trust_corpus: {cases} malformed inputs, each refused in one line");
}
