//! Source locations and `--set` overrides for scenario RON files.
//!
//! Semantic validation (after `ron` + serde) knows *which* field is wrong, e.g.
//! `producers[0].linger_ms`, but not *where* it is written. [`SourceMap`] scans the RON
//! text once and records the byte span, line and column of every value, so such errors
//! can point at `file:line:column`.
//!
//! Command-line overrides (`--set path=value`) are applied by [`apply_override`] as text
//! splices: the value text replaces the old value (or `field: value,` is inserted into the
//! parent struct), and the result goes through the very same `ron` parsing and validation
//! as the file itself, so there is no second configuration model to drift.
//!
//! Understood RON subset: `//` and nested `/* */` comments, `#![...]` attributes, named and
//! anonymous structs `Name(f: v)` / `(f: v)`, tuples and tuple variants `Name(v, v)`, unit
//! variants and identifiers (also `r#raw`), lists `[..]`, maps `{k: v}`, strings (escaped,
//! raw `r#".."#`, byte), chars, numbers (sign, exponent, hex/octal/binary, `_`, suffixes),
//! booleans, `Some(x)`/`None`, trailing commas. The scanner is tolerant (numbers and escapes
//! are not checked) and never panics; on structure it cannot follow it returns a
//! [`LocateError`] and callers fall back to ron's own error.
//!
//! Paths: `a.b.c`; list or tuple items as `a[0]`; list elements by their `name` field
//! (`producers.checkout.linger_ms`, or `producers.0`); map keys (`tags.a`); segments with odd
//! characters may be quoted (`tags."b c"`). Single-item tuple variants such as `Some(x)`
//! are transparent when selecting named fields (`producers[0].arrival.per_sec` also works
//! for `arrival: Some(Poisson(per_sec: 5))`).

use std::fmt;

const MAX_DEPTH: usize = 128;

/// Where a value is written: byte span `start..end` of the value text and the 1-based
/// line/column of its start (column counted in chars, like ron's `Position`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
}

/// Source the scanner cannot follow; callers fall back to ron's own error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocateError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for LocateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for LocateError {}

/// A `--set path=value` that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for OverrideError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--set {}: {}", self.path, self.message)
    }
}

impl std::error::Error for OverrideError {}

/// Name (unquoted for map keys), byte offset of the name, value.
type Field = (String, usize, Node);

#[derive(Debug, Clone)]
enum Kind {
    Scalar,
    /// Byte offset of the `(`, fields.
    Struct(usize, Vec<Field>),
    Map(Vec<Field>),
    Tuple(Vec<Node>),
    List(Vec<Node>),
}

#[derive(Debug, Clone)]
struct Node(Location, Kind);

/// The locations of all values of one RON document, addressable by path.
#[derive(Debug, Clone)]
pub struct SourceMap {
    src: String,
    root: Node,
}

enum Step {
    Field(String),
    Index(usize),
}

impl SourceMap {
    /// Scans `src`; errors on structure the scanner cannot follow.
    pub fn parse(src: &str) -> Result<SourceMap, LocateError> {
        let root = Parser::new(src).document(true)?;
        let src = src.to_string();
        Ok(SourceMap { src, root })
    }

    /// Location of the value at `path`; `None` if absent or the path is malformed.
    pub fn locate(&self, path: &str) -> Option<Location> {
        self.find(path).map(|(n, _)| n.0)
    }

    /// The index form of `path`: `producers.checkout.acks` -> `producers[0].acks`.
    pub fn canonical_path(&self, path: &str) -> Option<String> {
        self.find(path).map(|(_, canon)| canon)
    }

    /// The `name: "..."` of the struct at `path`, e.g. `producers[0]` -> `checkout`.
    pub fn element_name(&self, path: &str) -> Option<String> {
        self.find(path).and_then(|(n, _)| self.name_of(n))
    }

    /// 1-based (line, column) of byte offset `byte` (clamped); column counted in chars.
    pub fn location_of_position(src: &str, byte: usize) -> (usize, usize) {
        Parser::new(src).line_col(byte)
    }

