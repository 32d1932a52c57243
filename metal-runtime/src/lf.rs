//! Labeling functions (LFs), LF sets, and applying them to data.
//!
//! An LF is a plain Rust function `fn(&X) -> Option<TaskEnum>` marked with
//! [`#[labeling_function]`](crate::labeling_function); `None` abstains. The macro keeps the
//! function as it is and adds a hidden proxy type of the same name implementing
//! [`LabelingFunction`], which [`lfs!`](crate::lfs) collects into an explicit, ordered [`LfSet`].
//! Closures can join a set too, with [`LfSet::push_fn`].

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ApplyError;
use crate::io::items::JsonLines;
use crate::label_matrix::{LabelMatrix, LfInfo};
use crate::schema::{Task, TaskId, TaskSchema};

pub use crate::label_matrix::Vote;

/// Where an LF is defined, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Location {
    /// Source file.
    pub file: &'static str,
    /// 1-based line.
    pub line: u32,
}

/// A labeling function over items of type `X`.
///
/// Implemented by `#[labeling_function]` for the proxy type it generates; implement it by hand for
/// LFs that carry state (a keyword list, a model).
pub trait LabelingFunction<X: ?Sized>: Send + Sync + 'static {
    /// The task this LF votes on.
    type Task: Task;

    /// The LF's name, unique within a set.
    fn name(&self) -> &str;

    /// The LF's label for `x`; `None` abstains.
    fn label(&self, x: &X) -> Option<Self::Task>;

    /// Where the LF is defined.
    fn location(&self) -> Location {
        Location::default()
    }
}

/// An LF with its task erased, as stored in an [`LfSet`].
trait ErasedLf<X: ?Sized>: Send + Sync {
    fn name(&self) -> &str;
    fn task(&self) -> TaskId;
    fn vote(&self, x: &X) -> Vote;
    fn location(&self) -> Location;
}

struct Erased<L>(L);

impl<X: ?Sized, L: LabelingFunction<X>> ErasedLf<X> for Erased<L> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn task(&self) -> TaskId {
        <L::Task as Task>::INDEX
    }
    fn vote(&self, x: &X) -> Vote {
        self.0.label(x).into()
    }
    fn location(&self) -> Location {
        self.0.location()
    }
}

/// An LF made from a name and a closure (see [`LfSet::push_fn`]).
pub struct FnLf<T, F> {
    name: String,
    f: F,
    _task: PhantomData<fn() -> T>,
}

impl<X: ?Sized, T: Task, F: Fn(&X) -> Option<T> + Send + Sync + 'static> LabelingFunction<X> for FnLf<T, F> {
    type Task = T;
    fn name(&self) -> &str {
        &self.name
    }
    fn label(&self, x: &X) -> Option<T> {
        (self.f)(x)
    }
}

/// An explicit, ordered set of LFs over items `X`, all on tasks of schema `S`.
///
/// The order of the set is the column order of the label matrix it produces.
pub struct LfSet<S: TaskSchema, X: ?Sized> {
    lfs: Vec<Box<dyn ErasedLf<X>>>,
    _schema: PhantomData<fn() -> S>,
}

impl<S: TaskSchema, X: ?Sized> Default for LfSet<S, X> {
    fn default() -> Self {
        LfSet { lfs: Vec::new(), _schema: PhantomData }
    }
}

impl<S: TaskSchema, X: ?Sized> fmt::Debug for LfSet<S, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.lfs.iter().map(|lf| lf.name())).finish()
    }
}

