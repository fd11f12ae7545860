//! `edgecnn inspect --svg FILE`: the arena over time as an SVG picture.
//!
//! x = step, y = arena offset (0 at the top). One `<rect>` per tensor the steps touch
//! (`class="tensor"`, coloured by the op that writes it, labelled with its id when it is tall
//! enough) and one per step's scratch (`class="scratch"`, hatched); each has a `<title>`
//! tooltip with id, op, shape, bytes, offset and lifetime. A tensor written in place over an
//! input (`class="tensor in-place"`, dashed outline) takes over at the middle of its step.
//! Horizontal lines mark the arena and the tensor-level lower bound.

use std::fmt::Write as _;

use edgecnn::compiler::memory::{self, Contents, MemoryReport};
use edgecnn::runtime::Plan;

/// Height of the plot area in pixels.
const PLOT_H: f64 = 520.0;
/// Left margin (y axis labels).
const LEFT: f64 = 90.0;
/// Top margin (title).
const TOP: f64 = 40.0;
/// Bottom margin (x axis labels, legend).
const BOTTOM: f64 = 60.0;

/// Fill colours, one per op kind.
fn colour(op: &str) -> &'static str {
    match op {
        "input" => "#9e9e9e",
        "Conv2d" => "#4e79a7",
        "FullyConnected" => "#76b7b2",
        "MaxPool" => "#f28e2b",
        "AvgPool" => "#edc948",
        "Add" => "#e15759",
        "Concat" => "#59a14f",
        "Lrn" => "#b07aa1",
        "Softmax" => "#ff9da7",
        "Requantize" => "#9c755f",
        _ => "#bab0ac",
    }
}

/// Escapes text for XML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn shape_str([h, w, c]: [u32; 3]) -> String {
    format!("{h}x{w}x{c}")
}

