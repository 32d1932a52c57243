//! The radiology triage schema and the labeling functions (LFs) written for it.
//!
//! Three tasks: `Triage` (Acute or NonAcute) at the root, `Acute` (Urgent or Emergent) under
//! `Triage::Acute`, `NonAcute` (Normal or NonUrgent) under `Triage::NonAcute`. Each LF votes on
//! one task from the text of a [`Report`] (findings, impression) and abstains (`None`) when its
//! cue is absent. The LFs are keyword heuristics in the style of a radiologist's triage rules:
//! each is imperfect, and many overlap. They never read the gold MeSH annotations.
//!
//! The LFs read a [`Parsed`] report, cut into clauses once by [`parse`], the preparation step of
//! [`LfSet::apply_prepared`]: `all_lfs().apply_prepared(&reports, parse, &config)`.
//!
//! # Matching
//!
//! Words are matched whole and case-insensitively; a word is a maximal run of ASCII letters and
//! digits. The report is cut into **clauses**: sentences end at `.`, `;`, `:`, `?`, `!` and line
//! breaks, and a sentence is cut again at the contrastive words "but", "however", "although",
//! "though", "except" and "otherwise". A **term** (one or more words, such as `"pleural
//! effusion"`) is looked up clause by clause, and each occurrence is a *mention*. A mention is
//!
//! - **negated** when a negation cue precedes it in its clause ("no", "not", "without",
//!   "negative", "free", "nor", "resolved", "resolution", "removed", "removal", or "clear of"),
//!   or it is followed in its clause by "resolved"/"resolving" or by "is not", "are not", "was
//!   not", "were not". So in "No focal consolidation, effusion, or pneumothorax." all three
//!   terms are negated, while in "No pneumothorax. Small left effusion." only the pneumothorax is;
//! - **old** when its clause carries a chronicity qualifier: "chronic", "old", "healed",
//!   "healing", "remote" ("Healed left rib fractures");
//! - **hedged** when its clause speaks of a differential: "differential", "question",
//!   "questionable", "versus", "considerations", "include", "includes", "may".
//!
//! A finding is *current* when it has a mention that is neither negated nor old, and *definite*
//! when that mention is not hedged either. Emergent LFs require definite findings; urgent LFs
//! require current findings and abstain when the report has a definite emergent finding (a
//! report takes its most severe level); non-urgent LFs require a mention that is not negated and
//! abstain when the report has any current urgent or definite emergent finding.

use metal_runtime::prelude::*;

use super::data::Report;

#[task_schema]
pub mod triage {
    /// Does the report need attention soon (an acute finding) or not?
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Triage {
        /// An urgent or emergent finding.
        Acute,
        /// A normal study or only non-urgent findings.
        NonAcute,
    }

    /// How soon an acute finding needs attention.
    #[task(parent = Triage::Acute)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Acute {
        /// Needs attention within hours to days: pneumonia, consolidation, effusion, opacity,
        /// mass, fracture.
        Urgent,
        /// Needs attention now: pneumothorax, pulmonary edema or heart failure, a large
        /// effusion, free air, an aortic aneurysm or dissection.
        Emergent,
    }

    /// Whether a non-acute report is normal.
    #[task(parent = Triage::NonAcute)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum NonAcute {
        /// No finding at all.
        Normal,
        /// Only chronic or incidental findings: granulomas, degenerative spine, a tortuous
        /// aorta, surgical changes and devices, mild cardiomegaly, healed fractures.
        NonUrgent,
    }
}
pub use triage::{Acute, NonAcute, Triage};

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/// Words that end a clause inside a sentence; the word itself belongs to neither clause.
const CLAUSE_BREAKS: &[&str] = &["but", "however", "although", "though", "except", "otherwise"];

/// Words that negate the terms after them in their clause.
const NEGATIONS: &[&str] =
    &["no", "not", "without", "negative", "free", "nor", "resolved", "resolution", "removed", "removal"];

/// Words that negate the terms before them in their clause ("the effusion has resolved").
const POST_NEGATIONS: &[&str] = &["resolved", "resolving"];

/// Verbs that, followed by "not", negate the terms before them ("pneumothorax is not seen").
const COPULAS: &[&str] = &["is", "are", "was", "were"];

/// Qualifiers that make the findings of their clause old.
const OLD: &[&str] = &["chronic", "old", "healed", "healing", "remote"];

/// Words that make the findings of their clause hedged.
const HEDGES: &[&str] =
    &["differential", "question", "questionable", "versus", "considerations", "include", "includes", "may"];

/// The lowercase words of `s`: maximal runs of ASCII letters and digits.
fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_ascii_lowercase)
}

/// True if `word` is one of `list`.
fn is_any(word: &str, list: &[&str]) -> bool {
    list.contains(&word)
}

/// True if some word of `words` is one of `list`.
fn has_any(words: &[String], list: &[&str]) -> bool {
    words.iter().any(|w| is_any(w, list))
}

