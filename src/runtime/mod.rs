//! The no_std runtime: [`Plan::parse`] validates a plan blob once, in place;
//! [`Session`] binds it to one caller-owned arena and runs it without allocating.
//!
//! # Panic contract
//!
//! A plan may come from the network: **no input makes this module panic, loop forever,
//! allocate or read out of bounds.** [`Plan::parse`] takes any bytes and either returns a
//! [`Plan`] or a [`ParseError`]; once it returned `Ok`, nothing that follows panics, and the
//! only errors left are the caller's own mistakes (arena or input of the wrong size).
//!
//! | call | fails with | when |
//! |---|---|---|
//! | [`Plan::parse`] | [`ParseError`] (which check, which step: [`StepFault`]) | any inconsistency; time linear in the blob's length |
//! | [`Session::new`] | [`BindError::ArenaTooSmall`] | `arena.len() < plan.arena_bytes()` (exact counts) |
//! | [`Session::set_input`] | [`RunError::InputLength`] | slice length ≠ input tensor length |
//! | [`Session::set_input_pixels`] | [`RunError::NoPreprocess`], [`RunError::InputLength`] | plan has no pixel table; length mismatch |
//! | [`Session::run`], [`Session::run_with`] | never, for a parsed plan | ([`RunError::Step`] exists so that an internal inconsistency would be an error, not a panic) |
//! | `quantize_input` (`std`) | [`RunError::InputLength`] | length mismatch |
//! | [`Session::input_mut`], [`Session::output`], [`Session::tensor`], [`Plan::step`], [`Plan::tensor`], [`Plan::label`], `PreprocessInfo::lut`, [`crate::classify::top_k`] | never | out-of-range ids give `None` or an empty slice |
//!
//! A run's work is bounded: at most [`Plan::macs`] multiply-accumulates (an upper bound:
//! windows are counted unclipped) plus a constant per step and per output element. Firmware
//! that accepts plans from untrusted sources should compare [`Plan::macs`] and
//! [`Plan::arena_bytes`] against its budget before binding.
//!
//! How it is enforced:
//! * `#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic,
//!   clippy::indexing_slicing)]` on this module and on [`crate::format`]: no `unwrap`, no
//!   `expect`, no `panic!`, no `a[i]` or `a[x..y]` — every read is a checked `get` whose
//!   `None` becomes an error or an empty result. (Lints cannot see arithmetic: sizes are
//!   computed in `u64` or with `checked_*`, and the fuzzers run with overflow checks on.)
//! * The parser validates every number the run path uses (see [`crate::format`]); `run`
//!   re-decodes each step through the same validator, so it never trusts an unchecked
//!   number.
//! * The kernels ([`crate::kernels`]) promise the same (no panic on any argument) on their
//!   own, and are reached only with validated shapes.
//! * Fuzzing (`tests/fuzz`, `tests/fuzz/run.sh`): arbitrary bytes and checksum-fixed
//!   mutations of valid plans through parse → describe → bind → run, with overflow checks
//!   and AddressSanitizer; every find is a test in `tests/trust_regressions.rs`.
//!   `tests/trust_alloc.rs` proves `run`, `set_input`, `output` and `top_k` allocate
//!   nothing.
//!
//! ```
//! # fn demo(blob: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! use edgecnn::runtime::{Plan, Session};
//! let plan = Plan::parse(blob)?;
//! let mut arena = vec![0u8; plan.arena_bytes()];
//! let mut session = Session::new(&plan, &mut arena)?;
//! session.input_mut().fill(0);
//! session.run()?;
//! let logits: &[i8] = session.output();
//! # let _ = logits; Ok(()) }
//! ```

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod error;
#[cfg(feature = "std")]
mod host;
mod plan;
mod session;
mod step;

pub use crate::format::Layout;
pub use error::{BindError, ParseError, RunError, StepFault};
#[cfg(feature = "std")]
pub use host::{dequantize_output, quantize_input, AlignedBlob, BLOB_ALIGN};
pub use plan::{F32s, Ids, Plan, PreprocessInfo, StepInfo, TensorInfo};
pub use session::Session;
