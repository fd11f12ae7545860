//! The CLI's single error type: one line, `<file>: <problem>`, printed as
//! `edgecnn: <file>: <problem>` by `main`.

use std::fmt;
use std::path::Path;

/// A failure to report to the user. Displays as one line.
#[derive(Debug)]
pub struct Fail(String);

/// The CLI's result type.
pub type Result<T, E = Fail> = std::result::Result<T, E>;

impl Fail {
    /// A problem with `file`.
    pub fn at(file: &Path, problem: impl fmt::Display) -> Self {
        Fail(one_line(&format!("{}: {problem}", file.display())))
    }
    /// A problem whose message already names its file (e.g. a library error).
    pub fn msg(message: impl fmt::Display) -> Self {
        Fail(one_line(&message.to_string()))
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Collapses a multi-line message (tract's error chains) into one line.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Attaches a file name to any displayable error.
pub trait Context<T> {
    /// Maps the error to `Fail::at(file, error)`.
    fn at(self, file: &Path) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn at(self, file: &Path) -> Result<T> {
        self.map_err(|e| Fail::at(file, e))
    }
}

impl From<edgecnn::image::ImageError> for Fail {
    fn from(e: edgecnn::image::ImageError) -> Self {
        Fail::msg(e)
    }
}

impl From<edgecnn::compiler::CompileError> for Fail {
    fn from(e: edgecnn::compiler::CompileError) -> Self {
        Fail::msg(e)
    }
}
