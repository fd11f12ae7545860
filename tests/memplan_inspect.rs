//! Memory figures computed from a plan file alone (`compiler::memory`, `edgecnn inspect`):
//! exact numbers on a hand-built plan, and the same figures the compiler reported on
//! compiled ones.
#![cfg(feature = "cli")]

#[path = "cli_support/mod.rs"]
mod cli_support;
#[path = "compiler_support/mod.rs"]
mod compiler_support;

use edgecnn::compiler::memory::{self, Contents};
use edgecnn::compiler::{compile_with_report, CalibrationMethod, CompileOptions};
use edgecnn::format::model::{Add, Op, PlanModel, Requant, Requantize, Step, TensorDesc};
use edgecnn::runtime::{Plan, Session};
use serde_json::Value;

fn one(multiplier: i32, shift: u8) -> Requant {
    Requant {
        multiplier: vec![multiplier],
        shift: vec![shift],
    }
}

fn t(offset: u32) -> TensorDesc {
    TensorDesc {
        shape: [1, 1, 100],
        offset,
        scale: 0.1,
        zero_point: 0,
        resident_rows: 0,
        pitch: 0,
    }
}

/// Four 100-byte tensors: `t1 = rq(t0)`, `t2 = rq(t1)`, `t3 = t1 + t2` written in place
/// over `t2`. Lifetimes t0 [0,0], t1 [0,2], t2 [1,2], t3 [2,2].
pub fn chain_plan() -> PlanModel {
    let rq = || {
        Op::Requantize(Requantize {
            requant: one(1 << 30, 30), // × 1
            act_min: -128,
            act_max: 127,
        })
    };
    let add = Op::Add(Add {
        a: one(1 << 30, 31), // a' = (a << 20) / 2
        b: one(1 << 30, 31),
        out: one(1 << 30, 49), // (a' + b') / 2^19
        act_min: -128,
        act_max: 127,
    });
    let step = |op, inputs: Vec<u16>, output| Step {
        op,
        inputs,
        output,
        scratch: (0, 0),
    };
    PlanModel {
        name: "chain with one in-place add".into(),
        tensors: vec![t(0), t(112), t(0), t(0)],
        steps: vec![
            step(rq(), vec![0], 1),
            step(rq(), vec![1], 2),
            step(add, vec![1, 2], 3),
        ],
        input: 0,
        output: 3,
        arena_bytes: 212,
        preprocess: None,
        labels: vec![],
    }
}

#[test]
fn figures_of_a_hand_built_plan() {
    let blob = chain_plan().encode();
    let plan = Plan::parse(&blob).expect("runtime accepts the in-place add");
    let r = memory::plan_report(&plan);
    assert_eq!(r.arena_bytes, 212);
    // step 2: t1 + t2 + t3 alive, each counted
    assert_eq!(r.lower_bound_bytes, 300);
    // t2 and t3 share their bytes
    assert_eq!(r.buffer_lower_bound_bytes, 200);
    // greedy on separate tensors: t0 0, t1 112, t2 0, t3 224
    assert_eq!(r.greedy_bytes, 324);
    assert_eq!(r.naive_bytes, 4 * 112);
    assert_eq!(r.in_place_steps, 1);
    let bufs = memory::plan_buffers(&plan);
    let tensors: Vec<&Contents> = bufs.iter().map(|b| &b.contents).collect();
    assert_eq!(
        tensors,
        [
            &Contents::Tensors(vec![0]),
            &Contents::Tensors(vec![1]),
            &Contents::Tensors(vec![2, 3]),
        ]
    );
    // and it runs
    let mut arena = vec![0u8; plan.arena_bytes()];
    let mut s = Session::new(&plan, &mut arena).unwrap();
    s.set_input(&[3i8; 100]).unwrap();
    s.run().unwrap();
    assert!(s.output().iter().all(|&v| v == 6), "{:?}", s.output());
}

