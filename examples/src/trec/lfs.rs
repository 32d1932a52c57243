//! The TREC question-classification schema (6 coarse classes, 50 fine classes) and the labeling
//! functions (LFs) written for it.
//!
//! Seven tasks: `Coarse` (Abbr, Desc, Enty, Hum, Loc, Num) at the root, and under each coarse
//! class one task with its fine classes, in the order of the data's `meta.json`. The schema's end
//! labels are the 50 fine classes, in [`END_LABELS`](super::data::END_LABELS) order.
//!
//! Each LF reads the text of a [`Question`] and votes on one task, or abstains (`None`) when its
//! cue is absent. The cues are those a reader uses to tell what kind of answer a question wants:
//! the wh-word ("Who", "Where", "How many"), the noun the question asks about ("What *city*",
//! "Which *instrument*") and fixed phrases ("stand for", "made of", "best way to"). One LF may
//! vote for different labels of its task depending on the cue it finds. The LFs are keyword
//! heuristics, developed on the train and dev splits: each is imperfect, and many overlap.
//!
//! Text is matched through [`Words`]: the question's space-separated tokens with leading and
//! trailing punctuation trimmed, compared in lower case (see [`Words::new`]).

use metal_runtime::prelude::*;

use super::data::Question;

#[task_schema]
pub mod trec {
    /// What kind of answer does the question want?
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Coarse {
        Abbr,
        Desc,
        Enty,
        Hum,
        Loc,
        Num,
    }

    /// An abbreviation, or what an abbreviation stands for.
    #[task(parent = Coarse::Abbr)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Abbr {
        Abb,
        Exp,
    }

    /// A definition, a description, a manner or a reason.
    #[task(parent = Coarse::Desc)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Desc {
        Def,
        Desc,
        Manner,
        Reason,
    }

    /// Kind of entity.
    #[task(parent = Coarse::Enty)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Enty {
        Animal,
        Body,
        Color,
        Cremat,
        Currency,
        Dismed,
        Event,
        Food,
        Instru,
        Lang,
        Letter,
        Other,
        Plant,
        Product,
        Religion,
        Sport,
        Substance,
        Symbol,
        Techmeth,
        Termeq,
        Veh,
        Word,
    }

    /// A description of a person, a group, an individual or a title.
    #[task(parent = Coarse::Hum)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Hum {
        Desc,
        Gr,
        Ind,
        Title,
    }

    /// Kind of location.
    #[task(parent = Coarse::Loc)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Loc {
        City,
        Country,
        Mount,
        Other,
        State,
    }

    /// Kind of number.
    #[task(parent = Coarse::Num)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Num {
        Code,
        Count,
        Date,
        Dist,
        Money,
        Ord,
        Other,
        Perc,
        Period,
        Speed,
        Temp,
        Volsize,
        Weight,
    }
}
pub use trec::{Abbr, Coarse, Desc, Enty, Hum, Loc, Num};

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/// A question split into words.
///
/// The TREC text is already tokenized: tokens are separated by spaces, quotes are written
/// `` `` `` and `''`, and the possessive `'s` is its own token. A word is a token with its leading
/// and trailing non-alphanumeric characters removed (`"U.S."` → `U.S`, `'s` → `s`, `?` → no
/// word); internal punctuation stays (`bar-code`, `n't`). Matching is on the lower-cased words.
#[derive(Debug, Clone)]
pub struct Words<'a> {
    /// The words in their original case.
    raw: Vec<&'a str>,
    /// The words in lower case.
    lower: Vec<String>,
}

impl<'a> Words<'a> {
    /// Splits `text` into words.
    pub fn new(text: &'a str) -> Self {
        let raw: Vec<&str> = text
            .split_whitespace()
            .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty())
            .collect();
        let lower = raw.iter().map(|w| w.to_lowercase()).collect();
        Words { raw, lower }
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.lower.len()
    }

    /// True if there are no words.
    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// Word `i` in lower case, or `""` past the end.
    pub fn word(&self, i: usize) -> &str {
        self.lower.get(i).map_or("", String::as_str)
    }

    /// The first word in lower case, or `""`.
    pub fn first(&self) -> &str {
        self.word(0)
    }

    /// The last word in lower case, or `""`.
    pub fn last(&self) -> &str {
        self.lower.last().map_or("", String::as_str)
    }

    /// Word `i` in its original case, or `""` past the end.
    pub fn raw(&self, i: usize) -> &str {
        self.raw.get(i).copied().unwrap_or("")
    }

    /// True if the words of `phrase` (lower case, space-separated) occur one after the other.
    pub fn has(&self, phrase: &str) -> bool {
        self.find(phrase, 0..self.len())
    }

    /// True if any phrase of `list` occurs (see [`has`](Self::has)).
    pub fn has_any(&self, list: &[&str]) -> bool {
        list.iter().any(|p| self.has(p))
    }

    /// True if the question starts with the words of `phrase`.
    pub fn starts_with(&self, phrase: &str) -> bool {
        self.find(phrase, 0..1)
    }

    /// True if the question starts with any phrase of `list`.
    pub fn starts_with_any(&self, list: &[&str]) -> bool {
        list.iter().any(|p| self.starts_with(p))
    }

    /// True if `phrase` occurs starting at one of the positions `starts`.
    fn find(&self, phrase: &str, starts: std::ops::Range<usize>) -> bool {
        let wanted: Vec<&str> = phrase.split_whitespace().collect();
        !wanted.is_empty()
            && starts.into_iter().any(|i| {
                self.lower
                    .get(i..i + wanted.len())
                    .is_some_and(|window| window.iter().zip(&wanted).all(|(a, b)| a == b))
            })
    }

    /// The question's focus: the words naming what the question asks about.
    ///
    /// After the first "what" or "which" among the first six words (or a leading "name"), skip a
    /// copula ("is", "are", "was", "were", "'s"), determiners and wrappers such as "kind of",
    /// "name of", "type of"; then take up to four words, stopping at a preposition, an auxiliary
    /// verb, a relative pronoun or a second determiner. "What kind of animal was Winnie the
    /// Pooh ?" → `animal`; "What is the largest city on the Great Lakes ?" → `largest city`;
    /// "Name a Gaelic language ." → `gaelic language`. Empty for other questions.
    pub fn focus(&self) -> &[String] {
        const COPULAS: &[&str] = &["is", "are", "was", "were", "s"];
        const DETERMINERS: &[&str] = &["the", "a", "an"];
        const WRAPPERS: &[&str] = &[
            "name", "names", "type", "types", "kind", "kinds", "sort", "breed", "form", "brand", "species", "variety",
            "make", "model", "one", "some", "all", "most", "famous",
        ];
        const STOPS: &[&str] = &[
            "of", "in", "is", "are", "was", "were", "s", "did", "does", "do", "has", "have", "had", "can", "could",
            "will", "would", "should", "that", "which", "who", "for", "on", "to", "at", "from", "by", "with", "and",
            "as", "used", "called", "made",
        ];
        let w = |i: usize| self.word(i);
        let mut i = match (0..self.len().min(6)).find(|&k| matches!(w(k), "what" | "which")) {
            Some(k) => k + 1,
            None if w(0) == "name" => 1,
            None => return &[],
        };
        if COPULAS.contains(&w(i)) {
            i += 1;
        }
        loop {
            while DETERMINERS.contains(&w(i)) {
                i += 1;
            }
            if WRAPPERS.contains(&w(i)) && w(i + 1) == "of" {
                i += 2;
            } else {
                break;
            }
        }
        let start = i.min(self.len());
        let mut end = start;
        while end < self.len()
            && end - start < 4
            && !STOPS.contains(&w(end))
            && !(end > start && DETERMINERS.contains(&w(end)))
        {
            end += 1;
        }
        &self.lower[start..end]
    }
}

