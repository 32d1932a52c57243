//! SVG charts of a pipeline run: per-epoch dev accuracy of the end-model architectures, and the
//! LFs' coverage and dev accuracy. Plain SVG, readable in any browser.

use std::fmt::Write;

use super::results::{CellId, Results};

/// Series colors (colorblind-safe).
const COLORS: [&str; 3] = ["#0072b2", "#e69f00", "#009e73"];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Per-epoch dev accuracy of SingleTask, FlatMTL and HierMTL in the first trial (training stops
/// early, so curves may end at different epochs).
pub fn dev_curves_svg(results: &Results) -> String {
    let (w, h) = (640.0, 380.0);
    let (left, right, top, bottom) = (60.0, 150.0, 40.0, 50.0);
    let series: Vec<(&str, Vec<f64>)> = [CellId::SingleTask, CellId::FlatMtl, CellId::HierMtl]
        .iter()
        .filter_map(|&c| {
            let curve = results.trials.first()?.cells.get(&c)?.dev_curve.clone();
            Some((c.label(), curve))
        })
        .collect();
    let n_epochs = series.iter().map(|(_, c)| c.len()).max().unwrap_or(1).max(2);
    let values = series.iter().flat_map(|(_, c)| c.iter().copied());
    let lo = values.clone().fold(1.0_f64, f64::min);
    let lo = ((lo * 10.0).floor() / 10.0).clamp(0.0, 0.9);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let x = |epoch: usize| left + pw * (epoch - 1) as f64 / (n_epochs - 1) as f64;
    let y = |acc: f64| top + ph * (1.0 - (acc - lo) / (1.0 - lo));

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let seed = results.trials.first().map_or(0, |t| t.seed);
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="22" font-size="14">{}: dev accuracy per epoch (trial seed {seed})</text>"#,
        escape(&results.dataset.name)
    );
    // Axes, grid and ticks.
    let mut tick = lo;
    while tick <= 1.0 + 1e-9 {
        let ty = y(tick);
        let _ = writeln!(svg, r##"<line x1="{left}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#ddd"/>"##, left + pw);
        let _ = writeln!(svg, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{tick:.1}</text>"#, left - 6.0, ty + 4.0);
        tick += 0.1;
    }
    let step = n_epochs.div_ceil(10).max(1);
    for epoch in (1..=n_epochs).step_by(step) {
        let tx = x(epoch);
        let _ = writeln!(svg, r#"<text x="{tx:.1}" y="{:.1}" text-anchor="middle">{epoch}</text>"#, top + ph + 18.0);
    }
    let _ = writeln!(svg, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">epoch</text>"#, left + pw / 2.0, h - 10.0);
    let _ = writeln!(
        svg,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">dev accuracy</text>"#,
        top + ph / 2.0
    );
    let _ = writeln!(svg, r#"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#);
    for (i, (name, curve)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<String> =
            curve.iter().enumerate().map(|(e, &a)| format!("{:.1},{:.1}", x(e + 1), y(a))).collect();
        let _ =
            writeln!(svg, r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#, points.join(" "));
        let ly = top + 20.0 * i as f64 + 10.0;
        let lx = left + pw + 12.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{color}" stroke-width="2"/>"#,
            lx + 20.0
        );
        let _ = writeln!(svg, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, lx + 26.0, ly + 4.0, escape(name));
    }
    svg.push_str("</svg>\n");
    svg
}

/// One row per LF: its coverage of the training items and its accuracy on the dev labels where
/// it voted, as two horizontal bars.
pub fn lfs_svg(results: &Results) -> String {
    let lfs = &results.dataset.lfs;
    let name_w = 8.0 * lfs.iter().map(|lf| lf.name.len() + lf.task.len() + 3).max().unwrap_or(10) as f64;
    let (bar_w, row_h, top) = (220.0, 30.0, 56.0);
    let w = name_w + 2.0 * bar_w + 90.0;
    let h = top + row_h * lfs.len() as f64 + 20.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{w:.0}" height="{h:.0}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="22" font-size="14">{}: labeling functions</text>"#,
        escape(&results.dataset.name)
    );
    let x_cov = name_w + 20.0;
    let x_acc = x_cov + bar_w + 40.0;
    let _ = writeln!(svg, r#"<text x="{x_cov:.0}" y="46">coverage of the training items</text>"#);
    let _ = writeln!(svg, r#"<text x="{x_acc:.0}" y="46">accuracy on the dev labels</text>"#);
    for (i, lf) in lfs.iter().enumerate() {
        let y = top + row_h * i as f64;
        let _ = writeln!(
            svg,
            r#"<text x="{:.0}" y="{:.1}" text-anchor="end">{} ({})</text>"#,
            name_w + 10.0,
            y + 16.0,
            escape(&lf.name),
            escape(&lf.task)
        );
        let _ = writeln!(
            svg,
            r##"<rect x="{x_cov:.0}" y="{:.1}" width="{:.1}" height="18" fill="{}"/><rect x="{x_cov:.0}" y="{:.1}" width="{bar_w}" height="18" fill="none" stroke="#ccc"/>"##,
            y + 3.0,
            bar_w * lf.coverage,
            COLORS[0],
            y + 3.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{:.0}%</text>"#,
            x_cov + bar_w + 4.0,
            y + 16.0,
            100.0 * lf.coverage
        );
        match lf.dev_accuracy {
            Some(acc) => {
                let _ = writeln!(
                    svg,
                    r##"<rect x="{x_acc:.0}" y="{:.1}" width="{:.1}" height="18" fill="{}"/><rect x="{x_acc:.0}" y="{:.1}" width="{bar_w}" height="18" fill="none" stroke="#ccc"/>"##,
                    y + 3.0,
                    bar_w * acc,
                    COLORS[2],
                    y + 3.0
                );
                let _ = writeln!(
                    svg,
                    r#"<text x="{:.1}" y="{:.1}">{:.0}%</text>"#,
                    x_acc + bar_w + 4.0,
                    y + 16.0,
                    100.0 * acc
                );
            }
            None => {
                let _ = writeln!(svg, r#"<text x="{x_acc:.0}" y="{:.1}">no dev vote</text>"#, y + 16.0);
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::results::{Cell, DatasetInfo, LfStat, Machine, Setup, Trial};

    fn results() -> Results {
        let cell = |curve: Vec<f64>| Cell {
            test_accuracy: 0.8,
            dev_accuracy: Some(0.8),
            task_accuracy: vec![],
            seconds: 1.0,
            dev_curve: curve,
            best_epoch: Some(1),
        };
        Results {
            dataset: DatasetInfo {
                name: "toy <1>".into(),
                title: String::new(),
                tasks: vec!["Root".into()],
                n_train: 10,
                n_dev: 5,
                n_test: 5,
                n_covered: 9,
                lfs: vec![
                    LfStat { name: "lf_a".into(), task: "Root".into(), coverage: 0.5, dev_accuracy: Some(0.75) },
                    LfStat { name: "lf_b".into(), task: "Root".into(), coverage: 0.1, dev_accuracy: None },
                ],
                n_features: 3,
                features: None,
            },
            setup: Setup {
                quick: true,
                seeds: vec![0],
                network: vec![4],
                lr_grid: vec![0.1],
                lrs: Default::default(),
                batch_size: 2,
                max_epochs: 3,
                patience: 1,
                accuracy_prior_grid: vec![1.0],
                accuracy_prior: 1.0,
                ablation_accuracy_prior: 1.0,
                dev_labels_epochs: 1,
                device: "Cpu".into(),
                input: "bow".into(),
                threads: None,
            },
            machine: Machine { cpu: "x".into(), cores: 1, memory_gib: 1.0, os: "x".into(), date: "x".into() },
            paper: None,
            stage_seconds: Default::default(),
            trials: vec![Trial {
                seed: 4,
                cells: [(CellId::SingleTask, cell(vec![0.5, 0.6, 0.7])), (CellId::HierMtl, cell(vec![0.55, 0.8]))]
                    .into_iter()
                    .collect(),
            }],
        }
    }

    #[test]
    fn curves_have_one_polyline_per_architecture_with_one_point_per_epoch() {
        let svg = dev_curves_svg(&results());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let lines: Vec<&str> = svg.lines().filter(|l| l.starts_with("<polyline")).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].split(' ').filter(|p| p.contains(',')).count(), 3);
        assert!(svg.contains("toy &lt;1&gt;"), "names are escaped");
        assert!(svg.contains("seed 4"));
    }

    #[test]
    fn lf_chart_has_a_row_per_lf() {
        let svg = lfs_svg(&results());
        assert!(svg.contains("lf_a (Root)") && svg.contains("lf_b (Root)"));
        assert!(svg.contains("75%") && svg.contains("no dev vote"));
    }
}
