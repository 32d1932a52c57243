//! Unit tests: expansion snapshots (pretty-printed with `prettyplease`) and the messages of the
//! compile errors. Spans are checked by the trybuild fixtures of the `metal-tests` crate.

use proc_macro2::TokenStream;
use quote::quote;

use crate::lf::labeling_function;
use crate::schema::task_schema;

/// The expansion, pretty-printed.
fn pretty(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(err) => format!("expansion does not parse: {err}\n{tokens}"),
    }
}

/// The messages of the `compile_error!`s in an expansion, in order.
fn errors(tokens: TokenStream) -> Vec<String> {
    let file: syn::File = syn::parse2(tokens).expect("expansion parses");
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Macro(m) if m.mac.path.segments.last().is_some_and(|s| s.ident == "compile_error") => {
                Some(m.mac.parse_body::<syn::LitStr>().expect("message is a string").value())
            }
            _ => None,
        })
        .collect()
}

fn schema_errors(args: TokenStream, item: TokenStream) -> Vec<String> {
    errors(task_schema(args, item))
}

fn lf_errors(args: TokenStream, item: TokenStream) -> Vec<String> {
    errors(labeling_function(args, item))
}

// ---------------------------------------------------------------- snapshots

#[test]
fn snapshot_flat_schema() {
    let out = task_schema(
        quote!(),
        quote! {
            pub mod sentiment {
                /// Polarity of a review.
                #[derive(Debug, Clone, Copy, PartialEq, Eq)]
                pub enum Sentiment {
                    /// Dislikes it.
                    Negative,
                    Positive,
                }
            }
        },
    );
    insta::assert_snapshot!("flat_schema", pretty(out));
}

#[test]
fn snapshot_three_level_schema() {
    let out = task_schema(
        quote!(crate = "renamed"),
        quote! {
            pub mod news {
                /// What the article is about.
                pub enum Topic { Corporate, Markets, Other }
                /// Kind of corporate news.
                #[task(parent = Topic::Corporate)]
                pub enum Corporate { Performance, Funding }
                #[task(parent = Corporate::Funding)]
                pub enum Funding { Equity, Debt }
                #[task(parent = Topic::Markets)]
                pub enum Markets { Money, Commodity }
                pub const UNTOUCHED: u8 = 1;
            }
        },
    );
    insta::assert_snapshot!("three_level_schema", pretty(out));
}

#[test]
fn snapshot_lf_string_task() {
    let out = labeling_function(
        quote!(task = "Topic"),
        quote! {
            /// Shares are corporate news.
            pub fn lf_shares(text: &str) -> Option<Topic> {
                text.contains("shares").then_some(Topic::Corporate)
            }
        },
    );
    insta::assert_snapshot!("lf_string_task", pretty(out));
}

#[test]
fn snapshot_lf_path_task() {
    let out = labeling_function(
        quote!(task = news::Corporate, name = "profit", crate = "renamed"),
        quote! {
            fn lf_profit(article: &Article) -> Option<news::Corporate> {
                article.body.contains("profit").then_some(news::Corporate::Performance)
            }
        },
    );
    insta::assert_snapshot!("lf_path_task", pretty(out));
}

// ---------------------------------------------------------------- schema errors

#[test]
fn schema_without_errors_has_no_compile_error() {
    let errs = schema_errors(
        quote!(),
        quote!(
            mod m {
                enum A {
                    X,
                    Y,
                }
                #[task(parent = A::Y)]
                enum B {
                    P,
                    Q,
                }
            }
        ),
    );
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn schema_not_a_module() {
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                struct S;
            )
        ),
        ["`#[task_schema]` can only be applied to an inline module of task enums, e.g. `mod tasks { .. }`"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod news;
            )
        ),
        ["`#[task_schema]` needs an inline module: `mod news { .. }` with the task enums in it"]
    );
}

#[test]
fn schema_no_task() {
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod news {
                    struct S;
                }
            )
        ),
        ["`#[task_schema]` module `news` has no task; declare each task as an enum in it"]
    );
}

