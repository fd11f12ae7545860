//! `cargo xtask boards`: builds every board with all golden models embedded, runs the QEMU
//! ones under their runner (system boards with `-icount shift=0`, so SysTick counts
//! instructions: see `boards/README.md`), and prints one row per board and model:
//!
//! * plan and arena bytes (from the firmware's `edgecnn-stat` lines);
//! * flash bytes of the whole firmware image (`.vector_table + .text + .rodata + .data`,
//!   read from the ELF's section headers by `elf.rs`: every model's plan and images are in
//!   the one image, so every row of a board shows the same figure);
//! * RAM bytes: statics (`.data + .bss + .uninit`; `.bss` holds the arena, sized for the
//!   largest plan) plus the stack high-water mark the firmware measured, when it ran;
//! * instructions per inference (mean over the model's images) when it ran under QEMU.
//!
//! Real boards (runner `probe-rs`) are built, not run: their rows give flash and static RAM
//! only. Linux boards have no flash or static RAM budget to report.

use std::path::Path;

use crate::board::{self, Board};
use crate::elf;
use crate::toolchain::is_bare_metal;
use crate::util::{err, Result};

/// One row of the table.
struct Row {
    board: String,
    model: String,
    plan: String,
    arena: String,
    flash: String,
    ram: String,
    instructions: String,
}

/// The value of `key=` in an `edgecnn-stat k=v k=v …` line.
fn stat<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

pub fn run(root: &Path) -> Result<()> {
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for name in board::list(root)? {
        let mut b = Board::find(root, &name)?;
        if b.runner.first().is_some_and(|p| p.contains("qemu-system")) {
            b.runner
                .splice(1..1, ["-icount".to_string(), "shift=0".to_string()]);
        }
        let elf_path = b.build(root, None)?;
        let footprint = if is_bare_metal(&b.target) {
            Some(elf::footprint_of(&elf_path)?)
        } else {
            None
        };
        let flash = footprint.map_or("-".to_string(), |f| f.flash.to_string());
        if !b.is_emulated() {
            let ram = footprint.map_or("-".to_string(), |f| format!("{} + stack", f.ram_static));
            rows.push(Row {
                board: name.clone(),
                model: "(all, not run)".into(),
                plan: "-".into(),
                arena: "-".into(),
                flash,
                ram,
                instructions: "-".into(),
            });
            continue;
        }
        let outcome = b.run(&elf_path, board::DEFAULT_TIMEOUT)?;
        if !outcome.passed(&name) {
            failed.push(name.clone());
        }
        let stats: Vec<&str> = outcome
            .output
            .lines()
            .filter_map(|l| l.trim().strip_prefix("edgecnn-stat "))
            .collect();
        let stack: Option<u64> = stats
            .iter()
            .find_map(|l| stat(l, "stack"))
            .and_then(|s| s.parse().ok());
        let ram = match (footprint, stack) {
            (Some(f), Some(s)) => (f.ram_static + s).to_string(),
            (Some(f), None) => format!("{} + stack", f.ram_static),
            (None, _) => "-".into(),
        };
        let mut any = false;
        for line in stats.iter().filter(|l| stat(l, "model").is_some()) {
            let get = |k: &str| stat(line, k).unwrap_or("-").to_string();
            any = true;
            rows.push(Row {
                board: name.clone(),
                model: get("model"),
                plan: get("plan"),
                arena: get("arena"),
                flash: flash.clone(),
                ram: ram.clone(),
                instructions: get("instructions"),
            });
        }
        if !any {
            rows.push(Row {
                board: name.clone(),
                model: "(all)".into(),
                plan: "-".into(),
                arena: "-".into(),
                flash: flash.clone(),
                ram: ram.clone(),
                instructions: "-".into(),
            });
        }
    }
    println!(
        "\n{:<16} {:<16} {:>8} {:>8} {:>9} {:>16} {:>16}",
        "board", "model", "plan B", "arena B", "flash B", "RAM B", "instr/inference"
    );
    for r in &rows {
        println!(
            "{:<16} {:<16} {:>8} {:>8} {:>9} {:>16} {:>16}",
            r.board, r.model, r.plan, r.arena, r.flash, r.ram, r.instructions
        );
    }
    println!(
        "flash B: .vector_table+.text+.rodata+.data of the firmware ELF (all models in one \
         image); RAM B: .data+.bss+.uninit (the arena is in .bss) + the measured stack \
         high-water mark; instructions under qemu-system-arm -icount shift=0 (not cycles)"
    );
    if failed.is_empty() {
        println!("boards: OK");
        Ok(())
    } else {
        Err(err(format!(
            "boards failed the golden check: {}",
            failed.join(", ")
        )))
    }
}
