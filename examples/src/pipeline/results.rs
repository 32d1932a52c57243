//! What a pipeline run measures: per-trial numbers of every cell of the paper's tables, the
//! setup, the machine, and the stage times. Serializable to the JSON file next to the report.

use std::collections::BTreeMap;

use metal_runtime::metrics::MeanStd;
use serde::{Deserialize, Serialize};

/// One cell of the paper's tables: a model whose end-label test accuracy is measured per trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellId {
    /// End model (HierMTL) trained on the hand-labeled dev items only.
    DevLabels,
    /// Hierarchical majority vote.
    HardMv,
    /// The paper's label model with every LF at one fixed weight, not trained.
    SoftMv,
    /// The paper's label model, exact form, trained.
    LmPaper,
    /// The extended form of the label model, trained (the one the end models learn from).
    LmExtended,
    /// End model, one head over the end labels.
    SingleTask,
    /// End model, all task heads on the top layer.
    FlatMtl,
    /// End model, heads at the layer of their depth with child predictions passed to parents.
    HierMtl,
    /// The extended label model without the root task's LFs (multi-level ablation).
    AblationLm,
    /// HierMTL trained on [`CellId::AblationLm`]'s labels.
    AblationEnd,
}

impl CellId {
    /// Every cell, in report order.
    pub const ALL: [CellId; 10] = [
        CellId::DevLabels,
        CellId::HardMv,
        CellId::SoftMv,
        CellId::LmPaper,
        CellId::LmExtended,
        CellId::SingleTask,
        CellId::FlatMtl,
        CellId::HierMtl,
        CellId::AblationLm,
        CellId::AblationEnd,
    ];

    /// True for the cells that train an end model (the others are label models).
    pub fn is_end_model(self) -> bool {
        matches!(self, CellId::DevLabels | CellId::SingleTask | CellId::FlatMtl | CellId::HierMtl | CellId::AblationEnd)
    }

    /// The row name in the report.
    pub fn label(self) -> &'static str {
        match self {
            CellId::DevLabels => "Dev labels (HierMTL on the dev labels only)",
            CellId::HardMv => "Hard MV (hierarchical majority vote)",
            CellId::SoftMv => "Soft MV (untrained, equal LF weights)",
            CellId::LmPaper => "Label model, paper form",
            CellId::LmExtended => "Label model, extended form",
            CellId::SingleTask => "SingleTask",
            CellId::FlatMtl => "FlatMTL",
            CellId::HierMtl => "HierMTL",
            CellId::AblationLm => "Label model, no root LFs",
            CellId::AblationEnd => "HierMTL, no root LFs",
        }
    }
}

/// One model in one trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// End-label accuracy on the test split.
    pub test_accuracy: f64,
    /// End-label accuracy on the dev labels (`None` for the dev-labels baseline, which trains
    /// on them).
    pub dev_accuracy: Option<f64>,
    /// Per task, accuracy on the test items the task applies to (`None`: no such item).
    pub task_accuracy: Vec<Option<f64>>,
    /// Training (or fitting) time in seconds.
    pub seconds: f64,
    /// End models: dev accuracy after each epoch (empty for label models and for the
    /// dev-labels baseline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dev_curve: Vec<f64>,
    /// End models: the epoch whose weights were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<usize>,
}

/// One trial: every cell under one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The seed of the end models' initialization and shuffling and of the label models'
    /// tie-breaking.
    pub seed: u64,
    /// The cells measured.
    pub cells: BTreeMap<CellId, Cell>,
}

/// One labeling function's coverage and dev accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LfStat {
    /// The LF's name.
    pub name: String,
    /// The task it votes on.
    pub task: String,
    /// Fraction of the training items it votes on.
    pub coverage: f64,
    /// Fraction of its dev votes that are right (`None`: no dev vote).
    pub dev_accuracy: Option<f64>,
}

/// The data set and its LFs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Short name (`news`, `radiology`, `trec`).
    pub name: String,
    /// One-line description.
    pub title: String,
    /// Task names, in task-index order.
    pub tasks: Vec<String>,
    /// Unlabeled training items.
    pub n_train: usize,
    /// Dev items with labels.
    pub n_dev: usize,
    /// Test items.
    pub n_test: usize,
    /// Training items on which at least one LF voted.
    pub n_covered: usize,
    /// Per LF.
    pub lfs: Vec<LfStat>,
    /// Vocabulary size of the word-count features.
    pub n_features: usize,
    /// What the end model reads (e.g. "6448 word features"); absent in older result files.
    #[serde(default)]
    pub features: Option<String>,
}

/// The paper's numbers for the corresponding data set (end-label accuracy, %), for the report's
/// side-by-side column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperNumbers {
    /// The paper's data set name.
    pub dataset: String,
    /// Per cell.
    pub cells: BTreeMap<CellId, f64>,
}