#[test]
fn schema_unknown_keys() {
    assert_eq!(
        schema_errors(
            quote!(krate = "x"),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                }
            )
        ),
        ["unknown metal attribute `krate`; `#[task_schema]` accepts `crate`"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                    #[task(parnt = A::X, cardinality = 2)]
                    enum B {
                        X,
                        Y,
                    }
                }
            )
        ),
        [
            "unknown metal attribute `parnt`; `#[task]` accepts `parent`",
            "unknown metal attribute `cardinality`; `#[task]` accepts `parent`"
        ]
    );
}

#[test]
fn schema_duplicate_parent_key() {
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                    #[task(parent = A::X)]
                    #[task(parent = A::Y)]
                    enum B {
                        X,
                        Y,
                    }
                }
            )
        ),
        ["duplicate metal attribute `parent`"]
    );
}

#[test]
fn schema_roots_and_cycles() {
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                    enum B {
                        P,
                        Q,
                    }
                }
            )
        ),
        ["task `B` has no `parent`, but `A` is already the root task; give it a parent, e.g. `#[task(parent = A::X)]`"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum R {
                        X,
                        Y,
                    }
                    #[task(parent = B::P)]
                    enum A {
                        X,
                        Y,
                    }
                    #[task(parent = A::X)]
                    enum B {
                        P,
                        Q,
                    }
                }
            )
        ),
        ["the parents of `A` -> `B` -> `A` form a cycle; the tasks must form one tree"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum R {
                        X,
                        Y,
                    }
                    #[task(parent = A::X)]
                    enum A {
                        X,
                        Y,
                    }
                }
            )
        ),
        ["task `A` cannot be its own parent"]
    );
}

#[test]
fn schema_bad_parents() {
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                    #[task(parent = Topc::X)]
                    enum B {
                        X,
                        Y,
                    }
                }
            )
        ),
        ["no task `Topc` in this `#[task_schema]` module; the tasks are `A`, `B`"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                    #[task(parent = A::Z)]
                    enum B {
                        X,
                        Y,
                    }
                }
            )
        ),
        ["task `A` has no label `Z`; its labels are `X`, `Y`"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                    #[task(parent = X)]
                    enum B {
                        X,
                        Y,
                    }
                }
            )
        ),
        ["`parent` must name a task of this module and one of its labels, e.g. `parent = Topic::Corporate`"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                    #[task(parent = 3)]
                    enum B {
                        X,
                        Y,
                    }
                }
            )
        ),
        ["`parent` must be a path, e.g. `parent = Topic::Corporate`"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                    #[task(parent = A::X)]
                    enum B {
                        X,
                        Y,
                    }
                    #[task(parent = A::X)]
                    enum C {
                        X,
                        Y,
                    }
                }
            )
        ),
        ["`A::X` already activates task `B`; a label activates at most one task"]
    );
}

#[test]
fn schema_bad_enums() {
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {}
                }
            )
        ),
        ["task `A` has no labels; declare at least two variants"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                    }
                }
            )
        ),
        ["task `A` has only one label; a task needs at least two variants"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                    #[task(parent = A::X)]
                    enum B {
                        Z,
                    }
                }
            )
        ),
        ["task `B` has only one label; a task needs at least two variants (a label without a child task is already an end label: to make `A::X` a leaf, remove `B`)"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A<T> {
                        X(T),
                        Y = 3,
                    }
                }
            )
        ),
        [
            "task `A` cannot be generic",
            "label `X` of task `A` cannot have fields; labels are unit variants",
            "label `Y` cannot have an explicit discriminant; a label's index is its position in `A`",
        ]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                        X,
                    }
                }
            )
        ),
        ["duplicate label `X` in task `A`"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                    struct Schema;
                }
            )
        ),
        ["`#[task_schema]` generates `Schema` in this module; rename this item"]
    );
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        Y,
                    }
                    #[task(parent = A::X)]
                    struct S;
                }
            )
        ),
        ["`#[task]` can only be applied to an enum"]
    );
}