/// One occurrence of a term in a clause.
#[derive(Debug, Clone, Copy)]
struct Mention<'a> {
    /// The clause's words.
    clause: &'a [String],
    /// Index of the term's first word in the clause.
    start: usize,
    /// Number of words of the term.
    len: usize,
}

impl Mention<'_> {
    fn before(&self) -> &[String] {
        &self.clause[..self.start]
    }

    fn after(&self) -> &[String] {
        &self.clause[self.start + self.len..]
    }

    /// See the module docs: a negation cue before the term, or a post-negation after it.
    fn is_negated(&self) -> bool {
        let before = self.before();
        let after = self.after();
        has_any(before, NEGATIONS)
            || before.windows(2).any(|w| w[0] == "clear" && w[1] == "of")
            || has_any(after, POST_NEGATIONS)
            || after.windows(2).any(|w| is_any(&w[0], COPULAS) && w[1] == "not")
    }

    /// The clause carries a chronicity qualifier.
    fn is_old(&self) -> bool {
        has_any(self.clause, OLD)
    }

    /// The clause speaks of a differential diagnosis.
    fn is_hedged(&self) -> bool {
        has_any(self.clause, HEDGES)
    }

    /// Not negated.
    fn is_affirmed(&self) -> bool {
        !self.is_negated()
    }

    /// Neither negated nor old.
    fn is_current(&self) -> bool {
        self.is_affirmed() && !self.is_old()
    }

    /// Neither negated, old nor hedged.
    fn is_definite(&self) -> bool {
        self.is_current() && !self.is_hedged()
    }
}

/// A text cut into clauses of lowercase words (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Clauses(Vec<Vec<String>>);

impl Clauses {
    fn of(s: &str) -> Self {
        let mut out = Vec::new();
        for sentence in s.split(['.', ';', ':', '?', '!', '\n']) {
            let mut clause = Vec::new();
            for word in words(sentence) {
                if is_any(&word, CLAUSE_BREAKS) {
                    out.push(std::mem::take(&mut clause));
                } else {
                    clause.push(word);
                }
            }
            out.push(clause);
        }
        out.retain(|c| !c.is_empty());
        Clauses(out)
    }

    /// Every mention of a term of `terms`, in clause order. Terms are written as lowercase words
    /// separated by single spaces, as in all the lists of this module.
    fn mentions(&self, terms: &[&str]) -> Vec<Mention<'_>> {
        let mut out = Vec::new();
        for clause in &self.0 {
            for term in terms {
                let len = term.split(' ').count();
                let (first, rest) = term.split_once(' ').unwrap_or((term, ""));
                for start in (0..clause.len()).filter(|&i| clause[i] == first) {
                    if rest.is_empty() || clause[start + 1..].iter().take(len - 1).eq(rest.split(' ')) {
                        out.push(Mention { clause, start, len });
                    }
                }
            }
        }
        out
    }

    /// Some term of `terms` occurs, negated or not.
    fn mentions_any(&self, terms: &[&str]) -> bool {
        !self.mentions(terms).is_empty()
    }

    /// Some term of `terms` has a mention that is not negated.
    fn affirms(&self, terms: &[&str]) -> bool {
        self.mentions(terms).iter().any(Mention::is_affirmed)
    }

    /// Some term of `terms` has a current mention (neither negated nor old).
    fn has_current(&self, terms: &[&str]) -> bool {
        self.mentions(terms).iter().any(Mention::is_current)
    }

    /// Some term of `terms` has a definite mention (neither negated, old nor hedged).
    fn has_definite(&self, terms: &[&str]) -> bool {
        self.mentions(terms).iter().any(Mention::is_definite)
    }
}

/// A report as the LFs read it: each section cut into clauses once (the preparation step of
/// [`LfSet::apply_prepared`]), instead of once per LF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The whole report ([`Report::body`]).
    body: Clauses,
    /// The impression, or the findings when it is empty ([`Report::conclusion`]).
    conclusion: Clauses,
    /// The impression section.
    impression: Clauses,
    /// The findings section.
    findings: Clauses,
}

/// The preparation step: cuts a report's sections into clauses.
pub fn parse(r: &Report) -> Parsed {
    Parsed {
        body: Clauses::of(r.body()),
        conclusion: Clauses::of(r.conclusion()),
        impression: Clauses::of(&r.impression),
        findings: Clauses::of(&r.findings),
    }
}

// ---------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------

/// Pneumothorax and its variants (emergent).
const PNEUMOTHORAX: &[&str] = &["pneumothorax", "pneumothoraces", "hydropneumothorax", "hemopneumothorax"];

/// Pulmonary edema and heart failure (emergent).
const EDEMA: &[&str] = &["edema", "heart failure", "cardiac failure", "chf", "congestive failure"];

/// Extraluminal air (emergent).
const FREE_AIR: &[&str] =
    &["pneumoperitoneum", "free air", "subcutaneous emphysema", "subcutaneous air", "pneumomediastinum"];

