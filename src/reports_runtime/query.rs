//! Admin-side operations over the reports data: unit and team management, invites,
//! report lists, completeness, totals and exports. Used by the admin API and the CLI.

use crate::calendar::UnixSecs;
use std::collections::{HashMap, HashSet};

use crate::reports::aggregate::{self, CompletenessRow, Fact, FactValues, Hierarchy, TotalsRow};
use crate::reports::definition::{Definitions, ReportType};
use crate::reports::export;
use crate::reports::import;
use crate::reports::model::{Invite, Member, ReportVersion, Role, Team, Unit};
use crate::reports::period::{Period, default_period};
use crate::reports::view::VersionView;
use crate::store::StoreError;
use crate::store::reports::ReportNumbers;

use super::Reporting;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("building the XLSX file failed: {0}")]
    Xlsx(String),
}

/// Filters of `GET reports` and the exports. Empty fields match everything.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ReportFilter {
    /// Unit code: reports of teams in this unit or below it.
    pub unit: Option<String>,
    /// Period key(s), comma-separated ("2026-10,2026-11").
    pub period: Option<String>,
    /// Report type key; default: the first in the definition file.
    #[serde(rename = "type")]
    pub report: Option<String>,
    /// Include withdrawn and replaced versions (history), not only current ones.
    #[serde(default)]
    pub history: bool,
}

