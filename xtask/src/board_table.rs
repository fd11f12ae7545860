//! `cargo xtask boards`: builds every board with all golden models embedded, runs each under
//! its runner (QEMU system boards with `-icount shift=0`, so SysTick counts instructions:
//! see `boards/README.md`), and prints a table of board, model, plan and arena bytes and
//! instructions per inference from the firmware's `edgecnn-stat` lines.

use std::path::Path;

use crate::board::{self, Board};
use crate::util::{err, Result};

pub fn run(root: &Path) -> Result<()> {
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for name in board::list(root)? {
        let mut b = Board::find(root, &name)?;
        if b.runner.first().is_some_and(|p| p.contains("qemu-system")) {
            b.runner
                .splice(1..1, ["-icount".to_string(), "shift=0".to_string()]);
        }
        let elf = b.build(root, None)?;
        let outcome = b.run(&elf, board::DEFAULT_TIMEOUT)?;
        if !outcome.passed(&name) {
            failed.push(name.clone());
        }
        for line in outcome.output.lines() {
            if let Some(rest) = line.trim().strip_prefix("edgecnn-stat ") {
                let get = |k: &str| {
                    rest.split_whitespace()
                        .find_map(|kv| kv.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
                        .unwrap_or("-")
                        .to_string()
                };
                if get("model") != "-" {
                    rows.push([
                        name.clone(),
                        get("model"),
                        get("plan"),
                        get("arena"),
                        get("instructions"),
                    ]);
                } else {
                    rows.push([
                        name.clone(),
                        "(stack bytes)".into(),
                        "-".into(),
                        get("stack"),
                        "-".into(),
                    ]);
                }
            }
        }
    }
    println!(
        "\n{:<18} {:<16} {:>10} {:>10} {:>14}",
        "board", "model", "plan B", "arena B", "instr/inference"
    );
    for r in &rows {
        println!(
            "{:<18} {:<16} {:>10} {:>10} {:>14}",
            r[0], r[1], r[2], r[3], r[4]
        );
    }
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
