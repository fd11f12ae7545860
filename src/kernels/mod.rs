//! int8 kernels.
