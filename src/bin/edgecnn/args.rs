//! The command line: clap definitions and the parsers for structured option values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use edgecnn::compiler::CalibrationMethod;
use edgecnn::format::model::Layout;
use edgecnn::format::pack::PackKind;

/// edgecnn: compile ONNX image classifiers to int8 plans, run and inspect them.
#[derive(Debug, Parser)]
#[command(name = "edgecnn", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Calibrate and quantise an ONNX model into a plan file.
    Compile(CompileArgs),
    /// Classify images with a plan.
    Classify(ClassifyArgs),
    /// Measure a plan's top-1 accuracy on a labelled set (optionally against the float model).
    Eval(EvalArgs),
    /// Show a plan step by step: ops, shapes, MACs, weights, arena use.
    Inspect(InspectArgs),
    /// Time `Session::run` on a plan (warm-up, then N runs; `--threads`, default 1).
    Bench(BenchArgs),
}

/// `edgecnn bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The plan.
    pub plan: PathBuf,
    /// Timed runs.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Untimed warm-up runs.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Threads for convolutions and fully connected layers (the output does not depend on it).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256), value_name = "N")]
    pub threads: u16,
    /// Run the kernels on this instruction set instead of the fastest the CPU has (the output
    /// does not depend on it): reference, avx2, avx512vnni, amx, neon, neondot or dsp.
    #[arg(long, value_name = "NAME")]
    pub isa: Option<String>,
    /// Also print where the time goes: each step's median time, share and GMAC/s.
    #[arg(long)]
    pub per_step: bool,
    /// PLAN is an ONNX model: time tract f32 on it instead (for comparison; one thread).
    #[arg(long)]
    pub float: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `edgecnn compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The ONNX model.
    pub model: PathBuf,
    /// Calibration inputs: a folder of PNG/JPEG images (all of them, sorted by name) or a
    /// `.npy` float32 tensor `[N, …]` in the model's own input layout.
    #[arg(long, value_name = "INPUTS")]
    pub calibration: PathBuf,
    /// Where to write the plan.
    #[arg(short = 'o', long = "output", value_name = "OUT.plan")]
    pub output: PathBuf,
    /// `minmax`, `percentile[:P]` (P defaults to 99.9) or `mse`. The default, `percentile:99.9`, is the
    /// compiler's measured best (`CalibrationMethod::DEFAULT`).
    #[arg(long, default_value = "percentile:99.9", value_parser = parse_method, value_name = "METHOD")]
    pub calibration_method: CalibrationMethod,
    /// Input shape in the model's layout, batch included, e.g. `1,3,224,224` (needed when the
    /// model's input has a symbolic dimension).
    #[arg(long, value_parser = parse_shape, value_name = "DIMS")]
    pub input_shape: Option<Dims>,
    /// Class names, one per line, stored in the plan.
    #[arg(long, value_name = "CLASSES.txt")]
    pub labels: Option<PathBuf>,
    /// Pixel multiplier: `real = (pixel * scale - mean[c]) / std[c]`.
    #[arg(long, default_value_t = 1.0 / 255.0, value_name = "S")]
    pub scale: f32,
    /// Per-channel mean (after `--scale`): one value or one per channel.
    #[arg(long, value_parser = parse_floats, default_value = "0", value_name = "M1,M2,M3")]
    pub mean: Floats,
    /// Per-channel standard deviation (after `--scale`): one value or one per channel.
    #[arg(long, value_parser = parse_floats, default_value = "1", value_name = "S1,S2,S3")]
    pub std: Floats,
    /// The model's input layout, when the import cannot tell it (default: as imported).
    #[arg(long, value_enum)]
    pub layout: Option<LayoutArg>,
    /// Image channels the model takes (default: from the input shape); images are converted.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub channels: Option<u8>,
    /// Use at most N calibration inputs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Never let an Add or Requantize write over its input (a larger arena).
    #[arg(long)]
    pub no_in_place: bool,
    /// Never let a conv or pool write over the input rows it has read (a larger arena,
    /// every step run whole).
    #[arg(long)]
    pub no_window_overlap: bool,
    /// Never stream a conv or pool output into the next step through a few rows (a larger
    /// arena, every step run whole).
    #[arg(long)]
    pub no_streaming: bool,
    /// Never let the convs and pools feeding a Concat write straight into their slices of
    /// its output (a larger arena, the Concat copies).
    #[arg(long)]
    pub no_zero_copy_concat: bool,
    /// Also store every dense conv's weights packed for these kernels (comma-separated;
    /// `x86-vnni`: x86-64 with AVX-512 VNNI; `cortex-m-dsp`: Cortex-M4/M7/M33 with the DSP
    /// extension, as i16), so they read them in place instead of repacking on every call.
    /// The plan grows by about its conv weights per kind (twice that for `cortex-m-dsp`) and
    /// still runs everywhere with the same bytes. Default: none (the smallest plan, for
    /// flash).
    #[arg(long, value_delimiter = ',', value_parser = parse_pack, value_name = "KINDS")]
    pub pack: Vec<PackKind>,
}

/// `edgecnn classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The plan.
    pub plan: PathBuf,
    /// PNG or JPEG images.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// How many classes to show per image.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=64), value_name = "K")]
    pub top: u16,
    /// Class names, one per line (overrides the names stored in the plan).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Threads for convolutions and fully connected layers (the output does not depend on it).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256), value_name = "N")]
    pub threads: u16,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `edgecnn eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The plan.
    pub plan: PathBuf,
    /// A folder of images, or a `.npy` float32 tensor `[N, …]` in the model's layout.
    #[arg(long, value_name = "INPUTS")]
    pub inputs: PathBuf,
    /// Lines `<file name> <class index>` for a folder, or a `.npy` integer vector for `.npy`.
    #[arg(long, value_name = "LABELS")]
    pub labels: PathBuf,
    /// The source ONNX model: also measure float top-1 and int8/float agreement.
    #[arg(long, value_name = "MODEL.onnx")]
    pub reference: Option<PathBuf>,
    /// Threads for convolutions and fully connected layers (the output does not depend on it).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256), value_name = "N")]
    pub threads: u16,
    /// Use at most N inputs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `edgecnn inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The plan.
    pub plan: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write a picture of the arena over time (steps × offsets) to this SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

