//! Scenario files: parse the RON, apply `--set` overrides, validate, and report every problem.
//!
//! Overrides are applied to the text before parsing (see [`locate`]), so a value given on the
//! command line goes through exactly the same parser and checks as one written in the file.

mod error;
pub mod locate;
pub mod pipeline;
pub mod replay;
mod schema;
mod validate;

use std::path::Path;
use std::sync::Arc;

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

/// Parses and validates scenario text; `file` names it in error messages, and `Replay` files are
/// read relative to its folder (so a label relative to the working directory finds them).
pub fn parse(file: &str, src: &str, overrides: &[(String, String)]) -> Result<Scenario, ScenarioError> {
    let mut text = src.to_string();
    for (path, value) in overrides {
        text = apply_nested(&text, path, value).map_err(|e| ScenarioError {
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
    let mut scenario: Scenario = options.from_str(&text).map_err(|e| {
        let start = byte_offset(&text, e.span.start.line, e.span.start.col);
        let end = byte_offset(&text, e.span.end.line, e.span.end.col).max(start);
        let path = locate::SourceMap::parse(&text).map(|m| m.path_at(start)).unwrap_or_default();
        ScenarioError {
            file: file.to_string(),
            source: text.clone(),
            problems: vec![Problem {
                path,
                allowed: parse_hint(&e.code),
                message: e.code.to_string(),
                line_col: Some((e.span.start.line, e.span.start.col)),
                span: Some((start, end)),
            }],
        }
    })?;
    let map = locate::SourceMap::parse(&text).ok();
    let mut problems = read_replay_files(&mut scenario, Path::new(file).parent().unwrap_or(Path::new("")));
    problems.extend(validate::validate(&scenario));
    // `value_bytes` has a default, so only the text says whether it was given as well.
    for (i, p) in scenario.producers.iter().enumerate() {
        let given = |f: &str| map.as_ref().and_then(|m| m.locate(&format!("producers[{i}].{f}"))).is_some();
        if p.value_size.is_some() && given("value_bytes") {
            problems.push(Problem {
                path: format!("producers[{i}].value_size"),
                message: "both value_bytes and value_size are set".to_string(),
                allowed: Some("one of them: value_bytes for a fixed size, value_size for a distribution".to_string()),
                line_col: None,
                span: None,
            });
        }
    }
    if problems.is_empty() {
        pipeline::add_output_producers(&mut scenario);
        return Ok(scenario);
    }
    let problems = problems
        .into_iter()
        .map(|mut p| {
            // A field left at its default is not in the file: point at the nearest enclosing
            // value that is.
            let mut path = p.path.as_str();
            let found = loop {
                if let Some(loc) = map.as_ref().and_then(|m| m.locate(path)) {
                    break Some(loc);
                }
                match path.rfind(['.', '[']) {
                    Some(i) => path = &path[..i],
                    None => break map.as_ref().and_then(|m| m.locate("")),
                }
            };
            if let Some(loc) = found {
                p.line_col = Some((loc.line, loc.column));
                p.span = Some((loc.start, loc.end));
            }
            p
        })
        .collect();
    Err(ScenarioError { file: file.to_string(), source: text, problems })
}

/// Applies an override; when the field's parent struct is absent from the file (left at its
/// defaults), creates it: `cluster.replication.truncation=HighWatermark` on a file without
/// `replication` inserts `replication: (truncation: HighWatermark)`.
fn apply_nested(text: &str, path: &str, value: &str) -> Result<String, locate::OverrideError> {
    match locate::apply_override(text, path, value) {
        Ok(t) => Ok(t),
        Err(e) => match path.rsplit_once('.') {
            Some((parent, field))
                if !field.contains('[') && locate::SourceMap::parse(text).is_ok_and(|m| m.locate(parent).is_none()) =>
            {
                apply_nested(text, parent, &format!("({field}: {value})")).map_err(|_| e)
            }
            _ => Err(e),
        },
    }
}

/// Reads the CSV file of every `Replay` arrival into the scenario; a file that cannot be read or
/// parsed is a problem at `producers[i].arrival.file` naming the CSV line.
fn read_replay_files(scenario: &mut Scenario, dir: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, p) in scenario.producers.iter_mut().enumerate() {
        let Arrival::Replay { file, records } = &mut p.arrival else {
            continue;
        };
        let path = dir.join(&*file);
        let shown = path.display();
        let result = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read the replay file {shown}: {e}"))
            .and_then(|text| replay::parse_csv(&text).map_err(|e| format!("{shown} line {}: {}", e.line, e.message)));
        match result {
            Ok(data) => *records = Arc::new(data),
            Err(message) => problems.push(Problem {
                path: format!("producers[{i}].arrival.file"),
                message,
                allowed: Some(
                    "a CSV file, relative to the scenario's folder, of time_ms[,key][,value_bytes] rows with non-decreasing times"
                        .to_string(),
                ),
                line_col: None,
                span: None,
            }),
        }
    }
    problems
}

/// What would be accepted, for the parse errors whose message does not already say it.
fn parse_hint(code: &ron::Error) -> Option<String> {
    use ron::Error as E;
    let hint = match code {
        E::ExpectedInteger | E::IntegerOutOfBounds => "a whole number without sign or quotes, e.g. 1000",
        E::ExpectedFloat => "a number, e.g. 2000.0",
        E::ExpectedString | E::ExpectedStringEnd => "a string in double quotes",
        E::ExpectedBoolean => "true or false",
        E::MissingStructField { .. } => "add the field; see the schema docs for its meaning and unit",
        _ => return None,
    };
    Some(hint.to_string())
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
