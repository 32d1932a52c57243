//! `#[task_schema]`: task enums in a module become a `TaskSchema`.
//!
//! Phases: [`attr`] parses the attributes, [`ast`] reads the module's enums, [`check`] validates
//! the hierarchy and computes the end labels, [`expand`] generates the tables and impls.

mod ast;
mod attr;
mod check;
mod expand;

pub(crate) use expand::task_schema;
