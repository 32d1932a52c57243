//! What kind of answer does a question want? A two-level schema, seven LFs, the default label
//! model (no labels needed) and, with `--features torch`, the end model on its probabilities.
//! `cargo run --release [--features torch] -- DATA_DIR` (with train/dev/test.jsonl).

use metal_runtime::prelude::*; // the macros, LfSet, LfSummary, HyperHier, ...
use metal_runtime::{io::items, metrics, metrics::ConfusionMatrix};

#[task_schema]
pub mod questions {
    /// What kind of answer does the question want?
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Answer {
        Person,
        Place,
        Number,
        Other,
    }

    /// The other kinds of answer.
    #[task(parent = Answer::Other)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Other {
        Abbreviation,
        Description,
        Entity,
    }
}
use questions::{Answer, EndLabel as End, Other};

type AnyResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One line of a JSON-lines file; other fields are ignored.
#[derive(serde::Deserialize)]
struct Question {
    text: String,
    coarse: String, // gold class (TREC's coarse classes), read on dev and test only
}

impl Question {
    /// Starts with one of `starts` or contains one of the words `words`.
    fn cue(&self, starts: &[&str], words: &[&str]) -> bool {
        let text = format!(" {} ", self.text.to_lowercase());
        starts.iter().any(|s| text[1..].starts_with(s)) || words.iter().any(|w| text.contains(&format!(" {w} ")))
    }

    fn gold(&self) -> AnyResult<usize> {
        let end = match self.coarse.as_str() {
            "HUM" => End::Person,
            "LOC" => End::Place,
            "NUM" => End::Number,
            "ABBR" => End::OtherAbbreviation,
            "DESC" => End::OtherDescription,
            "ENTY" => End::OtherEntity,
            other => return Err(format!("unknown class `{other}` of the question `{}`", self.text).into()),
        };
        Ok(end.index())
    }
}

const HOW: [&str; 5] = ["why ", "how do ", "how does ", "how can ", "what does "];

#[labeling_function]
fn who(q: &Question) -> Option<Answer> {
    q.cue(&["who ", "whom "], &[]).then_some(Answer::Person)
}

#[labeling_function]
fn place(q: &Question) -> Option<Answer> {
    q.cue(&["where "], &["city", "country", "state", "river", "continent"]).then_some(Answer::Place)
}

#[labeling_function]
fn number(q: &Question) -> Option<Answer> {
    let starts = ["how many ", "how much ", "when ", "how long ", "how far ", "how old "];
    q.cue(&starts, &["year", "population", "percentage", "date"]).then_some(Answer::Number)
}

#[labeling_function]
fn not_a_name(q: &Question) -> Option<Answer> {
    q.cue(&[HOW.as_slice(), &["what is a ", "what are "]].concat(), &[]).then_some(Answer::Other)
}

#[labeling_function]
fn stands_for(q: &Question) -> Option<Other> {
    q.cue(&[], &["stand", "abbreviation", "acronym"]).then_some(Other::Abbreviation)
}

#[labeling_function]
fn describe(q: &Question) -> Option<Other> {
    q.cue(&HOW, &["definition", "mean"]).then_some(Other::Description)
}

#[labeling_function]
fn kind_of_thing(q: &Question) -> Option<Other> {
    q.cue(&[], &["kind", "type", "animal", "color", "sport", "food", "instrument"]).then_some(Other::Entity)
}

fn main() -> std::process::ExitCode {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "data".into());
    if let Err(e) = run(std::path::Path::new(&dir)) {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}

fn run(dir: &std::path::Path) -> AnyResult<()> {
    let read = |split: &str| items::read_jsonl::<Question>(dir.join(format!("{split}.jsonl")));
    let (train, dev, test) = (read("train")?, read("dev")?, read("test")?); // train's gold is never read
    let gold = |qs: &[Question]| qs.iter().map(Question::gold).collect::<AnyResult<Vec<_>>>();
    let (gold_dev, gold_test) = (gold(&dev)?, gold(&test)?);

    let lfs: LfSet<questions::Schema, Question> =
        lfs![who, place, number, not_a_name, stands_for, describe, kind_of_thing];
    let (l_train, l_dev, l_test) = (lfs.apply(&train)?, lfs.apply(&dev)?, lfs.apply(&test)?);
    println!("{}", LfSummary::new(&l_train).with_gold(&l_dev, &gold_dev)?);

    let model = HyperHier::default().fit(&l_train)?; // no labels needed
    model.fit_report().warnings.iter().for_each(|w| eprintln!("warning: {w}"));
    let pred = model.predict(&l_test, 0)?;
    println!("label model, test accuracy: {:.3}", metrics::accuracy(&pred, &gold_test)?);
    println!("{}", ConfusionMatrix::new(questions::Schema::graph(), &pred, &gold_test)?);

    #[cfg(feature = "torch")]
    end_model([&train, &dev, &test], &model.predict_proba(&l_train)?, &gold_dev, &gold_test)?;
    Ok(())
}

/// The paper's network (bag of words → 250 → 50 → a head per task) on the label model's probabilities.
#[cfg(feature = "torch")]
fn end_model(
    [train, dev, test]: [&[Question]; 3],
    probs: &ProbLabels,
    gold_dev: &[usize],
    gold_test: &[usize],
) -> AnyResult<()> {
    use metal_runtime::{end_model::*, featurize::*};

    let texts = |qs: &[Question]| qs.iter().map(|q| q.text.clone()).collect::<Vec<_>>();
    let words = Featurizer::fit(&texts(train), &FeaturizerConfig::default())?;
    let [x, x_dev, x_test] = [train, dev, test].map(|qs| words.transform(&texts(qs)));
    let cfg = TrainConfig { n_epochs: 20, patience: Some(5), seed: 0, ..TrainConfig::default() };
    let model = EndModelConfig::default().fit(&TrainSet::new(&x, probs), Some(&DevSet::new(&x_dev, gold_dev)), &cfg)?;
    let pred = model.predict(&x_test, 0)?;
    println!("end model, test accuracy: {:.3}", metrics::accuracy(&pred, gold_test)?);
    Ok(())
}