/// Aortic and pericardial emergencies (emergent).
const CARDIOVASCULAR: &[&str] = &["aneurysm", "aneurysmal", "dissection", "pericardial effusion"];

/// Size words that make an effusion large (emergent).
const LARGE: &[&str] = &["large", "massive", "extensive"];

/// Every emergent term (a large effusion is checked separately, by [`large_effusion`]).
const EMERGENT: &[&str] = &[
    "pneumothorax",
    "pneumothoraces",
    "hydropneumothorax",
    "hemopneumothorax",
    "edema",
    "heart failure",
    "cardiac failure",
    "chf",
    "congestive failure",
    "pneumoperitoneum",
    "free air",
    "subcutaneous emphysema",
    "subcutaneous air",
    "pneumomediastinum",
    "aneurysm",
    "aneurysmal",
    "dissection",
    "pericardial effusion",
];

/// Infection and airspace filling (urgent).
const AIRSPACE: &[&str] = &[
    "airspace disease",
    "air space disease",
    "consolidation",
    "consolidations",
    "consolidative",
    "pneumonia",
    "pneumonias",
    "infiltrate",
    "infiltrates",
];

/// Effusions (urgent unless large).
const EFFUSION: &[&str] = &["effusion", "effusions"];

/// Opacities and masses (urgent).
const OPACITY: &[&str] = &["opacity", "opacities", "density", "densities", "mass", "masses"];

/// Fractures and dislocations (urgent unless old).
const FRACTURE: &[&str] = &["fracture", "fractures", "dislocation", "dislocated"];

/// Other urgent findings: vascular congestion, tuberculosis, collapse.
const CONGESTION: &[&str] = &[
    "vascular congestion",
    "pulmonary congestion",
    "tuberculosis",
    "cavitation",
    "cavitary",
    "bronchitis",
    "volume loss",
    "mediastinal shift",
    "collapse",
];

/// Every urgent term.
const URGENT: &[&str] = &[
    "airspace disease",
    "air space disease",
    "consolidation",
    "consolidations",
    "consolidative",
    "pneumonia",
    "pneumonias",
    "infiltrate",
    "infiltrates",
    "effusion",
    "effusions",
    "opacity",
    "opacities",
    "density",
    "densities",
    "mass",
    "masses",
    "fracture",
    "fractures",
    "dislocation",
    "dislocated",
    "vascular congestion",
    "pulmonary congestion",
    "tuberculosis",
    "cavitation",
    "cavitary",
    "bronchitis",
    "volume loss",
    "mediastinal shift",
    "collapse",
];

/// Healed granulomatous disease (non-urgent).
const GRANULOMA: &[&str] = &[
    "granuloma",
    "granulomas",
    "granulomata",
    "granulomatous",
    "histoplasmoma",
    "histoplasmosis",
    "calcified lymph",
    "calcified node",
    "calcified nodes",
    "calcified hilar",
    "calcified mediastinal",
    "calcified nodule",
    "calcified nodules",
];

/// Degenerative and other chronic bone changes (non-urgent).
const DEGENERATIVE: &[&str] = &[
    "degenerative",
    "spondylosis",
    "osteophyte",
    "osteophytes",
    "scoliosis",
    "levoscoliosis",
    "dextroscoliosis",
    "kyphosis",
    "kyphotic",
    "dish",
    "osteopenia",
    "osteoporosis",
    "arthritis",
    "arthritic",
    "dextrocurvature",
    "levocurvature",
    "spondylitic",
];

/// An aging aorta (non-urgent).
const AORTA: &[&str] = &[
    "tortuous",
    "tortuosity",
    "ectatic",
    "ectasia",
    "atherosclerotic",
    "atherosclerosis",
    "unfolded",
    "unfolding",
    "aortic calcification",
    "calcified aorta",
    "calcification of the aorta",
    "calcified aortic",
];

/// Surgical changes and devices (non-urgent).
const DEVICES: &[&str] = &[
    "sternotomy",
    "cabg",
    "clip",
    "clips",
    "surgical",
    "postsurgical",
    "postoperative",
    "catheter",
    "pacemaker",
    "pacer",
    "port",
    "stent",
    "tube",
    "picc",
    "wire",
    "wires",
    "hardware",
    "prosthesis",
    "prosthetic",
    "device",
    "leads",
    "defibrillator",
    "fixation",
    "plate",
    "screws",
    "mastectomy",
    "lobectomy",
    "resection",
    "vertebroplasty",
    "kyphoplasty",
];

/// Chronic lung and pleural changes (non-urgent).
const CHRONIC_LUNG: &[&str] = &[
    "hyperinflation",
    "hyperinflated",
    "hyperexpanded",
    "hyperexpansion",
    "emphysema",
    "emphysematous",
    "copd",
    "scarring",
    "scar",
    "scars",
    "fibrosis",
    "fibrotic",
    "atelectasis",
    "atelectatic",
    "bulla",
    "bullae",
    "bullous",
    "interstitial",
    "pleural thickening",
    "hyperlucent",
    "blunting",
    "eventration",
    "hernia",
    "low lung volumes",
    "hypoinflation",
    "hypoinflated",
    "crowding",
    "bronchiectasis",
    "elevated",
    "elevation",
];

