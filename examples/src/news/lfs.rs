//! The news task schema (paper, Example 3.1) and the labeling functions (LFs) written for it.
//!
//! Three tasks: `Topic` (Corporate or Markets) at the root, `Corporate` (Performance or Funding)
//! under `Topic::Corporate`, `Markets` (Money or Commodity) under `Topic::Markets`. Each LF votes
//! on one task from the headline, body or dateline of an [`Article`] and abstains (`None`) when
//! its cue is absent. The LFs are keyword heuristics: each is imperfect, and many overlap.
//!
//! Words are matched whole and case-insensitively; a word is a maximal run of ASCII letters and
//! digits, so `"4TH QTR"` has the words `4TH` and `QTR`, and `"13D"` is one word. The LFs read a
//! [`Prepared`] article, cut into words once by [`prepare`], the preparation step of
//! [`LfSet::apply_prepared`]: `all_lfs().apply_prepared(&articles, prepare, &config)`.

use metal_runtime::prelude::*;

use super::data::Article;

#[task_schema]
pub mod news {
    /// Is the article about one company's affairs or about markets?
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Topic {
        Corporate,
        Markets,
    }

    /// Kind of corporate news.
    #[task(parent = Topic::Corporate)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Corporate {
        Performance,
        Funding,
    }

    /// Kind of market news.
    #[task(parent = Topic::Markets)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Markets {
        Money,
        Commodity,
    }
}
pub use news::{Corporate, Markets, Topic};

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/// The words of `s`: maximal runs of ASCII letters and digits.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty())
}

/// True if `s` contains a stock ticker in angle brackets, such as `<IBM>` or `<BP.L>`.
fn has_ticker(s: &str) -> bool {
    s.match_indices('<').any(|(i, _)| s[i + 1..].find('>').is_some_and(|end| end > 0))
}

/// A text cut into its words once, for the LFs to look words and phrases up in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words(Vec<String>);

impl Words {
    /// The words of `s` (see [`words`]).
    pub fn of(s: &str) -> Self {
        Words(words(s).map(str::to_owned).collect())
    }

    /// True if the text contains any word of `list`, whole and ignoring case.
    fn has_any(&self, list: &[&str]) -> bool {
        self.0.iter().any(|w| list.iter().any(|k| w.eq_ignore_ascii_case(k)))
    }

    /// True if the text contains the words of `phrase` one after the other, ignoring case and
    /// the punctuation or line breaks between them.
    fn has_phrase(&self, phrase: &str) -> bool {
        let wanted: Vec<&str> = words(phrase).collect();
        !wanted.is_empty()
            && self
                .0
                .windows(wanted.len())
                .any(|window| window.iter().zip(&wanted).all(|(a, b)| a.eq_ignore_ascii_case(b)))
    }

    /// True if the text contains any phrase of `list` (see [`has_phrase`](Self::has_phrase)).
    fn has_any_phrase(&self, list: &[&str]) -> bool {
        list.iter().any(|p| self.has_phrase(p))
    }
}

/// An article as the LFs read it: its headline, body and text cut into words once (the
/// preparation step of [`LfSet::apply_prepared`]), instead of once per LF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The words of [`Article::headline`].
    headline: Words,
    /// Whether the headline carries a stock ticker such as `<IBM>`.
    headline_ticker: bool,
    /// The words of [`Article::body`].
    body: Words,
    /// The words of the whole text.
    text: Words,
}

/// The preparation step: cuts an article's headline, body and text into words.
pub fn prepare(a: &Article) -> Prepared {
    prepare_text(&a.title, &a.text)
}

/// The preparation step of an article given by its title and text (the fields the LFs read).
pub fn prepare_text(title: &str, text: &str) -> Prepared {
    let headline = super::data::headline(title, text);
    Prepared {
        headline: Words::of(headline),
        headline_ticker: has_ticker(headline),
        body: Words::of(super::data::body(title, text)),
        text: Words::of(text),
    }
}

// ---------------------------------------------------------------------------------------------
// Topic: Corporate or Markets
// ---------------------------------------------------------------------------------------------

/// Votes Corporate when the headline carries a stock ticker such as `<IBM>`: Reuters tags
/// company stories with the company's symbol.
#[labeling_function(task = "Topic")]
fn lf_ticker_in_headline(a: &Prepared) -> Option<Topic> {
    a.headline_ticker.then_some(Topic::Corporate)
}

