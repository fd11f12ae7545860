//! A firmware board's memory budget, read from the one place it is written: the
//! `embed::Memory { … }` literal in `boards/<board>/build.rs` (the figures `check_fit` in
//! `boards/common/embed.rs` checks and `memory.x` is written from). Shared by path by
//! `tests/board_support/mod.rs` and `tests/board_fit.rs`, so the tests never restate a
//! board's reserve by hand.

use std::{fs, path::Path};

/// The value of `field: <expr>,` (e.g. `stack_reserve: 32 << 10,`) in
/// `boards/<board>/build.rs`. `<expr>` is an integer literal (decimal or `0x` hex, `_`
/// separators allowed) or two of them joined by `<<` or `*`: what the build scripts use.
/// Panics, naming the file, when the field is missing, written twice or not of that form.
pub fn build_rs_field(root: &Path, board: &str, field: &str) -> u64 {
    let path = root.join("boards").join(board).join("build.rs");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let values: Vec<&str> = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default().trim())
        .filter_map(|l| l.strip_prefix(field)?.trim_start().strip_prefix(':'))
        .map(|v| v.trim().trim_end_matches(',').trim())
        .collect();
    let [value] = values[..] else {
        panic!(
            "{} should set `{field}: <bytes>,` exactly once in its embed::Memory; found {} \
             times",
            path.display(),
            values.len()
        );
    };
    eval(value).unwrap_or_else(|| {
        panic!(
            "{}: `{field}: {value}` is not an integer, `A << B` or `A * B`",
            path.display()
        )
    })
}

fn eval(expr: &str) -> Option<u64> {
    if let Some((a, b)) = expr.split_once("<<") {
        return literal(a)?.checked_shl(u32::try_from(literal(b)?).ok()?);
    }
    if let Some((a, b)) = expr.split_once('*') {
        return literal(a)?.checked_mul(literal(b)?);
    }
    literal(expr)
}

fn literal(s: &str) -> Option<u64> {
    let s = s.trim().replace('_', "");
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::eval;

    #[test]
    fn build_rs_expressions() {
        assert_eq!(eval("32 << 10"), Some(32 * 1024));
        assert_eq!(eval("0x2000_0000"), Some(0x2000_0000));
        assert_eq!(eval("4 * 1024"), Some(4096));
        assert_eq!(eval("131_072"), Some(131_072));
        assert_eq!(eval("SIZE"), None);
    }
}
