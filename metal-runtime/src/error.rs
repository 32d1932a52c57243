//! Errors, one enum per concern, wrapped by the crate-wide [`Error`].

use std::path::PathBuf;

/// An invalid task hierarchy (from a file or built at run time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The schema has no task.
    #[error("the schema has no task")]
    NoTasks,
    /// Two tasks share a name.
    #[error("duplicate task name `{task}`")]
    DuplicateTask {
        /// The repeated name.
        task: String,
    },
    /// A task has fewer than two labels.
    #[error("task `{task}` has {n_labels} label(s); a task needs at least 2")]
    TooFewLabels {
        /// The task.
        task: String,
        /// Its number of labels.
        n_labels: usize,
    },
    /// A task has more labels than a vote can hold.
    #[error("task `{task}` has {n_labels} labels; at most 65535 are supported")]
    TooManyLabels {
        /// The task.
        task: String,
        /// Its number of labels.
        n_labels: usize,
    },
    /// The schema is beyond what the library's tables hold: more than
    /// [`MAX_TOTAL_LABELS`](crate::schema::MAX_TOTAL_LABELS) labels over all tasks, or more than
    /// [`MAX_FEASIBLE_ENTRIES`](crate::schema::MAX_FEASIBLE_ENTRIES) end labels × tasks.
    #[error(
        "the schema is too large: {n_tasks} tasks with {n_labels} labels in all and {n_end_labels} end labels; \
         at most {max_labels} labels and {max_entries} end labels × tasks are supported",
        max_labels = crate::schema::MAX_TOTAL_LABELS,
        max_entries = crate::schema::MAX_FEASIBLE_ENTRIES
    )]
    TooLarge {
        /// Number of tasks.
        n_tasks: usize,
        /// Labels over all tasks.
        n_labels: usize,
        /// End labels (labels that activate no task).
        n_end_labels: usize,
    },
    /// Two labels of one task share a name.
    #[error("duplicate label `{label}` in task `{task}`")]
    DuplicateLabel {
        /// The task.
        task: String,
        /// The repeated label.
        label: String,
    },
    /// No task is without a parent.
    #[error("the schema has no root task (every task names a parent)")]
    NoRoot,
    /// More than one task is without a parent.
    #[error("the schema has two root tasks, `{first}` and `{second}`; every task but one must name a parent")]
    MultipleRoots {
        /// The first root.
        first: String,
        /// The second root.
        second: String,
    },
    /// A parent reference names a task index that does not exist.
    #[error("task `{task}` names parent task {parent}, but there are only {n_tasks} tasks")]
    UnknownParent {
        /// The child task.
        task: String,
        /// The parent index it names.
        parent: usize,
        /// Number of tasks in the schema.
        n_tasks: usize,
    },
    /// A parent reference names a label the parent does not have.
    #[error("task `{task}` is activated by label {label} of task `{parent}`, which has only {cardinality} labels")]
    ParentLabelOutOfRange {
        /// The child task.
        task: String,
        /// The parent task.
        parent: String,
        /// The label index named.
        label: u16,
        /// The parent's number of labels.
        cardinality: usize,
    },
    /// Two tasks are activated by the same parent label.
    #[error("label `{label}` of task `{parent}` activates both `{first}` and `{second}`; a label activates at most one task")]
    SharedActivation {
        /// The parent task.
        parent: String,
        /// The shared label.
        label: String,
        /// The first child.
        first: String,
        /// The second child.
        second: String,
    },
    /// Following parents from a task never reaches the root.
    #[error("task `{task}` is on a cycle of parent references")]
    Cycle {
        /// A task on the cycle.
        task: String,
    },
    /// A task's labels are not what a file or model expects.
    #[error("schema mismatch: {what}")]
    Mismatch {
        /// What differs.
        what: String,
    },
}