/// Votes Corporate when the headline names a company by its legal form: "Inc", "Corp", "Co",
/// "Ltd", "PLC", "AG", "NV", "SA", "Bancorp".
#[labeling_function(task = "Topic")]
fn lf_company_in_headline(a: &Prepared) -> Option<Topic> {
    const FORMS: &[&str] = &["inc", "corp", "corporation", "co", "ltd", "plc", "ag", "nv", "sa", "bancorp"];
    a.headline.has_any(FORMS).then_some(Topic::Corporate)
}

/// Votes Corporate when the body speaks the language of a company's owners: "shareholders",
/// "stockholders", "per share", "the company", "board of directors".
#[labeling_function(task = "Topic")]
fn lf_shareholder_language(a: &Prepared) -> Option<Topic> {
    let body = &a.body;
    let hit = body.has_any(&["shareholder", "shareholders", "stockholders"])
        || body.has_any_phrase(&["per share", "the company", "board of directors"]);
    hit.then_some(Topic::Corporate)
}

/// Votes Markets when a headline without a company ticker is about prices, trade, rates,
/// output or government: "prices", "market", "exports", "minister", "tonnes", "rates",
/// "dollar", "economy"…
#[labeling_function(task = "Topic")]
fn lf_market_headline(a: &Prepared) -> Option<Topic> {
    const CUES: &[&str] = &[
        "price",
        "prices",
        "market",
        "markets",
        "exports",
        "imports",
        "trade",
        "minister",
        "ministry",
        "government",
        "official",
        "officials",
        "tonnes",
        "output",
        "rate",
        "rates",
        "dollar",
        "economy",
    ];
    let headline = &a.headline;
    (!a.headline_ticker && headline.has_any(CUES)).then_some(Topic::Markets)
}

/// Votes Markets when the body quotes ministers, government officials, delegates, economists,
/// traders or dealers, and has no per-share figures.
#[labeling_function(task = "Topic")]
fn lf_officials_and_traders(a: &Prepared) -> Option<Topic> {
    const SOURCES: &[&str] =
        &["minister", "ministry", "government", "officials", "delegates", "economists", "traders", "dealers"];
    let body = &a.body;
    (body.has_any(SOURCES) && !body.has_phrase("per share")).then_some(Topic::Markets)
}

// ---------------------------------------------------------------------------------------------
// Corporate: Performance or Funding
// ---------------------------------------------------------------------------------------------

/// Votes Performance when the headline reports results: "qtr", "net", "loss", "profit",
/// "earnings", "shr", "revs", "4th", "first quarter"…
#[labeling_function(task = "Corporate")]
fn lf_results_headline(a: &Prepared) -> Option<Corporate> {
    const CUES: &[&str] =
        &["qtr", "net", "loss", "profit", "earnings", "results", "shr", "revs", "1st", "2nd", "3rd", "4th"];
    const QUARTERS: &[&str] = &["first quarter", "second quarter", "third quarter", "fourth quarter"];
    let headline = &a.headline;
    (headline.has_any(CUES) || headline.has_any_phrase(QUARTERS)).then_some(Corporate::Performance)
}

/// Votes Performance when the body is an earnings table: a "Shr" line with "cts", "net" or
/// "loss" figures.
#[labeling_function(task = "Corporate")]
fn lf_earnings_table(a: &Prepared) -> Option<Corporate> {
    let body = &a.body;
    (body.has_any(&["shr"]) && body.has_any(&["cts", "net", "loss"])).then_some(Corporate::Performance)
}

/// Votes Performance on dividend news: "dividend", "payout", "div", "qtly", "payable" or a
/// "stock split".
#[labeling_function(task = "Corporate")]
fn lf_dividend(a: &Prepared) -> Option<Corporate> {
    const CUES: &[&str] = &["dividend", "dividends", "payout", "div", "qtly", "payable"];
    (a.text.has_any(CUES) || a.text.has_phrase("stock split")).then_some(Corporate::Performance)
}

/// Votes Funding on mergers and acquisitions: "acquire", "acquisition", "merger", "takeover",
/// "buyout"…
#[labeling_function(task = "Corporate")]
fn lf_acquisition(a: &Prepared) -> Option<Corporate> {
    const CUES: &[&str] =
        &["acquire", "acquires", "acquired", "acquiring", "acquisition", "merger", "merge", "takeover", "buyout"];
    a.text.has_any(CUES).then_some(Corporate::Funding)
}

