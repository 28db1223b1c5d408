//! Completeness, timeliness and totals per unit and period, rolled up the unit tree.
//!
//! Like DHIS2's reporting rates: a team is *expected* for every period that ends after
//! its `expected_from` (by default its creation), and for every period it reported for;
//! it *reported* when it has a current (not withdrawn) version; that
//! version is *on time* or *late*. Each team counts for its own unit and every ancestor
//! (village → commune → province). Cells are dense vectors indexed by (unit, period),
//! so 5,000 teams × 24 periods is a few hundred thousand additions.

use crate::calendar::UnixSecs;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde::Serialize;

use super::definition::{IndicatorKind, ReportType};
use super::model::{Team, Unit, UnitLevel};
use super::oneline::Values;
use super::period::Period;
use super::value::Value;

/// Deepest unit chain followed; guards against a parent cycle in imported data.
const MAX_DEPTH: usize = 8;

/// The unit tree, indexed.
pub struct Hierarchy<'u> {
    units: Vec<&'u Unit>,
    index: HashMap<&'u str, usize>,
}

impl<'u> Hierarchy<'u> {
    pub fn new(units: &'u [Unit]) -> Hierarchy<'u> {
        let units: Vec<&Unit> = units.iter().collect();
        let index = units.iter().enumerate().map(|(i, u)| (u.code.as_str(), i)).collect();
        Hierarchy { units, index }
    }

    pub fn get(&self, code: &str) -> Option<&'u Unit> {
        self.index.get(code).map(|&i| self.units[i])
    }

    /// Indexes of `code` and its ancestors, nearest first.
    /// A unit merged into another (`replaced_by`, as villages were in 2025 and may be
    /// again) counts as its successor, so old teams and their history roll up into the
    /// unit that exists now.
    fn resolve(&self, code: &str) -> Option<usize> {
        let mut at = *self.index.get(code)?;
        for _ in 0..MAX_DEPTH {
            let successor = self.units[at].replaced_by.as_deref().and_then(|r| self.index.get(r));
            match successor {
                Some(&next) if next != at => at = next,
                _ => break,
            }
        }
        Some(at)
    }

    fn chain(&self, code: &str) -> Vec<usize> {
        let mut out = Vec::new();
        let mut next = self.resolve(code);
        while let Some(i) = next {
            if out.contains(&i) || out.len() >= MAX_DEPTH {
                break;
            }
            out.push(i);
            next = self.units[i].parent.as_deref().and_then(|p| self.index.get(p).copied());
        }
        out
    }

    /// `code` and its ancestors, top (province) first.
    pub fn path(&self, code: &str) -> Vec<&'u Unit> {
        let mut units: Vec<&Unit> = self.chain(code).into_iter().map(|i| self.units[i]).collect();
        units.reverse();
        units
    }

    /// Name of the ancestor-or-self of `code` at `level`.
    pub fn name_at(&self, code: &str, level: UnitLevel) -> Option<String> {
        self.path(code).into_iter().find(|u| u.level() == level).map(|u| u.display_name())
    }

    /// Whether `code` is `ancestor` or lies under it.
    pub fn is_within(&self, code: &str, ancestor: &str) -> bool {
        self.path(code).iter().any(|u| u.code == ancestor)
    }
}

/// One current report, as aggregation needs it.
#[derive(Debug, Clone, Copy)]
pub struct Fact<'a> {
    pub team: u64,
    pub period: &'a str,
    pub on_time: bool,
    pub values: FactValues<'a>,
}

