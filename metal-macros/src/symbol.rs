//! Attribute keys, as constants (serde's `internals/symbol.rs`).

use std::fmt::{self, Display};

use syn::{Ident, Path};

/// An attribute name or key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Symbol(pub(crate) &'static str);

/// `#[task(..)]`: the helper attribute on the enums of a `#[task_schema]` module.
pub(crate) const TASK_ATTR: Symbol = Symbol("task");
/// `#[task(parent = Topic::Corporate)]`: the parent value that activates a task.
pub(crate) const PARENT: Symbol = Symbol("parent");
/// `crate = "path"`: the path of the runtime crate, in both macros.
pub(crate) const CRATE: Symbol = Symbol("crate");
/// `#[labeling_function(task = "Topic")]`: the task an LF votes on.
pub(crate) const TASK: Symbol = Symbol("task");
/// `#[labeling_function(name = "..")]`: the LF's reported name.
pub(crate) const NAME: Symbol = Symbol("name");

impl PartialEq<Symbol> for Ident {
    fn eq(&self, word: &Symbol) -> bool {
        self == word.0
    }
}

impl PartialEq<Symbol> for &Ident {
    fn eq(&self, word: &Symbol) -> bool {
        *self == word.0
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl PartialEq<Symbol> for &Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl Display for Symbol {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.0)
    }
}
