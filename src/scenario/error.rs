//! Errors in scenario files: every problem at once, each with file:line:column, the field path
//! and what is allowed.

use std::fmt;

/// One problem in a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The field path, e.g. `producers[0].topic`; empty for a syntax error.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// What would be accepted.
    pub allowed: Option<String>,
    /// 1-based line and column (in characters) where the parser knows it.
    pub line_col: Option<(usize, usize)>,
    /// Byte span of the offending text, for the caret line.
    pub span: Option<(usize, usize)>,
}

/// Everything wrong with one scenario file.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioError {
    /// The file as the user named it.
    pub file: String,
    /// The source text the positions refer to (after `--set` overrides).
    pub source: String,
    pub problems: Vec<Problem>,
}

impl ScenarioError {
    pub fn io(file: &str, message: String) -> ScenarioError {
        ScenarioError {
            file: file.to_string(),
            source: String::new(),
            problems: vec![Problem { path: String::new(), message, allowed: None, line_col: None, span: None }],
        }
    }
}

impl fmt::Display for ScenarioError {
    /// ```text
    /// error: scenarios/bad.ron:12:34: producers[0].topic: unknown topic "ordres"
    ///    |
    /// 12 |         name: "checkout", topic: "ordres",
    ///    |                                  ^^^^^^^^
    ///    = allowed: a topic declared in `topics`: "orders"
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {}", self.file)?;
            if let Some((line, col)) = p.line_col {
                write!(f, ":{line}:{col}")?;
            }
            write!(f, ": ")?;
            if !p.path.is_empty() {
                write!(f, "{}: ", p.path)?;
            }
            writeln!(f, "{}", p.message)?;
            if let (Some((line, col)), false) = (p.line_col, self.source.is_empty())
                && let Some(text) = self.source.lines().nth(line.saturating_sub(1))
            {
                {
                    let width = line.to_string().len();
                    let len = p
                        .span
                        .map(|(s, e)| {
                            self.source.get(s..e).map_or(1, |t| t.lines().next().unwrap_or("").chars().count())
                        })
                        .unwrap_or(1)
                        .max(1);
                    let pad = " ".repeat(width);
                    writeln!(f, "{pad} |")?;
                    writeln!(f, "{line} | {}", text.trim_end())?;
                    writeln!(f, "{pad} | {}{}", " ".repeat(col.saturating_sub(1)), "^".repeat(len))?;
                }
            }
            if let Some(allowed) = &p.allowed {
                writeln!(f, "  = allowed: {allowed}")?;
            }
        }
        if n > 1 {
            writeln!(f, "\n{n} problems in {}", self.file)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}
