//! Plan files: read, parse with errors naming the file, and what the CLI needs from a plan.

use std::path::{Path, PathBuf};

use edgecnn::format::model::Layout;
use edgecnn::image::Normalize;
use edgecnn::runtime::{AlignedBlob, Plan};

use crate::fail::{Context, Fail, Result};
use crate::sample::Shape;

/// A plan blob (on a cache line, for the packs' loads) and the file it came from.
pub struct LoadedPlan {
    path: PathBuf,
    blob: AlignedBlob,
}

impl LoadedPlan {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let blob = AlignedBlob::read(path).at(path)?;
        Ok(LoadedPlan {
            path: path.to_path_buf(),
            blob,
        })
    }

    /// Wraps bytes already in memory (just written to `path`).
    pub fn from_bytes(blob: &[u8], path: &Path) -> Self {
        LoadedPlan {
            path: path.to_path_buf(),
            blob: AlignedBlob::new(blob),
        }
    }

    /// Parses and validates the blob.
    pub fn plan(&self) -> Result<Plan<'_>> {
        Plan::parse(self.blob.as_bytes())
            .map_err(|e| Fail::at(&self.path, format!("invalid plan: {e}")))
    }
}

/// The plan's pixel recipe, if it was compiled from images.
pub fn recipe(plan: &Plan<'_>) -> Option<(Normalize, Layout)> {
    let p = plan.preprocess()?;
    Some((
        Normalize {
            scale: p.scale,
            mean: p.mean.to_vec(),
            std: p.std.to_vec(),
        },
        p.source_layout,
    ))
}

/// The plan's input as images see it, in `layout`.
pub fn input_shape(plan: &Plan<'_>, layout: Layout) -> Shape {
    let [h, w, c] = plan.input_shape();
    Shape { h, w, c, layout }
}

/// A zeroed arena of the plan's size.
pub fn arena(plan: &Plan<'_>) -> Vec<u8> {
    vec![0u8; plan.arena_bytes()]
}

/// Dequantises an output value.
pub fn dequantize(q: i8, (scale, zero_point): (f32, i8)) -> f32 {
    scale * (f32::from(q) - f32::from(zero_point))
}

/// Class names: `--labels` if given, else the plan's, else none.
pub fn class_names(plan: &Plan<'_>, labels: Option<&Path>) -> Result<Vec<String>> {
    match labels {
        Some(p) => crate::data::class_names(p),
        None => Ok((0..plan.num_labels())
            .map(|i| plan.label(i).unwrap_or("").to_string())
            .collect()),
    }
}