/// A label matrix whose contents do not fit its schema or shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelMatrixError {
    /// A vote's label is not a label of the LF's task.
    #[error("item {item}, LF {lf} (`{lf_name}`): label {label} is out of range for task `{task}`, which has {cardinality} labels")]
    LabelOutOfRange {
        /// Row index.
        item: usize,
        /// LF (column) index.
        lf: usize,
        /// LF name.
        lf_name: String,
        /// The label found.
        label: i64,
        /// The LF's task.
        task: String,
        /// The task's number of labels.
        cardinality: usize,
    },
    /// A dense matrix holds a value below -1, the abstain value.
    #[error("item {item}, LF {lf} (`{lf_name}`): value {value} is below -1 (-1 means abstain, labels start at 0)")]
    NegativeLabel {
        /// Row index.
        item: usize,
        /// LF (column) index.
        lf: usize,
        /// LF name.
        lf_name: String,
        /// The value found.
        value: i64,
    },
    /// A vote names an LF index beyond the matrix.
    #[error("item {item}: LF index {lf} is out of range; the matrix has {n_lfs} LFs")]
    LfOutOfRange {
        /// Row index.
        item: usize,
        /// The LF index found.
        lf: usize,
        /// Number of LFs.
        n_lfs: usize,
    },
    /// An LF votes twice on one item.
    #[error("item {item}: LF {lf} votes more than once")]
    DuplicateVote {
        /// Row index.
        item: usize,
        /// LF index.
        lf: usize,
    },
    /// An LF names a task that is not in the schema.
    #[error("LF {lf} (`{lf_name}`) is on task {task}, but the schema has {n_tasks} tasks")]
    UnknownTask {
        /// LF index.
        lf: usize,
        /// LF name.
        lf_name: String,
        /// The task index found.
        task: usize,
        /// Number of tasks.
        n_tasks: usize,
    },
    /// Two collections that must have one entry per LF or per item differ in length.
    #[error("{what}: expected {expected}, got {got}")]
    LengthMismatch {
        /// What was being compared.
        what: &'static str,
        /// The expected length.
        expected: usize,
        /// The length found.
        got: usize,
    },
}

/// Applying LFs to data failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// An LF panicked (with [`PanicPolicy::Fail`](crate::lf::PanicPolicy::Fail)).
    #[error("labeling function `{lf}` panicked on item {item}{}: {message}", location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default())]
    LfPanicked {
        /// The LF's name.
        lf: String,
        /// Index of the item in the input slice.
        item: usize,
        /// The panic message.
        message: String,
        /// Where in the source the panic was raised (`file:line:column`), when known.
        location: Option<String>,
    },
    /// An LF voted a label its task does not have: the `Task` implementation's `label_index`
    /// returned a value outside the task's labels (the macros never generate this).
    #[error("labeling function `{lf}` voted label index {label} on item {item}, but its task has {n_labels} labels")]
    LabelOutOfRange {
        /// The LF's name.
        lf: String,
        /// Index of the item in the input slice.
        item: usize,
        /// The label index voted.
        label: u16,
        /// The number of labels of the LF's task.
        n_labels: usize,
    },
    /// The items' reader failed (see [`LfSet::try_apply_iter`](crate::lf::LfSet::try_apply_iter)),
    /// or a line of a JSON-lines source could not be read or parsed
    /// ([`LfSet::apply_jsonl`](crate::lf::LfSet::apply_jsonl)).
    #[error("reading item {item} failed: {message}")]
    Read {
        /// Index of the item that could not be read.
        item: usize,
        /// The reader's message.
        message: String,
    },
    /// The thread pool of [`ApplyConfig::threads`](crate::lf::ApplyConfig::threads) could not
    /// be started.
    #[error("could not start the LF thread pool: {message}")]
    Threads {
        /// The error.
        message: String,
    },
    /// More votes than the label matrix can index.
    #[error("too many votes for one label matrix ({n_votes})")]
    TooManyVotes {
        /// Number of votes.
        n_votes: usize,
    },
}

