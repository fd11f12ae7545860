//! Embeds every golden model (`tests/data/golden/*`: plans compiled ahead of time by
//! `cargo xtask golden`, never compiled here) with its test images and the host's answers,
//! checks they fit the nRF52840 and writes `memory.x`. See `boards/common/embed.rs`.

#[path = "../common/embed.rs"]
mod embed;

fn main() {
    embed::embed(
        "nrf52840-dk",
        Some(embed::Memory {
            // nRF52840 Product Specification v1.x, "Memory": 1 MiB of flash (code) at
            // 0x0000_0000 and 256 KiB of data RAM at 0x2000_0000. No SoftDevice or
            // bootloader: the firmware owns all of both (probe-rs flashes from address 0).
            flash_origin: 0x0000_0000,
            flash_bytes: 1 << 20,
            ram_origin: 0x2000_0000,
            ram_bytes: 256 << 10,
            code_reserve: 128 << 10,
            // The measured stack high-water mark of a whole golden run is 3 728 B on the M4/M7
            // (stack painting, 2026-12-02); the board tests fail if it ever reaches this reserve,
            // which leaves ~8x headroom for an application's own frames and interrupts.
            stack_reserve: 32 << 10,
            extra: "",
        }),
    );
}
