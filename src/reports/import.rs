//! CSV import of units and teams (pure: text in, records or numbered errors out).
//!
//! Units: `code,name,kind,parent,aliases,valid_from,valid_to,replaced_by` (the last four
//! may be empty; aliases are separated by `|`). Teams: `unit,name`. A header line is
//! required so columns are self-describing. Either the whole file is valid or nothing
//! is imported.

use crate::calendar::UnixSecs;
use std::collections::HashMap;

use super::model::{Unit, UnitKind, UnitLevel};
use super::text::nfc;

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF, optional BOM).
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut line = 1;
    while let Some(c) = chars.next() {
        match (in_quotes, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => in_quotes = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => in_quotes = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                line += 1;
            }
            (false, c) => field.push(c),
        }
    }
    if in_quotes {
        return Err(format!("line {line}: unclosed quote"));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    // Blank lines and `#` comment lines (notes in shipped examples) are skipped.
    rows.retain(|r| {
        r.iter().any(|f| !f.trim().is_empty()) && !r.first().is_some_and(|f| f.starts_with('#'))
    });
    Ok(rows)
}

/// Reads the units file. `existing` are units already in the store (parents may be
/// there). Errors carry 1-based line numbers.
pub fn units_from_csv(text: &str, existing: &[Unit]) -> Result<Vec<Unit>, Vec<String>> {
    let rows = parse_csv(text).map_err(|e| vec![e])?;
    let columns = header_index(&rows, &["code", "name", "kind", "parent"])?;
    let col = |row: &[String], name: &str| -> String {
        columns.get(name).and_then(|&i| row.get(i)).map(|s| nfc(s.trim())).unwrap_or_default()
    };
    let mut problems = Vec::new();
    let mut units = Vec::new();
    for (n, row) in rows.iter().enumerate().skip(1) {
        let line = n + 1;
        let code = col(row, "code");
        let name = col(row, "name");
        let kind_text = col(row, "kind");
        let parent = Some(col(row, "parent")).filter(|p| !p.is_empty());
        if code.is_empty() || name.is_empty() {
            problems.push(format!("line {line}: code and name are required"));
            continue;
        }
        let Some(kind) = UnitKind::parse(&kind_text) else {
            problems.push(format!("line {line}: unknown kind {kind_text:?} (xa, phuong, dac_khu, thon, to_dan_pho, tinh, thanh_pho)"));
            continue;
        };
        let optional = |name: &str| Some(col(row, name)).filter(|v| !v.is_empty());
        units.push(Unit {
            code,
            name,
            kind,
            parent,
            aliases: col(row, "aliases")
                .split('|')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            valid_from: optional("valid_from"),
            valid_to: optional("valid_to"),
            replaced_by: optional("replaced_by"),
        });
    }
    let mut levels: HashMap<&str, UnitLevel> =
        existing.iter().map(|u| (u.code.as_str(), u.level())).collect();
    let mut seen = HashMap::new();
    for (i, unit) in units.iter().enumerate() {
        if seen.insert(unit.code.as_str(), i).is_some() {
            problems.push(format!("unit {}: listed twice", unit.code));
        }
        levels.insert(&unit.code, unit.level());
    }
    for unit in &units {
        if let Some(successor) = &unit.replaced_by {
            match levels.get(successor.as_str()) {
                None => {
                    problems.push(format!("unit {}: replaced_by {successor} is unknown", unit.code))
                }
                Some(level) if *level != unit.level() => problems.push(format!(
                    "unit {}: replaced_by {successor} is on another level",
                    unit.code
                )),
                Some(_) => {}
            }
        }
        let want_parent = match unit.level() {
            UnitLevel::Province => None,
            UnitLevel::Commune => Some(UnitLevel::Province),
            UnitLevel::Village => Some(UnitLevel::Commune),
        };
        match (&unit.parent, want_parent) {
            (None, None) => {}
            (Some(_), None) => problems.push(format!("unit {}: a province has no parent", unit.code)),
            (None, Some(_)) => problems.push(format!("unit {}: parent is required", unit.code)),
            (Some(parent), Some(want)) => match levels.get(parent.as_str()) {
                None => problems.push(format!("unit {}: parent {parent} is unknown", unit.code)),
                Some(level) if *level != want => problems.push(format!(
                    "unit {}: parent {parent} is a {level:?}, expected a {want:?} (no district level since 1/7/2025)",
                    unit.code
                )),
                Some(_) => {}
            },
        }
    }
    if problems.is_empty() { Ok(units) } else { Err(problems) }
}