    /// The path of the innermost value (or field) that contains byte offset `byte`, e.g.
    /// `topics[0].partitions`; empty at the top level. Used to name the field of a parse error
    /// that only knows its position. One-element variants such as `Some(x)` are see-through.
    pub fn path_at(&self, byte: usize) -> String {
        let mut path = String::new();
        let mut node = &self.root;
        loop {
            let next = match &node.1 {
                Kind::Scalar => None,
                Kind::Struct(_, fields) | Kind::Map(fields) => fields
                    .iter()
                    .find(|(_, name_at, v)| *name_at <= byte && byte < v.0.end.max(*name_at + 1))
                    .map(|(name, _, v)| {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(name);
                        v
                    }),
                Kind::Tuple(items) | Kind::List(items) => {
                    let see_through = matches!(node.1, Kind::Tuple(_)) && items.len() == 1;
                    items.iter().enumerate().find(|(_, v)| v.0.start <= byte && byte < v.0.end).map(|(i, v)| {
                        if !see_through {
                            path.push_str(&format!("[{i}]"));
                        }
                        v
                    })
                }
            };
            match next {
                Some(n) => node = n,
                None => return path,
            }
        }
    }

    fn find(&self, path: &str) -> Option<(&Node, String)> {
        self.walk(&parse_path(path).ok()?).ok()
    }

    fn text(&self, n: &Node) -> &str {
        slice(&self.src, n.0.start, n.0.end)
    }

    fn short(&self, n: &Node) -> String {
        let text = self.text(n).split_whitespace().collect::<Vec<_>>().join(" ");
        let long = text.chars().count() > 40;
        text.chars().take(40).chain(long.then_some('…')).collect()
    }

    fn name_of(&self, n: &Node) -> Option<String> {
        match &transparent(n).1 {
            Kind::Struct(_, fields) => unquote(self.text(&fields.iter().find(|f| f.0 == "name")?.2)),
            _ => None,
        }
    }

    /// Resolves `steps` to a node and its canonical path, or (failing step, message).
    fn walk(&self, steps: &[Step]) -> Result<(&Node, String), (usize, String)> {
        let (mut node, mut canon, mut list_name) = (&self.root, String::new(), "element");
        for (i, step) in steps.iter().enumerate() {
            let here = match i {
                0 => "the top level".to_string(),
                _ => format!("`{canon}`"),
            };
            let t = transparent(node);
            let found = match (step, &node.1, &t.1) {
                (Step::Index(k), Kind::List(v) | Kind::Tuple(v), _) => {
                    v.get(*k).map(|n| (*k, n)).ok_or_else(|| out_of_range(*k, &here, v.len()))
                }
                (Step::Index(k), ..) => {
                    Err(format!("{here} is `{}`, not a list; `[{k}]` does not apply", self.short(node)))
                }
                (Step::Field(f), _, Kind::Struct(_, fs) | Kind::Map(fs)) => {
                    if let Some(x) = fs.iter().find(|x| x.0 == *f) {
                        (canon, list_name, node) = (join_path(&canon, f), f, &x.2);
                        continue;
                    }
                    let names = fs.iter().map(|x| x.0.clone()).collect();
                    Err(format!("no field `{f}` in {here}; available: {}", available(names)))
                }
                (Step::Field(f), _, Kind::List(v)) => self.element(v, f, &here, list_name),
                (Step::Field(f), _, Kind::Tuple(_)) => Err(format!(
                    "{here} is `{}` with positional values only (use `[i]`), no field `{f}`",
                    self.short(t)
                )),
                (Step::Field(f), _, Kind::Scalar) => {
                    Err(format!("{here} is the scalar `{}`; there is no `{f}` inside it", self.short(t)))
                }
            };
            let (k, next) = found.map_err(|message| (i, message))?;
            (canon, list_name, node) = (format!("{canon}[{k}]"), "element", next);
        }
        Ok((node, canon))
    }

    /// Element of list `v` whose `name` is `f` (or whose index is `f`).
    fn element<'n>(&self, v: &'n [Node], f: &str, here: &str, list_name: &str) -> Result<(usize, &'n Node), String> {
        let by_name = v.iter().position(|e| self.name_of(e).as_deref() == Some(f));
        if let Some(k) = by_name.or_else(|| f.parse().ok()) {
            return v.get(k).map(|n| (k, n)).ok_or_else(|| out_of_range(k, here, v.len()));
        }
        let what = list_name.strip_suffix('s').unwrap_or("element");
        let names: Vec<String> = v.iter().filter_map(|e| self.name_of(e)).collect();
        let hint = match names.is_empty() {
            true => " (elements have no `name` field; use `[i]`)".to_string(),
            false => String::new(),
        };
        let names = available(names);
        Err(format!("no {what} named {f:?} in {here}; available: {names}{hint}"))
    }
}

