//! The real boards (runner `probe-rs …`, not QEMU: `nrf52840-dk`) build in CI with every
//! golden model embedded, and their ELF fits the memory map of their datasheet: every
//! allocated section inside flash or RAM, the vector table at the start of flash, the plans
//! and test images in flash. The ELF reader (`xtask/src/elf.rs`, used by `cargo xtask
//! boards`) is checked against binutils' `size -A` on the same file. Flashing needs the
//! board itself: see `boards/<board>/README.md`. Needs the thumbv7em toolchain and `size`
//! (`cargo xtask setup`); never skips.

#[allow(dead_code)]
#[path = "../xtask/src/board.rs"]
mod board;
#[allow(dead_code)]
#[path = "../xtask/src/elf.rs"]
mod elf;
#[allow(dead_code)]
#[path = "../xtask/src/toolchain.rs"]
mod toolchain;
#[allow(dead_code)]
#[path = "../xtask/src/util.rs"]
mod util;

use std::{fs, path::Path, process::Command};

/// A region of the memory map: origin and length in bytes.
struct Region {
    origin: u64,
    bytes: u64,
}

/// Each real board's flash and RAM, from its datasheet (the same figures as its build.rs).
fn memory_map(board: &str) -> (Region, Region) {
    match board {
        // nRF52840 Product Specification: 1 MiB flash at 0x0, 256 KiB RAM at 0x2000_0000.
        "nrf52840-dk" => (
            Region {
                origin: 0,
                bytes: 1 << 20,
            },
            Region {
                origin: 0x2000_0000,
                bytes: 256 << 10,
            },
        ),
        other => panic!("add {other}'s memory map to tests/board_build.rs"),
    }
}

fn inside(r: &Region, s: &elf::Section) -> bool {
    s.addr >= r.origin && s.addr + s.size <= r.origin + r.bytes
}

/// Bytes of plans and distinct test-image sets under `tests/data/golden`: what must sit in
/// flash (every model uses the same 8 images, and the linker keeps identical constant
/// data once).
fn golden_bytes(root: &Path) -> u64 {
    let dir = root.join("tests/data/golden");
    let mut plans = 0;
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for model in fs::read_dir(&dir).expect("tests/data/golden").flatten() {
        if let Ok(m) = fs::metadata(model.path().join("model.plan")) {
            plans += m.len();
        }
        if let Ok(bytes) = fs::read(model.path().join("inputs.bin")) {
            if !inputs.contains(&bytes) {
                inputs.push(bytes);
            }
        }
    }
    plans + inputs.iter().map(|i| i.len() as u64).sum::<u64>()
}

/// Section name → size from `size -A FILE`.
fn size_a(elf: &Path) -> Vec<(String, u64)> {
    let out = Command::new("size")
        .arg("-A")
        .arg(elf)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `size -A` ({e}); `cargo xtask setup` installs binutils")
        });
    assert!(out.status.success(), "size -A failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (name, size) = (w.next()?, w.next()?.parse().ok()?);
            name.starts_with('.').then(|| (name.to_string(), size))
        })
        .collect()
}

#[test]
fn real_boards_build_and_fit_their_memory_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let names = board::list(root).expect("boards/");
    let real: Vec<board::Board> = names
        .iter()
        .map(|n| board::Board::find(root, n).unwrap_or_else(|e| panic!("{e}")))
        .filter(|b| !b.is_emulated())
        .collect();
    assert!(
        !real.is_empty(),
        "no real board under boards/ (runner not QEMU)"
    );
    let golden = golden_bytes(root);
    for b in real {
        let elf_path = b.build(root, None).unwrap_or_else(|e| {
            panic!("building {} failed: {e} (run `cargo xtask setup`)", b.name)
        });
        let sections = elf::sections_of(&elf_path).unwrap_or_else(|e| panic!("{e}"));
        // The ELF reader agrees with binutils on every section `size -A` lists (it leaves
        // out the symbol and string tables).
        let mut ours: Vec<(String, u64)> = sections
            .iter()
            .filter(|s| ![".symtab", ".strtab", ".shstrtab"].contains(&s.name.as_str()))
            .map(|s| (s.name.clone(), s.size))
            .collect();
        let mut theirs = size_a(&elf_path);
        ours.sort();
        theirs.sort();
        assert_eq!(
            ours, theirs,
            "{}: xtask/src/elf.rs differs from `size -A`",
            b.name
        );

        let (flash, ram) = memory_map(&b.name);
        let get = |n: &str| sections.iter().find(|s| s.name == n);
        let vectors = get(".vector_table").expect(".vector_table");
        assert_eq!(
            vectors.addr, flash.origin,
            "{}: vectors not at the start of flash",
            b.name
        );
        for name in [".vector_table", ".text", ".rodata"] {
            let s = get(name).unwrap_or_else(|| panic!("{}: no {name}", b.name));
            assert!(inside(&flash, s), "{}: {name} {s:?} outside flash", b.name);
        }
        for name in [".data", ".bss", ".uninit"] {
            if let Some(s) = get(name) {
                assert!(inside(&ram, s), "{}: {name} {s:?} outside RAM", b.name);
            }
        }
        let fp = elf::footprint(&sections);
        let rodata = get(".rodata").map_or(0, |s| s.size);
        assert!(
            rodata >= golden,
            "{}: .rodata ({rodata} B) is smaller than the golden plans and images ({golden} B)",
            b.name
        );
        assert!(fp.flash <= flash.bytes && fp.ram_static <= ram.bytes);
        println!(
            "{}: builds; flash {} B of {}, static RAM {} B of {} (.bss holds the arena)",
            b.name, fp.flash, flash.bytes, fp.ram_static, ram.bytes
        );
    }
}
