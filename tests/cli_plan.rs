//! `edgecnn classify / eval / inspect` on a tiny hand-built plan (no compiler involved).
#![cfg(feature = "cli")]

#[path = "cli_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{edgecnn, scratch, write_npy, write_png, write_tiny_plan};

/// white (class 0 "bright"), left column white (class 1 "left"), black (class 2 "dark").
fn images(dir: &Path) -> Vec<PathBuf> {
    let w = dir.join("white.png");
    let l = dir.join("left.png");
    let b = dir.join("black.png");
    write_png(&w, 2, 2, |_, _| 255);
    write_png(&l, 2, 2, |x, _| if x == 0 { 255 } else { 0 });
    write_png(&b, 2, 2, |_, _| 0);
    vec![w, l, b]
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn classify_names_the_right_classes() {
    let dir = scratch("cli_plan_classify");
    let plan = write_tiny_plan(&dir);
    let imgs = images(&dir);
    let mut args = vec!["classify".into(), plan.clone().into_os_string()];
    args.extend(imgs.iter().map(|p| p.clone().into_os_string()));
    args.extend(["--top".into(), "2".into(), "--json".into()]);
    let v = json(edgecnn(&args).ok());
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    for (r, want) in results.iter().zip(["bright", "left", "dark"]) {
        assert_eq!(r["top"].as_array().unwrap().len(), 2);
        assert_eq!(r["top"][0]["label"], want, "{r}");
    }
    // white: 1020 / 16 → 64 → 6.4 after dequantising with scale 0.1.
    let score = results[0]["top"][0]["score"].as_f64().unwrap();
    assert!((score - 6.4).abs() < 1e-4, "{score}");

    // Text output, a larger image (resized to 2×2) and --labels overriding the plan's names.
    let big = dir.join("big_white.png");
    write_png(&big, 9, 7, |_, _| 250);
    let names = dir.join("names.txt");
    std::fs::write(&names, "sun\nwest\nnight\n").unwrap();
    let out = edgecnn(&[
        "classify".as_ref(),
        plan.as_os_str(),
        big.as_os_str(),
        "--labels".as_ref(),
        names.as_os_str(),
    ]);
    let text = out.ok();
    let first = text.lines().nth(1).expect("a ranked line");
    assert!(first.contains("sun"), "{text}");
}

#[test]
fn eval_on_images_and_npy() {
    let dir = scratch("cli_plan_eval");
    let plan = write_tiny_plan(&dir);
    images(&dir);
    std::fs::write(
        dir.join("labels.txt"),
        "white.png 0\nleft.png 1\nblack.png 2\n",
    )
    .unwrap();
    let v = json(
        edgecnn(&[
            "eval".as_ref(),
            plan.as_os_str(),
            "--inputs".as_ref(),
            dir.as_os_str(),
            "--labels".as_ref(),
            dir.join("labels.txt").as_os_str(),
            "--json".as_ref(),
        ])
        .ok(),
    );
    assert_eq!(v["n"], 3);
    assert_eq!(v["int8_top1"], 1.0);
    assert!(v["float_top1"].is_null() && v["agreement"].is_null(), "{v}");
    assert!(v["arena_bytes"].as_u64().unwrap() >= 32);

    // The same three inputs as a float tensor [3, 1, 2, 2] (NCHW, real = p / 255) with one
    // wrong label: 2 of 3 correct.
    let items: Vec<f32> = [
        [1.0, 1.0, 1.0, 1.0],
        [1.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
    ]
    .concat();
    write_npy(
        &dir.join("x.npy"),
        "<f4",
        &[3, 1, 2, 2],
        &support::f32_bytes(&items),
    );
    let labels: Vec<u8> = [0i64, 1, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
    write_npy(&dir.join("y.npy"), "<i8", &[3], &labels);
    let v = json(
        edgecnn(&[
            "eval".as_ref(),
            plan.as_os_str(),
            "--inputs".as_ref(),
            dir.join("x.npy").as_os_str(),
            "--labels".as_ref(),
            dir.join("y.npy").as_os_str(),
            "--json".as_ref(),
        ])
        .ok(),
    );
    assert_eq!(v["n"], 3);
    assert!(
        (v["int8_top1"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9,
        "{v}"
    );
}

#[test]
fn inspect_reports_steps_and_totals() {
    let dir = scratch("cli_plan_inspect");
    let plan = write_tiny_plan(&dir);
    let v = json(edgecnn(&["inspect".as_ref(), plan.as_os_str(), "--json".as_ref()]).ok());
    assert_eq!(v["weights_bytes"].as_u64(), Some(12 + 3 * 4 + 4 + 1), "{v}");
    assert_eq!(v["macs"].as_u64(), Some(12));
    assert!(v["arena_bytes"].as_u64().unwrap() >= 32);
    let steps = v["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0]["output"]["shape"], serde_json::json!([1, 1, 3]));
    assert_eq!(steps[0]["inputs"][0]["shape"], serde_json::json!([2, 2, 1]));
    assert_eq!(steps[0]["macs"].as_u64(), Some(12));
    assert_eq!(steps[0]["op"], "FullyConnected");

    let text = edgecnn(&["inspect".as_ref(), plan.as_os_str()])
        .ok()
        .to_string();
    assert!(text.contains("tiny hand-built plan"), "{text}");
    assert!(text.contains("2x2x1") && text.contains("1x1x3"), "{text}");
    assert!(text.contains("total: 1 steps"), "{text}");
    assert!(text.contains("arena over time"), "{text}");
    assert!(text.contains("peak live bytes 7 "), "{text}");
}