impl<S: TaskSchema, X: ?Sized + 'static> LfSet<S, X> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an LF at the end of the set.
    pub fn push<L>(&mut self, lf: L) -> &mut Self
    where
        L: LabelingFunction<X>,
        L::Task: Task<Schema = S>,
    {
        self.lfs.push(Box::new(Erased(lf)));
        self
    }

    /// Adds an LF at the end of the set, builder style.
    pub fn with<L>(mut self, lf: L) -> Self
    where
        L: LabelingFunction<X>,
        L::Task: Task<Schema = S>,
    {
        self.push(lf);
        self
    }

    /// Adds a closure as an LF named `name`.
    ///
    /// ```
    /// # use metal_runtime::prelude::*;
    /// # #[task_schema] mod s { pub enum Sentiment { Negative, Positive } }
    /// let mut lfs = LfSet::<s::Schema, str>::new();
    /// for word in ["great", "love"] {
    ///     lfs.push_fn(format!("kw_{word}"), move |x: &str| x.contains(word).then_some(s::Sentiment::Positive));
    /// }
    /// assert_eq!(lfs.len(), 2);
    /// ```
    pub fn push_fn<T, F>(&mut self, name: impl Into<String>, f: F) -> &mut Self
    where
        T: Task<Schema = S>,
        F: Fn(&X) -> Option<T> + Send + Sync + 'static,
    {
        self.push(FnLf { name: name.into(), f, _task: PhantomData })
    }

    /// Appends all LFs of `other`.
    pub fn extend(&mut self, other: LfSet<S, X>) -> &mut Self {
        self.lfs.extend(other.lfs);
        self
    }

    /// Number of LFs `m`.
    pub fn len(&self) -> usize {
        self.lfs.len()
    }

    /// True if the set has no LF.
    pub fn is_empty(&self) -> bool {
        self.lfs.is_empty()
    }

    /// The LFs' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.lfs.iter().map(|lf| lf.name()).collect()
    }

    /// The LFs' names and tasks, in order (the label matrix's columns).
    pub fn infos(&self) -> Vec<LfInfo> {
        self.lfs.iter().map(|lf| LfInfo { name: lf.name().to_owned(), task: lf.task() }).collect()
    }

    /// Where each LF is defined.
    pub fn locations(&self) -> Vec<Location> {
        self.lfs.iter().map(|lf| lf.location()).collect()
    }

    /// Applies every LF to every item with the default [`ApplyConfig`].
    pub fn apply(&self, items: &[X]) -> Result<LabelMatrix, ApplyError>
    where
        X: Sized + Sync,
    {
        self.apply_with(items, &ApplyConfig::default()).map(|(m, _)| m)
    }

    /// Applies every LF to every item, in parallel, and reports what happened.
    ///
    /// The matrix is identical to that of a sequential run, whatever the number of threads.
    pub fn apply_with(&self, items: &[X], config: &ApplyConfig) -> Result<(LabelMatrix, ApplyReport), ApplyError>
    where
        X: Sized + Sync,
    {
        apply(self, items, &AsIs, config)
    }

    /// Applies every LF to a prepared form of each item: `prepare` runs once per item, inside
    /// the parallel chunks, and every LF reads its result (snorkel's `pre=[...]` preprocessors,
    /// without a memo table). The LFs of the set take `&X` where `X` is the prepared type, so the
    /// compiler checks them against what `prepare` returns. A panic in `prepare` is reported as
    /// one of an LF named `(preparation)`; under [`PanicPolicy::Abstain`] the item gets no vote.
    ///
    /// ```
    /// # use metal_runtime::prelude::*;
    /// # #[task_schema] mod s { pub enum Sentiment { Negative, Positive } }
    /// /// What the LFs read: the text lowercased once, and its words.
    /// struct Prepared { lower: String, n_words: usize }
    ///
    /// #[labeling_function(task = "s::Sentiment")]
    /// fn lf_great(p: &Prepared) -> Option<s::Sentiment> {
    ///     p.lower.contains("great").then_some(s::Sentiment::Positive)
    /// }
    /// #[labeling_function(task = "s::Sentiment")]
    /// fn lf_terse(p: &Prepared) -> Option<s::Sentiment> {
    ///     (p.n_words < 3).then_some(s::Sentiment::Negative)
    /// }
    /// let set: LfSet<s::Schema, Prepared> = lfs![lf_great, lf_terse];
    /// let prepare = |t: &String| Prepared { lower: t.to_lowercase(), n_words: t.split_whitespace().count() };
    /// let texts = vec!["GREAT film, loved it".to_owned(), "Meh".to_owned()];
    /// let (matrix, _) = set.apply_prepared(&texts, prepare, &ApplyConfig::default())?;
    /// assert_eq!(matrix.row(0).collect::<Vec<_>>(), [(0, 1)]);
    /// assert_eq!(matrix.row(1).collect::<Vec<_>>(), [(1, 0)]);
    /// # Ok::<(), metal_runtime::error::ApplyError>(())
    /// ```
    pub fn apply_prepared<I: Sync>(
        &self,
        items: &[I],
        prepare: impl Fn(&I) -> X + Sync,
        config: &ApplyConfig,
    ) -> Result<(LabelMatrix, ApplyReport), ApplyError>
    where
        X: Sized,
    {
        apply(self, items, &Prepared(prepare), config)
    }

    /// [`try_apply_iter`](Self::try_apply_iter) with a preparation step, as in
    /// [`apply_prepared`](Self::apply_prepared): the stream's items are prepared in the parallel
    /// chunks, so neither the items nor their prepared forms are all held at once.
    pub fn try_apply_iter_prepared<I: Send + Sync, E: fmt::Display>(
        &self,
        items: impl IntoIterator<Item = Result<I, E>>,
        prepare: impl Fn(&I) -> X + Sync,
        config: &ApplyConfig,
    ) -> Result<(LabelMatrix, ApplyReport), ApplyError>
    where
        X: Sized,
    {
        apply_stream(self, items, &Prepared(prepare), config)
    }

    /// Applies every LF to the items of a JSON-lines file or reader, streamed: the calling
    /// thread reads lines in batches and the parallel chunks parse them into `X` and label them,
    /// so that parsing runs on every thread too. Memory is the label matrix plus two batches of
    /// lines. The matrix is that of [`try_apply_iter`](Self::try_apply_iter) over
    /// [`iter_jsonl`](crate::io::items::iter_jsonl) of the same lines.
    ///
    /// ```
    /// # use metal_runtime::prelude::*;
    /// # use metal_runtime::io::items::JsonLines;
    /// # #[task_schema] mod s { pub enum Sentiment { Negative, Positive } }
    /// #[derive(serde::Deserialize)]
    /// struct Review {
    ///     text: String,
    /// }
    ///
    /// #[labeling_function(task = "s::Sentiment")]
    /// fn lf_great(r: &Review) -> Option<s::Sentiment> {
    ///     r.text.contains("great").then_some(s::Sentiment::Positive)
    /// }
    ///
    /// let set: LfSet<s::Schema, Review> = lfs![lf_great];
    /// let file = "{\"text\": \"great\"}\n\n{\"text\": \"meh\"}\n".as_bytes(); // or JsonLines::open(path)?
    /// let (matrix, _) = set.apply_jsonl(JsonLines::from_reader(file, "reviews.jsonl"), &ApplyConfig::default())?;
    /// assert_eq!(matrix.n_items(), 2);
    /// # Ok::<(), metal_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ApplyError::Read`] naming the file (or reader) and the line when a line cannot be read,
    /// is not UTF-8, or is not valid JSON or not an `X`; what the LFs raise, as in
    /// [`apply_with`](Self::apply_with). The first error in line order is the one reported.
    pub fn apply_jsonl(
        &self,
        source: JsonLines<'_>,
        config: &ApplyConfig,
    ) -> Result<(LabelMatrix, ApplyReport), ApplyError>
    where
        X: Sized + DeserializeOwned,
    {
        let path = source.name().to_path_buf();
        apply_stream(
            self,
            source.nonblank(),
            &Parsed { path: &path, then: AsIs, item: PhantomData::<fn() -> X> },
            config,
        )
    }

    /// [`apply_jsonl`](Self::apply_jsonl) with a preparation step, as in
    /// [`apply_prepared`](Self::apply_prepared): each line is parsed into an `I`, then prepared
    /// into the `X` the LFs read, once, inside the parallel chunks.
    pub fn apply_jsonl_prepared<I: DeserializeOwned>(
        &self,
        source: JsonLines<'_>,
        prepare: impl Fn(&I) -> X + Sync,
        config: &ApplyConfig,
    ) -> Result<(LabelMatrix, ApplyReport), ApplyError>
    where
        X: Sized,
    {
        let path = source.name().to_path_buf();
        let parse = Parsed { path: &path, then: Prepared(prepare), item: PhantomData::<fn() -> I> };
        apply_stream(self, source.nonblank(), &parse, config)
    }

    /// Applies every LF to the items of any iterator, without holding them all: items are read
    /// in batches of a few chunks per thread, each batch is applied in parallel and appended to
    /// the label matrix, then dropped; the next batch is read while one is applied. Memory is the
    /// label matrix plus two batches. The matrix and the report's counts are those of
    /// [`apply_with`](Self::apply_with) on the same items.
    ///
    /// ```
    /// # use metal_runtime::prelude::*;
    /// # #[task_schema] mod s { pub enum Sentiment { Negative, Positive } }
    /// # #[labeling_function(task = "s::Sentiment")]
    /// # fn lf_great(x: &String) -> Option<s::Sentiment> { x.contains("great").then_some(s::Sentiment::Positive) }
    /// let set: LfSet<s::Schema, String> = lfs![lf_great];
    /// let texts = (0..10_000).map(|i| if i % 2 == 0 { "great".to_owned() } else { "meh".to_owned() });
    /// let (matrix, report) = set.apply_iter(texts, &ApplyConfig::default())?;
    /// assert_eq!((matrix.n_items(), report.n_votes), (10_000, 5_000));
    /// # Ok::<(), metal_runtime::error::ApplyError>(())
    /// ```
    pub fn apply_iter(
        &self,
        items: impl IntoIterator<Item = X>,
        config: &ApplyConfig,
    ) -> Result<(LabelMatrix, ApplyReport), ApplyError>
    where
        X: Sized + Send + Sync,
    {
        apply_stream(self, items.into_iter().map(Ok::<X, std::convert::Infallible>), &AsIs, config)
    }

    /// [`apply_iter`](Self::apply_iter) over a reader's fallible items: the first `Err` stops the
    /// run with [`ApplyError::Read`], which keeps the reader's message.
    pub fn try_apply_iter<E: fmt::Display>(
        &self,
        items: impl IntoIterator<Item = Result<X, E>>,
        config: &ApplyConfig,
    ) -> Result<(LabelMatrix, ApplyReport), ApplyError>
    where
        X: Sized + Send + Sync,
    {
        apply_stream(self, items, &AsIs, config)
    }
}

