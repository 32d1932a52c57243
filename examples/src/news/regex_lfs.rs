//! Fifteen regular-expression LFs over the news schema, with a preparation step: the LF set of
//! the LF-application benchmark (`bench-lfapply`), written to give the same label matrix as the
//! Python reference applied by snorkel's `PandasLFApplier` (`bench/lfapply/reuters21578_lfs.py`:
//! same patterns, same preparation).
//!
//! Each LF keeps its compiled pattern in a `static` [`LazyLock`]: compiled once, on first use,
//! then shared by every thread. The LFs read a [`Prepared`] article (the headline and the texts
//! lowercased once per article by [`prepare`]), so they take `&Prepared`, and
//! [`LfSet::apply_prepared`] or [`LfSet::try_apply_iter_prepared`] run [`prepare`] once per item.

use std::sync::LazyLock;

use metal_runtime::prelude::*;
use regex::Regex;
use serde::{Deserialize, Serialize};

pub use super::lfs::news;
use super::lfs::{Corporate, Markets, Topic};

/// What the LFs need of an article: one line of a Reuters-21578 JSON-lines file (other fields
/// are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Story {
    /// The headline; may be empty.
    pub title: String,
    /// The headline, a blank line, then the body.
    pub text: String,
}

/// An article as the LFs read it: lowercased once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The headline, lowercased.
    pub title_l: String,
    /// The whole text, lowercased.
    pub text_l: String,
    /// The text after the headline (the whole text when it does not start with the headline),
    /// lowercased.
    pub body_l: String,
}

/// The preparation step, run once per article.
pub fn prepare(story: &Story) -> Prepared {
    let text_l = lowercase(&story.text);
    let (title_l, body_l) = match story.text.strip_prefix(story.title.as_str()) {
        // ASCII lowercases byte by byte: the lowercased text splits where the text does.
        Some(_) if story.text.is_ascii() => {
            let (title_l, body_l) = text_l.split_at(story.title.len());
            (title_l.to_owned(), body_l.to_owned())
        }
        Some(body) => (lowercase(&story.title), lowercase(body)),
        None => (lowercase(&story.title), text_l.clone()),
    };
    Prepared { title_l, text_l, body_l }
}

/// `s` lowercased as Python's `str.lower` does (Unicode's full lowercase mapping), with a fast
/// path for ASCII.
fn lowercase(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// Compiles one of this module's patterns; each is checked by the tests, which run every LF.
fn pattern(re: &str) -> Regex {
    Regex::new(re).unwrap_or_else(|e| panic!("invalid pattern {re:?}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Topic: Corporate or Markets
// ---------------------------------------------------------------------------------------------

/// Corporate when the headline carries a stock symbol such as `<armr>` or `<genb.br>`.
#[labeling_function]
fn ticker_in_title(x: &Prepared) -> Option<Topic> {
    static RE: LazyLock<Regex> = LazyLock::new(|| pattern(r"<[a-z0-9.]+>"));
    RE.is_match(&x.title_l).then_some(Topic::Corporate)
}

/// Corporate when the headline names a company by its legal form.
#[labeling_function]
fn company_form_in_title(x: &Prepared) -> Option<Topic> {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\b(inc|corp|co|ltd|plc|corporation|industries|ag|sa|nv)\b"));
    RE.is_match(&x.title_l).then_some(Topic::Corporate)
}

/// Corporate when the body says "XYZ Inc said", "the company said" or "shareholders".
#[labeling_function]
fn company_said(x: &Prepared) -> Option<Topic> {
    static RE: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b(inc|corp|co|ltd)\b said|the company said|shareholders"));
    RE.is_match(&x.body_l).then_some(Topic::Corporate)
}

/// Markets when central banks, ministries, OPEC or the government are mentioned.
#[labeling_function]
fn official_bodies(x: &Prepared) -> Option<Topic> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"central bank|bundesbank|bank of (japan|england|france|canada)|federal reserve|\bfed\b|\bminister|ministry|\busda\b|agriculture department|\bopec\b|\bec commission|treasury|government",
        )
    });
    RE.is_match(&x.text_l).then_some(Topic::Markets)
}

