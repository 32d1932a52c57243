//! Loading the radiology triage task on IU X-ray reports from `examples/data/iu_xray/`.
//!
//! Each split is a JSON-lines file, one [`Report`] per line. The default folder is resolved from
//! this crate's manifest directory at compile time; every loader also takes an explicit folder.
//!
//! The data files number the four triage levels by severity (`label`: normal 0, non-urgent 1,
//! urgent 2, emergent 3; [`DATA_LABELS`]). The triage schema orders its end labels differently:
//! Acute/Urgent, Acute/Emergent, NonAcute/Normal, NonAcute/NonUrgent ([`END_LABELS`]). The
//! loaders convert at load time, so [`Report::label`] is always the schema's end-label index and
//! the file's value is kept in [`Report::data_label`].
#![allow(clippy::result_large_err, reason = "loaders return the crate-wide `metal_runtime::Error`")]

use std::path::{Path, PathBuf};

use metal_runtime::Result;
use serde::Deserialize;

use crate::jsonl::{self, Record};

/// Names of the gold end labels as the data files spell them (`label_name`), indexed by
/// [`Report::label`]. The order is the triage schema's end-label order: Acute/Urgent,
/// Acute/Emergent, NonAcute/Normal, NonAcute/NonUrgent.
pub const END_LABELS: [&str; 4] = ["urgent", "emergent", "normal", "non-urgent"];

/// Names of the triage levels in the data files' numbering, indexed by [`Report::data_label`]
/// (the files' `label` field): normal 0, non-urgent 1, urgent 2, emergent 3.
pub const DATA_LABELS: [&str; 4] = ["normal", "non-urgent", "urgent", "emergent"];

/// The schema's end-label index of each data-file label: `DATA_TO_END[data_label] == label`.
const DATA_TO_END: [usize; 4] = [2, 3, 0, 1];

/// The schema's end-label index (an index into [`END_LABELS`]) of a data-file label (an index
/// into [`DATA_LABELS`]); `None` when `data_label` is out of range.
pub fn end_label_of_data_label(data_label: usize) -> Option<usize> {
    DATA_TO_END.get(data_label).copied()
}

/// One chest X-ray report with its gold annotations.
///
/// Labeling functions may read the report text only: [`text`](Self::text),
/// [`indication`](Self::indication), [`comparison`](Self::comparison),
/// [`findings`](Self::findings), [`impression`](Self::impression) and the helpers built on them.
/// `mesh`, `problems` and `trigger_terms` are gold annotations (the triage labels were derived
/// from the MeSH terms), as are `data_label`, `label` and `label_name`: they are for evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Report {
    /// Unique id, `iu-<uid>`.
    pub id: String,
    /// The report's uid in the IU X-ray collection.
    pub uid: u32,
    /// `"FINDINGS: …"`, a line break, then `"IMPRESSION: …"`; a section is left out when empty.
    pub text: String,
    /// Why the examination was ordered; de-identified ("XXXX"), may be empty.
    #[serde(default)]
    pub indication: String,
    /// The earlier examination compared with; may be empty.
    #[serde(default)]
    pub comparison: String,
    /// The findings section; may be empty.
    #[serde(default)]
    pub findings: String,
    /// The impression section; may be empty.
    #[serde(default)]
    pub impression: String,
    /// Curated MeSH annotations, such as `"Opacity/lung/base/left/mild"` (gold).
    #[serde(default)]
    pub mesh: Vec<String>,
    /// The MeSH problem terms without qualifiers (gold).
    #[serde(default)]
    pub problems: Vec<String>,
    /// The MeSH terms that set the triage label (gold).
    #[serde(default)]
    pub trigger_terms: Vec<String>,
    /// Gold triage level in the data files' numbering, `0..4`, indexing [`DATA_LABELS`].
    #[serde(rename = "label")]
    pub data_label: usize,
    /// Gold end label in the schema's order, `0..4`, indexing [`END_LABELS`]; set by the loaders
    /// from [`data_label`](Self::data_label).
    #[serde(skip)]
    pub label: usize,
    /// Gold end label name, one of [`END_LABELS`].
    pub label_name: String,
}

impl Report {
    /// The report text: findings and impression.
    pub fn body(&self) -> &str {
        &self.text
    }

    /// The radiologist's conclusion: the impression, or the findings when the impression is empty.
    pub fn conclusion(&self) -> &str {
        if self.impression.trim().is_empty() {
            &self.findings
        } else {
            &self.impression
        }
    }
}

pub use crate::jsonl::Split;

/// The repository's data folder, `examples/data/iu_xray`.
pub fn default_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("iu_xray")
}

/// `dir`, or the repository's data folder when `None`.
fn resolve(dir: Option<&Path>) -> PathBuf {
    dir.map_or_else(default_data_dir, Path::to_path_buf)
}