/// What to do when an LF panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PanicPolicy {
    /// Stop with [`ApplyError::LfPanicked`], naming the LF and the first item it panicked on.
    #[default]
    Fail,
    /// Treat the vote as an abstain and count the panic in the [`ApplyReport`].
    Abstain,
}

/// Options of [`LfSet::apply_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyConfig {
    /// What to do when an LF panics.
    pub on_panic: PanicPolicy,
    /// Show a progress bar (on standard error, only when it is a terminal and there are at least
    /// `progress_min_items` items).
    pub progress: bool,
    /// Fewest items for which a progress bar is shown.
    pub progress_min_items: usize,
    /// Run on one thread, in item order.
    pub sequential: bool,
    /// Items per parallel work unit.
    pub chunk_size: usize,
    /// Threads of a pool of this call's own (`None`: rayon's global pool, one thread per core
    /// unless configured otherwise).
    pub threads: Option<usize>,
}

impl Default for ApplyConfig {
    fn default() -> Self {
        ApplyConfig {
            on_panic: PanicPolicy::Fail,
            progress: true,
            progress_min_items: 10_000,
            sequential: false,
            chunk_size: 1024,
            threads: None,
        }
    }
}

/// Panics of one LF under [`PanicPolicy::Abstain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LfPanics {
    /// The LF's name.
    pub lf: String,
    /// Number of items it panicked on (each counted as an abstain).
    pub count: usize,
    /// The first item it panicked on.
    pub first_item: usize,
    /// The message of that panic.
    pub first_message: String,
    /// Where in the source that panic was raised (`file:line:column`), when known.
    pub first_location: Option<String>,
}

/// What [`LfSet::apply_with`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplyReport {
    /// Number of items.
    pub n_items: usize,
    /// Number of LFs.
    pub n_lfs: usize,
    /// Number of non-abstain votes.
    pub n_votes: usize,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Panics per LF that panicked (only under [`PanicPolicy::Abstain`]).
    pub panics: Vec<LfPanics>,
}

thread_local! {
    static IN_LF: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic inside an LF on this thread was raised, recorded by the panic hook.
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that stays silent for panics inside LFs, which the applier reports
/// itself, and defers to the previous hook for every other panic.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_LF.with(Cell::get) {
                let at = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_owned()
    }
}

/// A panic inside an LF: the LF, the item, the message and where it was raised.
struct Panic {
    lf: usize,
    item: usize,
    message: String,
    at: Option<String>,
}

/// One chunk's output: CSR parts relative to the chunk, panics seen (in item order), and the
/// first vote outside its task's labels.
#[derive(Default)]
struct ChunkOut {
    row_len: Vec<u32>,
    lf: Vec<u32>,
    label: Vec<u16>,
    panics: Vec<Panic>,
    bad_label: Option<(usize, usize, u16)>,
    /// The item that could not be read, with the reader's message.
    unreadable: Option<(usize, String)>,
}

/// The index that stands for the preparation step in [`Panic::lf`].
const PREPARATION: usize = usize::MAX;

/// The name the preparation step is reported under.
const PREPARATION_NAME: &str = "(preparation)";

