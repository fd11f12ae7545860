//! Activation ranges from calibration inputs.
//!
//! The float reference (tract) computes every tensor the quantised plan keeps (each ir
//! tensor remembers the tract outlet with the same values); per tensor we keep the minimum,
//! the maximum and a log-scale histogram of `|x|` (32 bins per octave over `2^-24 .. 2^24`,
//! so percentiles are exact to about 2 %), all in one pass over the data.

use std::collections::HashMap;

use super::import::Imported;
use super::ir::{Graph, TensorId};
use super::{CalibrationMethod, CompileError};

const OCTAVE_BINS: f32 = 32.0;
const MIN_LOG2: f32 = -24.0;
const BINS: usize = 48 * 32;

/// Range statistics of one tensor over the calibration set.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Smallest value seen.
    pub min: f32,
    /// Largest value seen.
    pub max: f32,
    /// Count of |x| per log bin (bin 0 also holds zeros and tiny values).
    hist: Vec<u64>,
    count: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            hist: vec![0; BINS],
            count: 0,
        }
    }
}

fn bin_of(a: f32) -> usize {
    if a.is_nan() || a <= 0.0 {
        return 0;
    }
    let b = ((a.log2() - MIN_LOG2) * OCTAVE_BINS).floor();
    b.clamp(0.0, (BINS - 1) as f32) as usize
}

fn bin_upper(b: usize) -> f32 {
    ((b + 1) as f32 / OCTAVE_BINS + MIN_LOG2).exp2()
}

impl Stats {
    /// Adds values.
    pub fn add(&mut self, xs: &[f32]) {
        for &x in xs {
            if x.is_nan() {
                continue;
            }
            self.min = self.min.min(x);
            self.max = self.max.max(x);
            self.hist[bin_of(x.abs())] += 1;
        }
        self.count += xs.len() as u64;
    }

    /// The `[lo, hi]` range the method selects (not yet widened to include 0).
    pub fn range(&self, method: CalibrationMethod) -> (f32, f32) {
        if self.count == 0 || self.min > self.max {
            return (0.0, 0.0);
        }
        match method {
            CalibrationMethod::MinMax => (self.min, self.max),
            CalibrationMethod::Percentile(p) => {
                let want = (self.count as f64 * (p as f64 / 100.0).clamp(0.0, 1.0)).ceil() as u64;
                let mut acc = 0u64;
                let mut t = f32::INFINITY;
                for (b, &n) in self.hist.iter().enumerate() {
                    acc += n;
                    if acc >= want {
                        t = bin_upper(b);
                        break;
                    }
                }
                (self.min.max(-t), self.max.min(t))
            }
        }
    }
}

/// Tensors whose ranges quantisation needs: every input and output of a node.
pub fn needed(g: &Graph) -> Vec<TensorId> {
    let mut v: Vec<TensorId> = vec![g.input];
    for n in &g.nodes {
        v.extend(n.inputs.iter().copied());
        v.push(n.output);
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// Runs the reference over `inputs` and collects [`Stats`] for every needed tensor.
pub fn collect(
    imported: &Imported,
    g: &Graph,
    inputs: &[Vec<f32>],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<HashMap<TensorId, Stats>, CompileError> {
    if inputs.is_empty() {
        return Err(CompileError::Calibration("no calibration inputs".into()));
    }
    let tensors = needed(g);
    let mut sources = vec![];
    for &t in &tensors {
        let s = g.tensors[t].source.ok_or_else(|| {
            CompileError::Other(format!(
                "internal: tensor `{}` has no float reference",
                g.tensors[t].name
            ))
        })?;
        sources.push(s);
    }
    let reference = imported.reference_for(&sources)?;
    let mut stats: HashMap<TensorId, Stats> =
        tensors.iter().map(|&t| (t, Stats::default())).collect();
    for (k, input) in inputs.iter().enumerate() {
        let outs = reference.run(input)?;
        for (i, &t) in tensors.iter().enumerate() {
            stats.get_mut(&t).unwrap().add(&outs[i]);
        }
        progress(k + 1, inputs.len());
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minmax_and_percentile() {
        let mut s = Stats::default();
        let mut xs: Vec<f32> = (0..10000).map(|i| i as f32 / 10000.0).collect();
        xs.push(100.0);
        xs.push(-3.0);
        s.add(&xs);
        assert_eq!(s.range(CalibrationMethod::MinMax), (-3.0, 100.0));
        let (lo, hi) = s.range(CalibrationMethod::Percentile(99.9));
        assert!(hi > 0.95 && hi < 1.05, "{hi}");
        assert!(lo >= -1.05, "{lo}");
    }

    #[test]
    fn empty_and_zero() {
        let mut s = Stats::default();
        assert_eq!(s.range(CalibrationMethod::MinMax), (0.0, 0.0));
        s.add(&[0.0, 0.0]);
        assert_eq!(s.range(CalibrationMethod::Percentile(99.0)).1, 0.0);
    }
}