/// Reading or writing a file failed.
///
/// Every variant names the file; variants with a `line` name the 1-based line of line-oriented
/// files (JSON lines) and leave it `None` for others.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The operating system refused the operation.
    #[error("{path}: {source}")]
    Os {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file's contents are malformed.
    #[error("{path}{}: {message}", at_line(*line))]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line, for line-oriented files.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The file ends before the data its header announces.
    #[error("{path}: truncated file: the header announces {expected} bytes of data, but only {found} follow it")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes of data the header announces.
        expected: u64,
        /// Bytes of data present.
        found: u64,
    },
    /// An array file holds an element type this reader does not accept.
    #[error("{path}: unsupported dtype `{dtype}`; expected {expected}")]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The dtype as written in the file's header (e.g. `<f8`).
        dtype: String,
        /// The accepted dtypes, in words.
        expected: &'static str,
    },
    /// An array file has the wrong number of dimensions.
    #[error("{path}: expected a {expected}-D array, found shape {shape:?}")]
    WrongRank {
        /// The file.
        path: PathBuf,
        /// The number of dimensions expected.
        expected: usize,
        /// The shape found.
        shape: Vec<usize>,
    },
    /// A count in the file differs from what the file's header, its first line, or a companion
    /// file says.
    #[error("{path}{}: {what}: expected {expected}, found {found}", at_line(*line))]
    CountMismatch {
        /// The file.
        path: PathBuf,
        /// 1-based line, for line-oriented files.
        line: Option<usize>,
        /// What was counted, and what it is compared with.
        what: String,
        /// The expected count.
        expected: usize,
        /// The count found.
        found: usize,
    },
    /// A gold label is not a label of the task (or not an end label).
    #[error("{path}{}: item {item}: gold label {label} is out of range; there are {n_labels} labels", at_line(*line))]
    GoldLabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// 1-based line, for line-oriented files.
        line: Option<usize>,
        /// Item (row) index.
        item: usize,
        /// The label found.
        label: i64,
        /// Number of labels.
        n_labels: usize,
    },
    /// The file's contents are well-formed but do not fit the schema.
    #[error("{path}: {source}")]
    Schema {
        /// The file.
        path: PathBuf,
        /// What does not fit.
        #[source]
        source: SchemaError,
    },
    /// The file holds a label matrix that does not fit its schema.
    #[error("{path}{}: {source}", at_line(*line))]
    LabelMatrix {
        /// The file.
        path: PathBuf,
        /// 1-based line, for line-oriented files.
        line: Option<usize>,
        /// What does not fit.
        #[source]
        source: LabelMatrixError,
    },
}

/// `", line N"` for a known line, nothing otherwise.
fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(", line {l}")).unwrap_or_default()
}

/// Fitting or applying a label model failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelModelError {
    /// The input is too large for the model's tables.
    #[error("{what}, more than the limit of {limit}; use a model that fits on vote patterns (hyper-hier, hier)")]
    TooLarge {
        /// What would be built.
        what: String,
        /// The limit.
        limit: String,
    },
    /// A configuration value is out of its range.
    #[error("invalid label model setting `{name}` = {value}: {expected}")]
    InvalidConfig {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// The label matrix has no item.
    #[error("the label matrix has no item to fit on")]
    Empty,
    /// The fit produced a non-finite loss or parameter.
    #[error("the fit diverged at epoch {epoch} (loss {loss}); {hint}")]
    Diverged {
        /// The epoch at which it happened.
        epoch: usize,
        /// The loss found.
        loss: f64,
        /// Which setting to change.
        hint: &'static str,
    },
    /// The matrix to predict on does not match the one the model was fit on.
    #[error("label matrix does not fit the model: {what}")]
    IncompatibleMatrix {
        /// What differs.
        what: String,
    },
    /// Class balance of the wrong length or not a distribution.
    #[error("class balance must have {expected} positive entries summing to 1, got {got:?}")]
    ClassBalance {
        /// Number of end labels.
        expected: usize,
        /// The values given.
        got: Vec<f64>,
    },
    /// Dev labels that do not fit their label matrix.
    #[error("dev labels: {what}")]
    DevLabels {
        /// What is wrong.
        what: String,
    },
    /// Pretrained weights that a model embeds could not be read.
    #[error("{what}")]
    Weights {
        /// What is wrong.
        what: String,
    },
}