/// Votes Funding when someone takes a holding: "stake" in the headline, a 13D filing, or a
/// "pct stake" / "pct of the outstanding" shares in the body.
#[labeling_function(task = "Corporate")]
fn lf_stake(a: &Prepared) -> Option<Corporate> {
    let body = &a.body;
    let hit = a.headline.has_any(&["stake"])
        || body.has_any(&["13d"])
        || body.has_any_phrase(&["pct stake", "pct of the outstanding", "pct of its common"]);
    hit.then_some(Corporate::Funding)
}

/// Votes Funding on offers for a company: "tender offer", "offer for", "bid for", "definitive
/// agreement", "letter of intent", "agreement in principle".
#[labeling_function(task = "Corporate")]
fn lf_tender_offer(a: &Prepared) -> Option<Corporate> {
    const CUES: &[&str] =
        &["tender offer", "offer for", "bid for", "definitive agreement", "letter of intent", "agreement in principle"];
    a.text.has_any_phrase(CUES).then_some(Corporate::Funding)
}

/// Votes Funding when the headline buys or sells ("sells", "buys", "sale", "completes",
/// "divestiture") and the article speaks of a unit, subsidiary, division, company or assets.
#[labeling_function(task = "Corporate")]
fn lf_sells_unit(a: &Prepared) -> Option<Corporate> {
    const DEALS: &[&str] = &["sell", "sells", "buy", "buys", "sale", "completes", "divestiture", "divest"];
    const THINGS: &[&str] =
        &["unit", "units", "subsidiary", "division", "company", "businesses", "operations", "assets"];
    (a.headline.has_any(DEALS) && a.text.has_any(THINGS)).then_some(Corporate::Funding)
}

// ---------------------------------------------------------------------------------------------
// Markets: Money or Commodity
// ---------------------------------------------------------------------------------------------

/// Votes Money on money-market and interest-rate news: "money market", "bank rate", "interest
/// rates", "discount rate", "prime rate", "money supply", "repurchase agreements".
#[labeling_function(task = "Markets")]
fn lf_money_market(a: &Prepared) -> Option<Markets> {
    const CUES: &[&str] = &[
        "money market",
        "bank rate",
        "interest rate",
        "interest rates",
        "discount rate",
        "prime rate",
        "money supply",
        "repurchase agreements",
    ];
    a.text.has_any_phrase(CUES).then_some(Markets::Money)
}

/// Votes Money on currency news: a currency in the headline ("dollar", "yen", "sterling",
/// "franc", "currency", "forex") or "exchange rate(s)" / "foreign exchange" in the body.
#[labeling_function(task = "Markets")]
fn lf_currency(a: &Prepared) -> Option<Markets> {
    const CURRENCIES: &[&str] =
        &["dollar", "dollars", "yen", "sterling", "franc", "francs", "currency", "currencies", "forex"];
    let hit = a.headline.has_any(CURRENCIES)
        || a.body.has_any_phrase(&["exchange rate", "exchange rates", "foreign exchange"]);
    hit.then_some(Markets::Money)
}

/// Votes Money when a central bank or monetary policy is mentioned: "Bundesbank", "Fed",
/// "Federal Reserve", "central bank", "Bank of England", "Bank of Japan", "monetary".
#[labeling_function(task = "Markets")]
fn lf_central_bank(a: &Prepared) -> Option<Markets> {
    const BANKS: &[&str] = &["central bank", "federal reserve", "bank of england", "bank of japan"];
    let hit = a.text.has_any(&["bundesbank", "fed", "monetary"]) || a.text.has_any_phrase(BANKS);
    hit.then_some(Markets::Money)
}

/// Votes Commodity when physical quantities are given: "tonnes", "tons", "bushels", "bags",
/// "barrels", "bpd", "ounces", "lbs".
#[labeling_function(task = "Markets")]
fn lf_tonnage(a: &Prepared) -> Option<Markets> {
    const UNITS: &[&str] = &["tonnes", "tonne", "tons", "bushels", "bags", "barrels", "bpd", "ounces", "lbs"];
    a.text.has_any(UNITS).then_some(Markets::Commodity)
}

/// Votes Commodity on grain and farm news: "wheat", "grain", "corn", "maize", "soybeans",
/// "barley", "rice", "oilseed", "USDA", "crop"…
#[labeling_function(task = "Markets")]
fn lf_grain(a: &Prepared) -> Option<Markets> {
    const CROPS: &[&str] = &[
        "wheat", "grain", "corn", "maize", "soybean", "soybeans", "barley", "rice", "sorghum", "oilseed", "rapeseed",
        "usda", "crop", "crops",
    ];
    a.text.has_any(CROPS).then_some(Markets::Commodity)
}

