//! The plan wire format: the host↔device contract.
//!
//! * [`model`] (feature `alloc`): the owned meaning of a plan, built by the compiler,
//!   written by `PlanModel::encode`.
//! * the wire layout (no_std): parsed and validated by [`crate::runtime::Plan::parse`].

#[cfg(feature = "alloc")]
pub mod model;
