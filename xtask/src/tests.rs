//! Unit tests of the modules that host tests also include by path (`board`, `toolchain`,
//! `util`): kept here, declared only by `main.rs`, so they run once, not once per test crate.

mod board {
    use crate::board::config_value;

    #[test]
    fn reads_values_from_a_board_config() {
        let text = "[build]\ntarget = \"thumbv7em-none-eabihf\" # M4F\n\n\
                    [target.thumbv7em-none-eabihf]\nrunner = \"qemu-system-arm -kernel\"\n";
        assert_eq!(
            config_value(text, "build", "target").as_deref(),
            Some("thumbv7em-none-eabihf")
        );
        assert_eq!(
            config_value(text, "target.thumbv7em-none-eabihf", "runner").as_deref(),
            Some("qemu-system-arm -kernel")
        );
        assert_eq!(config_value(text, "build", "runner"), None);
    }
}

mod toolchain {
    use crate::toolchain::*;

    #[test]
    fn linker_variable_names() {
        assert_eq!(
            linker_var("thumbv8m.main-none-eabihf"),
            "CARGO_TARGET_THUMBV8M_MAIN_NONE_EABIHF_LINKER"
        );
    }

    #[test]
    fn bare_metal_targets_build_only_core() {
        assert_eq!(build_std_crates("thumbv6m-none-eabi"), "core");
        assert_eq!(
            build_std_crates("aarch64-unknown-linux-gnu"),
            "std,panic_abort"
        );
    }
}

mod util {
    use crate::util::*;
    use std::process::Command;
    use std::time::Duration;

    #[test]
    fn describes_commands_as_shell_lines() {
        let mut cmd = Command::new("cargo");
        cmd.args(["build", "--features", "a b"]).env("X", "1");
        assert_eq!(describe(&cmd), "X=1 cargo build --features 'a b'");
    }

    #[test]
    fn formats_durations() {
        assert_eq!(fmt_duration(Duration::from_millis(1234)), "1.2 s");
        assert_eq!(fmt_duration(Duration::from_secs(184)), "3 min 04 s");
    }
}

mod elf {
    use crate::elf::*;

    /// A minimal ELF32 little-endian image: the null section, `.text`, `.bss`, `.shstrtab`.
    fn tiny_elf32() -> Vec<u8> {
        let names = b"\0.text\0.bss\0.shstrtab\0";
        let mut f = vec![0u8; 0x34];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 1; // ELF32
        f[5] = 1; // little-endian
        let names_at = f.len() as u32;
        f.extend_from_slice(names);
        while !f.len().is_multiple_of(4) {
            f.push(0);
        }
        let shoff = f.len() as u32;
        f[0x20..0x24].copy_from_slice(&shoff.to_le_bytes());
        f[0x2E..0x30].copy_from_slice(&40u16.to_le_bytes()); // e_shentsize
        f[0x30..0x32].copy_from_slice(&4u16.to_le_bytes()); // e_shnum
        f[0x32..0x34].copy_from_slice(&3u16.to_le_bytes()); // e_shstrndx
                                                            // (sh_name, sh_addr, sh_offset, sh_size)
        let headers: [(u32, u32, u32, u32); 4] = [
            (0, 0, 0, 0),
            (1, 0x100, 0, 5000),
            (7, 0x2000_0000, 0, 1234),
            (12, 0, names_at, names.len() as u32),
        ];
        for (name, addr, off, size) in headers {
            let mut h = [0u8; 40];
            h[0..4].copy_from_slice(&name.to_le_bytes());
            h[12..16].copy_from_slice(&addr.to_le_bytes());
            h[16..20].copy_from_slice(&off.to_le_bytes());
            h[20..24].copy_from_slice(&size.to_le_bytes());
            f.extend_from_slice(&h);
        }
        f
    }

    #[test]
    fn reads_elf32_section_headers() {
        let s = parse_sections(&tiny_elf32()).expect("parses");
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, [".text", ".bss", ".shstrtab"]);
        assert_eq!((s[0].addr, s[0].size), (0x100, 5000));
        assert_eq!((s[1].addr, s[1].size), (0x2000_0000, 1234));
        assert_eq!(
            footprint(&s),
            Footprint {
                flash: 5000,
                ram_static: 1234
            }
        );
    }

    #[test]
    fn rejects_truncated_and_foreign_files() {
        let elf = tiny_elf32();
        // Inside the magic, the file header, the last section header's sh_size.
        for cut in [3, 0x30, elf.len() - 18] {
            assert!(parse_sections(&elf[..cut]).is_err(), "cut at {cut}");
        }
        assert!(parse_sections(b"MZ\x90\0 not an ELF file").is_err());
    }

    #[test]
    fn reads_this_programs_own_elf64_headers() {
        let exe = std::env::current_exe().expect("current exe");
        let s = sections_of(&exe).expect("the test binary is an ELF file");
        assert!(s.iter().any(|s| s.name == ".text" && s.size > 0));
    }
}
