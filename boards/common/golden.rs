//! The user-facing classify call every board runs, literally the same on the host (tests),
//! 64-bit ARM Linux and Cortex-M firmware, plus the output digest the golden checks compare.
//!
//! Included by path (`#[path = "../../common/golden.rs"] mod golden;`) by every board's
//! `main.rs` and by the host tests: keep it plain `core` code whose only dependency is
//! `edgecnn` (no `std`, no allocation, no printing).

use core::fmt;

use edgecnn::classify::{Class, Classifier};
use edgecnn::kernels::Isa;
use edgecnn::runtime::{BindError, ParseError, Plan, RunError, Session};

/// What [`classify_one`] found for one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The best class (index and raw int8 score).
    pub class: Class,
    /// FNV-1a of the whole output tensor: equal digests mean equal output bytes.
    pub digest: u32,
}

/// Why [`classify_one`] failed: the runtime's own error for the step that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassifyError {
    /// `Plan::parse` rejected the blob.
    Parse(ParseError),
    /// The arena is too small (or misaligned) for the plan.
    Bind(BindError),
    /// The pixels do not fit the plan's input, or a step failed.
    Run(RunError),
    /// The plan's output tensor is empty.
    NoClass,
}

impl fmt::Display for ClassifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => write!(f, "Plan::parse: {e}"),
            Self::Bind(e) => write!(f, "Classifier::new: {e}"),
            Self::Run(e) => write!(f, "Classifier::classify_pixels: {e}"),
            Self::NoClass => f.write_str("the plan's output is empty"),
        }
    }
}

// README-SNIPPET-START
/// Classifies one image: `plan_bytes` as compiled by `edgecnn compile` (in flash, a file or
/// `include_bytes!`), a caller-owned `arena` of at least `plan.arena_bytes()` bytes (a
/// `static` on a microcontroller), `pixels` as raw 8-bit HWC at the model's input size.
pub fn classify_one(
    plan_bytes: &[u8],
    arena: &mut [u8],
    pixels: &[u8],
) -> Result<Answer, ClassifyError> {
    let plan = Plan::parse(plan_bytes).map_err(ClassifyError::Parse)?;
    classify_parsed(&plan, arena, pixels)
}

/// [`classify_one`] for a plan parsed once, at boot (parsing checks the whole blob's CRC:
/// firmware that classifies many images pays it once).
pub fn classify_parsed(
    plan: &Plan<'_>,
    arena: &mut [u8],
    pixels: &[u8],
) -> Result<Answer, ClassifyError> {
    let mut classifier = Classifier::new(plan, arena).map_err(ClassifyError::Bind)?;
    let top = classifier
        .classify_pixels::<1>(pixels)
        .map_err(ClassifyError::Run)?;
    let class = *top.first().ok_or(ClassifyError::NoClass)?;
    Ok(Answer {
        class,
        digest: digest(classifier.session().output()),
    })
}
// README-SNIPPET-END

/// The [`digest`] of `plan_bytes`'s output for `pixels` with the dense kernels forced onto
/// `isa` (the reference where this CPU lacks it): every [`Isa`] must give the golden digest.
pub fn digest_on(
    isa: Isa,
    plan_bytes: &[u8],
    arena: &mut [u8],
    pixels: &[u8],
) -> Result<u32, ClassifyError> {
    let plan = Plan::parse(plan_bytes).map_err(ClassifyError::Parse)?;
    let mut session = Session::new(&plan, arena).map_err(ClassifyError::Bind)?;
    session.set_isa(isa);
    session
        .set_input_pixels(pixels)
        .map_err(ClassifyError::Run)?;
    session.run().map_err(ClassifyError::Run)?;
    Ok(digest(session.output()))
}

/// Every kernel path this CPU runs besides the fastest, which [`classify_one`] already uses:
/// the ones [`digest_on`] still has to check.
pub fn other_isas() -> impl Iterator<Item = Isa> {
    let best = Isa::best();
    Isa::all_available().filter(move |&i| i != best)
}

/// FNV-1a (32-bit) of an output tensor's bytes.
pub fn digest(output: &[i8]) -> u32 {
    output.iter().fold(0x811C_9DC5u32, |h, &v| {
        (h ^ u32::from(v as u8)).wrapping_mul(0x0100_0193)
    })
}

/// One golden image as a board embeds it: its pixels and what the host runtime answered.
#[derive(Clone, Copy, Debug)]
pub struct GoldenImage {
    /// The test image's file name (`0003.png`).
    pub name: &'static str,
    /// Its true label (from `models/data/fashion-test/labels.txt`).
    pub label: u16,
    /// Raw 8-bit HWC pixels.
    pub pixels: &'static [u8],
    /// The host runtime's top-1 class and score.
    pub class: u16,
    pub score: i8,
    /// [`digest`] of the host runtime's output bytes.
    pub digest: u32,
}

/// One golden model as a board embeds it (see `boards/common/embed.rs`).
#[derive(Clone, Copy, Debug)]
pub struct GoldenModel {
    /// The folder name under `tests/data/golden` (`micro_resnet8`).
    pub name: &'static str,
    /// The plan blob, 16-byte aligned.
    pub plan: &'static [u8],
    /// Arena bytes the plan needs (from its header).
    pub arena_bytes: usize,
    pub images: &'static [GoldenImage],
}

/// Whether `answer` is exactly what the host runtime gave for `image`.
pub fn matches(image: &GoldenImage, answer: &Answer) -> bool {
    answer.class.index == image.class
        && answer.class.score == image.score
        && answer.digest == image.digest
}