/// Markets on trade and prices: "exports", "imports", "producers", "prices", "output".
#[labeling_function]
fn trade_and_prices(x: &Prepared) -> Option<Topic> {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\b(exports?|imports?|exporters|producers|prices|output)\b"));
    RE.is_match(&x.text_l).then_some(Topic::Markets)
}

/// Markets on physical and money-market units: "tonnes", "barrels", "pct interest"…
#[labeling_function]
fn market_units(x: &Prepared) -> Option<Topic> {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\b(tonnes|tons|bushels|barrels|ounces|bpd|pct interest|money market)\b"));
    RE.is_match(&x.text_l).then_some(Topic::Markets)
}

// ---------------------------------------------------------------------------------------------
// Corporate: Performance or Funding
// ---------------------------------------------------------------------------------------------

/// Performance on an earnings table: "Shr 41 cts vs 30 cts", "Net 1,234 vs", "Revs".
#[labeling_function]
fn results_table(x: &Prepared) -> Option<Corporate> {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\bshr\b|\bnet (profit |loss )?[\d,.]+ (mln )?vs\b|\brevs\b|\bavg shrs\b"));
    RE.is_match(&x.text_l).then_some(Corporate::Performance)
}

/// Performance when the headline reports results ("qtr net", "year loss", "earnings").
#[labeling_function]
fn results_headline(x: &Prepared) -> Option<Corporate> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(r"\b(qtr|quarter|year|1986|1987) (net|loss|profit|earnings)|\bnet\b\s*$|\bearnings\b")
    });
    RE.is_match(&x.title_l).then_some(Corporate::Performance)
}

/// Performance on dividends and stock splits.
#[labeling_function]
fn dividend(x: &Prepared) -> Option<Corporate> {
    static RE: LazyLock<Regex> = LazyLock::new(|| pattern(r"\bdiv\b|dividend|payout|stock split|\bqtly\b"));
    RE.is_match(&x.text_l).then_some(Corporate::Performance)
}

/// Funding on acquisitions, mergers, takeovers and buyouts.
#[labeling_function]
fn acquisition_words(x: &Prepared) -> Option<Corporate> {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"acquir|acquisition|merger|\bmerge\b|takeover|tender offer|buyout"));
    RE.is_match(&x.text_l).then_some(Corporate::Funding)
}

/// Funding when a stake is bought or a unit sold.
#[labeling_function]
fn stake(x: &Prepared) -> Option<Corporate> {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\bstake\b|\d pct of\b|\bbuys\b|\bto buy\b|\bsell (its|the) .*\bunit\b"));
    RE.is_match(&x.text_l).then_some(Corporate::Funding)
}

// ---------------------------------------------------------------------------------------------
// Markets: Money or Commodity
// ---------------------------------------------------------------------------------------------

/// Money on currencies and exchange rates.
#[labeling_function]
fn currency(x: &Prepared) -> Option<Markets> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(r"\b(dollars?|yen|currency|currencies|exchange rates?|foreign exchange|sterling|stg|marks?)\b")
    });
    RE.is_match(&x.text_l).then_some(Markets::Money)
}

/// Money on interest rates, money supply and bills.
#[labeling_function]
fn rates_and_money(x: &Prepared) -> Option<Markets> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"interest rates?|prime rate|discount rate|money market|money supply|\bm-?[123]\b|t-bills|\bbills?\b|liquidity",
        )
    });
    RE.is_match(&x.text_l).then_some(Markets::Money)
}