/// True if `token` looks like an acronym: at least two letters, all upper case, and nothing but
/// letters and dots (`NASA`, `R.E.M`).
fn is_acronym(token: &str) -> bool {
    token.chars().filter(|c| c.is_alphabetic()).count() >= 2 && token.chars().all(|c| c.is_uppercase() || c == '.')
}

// ---------------------------------------------------------------------------------------------
// Head-noun lexicons
// ---------------------------------------------------------------------------------------------

/// Nouns that name a kind of entity when they head the question's focus ("What *color* ...").
///
/// Each lexicon is one string of space-separated lower-case words.
const ENTY_HEADS: &[(Enty, &str)] = &[
    (
        Enty::Animal,
        "animal animals creature creatures whale fowl primate predators tiger mosquito monkey \
        rabbit deer shark dog dogs breed bird birds fish insect mammal pet horse cat snake \
        reptile species ox bear",
    ),
    (Enty::Body, "bone bones organ gland muscle"),
    (Enty::Color, "color colors colour colours"),
    (
        Enty::Cremat,
        "book books sequel sitcom trilogy hit ballad tale work works stories document statue \
        statues cartoons comics miniseries program programme film films movie movies song songs \
        play novel opera poem painting show series magazine newspaper album comic strip \
        sculpture soundtrack tv television cartoon ballet symphony musical story anthem",
    ),
    (Enty::Currency, "currency currencies money"),
    (
        Enty::Dismed,
        "ailment therapy condition anesthetic poison vitamin vaccine treatment disease diseases \
        illness cancer virus syndrome disorder fear phobia drug medicine infection plague",
    ),
    (
        Enty::Event,
        "events holidays era period revolt feud trials rites phenomenon slaughter concert \
        concerts meeting race tournament championship war battle event holiday revolution \
        festival celebration massacre disaster olympics ceremony",
    ),
    (
        Enty::Food,
        "condiment vegetables crop chocolate cookie cookies ice cream recipe treat fruits drinks \
        coffee tea snack sandwich food foods drink fruit vegetable cheese dish cocktail soda \
        beer wine candy cereal liquor dessert bread meat sauce spice nut juice beverage pasta \
        soup cake pie",
    ),
    (Enty::Instru, "instrument instruments guitar"),
    (Enty::Lang, "language languages tongue"),
    (Enty::Letter, "letter letters vowel initial initials"),
    (Enty::Plant, "plant plants tree trees flower flowers flora grass"),
    (
        Enty::Product,
        "razor garment jeans software camera system watch product products brand computer soap \
        cigarette hat toy",
    ),
    (Enty::Religion, "religion religions cult faith"),
    (
        Enty::Sport,
        "exercise exercises tournaments chess golf tennis baseball football basketball sport \
        sports game games",
    ),
    (
        Enty::Substance,
        "explosive molecules chemicals crystals materials acid oil element elements substance \
        chemical gas metal mineral material compound alloy fuel fiber fabric",
    ),
    (Enty::Symbol, "signs symbols flag symbol sign zodiac emblem trademark"),
    (
        Enty::Techmeth,
        "maneuver stroke strokes approaches measures principles tips method methods way ways \
        technique process",
    ),
    (Enty::Termeq, "counterpart translation translations alphabet term nickname slang equivalent synonym"),
    (
        Enty::Veh,
        "ships flight liner shipwreck vessels gunboat vehicles bike bicycle tank ship boat car \
        cars vehicle plane aircraft vessel yacht submarine train motorcycle craft airplane jet \
        rocket spacecraft shuttle",
    ),
    (Enty::Word, "word words plural singular noun conjugations palindrome anagram"),
];

/// Nouns that name a person, a group or a title when they head the question's focus.
const HUM_HEADS: &[(Hum, &str)] = &[
    (
        Hum::Ind,
        "member vice-president hunter dictator ranger comedienne novelist officer monarch doctor \
        coach scoundrel crooner businessman chancellor prime minister secretary journalist \
        reporter sculptor dancer psychologist physicist chemist astronomer mathematician \
        economist prophet saint god goddess brothers sisters twins quarterback golfer pitcher \
        hitter wrestler wrestlers champion cowboy villain spy host playwright novelists authors \
        singers actors actresses presidents kings queens person man woman actor actress \
        president author writer singer king queen emperor leader artist composer poet scientist \
        inventor player general explorer hero painter astronaut governor senator director \
        comedian wife husband father mother son daughter pope philosopher musician athlete \
        architect designer lawyer boxer cartoonist",
    ),
    (
        Hum::Gr,
        "business businesses police store stores stations station producer administration court \
        civilization committee institute society association agencies orchestra choir groups \
        bands organizations manufacturers firms schools universities colleges airlines clubs \
        company companies team teams group organization band university college party tribe firm \
        corporation agency school airline club army government council union bank network \
        manufacturer league",
    ),
    (Hum::Title, "occupation profession job title rank"),
];

