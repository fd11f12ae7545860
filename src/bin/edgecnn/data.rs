//! Input sets on disk: folders of images with a labels file, `.npy` tensors and label vectors,
//! class-name files.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use npyz::NpyFile;

use crate::fail::{Context, Fail, Result};

/// A set of inputs, each one image or one float item.
pub enum Inputs {
    /// Image files.
    Images(Vec<PathBuf>),
    /// Float items in the model's own layout, batch dropped; all of `item_shape`.
    Tensor {
        /// The `.npy` file.
        path: PathBuf,
        /// One entry per item.
        items: Vec<Vec<f32>>,
        /// Shape of one item (the file's shape without its first dimension).
        item_shape: Vec<usize>,
    },
}

impl Inputs {
    /// Number of inputs.
    pub fn len(&self) -> usize {
        match self {
            Inputs::Images(v) => v.len(),
            Inputs::Tensor { items, .. } => items.len(),
        }
    }
}

/// True for a path ending in `.npy`.
pub fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

fn is_image(path: &Path) -> bool {
    path.extension().is_some_and(|e| {
        ["png", "jpg", "jpeg"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
}

/// Unlabelled inputs for calibration: every image of a folder sorted by name, or a `.npy`.
pub fn calibration(path: &Path, limit: Option<usize>) -> Result<Inputs> {
    let mut inputs = if is_npy(path) {
        read_tensor(path)?
    } else {
        let dir = std::fs::read_dir(path).at(path)?;
        let mut files = Vec::new();
        for entry in dir {
            let p = entry.at(path)?.path();
            if is_image(&p) {
                files.push(p);
            }
        }
        files.sort();
        Inputs::Images(files)
    };
    truncate(&mut inputs, limit);
    if inputs.len() == 0 {
        return Err(Fail::at(
            path,
            "no calibration inputs (expected PNG/JPEG files or a non-empty .npy)",
        ));
    }
    Ok(inputs)
}

/// Labelled inputs for evaluation: a folder + `<file name> <class index>` lines, or a `.npy`
/// tensor + a `.npy` integer vector.
pub fn labelled(
    inputs: &Path,
    labels: &Path,
    limit: Option<usize>,
) -> Result<(Inputs, Vec<usize>)> {
    let (mut set, mut classes) = if is_npy(inputs) {
        let set = read_tensor(inputs)?;
        let classes = read_npy_labels(labels)?;
        if classes.len() != set.len() {
            return Err(Fail::at(
                labels,
                format!(
                    "{} labels for {} inputs in {}",
                    classes.len(),
                    set.len(),
                    inputs.display()
                ),
            ));
        }
        (set, classes)
    } else {
        let text = std::fs::read_to_string(labels).at(labels)?;
        let mut files = Vec::new();
        let mut classes = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || {
                Fail::at(
                    labels,
                    format!("line {}: expected `<file name> <class index>`", n + 1),
                )
            };
            let (file, class) = line.rsplit_once(char::is_whitespace).ok_or_else(bad)?;
            let class = class.parse::<usize>().map_err(|_| bad())?;
            files.push(inputs.join(file.trim()));
            classes.push(class);
        }
        (Inputs::Images(files), classes)
    };
    truncate(&mut set, limit);
    classes.truncate(set.len());
    if set.len() == 0 {
        return Err(Fail::at(labels, "no labelled inputs"));
    }
    Ok((set, classes))
}

fn truncate(inputs: &mut Inputs, limit: Option<usize>) {
    if let Some(n) = limit {
        match inputs {
            Inputs::Images(v) => v.truncate(n),
            Inputs::Tensor { items, .. } => items.truncate(n),
        }
    }
}

/// Class names, one per line (trailing blank lines ignored).
pub fn class_names(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).at(path)?;
    let mut names: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
    while names.last().is_some_and(String::is_empty) {
        names.pop();
    }
    if names.is_empty() {
        return Err(Fail::at(path, "no class names"));
    }
    Ok(names)
}

fn open_npy(path: &Path) -> Result<NpyFile<BufReader<File>>> {
    let file = File::open(path).at(path)?;
    let size = file.metadata().at(path)?.len();
    let npy = NpyFile::new(BufReader::new(file))
        .map_err(|e| Fail::at(path, format!("not a .npy file: {e}")))?;
    if npy.order() != npyz::Order::C {
        return Err(Fail::at(
            path,
            "Fortran-order arrays are not supported (save a C-contiguous array)",
        ));
    }
    // Guard before reading: every element takes at least one byte of the file.
    if npy.len() > size {
        return Err(Fail::at(
            path,
            format!(
                "header announces {} elements, the file is {size} bytes",
                npy.len()
            ),
        ));
    }
    Ok(npy)
}

/// Reads a float tensor `[N, …]` (float32, or float64 converted).
pub fn read_tensor(path: &Path) -> Result<Inputs> {
    let npy = open_npy(path)?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if shape.len() < 2 {
        return Err(Fail::at(
            path,
            format!("shape {shape:?}: expected [N, …] with at least 2 dimensions"),
        ));
    }
    let data: Vec<f32> = match npy.try_data::<f32>() {
        Ok(r) => r.collect::<std::io::Result<_>>().at(path)?,
        Err(npy) => match npy.try_data::<f64>() {
            Ok(r) => r
                .map(|v| v.map(|x| x as f32))
                .collect::<std::io::Result<_>>()
                .at(path)?,
            Err(npy) => {
                return Err(Fail::at(
                    path,
                    format!("dtype {}: expected float32", npy.dtype().descr()),
                ))
            }
        },
    };
    let item: usize = shape[1..].iter().product();
    if item == 0 {
        return Err(Fail::at(path, format!("shape {shape:?} has an empty item")));
    }
    Ok(Inputs::Tensor {
        path: path.to_path_buf(),
        items: data.chunks_exact(item).map(<[f32]>::to_vec).collect(),
        item_shape: shape[1..].to_vec(),
    })
}

/// Reads an integer label vector `[N]` (any integer dtype).
pub fn read_npy_labels(path: &Path) -> Result<Vec<usize>> {
    let npy = open_npy(path)?;
    if npy.shape().len() != 1 {
        return Err(Fail::at(
            path,
            format!("shape {:?}: expected a vector [N]", npy.shape()),
        ));
    }
    macro_rules! try_ints {
        ($npy:expr, $t:ty $(, $rest:ty)*) => {
            match $npy.try_data::<$t>() {
                Ok(r) => r.map(|v| v.map(|x| x as i64)).collect::<std::io::Result<Vec<i64>>>().at(path)?,
                Err(npy) => try_ints!(npy $(, $rest)*),
            }
        };
        ($npy:expr) => {
            return Err(Fail::at(path, format!("dtype {}: expected an integer vector", $npy.dtype().descr())))
        };
    }
    let raw: Vec<i64> = try_ints!(npy, i64, i32, i16, i8, u8, u16, u32, u64);
    raw.into_iter()
        .map(|v| usize::try_from(v).map_err(|_| Fail::at(path, format!("negative label {v}"))))
        .collect()
}
