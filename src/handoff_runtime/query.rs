//! Requests and contributions for the admin API (`admin::handoff`), the console
//! (`console::requests`, `console::contributions`) and their downloads.
//! Members appear by their display name and a pseudonym, citizens by a pseudonym only.

use crate::calendar::UnixSecs;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::handoff::contrib::{self, Acc, Figures, Month};
use crate::handoff::model::{Request, Status};
use crate::handoff::route::Directory;
use crate::privacy::mask_id;
use crate::reports::aggregate::Hierarchy;
use crate::reports::model::UnitLevel;

use super::Handoff;

#[derive(Debug, thiserror::Error)]
pub enum HandoffQueryError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<crate::store::StoreError> for HandoffQueryError {
    fn from(e: crate::store::StoreError) -> HandoffQueryError {
        HandoffQueryError::Other(e.into())
    }
}

/// Months from `?period=2026-11,2026-12`; the current month when absent.
pub fn parse_months(period: Option<&str>, now: UnixSecs) -> Result<Vec<Month>, HandoffQueryError> {
    match period.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(vec![contrib::month_of(now)]),
        Some(list) => list
            .split(',')
            .map(|p| {
                contrib::parse_month(p).ok_or_else(|| {
                    HandoffQueryError::BadRequest(format!(
                        "period {p:?}: expected a month like 2026-12"
                    ))
                })
            })
            .collect(),
    }
}

/// One request as the admin views list it: the record plus the labels to show.
#[derive(Debug, Clone)]
pub struct RequestRow {
    pub request: Request,
    /// "Thôn Phú An, Xã Phú Vinh".
    pub place: String,
    /// Display name of the member holding it.
    pub claimer: Option<String>,
}

/// Contributions for some months, per member, per team and rolled up per unit: what
/// `GET /admin/api/contributions` answers (as JSON) and the console shows.
#[derive(Debug, Clone, Serialize)]
pub struct ContributionReport {
    pub source: &'static str,
    pub note: &'static str,
    pub periods: Vec<String>,
    pub members: Vec<MemberFigures>,
    pub teams: Vec<TeamFigures>,
    pub units: Vec<UnitFigures>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberFigures {
    pub period: String,
    /// Pseudonym, never the Zalo id.
    pub member: String,
    pub name: String,
    pub team: Option<u64>,
    /// Name of `team` (console only).
    #[serde(skip)]
    pub team_name: Option<String>,
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize)]
pub struct TeamFigures {
    pub period: String,
    pub team: u64,
    pub name: Option<String>,
    pub unit: String,
    /// Display name of `unit` (console only).
    #[serde(skip)]
    pub unit_name: Option<String>,
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitFigures {
    pub period: String,
    pub unit: String,
    pub name: Option<String>,
    pub level: UnitLevel,
    pub figures: Figures,
}

impl Handoff {
    /// Requests by status (`open`, `claimed`, `closed`, `cancelled`), unit (and the units
    /// below it) and months of creation (`2026-11,2026-12`), oldest first. Shared by
    /// `GET /admin/api/requests` and the console.
    pub fn find_requests(
        &self,
        status: Option<&str>,
        unit: Option<&str>,
        period: Option<&str>,
    ) -> Result<Vec<RequestRow>, HandoffQueryError> {
        Ok(self.matching_requests(status, unit, period)?.0)
    }

    fn matching_requests(
        &self,
        status: Option<&str>,
        unit: Option<&str>,
        period: Option<&str>,
    ) -> Result<(Vec<RequestRow>, std::sync::Arc<Directory>), HandoffQueryError> {
        let status = status
            .filter(|s| !s.is_empty())
            .map(|s| {
                Status::parse(s).ok_or_else(|| {
                    HandoffQueryError::BadRequest(format!(
                        "status {s:?}: expected open, claimed, closed or cancelled"
                    ))
                })
            })
            .transpose()?;
        let months = match period {
            Some(p) if !p.trim().is_empty() => Some(parse_months(Some(p), UnixSecs(0))?),
            _ => None,
        };
        let units = self.store.report_units()?;
        let hierarchy = Hierarchy::new(&units);
        if let Some(u) = unit.filter(|u| !u.is_empty())
            && hierarchy.get(u).is_none()
        {
            return Err(HandoffQueryError::BadRequest(format!("unit {u:?} not found")));
        }
        let dir = self.directory()?;
        let rows = self
            .store
            .handoff_requests()?
            .into_iter()
            .filter(|r| {
                !(status.is_some_and(|s| s != r.status)
                    || unit
                        .filter(|u| !u.is_empty())
                        .is_some_and(|u| !hierarchy.is_within(&r.unit, u))
                    || months
                        .as_ref()
                        .is_some_and(|m| !m.contains(&contrib::month_of(r.created_at))))
            })
            .map(|r| RequestRow {
                place: dir.place_label(&r.unit),
                claimer: r.claimed_by.as_deref().map(|u| dir.display_name(u)),
                request: r,
            })
            .collect();
        Ok((rows, dir))
    }

