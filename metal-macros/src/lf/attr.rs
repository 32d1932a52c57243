//! Parses `#[labeling_function(..)]`. Every bad key is reported, not only the first.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{LitStr, Path};

use crate::ctxt::Ctxt;
use crate::parse::{key_name, path_value, skip_value, str_value};
use crate::symbol::{CRATE, NAME, TASK};

/// The arguments of `#[labeling_function(..)]`.
#[derive(Default)]
pub(crate) struct LfArgs {
    /// `task = Topic` or `task = "Topic"`; the tokens carry the user's spans.
    pub(crate) task: Option<Path>,
    /// `name = ".."`: the name reported for the LF.
    pub(crate) name: Option<LitStr>,
    /// `crate = "path"`: where the runtime crate is.
    pub(crate) krate: Option<Path>,
}

/// Parses the arguments of `#[labeling_function(..)]`.
pub(crate) fn parse_lf_args(cx: &Ctxt, args: TokenStream) -> LfArgs {
    let mut out = LfArgs::default();
    let mut seen = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let key = [TASK, NAME, CRATE].into_iter().find(|k| meta.path == *k);
        let Some(key) = key else {
            cx.error_spanned_by(
                &meta.path,
                format!(
                    "unknown metal attribute `{}`; `#[labeling_function]` accepts `{TASK}`, `{NAME}` and `{CRATE}`",
                    key_name(&meta)
                ),
            );
            return skip_value(&meta);
        };
        if seen.contains(&key) {
            cx.error_spanned_by(&meta.path, format!("duplicate metal attribute `{key}`"));
            return skip_value(&meta);
        }
        seen.push(key);
        if key == TASK {
            out.task = Some(path_value(
                &meta,
                "`task` must name a task enum, e.g. `task = Topic` or `task = \"news::Topic\"`",
            )?);
        } else if key == NAME {
            out.name = Some(str_value(&meta, "`name` must be a string, e.g. `name = \"lf_keywords\"`")?);
        } else {
            out.krate = Some(path_value(&meta, "`crate` must be a path, e.g. `crate = \"metal_runtime\"`")?);
        }
        Ok(())
    });
    if let Err(err) = parser.parse2(args) {
        cx.syn_error(err);
    }
    out
}