/// Words that describe a heart at or above the upper limit of normal size.
const BIG_HEART: &[&str] = &[
    "cardiomegaly",
    "enlarged",
    "enlargement",
    "borderline",
    "upper limits of normal",
    "top normal",
    "prominent",
    "prominence",
];

/// Words that place a clause on the heart.
const HEART: &[&str] = &["heart", "cardiac", "cardiomegaly", "cardiomediastinal"];

/// Words that grade an enlargement as more than mild.
const SEVERE: &[&str] =
    &["moderate", "moderately", "severe", "severely", "marked", "markedly", "massive", "significant"];

/// Nodules, calcifications and other incidental lesions (non-urgent).
const NODULE: &[&str] = &[
    "nodule",
    "nodules",
    "nodular",
    "calcified",
    "calcification",
    "calcifications",
    "lucency",
    "deformity",
    "deformities",
    "lesion",
];

/// Conclusions that rule acute disease out.
const NO_ACUTE: &[&str] = &[
    "no acute",
    "normal chest",
    "no active",
    "negative chest",
    "no evidence of active",
    "without acute",
    "negative for acute",
    "no radiographic evidence of acute",
    "no abnormality",
    "normal exam",
];

/// Statements that the lungs are clear.
const CLEAR_LUNGS: &[&str] = &[
    "lungs are clear",
    "clear lungs",
    "lungs clear",
    "lungs are otherwise clear",
    "lungs appear clear",
    "lungs remain clear",
    "lungs are grossly clear",
];

/// Statements that something is normal.
const NORMAL: &[&str] = &["normal", "clear", "unremarkable", "within normal limits", "no acute"];

/// A large pleural effusion: a definite effusion with a size word of [`LARGE`] before it in its
/// clause, and not a pericardial one.
fn large_effusion(text: &Clauses) -> bool {
    text.mentions(EFFUSION)
        .iter()
        .any(|m| m.is_definite() && has_any(m.before(), LARGE) && m.before().last().is_none_or(|w| w != "pericardial"))
}

/// The report has a definite emergent finding.
fn has_emergent(text: &Clauses) -> bool {
    text.has_definite(EMERGENT) || large_effusion(text)
}

/// The report has a current urgent finding or a definite emergent one.
fn has_acute(text: &Clauses) -> bool {
    has_emergent(text) || text.has_current(URGENT)
}

/// Votes Emergent when the report's body has a definite mention of `terms`.
fn emergent_if(r: &Parsed, terms: &[&str]) -> Option<Acute> {
    r.body.has_definite(terms).then_some(Acute::Emergent)
}

/// Votes Urgent when the report's body has a current mention of `terms` and no definite
/// emergent finding.
fn urgent_if(r: &Parsed, terms: &[&str]) -> Option<Acute> {
    let body = &r.body;
    (body.has_current(terms) && !has_emergent(body)).then_some(Acute::Urgent)
}

/// Votes NonUrgent when the report's body mentions `terms` without negation and has no acute
/// finding.
fn non_urgent_if(r: &Parsed, terms: &[&str]) -> Option<NonAcute> {
    let body = &r.body;
    (body.affirms(terms) && !has_acute(body)).then_some(NonAcute::NonUrgent)
}

// ---------------------------------------------------------------------------------------------
// Triage: Acute or NonAcute
// ---------------------------------------------------------------------------------------------

/// Votes NonAcute when the conclusion rules acute disease out: "no acute", "normal chest", "no
/// active disease", "negative for acute"…
#[labeling_function(task = "Triage")]
fn lf_no_acute_impression(r: &Parsed) -> Option<Triage> {
    r.conclusion.mentions_any(NO_ACUTE).then_some(Triage::NonAcute)
}

/// Votes NonAcute when the report says the lungs are clear and has no acute finding.
#[labeling_function(task = "Triage")]
fn lf_clear_lungs(r: &Parsed) -> Option<Triage> {
    let body = &r.body;
    (body.mentions_any(CLEAR_LUNGS) && !has_acute(body)).then_some(Triage::NonAcute)
}

/// Votes NonAcute when the report lists acute findings only to rule them out ("No focal
/// consolidation, effusion, or pneumothorax") and has none.
#[labeling_function(task = "Triage")]
fn lf_pertinent_negatives(r: &Parsed) -> Option<Triage> {
    let body = &r.body;
    let listed = body.mentions_any(URGENT) || body.mentions_any(EMERGENT);
    (listed && !has_acute(body)).then_some(Triage::NonAcute)
}

