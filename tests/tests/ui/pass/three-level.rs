use metal_runtime::prelude::*;

#[task_schema]
pub mod news {
    /// What the article is about.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Topic { Corporate, Markets, Other }

    /// Kind of corporate news.
    #[task(parent = Topic::Corporate)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Corporate { Performance, Funding }

    /// How the company raises money.
    #[task(parent = Corporate::Funding)]
    #[derive(Debug, PartialEq, Eq)]
    pub enum Funding { Equity, Debt }

    #[task(parent = Topic::Markets)]
    pub enum Markets { Money, Commodity }
}
use news::{Corporate, Funding, Topic};

#[labeling_function(task = "Topic")]
fn lf_shares(text: &String) -> Option<Topic> {
    text.contains("shares").then_some(Topic::Corporate)
}

#[labeling_function(task = "Corporate")]
fn lf_raise(text: &String) -> Option<Corporate> {
    text.contains("raise").then_some(Corporate::Funding)
}

#[labeling_function(task = "Funding")]
fn lf_bond(text: &String) -> Option<Funding> {
    text.contains("bond").then_some(Funding::Debt)
}

fn main() -> metal_runtime::Result<()> {
    let docs = vec!["shares up as firm plans to raise a bond".to_string(), "quiet day".to_string()];
    let set: LfSet<news::Schema, String> = lfs![lf_shares, lf_raise, lf_bond];
    let matrix = set.apply(&docs)?;
    assert_eq!(matrix.get(0, 2), Vote::Label(Funding::Debt as u16));
    assert_eq!(matrix.get(1, 0), Vote::Abstain);
    assert_eq!(news::Schema::n_end_labels(), 6);
    assert_eq!(news::EndLabel::CorporateFundingDebt.task_labels(), &[Some(0), Some(1), Some(1), None]);
    Ok(())
}