/// A report's values, either as stored or already reduced to numbers by the store.
#[derive(Debug, Clone, Copy)]
pub enum FactValues<'a> {
    /// Values by indicator code.
    Map(&'a Values),
    /// Numbers aligned with the report's non-text indicators in definition order
    /// (integers as they are, yes = 1, no = 0), as `totals` sums them.
    Aligned(&'a [i64]),
}

/// The codes `FactValues::Aligned` numbers follow, in order.
pub fn numeric_codes(report: &ReportType) -> Vec<&str> {
    report
        .indicators
        .iter()
        .filter(|i| i.kind != IndicatorKind::Text)
        .map(|i| i.code.as_str())
        .collect()
}

// Row strings are `Arc<str>` shared across rows: 24 periods × 5,000 units make a
// quarter of a million rows, and per-row copies of codes and names dominated the time.

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletenessRow {
    pub unit: Arc<str>,
    pub unit_name: Arc<str>,
    pub level: UnitLevel,
    pub period: Arc<str>,
    pub expected: u32,
    pub reported: u32,
    pub on_time: u32,
    pub late: u32,
    /// reported / expected, in percent with one decimal; 0 when nothing is expected.
    pub rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalsRow {
    pub unit: Arc<str>,
    pub unit_name: Arc<str>,
    pub level: UnitLevel,
    pub period: Arc<str>,
    pub reports: u32,
    /// Sum per integer indicator code.
    pub totals: Sums<i64>,
    /// Number of "Có" answers per yes/no indicator code.
    pub yes: Sums<u32>,
}

/// A value per indicator code, in code order; serialized as a JSON object (code → value),
/// like the `BTreeMap` it replaces. The codes are shared by all rows of one call, so a row
/// costs one allocation instead of a map's nodes (a quarter of a million rows per call).
#[derive(Debug, Clone, PartialEq)]
pub struct Sums<T> {
    codes: Arc<[Arc<str>]>,
    values: Box<[T]>,
}

impl<T> Sums<T> {
    pub fn get(&self, code: &str) -> Option<&T> {
        let at = self.codes.binary_search_by(|c| (**c).cmp(code)).ok()?;
        self.values.get(at)
    }

    pub fn contains_key(&self, code: &str) -> bool {
        self.get(code).is_some()
    }

    /// (code, value) in code order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.codes.iter().map(|c| &**c).zip(self.values.iter())
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<T: Serialize> Serialize for Sums<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// Ids are small sequential numbers: a multiplicative hash (as rustc's Fx) is enough and
/// much cheaper than SipHash over 100,000 facts.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// A team as the grid sees it: (unit chain, expected from, position in the teams given).
type TeamEntry = (Vec<usize>, UnixSecs, usize);

/// Shared index work: team → unit chain, period key → index.
struct Grid<'a> {
    periods: Vec<Arc<str>>,
    /// (code, name) per unit index, shared by all rows of the unit.
    unit_labels: Vec<(Arc<str>, Arc<str>)>,
    period_index: HashMap<String, usize>,
    team_chains: IdMap<TeamEntry>,
    hierarchy: &'a Hierarchy<'a>,
}

impl<'a> Grid<'a> {
    fn new(hierarchy: &'a Hierarchy<'a>, teams: &[Team], periods: &[Period]) -> Grid<'a> {
        let keys: Vec<String> = periods.iter().map(|p| p.key()).collect();
        Grid {
            period_index: keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect(),
            periods: keys.into_iter().map(Arc::from).collect(),
            unit_labels: hierarchy
                .units
                .iter()
                .map(|u| (Arc::from(u.code.as_str()), Arc::from(u.name.as_str())))
                .collect(),
            team_chains: teams
                .iter()
                .enumerate()
                .map(|(i, t)| (t.id, (hierarchy.chain(&t.unit), t.expected_from(), i)))
                .collect(),
            hierarchy,
        }
    }

    /// The period index and team entry of a fact, if both were asked for. `last` caches
    /// the previous fact's period (the store gives facts grouped by period).
    fn locate<'f>(
        &self,
        fact: &Fact<'f>,
        last: &mut Option<(&'f str, usize)>,
    ) -> Option<(usize, &TeamEntry)> {
        let p = match *last {
            Some((key, p)) if key == fact.period => p,
            _ => {
                let p = *self.period_index.get(fact.period)?;
                *last = Some((fact.period, p));
                p
            }
        };
        Some((p, self.team_chains.get(&fact.team)?))
    }

    fn cell(&self, unit: usize, period: usize) -> usize {
        unit * self.periods.len() + period
    }

    fn cells(&self) -> usize {
        self.hierarchy.units.len() * self.periods.len()
    }

    /// (unit, code, name, period) of a cell.
    fn labels(&self, cell: usize) -> (&'a Unit, Arc<str>, Arc<str>, Arc<str>) {
        let n = self.periods.len().max(1);
        let (code, name) = &self.unit_labels[cell / n];
        (self.hierarchy.units[cell / n], code.clone(), name.clone(), self.periods[cell % n].clone())
    }
}

/// Completeness for each unit with at least one expected or received report.
pub fn completeness<'f>(
    hierarchy: &Hierarchy<'_>,
    teams: &[Team],
    periods: &[Period],
    facts: impl IntoIterator<Item = Fact<'f>>,
) -> Vec<CompletenessRow> {
    let grid = Grid::new(hierarchy, teams, periods);
    let mut expected = vec![0u32; grid.cells()];
    let mut on_time = vec![0u32; grid.cells()];
    let mut late = vec![0u32; grid.cells()];
    for (p, period) in periods.iter().enumerate() {
        let end = period.end();
        for (chain, expected_from, _) in grid.team_chains.values() {
            if *expected_from < end {
                for &u in chain {
                    expected[grid.cell(u, p)] += 1;
                }
            }
        }
    }
    // (team, period) pairs already counted, so a duplicate fact never counts twice.
    let mut counted = vec![false; teams.len() * periods.len()];
    let mut last = None;
    for fact in facts {
        let Some((p, (chain, expected_from, t))) = grid.locate(&fact, &mut last) else {
            continue;
        };
        if std::mem::replace(&mut counted[t * periods.len() + p], true) {
            continue;
        }
        // A team that reported for a period is expected for it, even when it was created
        // during that period's grace window (a rate is never 0 with reports, never > 100%).
        let counted_as_expected = *expected_from < periods[p].end();
        let target = if fact.on_time { &mut on_time } else { &mut late };
        for &u in chain {
            target[grid.cell(u, p)] += 1;
            if !counted_as_expected {
                expected[grid.cell(u, p)] += 1;
            }
        }
    }
    let mut rows = Vec::new();
    for cell in 0..grid.cells() {
        let reported = on_time[cell] + late[cell];
        if expected[cell] == 0 && reported == 0 {
            continue;
        }
        let (unit, code, name, period) = grid.labels(cell);
        let rate = if expected[cell] == 0 {
            0.0
        } else {
            (f64::from(reported) * 1000.0 / f64::from(expected[cell])).round() / 10.0
        };
        rows.push(CompletenessRow {
            unit: code,
            unit_name: name,
            level: unit.level(),
            period,
            expected: expected[cell],
            reported,
            on_time: on_time[cell],
            late: late[cell],
            rate,
        });
    }
    rows
}