fn slice(s: &str, start: usize, end: usize) -> &str {
    s.get(start..end).unwrap_or("")
}

fn out_of_range(k: usize, here: &str, len: usize) -> String {
    format!("index {k} is out of range: {here} has {len} element(s)")
}

fn available(names: Vec<String>) -> String {
    if names.is_empty() { "none".to_string() } else { names.join(", ") }
}

fn join_path(path: &str, name: &str) -> String {
    let odd = name.is_empty() || name.contains(|c: char| ".[]\"".contains(c) || c.is_whitespace());
    let name = if odd { format!("{name:?}") } else { name.to_string() };
    if path.is_empty() { name } else { format!("{path}.{name}") }
}

/// Single-item tuple variants (`Some(x)`, `Crash(x)`) are see-through for field steps.
fn transparent(mut n: &Node) -> &Node {
    while let Kind::Tuple(items) = &n.1
        && items.len() == 1
    {
        n = &items[0];
    }
    n
}

/// The content of a string literal, or `None` if `text` is not one (common escapes only).
fn unquote(text: &str) -> Option<String> {
    let t = text.strip_prefix('b').unwrap_or(text);
    if let Some(raw) = t.strip_prefix('r').filter(|r| r.trim_start_matches('#').starts_with('"')) {
        let h = raw.len() - raw.trim_start_matches('#').len();
        return raw.get(h + 1..raw.len().checked_sub(h + 1)?).map(str::to_string);
    }
    let mut chars = t.strip_prefix('"')?.strip_suffix('"')?.chars();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        out.extend(match c {
            '\\' => chars.next().map(|e| if e == 'n' { '\n' } else { e }),
            c => Some(c),
        });
    }
    Some(out)
}

fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let path = path.trim();
    if path.is_empty() {
        return Err("empty path".to_string());
    }
    let (mut steps, mut chars) = (Vec::new(), path.chars().peekable());
    loop {
        let (before, mut name) = (steps.len(), String::new());
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => name.extend(chars.next()),
                    Some(c) => name.push(c),
                    None => return Err(format!("unterminated `\"` in path `{path}`")),
                }
            }
            steps.push(Step::Field(name));
        } else {
            let plain = |c: &char| !".[]\"".contains(*c) && !c.is_whitespace();
            name.extend(std::iter::from_fn(|| chars.next_if(plain)));
            if !name.is_empty() {
                steps.push(Step::Field(name));
            }
        }
        while chars.next_if_eq(&'[').is_some() {
            let index: String = std::iter::from_fn(|| chars.next_if(|&c| c != ']')).collect();
            if chars.next().is_none() {
                return Err(format!("unclosed `[` in path `{path}`"));
            }
            let bad = |_| format!("invalid index `[{index}]` in path `{path}`");
            steps.push(Step::Index(index.trim().parse().map_err(bad)?));
        }
        match chars.next() {
            _ if steps.len() == before => return Err(format!("empty segment in path `{path}`")),
            None => return Ok(steps),
            Some('.') => {}
            Some(c) => return Err(format!("unexpected `{c}` in path `{path}`")),
        }
    }
}

