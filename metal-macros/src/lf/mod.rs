//! `#[labeling_function]`: a plain function `fn(&X) -> Option<Task>` becomes a labeling function.
//!
//! Phases: [`attr`] parses the arguments, [`ast`] reads the signature, [`check`] rejects the
//! signatures an LF cannot have, [`expand`] adds the proxy struct and its `LabelingFunction` impl.

mod ast;
mod attr;
mod check;
mod expand;

pub(crate) use expand::labeling_function;
