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
        // The clip threshold on |x|.
        let t = match method {
            CalibrationMethod::MinMax => return (self.min, self.max),
            CalibrationMethod::Percentile(p) => self.percentile_threshold(p),
            CalibrationMethod::Mse => self.mse_threshold(),
        };
        (self.min.max(-t), self.max.min(t))
    }

    /// The upper edge of the histogram bin where the `p`-th percentile of |x| falls.
    fn percentile_threshold(&self, p: f32) -> f32 {
        let want = (self.count as f64 * (p as f64 / 100.0).clamp(0.0, 1.0)).ceil() as u64;
        let mut acc = 0u64;
        for (b, &n) in self.hist.iter().enumerate() {
            acc += n;
            if acc >= want {
                return bin_upper(b);
            }
        }
        f32::INFINITY
    }

    /// The clipping threshold `t` that minimises the estimated squared error of quantising
    /// this tensor to 256 levels over `[max(min, -t), min(max, t)]`: values beyond `t` cost
    /// `(|x| - t)^2`, values inside cost the rounding noise `min(x^2, step^2 / 12)`. Candidates
    /// are the histogram's bin edges from the largest |x| down to 1/256 of it (8 octaves).
    fn mse_threshold(&self) -> f32 {
        let top = self.min.abs().max(self.max.abs());
        if top <= 0.0 || !top.is_finite() {
            return top;
        }
        let last = bin_of(top);
        let first = last.saturating_sub(8 * OCTAVE_BINS as usize);
        // (bin centre, count) of every non-empty bin up to `top`, once for all candidates.
        let occupied: Vec<(f64, f64)> = self
            .hist
            .iter()
            .enumerate()
            .take(last + 1)
            .skip(1)
            .filter(|&(_, &n)| n != 0)
            .map(|(b, &n)| {
                let centre = ((b as f32 + 0.5) / OCTAVE_BINS + MIN_LOG2).exp2();
                (centre.min(top) as f64, n as f64)
            })
            .collect();
        let mut best = (f64::INFINITY, top);
        for cand in (first..=last).rev() {
            let t = if cand == last { top } else { bin_upper(cand) };
            let (lo, hi) = (self.min.max(-t).min(0.0), self.max.min(t).max(0.0));
            let step = ((hi - lo) / 255.0) as f64;
            let noise = step * step / 12.0;
            let mut err = 0.0f64;
            for &(x, n) in &occupied {
                let e = if x > t as f64 {
                    (x - t as f64).powi(2)
                } else {
                    (x * x).min(noise)
                };
                err += e * n;
            }
            if err < best.0 {
                best = (err, t);
            }
        }
        best.1
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
    fn mse_clips_a_long_tail_but_not_a_uniform_range() {
        // 100 000 exponentially distributed values (exact quantiles, max ≈ 12.2): the tail is
        // thin enough that clipping it costs less than the coarser step a full range needs.
        let n = 100_000;
        let exp: Vec<f32> = (0..n)
            .map(|i| -(1.0 - (i as f64 + 0.5) / n as f64).ln() as f32)
            .collect();
        let mut s = Stats::default();
        s.add(&exp);
        let top = s.range(CalibrationMethod::MinMax).1;
        let (_, hi) = s.range(CalibrationMethod::Mse);
        assert!(hi > 0.5 * top && hi < 0.95 * top, "{hi} of {top}");
        // Uniform data has no tail worth clipping: the threshold stays near the maximum.
        let mut u = Stats::default();
        u.add(&(0..10000).map(|i| i as f32 / 10000.0).collect::<Vec<_>>());
        let (_, hi) = u.range(CalibrationMethod::Mse);
        assert!(hi > 0.9, "{hi}");
        // A lone far outlier among many zeros costs nothing to keep (zeros are exact at any
        // step), so it is kept, as squared error says.
        let mut z = vec![0.0f32; 10000];
        z.push(100.0);
        let mut o = Stats::default();
        o.add(&z);
        assert!(o.range(CalibrationMethod::Mse).1 > 90.0);
    }

    #[test]
    fn empty_and_zero() {
        let mut s = Stats::default();
        assert_eq!(s.range(CalibrationMethod::MinMax), (0.0, 0.0));
        s.add(&[0.0, 0.0]);
        assert_eq!(s.range(CalibrationMethod::Percentile(99.0)).1, 0.0);
    }
}
