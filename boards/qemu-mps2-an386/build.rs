//! Embeds every golden model (`tests/data/golden/*`: plans compiled ahead of time by
//! `cargo xtask golden`, never compiled here) with its test images and the host's answers,
//! checks they fit the AN386 memory map and writes `memory.x`. See `boards/common/embed.rs`.

#[path = "../common/embed.rs"]
mod embed;

fn main() {
    embed::embed(
        "qemu-mps2-an386",
        Some(embed::Memory {
            // QEMU hw/arm/mps2.c, AN386: ZBT SSRAM1 (4 MiB at 0x0000_0000) holds the code
            // (the MCC loads it from the SD card on the real board, so "flash" is RAM here);
            // ZBT SSRAM2&3 (4 MiB at 0x2000_0000) data, bss and stack. PSRAM (16 MiB at
            // 0x2100_0000) is unused.
            flash_origin: 0x0000_0000,
            flash_bytes: 4 << 20,
            ram_origin: 0x2000_0000,
            ram_bytes: 4 << 20,
            code_reserve: 128 << 10,
            // The measured stack high-water mark of a whole golden run is 3 728 B on the M4/M7
            // (stack painting, 2026-12-02); the board tests fail if it ever reaches this reserve,
            // which leaves ~8x headroom for an application's own frames and interrupts.
            stack_reserve: 32 << 10,
            extra: "",
        }),
    );
}
