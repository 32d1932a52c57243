//! Saving and loading: `model.json` and `weights.safetensors`, data only.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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
    /// SHA-256 of `weights.safetensors`, hex: ties this file to the weights of the same save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weights_sha256: Option<String>,
}

/// Distinguishes the temporary folders of saves running at once in one process.
static SAVES: AtomicU64 = AtomicU64::new(0);

/// SHA-256 of a file's bytes, hex.
fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// At most the first 64 characters of a value read from a file, for an error message.
fn quoted(value: &str) -> String {
    let shown: String = value.chars().take(64).collect();
    if shown.len() < value.len() {
        format!("{shown}…")
    } else {
        shown
    }
}

/// Opens a file of a saved model, if it is a regular file: a named pipe would block the load.
fn open_file(path: &Path) -> Result<std::fs::File> {
    let err = |message: String| EndModelError::ModelFile { path: path.to_owned(), message };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("expected a file, but the path is not a regular file".into()));
    }
    std::fs::File::open(path).map_err(|e| err(e.to_string()))
}

/// Flushes a file or folder to disk.
fn sync(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

pub(super) const FORMAT: &str = "metal-end-model";
pub(super) const CONFIG_FILE: &str = "model.json";
pub(super) const WEIGHTS_FILE: &str = "weights.safetensors";

impl EndModel {
    /// Saves the model into folder `dir`: `model.json` (config, task graph, featurizer, and the
    /// SHA-256 of the weights) and `weights.safetensors`.
    ///
    /// Both files are written into a temporary folder beside `dir` and flushed to disk; then the
    /// previous `dir` moves aside, the new folder takes its name, and the previous one is removed.
    /// `dir` therefore holds the previous save or this one, never a mix (a crash between the two
    /// renames leaves the previous save in `.<name>.old-*` beside it), and the hash makes
    /// [`load`](Self::load) refuse files of two saves put together by hand. An existing `dir` is
    /// replaced only if it is a folder that is empty or holds a previous save.
    ///
    /// # Errors
    /// [`EndModelError::ModelFile`] when `dir` exists and holds other files, or when a file cannot
    /// be written; nothing is left behind then.
    pub fn save(&self, dir: impl AsRef<Path>) -> crate::Result<()> {
        let dir = dir.as_ref();
        let file_err = |path: &Path, message: String| EndModelError::ModelFile { path: path.to_owned(), message };
        fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EndModelError + '_ {
            move |e| EndModelError::ModelFile { path: path.to_owned(), message: e.to_string() }
        }
        let exists = match std::fs::symlink_metadata(dir) {
            Ok(meta) if !meta.is_dir() => return Err(file_err(dir, "exists and is not a folder".into()).into()),
            Ok(_) => {
                let entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
                for entry in entries {
                    let name = entry.map_err(io_err(dir))?.file_name();
                    if name != CONFIG_FILE && name != WEIGHTS_FILE {
                        return Err(file_err(
                            dir,
                            format!(
                                "exists and holds `{}`, which is not part of a saved model; save into an empty \
                                 folder or a previous save",
                                name.to_string_lossy()
                            ),
                        )
                        .into());
                    }
                }
                true
            }
            Err(_) => false,
        };
        let name = dir.file_name().ok_or_else(|| file_err(dir, "names no folder".into()))?.to_string_lossy();
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        let tag = format!("{}-{}", std::process::id(), SAVES.fetch_add(1, Ordering::Relaxed));
        let tmp = parent.join(format!(".{name}.tmp-{tag}"));
        let written = (|| -> crate::Result<()> {
            std::fs::create_dir(&tmp).map_err(io_err(&tmp))?;
            let weights = tmp.join(WEIGHTS_FILE);
            self.vs.save(&weights).map_err(|e| file_err(&weights, e.to_string()))?;
            let saved = SavedModel {
                format: FORMAT.into(),
                version: 1,
                config: self.config.clone(),
                graph: (*self.graph).clone(),
                n_features: self.n_features,
                featurizer: self.featurizer.clone(),
                weights_sha256: Some(sha256_file(&weights).map_err(io_err(&weights))?),
            };
            let json_path = tmp.join(CONFIG_FILE);
            let json = serde_json::to_string_pretty(&saved).map_err(|e| file_err(&json_path, e.to_string()))?;
            std::fs::write(&json_path, json).map_err(io_err(&json_path))?;
            for path in [&weights, &json_path, &tmp] {
                sync(path).map_err(io_err(path))?;
            }
            Ok(())
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        // Swap the new folder in: the old one moves aside first (a folder cannot be renamed over
        // a non-empty one), and comes back if the new one cannot take its place.
        let old = parent.join(format!(".{name}.old-{tag}"));
        if exists {
            if let Err(e) = std::fs::rename(dir, &old) {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(file_err(dir, e.to_string()).into());
            }
        }
        if let Err(e) = std::fs::rename(&tmp, dir) {
            if exists {
                let _ = std::fs::rename(&old, dir);
            }
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(file_err(dir, e.to_string()).into());
        }
        if exists {
            let _ = std::fs::remove_dir_all(&old);
        }
        let _ = sync(parent);
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
            if src.kind() != var.kind() {
                return Err(file_err(format!(
                    "tensor `{name}` holds {:?} values; the model's are {:?}",
                    src.kind(),
                    var.kind()
                )));
            }
            let finite = src.f_isfinite().and_then(|t| t.f_all()).and_then(bool::try_from);
            if !finite.map_err(|e| file_err(e.to_string()))? {
                return Err(file_err(format!("tensor `{name}` holds values that are not finite (NaN or infinity)")));
            }
        }
        tch::no_grad(|| -> Result<(), TchError> {
            for (name, var) in &vars {
                let src = tensors[name].f_to_device(var.device())?;
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
    let mut text = String::new();
    std::io::Read::read_to_string(&mut open_file(&path)?, &mut text).map_err(|e| file_err(e.to_string()))?;
    let saved: SavedModel = serde_json::from_str(&text).map_err(|e| file_err(crate::io::shorten(&e.to_string())))?;
    if saved.format != FORMAT || saved.version != 1 {
        return Err(file_err(format!(
            "not a saved end model (format `{}` version {}; expected `{FORMAT}` version 1)",
            quoted(&saved.format),
            saved.version
        )));
    }
    // The saved config is validated here, so that an error names the file.
    saved.config.check(&saved.graph, saved.n_features).map_err(|e| file_err(e.to_string()))?;
    let weights = dir.join(WEIGHTS_FILE);
    let weights_err = |message: String| EndModelError::ModelFile { path: weights.clone(), message };
    // Opened only if it is a regular file (a named pipe would block the load).
    let weights_len = open_file(&weights)?.metadata().map_err(|e| weights_err(e.to_string()))?.len();
    if let Some(expected) = &saved.weights_sha256 {
        if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(file_err(format!("`weights_sha256` is `{}`, not a SHA-256 (64 hex digits)", quoted(expected))));
        }
        let found = sha256_file(&weights).map_err(|e| weights_err(e.to_string()))?;
        if &found != expected {
            return Err(weights_err(format!(
                "does not belong to {CONFIG_FILE}: its SHA-256 is {found}, {CONFIG_FILE} records {expected} (the two \
                 files come from different saves)"
            )));
        }
    }
    // The largest matrix the config implies must fit in the weights file (4 bytes per f32),
    // checked before the network is built: a corrupt size cannot make it allocate.
    let first = match saved.config.input {
        InputConfig::BagOfWords { dim } | InputConfig::WordVectors { dim, .. } | InputConfig::TokenStates { dim } => {
            Some(dim)
        }
        InputConfig::Identity => saved.config.layers.first().copied(),
        InputConfig::Encoder { .. } | InputConfig::Custom { .. } => None,
    };
    if let Some(dim) = first {
        let bytes = (saved.n_features as u128) * (dim as u128) * 4;
        if bytes > u128::from(weights_len) {
            return Err(file_err(format!(
                "describes a first layer of {} × {dim} weights ({bytes} bytes), more than {WEIGHTS_FILE} holds \
                 ({weights_len} bytes)",
                saved.n_features
            )));
        }
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
