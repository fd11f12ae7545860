//! Fuzzer finds, kept: every blob under `tests/data/fuzz-regressions/` once crashed a fuzz
//! target (stored after the `plan_mutated` fix-up, `tests/fuzz/fixup.py`, so it parses as
//! the target saw it). Each must now be rejected or run to completion; each bug also has a
//! focused test below stating the fixed behaviour.
//!
//! Integration tests build with overflow checks on, so an arithmetic overflow is a panic
//! here just as it was under the fuzzer (`cargo fuzz run -a`).

mod trust_support;

use edgecnn::classify::top_k;
use edgecnn::format::crc32::crc32;
use edgecnn::format::wire;
use edgecnn::runtime::{ParseError, Plan, Session};
use std::path::PathBuf;

/// What the fuzz harness does with a blob, in short: parse; if it parses, describe every
/// step and label, bind an arena of exactly `arena_bytes()`, run, read the top-k.
fn exercise(blob: &[u8]) -> Result<(), ParseError> {
    let plan = Plan::parse(blob)?;
    for i in 0..plan.num_steps() {
        plan.step(i).expect("a parsed plan describes its steps");
    }
    for c in 0..plan.num_labels() {
        plan.label(c).expect("a parsed plan's labels are UTF-8");
    }
    if plan.arena_bytes() <= 16 << 20 && plan.macs() <= 1 << 22 {
        let mut arena = vec![0u8; plan.arena_bytes()];
        let mut s = Session::new(&plan, &mut arena).expect("binds");
        s.input_mut().fill(1);
        s.run().expect("a parsed plan runs");
        let _ = top_k::<5>(s.output());
    }
    Ok(())
}

fn fix_crc(blob: &mut [u8]) {
    let crc = crc32(&blob[wire::CHECKED_FROM..]);
    blob[wire::header::CRC..wire::header::CRC + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Offset of tensor record `id` in an encoded blob.
fn tensor_at(blob: &[u8], id: usize) -> usize {
    let off = u32::from_le_bytes(blob[wire::header::TENSORS..][..4].try_into().unwrap());
    off as usize + id * wire::TENSOR_RECORD_LEN
}

#[test]
fn every_stored_fuzz_find_is_harmless() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let blob = std::fs::read(&path).unwrap();
        // Reaching the end without a panic is the test; the outcome is either.
        let _ = exercise(&blob);
        n += 1;
    }
    assert!(n >= 1, "no regression blobs in {}", dir.display());
}

/// Found by `plan_mutated` in its first second: a tensor whose three dimensions multiply
/// past `u64` overflowed the length computation in `Plan::parse` (a panic with overflow
/// checks, a wrapped length without). It is now `ParseError::Tensor`.
#[test]
fn tensor_len_overflow() {
    let mut blob = trust_support::tiny().encode();
    let at = tensor_at(&blob, 1) + wire::tensor::SHAPE;
    for k in 0..3 {
        blob[at + 4 * k..at + 4 * k + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    }
    fix_crc(&mut blob);
    assert_eq!(exercise(&blob), Err(ParseError::Tensor(1)));
    // A product that wraps to exactly 2^64 (= 0 when wrapped) must not pass as empty either.
    for (k, d) in [1u32 << 22, 1 << 22, 1 << 20].into_iter().enumerate() {
        blob[at + 4 * k..at + 4 * k + 4].copy_from_slice(&d.to_le_bytes());
    }
    fix_crc(&mut blob);
    assert_eq!(exercise(&blob), Err(ParseError::Tensor(1)));
}

/// Found by review while writing the panic contract: `format::math::requantize` is public
/// and shifted by `shift - 1` and `shift`, which overflows for 0 and for ≥ 64. It now
/// clamps the shift into `1..=62` like the kernels do; in-range values are unchanged.
#[test]
fn requantize_takes_any_shift() {
    use edgecnn::format::math::requantize;
    for acc in [i32::MIN, -1000, 0, 7, i32::MAX] {
        for m in [i32::MIN, 0, 1 << 30, i32::MAX] {
            assert_eq!(requantize(acc, m, 0), requantize(acc, m, 1));
            for s in [63, 64, 200, 255] {
                assert_eq!(requantize(acc, m, s), requantize(acc, m, 62));
            }
        }
    }
    assert_eq!(requantize(1000, 1 << 30, 31), 500);
}
