//! A picture of the arena over time, for `inspect`: one row per step, one column per
//! `arena / WIDTH` bytes.
//!
//! `#` the step's output, `=` its inputs, `s` its scratch, `.` other live tensors (produced
//! earlier, read later), blank = free. A tensor lives from the step that writes it (the
//! input: from the start) to the last step that reads it (the output: to the end).

use edgecnn::compiler::memory::{self, Contents};
use edgecnn::runtime::Plan;

/// Columns of the picture.
const WIDTH: usize = 64;

/// Rows of the picture (without header), plus the peak of live bytes (a buffer shared in
/// place by two tensors counted once).
pub fn render(plan: &Plan<'_>) -> (Vec<String>, usize) {
    let n = plan.num_steps();
    let buffers = memory::plan_buffers(plan);
    let arena = plan.arena_bytes().max(1);
    let col = |byte: usize| (byte * WIDTH / arena).min(WIDTH - 1);
    let mut rows = Vec::with_capacity(n);
    let mut peak = 0usize;
    for i in 0..n {
        let Some(s) = plan.step(i) else { continue };
        let mut row = [b' '; WIDTH];
        let mut paint = |offset: usize, len: usize, mark: u8| {
            if len == 0 {
                return;
            }
            for c in &mut row[col(offset)..=col(offset + len - 1)] {
                if rank(mark) > rank(*c) {
                    *c = mark;
                }
            }
        };
        let mut live = 0usize;
        for b in buffers
            .iter()
            .filter(|b| b.life.first <= i && i <= b.life.last)
        {
            if let Contents::Tensors(_) = b.contents {
                live += b.life.size as usize;
                paint(b.offset as usize, b.life.size as usize, b'.');
            }
        }
        for id in s.inputs() {
            if let Some(t) = plan.tensor(id) {
                paint(t.offset as usize, t.len as usize, b'=');
            }
        }
        if let Some(t) = plan.tensor(s.output) {
            paint(t.offset as usize, t.len as usize, b'#');
        }
        paint(s.scratch.0 as usize, s.scratch.1 as usize, b's');
        live += s.scratch.1 as usize;
        peak = peak.max(live);
        rows.push(format!(
            "{i:>4}  |{}|  {live:>10} live",
            String::from_utf8_lossy(&row)
        ));
    }
    (rows, peak)
}

/// Which mark wins when several share a column.
fn rank(mark: u8) -> u8 {
    match mark {
        b'#' => 4,
        b's' => 3,
        b'=' => 2,
        b'.' => 1,
        _ => 0,
    }
}
