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
