//! Labels and top-k: the last mile from an output tensor to class names.
//!
//! ```
//! use edgecnn::classify::{top_k, Class};
//! let best = top_k::<2>(&[3, -7, 90, 90, 12]);
//! assert_eq!(&best[..], &[Class { index: 2, score: 90 }, Class { index: 3, score: 90 }]);
//! ```

use crate::runtime::{BindError, Plan, RunError, Session};

/// One class and its raw int8 score (logit or probability, at the output's quantisation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Class {
    /// Class index (position in the output tensor).
    pub index: u16,
    /// Raw int8 score.
    pub score: i8,
}

/// The `K` best scores, descending; ties go to the lower index. Returns fewer than `K` when
/// `scores` is shorter; only the first 65 536 scores are considered. Never panics.
pub fn top_k<const K: usize>(scores: &[i8]) -> heapless::Vec<Class, K> {
    let mut best: heapless::Vec<Class, K> = heapless::Vec::new();
    if K == 0 {
        return best;
    }
    for (i, &score) in scores.iter().enumerate().take(usize::from(u16::MAX) + 1) {
        let c = Class {
            index: i as u16,
            score,
        };
        // Strictly greater than the entry it displaces: an equal score arriving later has a
        // higher index and so ranks below.
        let pos = best
            .iter()
            .position(|b| score > b.score)
            .unwrap_or(best.len());
        if pos == best.len() {
            let _ = best.push(c); // full: c ranks last, drop it
        } else {
            if best.is_full() {
                best.pop();
            }
            let _ = best.insert(pos, c);
        }
    }
    best
}

/// A [`Session`] plus top-k and labels: pixels (or a quantised input) in, classes out.
///
/// ```
/// # fn demo(blob: &[u8], pixels: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// use edgecnn::{classify::Classifier, runtime::Plan};
/// let plan = Plan::parse(blob)?;
/// let mut arena = vec![0u8; plan.arena_bytes()];
/// let mut classifier = Classifier::new(&plan, &mut arena)?;
/// for class in classifier.classify_pixels::<5>(pixels)? {
///     println!("{:>4} {:>4} {}", class.index, class.score, classifier.label(&class).unwrap_or("?"));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Classifier<'p, 'b, 'a> {
    session: Session<'p, 'b, 'a>,
}

impl<'p, 'b, 'a> Classifier<'p, 'b, 'a> {
    /// Binds `plan` to `arena`; fails like [`Session::new`].
    pub fn new(plan: &'p Plan<'b>, arena: &'a mut [u8]) -> Result<Self, BindError> {
        Ok(Self {
            session: Session::new(plan, arena)?,
        })
    }

    /// Preprocesses interleaved HWC `u8` pixels (already at the input's size), runs, and
    /// returns the `K` best classes. Fails like [`Session::set_input_pixels`].
    pub fn classify_pixels<const K: usize>(
        &mut self,
        hwc: &[u8],
    ) -> Result<heapless::Vec<Class, K>, RunError> {
        self.session.set_input_pixels(hwc)?;
        self.session.run()?;
        Ok(top_k(self.session.output()))
    }

    /// Runs on an already quantised input and returns the `K` best classes. Fails like
    /// [`Session::set_input`].
    pub fn classify<const K: usize>(
        &mut self,
        input: &[i8],
    ) -> Result<heapless::Vec<Class, K>, RunError> {
        self.session.set_input(input)?;
        self.session.run()?;
        Ok(top_k(self.session.output()))
    }

    /// The session (output and intermediate tensors).
    pub fn session(&self) -> &Session<'p, 'b, 'a> {
        &self.session
    }

    /// The session, mutable (to write the input directly).
    pub fn session_mut(&mut self) -> &mut Session<'p, 'b, 'a> {
        &mut self.session
    }

    /// The class's name from the plan, `None` if the plan has no such label.
    pub fn label(&self, class: &Class) -> Option<&'b str> {
        self.session.plan().label(class.index as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_and_breaks_ties_low_index_first() {
        let s = [5i8, 9, -3, 9, 127, -128, 5];
        let t = top_k::<4>(&s);
        let idx: heapless::Vec<u16, 4> = t.iter().map(|c| c.index).collect();
        assert_eq!(&idx[..], &[4, 1, 3, 0]);
        assert_eq!(t[0].score, 127);
    }

    #[test]
    fn top_k_short_input_and_zero_k() {
        assert_eq!(top_k::<3>(&[1]).len(), 1);
        assert!(top_k::<0>(&[1, 2]).is_empty());
        assert!(top_k::<3>(&[]).is_empty());
    }

    #[test]
    fn top_k_matches_sort() {
        let mut state = 0x1234_5678u32;
        let mut scores = [0i8; 200];
        for s in scores.iter_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *s = (state % 7) as i8; // many ties
        }
        let mut all: Vec<Class> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| Class {
                index: i as u16,
                score: s,
            })
            .collect();
        all.sort_by(|a, b| b.score.cmp(&a.score).then(a.index.cmp(&b.index)));
        assert_eq!(&top_k::<10>(&scores)[..], &all[..10]);
    }
}
