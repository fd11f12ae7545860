//! What the firmware computes and `tests/board_qemu.rs` recomputes on the host, to prove the
//! same plan gives the same bytes on Cortex-M as on the host. Shared by path: keep it plain
//! `core` code with no dependencies.

/// Fills the input tensor with a fixed pseudo-random pattern (an LCG), the same on every
/// machine.
pub fn fill_input(input: &mut [i8]) {
    let mut x: u32 = 0x2545_F491;
    for v in input {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v = (x >> 24) as u8 as i8;
    }
}

/// FNV-1a (32-bit) of the output tensor's bytes.
pub fn digest(output: &[i8]) -> u32 {
    output.iter().fold(0x811C_9DC5u32, |h, &v| {
        (h ^ u32::from(v as u8)).wrapping_mul(0x0100_0193)
    })
}

/// The index of the largest value (the lowest index among ties), `None` when empty.
pub fn argmax(output: &[i8]) -> Option<usize> {
    let mut best: Option<(usize, i8)> = None;
    for (i, &v) in output.iter().enumerate() {
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// The line the firmware prints after running the plan; the host test builds the same line.
pub fn result_line<'a>(board: &'a str, steps: usize, output: &[i8]) -> ResultLine<'a> {
    ResultLine {
        board,
        steps,
        len: output.len(),
        digest: digest(output),
        top1: argmax(output),
    }
}

/// See [`result_line`]: `edgecnn <board>: plan ran: <n> steps, output <len> bytes, digest
/// 0x…, top-1 class <k>`.
pub struct ResultLine<'a> {
    board: &'a str,
    steps: usize,
    len: usize,
    digest: u32,
    top1: Option<usize>,
}

impl core::fmt::Display for ResultLine<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "edgecnn {}: plan ran: {} steps, output {} bytes, digest {:#010x}, top-1 class ",
            self.board, self.steps, self.len, self.digest
        )?;
        match self.top1 {
            Some(k) => write!(f, "{k}"),
            None => f.write_str("none"),
        }
    }
}