/// Applies the LFs to one chunk. `first_stop` holds the smallest item any chunk has stopped on
/// (a panic under [`PanicPolicy::Fail`], or an item that could not be read): a chunk stops there
/// and skips the items past that one, which cannot change the error reported (the first in item
/// order).
fn apply_chunk<X, P: ?Sized>(
    lfs: &[Box<dyn ErasedLf<P>>],
    cards: &[u16],
    items: &[X],
    prep: &impl Prepare<X, P>,
    offset: usize,
    policy: PanicPolicy,
    first_stop: &AtomicUsize,
) -> ChunkOut {
    let mut out = ChunkOut { row_len: Vec::with_capacity(items.len()), ..ChunkOut::default() };
    IN_LF.with(|f| f.set(true));
    for (i, x) in items.iter().enumerate() {
        let item = offset + i;
        if item > first_stop.load(Ordering::Relaxed) {
            break;
        }
        let before = out.lf.len();
        // Each LF's panic is caught inside; one that reaches here came from the preparation.
        let voted =
            catch_unwind(AssertUnwindSafe(|| prep.with(x, &mut |p| vote_all(lfs, cards, p, item, policy, &mut out))));
        let stop = match voted {
            Ok(Ok(stop)) => stop,
            Ok(Err(message)) => {
                out.unreadable = Some((item, message));
                true
            }
            Err(payload) => {
                let at = PANIC_AT.with(|p| p.borrow_mut().take());
                out.panics.push(Panic { lf: PREPARATION, item, message: panic_message(payload.as_ref()), at });
                policy == PanicPolicy::Fail
            }
        };
        if stop {
            first_stop.fetch_min(item, Ordering::Relaxed);
            break;
        }
        out.row_len.push((out.lf.len() - before) as u32);
    }
    IN_LF.with(|f| f.set(false));
    out
}

/// Every LF's vote on one (prepared) item, appended to `out`; true when an LF panicked under
/// [`PanicPolicy::Fail`].
fn vote_all<P: ?Sized>(
    lfs: &[Box<dyn ErasedLf<P>>],
    cards: &[u16],
    x: &P,
    item: usize,
    policy: PanicPolicy,
    out: &mut ChunkOut,
) -> bool {
    for (j, lf) in lfs.iter().enumerate() {
        match catch_unwind(AssertUnwindSafe(|| lf.vote(x))) {
            Ok(Vote::Abstain) => {}
            Ok(Vote::Label(l)) => {
                if l >= cards[j] && out.bad_label.is_none() {
                    out.bad_label = Some((j, item, l));
                }
                out.lf.push(j as u32);
                out.label.push(l);
            }
            Err(payload) => {
                let at = PANIC_AT.with(|p| p.borrow_mut().take());
                out.panics.push(Panic { lf: j, item, message: panic_message(payload.as_ref()), at });
                if policy == PanicPolicy::Fail {
                    return true;
                }
            }
        }
    }
    false
}

/// How the LFs see an item: as it is, through a preparation step run once per item, or parsed
/// from a line of text first.
trait Prepare<X, P: ?Sized>: Sync {
    /// Calls `f` on the item's prepared form; `Err` with a message (naming the file and line)
    /// when the item cannot be read, which stops the run.
    fn with<T>(&self, x: &X, f: &mut dyn FnMut(&P) -> T) -> Result<T, String>;
}

/// The item itself.
struct AsIs;

impl<X> Prepare<X, X> for AsIs {
    fn with<T>(&self, x: &X, f: &mut dyn FnMut(&X) -> T) -> Result<T, String> {
        Ok(f(x))
    }
}

/// The item's prepared form, made by the user's function.
struct Prepared<F>(F);

impl<X, P, F: Fn(&X) -> P + Sync> Prepare<X, P> for Prepared<F> {
    fn with<T>(&self, x: &X, f: &mut dyn FnMut(&P) -> T) -> Result<T, String> {
        Ok(f(&(self.0)(x)))
    }
}

/// A numbered line of a JSON-lines file, parsed into the item type, then prepared by `Q`.
struct Parsed<'a, I, Q> {
    path: &'a Path,
    then: Q,
    item: PhantomData<fn() -> I>,
}

impl<I: DeserializeOwned, P: ?Sized, Q: Prepare<I, P>> Prepare<(usize, String), P> for Parsed<'_, I, Q> {
    fn with<T>(&self, (line, text): &(usize, String), f: &mut dyn FnMut(&P) -> T) -> Result<T, String> {
        let item: I = serde_json::from_str(text).map_err(|e| crate::io::items::jsonl_error(self.path, *line, &e))?;
        self.then.with(&item, f)
    }
}

/// The label matrix being built, batch by batch: CSR parts, panics per LF (under
/// [`PanicPolicy::Abstain`]) and the progress shown.
struct Builder<'s, S: TaskSchema, X: ?Sized> {
    set: &'s LfSet<S, X>,
    config: &'s ApplyConfig,
    cards: Vec<u16>,
    indptr: Vec<usize>,
    lf: Vec<u32>,
    label: Vec<u16>,
    panics: Vec<Option<LfPanics>>,
    bar: ProgressBar,
}

