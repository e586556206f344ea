//! Errors of the core: every one names the argument it is about, so the bindings can turn it into
//! a JS `TypeError`/`RangeError` whose message says what to fix.

use std::fmt;

/// Whether the argument had the wrong shape/type (`Type`) or a value out of its domain (`Range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Type,
    Range,
}

/// An invalid argument, found before any buffer was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub kind: ErrorKind,
    /// The argument's name as the caller spells it, e.g. `grads` or `segments[2].lr`.
    pub arg: String,
    pub message: String,
}

impl Error {
    pub fn range(arg: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Range,
            arg: arg.into(),
            message: message.into(),
        }
    }
    pub fn type_(arg: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Type,
            arg: arg.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    /// `[range] segments[0].lr: must be finite and >= 0, got NaN`. The bracketed tag is parsed by
    /// the TypeScript layer to pick the JS error class; keep it first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.kind {
            ErrorKind::Type => "type",
            ErrorKind::Range => "range",
        };
        write!(f, "[{tag}] {}: {}", self.arg, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