/// A model input layout on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LayoutArg {
    /// Channels first.
    Nchw,
    /// Channels last.
    Nhwc,
}

impl From<LayoutArg> for Layout {
    fn from(l: LayoutArg) -> Self {
        match l {
            LayoutArg::Nchw => Layout::Nchw,
            LayoutArg::Nhwc => Layout::Nhwc,
        }
    }
}

/// A comma-separated list of dimensions (a newtype so clap takes it as one value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dims(pub Vec<usize>);

/// A comma-separated list of floats (a newtype so clap takes it as one value).
#[derive(Clone, Debug, PartialEq)]
pub struct Floats(pub Vec<f32>);

/// Parses `1,3,224,224`.
pub fn parse_shape(s: &str) -> Result<Dims, String> {
    let dims = s
        .split(',')
        .map(|d| match d.trim().parse::<usize>() {
            Ok(0) => Err("dimensions must be positive".to_string()),
            Ok(n) => Ok(n),
            Err(_) => Err(format!(
                "`{d}` is not a dimension; expected e.g. 1,3,224,224"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !(2..=4).contains(&dims.len()) {
        return Err(format!(
            "{} dimensions; expected 4 (e.g. 1,3,224,224)",
            dims.len()
        ));
    }
    Ok(Dims(dims))
}

/// Parses `0.485,0.456,0.406`.
pub fn parse_floats(s: &str) -> Result<Floats, String> {
    s.split(',')
        .map(|v| {
            v.trim()
                .parse::<f32>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("`{v}` is not a number"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Floats)
}

/// Parses a pack kind's name (`x86-vnni`, `cortex-m-dsp`).
pub fn parse_pack(s: &str) -> Result<PackKind, String> {
    PackKind::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = PackKind::ALL.iter().map(|k| k.name()).collect();
        format!("unknown pack `{s}`; known: {}", names.join(", "))
    })
}

/// Parses `minmax`, `percentile` (99.9), `percentile:P` or `mse`.
pub fn parse_method(s: &str) -> Result<CalibrationMethod, String> {
    match s.split_once(':') {
        None if s == "minmax" => Ok(CalibrationMethod::MinMax),
        None if s == "mse" => Ok(CalibrationMethod::Mse),
        None if s == "percentile" => Ok(CalibrationMethod::Percentile(99.9)),
        Some(("percentile", p)) => match p.parse::<f32>() {
            Ok(p) if p > 0.0 && p <= 100.0 => Ok(CalibrationMethod::Percentile(p)),
            _ => Err(format!("`{p}` is not a percentile in (0, 100]")),
        },
        _ => Err("expected `minmax`, `percentile`, `percentile:P` or `mse`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(parse_shape("1,3,224,224").unwrap().0, vec![1, 3, 224, 224]);
        assert!(parse_shape("1x3x224x224").is_err());
        assert!(parse_shape("1,0,2,2").is_err());
        assert!(parse_shape("").is_err());
    }

    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn every_option_parses() {
        let cli = Cli::try_parse_from([
            "edgecnn",
            "compile",
            "m.onnx",
            "--calibration",
            "c",
            "-o",
            "o.plan",
            "--calibration-method",
            "percentile",
            "--input-shape",
            "1,3,32,32",
            "--labels",
            "l.txt",
            "--scale",
            "0.5",
            "--mean",
            "1,2,3",
            "--std",
            "4",
            "--layout",
            "nhwc",
            "--channels",
            "3",
            "--limit",
            "7",
        ])
        .unwrap();
        let Command::Compile(a) = cli.command else {
            panic!("not compile")
        };
        assert_eq!(a.input_shape, Some(Dims(vec![1, 3, 32, 32])));
        assert_eq!(a.mean, Floats(vec![1.0, 2.0, 3.0]));
        assert_eq!(a.std, Floats(vec![4.0]));
        assert_eq!(a.channels, Some(3));
        assert_eq!(a.limit, Some(7));
        for args in [
            &[
                "edgecnn", "classify", "p", "a.png", "b.jpg", "--top", "3", "--labels", "l",
                "--json",
            ][..],
            &[
                "edgecnn",
                "eval",
                "p",
                "--inputs",
                "i",
                "--labels",
                "l",
                "--reference",
                "m",
                "--limit",
                "2",
                "--json",
            ],
            &["edgecnn", "inspect", "p", "--json", "--svg", "a.svg"],
        ] {
            Cli::try_parse_from(args).unwrap();
        }
    }

    #[test]
    fn methods() {
        assert_eq!(parse_method("minmax").unwrap(), CalibrationMethod::MinMax);
        assert_eq!(
            parse_method("percentile:99.9").unwrap(),
            CalibrationMethod::Percentile(99.9)
        );
        assert_eq!(
            parse_method("percentile").unwrap(),
            CalibrationMethod::Percentile(99.9)
        );
        assert_eq!(parse_method("mse").unwrap(), CalibrationMethod::Mse);
        let compile = Cli::try_parse_from([
            "edgecnn",
            "compile",
            "m.onnx",
            "--calibration",
            "c",
            "-o",
            "p",
        ])
        .unwrap();
        match compile.command {
            Command::Compile(c) => assert_eq!(c.calibration_method, CalibrationMethod::DEFAULT),
            _ => panic!("parsed as another command"),
        }
        assert!(parse_method("percentile:200").is_err());
        assert!(parse_method("median").is_err());
    }
}