/// Commodity when a crop, an energy product, a metal or livestock is named.
#[labeling_function]
fn commodity_names(x: &Prepared) -> Option<Markets> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"\b(wheat|grain|corn|maize|barley|sorghum|rice|sugar|coffee|cocoa|tea|cotton|rubber|soybeans?|oilseeds?|palm oil|crude|oil|petroleum|gasoline|natural gas|gold|silver|copper|tin|zinc|lead|nickel|aluminium|aluminum|steel|livestock|cattle|hogs)\b",
        )
    });
    RE.is_match(&x.text_l).then_some(Markets::Commodity)
}

/// Commodity on physical units, crops and shipments.
#[labeling_function]
fn physical_units(x: &Prepared) -> Option<Markets> {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\b(tonnes|tons|bushels|barrels|ounces|bpd|acres|crop|harvest|shipments?)\b"));
    RE.is_match(&x.text_l).then_some(Markets::Commodity)
}

/// The fifteen LFs, in the reference's column order: six on Topic, five on Corporate, four on
/// Markets.
pub fn all_lfs() -> LfSet<news::Schema, Prepared> {
    lfs![
        ticker_in_title,
        company_form_in_title,
        company_said,
        official_bodies,
        trade_and_prices,
        market_units,
        results_table,
        results_headline,
        dividend,
        acquisition_words,
        stake,
        currency,
        rates_and_money,
        commodity_names,
        physical_units,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story(title: &str, body: &str) -> Prepared {
        prepare(&Story { title: title.into(), text: format!("{title}\n\n{body}") })
    }

    #[test]
    fn preparation_splits_the_headline_off() {
        let p = story("ACME <ACM> QTR NET", "Shr 10 cts");
        assert_eq!((p.title_l.as_str(), p.body_l.as_str()), ("acme <acm> qtr net", "\n\nshr 10 cts"));
        let other = prepare(&Story { title: "HEADLINE".into(), text: "Body only".into() });
        assert_eq!((other.title_l.as_str(), other.body_l.as_str()), ("headline", "body only"));
        let accents = story("ÉTÉ Σ", "ÀB");
        assert_eq!((accents.title_l.as_str(), accents.body_l.as_str()), ("été σ", "\n\nàb"));
    }

    #[test]
    fn every_lf_fires_on_its_cue_and_only_there() {
        let quiet = ApplyConfig { progress: false, ..ApplyConfig::default() };
        let cases = [
            (story("ACME <ACM> SETS PLAN", ""), "ticker_in_title"),
            (story("WIDGET CORP SETS PLAN", ""), "company_form_in_title"),
            (story("PLAN", "The company said it would."), "company_said"),
            (story("PLAN", "The Bundesbank acted."), "official_bodies"),
            (story("PLAN", "Exports rose."), "trade_and_prices"),
            (story("PLAN", "It holds a 20 pct interest."), "market_units"),
            (story("PLAN", "Net 1,234 mln vs 1,100 mln."), "results_table"),
            (story("ACME 4TH QTR NET", ""), "results_headline"),
            (story("PLAN", "A 2-for-1 stock split."), "dividend"),
            (story("PLAN", "It will be acquired."), "acquisition_words"),
            (story("PLAN", "It holds 5 pct of the company."), "stake"),
            (story("PLAN", "The yen firmed."), "currency"),
            (story("PLAN", "Money supply grew."), "rates_and_money"),
            (story("PLAN", "Wheat fell."), "commodity_names"),
            (story("PLAN", "The harvest is late."), "physical_units"),
        ];
        let set = all_lfs();
        let items: Vec<Prepared> = cases.iter().map(|(p, _)| p.clone()).collect();
        let (matrix, _) = set.apply_with(&items, &quiet).unwrap();
        let names = set.names();
        for (i, (_, lf)) in cases.iter().enumerate() {
            let fired: Vec<&str> = matrix.row(i).map(|(j, _)| names[j]).collect();
            assert_eq!(fired, [*lf], "case {i}");
        }
        assert_eq!(set.len(), 15);
    }
}