/// Votes Acute when the impression has a current urgent or emergent finding.
#[labeling_function(task = "Triage")]
fn lf_acute_impression(r: &Parsed) -> Option<Triage> {
    let impression = &r.impression;
    (impression.has_current(URGENT) || impression.has_current(EMERGENT)).then_some(Triage::Acute)
}

/// Votes Acute when the findings have a current airspace disease, effusion, opacity or emergent
/// finding.
#[labeling_function(task = "Triage")]
fn lf_acute_findings(r: &Parsed) -> Option<Triage> {
    let findings = &r.findings;
    let hit = [AIRSPACE, EFFUSION, OPACITY, EMERGENT].iter().any(|terms| findings.has_current(terms));
    hit.then_some(Triage::Acute)
}

// ---------------------------------------------------------------------------------------------
// Acute: Urgent or Emergent
// ---------------------------------------------------------------------------------------------

/// Votes Emergent on a definite pneumothorax (also hydro- and hemopneumothorax).
#[labeling_function(task = "Acute")]
fn lf_pneumothorax(r: &Parsed) -> Option<Acute> {
    emergent_if(r, PNEUMOTHORAX)
}

/// Votes Emergent on definite pulmonary edema or heart failure: "edema", "heart failure",
/// "cardiac failure", "CHF".
#[labeling_function(task = "Acute")]
fn lf_edema(r: &Parsed) -> Option<Acute> {
    emergent_if(r, EDEMA)
}

/// Votes Emergent on a large pleural effusion: "large", "massive" or "extensive" before the
/// effusion in its clause.
#[labeling_function(task = "Acute")]
fn lf_large_effusion(r: &Parsed) -> Option<Acute> {
    large_effusion(&r.body).then_some(Acute::Emergent)
}

/// Votes Emergent on extraluminal air: pneumoperitoneum, free air, subcutaneous emphysema,
/// pneumomediastinum.
#[labeling_function(task = "Acute")]
fn lf_free_air(r: &Parsed) -> Option<Acute> {
    emergent_if(r, FREE_AIR)
}

/// Votes Emergent on a definite aortic aneurysm or dissection or a pericardial effusion.
#[labeling_function(task = "Acute")]
fn lf_cardiovascular(r: &Parsed) -> Option<Acute> {
    emergent_if(r, CARDIOVASCULAR)
}

/// Votes Urgent on current airspace disease: consolidation, pneumonia, infiltrate.
#[labeling_function(task = "Acute")]
fn lf_airspace(r: &Parsed) -> Option<Acute> {
    urgent_if(r, AIRSPACE)
}

/// Votes Urgent on a current pleural effusion that is not large.
#[labeling_function(task = "Acute")]
fn lf_effusion(r: &Parsed) -> Option<Acute> {
    urgent_if(r, EFFUSION)
}

/// Votes Urgent on a current opacity, density or mass.
#[labeling_function(task = "Acute")]
fn lf_opacity(r: &Parsed) -> Option<Acute> {
    urgent_if(r, OPACITY)
}

/// Votes Urgent on a fracture or dislocation that is not old or healed.
#[labeling_function(task = "Acute")]
fn lf_fracture(r: &Parsed) -> Option<Acute> {
    urgent_if(r, FRACTURE)
}

/// Votes Urgent on vascular congestion, tuberculosis, cavitation, bronchitis, volume loss,
/// mediastinal shift or collapse.
#[labeling_function(task = "Acute")]
fn lf_congestion(r: &Parsed) -> Option<Acute> {
    urgent_if(r, CONGESTION)
}

/// Votes Urgent on a moderately or markedly enlarged heart: "cardiomegaly", "enlarged" or
/// "large" with a grade of [`SEVERE`] in a clause about the heart.
#[labeling_function(task = "Acute")]
fn lf_marked_cardiomegaly(r: &Parsed) -> Option<Acute> {
    let body = &r.body;
    let hit = body
        .mentions(&["cardiomegaly", "enlarged", "enlargement", "large"])
        .iter()
        .any(|m| m.is_affirmed() && has_any(m.clause, HEART) && has_any(m.clause, SEVERE));
    (hit && !has_emergent(body)).then_some(Acute::Urgent)
}

// ---------------------------------------------------------------------------------------------
// NonAcute: Normal or NonUrgent
// ---------------------------------------------------------------------------------------------

/// Votes Normal when the report calls something normal or clear and mentions no finding of any
/// severity without negating it.
#[labeling_function(task = "NonAcute")]
fn lf_normal(r: &Parsed) -> Option<NonAcute> {
    let body = &r.body;
    let finding = [URGENT, EMERGENT, GRANULOMA, DEGENERATIVE, AORTA, DEVICES, CHRONIC_LUNG, BIG_HEART, NODULE]
        .iter()
        .any(|terms| body.affirms(terms));
    (body.mentions_any(NORMAL) && !finding).then_some(NonAcute::Normal)
}

/// Votes NonUrgent on granulomas and calcified nodes, without an acute finding.
#[labeling_function(task = "NonAcute")]
fn lf_granuloma(r: &Parsed) -> Option<NonAcute> {
    non_urgent_if(r, GRANULOMA)
}

