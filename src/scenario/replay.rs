//! Replay files (`Arrival::Replay`): a CSV of `time_ms[,key][,value_bytes]`, parsed when the
//! scenario is loaded so that the simulation itself never reads a file.
//!
//! The format is deliberately small: comma-separated cells without quoting, trimmed of spaces;
//! blank lines and lines starting with `#` are skipped; an optional header row names the columns
//! (`time_ms`, `key`, `value_bytes`, in that order, `key` optional); without a header the columns
//! are positional. An empty cell leaves that record to the producer's own setting.

use std::collections::BTreeMap;

use super::schema::{ReplayData, ReplayRow};

/// Largest value a row may give, as for `value_bytes` (1 MiB).
const MAX_VALUE_BYTES: u64 = 1_048_576;
/// Latest time a row may give: a year, in ms (well inside the integer clock).
const MAX_TIME_MS: f64 = 365.0 * 24.0 * 3_600_000.0;

/// A problem in a replay file: the 1-based line and what is wrong with it.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvError {
    pub line: usize,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Column {
    Time,
    Key,
    Value,
}

/// The columns of a file without a header, by position.
const POSITIONAL: [Column; 3] = [Column::Time, Column::Key, Column::Value];

/// Parses the text of a replay file.
pub fn parse_csv(text: &str) -> Result<ReplayData, CsvError> {
    let mut data = ReplayData::default();
    let mut key_index: BTreeMap<String, u32> = BTreeMap::new();
    // `None` until the first row; then the header's columns, or empty for positional rows.
    let mut columns: Option<Vec<Column>> = None;
    let mut last_ns = 0u64;
    let mut last_ms = 0.0f64;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| CsvError { line, message };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = trimmed.split(',').map(str::trim).collect();
        if columns.is_none() {
            if cells[0].parse::<f64>().is_err() {
                columns = Some(header(&cells).map_err(err)?);
                continue;
            }
            columns = Some(Vec::new());
        }
        let cols = match columns.as_deref() {
            Some([]) | None if cells.len() <= 3 => &POSITIONAL[..cells.len()],
            Some([]) | None => {
                return Err(err(format!("{} cells, at most 3 allowed: time_ms,key,value_bytes", cells.len())));
            }
            Some(c) if c.len() == cells.len() => c,
            Some(c) => {
                return Err(err(format!("{} cells, but the header names {} columns", cells.len(), c.len())));
            }
        };
        let mut row = ReplayRow { at_ns: 0, key: None, value_bytes: None };
        for (cell, col) in cells.iter().zip(cols) {
            match col {
                Column::Time => {
                    let ms: f64 = cell.parse().map_err(|_| err(format!("time_ms {cell:?} is not a number")))?;
                    if !ms.is_finite() || !(0.0..=MAX_TIME_MS).contains(&ms) {
                        return Err(err(format!("time_ms {cell} is out of range (0 to {MAX_TIME_MS} ms)")));
                    }
                    if ms < last_ms {
                        return Err(err(format!(
                            "time_ms {cell} is before the previous row's {last_ms}: times must not decrease"
                        )));
                    }
                    last_ms = ms;
                    // Non-negative: adding 0.5 and truncating rounds to the nearest ns.
                    row.at_ns = ((ms * 1e6 + 0.5) as u64).max(last_ns);
                    last_ns = row.at_ns;
                }
                Column::Key if cell.is_empty() => {}
                Column::Key => {
                    let next = data.keys.len() as u32;
                    let index = *key_index.entry(cell.to_string()).or_insert_with(|| {
                        data.keys.push(cell.to_string());
                        next
                    });
                    row.key = Some(index);
                }
                Column::Value if cell.is_empty() => {}
                Column::Value => {
                    let bytes: u64 = cell
                        .parse()
                        .map_err(|_| err(format!("value_bytes {cell:?} is not a whole number of bytes")))?;
                    if bytes > MAX_VALUE_BYTES {
                        return Err(err(format!("value_bytes {bytes} is out of range (0 to {MAX_VALUE_BYTES} bytes)")));
                    }
                    row.value_bytes = Some(bytes as u32);
                }
            }
        }
        data.rows.push(row);
    }
    if data.rows.is_empty() {
        return Err(CsvError { line: text.lines().count().max(1), message: "the file has no records".to_string() });
    }
    Ok(data)
}

fn header(cells: &[&str]) -> Result<Vec<Column>, String> {
    let cols: Option<Vec<Column>> = cells
        .iter()
        .map(|c| match *c {
            "time_ms" => Some(Column::Time),
            "key" => Some(Column::Key),
            "value_bytes" => Some(Column::Value),
            _ => None,
        })
        .collect();
    match cols {
        Some(c)
            if c == [Column::Time]
                || c == [Column::Time, Column::Key]
                || c == [Column::Time, Column::Value]
                || c == [Column::Time, Column::Key, Column::Value] =>
        {
            Ok(c)
        }
        _ => Err(format!(
            "the first row is neither a record nor a header: {:?} (a header is time_ms[,key][,value_bytes])",
            cells.join(",")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_rows_may_omit_trailing_columns() {
        let d = parse_csv("# a comment\n0\n\n1.25,user-1\n2,user-2,300\n2,,40\n3,user-1,\n").unwrap();
        let rows: Vec<(u64, Option<u32>, Option<u32>)> =
            d.rows.iter().map(|r| (r.at_ns, r.key, r.value_bytes)).collect();
        assert_eq!(
            rows,
            [
                (0, None, None),
                (1_250_000, Some(0), None),
                (2_000_000, Some(1), Some(300)),
                (2_000_000, None, Some(40)),
                (3_000_000, Some(0), None)
            ]
        );
        assert_eq!(d.keys, ["user-1", "user-2"]);
    }

    #[test]
    fn a_header_names_the_columns() {
        let d = parse_csv("time_ms, value_bytes\n5, 10\n6, 20\n").unwrap();
        assert_eq!(d.rows[1].value_bytes, Some(20));
        assert_eq!(d.rows[1].key, None);
        let e = parse_csv("time_ms,value_bytes\n5\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("header names 2 columns"), "{}", e.message);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let cases = [
            ("1\n2\n1.5\n", 3, "before the previous row"),
            ("1\nx,2\n", 2, "not a number"),
            ("1,k,-3\n", 1, "not a whole number"),
            ("1,k,2000000\n", 1, "out of range"),
            ("1,k,2,3\n", 1, "at most 3"),
            ("when,what\n1\n", 1, "neither a record nor a header"),
            ("# nothing\n", 1, "no records"),
            ("-1\n", 1, "out of range"),
        ];
        for (text, line, message) in cases {
            let e = parse_csv(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e:?}");
            assert!(e.message.contains(message), "{text:?}: {}", e.message);
        }
    }
}
