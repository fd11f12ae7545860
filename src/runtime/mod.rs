//! The no_std runtime.
