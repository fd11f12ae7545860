//! One input, two ways: the int8 tensor the plan runs on and the float tensor the source
//! model runs on, made from the same decoded image (or the same `.npy` item).

use std::path::Path;

use edgecnn::format::model::Layout;
use edgecnn::image::{Normalize, Pixels};

use crate::data::Inputs;
use crate::fail::{Fail, Result};

/// A loaded input.
pub enum Sample {
    /// An image, already converted and resized to the model's input.
    Pixels(Pixels),
    /// A float item in the model's layout (batch dropped).
    Float(Vec<f32>),
}

/// How inputs are turned into the model's input, for one model.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Input height.
    pub h: u32,
    /// Input width.
    pub w: u32,
    /// Input channels.
    pub c: u32,
    /// The source model's layout.
    pub layout: Layout,
}

impl Shape {
    /// The model's float input shape, batch 1 included, in its own layout.
    pub fn model_shape(&self) -> Vec<usize> {
        let (h, w, c) = (self.h as usize, self.w as usize, self.c as usize);
        match self.layout {
            Layout::Nchw => vec![1, c, h, w],
            Layout::Nhwc => vec![1, h, w, c],
        }
    }

    /// Reads `(h, w, c)` from a model shape (batch first) in `layout`.
    pub fn from_model(shape: &[usize], layout: Layout, file: &Path) -> Result<Shape> {
        let dims = match (shape.len(), layout) {
            (4, Layout::Nchw) => [shape[2], shape[3], shape[1]],
            (4, Layout::Nhwc) => [shape[1], shape[2], shape[3]],
            _ => {
                return Err(Fail::at(
                    file,
                    format!(
                        "input shape {shape:?} is not an image batch [N, C, H, W] or [N, H, W, C]"
                    ),
                ))
            }
        };
        let to_u32 = |d: usize| u32::try_from(d).map_err(|_| Fail::at(file, "input too large"));
        Ok(Shape {
            h: to_u32(dims[0])?,
            w: to_u32(dims[1])?,
            c: to_u32(dims[2])?,
            layout,
        })
    }

    /// Elements of one input.
    pub fn len(&self) -> usize {
        self.h as usize * self.w as usize * self.c as usize
    }

    /// Loads input `i` of `inputs`.
    pub fn load(&self, inputs: &Inputs, i: usize) -> Result<Sample> {
        match inputs {
            Inputs::Images(files) => {
                let c = u8::try_from(self.c).unwrap_or(0);
                Ok(Sample::Pixels(edgecnn::image::load(
                    &files[i], self.h, self.w, c,
                )?))
            }
            Inputs::Tensor { path, items, .. } => {
                let item = &items[i];
                if item.len() != self.len() {
                    return Err(Fail::at(
                        path,
                        format!(
                            "items have {} values, the model's input {:?} has {}",
                            item.len(),
                            self.model_shape(),
                            self.len()
                        ),
                    ));
                }
                Ok(Sample::Float(item.clone()))
            }
        }
    }

    /// The float input of the source model for `sample` (`norm` is needed for images).
    pub fn float_input(&self, sample: &Sample, norm: Option<&Normalize>) -> Result<Vec<f32>> {
        match (sample, norm) {
            (Sample::Float(v), _) => Ok(v.clone()),
            (Sample::Pixels(p), Some(n)) => Ok(p.to_tensor(n, self.layout)),
            (Sample::Pixels(_), None) => Err(Fail::msg(
                "images need a pixel recipe (--scale/--mean/--std), and the plan has none",
            )),
        }
    }

    /// Quantises a float item (model layout) into the plan's NHWC int8 input.
    pub fn quantize(&self, item: &[f32], scale: f32, zero_point: i8) -> Vec<i8> {
        let (h, w, c) = (self.h as usize, self.w as usize, self.c as usize);
        let mut out = vec![0i8; h * w * c];
        for (j, q) in out.iter_mut().enumerate() {
            let ch = j % c;
            let pos = j / c;
            let i = match self.layout {
                Layout::Nhwc => j,
                Layout::Nchw => ch * h * w + pos,
            };
            let v = (item[i] / scale).round() + f32::from(zero_point);
            *q = v.clamp(-128.0, 127.0) as i8;
        }
        out
    }
}

/// Guesses the layout of `.npy` items from their shape against the plan's `(h, w, c)`;
/// `None` when both readings fit (or neither does).
pub fn guess_layout(item_shape: &[usize], h: u32, w: u32, c: u32) -> Option<Layout> {
    let (h, w, c) = (h as usize, w as usize, c as usize);
    let nchw = item_shape == [c, h, w];
    let nhwc = item_shape == [h, w, c];
    match (nchw, nhwc) {
        (true, false) => Some(Layout::Nchw),
        (false, true) => Some(Layout::Nhwc),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_transposes_nchw() {
        let s = Shape {
            h: 1,
            w: 2,
            c: 2,
            layout: Layout::Nchw,
        };
        // NCHW: c0 = [0.5, 1.0], c1 = [-0.5, 100.0]
        let q = s.quantize(&[0.5, 1.0, -0.5, 100.0], 0.5, 1);
        assert_eq!(q, vec![2, 0, 3, 127]);
    }

    #[test]
    fn layouts_from_item_shapes() {
        assert_eq!(guess_layout(&[1, 28, 28], 28, 28, 1), Some(Layout::Nchw));
        assert_eq!(guess_layout(&[28, 28, 1], 28, 28, 1), Some(Layout::Nhwc));
        assert_eq!(guess_layout(&[3, 3, 3], 3, 3, 3), None);
    }
}
