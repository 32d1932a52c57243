//! The plain-text report of a pipeline run, in the paper's table layout.

use std::fmt::Write;

use metal_runtime::report::{Align, Table};

use super::results::{CellId, Results};

/// `78.4 ± 1.2` (percent, one decimal), or `-` when no trial measured the cell.
fn pct(results: &Results, cell: CellId) -> String {
    let (mean, std) = results.summary(cell);
    if mean.is_nan() {
        "-".into()
    } else {
        format!("{:.1} ± {:.1}", 100.0 * mean, 100.0 * std)
    }
}

fn paper(results: &Results, cell: CellId) -> String {
    results.paper.as_ref().and_then(|p| p.cells.get(&cell)).map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// A short name of an end-model cell.
fn short(cell: CellId) -> &'static str {
    match cell {
        CellId::DevLabels => "Dev labels",
        other => other.label(),
    }
}

/// A table of `(row name, cell)` rows with ours and, where known, the paper's number.
fn cell_table(results: &Results, rows: &[(&str, CellId)]) -> String {
    let paper_header = results.paper.as_ref().map(|p| format!("paper ({})", p.dataset));
    let mut columns = vec![("", Align::Left), ("ours", Align::Right)];
    if let Some(h) = &paper_header {
        columns.push((h.as_str(), Align::Right));
    }
    let mut table = Table::new(columns);
    for &(name, cell) in rows {
        table.row([name.to_owned(), pct(results, cell), paper(results, cell)]);
    }
    table.to_string()
}

