//! The harness every plan fuzz target shares: a blob goes through everything a firmware
//! would do with a plan received over the network, and every promise of the runtime's panic
//! contract (`edgecnn::runtime` module docs) is asserted on the way.
//!
//! * `Plan::parse` must return (an error is fine);
//! * once it returned `Ok`, nothing may fail that the contract says cannot fail:
//!   describing every step, reading labels, name and preprocess tables, binding an arena of
//!   exactly `arena_bytes()`, writing the input, running, reading the output and its top-k.
//!
//! Plans whose `arena_bytes()` exceeds [`MAX_ARENA`] or whose `macs()` (an upper bound on the
//! work of one run) exceeds [`MAX_MACS`] are parsed and described but not run: they are
//! valid, just too slow for a fuzzing loop.

use edgecnn::classify::top_k;
use edgecnn::runtime::{Plan, Session};

/// Largest arena the harness allocates.
pub const MAX_ARENA: usize = 16 << 20;
/// Largest amount of work (multiply-accumulates) the harness runs per input.
pub const MAX_MACS: u64 = 1 << 22;

/// Runs `blob` through parse → describe → bind → run, panicking only where the runtime's
/// contract is broken.
pub fn exercise(blob: &[u8]) {
    let Ok(plan) = Plan::parse(blob) else {
        return;
    };
    describe(&plan);
    if plan.arena_bytes() > MAX_ARENA || plan.macs() > MAX_MACS {
        return;
    }
    let mut arena = vec![0u8; plan.arena_bytes()];
    let mut s = Session::new(&plan, &mut arena).expect("an arena of arena_bytes() binds");
    let n = s.input_mut().len();
    let expected = plan
        .input_shape()
        .iter()
        .map(|&d| d as usize)
        .product::<usize>();
    assert_eq!(n, expected, "the input tensor has the input shape");
    let zeros = vec![0i8; n];
    s.set_input(&zeros)
        .expect("an input of the input's length is accepted");
    s.run().expect("a parsed plan runs");
    let _ = top_k::<5>(s.output());
    assert_eq!(
        s.output().len(),
        plan.output_shape()
            .iter()
            .map(|&d| d as usize)
            .product::<usize>()
    );

    // Second run on non-trivial data: the blob's own bytes as input (or pixels).
    let data: Vec<i8> = blob.iter().cycle().take(n).map(|&b| b as i8).collect();
    if plan.preprocess().is_some() {
        let px: Vec<u8> = data.iter().map(|&v| v as u8).collect();
        s.set_input_pixels(&px)
            .expect("pixels of the input's length are accepted");
    } else {
        s.input_mut().copy_from_slice(&data);
    }
    s.run().expect("a parsed plan runs again");
    let _ = top_k::<3>(s.output());
    for id in 0..plan.num_tensors().min(4096) {
        let _ = s.tensor(id as u16);
    }
}

/// Every read-only accessor of a parsed plan.
fn describe(plan: &Plan<'_>) {
    let _ = format!("{plan:?}");
    for i in 0..plan.num_steps() {
        let info = plan
            .step(i)
            .expect("a parsed plan describes each of its steps");
        for id in info.inputs() {
            assert!(plan.tensor(id).is_some(), "step inputs are tensors");
        }
        assert!(
            plan.tensor(info.output).is_some(),
            "step outputs are tensors"
        );
    }
    assert!(plan.step(plan.num_steps()).is_none());
    for c in 0..plan.num_labels() {
        assert!(plan.label(c).is_some(), "a parsed plan's labels are UTF-8");
    }
    let _ = plan.name().len();
    if let Some(pre) = plan.preprocess() {
        for c in 0..pre.channels() {
            assert!(pre.lut(c).is_some());
        }
        let _ = format!("{pre:?}");
    }
    let _ = (
        plan.input_quant(),
        plan.output_quant(),
        plan.weights_bytes(),
    );
}

/// Makes the checksum (and a too-long declared length) of a mutated blob consistent, so
/// mutations reach the validator instead of stopping at the CRC.
pub fn fix_up(blob: &mut [u8]) {
    use edgecnn::format::{crc32::crc32, wire};
    if blob.len() < wire::CHECKED_FROM {
        return;
    }
    let at = wire::header::TOTAL_LEN;
    let declared = u32::from_le_bytes(blob[at..at + 4].try_into().unwrap()) as usize;
    let total = if declared > blob.len() || declared < wire::CHECKED_FROM {
        let len = blob.len() as u32;
        blob[at..at + 4].copy_from_slice(&len.to_le_bytes());
        blob.len()
    } else {
        declared
    };
    let crc = crc32(&blob[wire::CHECKED_FROM..total]);
    blob[wire::header::CRC..wire::header::CRC + 4].copy_from_slice(&crc.to_le_bytes());
}