/// Nouns that name a kind of place when they head the question's focus.
const LOC_HEADS: &[(Loc, &str)] = &[
    (Loc::City, "seaport hamlet village suburb city cities capital town towns metropolis"),
    (Loc::Country, "country countries nation nations nationality"),
    (Loc::Mount, "mountain mountains peak volcano mount range"),
    (Loc::State, "state states province provinces"),
    (
        Loc::Other,
        "website web site sites address home constellation habitat stadium hospital library \
        libraries mall attractions attraction direction gulf arch breweries avenue plantation \
        resort harbor port prison castle palace church cathedral temple restaurant hill valley \
        forest galaxy star continent island islands river rivers lake ocean sea place region \
        county park desert street building bridge airport planet bay canal hotel museum area \
        location part hemisphere peninsula strait body waterfall falls cave zoo square",
    ),
];

/// Nouns that name a kind of number when they head the question's focus.
const NUM_HEADS: &[(Num, &str)] = &[
    (Num::Other, "toll iq latitude longitude frequency horsepower score statistics rate par"),
    (Num::Money, "salary price cost wage fare worth income budget value fee prize debt"),
    (Num::Perc, "percentage percent odds chance chances probability fraction proportion rating"),
    (Num::Period, "age lifespan life span expectancy duration"),
    (Num::Speed, "speed velocity"),
    (Num::Temp, "temperature degrees boiling melting"),
    (Num::Volsize, "size area acreage volume capacity"),
    (Num::Weight, "weight mass"),
    (
        Num::Dist,
        "distance length height depth width diameter dimensions altitude elevation circumference \
        radius",
    ),
    (Num::Ord, "chapter rank ranking"),
];

/// Words that, in the focus, ask for a date.
const DATE_HEADS: &[&str] = &["year", "date", "day", "month", "century", "decade", "birthday", "anniversary"];

/// The class a focus noun names, across the coarse classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    Enty(Enty),
    Hum(Hum),
    Loc(Loc),
    Num(Num),
}

/// The label whose lexicon in `heads` (space-separated words) lists `word`.
fn lookup<L: Copy>(heads: &[(L, &str)], word: &str) -> Option<L> {
    heads.iter().find(|(_, list)| list.split_whitespace().any(|w| w == word)).map(|&(label, _)| label)
}

/// The class `word` names in the head-noun lexicons; a word in two lexicons counts as a number,
/// then a place, then a person or group, then an entity.
fn head_of_word(word: &str) -> Option<Head> {
    lookup(NUM_HEADS, word)
        .map(Head::Num)
        .or_else(|| lookup(LOC_HEADS, word).map(Head::Loc))
        .or_else(|| lookup(HUM_HEADS, word).map(Head::Hum))
        .or_else(|| lookup(ENTY_HEADS, word).map(Head::Enty))
}

/// The class named by the rightmost lexicon noun of the focus ("What South American *city* ..."
/// → `Loc::City`); `None` for a definition question (see [`is_definition`]).
fn head(w: &Words<'_>) -> Option<Head> {
    if is_definition(w) {
        return None;
    }
    w.focus().iter().rev().find_map(|word| head_of_word(word))
}

/// True for "What is/are/was (a|an|the)? X ?" with one to four words after the copula and no
/// possessive, superlative ("-est"), preposition or acronym (`What is NASA ?` wants the expansion),
/// and, after "the", no head noun of the lexicons (`What are the Nordic nations ?`).
fn is_definition(w: &Words<'_>) -> bool {
    const BLOCKERS: &[&str] = &["of", "for", "in", "on", "to", "fear", "called", "s", "mean"];
    let n = w.len();
    if !(w.starts_with_any(&["what is", "what are", "what was", "what were", "what s"]) && (3..=6).contains(&n)) {
        return false;
    }
    let rest = &w.lower[2..];
    if rest.iter().any(|x| BLOCKERS.contains(&x.as_str()) || x.ends_with("est")) {
        return false;
    }
    if n == 3 && is_acronym(w.raw(2)) {
        return false;
    }
    !(rest[0] == "the" && rest.iter().any(|x| head_of_word(x).is_some()))
}

/// True for "Where did the term / saying / name ... come from / originate": the origin of a
/// word or custom (DESC:desc), not a place.
fn asks_origin_of_a_term(w: &Words<'_>) -> bool {
    const TERMS: &[&str] = &["term", "expression", "saying", "phrase", "word", "name", "names", "custom", "tradition"];
    w.first() == "where" && w.has_any(&["come from", "originate", "originated"]) && w.has_any(TERMS)
}

/// Adjectives that turn "How X" into a question about a quantity.
const HOW_QUANTITY: &[&str] = &[
    "many", "much", "far", "long", "tall", "old", "big", "large", "fast", "hot", "cold", "deep", "high", "wide",
    "heavy", "often", "loud", "short", "small", "warm", "late", "early", "thick", "low", "close", "wealthy", "rich",
    "fat", "soon",
];

/// Auxiliaries that turn "How X" into a question about a manner.
const HOW_MANNER: &[&str] = &[
    "do", "does", "did", "can", "could", "is", "are", "was", "were", "should", "would", "will", "to", "might", "must",
    "has", "have", "may",
];

// ---------------------------------------------------------------------------------------------
// Coarse
// ---------------------------------------------------------------------------------------------

/// Votes by the leading wh-word: "Who"/"Whom"/"Whose" → Hum, "Where" → Loc (unless it asks where
/// a term comes from), "When" → Num, "Why" → Desc.
#[labeling_function(task = "Coarse")]
fn lf_wh_word(q: &Question) -> Option<Coarse> {
    let w = Words::new(&q.text);
    match w.first() {
        "who" | "whom" | "whose" => Some(Coarse::Hum),
        "where" if !asks_origin_of_a_term(&w) => Some(Coarse::Loc),
        "when" => Some(Coarse::Num),
        "why" => Some(Coarse::Desc),
        _ => None,
    }
}

/// Votes on a leading "How": followed by an adjective of quantity ("How many", "How far", "How
/// old") → Num; followed by an auxiliary ("How do", "How can", "How is") → Desc.
#[labeling_function(task = "Coarse")]
fn lf_how_word(q: &Question) -> Option<Coarse> {
    let w = Words::new(&q.text);
    if w.first() != "how" {
        return None;
    }
    let next = w.word(1);
    if HOW_QUANTITY.contains(&next) {
        Some(Coarse::Num)
    } else if HOW_MANNER.contains(&next) {
        Some(Coarse::Desc)
    } else {
        None
    }
}

