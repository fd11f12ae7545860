//! Section sizes of a firmware ELF, read from its section headers (ELF32 or ELF64,
//! little-endian; what every ARM target here produces), for the flash and RAM figures of
//! `cargo xtask boards` and the real-board build test. Plain std, no binutils needed.
//!
//! Self-contained apart from `crate::util`, so host tests can include it by path.

use std::path::Path;

use crate::util::{err, Result};

/// One section header: its name, load address and size in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub addr: u64,
    pub size: u64,
}

/// What a firmware image occupies, from its section sizes (cortex-m-rt's section names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// `.vector_table + .text + .rodata + .data` (the initial values of `.data` live in flash).
    pub flash: u64,
    /// `.data + .bss + .uninit`: every static; the stack comes on top.
    pub ram_static: u64,
}

/// Sections that take flash.
pub const FLASH_SECTIONS: &[&str] = &[".vector_table", ".text", ".rodata", ".data"];
/// Sections that take RAM before the stack.
pub const RAM_SECTIONS: &[&str] = &[".data", ".bss", ".uninit"];

/// Reads the section headers of the ELF file at `path`.
pub fn sections_of(path: &Path) -> Result<Vec<Section>> {
    let bytes =
        std::fs::read(path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
    parse_sections(&bytes).map_err(|e| err(format!("{}: {}", path.display(), e.0)))
}

/// The flash and RAM footprint of the ELF file at `path`.
pub fn footprint_of(path: &Path) -> Result<Footprint> {
    Ok(footprint(&sections_of(path)?))
}

/// Sums [`FLASH_SECTIONS`] and [`RAM_SECTIONS`] over `sections`.
pub fn footprint(sections: &[Section]) -> Footprint {
    let sum = |names: &[&str]| -> u64 {
        sections
            .iter()
            .filter(|s| names.contains(&s.name.as_str()))
            .map(|s| s.size)
            .sum()
    };
    Footprint {
        flash: sum(FLASH_SECTIONS),
        ram_static: sum(RAM_SECTIONS),
    }
}

/// Little-endian reads that fail, rather than panic, past the end.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes(&self, at: u64, n: usize) -> Result<&[u8]> {
        usize::try_from(at)
            .ok()
            .and_then(|at| self.0.get(at..at.checked_add(n)?))
            .ok_or_else(|| {
                err(format!(
                    "truncated: {n} bytes at offset {at} are past the end"
                ))
            })
    }
    fn u16(&self, at: u64) -> Result<u16> {
        let b = self.bytes(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, at: u64) -> Result<u32> {
        let b = self.bytes(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&self, at: u64) -> Result<u64> {
        let b = self.bytes(at, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// A 32-bit field in ELF32, a 64-bit one in ELF64.
    fn word(&self, at: u64, wide: bool) -> Result<u64> {
        if wide {
            self.u64(at)
        } else {
            self.u32(at).map(u64::from)
        }
    }
}

/// Parses the section headers of an ELF image: `e_shoff`/`e_shentsize`/`e_shnum`/`e_shstrndx`
/// from the file header, then each header's `sh_name`, `sh_addr` and `sh_size`, names from
/// the section-name string table. The null section (index 0) is left out.
pub fn parse_sections(bytes: &[u8]) -> Result<Vec<Section>> {
    let r = Reader(bytes);
    if r.bytes(0, 4)? != b"\x7fELF" {
        return Err(err("not an ELF file (no \\x7fELF magic)"));
    }
    let wide = match r.bytes(4, 1)?[0] {
        1 => false,
        2 => true,
        c => return Err(err(format!("unknown ELF class {c}"))),
    };
    if r.bytes(5, 1)?[0] != 1 {
        return Err(err("big-endian ELF files are not supported"));
    }
    // File header offsets (System V ABI): ELF32 | ELF64.
    let (shoff_at, shentsize_at) = if wide { (0x28, 0x3A) } else { (0x20, 0x2E) };
    let shoff = r.word(shoff_at, wide)?;
    let shentsize = u64::from(r.u16(shentsize_at)?);
    let shnum = u64::from(r.u16(shentsize_at + 2)?);
    let shstrndx = u64::from(r.u16(shentsize_at + 4)?);
    let min_entry = if wide { 0x40 } else { 0x28 };
    if shnum == 0 {
        return Ok(Vec::new());
    }
    if shentsize < min_entry || shstrndx >= shnum {
        return Err(err(format!(
            "bad section header table (entry size {shentsize}, {shnum} entries, names in {shstrndx})"
        )));
    }
    // Section header fields: sh_name u32 at 0; sh_addr, sh_offset, sh_size words after
    // sh_type (u32) and sh_flags (word).
    let header = |i: u64| -> Result<(u32, u64, u64, u64)> {
        let at = shoff
            .checked_add(i.checked_mul(shentsize).ok_or_else(|| err("overflow"))?)
            .ok_or_else(|| err("section header offset overflows"))?;
        let w = if wide { 8 } else { 4 };
        let addr_at = at + 8 + w;
        Ok((
            r.u32(at)?,
            r.word(addr_at, wide)?,
            r.word(addr_at + w, wide)?,
            r.word(addr_at + 2 * w, wide)?,
        ))
    };
    let (_, _, names_off, names_len) = header(shstrndx)?;
    let names = r.bytes(
        names_off,
        usize::try_from(names_len).map_err(|_| err("huge string table"))?,
    )?;
    (1..shnum)
        .map(|i| {
            let (name, addr, _, size) = header(i)?;
            let start = names
                .get(name as usize..)
                .ok_or_else(|| err(format!("section {i}: name offset {name} out of range")))?;
            let end = start.iter().position(|&b| b == 0).unwrap_or(start.len());
            Ok(Section {
                name: String::from_utf8_lossy(&start[..end]).into_owned(),
                addr,
                size,
            })
        })
        .collect()
}