/// The report: the setup, Tables 1–3, the multi-level ablation, per-task accuracy, model
/// selection and stage times.
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    let d = &results.dataset;
    let s = &results.setup;
    let m = &results.machine;
    let n_trials = results.trials.len();
    let seeds = match (s.seeds.first(), s.seeds.last()) {
        (Some(a), Some(b)) if a != b => format!("seeds {a}–{b}"),
        (Some(a), _) => format!("seed {a}"),
        _ => "no seeds".into(),
    };
    let per_task: Vec<String> =
        d.tasks.iter().map(|t| format!("{} {t}", d.lfs.iter().filter(|lf| &lf.task == t).count())).collect();
    let _ = writeln!(out, "Snorkel MeTaL pipeline: {} ({})", d.name, d.title);
    let _ = writeln!(
        out,
        "Data: {} unlabeled training items ({:.1}% with at least one LF vote), {} dev labels, {} test items; \
         {}",
        d.n_train,
        100.0 * d.n_covered as f64 / d.n_train.max(1) as f64,
        d.n_dev,
        d.n_test,
        d.features.clone().unwrap_or_else(|| format!("{} word features", d.n_features))
    );
    let _ = writeln!(out, "LFs: {} ({})", d.lfs.len(), per_task.join(", "));
    let _ = writeln!(
        out,
        "Trials: {n_trials} ({seeds}), {} mode; end models on {}",
        if s.quick { "quick" } else { "full" },
        s.device
    );
    let _ = writeln!(out, "Machine: {}, {} cores, {} GiB, {}; run {}", m.cpu, m.cores, m.memory_gib, m.os, m.date);
    let _ = writeln!(out);
    let _ = writeln!(out, "End-label test accuracy (%), mean ± std over {n_trials} trials.");
    let _ = writeln!(out);
    let _ = writeln!(out, "Table 1. Weak supervision vs. the dev labels alone");
    out.push_str(&cell_table(
        results,
        &[
            ("Dev labels", CellId::DevLabels),
            ("Label model", CellId::LmExtended),
            ("End model (HierMTL)", CellId::HierMtl),
        ],
    ));
    let _ = writeln!(out);
    let _ = writeln!(out, "Table 2. Label models");
    out.push_str(&cell_table(
        results,
        &[
            ("Hard MV", CellId::HardMv),
            ("Soft MV", CellId::SoftMv),
            ("Trained, paper form", CellId::LmPaper),
            ("Trained, extended form", CellId::LmExtended),
        ],
    ));
    let _ = writeln!(
        out,
        "Paper form: the generative model exactly as the paper writes it. Extended form: the same model with a \
         class prior,\nper-label firing propensities and an accuracy prior (README, \"Label models\")."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Table 3. End-model architectures (on the extended label model's labels)");
    out.push_str(&cell_table(
        results,
        &[("SingleTask", CellId::SingleTask), ("FlatMTL", CellId::FlatMtl), ("HierMTL", CellId::HierMtl)],
    ));
    let _ = writeln!(out);
    let _ = writeln!(out, "Multi-level ablation");
    let mut table = Table::new([("", Align::Left), ("label model", Align::Right), ("end model", Align::Right)]);
    table.row([
        "Without the root task's LFs".to_owned(),
        pct(results, CellId::AblationLm),
        pct(results, CellId::AblationEnd),
    ]);
    table.row(["All levels".to_owned(), pct(results, CellId::LmExtended), pct(results, CellId::HierMtl)]);
    out.push_str(&table.to_string());
    let _ = writeln!(out);

    let _ = writeln!(out, "Per-task test accuracy (%), mean over trials, on the test items each task applies to");
    let mut columns = vec![("".to_owned(), Align::Left)];
    columns.extend(d.tasks.iter().map(|t| (t.clone(), Align::Right)));
    let mut table = Table::new(columns);
    for cell in CellId::ALL {
        let accs = results.task_summary(cell);
        if accs.iter().all(Option::is_none) {
            continue;
        }
        let mut row = vec![cell.label().to_owned()];
        row.extend(accs.iter().map(|a| a.map_or_else(|| "-".into(), |v| format!("{:.1}", 100.0 * v))));
        table.row(row);
    }
    out.push_str(&table.to_string());
    let _ = writeln!(out);

    let _ = writeln!(out, "Model selection (on the {} dev labels only)", d.n_dev);
    let grid: Vec<String> = s.accuracy_prior_grid.iter().map(|v| format!("{v}")).collect();
    let _ = writeln!(
        out,
        "- label model accuracy prior from [{}]: {} (all LFs), {} (no root LFs)",
        grid.join(", "),
        s.accuracy_prior,
        s.ablation_accuracy_prior
    );
    let best: Vec<f64> = results
        .trials
        .iter()
        .filter_map(|t| t.cells.get(&CellId::HierMtl))
        .filter_map(|c| c.best_epoch)
        .map(|e| e as f64)
        .collect();
    let _ = writeln!(
        out,
        "- end models: epoch with the best dev accuracy, up to {} (patience {}); HierMTL kept epoch {:.1} on average",
        s.max_epochs,
        s.patience,
        metal_runtime::metrics::MeanStd::of(&best).mean
    );
    let grid: Vec<String> = s.lr_grid.iter().map(|v| format!("{v}")).collect();
    let chosen: Vec<String> =
        CellId::ALL.iter().filter_map(|c| s.lrs.get(c).map(|lr| format!("{} {lr}", short(*c)))).collect();
    let _ = writeln!(out, "- Adam learning rate from [{}]: {}", grid.join(", "), chosen.join(", "));
    let _ = writeln!(
        out,
        "- dev-labels baseline: {} epochs, by 5-fold cross-validation on the dev labels",
        s.dev_labels_epochs
    );
    let net: Vec<String> = s.network.iter().map(|w| w.to_string()).collect();
    let input = match s.input.as_str() {
        "bow" => "word counts → bag of words".to_owned(),
        "minilm" => format!("all-MiniLM-L6-v2 embeddings ({}, frozen) →", d.n_features),
        "minilm-tokens" => {
            format!("all-MiniLM-L6-v2 token states ({}, frozen) → per-token layer, max over tokens", d.n_features)
        }
        "minilm-tuned" => "all-MiniLM-L6-v2 (384, fine-tuned at rate 1e-4) →".to_owned(),
        other => format!("{other} →"),
    };
    let threads = s.threads.map(|t| format!(", {t} libtorch thread(s)")).unwrap_or_default();
    let _ = writeln!(out, "- network: {input} {} (ReLU layers), batch {}{threads}", net.join(" → "), s.batch_size);
    let _ = writeln!(out);

    let _ = writeln!(out, "Wall time (s)");
    let mut table = Table::new([("stage", Align::Left), ("seconds", Align::Right)]);
    for (stage, secs) in &results.stage_seconds {
        table.row([stage.clone(), format!("{secs:.2}")]);
    }
    for cell in CellId::ALL.into_iter().filter(|c| c.is_end_model()) {
        table.row([format!("train {}, mean per trial", short(cell)), format!("{:.2}", results.mean_seconds(cell))]);
    }
    out.push_str(&table.to_string());
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::results::*;
    use super::*;

    /// A results set with fixed numbers, two trials, no paper column.
    fn fixture(paper: bool) -> Results {
        let trial = |seed: u64, shift: f64| Trial {
            seed,
            cells: CellId::ALL
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    let cell = Cell {
                        test_accuracy: 0.6 + 0.03 * i as f64 + shift,
                        dev_accuracy: Some(0.7),
                        task_accuracy: vec![Some(0.9 + shift), None, Some(0.5)],
                        seconds: 1.5,
                        dev_curve: if c.is_end_model() { vec![0.5, 0.7, 0.6] } else { vec![] },
                        best_epoch: c.is_end_model().then_some(2),
                    };
                    (c, cell)
                })
                .collect(),
        };
        let paper = paper.then(|| PaperNumbers {
            dataset: "RCV1".into(),
            cells: [(CellId::DevLabels, 75.4), (CellId::HierMtl, 78.4)].into_iter().collect(),
        });
        Results {
            dataset: DatasetInfo {
                name: "toy".into(),
                title: "a fixture".into(),
                tasks: vec!["Root".into(), "Left".into(), "Right".into()],
                n_train: 1000,
                n_dev: 50,
                n_test: 300,
                n_covered: 950,
                lfs: vec![
                    LfStat { name: "lf_a".into(), task: "Root".into(), coverage: 0.5, dev_accuracy: Some(0.8) },
                    LfStat { name: "lf_b".into(), task: "Left".into(), coverage: 0.2, dev_accuracy: None },
                ],
                n_features: 1234,
                features: None,
            },
            setup: Setup {
                quick: true,
                seeds: vec![0, 1],
                network: vec![250, 50],
                lr_grid: vec![1e-3, 1e-2],
                lrs: BTreeMap::from([(CellId::DevLabels, 1e-2), (CellId::HierMtl, 1e-3)]),
                batch_size: 32,
                max_epochs: 30,
                patience: 5,
                accuracy_prior_grid: vec![10.0, 30.0],
                accuracy_prior: 30.0,
                ablation_accuracy_prior: 10.0,
                dev_labels_epochs: 12,
                device: "Cpu".into(),
                input: "bow".into(),
                threads: Some(1),
            },
            machine: Machine {
                cpu: "Test CPU".into(),
                cores: 2,
                memory_gib: 24.0,
                os: "linux x86_64".into(),
                date: "2026-11-25 12:00 UTC".into(),
            },
            paper,
            stage_seconds: BTreeMap::from([("apply LFs".to_owned(), 0.25)]),
            trials: vec![trial(0, 0.0), trial(1, 0.02)],
        }
    }

    #[test]
    fn report_layout() {
        insta::assert_snapshot!(render(&fixture(true)));
    }

    #[test]
    fn no_paper_column_without_paper_numbers() {
        let text = render(&fixture(false));
        assert!(!text.contains("paper ("), "{text}");
        assert!(text.contains("Table 3."));
    }
}
