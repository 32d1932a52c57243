//! `#[task_schema]` and `#[labeling_function]` against the runtime: the generated tables, the
//! end labels against the feasible set of `TaskGraph`, doc comments, and LFs as plain functions.

use metal_runtime::lf::Location;
use metal_runtime::prelude::*;
use metal_runtime::schema::TaskSpec;

#[task_schema]
pub mod news {
    /// What the article is about.
    ///
    /// One label per article.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Topic {
        /// Company news.
        Corporate,
        Markets,
        /// Anything else.
        Other,
    }

    /// Kind of corporate news.
    #[task(parent = Topic::Corporate)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Corporate {
        Performance,
        Funding,
    }

    /// How the company raises money.
    #[task(parent = Corporate::Funding)]
    #[derive(Debug, PartialEq, Eq)]
    pub enum Funding {
        Equity,
        Debt,
    }

    #[task(parent = Topic::Markets)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Markets {
        Money,
        Commodity,
    }

    /// Items other than enums are left as they are.
    pub fn answer() -> u8 {
        42
    }
}

use news::{Corporate, EndLabel as End, Markets, Topic};

#[labeling_function(task = "Topic")]
fn lf_shares(text: &str) -> Option<Topic> {
    text.contains("shares").then_some(Topic::Corporate)
}

#[labeling_function(task = news::Funding, name = "bond")]
fn lf_bond(text: &str) -> Option<news::Funding> {
    text.contains("bond").then_some(news::Funding::Debt)
}

#[labeling_function]
fn lf_wheat(text: &str) -> Option<Markets> {
    text.contains("wheat").then_some(Markets::Commodity)
}

const ALL_END_LABELS: [End; 6] = [
    End::Other,
    End::CorporatePerformance,
    End::CorporateFundingEquity,
    End::CorporateFundingDebt,
    End::MarketsMoney,
    End::MarketsCommodity,
];

#[test]
fn tasks_table() {
    let expected = [
        TaskSpec {
            name: "Topic",
            labels: &["Corporate", "Markets", "Other"],
            parent: None,
            doc: "What the article is about.\n\nOne label per article.",
            label_docs: &["Company news.", "", "Anything else."],
        },
        TaskSpec {
            name: "Corporate",
            labels: &["Performance", "Funding"],
            parent: Some((0, 0)),
            doc: "Kind of corporate news.",
            label_docs: &["", ""],
        },
        TaskSpec {
            name: "Funding",
            labels: &["Equity", "Debt"],
            parent: Some((1, 1)),
            doc: "How the company raises money.",
            label_docs: &["", ""],
        },
        TaskSpec {
            name: "Markets",
            labels: &["Money", "Commodity"],
            parent: Some((0, 1)),
            doc: "",
            label_docs: &["", ""],
        },
    ];
    assert_eq!(news::Schema::TASKS, &expected);
    assert_eq!(news::Schema::n_tasks(), 4);
    assert_eq!(news::answer(), 42);
}

#[test]
fn task_impls() {
    assert_eq!([Topic::INDEX, Corporate::INDEX, news::Funding::INDEX, Markets::INDEX], [0, 1, 2, 3]);
    assert_eq!(Topic::Other.label_index(), 2);
    assert_eq!(Topic::from_label_index(1), Some(Topic::Markets));
    assert_eq!(Topic::from_label_index(3), None);
    // `Funding` is not `Copy`: the impl works on references.
    let debt = news::Funding::Debt;
    assert_eq!(debt.label_index(), 1);
    assert_eq!(debt.label_name(), "Debt");
    assert_eq!(news::Funding::from_label_index(0), Some(news::Funding::Equity));
    assert_eq!(news::Funding::spec().name, "Funding");
}

#[test]
fn end_labels_agree_with_task_graph() {
    let graph = news::Schema::graph();
    assert_eq!(news::Schema::n_end_labels(), ALL_END_LABELS.len());
    assert_eq!(graph.n_end_labels(), ALL_END_LABELS.len());
    for (k, end) in ALL_END_LABELS.iter().copied().enumerate() {
        assert_eq!(end.index(), k);
        assert_eq!(End::from_index(k), Some(end));
        assert_eq!(end.task_labels(), graph.feasible(k));
        assert_eq!(End::from_task_labels(end.task_labels()), Some(end));
        assert_eq!(end.name(), graph.end_label_name(k));
    }
    assert_eq!(End::from_index(ALL_END_LABELS.len()), None);
    assert_eq!(End::CorporateFundingDebt.task_labels(), &[Some(0), Some(1), Some(1), None]);
    assert_eq!(End::Other.task_labels(), &[Some(2), None, None, None]);
    assert_eq!(End::from_task_labels(&[Some(0), Some(1), None, None]), None);
    assert_eq!(End::CorporateFundingEquity.name(), "Corporate/Funding/Equity");
}

#[test]
fn end_label_order_matches_a_graph_built_by_hand() -> Result<()> {
    let by_hand = TaskGraph::new(vec![
        TaskDef::new("Topic", ["Corporate", "Markets", "Other"]),
        TaskDef::new("Corporate", ["Performance", "Funding"]).with_parent(0, 0),
        TaskDef::new("Funding", ["Equity", "Debt"]).with_parent(1, 1),
        TaskDef::new("Markets", ["Money", "Commodity"]).with_parent(0, 1),
    ])?;
    assert_eq!(by_hand.end_label_names(), news::Schema::graph().end_label_names());
    assert_eq!(by_hand.feasible_set(), news::Schema::graph().feasible_set());
    let generated: Vec<String> = ALL_END_LABELS.iter().map(|e| format!("{e:?}")).collect();
    let from_names: Vec<String> = by_hand.end_label_names().iter().map(|n| n.replace('/', "")).collect();
    assert_eq!(generated, from_names);
    Ok(())
}

#[test]
fn doc_comments_become_descriptions() {
    let graph = news::Schema::graph();
    assert_eq!(graph.task(0).description, "What the article is about.\n\nOne label per article.");
    assert_eq!(graph.task(3).description, "");
    assert_eq!(news::Schema::TASKS[0].label_docs[0], "Company news.");
}

#[test]
fn lfs_are_plain_functions() {
    assert_eq!(lf_shares("shares rise"), Some(Topic::Corporate));
    assert_eq!(lf_shares("quiet"), None);
    assert_eq!(lf_bond("a bond issue"), Some(news::Funding::Debt));
    assert_eq!(lf_wheat("wheat"), Some(Markets::Commodity));
}

#[test]
fn lfs_through_the_trait_and_a_set() -> Result<()> {
    assert_eq!(LabelingFunction::<str>::name(&lf_bond {}), "bond");
    assert_eq!(LabelingFunction::<str>::label(&lf_shares {}, "shares"), Some(Topic::Corporate));
    let Location { file, line } = LabelingFunction::<str>::location(&lf_wheat {});
    assert!(file.ends_with("schema_dsl.rs"), "{file}");
    assert!(line > 0);

    let set: LfSet<news::Schema, str> = lfs![lf_shares, lf_bond, lf_wheat];
    assert_eq!(set.names(), ["lf_shares", "bond", "lf_wheat"]);
    let tasks: Vec<usize> = set.infos().iter().map(|i| i.task).collect();
    assert_eq!(tasks, [0, 2, 3]);
    Ok(())
}
