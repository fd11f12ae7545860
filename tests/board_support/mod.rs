//! Shared by the board tests (`tests/board_*.rs`, `tests/targets_*.rs`): builds a board with
//! every golden model of `tests/data/golden` embedded (its `build.rs` reads them), runs it
//! under its runner (QEMU) and checks that it reports every class and output digest equal to
//! the host runtime's (`expected.bin`, itself checked by `tests/board_golden.rs`), prints its
//! OK line and exits 0.
//!
//! For a firmware board it also reads the stack high-water mark the firmware measured
//! (`edgecnn-stat board=… stack=…`, from `boards/common/stack.rs`), prints it and checks it
//! stays inside the `stack_reserve` of the board's `build.rs` (the RAM `check_fit` keeps
//! besides the arena): the stack alone below it, and the stack plus the statics besides the
//! arena (from the ELF's section sizes) within it.
//!
//! Each test crate includes, at its root and by path, the xtask's board logic (`board`,
//! `toolchain`, `util`), so the tests build and run exactly like `cargo xtask board run`.

use crate::board;
use std::path::Path;

#[allow(dead_code)]
#[path = "../../xtask/src/elf.rs"]
mod elf;
mod memory;

/// The value of `key=` in an `edgecnn-stat k=v k=v …` line (as `cargo xtask boards` reads it).
fn stat<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// Checks the stack high-water mark a firmware board printed against its build.rs reserve.
fn check_stack(root: &Path, board_name: &str, elf_path: &Path, output: &str) {
    let stats: Vec<&str> = output
        .lines()
        .filter_map(|l| l.trim().strip_prefix("edgecnn-stat "))
        .filter(|l| stat(l, "board") == Some(board_name))
        .collect();
    let number = |key: &str| -> u64 {
        let found: Vec<&str> = stats.iter().filter_map(|l| stat(l, key)).collect();
        let [value] = found[..] else {
            panic!(
                "{board_name} should print one `edgecnn-stat board={board_name} {key}=…` \
                 line (boards/common/stack.rs); it printed {} such lines:\n{output}",
                found.len()
            );
        };
        value
            .parse()
            .unwrap_or_else(|_| panic!("{board_name}: `{key}={value}` is not a number"))
    };
    let (stack, arena) = (number("stack"), number("arena_static"));
    let reserve = memory::build_rs_field(root, board_name, "stack_reserve");
    let ram_static = elf::footprint_of(elf_path)
        .unwrap_or_else(|e| panic!("{e}"))
        .ram_static;
    let others = ram_static.checked_sub(arena).unwrap_or_else(|| {
        panic!(
            "{board_name}: the ELF's statics ({ram_static} bytes of .data+.bss+.uninit) are \
             smaller than the arena it printed ({arena})"
        )
    });
    println!(
        "{board_name}: stack high-water {stack} bytes + {others} bytes of statics besides the \
         arena, of the {reserve}-byte stack_reserve in boards/{board_name}/build.rs"
    );
    assert!(
        stack > 0,
        "{board_name}: a stack high-water mark of 0 bytes means stack.rs measured nothing"
    );
    assert!(
        stack < reserve,
        "{board_name}: the stack reached {stack} bytes, not below the {reserve}-byte \
         stack_reserve of boards/{board_name}/build.rs: raise the reserve (the fit check would \
         pass a board whose stack overflows into the arena)"
    );
    assert!(
        stack + others <= reserve,
        "{board_name}: stack {stack} + statics besides the arena {others} = {} bytes exceed the \
         {reserve}-byte stack_reserve of boards/{board_name}/build.rs",
        stack + others
    );
}

/// The firmware compared its kernels with the reference on random layers
/// (`boards/common/kernel_check.rs`): one `edgecnn-kernels` line, cases run (dense ones also
/// with their weights packed for the DSP GEMM), none differing.
fn check_kernels(board_name: &str, output: &str) {
    let line = output
        .lines()
        .find_map(|l| l.trim().strip_prefix("edgecnn-kernels "))
        .unwrap_or_else(|| {
            panic!("{board_name} printed no `edgecnn-kernels` line (kernel_check.rs):\n{output}")
        });
    let number = |key: &str| -> u64 {
        stat(line, key)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{board_name}: no number `{key}=` in `{line}`"))
    };
    println!("{board_name}: kernels against the reference: {line}");
    assert!(
        number("cases") > 0,
        "{board_name}: no random layer was run: {line}"
    );
    assert!(
        number("packed") > 0,
        "{board_name}: no random layer ran with a cortex-m-dsp pack: {line}"
    );
    assert_eq!(number("mismatches"), 0, "{board_name}: {line}");
}

/// Builds and runs `board_name`; panics (never skips) when QEMU or the cross toolchain is
/// missing or any answer differs from the host's.
pub fn run_board_golden(board_name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let setup_hint = "run `cargo xtask setup` to install QEMU and the cross toolchains";
    let board = board::Board::find(root, board_name).unwrap_or_else(|e| panic!("{e}"));
    let elf = board.build(root, None).unwrap_or_else(|e| {
        panic!("building the {board_name} firmware failed: {e}\n({setup_hint})")
    });
    let outcome = board
        .run(&elf, board::DEFAULT_TIMEOUT)
        .unwrap_or_else(|e| panic!("running {board_name} failed: {e}\n({setup_hint})"));
    let matched = outcome
        .output
        .lines()
        .any(|l| l.contains("every class and digest matches the host"));
    assert!(
        matched,
        "{board_name} did not match the host's golden outputs; it printed:\n{}",
        outcome.output
    );
    assert!(
        outcome.passed(board_name),
        "{board_name} never printed `{}` with exit code 0 (code {:?}); it printed:\n{}",
        board::RunOutcome::ok_line(board_name),
        outcome.code,
        outcome.output
    );
    if crate::toolchain::is_bare_metal(&board.target) {
        check_stack(root, board_name, &elf, &outcome.output);
        check_kernels(board_name, &outcome.output);
    } else {
        println!("{board_name}: a Linux program: its stack is the OS's, no reserve to check");
    }
    println!("{board_name}: golden check OK");
}