    /// `GET /admin/api/requests?status=&unit=&period=`.
    pub fn list_requests(
        &self,
        status: Option<&str>,
        unit: Option<&str>,
        period: Option<&str>,
    ) -> Result<Value, HandoffQueryError> {
        let (rows, dir) = self.matching_requests(status, unit, period)?;
        let mut items = Vec::new();
        for RequestRow { request: r, place, .. } in rows {
            let who = |u: &String| json!({"id": mask_id(u), "name": dir.display_name(u)});
            let lines: Vec<Value> = r
                .lines
                .iter()
                .map(|l| {
                    let from = match &l.from {
                        crate::handoff::model::Party::Citizen => json!("citizen"),
                        crate::handoff::model::Party::Member(u) => who(u),
                    };
                    json!({"from": from, "text": l.text, "at": l.at, "visit": l.visit})
                })
                .collect();
            items.push(json!({
                "id": r.id,
                "status": r.status.as_str(),
                "unit": r.unit,
                "place": place,
                "team": r.team,
                "level": r.level,
                "topic": r.topic,
                "question": r.question,
                "citizen": if r.citizen.is_empty() { Value::Null } else { json!(mask_id(&r.citizen)) },
                "created_at": r.created_at,
                "claimed_by": r.claimed_by.as_ref().map(who),
                "claimed_at": r.claimed_at,
                "first_reply_at": r.first_reply_at,
                "closed_at": r.closed_at,
                "visits": r.visits,
                "rating": r.rating.as_ref().map(|x| json!({"satisfied": x.satisfied, "comment": x.comment})),
                "lines": lines,
                "purged": r.purged,
            }));
        }
        Ok(json!({"count": items.len(), "items": items}))
    }

    /// `GET /admin/api/contributions?period=&unit=`: per member, per team, and rolled
    /// up village → commune → province. Every figure here is computed from what members
    /// did (`source: "automatic"`); self-reported figures are in `/admin/api/totals`.
    pub fn contribution_report(
        &self,
        period: Option<&str>,
        unit: Option<&str>,
    ) -> Result<Value, HandoffQueryError> {
        let report = self.contribution_figures(period, unit)?;
        serde_json::to_value(report).map_err(|e| HandoffQueryError::Other(e.into()))
    }

    /// The figures behind `contribution_report`, typed (the console and the export).
    pub fn contribution_figures(
        &self,
        period: Option<&str>,
        unit: Option<&str>,
    ) -> Result<ContributionReport, HandoffQueryError> {
        let months = parse_months(period, self.clock.now_secs())?;
        let units = self.store.report_units()?;
        let hierarchy = Hierarchy::new(&units);
        let unit = unit.filter(|u| !u.is_empty());
        if let Some(u) = unit
            && hierarchy.get(u).is_none()
        {
            return Err(HandoffQueryError::BadRequest(format!("unit {u:?} not found")));
        }
        let dir = self.directory()?;
        let c = self.contributions(&months)?;
        let team_unit = |team: u64| dir.team(team).map(|t| t.unit.clone());
        let in_scope = |team: Option<u64>| match (unit, team.and_then(team_unit)) {
            (None, _) => true,
            (Some(u), Some(tu)) => hierarchy.is_within(&tu, u),
            (Some(_), None) => false,
        };
        let members: Vec<MemberFigures> = c
            .members
            .iter()
            .filter(|((_, user), _)| in_scope(dir.person(user).and_then(|p| p.team)))
            .map(|((month, user), acc)| {
                let team = dir.person(user).and_then(|p| p.team);
                MemberFigures {
                    period: contrib::month_key(*month),
                    member: mask_id(user),
                    name: dir.display_name(user),
                    team,
                    team_name: team.and_then(|t| dir.team(t)).map(|t| t.name.clone()),
                    figures: acc.finish(),
                }
            })
            .collect();
        let mut rollup: BTreeMap<(Month, String), Acc> = BTreeMap::new();
        let mut teams = Vec::new();
        for ((month, team), acc) in &c.teams {
            if !in_scope(Some(*team)) {
                continue;
            }
            let unit_code = team_unit(*team).unwrap_or_default();
            teams.push(TeamFigures {
                period: contrib::month_key(*month),
                team: *team,
                name: dir.team(*team).map(|t| t.name.clone()),
                unit_name: hierarchy.get(&unit_code).map(|u| u.display_name()),
                unit: unit_code.clone(),
                figures: acc.finish(),
            });
            for u in hierarchy.path(&unit_code) {
                rollup.entry((*month, u.code.clone())).or_default().merge(acc);
            }
        }
        let units_out: Vec<UnitFigures> = rollup
            .iter()
            .filter(|((_, code), _)| unit.is_none_or(|u| hierarchy.is_within(code, u)))
            .map(|((month, code), acc)| {
                let u = hierarchy.get(code);
                UnitFigures {
                    period: contrib::month_key(*month),
                    unit: code.clone(),
                    name: u.map(|u| u.display_name()),
                    level: u.map(|u| u.level()).unwrap_or(UnitLevel::Village),
                    figures: acc.finish(),
                }
            })
            .collect();
        Ok(ContributionReport {
            source: "automatic",
            note: "Tự động tính từ hoạt động trên Zalo OA (không phải số liệu tự báo cáo).",
            periods: months.iter().map(|m| contrib::month_key(*m)).collect(),
            members,
            teams,
            units: units_out,
        })
    }
}
