//! The seed plans (`tests/trust_support`) are valid and run, and the fuzz seed corpus
//! (`tests/fuzz/corpus/plan/*.plan`) is exactly their encoding.
//!
//! Regenerate the corpus after changing a seed plan or the wire format:
//! `EDGECNN_WRITE_SEEDS=1 cargo test --test trust_seeds`.

mod trust_support;

use edgecnn::runtime::{Plan, Session};
use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/plan")
}

#[test]
fn seed_plans_parse_and_run() {
    for (name, blob) in trust_support::all_blobs() {
        let plan = Plan::parse(&blob).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(plan.num_steps() >= 1, "{name}");
        let mut arena = vec![0u8; plan.arena_bytes()];
        let mut s = Session::new(&plan, &mut arena).unwrap();
        let n = s.input_mut().len();
        let x: Vec<i8> = (0..n).map(|i| (i * 37 % 256) as i8).collect();
        s.set_input(&x).unwrap();
        s.run().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!s.output().is_empty(), "{name}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "reads files: Miri isolates the file system")]
fn fuzz_seed_corpus_is_current() {
    let dir = corpus_dir();
    let write = std::env::var_os("EDGECNN_WRITE_SEEDS").is_some();
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (name, blob) in trust_support::all_blobs() {
        let path = dir.join(format!("{name}.plan"));
        if write {
            std::fs::write(&path, &blob).unwrap();
        }
        let stored = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (EDGECNN_WRITE_SEEDS=1 cargo test --test trust_seeds)",
                path.display()
            )
        });
        assert!(
            stored == blob,
            "{} is stale: EDGECNN_WRITE_SEEDS=1 cargo test --test trust_seeds",
            path.display()
        );
    }
}

/// Runs `m` on a fixed input; its output bytes.
fn run(m: &edgecnn::format::model::PlanModel) -> Vec<i8> {
    run_blob(&m.encode())
}

/// Runs the plan `blob` on [`run`]'s input; its output bytes.
fn run_blob(blob: &[u8]) -> Vec<i8> {
    let plan = Plan::parse(blob).unwrap();
    let mut arena = vec![0u8; plan.arena_bytes()];
    let mut s = Session::new(&plan, &mut arena).unwrap();
    let n = s.input_mut().len();
    let x: Vec<i8> = (0..n).map(|i| (i * 53 % 256) as i8).collect();
    s.set_input(&x).unwrap();
    s.run().unwrap();
    s.output().to_vec()
}

/// The `windows` seed (streamed and overlapped) gives the bytes of the same steps with
/// every tensor whole and apart.
#[test]
fn windows_seed_matches_its_plain_layout() {
    let streamed = trust_support::windows();
    let mut plain = streamed.clone();
    let mut off = 0;
    for t in plain.tensors.iter_mut() {
        t.resident_rows = 0;
        t.offset = off;
        off += t.len() as u32;
    }
    plain.arena_bytes = off;
    assert_eq!(run(&streamed), run(&plain));
    let r = edgecnn::runtime::Plan::parse(&streamed.encode()).map(|p| p.arena_bytes());
    assert_eq!(r, Ok(320));
}

/// The `views` seed (a zero-copy Concat) gives the bytes of the same steps with every
/// tensor dense and apart, the Concat copying.
#[test]
fn views_seed_matches_its_copying_layout() {
    let viewed = trust_support::views();
    let mut copying = viewed.clone();
    let mut off = 0;
    for t in copying.tensors.iter_mut() {
        t.pitch = 0;
        t.offset = off;
        off += t.len() as u32;
    }
    for s in copying.steps.iter_mut() {
        s.scratch = (0, 0);
    }
    copying.arena_bytes = off;
    assert_eq!(run(&viewed), run(&copying));
    let blob = viewed.encode();
    assert_eq!(
        blob[4..6],
        3u16.to_le_bytes(),
        "a plan with views is wire version 3"
    );
}

/// The `packed_dsp` seed carries a `cortex-m-dsp` pack for each dense conv only, of the
/// stream's length (`32 + 16 · ⌈k / 4⌉` bytes per channel pair), and gives the unpacked
/// plan's bytes here (the host's kernels ignore that kind).
#[test]
fn dsp_packed_seed_matches_its_unpacked_plan() {
    use edgecnn::format::pack::PackKind;
    let m = trust_support::packed();
    let packed = m.encode_with_packs(trust_support::DSP_PACKS);
    assert_eq!(packed[4..6], 4u16.to_le_bytes(), "a plan with packs is v4");
    let p = Plan::parse(&packed).unwrap();
    assert_eq!(p.num_packs(), 2);
    assert!(p.pack(0, PackKind::CortexMDsp).is_some());
    assert!(
        p.pack(1, PackKind::CortexMDsp).is_none(),
        "depthwise: no pack"
    );
    assert!(p.pack(0, PackKind::X86Vnni).is_none());
    assert_eq!(
        p.packed_bytes(),
        20 * (32 + 16 * 16) + 17 * (32 + 16 * 10),
        "40 channels (20 pairs) of 63 taps (16 groups), 33 (17 pairs) of 40 (10 groups)"
    );
    assert_eq!(run_blob(&packed), run(&m));
}

/// The `packed` seed is wire version 4 with a pack for each dense conv only, and gives the
/// bytes of the same plan without packs on every kernel path this CPU has.
#[test]
fn packed_seed_matches_its_unpacked_plan() {
    use edgecnn::format::pack::PackKind;
    use edgecnn::kernels::Isa;
    let m = trust_support::packed();
    let packed = m.encode_with_packs(trust_support::PACKS);
    let plain = m.encode();
    assert_eq!(packed[4..6], 4u16.to_le_bytes(), "a plan with packs is v4");
    assert_eq!(plain[4..6], 1u16.to_le_bytes(), "without, it stays v1");
    let p = Plan::parse(&packed).unwrap();
    assert_eq!(p.num_packs(), 2);
    assert!(p.pack(0, PackKind::X86Vnni).is_some());
    assert!(p.pack(1, PackKind::X86Vnni).is_none(), "depthwise: no pack");
    assert!(p.pack(2, PackKind::X86Vnni).is_some());
    assert_eq!(
        p.packed_bytes(),
        (64 * 64 + 4 * 40) + (64 * 40 + 4 * 33),
        "40 channels of 63 → 64 taps, 33 of 40"
    );
    let run_on = |blob: &[u8], isa: Isa| {
        let plan = Plan::parse(blob).unwrap();
        let mut arena = vec![0u8; plan.arena_bytes()];
        let mut s = Session::new(&plan, &mut arena).unwrap();
        s.set_isa(isa);
        let n = s.input_mut().len();
        let x: Vec<i8> = (0..n).map(|i| (i * 53 % 256) as i8).collect();
        s.set_input(&x).unwrap();
        s.run().unwrap();
        s.output().to_vec()
    };
    let expected = run_on(&plain, Isa::Reference);
    for isa in Isa::all_available() {
        assert_eq!(run_on(&packed, isa), expected, "{isa:?} packed");
        assert_eq!(run_on(&plain, isa), expected, "{isa:?} plain");
    }
}