/// Featurizing, building, training, saving or loading the end model failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EndModelError {
    /// A configuration value is out of its range.
    #[error("invalid end model setting `{name}` = {value}: {expected}")]
    InvalidConfig {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// The hierarchical architecture needs one layer per level of the task tree.
    #[error("the task tree has depth {max_depth}, so HierMTL needs at least {} layers, but the network has {n_layers} (the intermediate layers, plus the input module's when it has weights)", max_depth + 1)]
    StackTooShallow {
        /// The deepest task's depth (the root has depth 0).
        max_depth: usize,
        /// Number of layers heads can attach to.
        n_layers: usize,
    },
    /// A task head is placed at a layer the stack does not have.
    #[error(
        "the head of task `{task}` is placed after layer {layer}, but the stack has layers {first_layer}..={n_layers}"
    )]
    HeadLayerOutOfRange {
        /// The task.
        task: String,
        /// The layer index given (0: the input module's output).
        layer: usize,
        /// The first layer a head can read: 0 when the input module has weights, else 1.
        first_layer: usize,
        /// Number of intermediate layers.
        n_layers: usize,
    },
    /// No item is left to train on.
    #[error("the training set is empty (after dropping the items every LF abstained on)")]
    EmptyTrainingSet,
    /// Two sizes that must agree differ.
    #[error("{what}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// What was compared.
        what: &'static str,
        /// The expected size.
        expected: usize,
        /// The size found.
        got: usize,
    },
    /// Labels or a saved model belong to another task schema.
    #[error("schema mismatch: {what}")]
    SchemaMismatch {
        /// What differs.
        what: String,
    },
    /// A sparse feature index is not below the number of features.
    #[error("item {item}: feature index {index} is out of range; there are {n_features} features")]
    FeatureOutOfRange {
        /// Row index.
        item: usize,
        /// The index found.
        index: usize,
        /// Number of features.
        n_features: usize,
    },
    /// A feature value is NaN or infinite.
    #[error("item {item}: a feature value is not finite")]
    NonFiniteFeature {
        /// Row index.
        item: usize,
    },
    /// A row of probabilistic labels is not a distribution (negative or non-finite entries).
    #[error("item {item}: probabilistic labels must be finite and non-negative")]
    InvalidLabels {
        /// Row index.
        item: usize,
    },
    /// A gold end label is not an end label of the schema.
    #[error("item {item}: gold end label {label} is out of range; there are {n_labels} end labels")]
    GoldLabelOutOfRange {
        /// Row index.
        item: usize,
        /// The label found.
        label: usize,
        /// Number of end labels.
        n_labels: usize,
    },
    /// No word of the training texts reaches the minimum count.
    #[error("no word occurs at least {min_count} times in the {n_texts} training texts")]
    EmptyVocabulary {
        /// Number of training texts.
        n_texts: usize,
        /// The minimum count.
        min_count: usize,
    },
    /// A saved vocabulary lists a word twice.
    #[error("duplicate word `{word}` in the vocabulary")]
    DuplicateWord {
        /// The word.
        word: String,
    },
    /// Training produced a non-finite loss.
    #[error("training diverged at epoch {epoch} (loss {loss}); lower the learning rate")]
    Diverged {
        /// The epoch (1-based).
        epoch: usize,
        /// The loss found.
        loss: f64,
    },
    /// A libtorch operation failed.
    #[error("libtorch failed in {op}: {message}")]
    Torch {
        /// What was being done.
        op: &'static str,
        /// libtorch's message.
        message: String,
    },
    /// A saved model's file cannot be read or parsed.
    #[error("{path}: {message}")]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A saved model's weights lack a tensor the architecture needs.
    #[error("{path}: missing tensor `{name}`")]
    MissingTensor {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
    },
    /// A saved model's weights hold a tensor the architecture does not have.
    #[error("{path}: unexpected tensor `{name}` (the weights belong to another architecture)")]
    UnexpectedTensor {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
    },
    /// A saved tensor's shape differs from the architecture's.
    #[error("{path}: tensor `{name}` has shape {got:?}, but the architecture needs {expected:?}")]
    TensorShape {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// The shape the architecture needs.
        expected: Vec<i64>,
        /// The shape in the file.
        got: Vec<i64>,
    },
}