/// Units, teams and current reports, read together for one aggregation.
type Snapshot = (Vec<Unit>, Vec<Team>, Vec<ReportNumbers>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    /// `<stem>.csv` or `<stem>.xlsx`, kept to safe characters: the stem is built from
    /// filters a user typed and ends up in a `Content-Disposition` header.
    pub fn file_name(self, stem: &str) -> String {
        let ext = match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        };
        format!("{stem}.{ext}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect()
    }

    /// The `Content-Type` and `Content-Disposition` header values of a download.
    pub fn download_headers(self, stem: &str) -> [(&'static str, String); 2] {
        [
            ("content-type", self.content_type().to_owned()),
            ("content-disposition", format!("attachment; filename=\"{}\"", self.file_name(stem))),
        ]
    }
}

impl Reporting {
    /// The report type `key` (default: the first) in the definitions snapshot `defs`.
    pub fn report_type<'d>(
        &self,
        defs: &'d Definitions,
        key: Option<&str>,
    ) -> Result<&'d ReportType, QueryError> {
        defs.get(key).ok_or_else(|| {
            QueryError::NotFound(format!("report type {:?}", key.unwrap_or_default()))
        })
    }

    /// Period keys named in `filter`, or the last `n` periods ending at the default one.
    pub fn periods(
        &self,
        report: &ReportType,
        filter: Option<&str>,
        now: UnixSecs,
        n: usize,
    ) -> Result<Vec<Period>, QueryError> {
        match filter.filter(|f| !f.trim().is_empty()) {
            Some(list) => list
                .split(',')
                .map(|key| {
                    let key = key.trim();
                    // The chat's spellings too: T11, 11/2026, tháng 11 (a missing year
                    // means the latest such period that is not in the future).
                    Period::from_key(key)
                        .or_else(|| {
                            // "10-2026" stays refused: with a dash only the key order counts.
                            (!key.contains('-'))
                                .then(|| {
                                    crate::reports::period::parse_period_token(
                                        key,
                                        report.period,
                                        now,
                                    )
                                })
                                .flatten()
                                .and_then(Result::ok)
                        })
                        .filter(|p| p.kind == report.period)
                        .ok_or_else(|| {
                            QueryError::BadRequest(format!(
                                "period {key:?} is not a {} like 2026-11, T11 or 11/2026 (weeks: 2026-W45)",
                                report.period.label()
                            ))
                        })
                })
                .collect(),
            None => {
                let mut out = vec![default_period(report, now)];
                while out.len() < n {
                    let prev = out[out.len() - 1].prev();
                    out.push(prev);
                }
                out.reverse();
                Ok(out)
            }
        }
    }

    /// A new team of `unit`; `expected_from` (`2026-11`, `2026-11-15` or `11/2026`,
    /// Vietnam time) overrides "expected from the period it was created in".
    pub fn create_team(
        &self,
        unit: &str,
        name: &str,
        expected_from: Option<&str>,
        now: UnixSecs,
    ) -> Result<Team, QueryError> {
        let expected_from = expected_from
            .filter(|s| !s.trim().is_empty())
            .map(import::parse_expected_from)
            .transpose()
            .map_err(QueryError::BadRequest)?;
        let name = crate::reports::text::nfc(name.trim());
        if name.is_empty() {
            return Err(QueryError::BadRequest("name is required".into()));
        }
        if self.store.report_unit(unit)?.is_none() {
            return Err(QueryError::NotFound(format!("unit {unit}")));
        }
        // Two teams of one unit with the same name (any spelling) are one team twice.
        let folded = crate::reports::text::fold(&name);
        if self
            .store
            .report_teams()?
            .iter()
            .any(|t| t.unit == unit && crate::reports::text::fold(&t.name) == folded)
        {
            return Err(QueryError::BadRequest(format!(
                "unit {unit} already has a team named {name:?}"
            )));
        }
        Ok(self.store.create_team(unit, &name, expected_from, now)?)
    }

    /// A one-time invite: to a team (member or leader) or, for admins, to a unit.
    pub fn create_invite(
        &self,
        team: Option<u64>,
        unit: Option<String>,
        role: Role,
        now: UnixSecs,
    ) -> Result<Invite, QueryError> {
        match (role, team, &unit) {
            (Role::Admin, _, Some(code)) => {
                if self.store.report_unit(code)?.is_none() {
                    return Err(QueryError::NotFound(format!("unit {code}")));
                }
            }
            (Role::Admin, _, None) => {
                return Err(QueryError::BadRequest("an admin invite needs \"unit\"".into()));
            }
            (_, Some(id), _) => {
                if self.store.report_team(id)?.is_none() {
                    return Err(QueryError::NotFound(format!("team {id}")));
                }
            }
            (_, None, _) => {
                return Err(QueryError::BadRequest(
                    "a member or leader invite needs \"team\"".into(),
                ));
            }
        }
        for _ in 0..8 {
            let (team, unit) =
                if role == Role::Admin { (None, unit.clone()) } else { (team, None) };
            let invite = self.new_invite(team, unit, role, "admin-api", now);
            if self.store.add_report_invite(&invite)? {
                return Ok(invite);
            }
        }
        Err(QueryError::BadRequest("could not find a free invite code; try again".into()))
    }

    pub fn members(&self) -> Result<Vec<Member>, QueryError> {
        Ok(self.store.report_members()?)
    }

    pub fn teams(&self) -> Result<Vec<Team>, QueryError> {
        Ok(self.store.report_teams()?)
    }

    pub fn units(&self) -> Result<Vec<Unit>, QueryError> {
        Ok(self.store.report_units()?)
    }

    /// The periods `filter` names, checked like everywhere else (a typo must not export
    /// nothing); `None` when it names none.
    fn named_periods(
        &self,
        report: &ReportType,
        filter: &ReportFilter,
    ) -> Result<Option<HashSet<Period>>, QueryError> {
        Ok(match filter.period.as_deref() {
            Some(list) if !list.trim().is_empty() => Some(
                self.periods(report, Some(list), self.clock.now_secs(), 1)?.into_iter().collect(),
            ),
            _ => None,
        })
    }

    /// Reports matching `filter` (current versions unless `history`).
    pub fn reports(&self, filter: &ReportFilter) -> Result<Vec<ReportVersion>, QueryError> {
        let defs = self.defs();
        let report = self.report_type(&defs, filter.report.as_deref())?;
        let periods = self.named_periods(report, filter)?;
        let versions = if filter.history {
            self.store.report_versions()?
        } else {
            let keys: Option<Vec<String>> =
                periods.as_ref().map(|set| set.iter().map(|p| p.key()).collect());
            self.store.current_reports_of(&report.key, keys.as_deref())?
        };
        let units = self.store.report_units()?;
        let hierarchy = Hierarchy::new(&units);
        let teams: HashMap<u64, Team> =
            self.store.report_teams()?.into_iter().map(|t| (t.id, t)).collect();
        if let Some(unit) = &filter.unit
            && hierarchy.get(unit).is_none()
        {
            return Err(QueryError::NotFound(format!("unit {unit}")));
        }
        Ok(versions
            .into_iter()
            .filter(|v| v.report == report.key)
            .filter(|v| periods.as_ref().is_none_or(|set| set.contains(&v.period)))
            .filter(|v| match &filter.unit {
                None => true,
                Some(unit) => {
                    teams.get(&v.team).is_some_and(|t| hierarchy.is_within(&t.unit, unit))
                }
            })
            .collect())
    }

    pub fn completeness(
        &self,
        report_key: Option<&str>,
        period: Option<&str>,
        unit: Option<&str>,
        now: UnixSecs,
    ) -> Result<Vec<CompletenessRow>, QueryError> {
        let defs = self.defs();
        let report = self.report_type(&defs, report_key)?;
        let periods = self.periods(report, period, now, 1)?;
        // Completeness needs no values: ask the store for no numbers.
        let (units, teams, current) = self.snapshot(report, &periods, &[])?;
        let hierarchy = Hierarchy::new(&units);
        let rows = aggregate::completeness(&hierarchy, &teams, &periods, facts(&current));
        Ok(filter_unit(rows, unit, &hierarchy, |r| &*r.unit))
    }

    pub fn totals(
        &self,
        report_key: Option<&str>,
        period: Option<&str>,
        unit: Option<&str>,
        now: UnixSecs,
    ) -> Result<Vec<TotalsRow>, QueryError> {
        let defs = self.defs();
        let report = self.report_type(&defs, report_key)?;
        let periods = self.periods(report, period, now, 1)?;
        let codes = aggregate::numeric_codes(report);
        let (units, teams, current) = self.snapshot(report, &periods, &codes)?;
        let hierarchy = Hierarchy::new(&units);
        let rows = aggregate::totals(&hierarchy, report, &teams, &periods, facts(&current));
        Ok(filter_unit(rows, unit, &hierarchy, |r| &*r.unit))
    }

    /// The export file bytes for `filter`.
    pub fn export(
        &self,
        filter: &ReportFilter,
        format: ExportFormat,
    ) -> Result<Vec<u8>, QueryError> {
        self.export_with(filter, format, &[])
    }

    /// `export` with `extra` sheets after "Tổng hợp" in an XLSX (CSV ignores them).
    pub fn export_with(
        &self,
        filter: &ReportFilter,
        format: ExportFormat,
        extra: &[export::Sheet],
    ) -> Result<Vec<u8>, QueryError> {
        let defs = self.defs();
        let report = self.report_type(&defs, filter.report.as_deref())?;
        // The versions are read in place (borrowed from `stored`), not as owned records:
        // parsing and dropping 100,000 of those was over a third of an export. Filtered
        // as `reports` filters them.
        let periods = self.named_periods(report, filter)?;
        let stored = if filter.history {
            self.store.report_version_bytes()?
        } else {
            let keys: Option<Vec<String>> =
                periods.as_ref().map(|set| set.iter().map(|p| p.key()).collect());
            self.store.current_report_bytes(&report.key, keys.as_deref())?
        };
        let views = stored.views()?;
        let units = self.store.report_units()?;
        let hierarchy = Hierarchy::new(&units);
        let teams = self.store.report_teams()?;
        let team_map: HashMap<u64, &Team> = teams.iter().map(|t| (t.id, t)).collect();
        if let Some(unit) = &filter.unit
            && hierarchy.get(unit).is_none()
        {
            return Err(QueryError::NotFound(format!("unit {unit}")));
        }
        let versions: Vec<&VersionView<'_>> = views
            .iter()
            .filter(|v| v.report == report.key)
            .filter(|v| periods.as_ref().is_none_or(|set| set.contains(&v.period)))
            .filter(|v| match &filter.unit {
                None => true,
                Some(unit) => {
                    team_map.get(&v.team).is_some_and(|t| hierarchy.is_within(&t.unit, unit))
                }
            })
            .collect();
        // Submitters appear by display name when known, else by a pseudonym: exports
        // travel by e-mail and must not carry raw Zalo ids.
        let members = self.store.report_members()?;
        let known: HashMap<&str, &str> = members
            .iter()
            .filter_map(|m| m.display_name.as_deref().map(|n| (m.user_id.as_str(), n)))
            .collect();
        // One label per submitter (an HMAC each), not one per report.
        let mut labels: HashMap<&str, String> = HashMap::new();
        for v in &versions {
            let id: &str = &v.submitted_by;
            labels.entry(id).or_insert_with(|| {
                known.get(id).map_or_else(|| crate::privacy::mask_id(id), |n| (*n).to_owned())
            });
        }
        let names: HashMap<&str, &str> =
            labels.iter().map(|(id, label)| (*id, label.as_str())).collect();
        // Every expected team of the named periods gets a row, "Chưa báo cáo" when it
        // has no current report (an export without periods lists reports only).
        let mut placeholders = Vec::new();
        if let Some(list) = filter.period.as_deref().filter(|p| !p.trim().is_empty()) {
            let live: HashSet<(u64, Period)> = versions
                .iter()
                .filter(|v| v.withdrawn_at.is_none())
                .map(|v| (v.team, v.period))
                .collect();
            for period in self.periods(report, Some(list), self.clock.now_secs(), 1)? {
                for team in &teams {
                    let in_scope = filter
                        .unit
                        .as_deref()
                        .is_none_or(|unit| hierarchy.is_within(&team.unit, unit));
                    if in_scope
                        && team.expected_from() < period.end()
                        && !live.contains(&(team.id, period))
                    {
                        placeholders.push(export::missing_report(team.id, &report.key, period));
                    }
                }
            }
        }
        let refs: Vec<&VersionView<'_>> =
            versions.iter().copied().chain(placeholders.iter()).collect();
        let rows = export::build_rows(&hierarchy, &team_map, &names, &refs);

        match format {
            ExportFormat::Csv => Ok(export::to_csv(report, &rows)),
            ExportFormat::Xlsx => export::to_xlsx_with(report, &rows, extra)
                .map_err(|e| QueryError::Xlsx(e.to_string())),
        }
    }

    /// Imports units from CSV text; all or nothing. Returns how many were stored.
    pub fn import_units(&self, csv: &str) -> Result<usize, QueryError> {
        let existing = self.store.report_units()?;
        let units = import::units_from_csv(csv, &existing)
            .map_err(|e| QueryError::BadRequest(e.join("\n")))?;
        self.store.put_report_units(&units)?;
        Ok(units.len())
    }

    /// Imports teams from CSV text; all or nothing (checked before any is created).
    pub fn import_teams(&self, csv: &str, now: UnixSecs) -> Result<Vec<Team>, QueryError> {
        let units = self.store.report_units()?;
        let rows = import::teams_from_csv(csv, &units)
            .map_err(|e| QueryError::BadRequest(e.join("\n")))?;
        let existing: HashSet<(String, String)> =
            self.store.report_teams()?.into_iter().map(|t| (t.unit, t.name)).collect();
        let mut created = Vec::new();
        for row in rows {
            // Re-importing the same file does not duplicate teams.
            if existing.contains(&(row.unit.clone(), row.name.clone())) {
                continue;
            }
            created.push(self.store.insert_team(&row.unit, &row.name, row.expected_from, now)?);
        }
        // One flush for the whole import, not one per team.
        self.store.flush_blocking()?;
        Ok(created)
    }

    /// Units, teams and the numbers (`codes`) of the current reports of `report` in
    /// `periods`.
    fn snapshot(
        &self,
        report: &ReportType,
        periods: &[Period],
        codes: &[&str],
    ) -> Result<Snapshot, QueryError> {
        let keys: Vec<String> = periods.iter().map(|p| p.key()).collect();
        let current = self.store.current_report_numbers(&report.key, &keys, codes)?;
        Ok((self.store.report_units()?, self.store.report_teams()?, current))
    }
}

fn facts(current: &[ReportNumbers]) -> impl Iterator<Item = Fact<'_>> {
    current.iter().map(|v| Fact {
        team: v.team,
        period: &v.period,
        on_time: v.on_time,
        values: FactValues::Aligned(&v.numbers),
    })
}

fn filter_unit<T>(
    rows: Vec<T>,
    unit: Option<&str>,
    hierarchy: &Hierarchy<'_>,
    code: impl Fn(&T) -> &str,
) -> Vec<T> {
    match unit {
        None => rows,
        Some(unit) => rows.into_iter().filter(|r| hierarchy.is_within(code(r), unit)).collect(),
    }
}