#[test]
fn schema_duplicate_end_label() {
    assert_eq!(
        schema_errors(
            quote!(),
            quote!(
                mod m {
                    enum A {
                        X,
                        XY,
                    }
                    #[task(parent = A::X)]
                    enum B {
                        Y,
                        Z,
                    }
                }
            )
        ),
        ["end labels `XY` and `X / Y` would both be named `EndLabel::XY`; rename one of their labels"]
    );
}

#[test]
fn schema_reports_every_error() {
    let errs = schema_errors(
        quote!(bogus),
        quote!(
            mod m {
                enum A {
                    X,
                }
                #[task(parent = A::Q)]
                enum B {
                    X(u8),
                    Y,
                }
                enum C {
                    X,
                    Y,
                }
            }
        ),
    );
    assert_eq!(errs.len(), 5, "{errs:?}");
}

#[test]
fn schema_with_errors_still_emits_module_and_stubs() {
    let out = pretty(task_schema(
        quote!(),
        quote!(
            pub mod m {
                pub enum A {
                    X,
                }
                pub fn keep() {}
            }
        ),
    ));
    assert!(out.contains("pub fn keep()"), "{out}");
    assert!(out.contains("pub struct Schema;"), "{out}");
    assert!(out.contains("impl ::metal_runtime::__private::Task for A"), "{out}");
    assert!(!out.contains("#[task"), "{out}");
}