/// Totals of integer indicators and counts of "Có" per unit and period.
pub fn totals<'f>(
    hierarchy: &Hierarchy<'_>,
    report: &ReportType,
    teams: &[Team],
    periods: &[Period],
    facts: impl IntoIterator<Item = Fact<'f>>,
) -> Vec<TotalsRow> {
    let grid = Grid::new(hierarchy, teams, periods);
    let codes: Vec<(&str, IndicatorKind)> = report
        .indicators
        .iter()
        .filter(|i| i.kind != IndicatorKind::Text)
        .map(|i| (i.code.as_str(), i.kind))
        .collect();
    // Per kind, the columns in code order and the codes shared by every row.
    let mut int_codes: Vec<(Arc<str>, usize)> = Vec::new();
    let mut yes_codes: Vec<(Arc<str>, usize)> = Vec::new();
    for (k, (code, kind)) in codes.iter().enumerate() {
        let list = if *kind == IndicatorKind::Bool { &mut yes_codes } else { &mut int_codes };
        list.push((Arc::from(*code), k));
    }
    int_codes.sort();
    int_codes.dedup_by(|a, b| a.0 == b.0);
    yes_codes.sort();
    yes_codes.dedup_by(|a, b| a.0 == b.0);
    let shared = |list: &[(Arc<str>, usize)]| -> Arc<[Arc<str>]> {
        list.iter().map(|(c, _)| c.clone()).collect()
    };
    let (int_shared, yes_shared) = (shared(&int_codes), shared(&yes_codes));
    let width = codes.len();
    let mut sums = vec![0i64; grid.cells() * width];
    let mut counts = vec![0u32; grid.cells()];
    let mut row_values = vec![0i64; width];
    let mut last = None;
    for fact in facts {
        let Some((p, (chain, _, _))) = grid.locate(&fact, &mut last) else { continue };
        match fact.values {
            FactValues::Map(values) => {
                for (slot, (code, _)) in row_values.iter_mut().zip(&codes) {
                    *slot = match values.get(*code) {
                        Some(Value::Int(n)) => *n,
                        Some(Value::Bool(true)) => 1,
                        _ => 0,
                    };
                }
            }
            FactValues::Aligned(numbers) => {
                for (k, slot) in row_values.iter_mut().enumerate() {
                    *slot = numbers.get(k).copied().unwrap_or(0);
                }
            }
        }
        for &u in chain {
            let cell = grid.cell(u, p);
            counts[cell] += 1;
            let base = cell * width;
            for (sum, v) in sums[base..base + width].iter_mut().zip(&row_values) {
                *sum = sum.saturating_add(*v);
            }
        }
    }
    let mut rows = Vec::new();
    for cell in 0..grid.cells() {
        if counts[cell] == 0 {
            continue;
        }
        let (unit, code, name, period) = grid.labels(cell);
        let sums = &sums[cell * width..(cell + 1) * width];
        let totals = Sums {
            codes: int_shared.clone(),
            values: int_codes.iter().map(|(_, k)| sums[*k]).collect(),
        };
        let yes = Sums {
            codes: yes_shared.clone(),
            values: yes_codes
                .iter()
                .map(|(_, k)| u32::try_from(sums[*k]).unwrap_or(u32::MAX))
                .collect(),
        };
        rows.push(TotalsRow {
            unit: code,
            unit_name: name,
            level: unit.level(),
            period,
            reports: counts[cell],
            totals,
            yes,
        });
    }
    rows
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reports::model::UnitKind;
    use crate::reports::oneline::tests::defs;

    pub(crate) fn unit(code: &str, kind: UnitKind, parent: Option<&str>) -> Unit {
        Unit {
            code: code.into(),
            name: format!("N{code}"),
            kind,
            parent: parent.map(Into::into),
            aliases: vec![],
            valid_from: None,
            valid_to: None,
            replaced_by: None,
        }
    }

    pub(crate) fn sample_units() -> Vec<Unit> {
        vec![
            unit("P", UnitKind::Tinh, None),
            unit("C1", UnitKind::Xa, Some("P")),
            unit("C2", UnitKind::Phuong, Some("P")),
            unit("V1", UnitKind::Thon, Some("C1")),
            unit("V2", UnitKind::Thon, Some("C1")),
            unit("V3", UnitKind::ToDanPho, Some("C2")),
        ]
    }

    pub(crate) fn team(id: u64, unit: &str, created_at: UnixSecs) -> Team {
        Team { id, unit: unit.into(), name: format!("T{id}"), created_at, expected_from: None }
    }

    fn values(pairs: &[(&str, Value)]) -> Values {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn completeness_rolls_up_and_counts_late() {
        let units = sample_units();
        let h = Hierarchy::new(&units);
        let oct = Period::from_key("2026-10").unwrap();
        let nov = Period::from_key("2026-11").unwrap();
        // Team 4 was created in November: not expected for October.
        let teams = vec![
            team(1, "V1", UnixSecs(0)),
            team(2, "V2", UnixSecs(0)),
            team(3, "V3", UnixSecs(0)),
            team(4, "V3", nov.start().plus_secs(10)),
        ];
        let v = Values::new();
        let facts = [
            Fact { team: 1, period: "2026-10", on_time: true, values: FactValues::Map(&v) },
            Fact { team: 2, period: "2026-10", on_time: false, values: FactValues::Map(&v) },
            Fact { team: 99, period: "2026-10", on_time: true, values: FactValues::Map(&v) }, // unknown team
            Fact { team: 3, period: "2019-01", on_time: true, values: FactValues::Map(&v) }, // period not asked
        ];
        let rows = completeness(&h, &teams, &[oct, nov], facts);
        let get = |unit: &str, period: &str| {
            rows.iter()
                .find(|r| &*r.unit == unit && &*r.period == period)
                .map(|r| (r.expected, r.reported, r.on_time, r.late))
        };
        assert_eq!(get("V1", "2026-10"), Some((1, 1, 1, 0)));
        assert_eq!(get("C1", "2026-10"), Some((2, 2, 1, 1)));
        assert_eq!(get("C2", "2026-10"), Some((1, 0, 0, 0)));
        assert_eq!(get("P", "2026-10"), Some((3, 2, 1, 1)));
        assert_eq!(get("P", "2026-11"), Some((4, 0, 0, 0)));
        let p = rows.iter().find(|r| &*r.unit == "P" && &*r.period == "2026-10").unwrap();
        assert_eq!(p.rate, 66.7);
    }

    #[test]
    fn a_team_that_reported_is_expected_and_rates_stay_within_0_and_100() {
        let units = sample_units();
        let h = Hierarchy::new(&units);
        let nov = Period::from_key("2026-11").unwrap();
        // Created on 1 December, in November's grace window, and reports for November;
        // a second team created before November that has not reported; a third that
        // existed before it was entered (explicit expected_from in November).
        let dec_1 = nov.end().plus_secs(1800);
        let early = Team { expected_from: Some(nov.start()), ..team(3, "V2", dec_1) };
        let teams = vec![team(1, "V1", dec_1), team(2, "V1", UnixSecs(0)), early];
        let v = Values::new();
        let fact =
            |team| Fact { team, period: "2026-11", on_time: true, values: FactValues::Map(&v) };
        // The same fact twice (a replay) counts once.
        let rows = completeness(&h, &teams, &[nov], [fact(1), fact(1)]);
        let get = |unit: &str| {
            rows.iter().find(|r| &*r.unit == unit).map(|r| (r.expected, r.reported, r.rate))
        };
        assert_eq!(get("V1"), Some((2, 1, 50.0)));
        assert_eq!(get("V2"), Some((1, 0, 0.0)));
        assert_eq!(get("P"), Some((3, 1, 33.3)));
        for row in &rows {
            assert!(row.reported <= row.expected, "{row:?}");
            assert!(row.reported == 0 || row.rate > 0.0, "{row:?}");
        }
    }

    #[test]
    fn totals_sum_ints_and_count_yes() {
        let units = sample_units();
        let h = Hierarchy::new(&units);
        let d = defs();
        let report = d.get(None).unwrap();
        let oct = Period::from_key("2026-10").unwrap();
        let teams = vec![
            team(1, "V1", UnixSecs(0)),
            team(2, "V2", UnixSecs(0)),
            team(3, "V3", UnixSecs(0)),
        ];
        let a = values(&[
            ("CHUNG_01", Value::Int(10)),
            ("DVC_01", Value::Int(2)),
            ("TO_04", Value::Bool(true)),
        ]);
        let b = values(&[
            ("CHUNG_01", Value::Int(5)),
            ("TO_04", Value::Bool(false)),
            ("TO_05", Value::Text("x".into())),
        ]);
        let facts = [
            Fact { team: 1, period: "2026-10", on_time: true, values: FactValues::Map(&a) },
            Fact { team: 2, period: "2026-10", on_time: true, values: FactValues::Map(&b) },
            Fact { team: 3, period: "2026-10", on_time: true, values: FactValues::Map(&a) },
        ];
        let rows = totals(&h, report, &teams, &[oct], facts);
        let c1 = rows.iter().find(|r| &*r.unit == "C1").unwrap();
        assert_eq!(c1.reports, 2);
        assert_eq!(c1.totals.get("CHUNG_01"), Some(&15));
        assert_eq!(c1.totals.get("DVC_01"), Some(&2));
        assert_eq!(c1.yes.get("TO_04"), Some(&1));
        let p = rows.iter().find(|r| &*r.unit == "P").unwrap();
        assert_eq!(p.totals.get("CHUNG_01"), Some(&25));
        // The store's aligned numbers give the same sums as the stored values.
        assert_eq!(numeric_codes(report), ["CHUNG_01", "DVC_01", "TO_04"]);
        let aligned = [10, 2, 1];
        let facts = [1, 2, 3].map(|team| Fact {
            team,
            period: "2026-10",
            on_time: true,
            values: FactValues::Aligned(&aligned),
        });
        let rows = totals(&h, report, &teams, &[oct], facts);
        let p = rows.iter().find(|r| &*r.unit == "P").unwrap();
        assert_eq!((p.totals.get("CHUNG_01"), p.yes.get("TO_04")), (Some(&30), Some(&3)));
        assert!(!p.totals.contains_key("TO_05"));
    }

    #[test]
    fn sums_read_and_serialize_like_the_map_they_replace() {
        let codes: Arc<[Arc<str>]> = ["A_1", "B", "C"].into_iter().map(Arc::from).collect();
        let sums = Sums { codes, values: vec![3i64, 0, -2].into() };
        let map: std::collections::BTreeMap<&str, i64> = [("C", -2), ("A_1", 3), ("B", 0)].into();
        assert_eq!(serde_json::to_string(&sums).unwrap(), serde_json::to_string(&map).unwrap());
        let table = [("A_1", Some(3)), ("B", Some(0)), ("C", Some(-2)), ("D", None), ("", None)];
        for (code, expected) in table {
            assert_eq!(sums.get(code).copied(), expected, "{code}");
            assert_eq!(sums.contains_key(code), expected.is_some(), "{code}");
        }
        assert_eq!(sums.iter().map(|(c, _)| c).collect::<Vec<_>>(), ["A_1", "B", "C"]);
        assert_eq!((sums.len(), sums.is_empty()), (3, false));
    }

    #[test]
    fn merged_units_roll_up_into_their_successor() {
        let mut units = sample_units();
        // V2 was merged into V1; V1's teams and V2's old teams now count together.
        units[4].replaced_by = Some("V1".into());
        let h = Hierarchy::new(&units);
        let teams = vec![team(1, "V1", UnixSecs(0)), team(2, "V2", UnixSecs(0))];
        let oct = Period::from_key("2026-10").unwrap();
        let v = Values::new();
        let facts =
            [Fact { team: 2, period: "2026-10", on_time: true, values: FactValues::Map(&v) }];
        let rows = completeness(&h, &teams, &[oct], facts);
        let v1 = rows.iter().find(|r| &*r.unit == "V1").unwrap();
        assert_eq!((v1.expected, v1.reported), (2, 1));
        assert!(rows.iter().all(|r| &*r.unit != "V2"));
        assert_eq!(h.name_at("V2", UnitLevel::Village), Some("Thôn NV1".into()));
    }

    #[test]
    fn parent_cycle_does_not_hang() {
        let units = vec![unit("A", UnitKind::Xa, Some("B")), unit("B", UnitKind::Xa, Some("A"))];
        let h = Hierarchy::new(&units);
        assert_eq!(h.path("A").len(), 2);
        assert!(h.is_within("A", "B"));
        assert_eq!(h.name_at("V9", UnitLevel::Commune), None);
    }
}