/// The picture of `plan`, with `report` (its figures) in the caption.
pub fn render(plan: &Plan<'_>, report: &MemoryReport) -> String {
    let steps = plan.num_steps().max(1);
    let col = (1000.0 / steps as f64).clamp(6.0, 40.0);
    let plot_w = col * steps as f64;
    let (w, h) = (LEFT + plot_w + 20.0, TOP + PLOT_H + BOTTOM);
    let arena = plan.arena_bytes().max(1) as f64;
    let y = |bytes: f64| TOP + bytes * PLOT_H / arena;
    let x = |step: f64| LEFT + step * col;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif" font-size="11">
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#333" stroke-width="2"/></pattern></defs>
<text x="{LEFT}" y="16" font-size="13">{}</text>
<text x="{LEFT}" y="32">arena {} B, greedy-by-size {} B, tensor lower bound {} B; {} in place, {} overlapped, {} streamed, {} written into their Concat; x: step, y: offset</text>"##,
        esc(plan.name()),
        report.arena_bytes,
        report.greedy_bytes,
        report.lower_bound_bytes,
        report.in_place_steps,
        report.overlapped_steps,
        report.streamed_tensors,
        report.view_tensors,
    );
    // frame and axes
    let _ = writeln!(
        s,
        r##"<g class="axes" stroke="#000" fill="none"><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}"/><line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/></g>"##,
        y(arena),
        y(arena),
        x(steps as f64),
        y(arena),
    );
    for k in 0..=4 {
        let bytes = arena * f64::from(k) / 4.0;
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{:.0}</text>"#,
            LEFT - 4.0,
            y(bytes) + 4.0,
            bytes
        );
    }
    let every = (steps / 20).max(1);
    for i in (0..steps).step_by(every) {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{i}</text>"#,
            x(i as f64 + 0.5),
            y(arena) + 14.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">step</text>"#,
        x(steps as f64 / 2.0),
        y(arena) + 30.0
    );

    let lives = memory::tensor_lives_as_run(plan);
    let source_of_in_place: Vec<u16> = lives.iter().filter_map(|l| l.in_place_of).collect();
    let _ = writeln!(
        s,
        r##"<g class="buffers" stroke="#222" stroke-width="0.5">"##
    );
    for l in &lives {
        let (op, writer) = match l.producer {
            None => ("input", "model input".to_string()),
            Some(p) => {
                let op = plan.step(p).map_or("?", |st| st.op);
                (op, format!("{op} (step {p})"))
            }
        };
        let shape = plan.tensor(l.id).map_or([0; 3], |t| t.shape);
        let mut x0 = l.life.first as f64;
        let mut x1 = l.life.last as f64 + 1.0;
        let mut class = "tensor";
        let mut extra = String::new();
        if let Some(src) = l.in_place_of {
            x0 += 0.5;
            class = "tensor in-place";
            extra = format!(", in place over t{src}");
        }
        if source_of_in_place.contains(&l.id) {
            x1 -= 0.5;
        }
        let mut opacity = "";
        if let Some(y) = memory::view_of(plan, l.id) {
            // Drawn over the Concat output's bytes, which it is interleaved with.
            class = "tensor view";
            opacity = r#" fill-opacity="0.35""#;
            let pitch = plan.tensor(l.id).map_or(0, |t| t.pitch);
            extra = format!(", a view in t{y} (pixel pitch {pitch} B), its bytes interleaved with its siblings'");
        }
        let (rx, ry) = (x(x0), y(f64::from(l.offset)));
        let (rw, rh) = (
            (x(x1) - rx).max(1.0),
            (y(f64::from(l.offset) + f64::from(l.life.size)) - ry).max(0.5),
        );
        let dash = if l.in_place_of.is_some() {
            r#" stroke-dasharray="3,2" stroke-width="1.5""#
        } else {
            ""
        };
        let _ = writeln!(
            s,
            r#"<rect class="{class}" data-tensor="{}" x="{rx:.2}" y="{ry:.2}" width="{rw:.2}" height="{rh:.2}" fill="{}"{dash}{opacity}><title>t{}: {} output of {writer}, {} B at offset {}, alive steps {}..={}{extra}</title></rect>"#,
            l.id,
            colour(op),
            l.id,
            shape_str(shape),
            l.life.size,
            l.offset,
            l.life.first,
            l.life.last,
        );
        if rh >= 12.0 && rw >= 18.0 {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#fff" stroke="none" font-size="10">t{}</text>"##,
                rx + rw / 2.0,
                ry + rh / 2.0 + 4.0,
                l.id
            );
        }
    }
    for b in memory::plan_buffers(plan) {
        let Contents::Scratch { step } = b.contents else {
            continue;
        };
        let op = plan.step(step).map_or("?", |st| st.op);
        let (rx, ry) = (x(step as f64), y(f64::from(b.offset)));
        let rh = (y(f64::from(b.offset) + f64::from(b.life.size)) - ry).max(0.5);
        let _ = writeln!(
            s,
            r#"<rect class="scratch" data-step="{step}" x="{rx:.2}" y="{ry:.2}" width="{col:.2}" height="{rh:.2}" fill="url(#hatch)"><title>scratch of step {step} ({op}), {} B at offset {}</title></rect>"#,
            b.life.size, b.offset,
        );
    }
    let _ = writeln!(s, "</g>");
    // the tensor-level lower bound, for comparison with the arena (the frame's bottom)
    let lb = f64::from(report.lower_bound_bytes);
    if lb <= arena {
        let _ = writeln!(
            s,
            r##"<line class="lower-bound" x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#d00" stroke-dasharray="6,3"><title>tensor lower bound {} B</title></line>"##,
            y(lb),
            x(steps as f64),
            y(lb),
            report.lower_bound_bytes
        );
    }
    // legend
    let mut lx = LEFT;
    let ly = y(arena) + 44.0;
    for op in [
        "input",
        "Conv2d",
        "FullyConnected",
        "MaxPool",
        "AvgPool",
        "Add",
        "Concat",
        "Lrn",
        "Softmax",
        "Requantize",
    ] {
        let _ = writeln!(
            s,
            r#"<g class="legend"><circle cx="{:.1}" cy="{:.1}" r="5" fill="{}"/><text x="{:.1}" y="{:.1}">{op}</text></g>"#,
            lx + 5.0,
            ly - 4.0,
            colour(op),
            lx + 13.0,
            ly
        );
        lx += 14.0 + 7.0 * op.len() as f64 + 8.0;
    }
    let _ = writeln!(
        s,
        r##"<g class="legend"><path d="M{:.1} {:.1} h10 v10 h-10 z" fill="url(#hatch)" stroke="#222"/><text x="{:.1}" y="{:.1}">scratch</text></g>"##,
        lx,
        ly - 9.0,
        lx + 13.0,
        ly
    );
    let _ = writeln!(s, "</svg>");
    s
}