#[test]
fn end_labels_follow_task_graph_order() {
    // The runtime's `root_label_without_child_is_an_end_label` graph: names x, z, y/q, y/p/r, y/p/s.
    let out = pretty(task_schema(
        quote!(),
        quote!(
            mod m {
                enum A {
                    X,
                    Y,
                    Z,
                }
                #[task(parent = A::Y)]
                enum B {
                    P,
                    Q,
                }
                #[task(parent = B::P)]
                enum C {
                    R,
                    S,
                }
            }
        ),
    ));
    let order = ["X,", "Z,", "YQ,", "YPR,", "YPS,"];
    let positions: Vec<usize> = order.iter().map(|v| out.find(v).expect(v)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{out}");
}

#[test]
fn doc_comments_are_joined_and_trimmed() {
    let item: syn::ItemEnum = syn::parse_quote! {
        /// First line.
        ///
        ///   Indented.
        #[derive(Debug)]
        /// Last.
        enum A { X, Y }
    };
    assert_eq!(crate::parse::doc_comment(&item.attrs), "First line.\n\n  Indented.\nLast.");
}

// ---------------------------------------------------------------- labeling function errors

#[test]
fn lf_without_errors_has_no_compile_error() {
    let errs = lf_errors(
        quote!(),
        quote!(
            fn lf(x: &[u8]) -> std::option::Option<T> {
                None
            }
        ),
    );
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn lf_not_a_function() {
    assert_eq!(
        lf_errors(
            quote!(task = "T"),
            quote!(
                struct S;
            )
        ),
        ["`#[labeling_function]` can only be applied to a function"]
    );
}

#[test]
fn lf_keys() {
    assert_eq!(
        lf_errors(
            quote!(tsk = "T"),
            quote!(
                fn lf(x: &str) -> Option<T> {
                    None
                }
            )
        ),
        ["unknown metal attribute `tsk`; `#[labeling_function]` accepts `task`, `name` and `crate`"]
    );
    assert_eq!(
        lf_errors(
            quote!(task = "T", task = "U"),
            quote!(
                fn lf(x: &str) -> Option<T> {
                    None
                }
            )
        ),
        ["duplicate metal attribute `task`"]
    );
    assert_eq!(
        lf_errors(
            quote!(task = 3),
            quote!(
                fn lf(x: &str) -> Option<T> {
                    None
                }
            )
        ),
        ["`task` must name a task enum, e.g. `task = Topic` or `task = \"news::Topic\"`"]
    );
    assert_eq!(
        lf_errors(
            quote!(task = "not a path"),
            quote!(
                fn lf(x: &str) -> Option<T> {
                    None
                }
            )
        ),
        ["`task` must name a task enum, e.g. `task = Topic` or `task = \"news::Topic\"`"]
    );
    assert_eq!(
        lf_errors(
            quote!(name = lf),
            quote!(
                fn lf(x: &str) -> Option<T> {
                    None
                }
            )
        ),
        ["`name` must be a string, e.g. `name = \"lf_keywords\"`"]
    );
}

#[test]
fn lf_parameters() {
    assert_eq!(
        lf_errors(
            quote!(),
            quote!(
                fn lf() -> Option<T> {
                    None
                }
            )
        ),
        ["a labeling function takes one parameter, its item by reference, e.g. `x: &Article`"]
    );
    assert_eq!(
        lf_errors(
            quote!(),
            quote!(
                fn lf(x: &str, y: u8) -> Option<T> {
                    None
                }
            )
        ),
        ["a labeling function takes exactly one parameter, its item; remove this parameter"]
    );
    assert_eq!(
        lf_errors(
            quote!(),
            quote!(
                fn lf(x: String) -> Option<T> {
                    None
                }
            )
        ),
        ["a labeling function takes its item by reference, e.g. `&Article`"]
    );
    assert_eq!(
        lf_errors(
            quote!(),
            quote!(
                fn lf(x: &mut String) -> Option<T> {
                    None
                }
            )
        ),
        ["a labeling function takes its item by shared reference, e.g. `&Article`"]
    );
    assert_eq!(
        lf_errors(
            quote!(),
            quote!(
                fn lf(&self) -> Option<T> {
                    None
                }
            )
        ),
        ["a labeling function cannot take `self`; write a free function, e.g. `fn lf(x: &Article)`"]
    );
}

#[test]
fn lf_qualifiers_and_generics() {
    assert_eq!(
        lf_errors(
            quote!(),
            quote!(
                async unsafe fn lf<X>(x: &X) -> Option<T> {
                    None
                }
            )
        ),
        [
            "a labeling function cannot be `async`",
            "a labeling function cannot be `unsafe`",
            "a labeling function cannot be generic; name the item and task types",
        ]
    );
}

#[test]
fn lf_return_type() {
    let msg = "a labeling function returns `Option<Task>`; `None` abstains";
    assert_eq!(
        lf_errors(
            quote!(),
            quote!(
                fn lf(x: &str) {}
            )
        ),
        [msg]
    );
    assert_eq!(
        lf_errors(
            quote!(),
            quote!(
                fn lf(x: &str) -> T {
                    T::A
                }
            )
        ),
        [msg]
    );
    assert_eq!(
        lf_errors(
            quote!(),
            quote!(
                fn lf(x: &str) -> Result<T, ()> {
                    Err(())
                }
            )
        ),
        [msg]
    );
}

#[test]
fn lf_with_errors_still_emits_function_and_struct() {
    let out = pretty(labeling_function(
        quote!(bogus = 1),
        quote!(
            pub fn lf(x: &str, y: u8) -> Option<T> {
                None
            }
        ),
    ));
    assert!(out.contains("pub fn lf(x: &str, y: u8)"), "{out}");
    assert!(out.contains("pub struct lf {}"), "{out}");
    assert!(!out.contains("impl"), "{out}");
}

#[test]
fn generated_types_take_the_widest_task_visibility() {
    let out = pretty(task_schema(
        quote!(),
        quote!(
            mod m {
                pub(crate) enum A {
                    X,
                    Y,
                }
                #[task(parent = A::X)]
                pub enum B {
                    P,
                    Q,
                }
            }
        ),
    ));
    assert!(out.contains("pub struct Schema;"), "{out}");
    assert!(out.contains("pub enum EndLabel"), "{out}");
    let out = pretty(task_schema(
        quote!(),
        quote!(
            mod m {
                enum A {
                    X,
                    Y,
                }
                #[task(parent = A::X)]
                pub(crate) enum B {
                    P,
                    Q,
                }
            }
        ),
    ));
    assert!(out.contains("pub(crate) struct Schema;"), "{out}");
    let out = pretty(task_schema(
        quote!(),
        quote!(
            mod m {
                pub(super) enum A {
                    X,
                    Y,
                }
            }
        ),
    ));
    assert!(out.contains("pub(super) struct Schema;"), "{out}");
}
