//! The no_std runtime: [`Plan::parse`] validates a plan blob once, in place;
//! [`Session`] binds it to one caller-owned arena and runs it without allocating.
//!
//! Panic contract: nothing in this module panics. A corrupt or hostile blob gets a
//! [`ParseError`]; after a successful parse, [`Session::run`] only indexes through checked
//! accessors whose bounds the parser proved.
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

mod error;
#[cfg(feature = "std")]
mod host;
mod plan;
mod session;
mod step;

pub use crate::format::Layout;
pub use error::{BindError, ParseError, RunError, StepFault};
#[cfg(feature = "std")]
pub use host::{dequantize_output, quantize_input};
pub use plan::{F32s, Ids, Plan, PreprocessInfo, StepInfo, TensorInfo};
pub use session::Session;
