//! `edgecnn bench`: the JSON report has every field (times are not checked).

#[path = "cli_support/mod.rs"]
mod support;

use serde_json::Value;
use support::{edgecnn, scratch, write_tiny_plan};

#[test]
fn bench_json_has_every_field() {
    let dir = scratch("cli_bench");
    let plan = write_tiny_plan(&dir);
    let plan = plan.to_str().expect("utf-8 path");
    let run = edgecnn(&["bench", plan, "--runs", "5", "--warmup", "1", "--json"]);
    let v: Value = serde_json::from_str(run.ok().trim()).expect("one JSON object");
    for key in ["median_ms", "min_ms", "max_ms"] {
        assert!(v[key].as_f64().is_some(), "{key} missing: {v}");
    }
    assert_eq!(v["runs"], 5);
    assert_eq!(v["threads"], 1);
    assert!(v["isa"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
}

#[test]
fn bench_text_names_the_isa() {
    let dir = scratch("cli_bench_text");
    let plan = write_tiny_plan(&dir);
    let out = edgecnn(&["bench", plan.to_str().unwrap(), "--runs", "2"]);
    assert!(out.ok().contains("isa "), "{}", out.stdout);
}

/// `--threads N` is reported, and `classify --threads N` prints what one thread prints.
#[test]
fn threads_are_reported_and_change_no_answer() {
    let plan = "tests/data/golden/micro_resnet8/model.plan";
    let run = edgecnn(&["bench", plan, "--runs", "2", "--threads", "2", "--json"]);
    let v: Value = serde_json::from_str(run.ok().trim()).expect("one JSON object");
    assert_eq!(v["threads"], 2);
    let images = [
        "models/data/fashion-test/0000.png",
        "models/data/fashion-test/0001.png",
    ];
    let classify = |extra: &[&str]| {
        let mut args = vec!["classify", plan];
        args.extend(images);
        args.extend(extra);
        edgecnn(&args).ok().to_string()
    };
    assert_eq!(classify(&["--threads", "3"]), classify(&[]));
}

/// `--isa` runs the named kernels (reported back), and refuses a name this CPU cannot run.
#[test]
fn isa_is_chosen_and_checked() {
    let plan = "tests/data/golden/micro_resnet8/model.plan";
    let run = edgecnn(&["bench", plan, "--runs", "1", "--isa", "reference", "--json"]);
    let v: Value = serde_json::from_str(run.ok().trim()).expect("one JSON object");
    assert_eq!(v["isa"], "Reference");
    let bad = edgecnn(&["bench", plan, "--runs", "1", "--isa", "sse9"]);
    bad.fails_with(plan, "--isa sse9: unknown; this CPU has: reference");
    // An ISA of another architecture is known but cannot run here.
    let foreign = if cfg!(target_arch = "x86_64") {
        "neon"
    } else {
        "avx2"
    };
    let run = edgecnn(&["bench", plan, "--runs", "1", "--isa", foreign]);
    run.fails_with(
        plan,
        &format!("--isa {foreign}: this CPU (or build) cannot run it"),
    );
}