/// One row of the teams file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRow {
    pub unit: String,
    pub name: String,
    /// Unix seconds, from the optional `expected_from` column.
    pub expected_from: Option<UnixSecs>,
}

/// `2026-11` or `11/2026` (the first of that month) or `2026-11-15`, at 00:00 Vietnam
/// time, as Unix seconds.
pub fn parse_expected_from(text: &str) -> Result<UnixSecs, String> {
    let text = text.trim();
    let number = |s: &str| s.parse::<u32>().ok();
    let (year, month, day) = match text.split(['-', '/']).collect::<Vec<_>>()[..] {
        [y, m] if y.len() == 4 => (number(y), number(m), Some(1)),
        [m, y] if y.len() == 4 => (number(y), number(m), Some(1)),
        [y, m, d] if y.len() == 4 => (number(y), number(m), number(d)),
        _ => (None, None, None),
    };
    match (year, month, day) {
        (Some(y), Some(m), Some(d))
            if (1..=12).contains(&m)
                && d >= 1
                && d <= crate::calendar::days_in_month(y as i32, m) =>
        {
            Ok(UnixSecs(
                crate::calendar::days_from_civil(y as i32, m, d) * 86_400
                    - crate::calendar::UTC_OFFSET_SECS,
            ))
        }
        _ => Err(format!(
            "expected_from {text:?}: use a month like 2026-11 or 11/2026, or a date like 2026-11-15"
        )),
    }
}

/// Reads the teams file (`unit,name[,expected_from]`); units must be known.
pub fn teams_from_csv(text: &str, units: &[Unit]) -> Result<Vec<TeamRow>, Vec<String>> {
    let rows = parse_csv(text).map_err(|e| vec![e])?;
    let columns = header_index(&rows, &["unit", "name"])?;
    let known: HashMap<&str, ()> = units.iter().map(|u| (u.code.as_str(), ())).collect();
    let mut problems = Vec::new();
    let mut teams = Vec::new();
    for (n, row) in rows.iter().enumerate().skip(1) {
        let get = |name: &str| {
            columns.get(name).and_then(|&i| row.get(i)).map(|s| nfc(s.trim())).unwrap_or_default()
        };
        let (unit, name, from) = (get("unit"), get("name"), get("expected_from"));
        let expected_from =
            if from.is_empty() { Ok(None) } else { parse_expected_from(&from).map(Some) };
        if unit.is_empty() || name.is_empty() {
            problems.push(format!("line {}: unit and name are required", n + 1));
        } else if !known.contains_key(unit.as_str()) {
            problems.push(format!("line {}: unit {unit} is unknown", n + 1));
        } else {
            match expected_from {
                Ok(expected_from) => teams.push(TeamRow { unit, name, expected_from }),
                Err(e) => problems.push(format!("line {}: {e}", n + 1)),
            }
        }
    }
    if problems.is_empty() { Ok(teams) } else { Err(problems) }
}