/// Loading or running a pretrained text encoder ([`crate::encoder`]) failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EncoderError {
    /// The model folder is missing.
    #[error("no pretrained model at {path}: {hint}")]
    NotInstalled {
        /// The folder looked in.
        path: PathBuf,
        /// How to install it.
        hint: String,
    },
    /// A file of the model folder is missing, unreadable or malformed.
    #[error("{path}: {message}")]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The weights lack a tensor the architecture needs.
    #[error("{path}: no tensor `{name}`, which the encoder needs")]
    MissingTensor {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
    },
    /// A tensor's shape differs from the one `config.json` implies.
    #[error("{path}: tensor `{name}` has shape {got:?}, but config.json implies {expected:?}")]
    TensorShape {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// The shape config.json implies.
        expected: Vec<i64>,
        /// The shape in the file.
        got: Vec<i64>,
    },
    /// The tokenizer failed on a text.
    #[error("text {item}: the tokenizer failed: {message}")]
    Tokenize {
        /// Index of the text.
        item: usize,
        /// The tokenizer's message.
        message: String,
    },
    /// A libtorch call failed.
    #[error("libtorch failed while {op}: {message}")]
    Torch {
        /// What was being done.
        op: &'static str,
        /// libtorch's message.
        message: String,
    },
    /// The embedding cache could not be read or written.
    #[error("embedding cache {path}: {message}")]
    Cache {
        /// The cache file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A token state or embedding is not finite.
    #[error("item {item}: a token state is not finite")]
    NonFinite {
        /// Index of the item.
        item: usize,
    },
    /// A setting is out of its range.
    #[error("invalid encoder setting `{name}` = {value}: {expected}")]
    InvalidConfig {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
}

/// Predictions and gold labels that cannot be scored together ([`crate::metrics`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The two lists differ in length.
    #[error("{pred} predictions for {gold} gold labels")]
    LengthMismatch {
        /// Number of predictions.
        pred: usize,
        /// Number of gold labels.
        gold: usize,
    },
    /// There is nothing to score.
    #[error("no item to score")]
    Empty,
    /// A label is not an end label of the schema (or not below the number of classes).
    #[error("item {item}: {which} label {label} is out of range; there are {n_labels} labels")]
    LabelOutOfRange {
        /// The item.
        item: usize,
        /// `"predicted"` or `"gold"`.
        which: &'static str,
        /// The label.
        label: usize,
        /// The number of labels.
        n_labels: usize,
    },
}

/// A setting of the synthetic-problem generator ([`crate::io::generate`]) is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid generator setting `{name}` = {value}: {expected}")]
pub struct GenerateError {
    /// The setting.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What is allowed, or what is wrong.
    pub expected: String,
}

/// Any error of this crate.
///
/// Each variant boxes its concern's error, so that `Result<T, Error>` stays two words wide.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`SchemaError`].
    #[error(transparent)]
    Schema(Box<SchemaError>),
    /// See [`LabelMatrixError`].
    #[error(transparent)]
    LabelMatrix(Box<LabelMatrixError>),
    /// See [`ApplyError`].
    #[error(transparent)]
    Apply(Box<ApplyError>),
    /// See [`LabelModelError`].
    #[error(transparent)]
    LabelModel(Box<LabelModelError>),
    /// See [`IoError`].
    #[error(transparent)]
    Io(Box<IoError>),
    /// See [`EndModelError`].
    #[error(transparent)]
    EndModel(Box<EndModelError>),
    /// See [`EncoderError`].
    #[error(transparent)]
    Encoder(Box<EncoderError>),
    /// See [`MetricsError`].
    #[error(transparent)]
    Metrics(Box<MetricsError>),
    /// See [`GenerateError`].
    #[error(transparent)]
    Generate(Box<GenerateError>),
}

macro_rules! boxed_from {
    ($($ty:ident => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    SchemaError => Schema,
    LabelMatrixError => LabelMatrix,
    ApplyError => Apply,
    LabelModelError => LabelModel,
    IoError => Io,
    EndModelError => EndModel,
    EncoderError => Encoder,
    MetricsError => Metrics,
    GenerateError => Generate,
);

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