/// Votes NonUrgent on degenerative spine and other chronic bone changes (spondylosis,
/// scoliosis, kyphosis, osteopenia), without an acute finding.
#[labeling_function(task = "NonAcute")]
fn lf_degenerative(r: &Parsed) -> Option<NonAcute> {
    non_urgent_if(r, DEGENERATIVE)
}

/// Votes NonUrgent on a tortuous, ectatic, unfolded or atherosclerotic aorta, without an acute
/// finding.
#[labeling_function(task = "NonAcute")]
fn lf_aorta(r: &Parsed) -> Option<NonAcute> {
    non_urgent_if(r, AORTA)
}

/// Votes NonUrgent on surgical changes and devices (sternotomy, clips, catheters, pacemakers,
/// tubes, stents), without an acute finding.
#[labeling_function(task = "NonAcute")]
fn lf_devices(r: &Parsed) -> Option<NonAcute> {
    non_urgent_if(r, DEVICES)
}

/// Votes NonUrgent on chronic lung changes (hyperinflation, emphysema, COPD, scarring,
/// atelectasis, interstitial markings, low lung volumes), without an acute finding.
#[labeling_function(task = "NonAcute")]
fn lf_chronic_lung(r: &Parsed) -> Option<NonAcute> {
    non_urgent_if(r, CHRONIC_LUNG)
}

/// Votes NonUrgent on a mildly enlarged or borderline heart (a word of [`BIG_HEART`] in a
/// clause about the heart), without an acute finding.
#[labeling_function(task = "NonAcute")]
fn lf_mild_cardiomegaly(r: &Parsed) -> Option<NonAcute> {
    let body = &r.body;
    let hit = body.mentions(BIG_HEART).iter().any(|m| m.is_affirmed() && has_any(m.clause, HEART));
    (hit && !has_acute(body)).then_some(NonAcute::NonUrgent)
}

/// Votes NonUrgent on nodules, calcifications and other incidental lesions, without an acute
/// finding.
#[labeling_function(task = "NonAcute")]
fn lf_nodule(r: &Parsed) -> Option<NonAcute> {
    non_urgent_if(r, NODULE)
}

/// Votes NonUrgent when an urgent or emergent finding is qualified old, chronic or healed ("old
/// rib fractures") and the report has no acute finding.
#[labeling_function(task = "NonAcute")]
fn lf_old_injury(r: &Parsed) -> Option<NonAcute> {
    let body = &r.body;
    let old = [URGENT, EMERGENT].iter().any(|terms| body.mentions(terms).iter().any(|m| m.is_affirmed() && m.is_old()));
    (old && !has_acute(body)).then_some(NonAcute::NonUrgent)
}

