//! Saving and loading: `model.json` and `weights.safetensors`, data only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tch::{nn, Device, TchError, Tensor};

use super::{EndModel, EndModelConfig, InputConfig, InputModule, Modules, Result};
use crate::error::EndModelError;
use crate::featurize::Featurizer;
use crate::schema::TaskGraph;

/// What a saved model's JSON file holds.
#[derive(Serialize, Deserialize)]
struct SavedModel {
    format: String,
    version: u32,
    config: EndModelConfig,
    graph: TaskGraph,
    n_features: usize,
    featurizer: Option<Featurizer>,
}

pub(super) const FORMAT: &str = "metal-end-model";
pub(super) const CONFIG_FILE: &str = "model.json";
pub(super) const WEIGHTS_FILE: &str = "weights.safetensors";

impl EndModel {
    /// Saves the model into directory `dir` (created if missing): `model.json` (config, task
    /// graph, featurizer) and `weights.safetensors`.
    ///
    /// # Errors
    /// [`EndModelError::ModelFile`] when a file cannot be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> crate::Result<()> {
        let dir = dir.as_ref();
        let file_err = |path: PathBuf, message: String| EndModelError::ModelFile { path, message };
        std::fs::create_dir_all(dir).map_err(|e| file_err(dir.to_owned(), e.to_string()))?;
        let saved = SavedModel {
            format: FORMAT.into(),
            version: 1,
            config: self.config.clone(),
            graph: (*self.graph).clone(),
            n_features: self.n_features,
            featurizer: self.featurizer.clone(),
        };
        let json_path = dir.join(CONFIG_FILE);
        let json = serde_json::to_string_pretty(&saved).map_err(|e| file_err(json_path.clone(), e.to_string()))?;
        std::fs::write(&json_path, json).map_err(|e| file_err(json_path, e.to_string()))?;
        let weights = dir.join(WEIGHTS_FILE);
        self.vs.save(&weights).map_err(|e| file_err(weights, e.to_string()))?;
        Ok(())
    }

    /// Loads a model saved by [`save`](Self::save) onto `device`. Reads data only (JSON and
    /// safetensors); no code is executed.
    ///
    /// # Errors
    /// [`EndModelError::ModelFile`] for a missing, unreadable or corrupt file; the config errors
    /// of [`EndModelConfig::check`]; [`EndModelError::MissingTensor`],
    /// [`EndModelError::UnexpectedTensor`] and [`EndModelError::TensorShape`] for weights that do
    /// not fit the saved architecture. Models with a custom input module load with
    /// [`load_with_input`](Self::load_with_input).
    pub fn load(dir: impl AsRef<Path>, device: Device) -> crate::Result<Self> {
        let dir = dir.as_ref();
        let saved = read_saved(dir)?;
        if let InputConfig::Custom { .. } = saved.config.input {
            return Err(EndModelError::InvalidConfig {
                name: "input",
                value: "Custom".into(),
                expected: "a built-in input module (load custom ones with `load_with_modules`)",
            }
            .into());
        }
        if saved.config.custom_layers {
            return Err(EndModelError::InvalidConfig {
                name: "custom_layers",
                value: "true".into(),
                expected: "built-in layers (load user layers with `load_with_modules`)",
            }
            .into());
        }
        let mut model = Self::new_on(Arc::new(saved.graph), saved.n_features, saved.config, device)?;
        model.featurizer = saved.featurizer;
        model.load_weights(&dir.join(WEIGHTS_FILE))?;
        Ok(model)
    }

    /// Loads a model with a custom input module, rebuilt by `build` (as for
    /// [`with_input`](Self::with_input)).
    ///
    /// # Errors
    /// As for [`load_with_modules`](Self::load_with_modules).
    pub fn load_with_input(
        dir: impl AsRef<Path>,
        device: Device,
        build: impl FnOnce(&nn::Path<'_>) -> Result<Box<dyn InputModule>, TchError>,
    ) -> crate::Result<Self> {
        Self::load_with_modules(dir, device, Modules::new().input(build))
    }

    /// Loads a model built with user modules, rebuilt by `modules` (as for
    /// [`with_modules`](Self::with_modules)): the modules replaced must be the ones the saved
    /// model replaced.
    ///
    /// # Errors
    /// As for [`load`](Self::load), and [`EndModelError::InvalidConfig`] when the saved model's
    /// custom input or layers do not match those of `modules`.
    pub fn load_with_modules(dir: impl AsRef<Path>, device: Device, modules: Modules<'_>) -> crate::Result<Self> {
        let dir = dir.as_ref();
        let saved = read_saved(dir)?;
        let custom_input = matches!(saved.config.input, InputConfig::Custom { .. });
        if custom_input != modules.input.is_some() {
            return Err(EndModelError::InvalidConfig {
                name: "input",
                value: format!("{:?}", saved.config.input),
                expected: if custom_input {
                    "a user input module to rebuild the saved one (`Modules::input`)"
                } else {
                    "no user input module: the saved model uses a built-in one"
                },
            }
            .into());
        }
        if saved.config.custom_layers != modules.layers.is_some() {
            return Err(EndModelError::InvalidConfig {
                name: "custom_layers",
                value: saved.config.custom_layers.to_string(),
                expected: if saved.config.custom_layers {
                    "user layers to rebuild the saved ones (`Modules::layers`)"
                } else {
                    "no user layers: the saved model uses the built-in ones"
                },
            }
            .into());
        }
        let mut model = Self::with_modules(Arc::new(saved.graph), saved.n_features, saved.config, device, modules)?;
        model.featurizer = saved.featurizer;
        model.load_weights(&dir.join(WEIGHTS_FILE))?;
        Ok(model)
    }

    /// [`load`](Self::load), checking that the model was trained for `graph`.
    ///
    /// # Errors
    /// As for [`load`](Self::load), and [`EndModelError::SchemaMismatch`] for another graph.
    pub fn load_for(dir: impl AsRef<Path>, graph: &TaskGraph, device: Device) -> crate::Result<Self> {
        let model = Self::load(dir, device)?;
        if &*model.graph != graph {
            let names = |g: &TaskGraph| g.tasks().iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", ");
            return Err(EndModelError::SchemaMismatch {
                what: format!("the saved model has tasks [{}], expected [{}]", names(&model.graph), names(graph)),
            }
            .into());
        }
        Ok(model)
    }

    pub(super) fn load_weights(&mut self, path: &Path) -> Result<()> {
        let file_err = |message: String| EndModelError::ModelFile { path: path.to_owned(), message };
        let tensors: HashMap<String, Tensor> =
            Tensor::read_safetensors(path).map_err(|e| file_err(e.to_string()))?.into_iter().collect();
        let vars = self.vs.variables();
        if let Some(name) = tensors.keys().filter(|k| !vars.contains_key(*k)).min() {
            return Err(EndModelError::UnexpectedTensor { path: path.to_owned(), name: name.clone() });
        }
        let mut names: Vec<&String> = vars.keys().collect();
        names.sort();
        for name in names {
            let var = &vars[name];
            let Some(src) = tensors.get(name) else {
                return Err(EndModelError::MissingTensor { path: path.to_owned(), name: name.clone() });
            };
            if src.size() != var.size() {
                return Err(EndModelError::TensorShape {
                    path: path.to_owned(),
                    name: name.clone(),
                    expected: var.size(),
                    got: src.size(),
                });
            }
        }
        tch::no_grad(|| -> Result<(), TchError> {
            for (name, var) in &vars {
                let src = tensors[name].f_to_kind(var.kind())?.f_to_device(var.device())?;
                var.shallow_clone().f_copy_(&src)?;
            }
            Ok(())
        })
        .map_err(|e| file_err(e.to_string()))
    }
}

fn read_saved(dir: &Path) -> Result<SavedModel> {
    let path = dir.join(CONFIG_FILE);
    let file_err = |message: String| EndModelError::ModelFile { path: path.clone(), message };
    let text = std::fs::read_to_string(&path).map_err(|e| file_err(e.to_string()))?;
    let saved: SavedModel = serde_json::from_str(&text).map_err(|e| file_err(e.to_string()))?;
    if saved.format != FORMAT || saved.version != 1 {
        return Err(file_err(format!(
            "not a saved end model (format `{}` version {}; expected `{FORMAT}` version 1)",
            saved.format, saved.version
        )));
    }
    if let Some(f) = &saved.featurizer {
        if f.n_features() != saved.n_features {
            return Err(file_err(format!(
                "the featurizer has {} words but the model reads {} features",
                f.n_features(),
                saved.n_features
            )));
        }
    }
    Ok(saved)
}