/// The settings a run used, including what model selection chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// Quick mode (fewer trials) or the full protocol.
    pub quick: bool,
    /// Seeds of the trials.
    pub seeds: Vec<u64>,
    /// End model: bag-of-words input width, then the intermediate layers.
    pub network: Vec<usize>,
    /// Adam learning rates tried.
    pub lr_grid: Vec<f64>,
    /// The learning rate each end-model cell took (chosen on the dev labels).
    pub lrs: BTreeMap<CellId, f64>,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Most epochs of an end model trained on the label model's labels.
    pub max_epochs: usize,
    /// Early-stopping patience (epochs without a better dev accuracy).
    pub patience: usize,
    /// Accuracy-prior strengths tried for the extended label model.
    pub accuracy_prior_grid: Vec<f64>,
    /// The strength chosen on the dev labels, with all LFs.
    pub accuracy_prior: f64,
    /// The strength chosen on the dev labels, without the root LFs.
    pub ablation_accuracy_prior: f64,
    /// Epochs of the dev-labels baseline, chosen by cross-validation on the dev labels.
    pub dev_labels_epochs: usize,
    /// Where the end models ran (`Cpu`, `Cuda(0)`).
    pub device: String,
    /// The end model's input (`bow`, `minilm`); `bow` in older result files.
    #[serde(default = "bow")]
    pub input: String,
    /// libtorch's CPU threads (absent in older result files).
    #[serde(default)]
    pub threads: Option<usize>,
}

fn bow() -> String {
    "bow".into()
}

/// The machine a run was measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// Memory in GiB.
    pub memory_gib: f64,
    /// Operating system and architecture.
    pub os: String,
    /// Date and time of the run (UTC, from the system clock).
    pub date: String,
}

impl Machine {
    /// The machine this process runs on (fields it cannot read are "unknown").
    pub fn current() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
            .unwrap_or_else(|| "unknown".into());
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines().find_map(|l| l.strip_prefix("MemTotal:")).and_then(|v| {
                    v.trim().trim_end_matches("kB").trim().parse::<f64>().ok().map(|kb| kb / 1024.0 / 1024.0)
                })
            })
            .unwrap_or(f64::NAN);
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: (memory_gib * 10.0).round() / 10.0,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            date: utc_now(),
        }
    }
}

/// The current UTC time as `YYYY-MM-DD HH:MM`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

/// Everything a run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The data set.
    pub dataset: DatasetInfo,
    /// The settings.
    pub setup: Setup,
    /// The machine.
    pub machine: Machine,
    /// The paper's numbers, where it reports this kind of data set.
    pub paper: Option<PaperNumbers>,
    /// Seconds spent in each one-time stage (applying LFs, featurizing, fitting label models).
    pub stage_seconds: BTreeMap<String, f64>,
    /// Per trial.
    pub trials: Vec<Trial>,
}

impl Results {
    /// The test accuracies of `cell` over the trials that measured it.
    pub fn test_accuracies(&self, cell: CellId) -> Vec<f64> {
        self.trials.iter().filter_map(|t| t.cells.get(&cell)).map(|c| c.test_accuracy).collect()
    }

    /// Mean and standard deviation of `cell`'s test accuracy.
    pub fn summary(&self, cell: CellId) -> (f64, f64) {
        let m = MeanStd::of(&self.test_accuracies(cell));
        (m.mean, m.std)
    }

    /// Mean per-task test accuracy of `cell` (`None` where no trial measured the task).
    pub fn task_summary(&self, cell: CellId) -> Vec<Option<f64>> {
        (0..self.dataset.tasks.len())
            .map(|t| {
                let v: Vec<f64> = self
                    .trials
                    .iter()
                    .filter_map(|tr| tr.cells.get(&cell))
                    .filter_map(|c| c.task_accuracy.get(t).copied().flatten())
                    .collect();
                (!v.is_empty()).then(|| MeanStd::of(&v).mean)
            })
            .collect()
    }

    /// Mean seconds of `cell` per trial.
    pub fn mean_seconds(&self, cell: CellId) -> f64 {
        let v: Vec<f64> = self.trials.iter().filter_map(|t| t.cells.get(&cell)).map(|c| c.seconds).collect();
        MeanStd::of(&v).mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_serialize_as_snake_case_keys() {
        let mut cells = BTreeMap::new();
        cells.insert(
            CellId::HierMtl,
            Cell {
                test_accuracy: 0.5,
                dev_accuracy: None,
                task_accuracy: vec![],
                seconds: 1.0,
                dev_curve: vec![],
                best_epoch: None,
            },
        );
        let json = serde_json::to_string(&Trial { seed: 1, cells }).unwrap();
        assert!(json.contains("\"hier_mtl\""), "{json}");
        let back: Trial = serde_json::from_str(&json).unwrap();
        assert_eq!(back.cells[&CellId::HierMtl].test_accuracy, 0.5);
    }

    #[test]
    fn utc_dates_are_civil_dates() {
        let now = utc_now();
        assert_eq!(now.len(), "2026-11-25 23:00 UTC".len(), "{now}");
        assert!(now.starts_with("20"), "{now}");
    }
}