/// Replaces the value at `path` with `value_text` (raw RON, inserted verbatim). If only
/// the final field is missing but its parent struct exists, `field: value,` is inserted
/// right after the struct's opening paren (on its own line if the struct is multi-line).
pub fn apply_override(src: &str, path: &str, value_text: &str) -> Result<String, OverrideError> {
    let path_string = path.to_string();
    let fail = |message: String| OverrideError { path: path_string.clone(), message };
    let steps = parse_path(path).map_err(fail)?;
    let value = value_text.trim();
    if value.is_empty() {
        return Err(fail("empty value".to_string()));
    }
    let parsed = Parser::new(value).document(false);
    let parsed = parsed.map_err(|e| fail(format!("invalid value `{value}`: {e}")))?;
    // A trailing line comment in the value would swallow the `,` that follows it.
    let nl = slice(value, parsed.0.end, value.len()).contains("//").then_some("\n");
    let nl = nl.unwrap_or_default();
    let map = SourceMap::parse(src).map_err(|e| fail(format!("cannot scan the file: {e}")))?;
    let (start, end, text) = match map.walk(&steps) {
        Ok((node, _)) => (node.0.start, node.0.end, format!("{value}{nl}")),
        Err((i, message)) => {
            let parent = map.walk(&steps[..i]).map(|(p, _)| &transparent(p).1);
            let (Some(Step::Field(field)), true, Ok(Kind::Struct(open, fields))) =
                (steps.last(), i + 1 == steps.len(), parent)
            else {
                return Err(fail(message));
            };
            let ident = |(i, c): (usize, u8)| c == b'_' || c.is_ascii_alphabetic() || i > 0 && c.is_ascii_digit();
            if !field.bytes().enumerate().all(ident) {
                return Err(fail(format!("cannot insert `{field}`: not a valid field name")));
            }
            let line = |at| SourceMap::location_of_position(src, at).0;
            let text = match fields.first() {
                Some((_, at, _)) if line(*at) > line(*open) => {
                    let line_start = slice(src, 0, *at).rfind('\n').map_or(0, |i| i + 1);
                    let indent = slice(src, line_start, *at);
                    let indent = &indent[..indent.len() - indent.trim_start().len()];
                    format!("\n{indent}{field}: {value}{nl},")
                }
                _ => format!("{field}: {value}{nl}, "),
            };
            (open + 1, open + 1, text)
        }
    };
    let (head, tail) = (slice(src, 0, start), slice(src, end, src.len()));
    let out = format!("{head}{text}{tail}");
    let check = SourceMap::parse(&out);
    check.map_err(|e| fail(format!("the override would produce invalid RON: {e}")))?;
    Ok(out)
}

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
    /// Cache for `line_col`: (byte, line, column).
    lc: (usize, usize, usize),
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        let (b, pos, depth, lc) = (src.as_bytes(), 0, 0, (0, 1, 1));
        Parser { src, b, pos, depth, lc }
    }

    fn line_col(&mut self, at: usize) -> (usize, usize) {
        let at = at.min(self.b.len());
        let (from, mut line, mut col) = if at >= self.lc.0 { self.lc } else { (0, 1, 1) };
        for &c in &self.b[from..at] {
            match c {
                b'\n' => (line, col) = (line + 1, 1),
                c if c & 0xC0 != 0x80 => col += 1,
                _ => {}
            }
        }
        self.lc = (at, line, col);
        (line, col)
    }

    fn err<T>(&mut self, at: usize, message: impl Into<String>) -> Result<T, LocateError> {
        let ((line, column), message) = (self.line_col(at), message.into());
        Err(LocateError { message, line, column })
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.b.get(self.pos + off).copied()
    }

    fn peek(&self) -> Option<u8> {
        self.peek_at(0)
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.pos += usize::from(hit);
        hit
    }

    fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or(&[])
    }

    fn document(&mut self, attributes: bool) -> Result<Node, LocateError> {
        self.trivia()?;
        while attributes && self.rest().starts_with(b"#!") {
            match self.rest().iter().position(|&c| c == b']') {
                Some(i) => self.pos += i + 1,
                None => return self.err(self.pos, "unterminated `#![...]` attribute"),
            }
            self.trivia()?;
        }
        let root = self.value()?;
        self.trivia()?;
        match self.pos < self.b.len() {
            true => self.err(self.pos, "unexpected content after the top-level value"),
            false => Ok(root),
        }
    }

    fn trivia(&mut self) -> Result<(), LocateError> {
        loop {
            if self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                self.pos += 1;
            } else if self.rest().starts_with(b"//") {
                self.pos += self.rest().iter().take_while(|&&c| c != b'\n').count();
            } else if self.rest().starts_with(b"/*") {
                let (start, mut depth) = (self.pos, 0);
                loop {
                    let r = self.rest();
                    match (r.first(), r.get(1)) {
                        (None, _) => return self.err(start, "unterminated block comment"),
                        (Some(b'/'), Some(b'*')) => (depth, self.pos) = (depth + 1, self.pos + 2),
                        (Some(b'*'), Some(b'/')) => (depth, self.pos) = (depth - 1, self.pos + 2),
                        _ => self.pos += 1,
                    }
                    if depth == 0 {
                        break;
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        if self.rest().starts_with(b"r#") && self.peek_at(2).is_some_and(is_ident_start) {
            self.pos += 2;
        }
        let start = self.pos;
        if self.peek().is_some_and(is_ident_start) {
            let len = self.rest().iter().take_while(|&&c| is_ident_start(c) || c.is_ascii_digit());
            self.pos += len.count();
        }
        Some(self.src.get(start..self.pos)?.to_string()).filter(|s| !s.is_empty())
    }

    /// Whether a string or char literal (`"`, `'`, `b"`, `r#"`, `br"` ...) starts here.
    fn at_string(&self) -> bool {
        let r = self.rest();
        let r = r.strip_prefix(b"b").unwrap_or(r);
        let r = r.strip_prefix(b"r").map_or(r, |r| &r[r.iter().take_while(|&&c| c == b'#').count()..]);
        matches!(r.first(), Some(b'"' | b'\''))
    }

    fn value(&mut self) -> Result<Node, LocateError> {
        self.trivia()?;
        let start = self.pos;
        let (line, column) = self.line_col(start);
        let Some(c) = self.peek() else {
            return self.err(start, "unexpected end of input: expected a value");
        };
        let kind = match c {
            b'(' => self.parens()?,
            b'[' => Kind::List(self.seq(b']')?),
            b'{' => Kind::Map(self.fields(b'}', true)?),
            _ if self.at_string() => self.string()?,
            b'0'..=b'9' | b'-' | b'+' | b'.' => self.number()?,
            c if is_ident_start(c) => {
                self.ident();
                let end = self.pos;
                self.trivia()?;
                if self.peek() == Some(b'(') {
                    self.parens()?
                } else {
                    self.pos = end;
                    Kind::Scalar
                }
            }
            _ => {
                let ch = self.src.get(start..).and_then(|s| s.chars().next()).unwrap_or('?');
                return self.err(start, format!("unexpected `{ch}`: expected a value"));
            }
        };
        let end = self.pos;
        Ok(Node(Location { start, end, line, column }, kind))
    }

    /// Comma-separated items up to `close`, trailing comma allowed; `pos` is at the opener.
    fn items(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), LocateError>,
    ) -> Result<(), LocateError> {
        let open = self.pos;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(open, "nesting too deep");
        }
        self.pos += 1;
        loop {
            self.trivia()?;
            if !self.eat(close) {
                if self.peek().is_some() {
                    item(self)?;
                    self.trivia()?;
                }
                if self.eat(b',') {
                    continue;
                } else if !self.eat(close) {
                    return match self.peek() {
                        None => self.err(open, format!("unclosed `{}`", self.b[open] as char)),
                        _ => self.err(self.pos, format!("expected `,` or `{}`", close as char)),
                    };
                }
            }
            self.depth -= 1;
            return Ok(());
        }
    }

    fn seq(&mut self, close: u8) -> Result<Vec<Node>, LocateError> {
        let mut out = Vec::new();
        self.items(close, |p| {
            out.push(p.value()?);
            Ok(())
        })?;
        Ok(out)
    }

    /// `name: value` entries of a struct, or `key: value` entries of a map.
    fn fields(&mut self, close: u8, map: bool) -> Result<Vec<Field>, LocateError> {
        let mut out = Vec::new();
        self.items(close, |p| {
            let at = p.pos;
            let name = match map {
                true => p.value().map(|k| slice(p.src, k.0.start, k.0.end).to_string())?,
                false => p.ident().map_or_else(|| p.err(at, "expected a field name"), Ok)?,
            };
            p.trivia()?;
            if !p.eat(b':') {
                return p.err(p.pos, format!("expected `:` after `{name}`"));
            }
            out.push((unquote(&name).unwrap_or(name), at, p.value()?));
            Ok(())
        })?;
        Ok(out)
    }

    /// `(...)` after an optional name: a struct if it is empty or starts with `ident:`.
    fn parens(&mut self) -> Result<Kind, LocateError> {
        let open = self.pos;
        self.pos += 1;
        self.trivia()?;
        let empty = self.peek() == Some(b')');
        let named = self.ident().is_some() && self.trivia().is_ok() && self.peek() == Some(b':');
        self.pos = open;
        match empty || named {
            true => Ok(Kind::Struct(open, self.fields(b')', false)?)),
            false => Ok(Kind::Tuple(self.seq(b')')?)),
        }
    }

    fn string(&mut self) -> Result<Kind, LocateError> {
        let start = self.pos;
        self.eat(b'b');
        let raw = self.eat(b'r');
        let hashes = self.rest().iter().take_while(|&&c| c == b'#').count();
        self.pos += hashes;
        let quote = self.peek();
        self.pos += 1;
        loop {
            match self.peek() {
                None => return self.err(start, "unterminated string"),
                Some(b'\\') if !raw => self.pos += 2,
                c if c == quote && (1..=hashes).all(|i| self.peek_at(i) == Some(b'#')) => break,
                _ => self.pos += 1,
            }
        }
        self.pos += 1 + hashes;
        Ok(Kind::Scalar)
    }

    fn number(&mut self) -> Result<Kind, LocateError> {
        let start = self.pos;
        let body = start + usize::from(matches!(self.peek(), Some(b'-' | b'+')));
        let hex = self.b.get(body..).is_some_and(|r| r.starts_with(b"0x") || r.starts_with(b"0X"));
        self.pos = body;
        while let Some(c) = self.peek() {
            let after_e = self.pos > body && matches!(self.b[self.pos - 1], b'e' | b'E');
            let exp_sign = matches!(c, b'+' | b'-') && !hex && after_e;
            if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exp_sign) {
                break;
            }
            self.pos += 1;
        }
        match self.pos == body {
            true => self.err(start, "expected a number"),
            false => Ok(Kind::Scalar),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r##"// scenario used by the tests
#![enable(implicit_some)]
Scenario(
    name: "acks1-leader-crash",
    description: "acks=1: the “leader” (crash, [x]) // not a comment \" ok", seed: 7,
    /* block ) ] , comment /* nested */ */
    duration_ms: 20000,
    cluster: (brokers: 3, network: (latency_us: 500, jitter_us: 100)),
    topics: [(name: "orders", partitions: 3, replication_factor: 3, min_insync_replicas: 2)],
    producers: [(
        name: "checkout", topic: "orders", // a ( comment [ with , brackets
        arrival: Poisson(per_sec: 2000.5), key: Uniform(keys: 100), value_bytes: 200,
        acks: One, linger_ms: 5, batch_size: 16384, partition: Some(3), ratio: -1.5e3,
    ), (name: "audit", topic: "orders", arrival: Constant(per_sec: 0x1F), c: 'x', n: 1_000)],
    faults: [ (at_ms: 8000, fault: Crash(LeaderOf("orders", 0))) ],
    charts: [Offsets(topic: "orders", partition: 0), Latency],
    tags: {"a": 1, "b c": r#"raw ")"#},
)
"##;

    fn text<'a>(src: &'a str, path: &str) -> &'a str {
        let loc = SourceMap::parse(src).unwrap().locate(path);
        let loc = loc.unwrap_or_else(|| panic!("{path} not found"));
        &src[loc.start..loc.end]
    }

    #[test]
    fn locates_nested_values() {
        let cases = [
            ("name", "\"acks1-leader-crash\""),
            ("duration_ms", "20000"),
            ("cluster.network.jitter_us", "100"),
            ("topics[0].name", "\"orders\""),
            ("producers[0].topic", "\"orders\""),
            ("producers[0].arrival", "Poisson(per_sec: 2000.5)"),
            ("producers[0].arrival.per_sec", "2000.5"),
            ("producers.checkout.partition", "Some(3)"),
            ("producers.checkout.ratio", "-1.5e3"),
            ("producers.audit.arrival.per_sec", "0x1F"),
            ("producers.audit.c", "'x'"),
            ("producers.1.n", "1_000"),
            ("faults[0].fault", "Crash(LeaderOf(\"orders\", 0))"),
            ("faults[0].fault[0][1]", "0"),
            ("charts[1]", "Latency"),
            ("charts[0].topic", "\"orders\""),
            ("tags.a", "1"),
            ("tags.\"b c\"", "r#\"raw \")\"#"),
        ];
        for (path, want) in cases {
            assert_eq!(text(EXAMPLE, path), want, "{path}");
        }
        let map = SourceMap::parse(EXAMPLE).unwrap();
        let at = |p: &str| map.locate(p).map(|l| (l.line, l.column));
        assert_eq!(at("name"), Some((4, 11)));
        assert_eq!(at("topics[0].name"), Some((9, 21)));
        assert_eq!(at("producers.checkout.arrival"), Some((12, 18)));
        assert_eq!(at("producers[0].arrival.per_sec"), Some((12, 35)));
        assert_eq!(at("producers.audit"), Some((14, 8)));
        // Columns count chars: “ and ” take 3 bytes each.
        let seed = map.locate("seed").unwrap();
        let line_start = EXAMPLE[..seed.start].rfind('\n').unwrap() + 1;
        assert_eq!((seed.line, seed.column), (5, seed.start - line_start + 1 - 4));
        assert_eq!(SourceMap::location_of_position(EXAMPLE, seed.start), (5, seed.column));
    }

    #[test]
    fn names_indices_and_absent_paths() {
        let map = SourceMap::parse(EXAMPLE).unwrap();
        assert_eq!(map.locate("producers.checkout.acks"), map.locate("producers[0].acks"));
        let canonical = map.canonical_path("producers.audit.arrival.per_sec");
        assert_eq!(canonical.as_deref(), Some("producers[1].arrival.per_sec"));
        assert_eq!(map.canonical_path("tags.\"b c\"").as_deref(), Some("tags.\"b c\""));
        assert_eq!(map.element_name("producers[1]").as_deref(), Some("audit"));
        assert_eq!(map.element_name("faults[0]"), None);
        for missing in ["nope", "producers.x", "producers[9]", "seed.x", "charts[1].x", "", "a..b"] {
            assert_eq!(map.locate(missing), None, "{missing}");
        }
    }

    #[test]
    fn scan_errors_have_positions() {
        let err = SourceMap::parse("Scenario(\n  a: (1, 2\n").unwrap_err();
        assert_eq!((err.line, err.column, err.message.as_str()), (2, 6, "unclosed `(`"));
        let err = SourceMap::parse("(a: 1) x").unwrap_err().to_string();
        assert_eq!(err, "1:8: unexpected content after the top-level value");
        for bad in ["(a: \"open)", "(a: 1 /* open", "(a 1)", "", "[1 2]", "(a: ])"] {
            assert!(SourceMap::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn override_replaces_values() {
        let out = apply_override(EXAMPLE, "producers.checkout.linger_ms", "10").unwrap();
        assert!(out.contains("acks: One, linger_ms: 10, batch_size"));
        let out = apply_override(&out, "producers[0].arrival", "Constant(per_sec: 5)").unwrap();
        let out = apply_override(&out, "faults", " [(at_ms: 1, fault: Heal)] ").unwrap();
        let out = apply_override(&out, "name", "\"x\" // trailing comment").unwrap();
        assert_eq!(text(&out, "producers.checkout.arrival.per_sec"), "5");
        assert_eq!(text(&out, "faults[0].fault"), "Heal");
        assert_eq!(text(&out, "name"), "\"x\"");
        assert_eq!(text(&out, "description"), text(EXAMPLE, "description"));
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)] // read through Debug
    enum Arrival {
        Poisson { per_sec: f64 },
        Constant { per_sec: f64 },
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Producer {
        name: String,
        arrival: Arrival,
        #[serde(default)]
        linger_ms: u64,
        #[serde(default)]
        partition: Option<u32>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Mini {
        name: String,
        #[serde(default)]
        seed: u64,
        network: (u64, u64),
        producers: Vec<Producer>,
    }

    #[test]
    fn override_inserts_missing_fields_and_round_trips() {
        let mut src = "#![enable(implicit_some)]\nMini(\n    name: \"m\",\n    network: (500, 0),\n    producers: [(name: \"checkout\", arrival: Poisson(per_sec: 2.5))],\n)\n".to_string();
        let sets = [
            ("seed", "3 // trailing comment"),
            ("network", "(1, 2)"),
            ("producers.checkout.linger_ms", "7"),
            ("producers[0].partition", "3"),
            ("producers.checkout.arrival", "Constant(per_sec: 5)"),
            ("name", "\"a // (b), [c]\""),
        ];
        for (path, value) in sets {
            src = apply_override(&src, path, value).unwrap();
        }
        assert!(src.contains("Mini(\n    seed: 3 // trailing comment\n,\n    name:"), "{src}");
        let mini: Mini = ron::from_str(&src).unwrap_or_else(|e| panic!("{e}\n{src}"));
        let want = r#"Mini { name: "a // (b), [c]", seed: 3, network: (1, 2), producers: [Producer { name: "checkout", arrival: Constant { per_sec: 5.0 }, linger_ms: 7, partition: Some(3) }] }"#;
        assert_eq!(format!("{mini:?}"), want);
        // Inserting into an empty struct stays valid too.
        let out = apply_override("Net()", "latency_us", "1").unwrap();
        assert_eq!(out, "Net(latency_us: 1, )");
        ron::from_str::<ron::Value>(&out).unwrap();
    }

    #[test]
    fn override_errors_are_helpful() {
        let err = |path: &str, value: &str| apply_override(EXAMPLE, path, value).unwrap_err();
        let unknown =
            "--set producers.chekout.acks: no producer named \"chekout\" in `producers`; available: checkout, audit";
        assert_eq!(err("producers.chekout.acks", "1").to_string(), unknown);
        let range = "index 5 is out of range: `producers` has 2 element(s)";
        let fields = "no field `nope` in `cluster`; available: brokers, network";
        let cases = [
            ("producers[5].acks", range),
            ("producers.5", range),
            ("cluster.nope.x", fields),
            ("seed.x", "`seed` is the scalar `7`; there is no `x` inside it"),
            (
                "faults.x.at_ms",
                "no fault named \"x\" in `faults`; available: none (elements have no `name` field; use `[i]`)",
            ),
            ("charts[1].x", "`charts[1]` is the scalar `Latency`; there is no `x` inside it"),
            (
                "faults[0].fault.x",
                "`faults[0].fault` is `LeaderOf(\"orders\", 0)` with positional values only (use `[i]`), no field `x`",
            ),
            (
                "cluster[0]",
                "`cluster` is `(brokers: 3, network: (latency_us: 500, …`, not a list; `[0]` does not apply",
            ),
            ("tags.zz", "no field `zz` in `tags`; available: a, b c"),
            ("cluster.\"a b\"", "cannot insert `a b`: not a valid field name"),
            ("", "empty path"),
            ("a..b", "empty segment in path `a..b`"),
            ("a[x]", "invalid index `[x]` in path `a[x]`"),
            ("a[0", "unclosed `[` in path `a[0`"),
        ];
        for (path, want) in cases {
            assert_eq!(err(path, "1").message, want, "{path}");
        }
        assert_eq!(err("seed", " ").message, "empty value");
        for value in ["(1,", "1, name: 2", "#![x] 1"] {
            assert!(err("seed", value).message.starts_with("invalid value"), "{value}");
        }
    }

    #[test]
    fn never_panics_on_damaged_input() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n.max(1) as u64) as usize
        };
        let paths = ["producers.checkout.linger_ms", "faults[0].fault", "cluster.network.x", "x.y"];
        let junk: Vec<char> = "()[]{}\"',:/*#r-.\\e“x 0\n".chars().collect();
        let check = |src: &str, path: &str| {
            if let Ok(map) = SourceMap::parse(src) {
                let _ = (map.locate(path), map.canonical_path(path), map.element_name(path));
            }
            let _ = apply_override(src, path, "(a: [1, \"]\"])");
            let _ = SourceMap::location_of_position(src, src.len() / 2 + 1);
        };
        let bytes = EXAMPLE.as_bytes();
        for i in 0..=bytes.len() {
            check(&String::from_utf8_lossy(&bytes[..i]), paths[i % paths.len()]);
        }
        for round in 0..3000 {
            let mut chars: Vec<char> = EXAMPLE.chars().collect();
            for _ in 0..=rnd(4) {
                let at = rnd(chars.len());
                chars[at] = junk[rnd(junk.len())];
            }
            chars.truncate(if round % 2 == 0 { chars.len() } else { rnd(chars.len() + 1) });
            let src: String = chars.into_iter().collect();
            let path: String = (0..rnd(12)).map(|_| junk[rnd(junk.len())]).collect();
            check(&src, paths[round % paths.len()]);
            check(&src, &path);
        }
        for deep in ["(", "[", "{", "Some(", "/*", "(a:"] {
            assert!(SourceMap::parse(&deep.repeat(50_000)).is_err());
        }
        assert_eq!(SourceMap::location_of_position("é\nx", 1), (1, 2));
        assert_eq!(SourceMap::location_of_position("", 5), (1, 1));
    }

    #[test]
    fn example_is_valid_ron() {
        ron::from_str::<ron::Value>(EXAMPLE).unwrap();
    }
}