/// Votes Commodity on oil news ("crude", "oil", "OPEC", "gasoline", "refinery", "petroleum",
/// "barrels", "bpd") unless the headline carries a company ticker.
#[labeling_function(task = "Markets")]
fn lf_oil(a: &Prepared) -> Option<Markets> {
    const CUES: &[&str] = &["crude", "oil", "opec", "gasoline", "refinery", "petroleum", "barrels", "bpd"];
    (!a.headline_ticker && a.text.has_any(CUES)).then_some(Markets::Commodity)
}

/// Votes Commodity on soft commodities and livestock: "sugar", "coffee", "cocoa", "cotton",
/// "rubber", "tea", "cattle", "hogs"…
#[labeling_function(task = "Markets")]
fn lf_softs(a: &Prepared) -> Option<Markets> {
    const SOFTS: &[&str] = &["sugar", "coffee", "cocoa", "cotton", "rubber", "tea", "livestock", "cattle", "hogs"];
    a.text.has_any(SOFTS).then_some(Markets::Commodity)
}

/// Votes Commodity on metals: a metal in a headline without a company ticker ("gold",
/// "copper", "tin", "steel"…), or mining words in the body ("ounces", "smelter", "mine", "ore").
#[labeling_function(task = "Markets")]
fn lf_metals(a: &Prepared) -> Option<Markets> {
    const PRECIOUS: &[&str] = &["gold", "silver", "platinum"];
    const BASE: &[&str] =
        &["copper", "tin", "zinc", "lead", "nickel", "aluminium", "aluminum", "steel", "metal", "metals"];
    let headline = &a.headline;
    let hit = headline.has_any(PRECIOUS)
        || headline.has_any(BASE)
        || a.body.has_any(&["ounce", "ounces", "smelter", "mine", "ore"]);
    (!a.headline_ticker && hit).then_some(Markets::Commodity)
}