impl<'s, S: TaskSchema, P: ?Sized + 'static> Builder<'s, S, P> {
    fn new(set: &'s LfSet<S, P>, config: &'s ApplyConfig, bar: ProgressBar) -> Result<Self, ApplyError> {
        if u32::try_from(set.len()).is_err() {
            return Err(ApplyError::TooManyVotes { n_votes: set.len() });
        }
        let graph = S::graph();
        let cards = set.lfs.iter().map(|lf| graph.cardinality(lf.task()) as u16).collect();
        Ok(Builder {
            set,
            config,
            cards,
            indptr: vec![0],
            lf: Vec::new(),
            label: Vec::new(),
            panics: vec![None; set.len() + 1],
            bar,
        })
    }

    fn n_items(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Applies the LFs to the next `items` (in parallel unless the config says otherwise) and
    /// appends their rows.
    fn add<X: Sync>(&mut self, items: &[X], prepare: &impl Prepare<X, P>) -> Result<(), ApplyError> {
        let (lfs, cards, config, offset) = (&self.set.lfs, &self.cards[..], self.config, self.n_items());
        let chunk = config.chunk_size.max(1);
        let first_stop = AtomicUsize::new(usize::MAX);
        let bar = &self.bar;
        let run = |(c, xs): (usize, &[X])| {
            let out = apply_chunk(lfs, cards, xs, prepare, offset + c * chunk, config.on_panic, &first_stop);
            bar.inc(xs.len() as u64);
            out
        };
        let chunks: Vec<ChunkOut> = if config.sequential {
            items.chunks(chunk).enumerate().map(run).collect()
        } else {
            items.par_chunks(chunk).enumerate().map(run).collect()
        };
        // An item that could not be read stops the run, unless a panic came first under `Fail`.
        let unreadable = chunks.iter().find_map(|c| c.unreadable.as_ref());
        let name = |j: usize| if j == PREPARATION { PREPARATION_NAME } else { lfs[j].name() };
        // Panics: under `Fail`, the first panic in item order; under `Abstain`, counts per LF.
        for p in chunks.iter().flat_map(|c| c.panics.iter()) {
            if unreadable.is_some_and(|&(item, _)| item < p.item) {
                break;
            }
            if config.on_panic == PanicPolicy::Fail {
                return Err(ApplyError::LfPanicked {
                    lf: name(p.lf).to_owned(),
                    item: p.item,
                    message: p.message.clone(),
                    location: p.at.clone(),
                });
            }
            let slot = if p.lf == PREPARATION { lfs.len() } else { p.lf };
            let entry = self.panics[slot].get_or_insert_with(|| LfPanics {
                lf: name(p.lf).to_owned(),
                count: 0,
                first_item: p.item,
                first_message: p.message.clone(),
                first_location: p.at.clone(),
            });
            entry.count += 1;
        }
        if let Some((item, message)) = unreadable {
            return Err(ApplyError::Read { item: *item, message: message.clone() });
        }
        // A vote outside its task's labels (a hand-written `Task` whose `label_index` is out of range).
        if let Some((j, item, label)) = chunks.iter().find_map(|c| c.bad_label) {
            return Err(ApplyError::LabelOutOfRange {
                lf: lfs[j].name().to_owned(),
                item,
                label,
                n_labels: usize::from(cards[j]),
            });
        }
        for c in chunks {
            for len in c.row_len {
                self.indptr.push(self.indptr[self.indptr.len() - 1] + len as usize);
            }
            self.lf.extend(c.lf);
            self.label.extend(c.label);
        }
        Ok(())
    }

    fn finish(self, start: Instant) -> (LabelMatrix, ApplyReport) {
        self.bar.finish_and_clear();
        let n_votes = self.lf.len();
        let report = ApplyReport {
            n_items: self.n_items(),
            n_lfs: self.set.len(),
            n_votes,
            seconds: start.elapsed().as_secs_f64(),
            panics: self.panics.into_iter().flatten().collect(),
        };
        let graph = Arc::new(S::graph().clone());
        let matrix = LabelMatrix::from_csr_unchecked(graph, self.set.infos(), self.indptr, self.lf, self.label);
        (matrix, report)
    }
}

/// The pool of [`ApplyConfig::threads`], built once per run (`None`: rayon's global pool).
struct Pool(Option<rayon::ThreadPool>);

impl Pool {
    fn new(threads: Option<usize>) -> Result<Self, ApplyError> {
        let build = |n: usize| rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build();
        threads.map(build).transpose().map(Pool).map_err(|e| ApplyError::Threads { message: e.to_string() })
    }

    /// Runs `f` on this pool.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match &self.0 {
            None => f(),
            Some(pool) => pool.install(f),
        }
    }

    /// Runs `job` on this pool while `here` runs on the calling thread; returns both results.
    fn overlap<A: Send, B>(&self, job: impl FnOnce() -> A + Send, here: impl FnOnce() -> B) -> (A, B) {
        let mut done = None;
        let out = match &self.0 {
            None => rayon::in_place_scope(|scope| {
                scope.spawn(|_| done = Some(job()));
                here()
            }),
            Some(pool) => pool.in_place_scope(|scope| {
                scope.spawn(|_| done = Some(job()));
                here()
            }),
        };
        // The scope returns only once its spawned job has finished (or re-raises its panic).
        (done.unwrap_or_else(|| unreachable!("a scope waits for its jobs")), out)
    }
}

