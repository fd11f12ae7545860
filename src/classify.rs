//! Labels and top-k.
