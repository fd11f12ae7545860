//! Shared by the `cli_*` tests: run the binary, a tiny hand-built plan, PNG and `.npy` writers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use edgecnn::format::model::{
    FullyConnected, Layout, Op, PlanModel, Preprocess, Requant, Step, TensorDesc,
};

/// What one run of `edgecnn` did.
pub struct Run {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `edgecnn args…` in the package root.
pub fn edgecnn<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_edgecnn"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("edgecnn runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "stderr: {}", self.stderr);
        &self.stdout
    }

    /// Asserts the failure contract: non-zero exit, exactly one stderr line
    /// `edgecnn: <file>: <problem>` naming `file` and containing `problem`, no panic.
    pub fn fails_with(&self, file: &str, problem: &str) {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "exit {:?}, stderr {}",
            self.code,
            self.stderr
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one error line expected: {:?}", self.stderr);
        let prefix = format!("edgecnn: {file}: ");
        assert!(
            lines[0].starts_with(&prefix),
            "expected `{prefix}…`, got {:?}",
            lines[0]
        );
        assert!(
            lines[0].to_lowercase().contains(&problem.to_lowercase()),
            "expected {problem:?} in {:?}",
            lines[0]
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
    }
}

/// A fresh scratch folder under the target directory, unique to `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Class names of [`tiny_plan`].
pub const TINY_CLASSES: [&str; 3] = ["bright", "left", "dark"];

/// A hand-built plan: 2×2 gray input → one fully connected layer → 3 classes.
///
/// Class 0 scores total brightness, class 1 the left column minus the right one, class 2
/// darkness (plus a bias, so a black image is class 2). The pixel LUT is `p - 128`
/// (scale 1/255, zero point -128), the recipe `real = p / 255`.
pub fn tiny_plan() -> PlanModel {
    let input = TensorDesc {
        shape: [2, 2, 1],
        offset: 0,
        scale: 1.0 / 255.0,
        zero_point: -128,
        resident_rows: 0,
        pitch: 0,
    };
    let output = TensorDesc {
        shape: [1, 1, 3],
        offset: 16,
        scale: 0.1,
        zero_point: 0,
        resident_rows: 0,
        pitch: 0,
    };
    let op = Op::FullyConnected(FullyConnected {
        // NHWC flatten order: index = y * 2 + x.
        weights: vec![1, 1, 1, 1, 2, -2, 2, -2, -1, -1, -1, -1],
        bias: vec![0, 0, 200],
        requant: Requant {
            multiplier: vec![1 << 30],
            shift: vec![34], // × 1/16
        },
        act_min: -128,
        act_max: 127,
    });
    let scratch = edgecnn::kernels::scratch_bytes(&op, input.shape, output.shape);
    PlanModel {
        name: "tiny hand-built plan".into(),
        tensors: vec![input, output],
        steps: vec![Step {
            op,
            inputs: vec![0],
            output: 1,
            scratch: (32, scratch),
        }],
        input: 0,
        output: 1,
        arena_bytes: 32 + scratch,
        preprocess: Some(Preprocess {
            lut: vec![core::array::from_fn(|p| (p as i32 - 128) as i8)],
            scale: 1.0 / 255.0,
            mean: vec![0.0],
            std: vec![1.0],
            source_layout: Layout::Nchw,
        }),
        labels: TINY_CLASSES.iter().map(|s| s.to_string()).collect(),
    }
}

/// Writes [`tiny_plan`] to `dir/tiny.plan`.
pub fn write_tiny_plan(dir: &Path) -> PathBuf {
    let path = dir.join("tiny.plan");
    std::fs::write(&path, tiny_plan().encode()).expect("write plan");
    path
}

/// Writes a gray PNG of `w × h` pixels from `f(x, y)`.
pub fn write_png(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
    image::GrayImage::from_fn(w, h, |x, y| image::Luma([f(x, y)]))
        .save(path)
        .expect("write png");
}

/// Writes a C-order `.npy` with dtype `descr` (e.g. `<f4`), `shape` and raw little-endian data.
pub fn write_npy(path: &Path, descr: &str, shape: &[usize], data: &[u8]) {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    std::fs::write(path, out).expect("write npy");
}

/// `f32` values as little-endian bytes.
pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
