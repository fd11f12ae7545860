#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_code)]
//! edgecnn: ONNX image classifiers compiled to int8 plans, run by a `no_std`, allocation-free
//! runtime that gives the same bytes on x86-64, aarch64 Linux and Cortex-M.
//!
//! The host side (module `compiler`, feature `compiler`) imports an ONNX file through tract,
//! calibrates and quantises it, plans every byte of memory and emits a plan blob.
//! The device side ([`runtime`], always available, `no_std`) parses the blob in place and
//! runs it inside one caller-owned arena.

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod classify;
pub mod format;
pub mod kernels;
pub mod runtime;

#[cfg(feature = "compiler")]
pub mod compiler;
#[cfg(feature = "image")]
pub mod image;