#[test]
fn inspect_shows_the_figures() {
    let dir = cli_support::scratch("memplan_inspect");
    let path = dir.join("chain.plan");
    std::fs::write(&path, chain_plan().encode()).unwrap();
    let run = cli_support::edgecnn(&["inspect", path.to_str().unwrap()]);
    let text = run.ok();
    assert!(
        text.contains("arena 212 B = 0.654 x greedy-by-size 324 B; tensor lower bound 300 B, with in place 200 B (1 steps in place, 0 overlapped by rows, 0 tensors streamed, 0 written into their Concat); naive 448 B"),
        "{text}"
    );
    let run = cli_support::edgecnn(&["inspect", path.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(v["arena_bytes"], 212);
    assert_eq!(v["tensor_lower_bound_bytes"], 300);
    assert_eq!(v["greedy_bytes"], 324);
    assert_eq!(v["naive_bytes"], 448);
    assert_eq!(v["buffer_lower_bound_bytes"], 200);
    assert_eq!(v["in_place_steps"], 1);
    assert_eq!(v["overlapped_steps"], 0);
}

/// On compiled plans the figures read back from the file are the compiler's own.
#[test]
fn plan_file_figures_equal_the_compilers() {
    for name in ["residual", "concat", "lrn"] {
        let path = compiler_support::onnx(name);
        let float = edgecnn::compiler::FloatModel::load(&path, None).unwrap();
        let n: usize = float.input_shape().iter().product();
        let calib: Vec<Vec<f32>> = (0..8).map(|i| compiler_support::normal(i, n)).collect();
        let options = CompileOptions {
            input_shape: None,
            method: CalibrationMethod::DEFAULT,
            preprocess: None,
            labels: vec![],
        };
        let (model, report) = compile_with_report(&path, &calib, &options, &mut |_, _| {}).unwrap();
        let blob = model.encode();
        let plan = Plan::parse(&blob).unwrap();
        let from_file = memory::plan_report(&plan);
        assert_eq!(from_file, report.memory, "{name}");
        let r = from_file;
        assert!(r.buffer_lower_bound_bytes <= r.lower_bound_bytes, "{name}");
        assert!(r.lower_bound_bytes <= r.greedy_bytes, "{name}");
        assert!(r.greedy_bytes <= r.naive_bytes, "{name}");
        assert!(r.arena_bytes <= r.greedy_bytes, "{name}");
        if r.overlapped_steps == 0 {
            // overlapped steps share bytes the buffer-level bound counts twice
            assert!(r.arena_bytes >= r.buffer_lower_bound_bytes, "{name}");
        }
        compiler_support::assert_memory_sound(&model);
    }
}

/// A minimal XML well-formedness check: balanced tags, quoted attributes, escaped text.
/// Returns the start tags as `(name, attributes)`.
fn parse_xml(s: &str) -> Vec<(String, Vec<(String, String)>)> {
    fn text_ok(t: &str) -> bool {
        let mut rest = t;
        while let Some(i) = rest.find('&') {
            rest = &rest[i + 1..];
            let end = rest.find(';').expect("entity ends with ;");
            let ent = &rest[..end];
            assert!(
                ["amp", "lt", "gt", "quot", "apos"].contains(&ent),
                "entity &{ent};"
            );
        }
        !t.contains('<')
    }
    let mut stack: Vec<String> = vec![];
    let mut tags = vec![];
    let mut rest = s.trim_start();
    if let Some(r) = rest.strip_prefix("<?xml") {
        rest = &r[r.find("?>").expect("declaration ends") + 2..];
    }
    let mut roots = 0;
    while !rest.is_empty() {
        let lt = rest.find('<').unwrap_or(rest.len());
        assert!(text_ok(&rest[..lt]), "bad text {:?}", &rest[..lt]);
        assert!(
            !stack.is_empty() || rest[..lt].trim().is_empty(),
            "text outside the root"
        );
        rest = &rest[lt..];
        if rest.is_empty() {
            break;
        }
        let gt = rest.find('>').expect("tag ends");
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
            continue;
        }
        let (body, empty) = match tag.strip_suffix('/') {
            Some(b) => (b, true),
            None => (tag, false),
        };
        let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
        let name = &body[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == ':' || c == '-')
        );
        let mut attrs = vec![];
        let mut a = body[name_end..].trim();
        while !a.is_empty() {
            let eq = a.find('=').expect("attribute has =");
            let key = a[..eq].trim().to_string();
            let after = a[eq + 1..].trim_start();
            assert!(after.starts_with('"'), "unquoted attribute {key}");
            let close = after[1..].find('"').expect("attribute value ends") + 1;
            let value = &after[1..close];
            assert!(text_ok(value), "bad attribute value {value:?}");
            assert!(
                !attrs.iter().any(|(k, _)| k == &key),
                "duplicate attribute {key}"
            );
            attrs.push((key, value.to_string()));
            a = after[close + 1..].trim_start();
        }
        if stack.is_empty() {
            roots += 1;
        }
        tags.push((name.to_string(), attrs));
        if !empty {
            stack.push(name.to_string());
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    assert_eq!(roots, 1, "one root element");
    tags
}

#[test]
fn svg_is_well_formed_with_one_rect_per_buffer() {
    // chain_plan plus 16 bytes of scratch for step 1
    let mut model = chain_plan();
    model.steps[1].scratch = (224, 16);
    model.arena_bytes = 240;
    model.name = "a <name> & \"quotes\"".into();
    let dir = cli_support::scratch("memplan_svg");
    let (path, svg) = (dir.join("chain.plan"), dir.join("chain.svg"));
    std::fs::write(&path, model.encode()).unwrap();
    let run = cli_support::edgecnn(&[
        "inspect",
        path.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    run.ok();
    let text = std::fs::read_to_string(&svg).unwrap();
    let tags = parse_xml(&text);
    assert_eq!(tags[0].0, "svg");
    let attr = |t: &(String, Vec<(String, String)>), k: &str| {
        t.1.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone())
    };
    let num = |t: &(String, Vec<(String, String)>), k: &str| -> f64 {
        attr(t, k).unwrap().parse().unwrap()
    };
    let (w, h) = (num(&tags[0], "width"), num(&tags[0], "height"));
    let rects: Vec<_> = tags.iter().filter(|t| t.0 == "rect").collect();
    let class = |t: &&(String, Vec<(String, String)>)| attr(t, "class").unwrap_or_default();
    let tensors: Vec<String> = rects
        .iter()
        .filter(|t| class(t).starts_with("tensor"))
        .map(|t| attr(t, "data-tensor").unwrap())
        .collect();
    assert_eq!(tensors, ["0", "1", "2", "3"]);
    assert_eq!(rects.iter().filter(|t| class(t) == "scratch").count(), 1);
    assert_eq!(rects.len(), 5, "one rect per tensor and per scratch");
    assert_eq!(
        rects
            .iter()
            .filter(|t| class(t) == "tensor in-place")
            .count(),
        1
    );
    for r in &rects {
        let (x, y) = (num(r, "x"), num(r, "y"));
        let (rw, rh) = (num(r, "width"), num(r, "height"));
        assert!(x >= 0.0 && y >= 0.0 && x + rw <= w && y + rh <= h, "{r:?}");
    }
    // tooltips name the tensor, its op and size
    assert!(text.contains("<title>t3: 1x1x100 output of Add (step 2), 100 B at offset 0, alive steps 2..=2, in place over t2</title>"), "{text}");
    assert!(text.contains("<title>scratch of step 1 (Requantize), 16 B at offset 224</title>"));
    assert!(text.contains("a &lt;name&gt; &amp; &quot;quotes&quot;"));
}
