//! Mutations of valid plans (seed corpus `corpus/plan`) with the checksum recomputed, so
//! the mutations reach the validator and the run path instead of stopping at the CRC.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut blob = data.to_vec();
    edgecnn_fuzz::fix_up(&mut blob);
    edgecnn_fuzz::exercise(&blob);
});
