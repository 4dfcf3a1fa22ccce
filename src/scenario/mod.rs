//! Scenario files: parse the RON, apply `--set` overrides, validate, and report every problem.
//!
//! Overrides are applied to the text before parsing (see [`locate`]), so a value given on the
//! command line goes through exactly the same parser and checks as one written in the file.

mod error;
pub mod locate;
mod schema;
mod validate;

use std::path::Path;

pub use error::{Problem, ScenarioError};
pub use schema::*;
pub use validate::FIGURES;

/// Reads, overrides and validates the scenario at `path`. `overrides` are `(path, value)` pairs
/// from `--set path=value`, applied in order.
pub fn load(path: &Path, overrides: &[(String, String)]) -> Result<Scenario, ScenarioError> {
    let label = path.display().to_string();
    let src =
        std::fs::read_to_string(path).map_err(|e| ScenarioError::io(&label, format!("cannot read the file: {e}")))?;
    parse(&label, &src, overrides)
}

/// Parses and validates scenario text; `file` names it in error messages.
pub fn parse(file: &str, src: &str, overrides: &[(String, String)]) -> Result<Scenario, ScenarioError> {
    let mut text = src.to_string();
    for (path, value) in overrides {
        text = locate::apply_override(&text, path, value).map_err(|e| ScenarioError {
            file: file.to_string(),
            source: String::new(),
            problems: vec![Problem {
                path: format!("--set {path}"),
                message: e.message.clone(),
                allowed: None,
                line_col: None,
                span: None,
            }],
        })?;
    }
    let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    let scenario: Scenario = options.from_str(&text).map_err(|e| {
        let start = byte_offset(&text, e.span.start.line, e.span.start.col);
        let end = byte_offset(&text, e.span.end.line, e.span.end.col).max(start);
        ScenarioError {
            file: file.to_string(),
            source: text.clone(),
            problems: vec![Problem {
                path: String::new(),
                message: e.code.to_string(),
                allowed: None,
                line_col: Some((e.span.start.line, e.span.start.col)),
                span: Some((start, end)),
            }],
        }
    })?;
    let problems = validate::validate(&scenario);
    if problems.is_empty() {
        return Ok(scenario);
    }
    let map = locate::SourceMap::parse(&text).ok();
    let problems = problems
        .into_iter()
        .map(|mut p| {
            if let Some(loc) = map.as_ref().and_then(|m| m.locate(&p.path)) {
                p.line_col = Some((loc.line, loc.column));
                p.span = Some((loc.start, loc.end));
            }
            p
        })
        .collect();
    Err(ScenarioError {
        file: file.to_string(),
        source: text,
        problems,
    })
}

/// ron positions (1-based line, column in chars) to a byte offset.
fn byte_offset(src: &str, line: usize, col: usize) -> usize {
    let mut start = 0;
    for (i, l) in src.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return start + l.char_indices().nth(col.saturating_sub(1)).map_or(l.len(), |(b, _)| b);
        }
        start += l.len();
    }
    src.len()
}
