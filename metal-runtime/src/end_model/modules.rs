//! User modules that replace built-in parts of the network.

use tch::{nn, TchError};

use super::{HiddenModule, InputModule, LayerBuilder, Result};

/// Builds a user input module under the given path (see [`EndModel::with_input`]).
pub(super) type InputBuilder<'a> = dyn FnOnce(&nn::Path<'_>) -> Result<Box<dyn InputModule>, TchError> + 'a;

/// User modules that replace built-in parts of the network ([`EndModel::with_modules`]).
#[derive(Default)]
pub struct Modules<'a> {
    pub(super) input: Option<Box<InputBuilder<'a>>>,
    pub(super) layers: Option<Box<LayerBuilder<'a>>>,
}

impl std::fmt::Debug for Modules<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Modules").field("input", &self.input.is_some()).field("layers", &self.layers.is_some()).finish()
    }
}

impl<'a> Modules<'a> {
    /// No replacement: the built-in modules of the config.
    pub fn new() -> Self {
        Modules::default()
    }

    /// Replaces the input module with the one `build` makes under the given path.
    pub fn input(mut self, build: impl FnOnce(&nn::Path<'_>) -> Result<Box<dyn InputModule>, TchError> + 'a) -> Self {
        self.input = Some(Box::new(build));
        self
    }

    /// Replaces the intermediate layers: `build(path, i, d_in, d_out)` makes layer `i`.
    pub fn layers(
        mut self,
        build: impl FnMut(&nn::Path<'_>, usize, usize, usize) -> Result<Box<dyn HiddenModule>, TchError> + 'a,
    ) -> Self {
        self.layers = Some(Box::new(build));
        self
    }
}