impl Record for Report {
    const WHAT: &'static str = "report";
    fn id(&self) -> &str {
        &self.id
    }
    fn check(&mut self) -> std::result::Result<(), String> {
        let Some(label) = end_label_of_data_label(self.data_label) else {
            return Err(format!("label {} is out of range 0..{}", self.data_label, DATA_LABELS.len()));
        };
        let name = DATA_LABELS[self.data_label];
        if self.label_name != name {
            return Err(format!("label {} is `{name}`, but label_name is `{}`", self.data_label, self.label_name));
        }
        self.label = label;
        Ok(())
    }
}

/// Reads a JSON-lines file of reports. Blank lines are skipped.
///
/// Sets each report's [`label`](Report::label) to the schema's end-label index of its
/// [`data_label`](Report::data_label). Fails, naming the file and the 1-based line, on a line
/// that is not a report, a label outside `0..4`, a `label_name` that does not match the label,
/// or a repeated id.
pub fn load_jsonl(path: &Path) -> Result<Vec<Report>> {
    jsonl::read(path)
}

/// Loads one split from `dir` (the repository's data folder when `None`).
pub fn load_split(split: Split, dir: Option<&Path>) -> Result<Vec<Report>> {
    load_jsonl(&resolve(dir).join(split.file_name()))
}

/// The training split (`train.jsonl`, 2,614 reports).
pub fn load_train(dir: Option<&Path>) -> Result<Vec<Report>> {
    load_split(Split::Train, dir)
}

/// The labeled development split (`dev.jsonl`, 373 reports).
pub fn load_dev(dir: Option<&Path>) -> Result<Vec<Report>> {
    load_split(Split::Dev, dir)
}

/// The test split (`test.jsonl`, 747 reports).
pub fn load_test(dir: Option<&Path>) -> Result<Vec<Report>> {
    load_split(Split::Test, dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const GOOD: &str = r#"{"id":"iu-1","uid":1,"text":"FINDINGS: Clear lungs.\nIMPRESSION: Normal chest.","indication":"Chest pain","comparison":"None.","findings":"Clear lungs.","impression":"Normal chest.","mesh":["normal"],"problems":["normal"],"label":0,"label_name":"normal","y0":1,"y1":null,"y2":0,"trigger_terms":["normal"],"impression_no_acute":true}"#;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("metal-radiology-data-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn data_labels_map_to_schema_end_labels() {
        for (data_label, name) in DATA_LABELS.iter().enumerate() {
            let label = end_label_of_data_label(data_label).unwrap();
            assert_eq!(END_LABELS[label], *name);
        }
        assert_eq!(end_label_of_data_label(4), None);
    }

    #[test]
    fn label_is_converted_at_load_time() {
        let dir = temp_dir("convert");
        let path = dir.join("dev.jsonl");
        let emergent = GOOD.replace(r#""label":0,"label_name":"normal""#, r#""label":3,"label_name":"emergent""#);
        std::fs::write(&path, format!("{GOOD}\n{}\n", emergent.replace("iu-1", "iu-2"))).unwrap();
        let reports = load_dev(Some(&dir)).unwrap();
        assert_eq!((reports[0].data_label, reports[0].label), (0, 2));
        assert_eq!((reports[1].data_label, reports[1].label), (3, 1));
        assert_eq!(reports[0].conclusion(), "Normal chest.");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_line_is_reported_with_file_and_line() {
        let dir = temp_dir("malformed");
        let path = dir.join("dev.jsonl");
        std::fs::write(&path, format!("{GOOD}\n\n{{not json\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("dev.jsonl, line 3"), "{err}");

        let wrong_name = GOOD.replace(r#""label":0"#, r#""label":2"#);
        std::fs::write(&path, format!("{wrong_name}\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("urgent"), "{err}");

        let out_of_range = GOOD.replace(r#""label":0"#, r#""label":4"#);
        std::fs::write(&path, format!("{out_of_range}\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");

        std::fs::write(&path, format!("{GOOD}\n{GOOD}\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("duplicate id `iu-1`"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_names_the_file() {
        let dir = temp_dir("missing");
        let err = load_test(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("test.jsonl"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn repository_splits_load() {
        let train = load_train(None).unwrap();
        let dev = load_dev(None).unwrap();
        let test = load_test(None).unwrap();
        assert_eq!((train.len(), dev.len(), test.len()), (2614, 373, 747));
        // Per schema end label: urgent, emergent, normal, non-urgent (counts from the data's README).
        let mut counts = [0usize; 4];
        for r in &dev {
            counts[r.label] += 1;
        }
        assert_eq!(counts, [63, 10, 135, 165]);
        let train_ids: HashSet<&str> = train.iter().map(|r| r.id.as_str()).collect();
        assert!(dev.iter().all(|r| !train_ids.contains(r.id.as_str())));
    }
}