/// All LFs of the news task, in label-matrix column order: Topic, then Corporate, then Markets.
pub fn all_lfs() -> LfSet<news::Schema, Prepared> {
    lfs![
        lf_ticker_in_headline,
        lf_company_in_headline,
        lf_shareholder_language,
        lf_market_headline,
        lf_officials_and_traders,
        lf_results_headline,
        lf_earnings_table,
        lf_dividend,
        lf_acquisition,
        lf_stake,
        lf_tender_offer,
        lf_sells_unit,
        lf_money_market,
        lf_currency,
        lf_central_bank,
        lf_tonnage,
        lf_grain,
        lf_oil,
        lf_softs,
        lf_metals,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An article with the given headline and body, prepared as the LFs read it.
    fn article(headline: &str, body: &str) -> Prepared {
        prepare(&raw_article(headline, body))
    }

    /// An article with the given headline and body, in the data files' layout.
    fn raw_article(headline: &str, body: &str) -> Article {
        let text = if body.is_empty() { headline.to_owned() } else { format!("{headline}\n\n{body}") };
        Article {
            id: "test".into(),
            newid: 0,
            title: headline.into(),
            dateline: "NEW YORK, March 5 -".into(),
            text,
            topics: vec![],
            single_topic: true,
            label: 0,
            label_name: "corporate/performance".into(),
        }
    }

    #[test]
    fn word_helpers() {
        assert!(Words::of("ACME <ACM> 4TH QTR NET").has_any(&["qtr"]));
        assert!(!Words::of("netherlands output").has_any(&["net"]));
        assert!(Words::of("said its\n    TENDER  offer, which").has_phrase("tender offer"));
        assert!(!Words::of("tender for offer").has_phrase("tender offer"));
        assert!(has_ticker("ACME CORP <ACM.N> SETS PAYOUT"));
        assert!(!has_ticker("PRICES < 5 DLRS"));
        assert!(!has_ticker("EMPTY <> BRACKETS"));
    }

    #[test]
    fn topic_lfs() {
        let earnings = article("ACME CORP <ACM> 4TH QTR NET", "Shr 10 cts vs nine cts\n    Net 1.2 mln vs 1.1 mln");
        assert_eq!(lf_ticker_in_headline(&earnings), Some(Topic::Corporate));
        assert_eq!(lf_company_in_headline(&earnings), Some(Topic::Corporate));
        let holders = article("ACME TO VOTE ON PLAN", "Shareholders will vote on the plan in May.");
        assert_eq!(lf_shareholder_language(&holders), Some(Topic::Corporate));
        assert_eq!(lf_ticker_in_headline(&holders), None);
        let prices = article("EC SUGAR PRICES SEEN HIGHER", "Traders said the ministry would act.");
        assert_eq!(lf_market_headline(&prices), Some(Topic::Markets));
        assert_eq!(lf_officials_and_traders(&prices), Some(Topic::Markets));
        assert_eq!(lf_market_headline(&article("ACME <ACM> RAISES PRICES", "")), None);
        let per_share = article("ACME SEES GAIN", "Dealers expect 1.10 dlrs per share.");
        assert_eq!(lf_officials_and_traders(&per_share), None);
    }

    #[test]
    fn corporate_lfs() {
        let earnings = article("ACME CORP <ACM> 4TH QTR NET", "Shr 10 cts vs nine cts\n    Net 1.2 mln vs 1.1 mln");
        assert_eq!(lf_results_headline(&earnings), Some(Corporate::Performance));
        assert_eq!(lf_earnings_table(&earnings), Some(Corporate::Performance));
        assert_eq!(lf_results_headline(&article("ACME SEES STRONG FIRST QUARTER", "")), Some(Corporate::Performance));
        let payout = article("ACME <ACM> QTLY DIVIDEND", "Qtly div 15 cts vs 15 cts prior\n    Pay April 1");
        assert_eq!(lf_dividend(&payout), Some(Corporate::Performance));
        let merger = article("ACME TO ACQUIRE WIDGET CO", "Acme said it agreed to acquire Widget.");
        assert_eq!(lf_acquisition(&merger), Some(Corporate::Funding));
        let stake = article("INVESTOR RAISES STAKE IN ACME", "In a 13D filing, the group said it holds 9.1 pct.");
        assert_eq!(lf_stake(&stake), Some(Corporate::Funding));
        let stake_body = article("GROUP HAS ACME SHARES", "It holds 6.2 pct of the outstanding common.");
        assert_eq!(lf_stake(&stake_body), Some(Corporate::Funding));
        let tender = article("ACME EXTENDS OFFER", "Acme extended its tender offer for Widget shares.");
        assert_eq!(lf_tender_offer(&tender), Some(Corporate::Funding));
        let sale = article("ACME SELLS PUMP UNIT", "Acme sold the unit for 20 mln dlrs.");
        assert_eq!(lf_sells_unit(&sale), Some(Corporate::Funding));
        assert_eq!(lf_sells_unit(&article("INDIA BUYS WHITE SUGAR", "")), None);
        assert_eq!(lf_acquisition(&earnings), None);
    }

    #[test]
    fn markets_lfs() {
        let money = article("U.K. MONEY MARKET GIVEN HELP", "The Bank of England said it provided help.");
        assert_eq!(lf_money_market(&money), Some(Markets::Money));
        assert_eq!(lf_central_bank(&money), Some(Markets::Money));
        let fx = article("DOLLAR OPENS LOWER IN TOKYO", "Dealers cited the exchange rate accord.");
        assert_eq!(lf_currency(&fx), Some(Markets::Money));
        assert_eq!(lf_central_bank(&article("BUNDESBANK LEAVES CREDIT POLICY UNCHANGED", "")), Some(Markets::Money));
        let wheat = article("EGYPT BUYS 200,000 TONNES OF WHEAT", "The USDA said the wheat was sold.");
        assert_eq!(lf_tonnage(&wheat), Some(Markets::Commodity));
        assert_eq!(lf_grain(&wheat), Some(Markets::Commodity));
        let crude = article("OPEC OUTPUT ABOVE QUOTA", "Crude output rose to 16 mln bpd.");
        assert_eq!(lf_oil(&crude), Some(Markets::Commodity));
        assert_eq!(lf_oil(&article("BIG OIL <BOC> 4TH QTR NET", "Oil revenues rose.")), None);
        let sugar = article("CUBA SUGAR EXPORTS DELAYED", "Traders said sugar shipments were late.");
        assert_eq!(lf_softs(&sugar), Some(Markets::Commodity));
        let copper = article("ASARCO LOWERS COPPER PRICE", "The price of cathodes fell 1.50 cts.");
        assert_eq!(lf_metals(&copper), Some(Markets::Commodity));
        assert_eq!(lf_metals(&article("GLAMIS GOLD <GLG> YEAR NET", "")), None);
        assert_eq!(lf_grain(&money), None);
    }

    #[test]
    fn set_has_lfs_on_every_task() {
        let set = all_lfs();
        assert_eq!(set.len(), 20);
        let mut per_task = [0usize; 3];
        for info in set.infos() {
            per_task[info.task] += 1;
        }
        assert_eq!(per_task, [5, 7, 8]);
    }
}