/// Votes Abbr when the question speaks of abbreviations: "stand(s) for", "full form",
/// "abbreviation", "acronym", "abbreviate(d)".
#[labeling_function(task = "Coarse")]
fn lf_abbreviation_cue(q: &Question) -> Option<Coarse> {
    const CUES: &[&str] = &[
        "stand for",
        "stands for",
        "full form",
        "abbreviation",
        "abbreviations",
        "acronym",
        "abbreviate",
        "abbreviated",
    ];
    Words::new(&q.text).has_any(CUES).then_some(Coarse::Abbr)
}

/// True for a question that asks what something is or means: the short "What is X ?" form (see
/// [`is_definition`]), "What does X mean", "Define ...", "What is the definition / meaning /
/// origin of", "What is the difference between".
fn asks_definition_or_origin(w: &Words<'_>) -> bool {
    const OPENINGS: &[&str] = &[
        "what is the definition",
        "what is the meaning",
        "what does the word",
        "what is the origin",
        "what is the difference",
        "what are the differences",
    ];
    is_definition(w)
        || (w.starts_with_any(&["what does", "what do"]) && w.last() == "mean")
        || matches!(w.first(), "define" | "definition")
        || w.starts_with_any(OPENINGS)
}

/// Votes Desc when the question asks what something is or means ("What is a bourdon tube ?",
/// "What does X mean", "Define ...").
#[labeling_function(task = "Coarse")]
fn lf_definition_form(q: &Question) -> Option<Coarse> {
    asks_definition_or_origin(&Words::new(&q.text)).then_some(Coarse::Desc)
}

