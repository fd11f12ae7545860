//! Embeds every golden model (`tests/data/golden/*`, compiled ahead of time by
//! `cargo xtask golden`, never here) with its images and the host's answers: the same
//! `boards/common/embed.rs` as the Cortex-M boards, without a memory map.

#[path = "../common/embed.rs"]
mod embed;

fn main() {
    embed::embed("raspberry-pi", None);
}
