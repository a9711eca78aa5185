//! Checking the names templates use: each must be a builtin, a var, a
//! capture or an earlier step, and a step's field must be one it offers.

use super::Checker;
use crate::flow::error::did_you_mean;
use crate::flow::locate::Pos;
use crate::flow::template::Template;
use std::collections::{BTreeMap, HashSet};

/// What a template name refers to, while checking in step order.
pub(super) enum Known {
    /// A builtin, a var or a capture: whatever value it holds.
    Any,
    Step {
        kind: String,
        fields: &'static [&'static str],
    },
}

/// Checks every template of step `step_id` (empty for a var) against the
/// names known before it; `owner` says where, in messages.
pub(super) fn check_refs<'t>(
    c: &mut Checker,
    step_id: &str,
    owner: &str,
    templates: impl IntoIterator<Item = &'t Template>,
    known: &BTreeMap<String, Known>,
    later: &HashSet<String>,
) {
    for template in templates {
        for expr in template.exprs() {
            let root = expr.path[0].as_str();
            c.used.insert(root.to_string());
            let problem = match known.get(root) {
                Some(Known::Any) => None,
                Some(Known::Step { kind, fields }) => match expr.path.get(1) {
                    Some(f) if !fields.contains(&f.as_str()) => Some((
                        format!("`{root}` ({kind}) has no field `{f}`"),
                        did_you_mean(f, fields.iter().copied())
                            .or_else(|| Some(format!("its fields: {}", fields.join(", ")))),
                    )),
                    _ => None,
                },
                None if root == step_id => Some((format!("{owner} cannot use its own result"), None)),
                None if later.contains(root) => {
                    Some((format!("`{root}` is a later step"), Some(format!("move step `{root}` before {owner}"))))
                }
                None => Some((
                    format!("undefined name `{root}` in {owner}"),
                    did_you_mean(root, known.keys().map(String::as_str).chain(later.iter().map(String::as_str)))
                        .or_else(|| {
                            Some(format!(
                                "define it under `vars:`, capture it, name an earlier step, or give it from outside: `--var {root}=…`, `--secret {root}=…` or `WXFLOW_VAR_{root}`"
                            ))
                        }),
                )),
            };
            if let Some((message, hint)) = problem {
                let pos = template.pos.map(|p| Pos { line: p.line, col: p.col + expr.offset });
                c.err(pos, expr.len, message, hint);
            }
        }
    }
}