/// All LFs of the radiology task, in label-matrix column order: Triage, then Acute, then
/// NonAcute.
pub fn all_lfs() -> LfSet<triage::Schema, Parsed> {
    lfs![
        lf_no_acute_impression,
        lf_clear_lungs,
        lf_pertinent_negatives,
        lf_acute_impression,
        lf_acute_findings,
        lf_pneumothorax,
        lf_edema,
        lf_large_effusion,
        lf_free_air,
        lf_cardiovascular,
        lf_airspace,
        lf_effusion,
        lf_opacity,
        lf_fracture,
        lf_congestion,
        lf_marked_cardiomegaly,
        lf_normal,
        lf_granuloma,
        lf_degenerative,
        lf_aorta,
        lf_devices,
        lf_chronic_lung,
        lf_mild_cardiomegaly,
        lf_nodule,
        lf_old_injury,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radiology::data::{end_label_of_data_label, DATA_LABELS, END_LABELS};

    /// A report with the given findings and impression, prepared as the LFs read it.
    fn report(findings: &str, impression: &str) -> Parsed {
        parse(&raw_report(findings, impression))
    }

    /// A report with the given findings and impression, in the data files' layout.
    fn raw_report(findings: &str, impression: &str) -> Report {
        let mut sections = Vec::new();
        if !findings.is_empty() {
            sections.push(format!("FINDINGS: {findings}"));
        }
        if !impression.is_empty() {
            sections.push(format!("IMPRESSION: {impression}"));
        }
        Report {
            id: "test".into(),
            uid: 0,
            text: sections.join("\n"),
            indication: "Chest pain".into(),
            comparison: "None.".into(),
            findings: findings.into(),
            impression: impression.into(),
            mesh: vec![],
            problems: vec![],
            trigger_terms: vec![],
            data_label: 0,
            label: 2,
            label_name: "normal".into(),
        }
    }

    const NORMAL_REPORT: &str = "The heart is normal in size. The lungs are clear. No focal consolidation, \
                                 pleural effusion, or pneumothorax.";

    #[test]
    fn term_lists_are_normalized() {
        let lists = [
            PNEUMOTHORAX,
            EDEMA,
            FREE_AIR,
            CARDIOVASCULAR,
            EMERGENT,
            AIRSPACE,
            EFFUSION,
            OPACITY,
            FRACTURE,
            CONGESTION,
            URGENT,
            GRANULOMA,
            DEGENERATIVE,
            AORTA,
            DEVICES,
            CHRONIC_LUNG,
            BIG_HEART,
            NODULE,
            NO_ACUTE,
            CLEAR_LUNGS,
            NORMAL,
        ];
        for term in lists.iter().flat_map(|l| l.iter()) {
            assert_eq!(words(term).collect::<Vec<_>>().join(" "), *term, "term `{term}` must be lowercase words");
        }
        let mut emergent: Vec<&str> = [PNEUMOTHORAX, EDEMA, FREE_AIR, CARDIOVASCULAR].concat();
        emergent.sort_unstable();
        let mut all = EMERGENT.to_vec();
        all.sort_unstable();
        assert_eq!(emergent, all, "EMERGENT is the union of the emergent lists");
        let mut urgent: Vec<&str> = [AIRSPACE, EFFUSION, OPACITY, FRACTURE, CONGESTION].concat();
        urgent.sort_unstable();
        let mut all = URGENT.to_vec();
        all.sort_unstable();
        assert_eq!(urgent, all, "URGENT is the union of the urgent lists");
    }

    #[test]
    fn clauses_and_negation() {
        let text = Clauses::of("No pneumothorax. Small left effusion, but no consolidation.\nIMPRESSION: Edema");
        assert_eq!(text.0.len(), 5);
        assert!(!text.has_current(PNEUMOTHORAX));
        assert!(text.mentions_any(PNEUMOTHORAX));
        assert!(text.has_current(EFFUSION));
        assert!(!text.has_current(&["consolidation"]));
        assert!(text.has_definite(EDEMA));

        let listed = Clauses::of("Negative for focal airspace disease, pleural effusion or pneumothorax.");
        assert!(!listed.affirms(AIRSPACE) && !listed.affirms(EFFUSION) && !listed.affirms(PNEUMOTHORAX));
        assert!(!Clauses::of("The lungs are clear of focal airspace disease.").affirms(AIRSPACE));
        assert!(!Clauses::of("The left effusion has resolved.").affirms(EFFUSION));
        assert!(!Clauses::of("Pneumothorax is not seen.").affirms(PNEUMOTHORAX));
        assert!(!Clauses::of("nopneumothorax").mentions_any(PNEUMOTHORAX));

        let old = Clauses::of("Healed remote left 9th rib fracture.");
        assert!(old.affirms(FRACTURE) && !old.has_current(FRACTURE));
        let hedged = Clauses::of("Findings may indicate edema or atypical infection.");
        assert!(hedged.has_current(EDEMA) && !hedged.has_definite(EDEMA));
    }

    #[test]
    fn end_labels_follow_the_schema_order() {
        use triage::EndLabel as E;
        let expected = [E::NonAcuteNormal, E::NonAcuteNonUrgent, E::AcuteUrgent, E::AcuteEmergent];
        for (data_label, want) in expected.into_iter().enumerate() {
            let label = end_label_of_data_label(data_label).unwrap();
            assert_eq!(E::from_index(label), Some(want), "{}", DATA_LABELS[data_label]);
            let leaf = want.name().rsplit('/').next().unwrap().to_lowercase();
            assert_eq!(leaf, END_LABELS[label].replace('-', ""));
        }
    }

    #[test]
    fn triage_lfs() {
        let normal = report(NORMAL_REPORT, "No acute cardiopulmonary disease.");
        assert_eq!(lf_no_acute_impression(&normal), Some(Triage::NonAcute));
        assert_eq!(lf_clear_lungs(&normal), Some(Triage::NonAcute));
        assert_eq!(lf_pertinent_negatives(&normal), Some(Triage::NonAcute));
        assert_eq!(lf_acute_impression(&normal), None);
        assert_eq!(lf_acute_findings(&normal), None);
        assert_eq!(lf_no_acute_impression(&report("", "Normal chest.")), Some(Triage::NonAcute));

        let pneumonia = report(
            "The lungs are clear on the right. There is left lower lobe consolidation. No pneumothorax.",
            "Left lower lobe pneumonia.",
        );
        assert_eq!(lf_acute_impression(&pneumonia), Some(Triage::Acute));
        assert_eq!(lf_acute_findings(&pneumonia), Some(Triage::Acute));
        assert_eq!(lf_clear_lungs(&pneumonia), None);
        assert_eq!(lf_pertinent_negatives(&pneumonia), None);
        assert_eq!(lf_no_acute_impression(&pneumonia), None);
        let old = report("Old right rib fractures. Lungs are clear.", "Old rib fractures.");
        assert_eq!(lf_acute_impression(&old), None);
    }

    #[test]
    fn acute_lfs() {
        let ptx = report("Small right apical pneumothorax. Small right pleural effusion.", "Right pneumothorax.");
        assert_eq!(lf_pneumothorax(&ptx), Some(Acute::Emergent));
        assert_eq!(lf_effusion(&ptx), None, "an urgent LF abstains on an emergent report");
        assert_eq!(lf_pneumothorax(&report(NORMAL_REPORT, "Normal chest.")), None);

        let chf = report("The heart is enlarged. Interstitial edema.", "Congestive heart failure.");
        assert_eq!(lf_edema(&chf), Some(Acute::Emergent));
        assert_eq!(lf_edema(&report("No typical findings of pulmonary edema.", "No acute findings")), None);
        assert_eq!(lf_edema(&report("", "Findings may indicate edema or atypical infection.")), None);

        let large = report("There is a large right pleural effusion.", "Large right effusion.");
        assert_eq!(lf_large_effusion(&large), Some(Acute::Emergent));
        assert_eq!(lf_large_effusion(&report("No large pleural effusion.", "No acute disease.")), None);
        assert_eq!(lf_free_air(&report("", "Free air under the right hemidiaphragm.")), Some(Acute::Emergent));
        assert_eq!(lf_free_air(&report("No free air is appreciated.", "")), None);
        assert_eq!(lf_cardiovascular(&report("", "Known ascending aortic aneurysm.")), Some(Acute::Emergent));
        assert_eq!(lf_cardiovascular(&report("", "Question pericardial effusion.")), None);

        let pneumonia = report("Patchy airspace opacities in the left base.", "Left lower lobe pneumonia.");
        assert_eq!(lf_airspace(&pneumonia), Some(Acute::Urgent));
        assert_eq!(lf_opacity(&pneumonia), Some(Acute::Urgent));
        assert_eq!(lf_effusion(&report("Small bilateral pleural effusions.", "")), Some(Acute::Urgent));
        assert_eq!(lf_fracture(&report("Acute displaced right 6th rib fracture.", "")), Some(Acute::Urgent));
        assert_eq!(lf_fracture(&report("Healed left rib fractures.", "")), None);
        assert_eq!(lf_congestion(&report("Central pulmonary vascular congestion.", "")), Some(Acute::Urgent));
        assert_eq!(lf_marked_cardiomegaly(&report("The heart is markedly enlarged.", "")), Some(Acute::Urgent));
        assert_eq!(lf_marked_cardiomegaly(&report("The heart is mildly enlarged.", "")), None);
    }

    #[test]
    fn non_acute_lfs() {
        let normal = report(NORMAL_REPORT, "Normal chest.");
        assert_eq!(lf_normal(&normal), Some(NonAcute::Normal));
        for lf in [lf_granuloma, lf_degenerative, lf_aorta, lf_devices, lf_chronic_lung, lf_nodule, lf_old_injury] {
            assert_eq!(lf(&normal), None);
        }

        let granuloma = report("Calcified granuloma in the right upper lobe. Lungs are clear.", "No acute disease.");
        assert_eq!(lf_granuloma(&granuloma), Some(NonAcute::NonUrgent));
        assert_eq!(lf_normal(&granuloma), None);
        let spine = report("Mild degenerative changes of the thoracic spine.", "No active disease.");
        assert_eq!(lf_degenerative(&spine), Some(NonAcute::NonUrgent));
        assert_eq!(lf_aorta(&report("The aorta is tortuous.", "No acute findings.")), Some(NonAcute::NonUrgent));
        let cabg = report("Median sternotomy wires and CABG clips.", "No acute disease.");
        assert_eq!(lf_devices(&cabg), Some(NonAcute::NonUrgent));
        let copd = report("Hyperexpanded lungs.", "Changes of COPD. No acute process.");
        assert_eq!(lf_chronic_lung(&copd), Some(NonAcute::NonUrgent));
        let heart = report("Borderline cardiomegaly. Clear lungs.", "No acute pulmonary findings.");
        assert_eq!(lf_mild_cardiomegaly(&heart), Some(NonAcute::NonUrgent));
        assert_eq!(lf_mild_cardiomegaly(&report("Heart size is not enlarged.", "")), None);
        assert_eq!(lf_nodule(&report("A 7 mm right upper lobe nodule.", "")), Some(NonAcute::NonUrgent));
        let old = report("Old right rib fractures. Lungs are clear.", "No acute cardiopulmonary abnormality.");
        assert_eq!(lf_old_injury(&old), Some(NonAcute::NonUrgent));

        let acute = report("Calcified granuloma. Right lower lobe consolidation.", "Pneumonia.");
        assert_eq!(lf_granuloma(&acute), None, "a non-urgent LF abstains on an acute report");
    }

    #[test]
    fn set_has_lfs_on_every_task() {
        let set = all_lfs();
        assert_eq!(set.len(), 25);
        let mut per_task = [0usize; 3];
        for info in set.infos() {
            per_task[info.task] += 1;
        }
        assert_eq!(per_task, [5, 11, 9]);
    }
}