fn header_index(
    rows: &[Vec<String>],
    required: &[&str],
) -> Result<HashMap<String, usize>, Vec<String>> {
    let Some(header) = rows.first() else { return Err(vec!["the file is empty".to_owned()]) };
    let columns: HashMap<String, usize> =
        header.iter().enumerate().map(|(i, h)| (h.trim().to_lowercase(), i)).collect();
    let missing: Vec<String> = required
        .iter()
        .filter(|r| !columns.contains_key(**r))
        .map(|r| format!("header: column {r:?} is missing"))
        .collect();
    if missing.is_empty() { Ok(columns) } else { Err(missing) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_from_accepts_months_and_dates_in_vietnam_time() {
        // 2026-11-01 00:00 in Vietnam is 2026-10-31 17:00 UTC.
        let nov_1 = UnixSecs(1_793_466_000);
        for (text, want) in [
            ("2026-11", Ok(nov_1)),
            ("11/2026", Ok(nov_1)),
            (" 2026-11-01 ", Ok(nov_1)),
            ("2028-02-29", Ok(UnixSecs(1_835_370_000))),
            ("2026-02-29", Err(())),
            ("2026-13", Err(())),
            ("T11", Err(())),
            ("", Err(())),
        ] {
            assert_eq!(parse_expected_from(text).map_err(|_| ()), want, "{text:?}");
        }
    }

    #[test]
    fn teams_file_with_expected_from() {
        let units = units_from_csv(include_str!("../../config/units-example.csv"), &[]).unwrap();
        let rows = teams_from_csv(
            "unit,name,expected_from\n19900-01,Tổ A,2026-11\n19900-02,Tổ B,\n",
            &units,
        )
        .unwrap();
        assert_eq!(rows[0].expected_from, Some(UnixSecs(1_793_466_000)));
        assert_eq!(rows[1].expected_from, None);
        let bad = teams_from_csv("unit,name,expected_from\n19900-01,Tổ A,mai\n", &units);
        assert!(bad.unwrap_err()[0].contains("line 2: expected_from"));
    }

    #[test]
    fn csv_quotes_and_bom() {
        let rows = parse_csv("\u{FEFF}a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\n").unwrap();
        assert_eq!(rows, vec![vec!["a", "b"], vec!["x, y", "say \"hi\""]]);
        assert!(parse_csv("a,\"b").is_err());
    }

    #[test]
    fn shipped_examples_import() {
        let units = units_from_csv(include_str!("../../config/units-example.csv"), &[]).unwrap();
        assert!(units.iter().any(|u| u.level() == UnitLevel::Village));
        let teams = teams_from_csv(include_str!("../../config/teams-example.csv"), &units).unwrap();
        assert!(!teams.is_empty());
    }

    #[test]
    fn unit_errors() {
        let head = "code,name,kind,parent\n";
        let cases: &[(&str, &str)] = &[
            ("", "the file is empty"),
            ("code,name\n1,x", "column \"kind\" is missing"),
            ("1,,xa,", "code and name are required"),
            ("1,X,huyen,", "unknown kind \"huyen\""),
            ("1,X,xa,", "parent is required"),
            ("1,X,tinh,2", "a province has no parent"),
            ("1,X,xa,99", "parent 99 is unknown"),
            ("1,P,tinh,\n2,V,thon,1", "expected a Commune"),
            ("1,P,tinh,\n1,P,tinh,", "listed twice"),
            ("code,name,kind,parent,replaced_by\n1,P,tinh,,9", "replaced_by 9 is unknown"),
            ("code,name,kind,parent,replaced_by\n1,P,tinh,,2\n2,X,xa,1,", "on another level"),
        ];
        for (body, want) in cases {
            let text = if body.starts_with("code") || body.is_empty() {
                body.to_string()
            } else {
                format!("{head}{body}")
            };
            let errs = units_from_csv(&text, &[]).unwrap_err().join("; ");
            assert!(errs.contains(want), "{body:?}: {errs}");
        }
        let teams_err = teams_from_csv("unit,name\n404,Tổ A\n,B", &[]).unwrap_err().join("; ");
        assert!(
            teams_err.contains("unit 404 is unknown") && teams_err.contains("line 3"),
            "{teams_err}"
        );
    }
}