/// Votes by the answer type the focus noun names: a person or group noun → Hum, a place noun →
/// Loc, a number noun ("year", "population", "speed") → Num, an entity noun → Enty. The first
/// focus word found in these lists decides.
#[labeling_function(task = "Coarse")]
fn lf_answer_type(q: &Question) -> Option<Coarse> {
    const PLACES: &[&str] =
        &["continent", "island", "river", "lake", "ocean", "sea", "place", "region", "county", "mountain", "planet"];
    const NUMBERS: &[&str] = &[
        "year",
        "date",
        "day",
        "century",
        "population",
        "percentage",
        "percent",
        "number",
        "age",
        "speed",
        "temperature",
        "distance",
        "length",
        "height",
        "size",
        "weight",
        "cost",
        "price",
        "salary",
    ];
    let w = Words::new(&q.text);
    w.focus().iter().find_map(|word| {
        let word = word.as_str();
        if matches!(lookup(HUM_HEADS, word), Some(Hum::Ind | Hum::Gr)) {
            Some(Coarse::Hum)
        } else if matches!(lookup(LOC_HEADS, word), Some(Loc::City | Loc::Country | Loc::State))
            || PLACES.contains(&word)
        {
            Some(Coarse::Loc)
        } else if NUMBERS.contains(&word) {
            Some(Coarse::Num)
        } else if lookup(ENTY_HEADS, word).is_some_and(|e| e != Enty::Techmeth) {
            Some(Coarse::Enty)
        } else {
            None
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Abbr: abbreviation or expansion
// ---------------------------------------------------------------------------------------------

/// Votes Exp when the question asks what an abbreviation stands for: "stand(s) for", "full form",
/// "expansion of", "an abbreviation for what", or "What does NASA mean" with an acronym.
#[labeling_function(task = "Abbr")]
fn lf_stands_for(q: &Question) -> Option<Abbr> {
    const CUES: &[&str] = &[
        "stand for",
        "stands for",
        "full form",
        "expansion of",
        "abbreviation for what",
        "acronym for what",
        "abbreviation of what",
    ];
    let w = Words::new(&q.text);
    let spelled_out = w.has_any(CUES) && !w.has("what does the number");
    let acronym_meaning = w.starts_with_any(&["what does", "what do"])
        && w.last() == "mean"
        && (2..w.len().saturating_sub(1)).any(|i| is_acronym(w.raw(i)));
    (spelled_out || acronym_meaning).then_some(Abbr::Exp)
}

/// Votes on "abbreviation of / for", "acronym for", "abbreviate(d)" (without "stand for"): Exp
/// when the question names the abbreviation and asks for its expansion ("CNN is the abbreviation
/// for what ?", "What does the acronym CPR ..."), Abb otherwise ("What is the abbreviation of
/// General Motors ?").
#[labeling_function(task = "Abbr")]
fn lf_abbreviation_of(q: &Question) -> Option<Abbr> {
    const CUES: &[&str] = &[
        "abbreviation for",
        "abbreviation of",
        "acronym for",
        "acronym of",
        "abbreviate",
        "abbreviated",
        "the abbreviation",
        "the acronym",
    ];
    let w = Words::new(&q.text);
    if w.has_any(&["stand for", "stands for"]) || !w.has_any(CUES) {
        return None;
    }
    let asks_expansion = w.has_any(&["for what", "of what"])
        || w.starts_with_any(&["what does the abbreviation", "what does the acronym"]);
    Some(if asks_expansion { Abbr::Exp } else { Abbr::Abb })
}

/// Votes Exp on "What is X ?" where X is a bare acronym ("What is DTMF ?").
#[labeling_function(task = "Abbr")]
fn lf_bare_acronym(q: &Question) -> Option<Abbr> {
    let w = Words::new(&q.text);
    (w.len() == 3 && w.starts_with_any(&["what is", "what are", "what was", "what s"]) && is_acronym(w.raw(2)))
        .then_some(Abbr::Exp)
}

// ---------------------------------------------------------------------------------------------
// Desc: definition, description, manner or reason
// ---------------------------------------------------------------------------------------------

/// Votes Def when the question asks what something is or means ("What is a bourdon tube ?",
/// "What does X mean", "Define ..."), and Desc for "What is the origin of" / "What is the
/// difference between".
#[labeling_function(task = "Desc")]
fn lf_definition(q: &Question) -> Option<Desc> {
    let w = Words::new(&q.text);
    if !asks_definition_or_origin(&w) {
        return None;
    }
    let describes = w.starts_with_any(&["what is the origin", "what is the difference", "what are the differences"]);
    Some(if describes { Desc::Desc } else { Desc::Def })
}

/// Votes Manner on "How" followed by an auxiliary: "How do", "How can", "How is", "How did".
#[labeling_function(task = "Desc")]
fn lf_how_manner(q: &Question) -> Option<Desc> {
    let w = Words::new(&q.text);
    (w.first() == "how" && HOW_MANNER.contains(&w.word(1))).then_some(Desc::Manner)
}

/// Votes Reason on "Why" and on causes and purposes: "what causes", "the reason", "purpose of",
/// "known for", "claim to fame", "what makes".
#[labeling_function(task = "Desc")]
fn lf_reason(q: &Question) -> Option<Desc> {
    const CUES: &[&str] = &[
        "why",
        "known for",
        "famous for",
        "claim to fame",
        "function of",
        "purpose of",
        "what makes",
        "what made",
        "what prompted",
        "caused the",
        "what reason",
        "the reason",
        "reasons",
        "what causes",
        "what caused",
        "cause of",
        "causes of",
    ];
    Words::new(&q.text).has_any(CUES).then_some(Desc::Reason)
}

/// Votes Desc on requests for a description: where a term comes from, "origin of", "history
/// of", "difference between", "effects of", "benefits of", "lyrics", "what happens", "in common".
#[labeling_function(task = "Desc")]
fn lf_description(q: &Question) -> Option<Desc> {
    const CUES: &[&str] = &[
        "effect of",
        "effects of",
        "benefits of",
        "lyrics",
        "facts about",
        "happens",
        "what will happen",
        "what would happen",
        "in common",
        "what is it like",
        "differences between",
        "the difference",
        "origin of",
        "origins of",
        "history of",
        "what is the story",
    ];
    let w = Words::new(&q.text);
    (asks_origin_of_a_term(&w) || w.has_any(CUES)).then_some(Desc::Desc)
}

// ---------------------------------------------------------------------------------------------
// Enty: 22 kinds of entity
// ---------------------------------------------------------------------------------------------

/// Votes the kind of entity the focus noun names: "What *color* ...", "What *instrument* ...",
/// "What kind of *animal* ...", "Name a *language* ..."; one lexicon per class (animals, colors,
/// creative works, diseases, events, foods, vehicles, words ...).
#[labeling_function(task = "Enty")]
fn lf_entity_head(q: &Question) -> Option<Enty> {
    match head(&Words::new(&q.text))? {
        Head::Enty(e) => Some(e),
        _ => None,
    }
}

/// Votes Dismed on phobias and diseases: "fear of", "phobia", "disease", "illness", "cancer",
/// "syndrome".
#[labeling_function(task = "Enty")]
fn lf_disease(q: &Question) -> Option<Enty> {
    const CUES: &[&str] = &["fear of", "a phobia", "disease", "diseases", "illness", "cancer", "syndrome"];
    Words::new(&q.text).has_any(CUES).then_some(Enty::Dismed)
}

/// Votes Substance when the question asks what something is made of: "made of / from / out of",
/// "composed of", "ingredient(s)", "main component".
#[labeling_function(task = "Enty")]
fn lf_made_of(q: &Question) -> Option<Enty> {
    const CUES: &[&str] =
        &["made of", "made from", "made out of", "composed of", "ingredient", "ingredients", "main component"];
    Words::new(&q.text).has_any(CUES).then_some(Enty::Substance)
}

/// Votes Termeq when the question asks for a term or another name: "term for", "another name",
/// "what do you call", "how do you say", "translation", "Latin for", "What do the French call ...".
#[labeling_function(task = "Enty")]
fn lf_term_for(q: &Question) -> Option<Enty> {
    const CUES: &[&str] = &[
        "term for",
        "what term",
        "another term",
        "another name",
        "other name",
        "common name",
        "name for",
        "what do you call",
        "how do you say",
        "translation",
        "english for",
        "latin for",
        "spanish for",
        "french for",
        "also called",
        "what do i call",
    ];
    let w = Words::new(&q.text);
    let they_call = w.starts_with_any(&["what do", "what does"]) && w.has("call");
    (w.has_any(CUES) || they_call).then_some(Enty::Termeq)
}

/// Votes Techmeth when the question asks for a way or method: "way(s) to", "ways of", "method",
/// "technique", "tips for", "procedure", "formula for".
#[labeling_function(task = "Enty")]
fn lf_technique(q: &Question) -> Option<Enty> {
    const CUES: &[&str] = &[
        "way to",
        "ways to",
        "ways of",
        "ways in which",
        "what ways",
        "method",
        "methods",
        "technique",
        "techniques",
        "tips for",
        "procedure",
        "formula for",
        "formula to",
    ];
    Words::new(&q.text).has_any(CUES).then_some(Enty::Techmeth)
}

// ---------------------------------------------------------------------------------------------
// Hum: description, group, individual or title
// ---------------------------------------------------------------------------------------------

/// Votes on "Who"/"Whom"/"Whose" questions: Desc for "Who is/was <Proper Name> ?" (a request
/// for a description of a known person), Ind otherwise.
#[labeling_function(task = "Hum")]
fn lf_who(q: &Question) -> Option<Hum> {
    let w = Words::new(&q.text);
    if !matches!(w.first(), "who" | "whom" | "whose") {
        return None;
    }
    let capitalized = |i: usize| w.raw(i).chars().next().is_some_and(char::is_uppercase);
    let about_a_name = (3..=6).contains(&w.len())
        && matches!(w.word(1), "is" | "was" | "are" | "were")
        && (2..w.len()).all(capitalized);
    Some(if about_a_name { Hum::Desc } else { Hum::Ind })
}

/// Votes the kind of person the focus noun names: a role ("What *actor* ...", "Which
/// *president* ...") → Ind, an organization ("What *company* ...", "Which *team* ...") → Gr, a
/// job ("What is X 's *occupation*") → Title.
#[labeling_function(task = "Hum")]
fn lf_person_head(q: &Question) -> Option<Hum> {
    match head(&Words::new(&q.text))? {
        Head::Hum(h) => Some(h),
        _ => None,
    }
}

/// Votes Title on occupations: "occupation", "profession", "job", "for a living", "what title".
#[labeling_function(task = "Hum")]
fn lf_occupation(q: &Question) -> Option<Hum> {
    const CUES: &[&str] = &["occupation", "profession", "for a living", "job", "what title"];
    Words::new(&q.text).has_any(CUES).then_some(Hum::Title)
}

// ---------------------------------------------------------------------------------------------
// Loc: city, country, mountain, other or state
// ---------------------------------------------------------------------------------------------

/// Votes Other on a leading "Where" (unless it asks where a term comes from): most "Where"
/// questions ask for a place that is not a city, country, state or mountain.
#[labeling_function(task = "Loc")]
fn lf_where(q: &Question) -> Option<Loc> {
    let w = Words::new(&q.text);
    (w.first() == "where" && !asks_origin_of_a_term(&w)).then_some(Loc::Other)
}

/// Votes the kind of place the focus noun names: "What *city* ...", "What *capital* ...",
/// "Which *country* ...", "What *mountain* range ...", "What U.S. *state* ...", and Other for
/// islands, rivers, continents, buildings and the like.
#[labeling_function(task = "Loc")]
fn lf_place_head(q: &Question) -> Option<Loc> {
    match head(&Words::new(&q.text))? {
        Head::Loc(l) => Some(l),
        _ => None,
    }
}

/// Votes on place phrases anywhere in the question: "capital of" / "the capital" → City, "what /
/// which state", "U.S. state" → State, "what / which country" → Country.
#[labeling_function(task = "Loc")]
fn lf_place_phrase(q: &Question) -> Option<Loc> {
    let w = Words::new(&q.text);
    if w.has_any(&["capital of", "capital city", "the capital"]) {
        Some(Loc::City)
    } else if w.has_any(&["u.s state", "what state", "which state", "state in"]) {
        Some(Loc::State)
    } else if w.has_any(&["what country", "which country"]) {
        Some(Loc::Country)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Num: 13 kinds of number
// ---------------------------------------------------------------------------------------------

/// Votes on "How <adjective>": "How many" → Count; "How much" → Weight with "weigh", Money with
/// "cost", "pay", "price", "worth"…, Count otherwise; "How far / tall / high / deep / wide" →
/// Dist; "How long" → Dist for "How long is X" (a length), Period otherwise; "How old" → Period;
/// "How fast" → Speed; "How hot / cold / warm" → Temp; "How big / large / small" → Volsize;
/// "How heavy" → Weight; "How often / loud" → Other.
#[labeling_function(task = "Num")]
fn lf_how_quantity(q: &Question) -> Option<Num> {
    const MONEY: &[&str] = &[
        "cost", "costs", "pay", "paid", "price", "spend", "spent", "worth", "earn", "earns", "charge", "money",
        "dollars", "make", "sell", "sold",
    ];
    const DURATIONS: &[&str] = &["trial", "gestation", "life", "war", "marriage"];
    let w = Words::new(&q.text);
    if w.first() != "how" {
        return None;
    }
    match w.word(1) {
        "many" => Some(Num::Count),
        "much" if w.has_any(&["weigh", "weight"]) => Some(Num::Weight),
        "much" if w.has_any(MONEY) => Some(Num::Money),
        "much" => Some(Num::Count),
        "far" | "tall" | "high" | "deep" | "wide" | "thick" => Some(Num::Dist),
        "long" if matches!(w.word(2), "is" | "was" | "are" | "were") && !w.has_any(DURATIONS) => Some(Num::Dist),
        "long" | "old" => Some(Num::Period),
        "fast" => Some(Num::Speed),
        "hot" | "cold" | "warm" => Some(Num::Temp),
        "big" | "large" | "small" => Some(Num::Volsize),
        "heavy" => Some(Num::Weight),
        "often" | "loud" => Some(Num::Other),
        _ => None,
    }
}

/// Votes Date on "When", on a date noun in the focus ("What *year* ...", "On which *day* ..."),
/// and on "what year" / "what date" anywhere.
#[labeling_function(task = "Num")]
fn lf_date(q: &Question) -> Option<Num> {
    let w = Words::new(&q.text);
    let hit = w.first() == "when"
        || w.focus().iter().any(|x| DATE_HEADS.contains(&x.as_str()))
        || w.has_any(&["what year", "which year", "what date"]);
    hit.then_some(Num::Date)
}

/// Votes on "What / Which" questions about a quantity: a telephone, zip, area or airport code →
/// Code; otherwise the kind of number the focus noun names ("What is the *salary* ...",
/// "What *percentage* ...", "What is the *speed* ...", "What is the *population* ...").
#[labeling_function(task = "Num")]
fn lf_quantity_head(q: &Question) -> Option<Num> {
    const CODES: &[&str] =
        &["phone number", "phone numbers", "telephone number", "zip code", "area code", "airport code"];
    let w = Words::new(&q.text);
    if !matches!(w.first(), "what" | "which") {
        return None;
    }
    if w.has_any(CODES) {
        return Some(Num::Code);
    }
    match head(&w)? {
        Head::Num(n) => Some(n),
        _ => None,
    }
}

/// Votes on measuring verbs and units in a "What" or "How" question (not "How many"): "weigh" →
/// Weight; "cost", "paid", "earn", "salary" in "What does / How much / What is the" → Money;
/// "degrees", "Fahrenheit", "temperature" → Temp; "mph", "speed" → Speed; "What percentage /
/// fraction" → Perc.
#[labeling_function(task = "Num")]
fn lf_measure_word(q: &Question) -> Option<Num> {
    const MONEY_OPENINGS: &[&str] =
        &["what does", "what did", "what do", "how much", "what is the", "what s the", "what was the"];
    let w = Words::new(&q.text);
    if !matches!(w.first(), "what" | "how") || w.starts_with("how many") {
        return None;
    }
    if w.has_any(&["weigh", "weighs", "weighed"]) {
        Some(Num::Weight)
    } else if w.has_any(&["cost", "costs", "paid", "earn", "earns", "salary", "charge"])
        && w.starts_with_any(MONEY_OPENINGS)
    {
        Some(Num::Money)
    } else if w.has_any(&["fahrenheit", "celsius", "centigrade", "degrees", "temperature"]) {
        Some(Num::Temp)
    } else if w.has_any(&["mph", "speed"]) {
        Some(Num::Speed)
    } else if w.starts_with_any(&["what percentage", "what percent", "what fraction", "what proportion"]) {
        Some(Num::Perc)
    } else {
        None
    }
}

/// All LFs of the TREC task, in label-matrix column order: Coarse, then one group per coarse
/// class in schema order (Abbr, Desc, Enty, Hum, Loc, Num).
pub fn all_lfs() -> LfSet<trec::Schema, Question> {
    lfs![
        lf_wh_word,
        lf_how_word,
        lf_abbreviation_cue,
        lf_definition_form,
        lf_answer_type,
        lf_stands_for,
        lf_abbreviation_of,
        lf_bare_acronym,
        lf_definition,
        lf_how_manner,
        lf_reason,
        lf_description,
        lf_entity_head,
        lf_disease,
        lf_made_of,
        lf_term_for,
        lf_technique,
        lf_who,
        lf_person_head,
        lf_occupation,
        lf_where,
        lf_place_head,
        lf_place_phrase,
        lf_how_quantity,
        lf_date,
        lf_quantity_head,
        lf_measure_word,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A question with the given text, in the data files' tokenization.
    fn question(text: &str) -> Question {
        Question {
            id: "test".into(),
            text: text.into(),
            coarse: "DESC".into(),
            fine: "def".into(),
            label_fine: "DESC:def".into(),
            coarse_id: 1,
            fine_id: 2,
            label: 2,
        }
    }

    #[test]
    fn words_trim_punctuation_and_match_in_lower_case() {
        let w = Words::new("What is the `` Dow Jones '' of the U.S. 's economy ?");
        assert_eq!(w.first(), "what");
        assert_eq!(w.last(), "economy");
        assert_eq!(w.raw(3), "Dow");
        assert!(w.has("dow jones of"));
        assert!(w.has("u.s s economy"));
        assert!(!w.has("jones the"));
        assert!(w.starts_with("what is the"));
        assert!(!w.starts_with("is the"));
        assert!(w.has_any(&["nothing", "economy"]));
        assert_eq!(Words::new(" ? ").len(), 0);
        assert!(is_acronym("NASA") && is_acronym("R.E.M"));
        assert!(!is_acronym("Nasa") && !is_acronym("A") && !is_acronym("B52"));
    }

    #[test]
    fn focus_skips_wrappers_and_stops_at_function_words() {
        let focus = |text: &str| Words::new(text).focus().join(" ");
        assert_eq!(focus("What kind of animal was Winnie the Pooh ?"), "animal");
        assert_eq!(focus("What is the largest city on the Great Lakes ?"), "largest city");
        assert_eq!(focus("Name a Gaelic language ."), "gaelic language");
        assert_eq!(focus("In which year did the war end ?"), "year");
        assert_eq!(focus("What 's the name of the tiger that advertises cereal ?"), "tiger");
        assert_eq!(focus("Who wrote Hamlet ?"), "");
        assert_eq!(head(&Words::new("What South American city has the highest airport ?")), Some(Head::Loc(Loc::City)));
        assert_eq!(head(&Words::new("What baseball team won in 1927 ?")), Some(Head::Hum(Hum::Gr)));
        assert_eq!(head(&Words::new("What is a caldera ?")), None);
    }

    #[test]
    fn definition_form() {
        assert!(is_definition(&Words::new("What is a bourdon tube ?")));
        assert!(is_definition(&Words::new("What are dingoes ?")));
        assert!(!is_definition(&Words::new("What is DTMF ?")));
        assert!(!is_definition(&Words::new("What is California 's capital ?")));
        assert!(!is_definition(&Words::new("What is the fastest fish ?")));
        assert!(!is_definition(&Words::new("What are the Nordic nations ?")));
        assert!(!is_definition(&Words::new("What is the capital of Burkina Faso ?")));
    }

    #[test]
    fn coarse_lfs() {
        let q = |text: &str| question(text);
        assert_eq!(lf_wh_word(&q("Who killed Caesar ?")), Some(Coarse::Hum));
        assert_eq!(lf_wh_word(&q("Where is Ayer 's rock ?")), Some(Coarse::Loc));
        assert_eq!(lf_wh_word(&q("Where did the term `` 86ed '' come from ?")), None);
        assert_eq!(lf_wh_word(&q("When was the bar-code invented ?")), Some(Coarse::Num));
        assert_eq!(lf_wh_word(&q("Why do horseshoes bring luck ?")), Some(Coarse::Desc));
        assert_eq!(lf_how_word(&q("How far is London from Paris ?")), Some(Coarse::Num));
        assert_eq!(lf_how_word(&q("How do clouds form ?")), Some(Coarse::Desc));
        assert_eq!(lf_how_word(&q("What is a transistor ?")), None);
        assert_eq!(lf_abbreviation_cue(&q("What does NASA stand for ?")), Some(Coarse::Abbr));
        assert_eq!(lf_definition_form(&q("What is a transistor ?")), Some(Coarse::Desc));
        assert_eq!(lf_definition_form(&q("What does `` E Pluribus Unum '' mean ?")), Some(Coarse::Desc));
        assert_eq!(lf_answer_type(&q("What actor played Rocky ?")), Some(Coarse::Hum));
        assert_eq!(lf_answer_type(&q("What country borders Spain ?")), Some(Coarse::Loc));
        assert_eq!(lf_answer_type(&q("What year did Hitler gain power ?")), Some(Coarse::Num));
        assert_eq!(lf_answer_type(&q("What color is Mr. Spock 's blood ?")), Some(Coarse::Enty));
        assert_eq!(lf_answer_type(&q("Who wrote Hamlet ?")), None);
    }

    #[test]
    fn abbr_and_desc_lfs() {
        let q = |text: &str| question(text);
        assert_eq!(lf_stands_for(&q("What does NASA stand for ?")), Some(Abbr::Exp));
        assert_eq!(lf_stands_for(&q("What does `` B.Y.O.B. '' mean ?")), Some(Abbr::Exp));
        assert_eq!(lf_stands_for(&q("What does the word gymnophobia mean ?")), None);
        assert_eq!(lf_abbreviation_of(&q("What is the abbreviation of General Motors ?")), Some(Abbr::Abb));
        assert_eq!(lf_abbreviation_of(&q("CNN is the abbreviation for what ?")), Some(Abbr::Exp));
        assert_eq!(lf_abbreviation_of(&q("What does the abbreviation IOC stand for ?")), None);
        assert_eq!(lf_bare_acronym(&q("What is DTMF ?")), Some(Abbr::Exp));
        assert_eq!(lf_bare_acronym(&q("What is Sinn Fein ?")), None);

        assert_eq!(lf_definition(&q("What is a bourdon tube ?")), Some(Desc::Def));
        assert_eq!(lf_definition(&q("What is the origin of the name Scarlett ?")), Some(Desc::Desc));
        assert_eq!(lf_definition(&q("What is the capital of Peru ?")), None);
        assert_eq!(lf_how_manner(&q("How do telephones work ?")), Some(Desc::Manner));
        assert_eq!(lf_how_manner(&q("How many hearts does an octopus have ?")), None);
        assert_eq!(lf_reason(&q("Why do eyes look red in photographs ?")), Some(Desc::Reason));
        assert_eq!(lf_reason(&q("What caused the division between the churches ?")), Some(Desc::Reason));
        assert_eq!(lf_description(&q("Where did the saying `` rule of thumb '' come from ?")), Some(Desc::Desc));
        assert_eq!(lf_description(&q("What is the difference between pop and rock ?")), Some(Desc::Desc));
        assert_eq!(lf_description(&q("Where do rocks come from ?")), None);
    }

    #[test]
    fn enty_lfs() {
        let q = |text: &str| question(text);
        assert_eq!(lf_entity_head(&q("What color is Mr. Spock 's blood ?")), Some(Enty::Color));
        assert_eq!(lf_entity_head(&q("What kind of animal was Winnie the Pooh ?")), Some(Enty::Animal));
        assert_eq!(lf_entity_head(&q("What musical instrument did Sherlock Holmes play ?")), Some(Enty::Instru));
        assert_eq!(lf_entity_head(&q("Name a Gaelic language .")), Some(Enty::Lang));
        assert_eq!(lf_entity_head(&q("What ship did Lloyd M. Bucher command ?")), Some(Enty::Veh));
        assert_eq!(lf_entity_head(&q("What city has the most parking meters ?")), None);
        assert_eq!(lf_disease(&q("What is a fear of clouds ?")), Some(Enty::Dismed));
        assert_eq!(lf_made_of(&q("What are fingernails made of ?")), Some(Enty::Substance));
        assert_eq!(lf_term_for(&q("What 's the term for a young fox ?")), Some(Enty::Termeq));
        assert_eq!(lf_term_for(&q("What do the Japanese call Japan ?")), Some(Enty::Termeq));
        assert_eq!(lf_technique(&q("What is the best way to remove wallpaper ?")), Some(Enty::Techmeth));
        assert_eq!(lf_technique(&q("What is a fear of clouds ?")), None);
    }

    #[test]
    fn hum_and_loc_lfs() {
        let q = |text: &str| question(text);
        assert_eq!(lf_who(&q("Who is Langston Hughes ?")), Some(Hum::Desc));
        assert_eq!(lf_who(&q("Who wrote Unsafe at Any Speed ?")), Some(Hum::Ind));
        assert_eq!(lf_who(&q("Who is the author of Dracula ?")), Some(Hum::Ind));
        assert_eq!(lf_who(&q("What is a caldera ?")), None);
        assert_eq!(lf_person_head(&q("What suburban housewife wrote The Feminine Mystique ?")), None);
        assert_eq!(lf_person_head(&q("What Civil War general marched through Georgia ?")), Some(Hum::Ind));
        assert_eq!(lf_person_head(&q("What company makes Spumante ?")), Some(Hum::Gr));
        assert_eq!(lf_occupation(&q("What is Larry King 's job ?")), Some(Hum::Title));

        assert_eq!(lf_where(&q("Where are diamonds mined ?")), Some(Loc::Other));
        assert_eq!(lf_where(&q("Where did the term fireplug come from ?")), None);
        assert_eq!(lf_place_head(&q("What Kenyan city is the safari center ?")), Some(Loc::City));
        assert_eq!(lf_place_head(&q("Which Latin American country is the largest ?")), Some(Loc::Country));
        assert_eq!(lf_place_head(&q("What mountain range marks the border of France ?")), Some(Loc::Mount));
        assert_eq!(lf_place_head(&q("What 's the largest island in the West Indies ?")), Some(Loc::Other));
        assert_eq!(lf_place_phrase(&q("What is the capital of Burkina Faso ?")), Some(Loc::City));
        assert_eq!(lf_place_phrase(&q("In which state are the Mark Twain National Forests ?")), Some(Loc::State));
        assert_eq!(lf_place_phrase(&q("What country did King Wenceslas rule ?")), Some(Loc::Country));
    }

    #[test]
    fn num_lfs() {
        let q = |text: &str| question(text);
        assert_eq!(lf_how_quantity(&q("How many hearts does an octopus have ?")), Some(Num::Count));
        assert_eq!(lf_how_quantity(&q("How much does a poodle weigh ?")), Some(Num::Weight));
        assert_eq!(lf_how_quantity(&q("How much does a new car cost ?")), Some(Num::Money));
        assert_eq!(lf_how_quantity(&q("How far is Yaroslavl from Moscow ?")), Some(Num::Dist));
        assert_eq!(lf_how_quantity(&q("How long is the Coney Island boardwalk ?")), Some(Num::Dist));
        assert_eq!(lf_how_quantity(&q("How long does a dog sleep ?")), Some(Num::Period));
        assert_eq!(lf_how_quantity(&q("How old is the universe ?")), Some(Num::Period));
        assert_eq!(lf_how_quantity(&q("How fast is light ?")), Some(Num::Speed));
        assert_eq!(lf_how_quantity(&q("How hot does a volcano get ?")), Some(Num::Temp));
        assert_eq!(lf_how_quantity(&q("How big is Australia ?")), Some(Num::Volsize));
        assert_eq!(lf_how_quantity(&q("How do clouds form ?")), None);
        assert_eq!(lf_date(&q("When did Iraqi troops invade Kuwait ?")), Some(Num::Date));
        assert_eq!(lf_date(&q("In what year did Hitler gain power ?")), Some(Num::Date));
        assert_eq!(lf_date(&q("What is the first day of the week ?")), Some(Num::Date));
        assert_eq!(lf_quantity_head(&q("What is Columbia Tristar 's phone number ?")), Some(Num::Code));
        assert_eq!(lf_quantity_head(&q("What is the salary of a U.S. Representative ?")), Some(Num::Money));
        assert_eq!(lf_quantity_head(&q("What percentage of Americans own their homes ?")), Some(Num::Perc));
        assert_eq!(lf_quantity_head(&q("What is the speed of the Mississippi River ?")), Some(Num::Speed));
        assert_eq!(lf_quantity_head(&q("Where can I find a phone number ?")), None);
        assert_eq!(lf_measure_word(&q("What does a teaspoon of matter weigh ?")), Some(Num::Weight));
        assert_eq!(lf_measure_word(&q("What 's the Fahrenheit equivalent of zero degrees ?")), Some(Num::Temp));
        assert_eq!(lf_measure_word(&q("How many miles is it to Ohio ?")), None);
    }

    #[test]
    fn set_has_lfs_on_every_task() {
        let set = all_lfs();
        assert_eq!(set.len(), 27);
        let mut per_task = [0usize; 7];
        for info in set.infos() {
            per_task[info.task] += 1;
        }
        assert_eq!(per_task, [5, 3, 4, 5, 3, 3, 4]);
    }
}
