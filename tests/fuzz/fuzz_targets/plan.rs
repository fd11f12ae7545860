//! Arbitrary bytes as a plan blob: parse, and if it parses, describe, bind and run it.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgecnn_fuzz::exercise(data));