fn apply<S: TaskSchema, X: Sync, P: ?Sized + 'static>(
    set: &LfSet<S, P>,
    items: &[X],
    prepare: &impl Prepare<X, P>,
    config: &ApplyConfig,
) -> Result<(LabelMatrix, ApplyReport), ApplyError> {
    let start = Instant::now();
    install_quiet_hook();
    let bar = if config.progress && items.len() >= config.progress_min_items {
        let bar = ProgressBar::new(items.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("applying LFs {bar:40} {pos}/{len} items [{elapsed_precise} < {eta}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut builder = Builder::new(set, config, bar)?;
    Pool::new(config.threads)?.run(|| builder.add(items, prepare))?;
    Ok(builder.finish(start))
}

fn apply_stream<S: TaskSchema, X: Send + Sync, P: ?Sized + 'static, E: fmt::Display>(
    set: &LfSet<S, P>,
    items: impl IntoIterator<Item = Result<X, E>>,
    prepare: &impl Prepare<X, P>,
    config: &ApplyConfig,
) -> Result<(LabelMatrix, ApplyReport), ApplyError> {
    let start = Instant::now();
    install_quiet_hook();
    let bar = if config.progress {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("applying LFs {spinner} {human_pos} items [{elapsed_precise}, {per_sec}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    // Each batch gives every thread a few chunks. While the pool applies one batch, this thread
    // reads the next, so at most two batches of items are held at a time.
    let threads = config.threads.unwrap_or_else(rayon::current_num_threads).max(1);
    let batch_len = config.chunk_size.max(1) * if config.sequential { 1 } else { 4 * threads };
    let mut builder = Builder::new(set, config, bar)?;
    let pool = Pool::new(config.threads)?;
    let mut items = items.into_iter();
    // Fills `batch` with up to `batch_len` items; `offset` is the index of its first item.
    let read = |items: &mut dyn Iterator<Item = Result<X, E>>, batch: &mut Vec<X>, offset: usize| {
        for item in items.take(batch_len) {
            match item {
                Ok(x) => batch.push(x),
                Err(e) => return Err(ApplyError::Read { item: offset + batch.len(), message: e.to_string() }),
            }
        }
        Ok(())
    };
    let (mut batch, mut next) = (Vec::with_capacity(batch_len), Vec::with_capacity(batch_len));
    read(&mut items, &mut batch, 0)?;
    while !batch.is_empty() {
        // A short batch is the stream's last.
        let more = batch.len() == batch_len;
        let offset = builder.n_items() + batch.len();
        let (added, read_next) = if more && !config.sequential {
            pool.overlap(|| builder.add(&batch, prepare), || read(&mut items, &mut next, offset))
        } else {
            pool.run(|| builder.add(&batch, prepare))?;
            (Ok(()), if more { read(&mut items, &mut next, offset) } else { Ok(()) })
        };
        // Errors in item order: the applied batch's come before the next batch's read error.
        added?;
        read_next?;
        std::mem::swap(&mut batch, &mut next);
        next.clear();
    }
    Ok(builder.finish(start))
}

/// Builds an [`LfSet`] from LFs declared with `#[labeling_function]`, in the order given.
///
/// ```
/// # use metal_runtime::prelude::*;
/// # #[task_schema] mod s { pub enum Sentiment { Negative, Positive } }
/// #[labeling_function(task = "s::Sentiment")]
/// fn lf_great(x: &str) -> Option<s::Sentiment> {
///     x.contains("great").then_some(s::Sentiment::Positive)
/// }
/// #[labeling_function(task = "s::Sentiment")]
/// fn lf_awful(x: &str) -> Option<s::Sentiment> {
///     x.contains("awful").then_some(s::Sentiment::Negative)
/// }
/// let set: LfSet<s::Schema, str> = lfs![lf_great, lf_awful];
/// assert_eq!(set.names(), ["lf_great", "lf_awful"]);
/// ```
#[macro_export]
macro_rules! lfs {
    ($($lf:path),* $(,)?) => {{
        let mut set = $crate::lf::LfSet::new();
        // A `path` fragment cannot start a struct expression; a type alias can.
        $( set.push({ type __MetalLf = $lf; __MetalLf {} }); )*
        set
    }};
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::schema::{EndLabel, TaskGraph, TaskSpec};

    // A hand-written flat schema, as `#[task_schema]` would generate it.
    struct Flat;
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Sentiment {
        Negative,
        Positive,
    }
    #[derive(Clone, Copy)]
    struct End(usize);

    impl TaskSchema for Flat {
        const TASKS: &'static [TaskSpec] = &[TaskSpec {
            name: "Sentiment",
            labels: &["Negative", "Positive"],
            parent: None,
            doc: "",
            label_docs: &["", ""],
        }];
        type EndLabel = End;
        fn graph() -> &'static TaskGraph {
            static G: OnceLock<TaskGraph> = OnceLock::new();
            G.get_or_init(crate::__private::graph_of::<Self>)
        }
    }
    impl Task for Sentiment {
        type Schema = Flat;
        const INDEX: usize = 0;
        fn label_index(&self) -> u16 {
            *self as u16
        }
        fn from_label_index(index: u16) -> Option<Self> {
            [Sentiment::Negative, Sentiment::Positive].get(usize::from(index)).copied()
        }
    }
    /// A hand-written task whose `label_index` is out of range for `Third`.
    #[derive(Debug, Clone, Copy)]
    enum Broken {
        First,
        Third,
    }
    impl Task for Broken {
        type Schema = Flat;
        const INDEX: usize = 0;
        fn label_index(&self) -> u16 {
            match self {
                Broken::First => 0,
                Broken::Third => 2,
            }
        }
        fn from_label_index(index: u16) -> Option<Self> {
            (index == 0).then_some(Broken::First)
        }
    }

    impl EndLabel for End {
        type Schema = Flat;
        fn index(&self) -> usize {
            self.0
        }
        fn from_index(index: usize) -> Option<Self> {
            (index < 2).then_some(End(index))
        }
    }

    fn set() -> LfSet<Flat, u64> {
        let mut set = LfSet::new();
        set.push_fn("even", |x: &u64| x.is_multiple_of(2).then_some(Sentiment::Positive));
        set.push_fn("div3", |x: &u64| x.is_multiple_of(3).then_some(Sentiment::Negative));
        set.push_fn("big", |x: &u64| (*x > 5000).then_some(Sentiment::Positive));
        set
    }

    #[test]
    fn parallel_apply_equals_sequential() {
        let items: Vec<u64> = (0..10_000).collect();
        let par = ApplyConfig { chunk_size: 7, progress: false, ..ApplyConfig::default() };
        let seq = ApplyConfig { sequential: true, progress: false, ..ApplyConfig::default() };
        let (a, ra) = set().apply_with(&items, &par).unwrap();
        let (b, _) = set().apply_with(&items, &seq).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.get(6, 0), Vote::Label(1));
        assert_eq!(a.get(6, 1), Vote::Label(0));
        assert_eq!(a.get(7, 0), Vote::Abstain);
        assert_eq!(ra.n_votes, a.n_votes());
        assert_eq!(a.lfs()[1].name, "div3");
    }

    fn panicky() -> LfSet<Flat, u64> {
        let mut set = set();
        set.push_fn("fragile", |x: &u64| {
            assert!(x % 1000 != 999, "cannot handle {x}");
            Some(Sentiment::Negative)
        });
        set
    }

    #[test]
    fn panic_fails_with_lf_and_first_item() {
        let items: Vec<u64> = (0..5000).collect();
        let config = ApplyConfig { chunk_size: 64, progress: false, ..ApplyConfig::default() };
        let err = panicky().apply_with(&items, &config).unwrap_err();
        let ApplyError::LfPanicked { lf, item, message, location } = &err else { panic!("{err}") };
        assert_eq!((lf.as_str(), *item, message.as_str()), ("fragile", 999, "cannot handle 999"));
        // The location is that of the `assert!` in `panicky`, above.
        let location = location.as_deref().unwrap();
        assert!(location.starts_with("metal-runtime/src/lf.rs:"), "{location}");
        assert_eq!(
            err.to_string(),
            format!("labeling function `fragile` panicked on item 999 at {location}: cannot handle 999")
        );
        // The same error on one thread, in order.
        let seq = ApplyConfig { sequential: true, ..config };
        assert_eq!(panicky().apply_with(&items, &seq).unwrap_err(), err);
    }

    #[test]
    fn panic_as_abstain_is_counted() {
        let items: Vec<u64> = (0..5000).collect();
        let config = ApplyConfig { on_panic: PanicPolicy::Abstain, progress: false, ..ApplyConfig::default() };
        let (m, report) = panicky().apply_with(&items, &config).unwrap();
        assert_eq!(m.get(999, 3), Vote::Abstain);
        assert_eq!(m.get(998, 3), Vote::Label(0));
        assert_eq!(report.panics.len(), 1);
        let p = &report.panics[0];
        assert_eq!((p.lf.as_str(), p.count, p.first_item), ("fragile", 5, 999));
    }

    /// A vote outside its task's labels is an error naming the LF and the item, not a panic in a
    /// label model later.
    #[test]
    fn votes_outside_the_task_are_refused() {
        let mut set = set();
        set.push_fn("broken", |x: &u64| Some(if *x == 7 { Broken::Third } else { Broken::First }));
        let items: Vec<u64> = (0..100).collect();
        let config = ApplyConfig { chunk_size: 8, progress: false, ..ApplyConfig::default() };
        let err = set.apply_with(&items, &config).unwrap_err();
        assert_eq!(
            err.to_string(),
            "labeling function `broken` voted label index 2 on item 7, but its task has 2 labels"
        );
    }

    /// Under `PanicPolicy::Fail`, the items past the first panic are skipped: an early panic in
    /// a long input ends the run after a few chunks, not after every item.
    #[test]
    fn no_work_after_the_first_panic() {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let mut set: LfSet<Flat, u64> = LfSet::new();
        set.push_fn("early", |x: &u64| {
            CALLS.fetch_add(1, Ordering::Relaxed);
            assert!(*x != 100, "item 100");
            Some(Sentiment::Positive)
        });
        let items: Vec<u64> = (0..200_000).collect();
        let config = ApplyConfig { chunk_size: 64, progress: false, ..ApplyConfig::default() };
        let err = set.apply_with(&items, &config).unwrap_err();
        assert!(matches!(err, ApplyError::LfPanicked { item: 100, .. }), "{err}");
        let calls = CALLS.load(Ordering::Relaxed);
        assert!(calls < 10_000, "{calls} calls after a panic on item 100");
    }

    /// Streaming gives the matrix and the counts of `apply_with`, whatever the batch and thread
    /// settings; a panic's item is its index in the stream; a reader's error stops the run with
    /// the reader's message and the item's index.
    #[test]
    fn streaming_equals_apply() {
        let items: Vec<u64> = (0..10_007).collect();
        let quiet = ApplyConfig { progress: false, ..ApplyConfig::default() };
        let (whole, report) = set().apply_with(&items, &quiet).unwrap();
        for config in [
            ApplyConfig { chunk_size: 7, ..quiet.clone() },
            ApplyConfig { chunk_size: 100, threads: Some(3), ..quiet.clone() },
            ApplyConfig { sequential: true, chunk_size: 1000, ..quiet.clone() },
        ] {
            let (m, r) = set().apply_iter(items.iter().copied(), &config).unwrap();
            assert_eq!(m, whole);
            assert_eq!((r.n_items, r.n_votes), (report.n_items, report.n_votes));
        }
        let (empty, _) = set().apply_iter(std::iter::empty(), &quiet).unwrap();
        assert_eq!(empty.n_items(), 0);

        let config = ApplyConfig { chunk_size: 64, ..quiet.clone() };
        let err = panicky().apply_iter(items.iter().copied(), &config).unwrap_err();
        assert!(matches!(err, ApplyError::LfPanicked { item: 999, .. }), "{err}");
        let abstain = ApplyConfig { on_panic: PanicPolicy::Abstain, ..config.clone() };
        let (m, r) = panicky().apply_iter(items.iter().copied(), &abstain).unwrap();
        assert_eq!(m, panicky().apply_with(&items, &abstain).unwrap().0);
        assert_eq!((r.panics[0].count, r.panics[0].first_item), (10, 999));

        let read =
            (0..5000u64)
                .map(|i| if i == 4321 { Err(format!("data.jsonl, line {}: invalid JSON", i + 1)) } else { Ok(i) });
        let err = set().try_apply_iter(read, &config).unwrap_err();
        assert_eq!(err.to_string(), "reading item 4321 failed: data.jsonl, line 4322: invalid JSON");
    }

    /// A stream is read at most two batches ahead of the items being labeled, and its errors come
    /// in item order: a panic in one batch before a read error in the next.
    #[test]
    fn stream_holds_at_most_two_batches() {
        use std::sync::atomic::AtomicUsize;
        let quiet = ApplyConfig { progress: false, chunk_size: 16, threads: Some(2), ..ApplyConfig::default() };
        let batch_len = 16 * 4 * 2;
        let pulled = AtomicUsize::new(0);
        let ahead = AtomicUsize::new(0);
        let stream = (0..20_000u64).map(|x| {
            pulled.fetch_add(1, Ordering::SeqCst);
            Ok::<u64, String>(x)
        });
        let watch = |x: &u64| {
            ahead.fetch_max(pulled.load(Ordering::SeqCst) - *x as usize, Ordering::SeqCst);
            *x
        };
        let (m, _) = set().try_apply_iter_prepared(stream, watch, &quiet).unwrap();
        assert_eq!(m.n_items(), 20_000);
        let ahead = ahead.load(Ordering::SeqCst);
        assert!(ahead <= 2 * batch_len, "read {ahead} items ahead of the one labeled");

        // Item 999 panics (batch 7); item 1100 (batch 8) fails to read, maybe while batch 7 runs.
        let read = (0..5000u64).map(|i| if i == 1100 { Err("bad line".to_owned()) } else { Ok(i) });
        let err = panicky().try_apply_iter(read, &quiet).unwrap_err();
        assert!(matches!(err, ApplyError::LfPanicked { item: 999, .. }), "{err}");
    }

    /// A JSON-lines file parsed in the parallel chunks gives the matrix of its items read one by
    /// one; the first unreadable line, in line order, stops the run with the file and the line.
    #[test]
    fn jsonl_files_parse_in_parallel() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("items.jsonl");
        let mut text = String::new();
        for i in 0..3000u64 {
            text.push_str(&format!("{i}\n"));
            if i % 7 == 0 {
                text.push_str("  \n"); // blank lines are skipped
            }
        }
        std::fs::write(&path, &text).unwrap();
        let items: Vec<u64> = (0..3000).collect();
        let quiet = ApplyConfig { progress: false, chunk_size: 16, threads: Some(3), ..ApplyConfig::default() };
        let (want, _) = set().apply_with(&items, &quiet).unwrap();
        let open = || JsonLines::open(&path).unwrap();
        let (got, report) = set().apply_jsonl(open(), &quiet).unwrap();
        assert_eq!(got, want);
        assert_eq!(report.n_items, 3000);
        let shifted: Vec<u64> = items.iter().map(|x| x + 1).collect();
        let (prepared, _) = set().apply_jsonl_prepared(open(), |x: &u64| x + 1, &quiet).unwrap();
        assert_eq!(prepared, set().apply_with(&shifted, &quiet).unwrap().0);

        // Line 1501 of the file holds item 1312 (188 blank lines come before); item 999 panics in `panicky`.
        let bad = |line: usize| {
            let mut lines: Vec<&str> = text.lines().collect();
            lines[line - 1] = "{not json";
            std::fs::write(&path, lines.join("\n")).unwrap();
        };
        bad(1501);
        let err = set().apply_jsonl(open(), &quiet).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("reading item 1312 failed: "), "{message}");
        assert!(message.contains("items.jsonl, line 1501"), "{message}");
        let err = panicky().apply_jsonl(open(), &quiet).unwrap_err();
        assert!(matches!(err, ApplyError::LfPanicked { item: 999, .. }), "{err}");
        let abstain = ApplyConfig { on_panic: PanicPolicy::Abstain, ..quiet.clone() };
        let err = panicky().apply_jsonl(open(), &abstain).unwrap_err();
        assert!(matches!(err, ApplyError::Read { item: 1312, .. }), "{err}");
        bad(5);
        let err = panicky().apply_jsonl(open(), &quiet).unwrap_err();
        assert!(matches!(err, ApplyError::Read { item: 3, .. }), "{err}");

        // Any reader: its name stands for it in messages.
        let reader = JsonLines::from_reader("1\n2\nthree\n".as_bytes(), "<stdin>");
        let err = set().apply_jsonl(reader, &quiet).unwrap_err();
        assert!(err.to_string().starts_with("reading item 2 failed: <stdin>, line 3: "), "{err}");
    }

    /// A preparation step gives the matrix of the LFs applied to the prepared items, in memory or
    /// streamed; a panic in it is reported as the `(preparation)` step's.
    #[test]
    fn prepared_items() {
        let items: Vec<u64> = (0..5000).collect();
        let quiet = ApplyConfig { progress: false, chunk_size: 64, ..ApplyConfig::default() };
        // The prepared form is the number shifted by one: the LFs see x + 1.
        let shifted: Vec<u64> = items.iter().map(|x| x + 1).collect();
        let (want, _) = set().apply_with(&shifted, &quiet).unwrap();
        let (got, _) = set().apply_prepared(&items, |x: &u64| x + 1, &quiet).unwrap();
        assert_eq!(got, want);
        let stream = items.iter().map(|&x| Ok::<u64, String>(x));
        let (streamed, _) = set().try_apply_iter_prepared(stream, |x: &u64| x + 1, &quiet).unwrap();
        assert_eq!(streamed, want);

        let fragile = |x: &u64| {
            assert!(*x != 1234, "cannot prepare {x}");
            *x
        };
        let err = set().apply_prepared(&items, fragile, &quiet).unwrap_err();
        let ApplyError::LfPanicked { lf, item, .. } = &err else { panic!("{err}") };
        assert_eq!((lf.as_str(), *item), ("(preparation)", 1234));
        let abstain = ApplyConfig { on_panic: PanicPolicy::Abstain, ..quiet.clone() };
        let (m, report) = set().apply_prepared(&items, fragile, &abstain).unwrap();
        assert_eq!(m.row(1234).count(), 0);
        assert_eq!(m.row(1236).count(), set().apply_with(&[1236u64], &quiet).unwrap().0.row(0).count());
        assert_eq!(report.panics.len(), 1);
        assert_eq!((report.panics[0].lf.as_str(), report.panics[0].count), ("(preparation)", 1));
    }
}
