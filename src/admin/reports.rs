//! Admin JSON API of the reports feature, under `/admin/api/` (mounted behind the
//! bearer-token layer by `admin::router`).
//!
//! `POST teams`, `POST invites`, `POST units/import` and `teams/import` (CSV body), `GET units|teams|members|reports|completeness|totals`,
//! `GET exports/reports.csv|xlsx`. Filters: `unit`, `period` (comma-separated keys),
//! `type` (report type key). Members are listed with masked ids and names.

use crate::calendar::UnixSecs;
use axum::extract::{FromRef, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::handoff_runtime::Handoff;
use crate::handoff_runtime::query::HandoffQueryError;
use crate::reports::export::Sheet;
use crate::reports::model::Role;
use crate::reports::period::PeriodKind;
use crate::reports::reminders::within_window;
use crate::reports_runtime::Reporting;
use crate::reports_runtime::query::{ExportFormat, QueryError, ReportFilter};

pub fn router<S>() -> Router<S>
where
    Reporting: FromRef<S>,
    Handoff: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/admin/api/units", get(units))
        .route("/admin/api/units/import", post(import_units))
        .route("/admin/api/teams", get(teams).post(create_team))
        .route("/admin/api/teams/import", post(import_teams))
        .route("/admin/api/invites", post(create_invite))
        .route("/admin/api/members", get(members))
        .route("/admin/api/reports", get(reports))
        .route("/admin/api/completeness", get(completeness))
        .route("/admin/api/totals", get(totals))
        .route("/admin/api/exports/reports.csv", get(export_csv))
        .route("/admin/api/exports/reports.xlsx", get(export_xlsx))
        .route("/admin/api/reports/definitions", get(definitions))
        .route("/admin/api/reports/reload", post(reload))
}

impl From<QueryError> for ApiError {
    fn from(err: QueryError) -> ApiError {
        match err {
            QueryError::BadRequest(m) => ApiError::BadRequest(m),
            QueryError::NotFound(what) => ApiError::BadRequest(format!("{what} not found")),
            QueryError::Store(e) => e.into(),
            QueryError::Xlsx(m) => ApiError::Internal(anyhow::anyhow!(m)),
        }
    }
}

/// Runs store-heavy work off the async workers (exports read every report).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, QueryError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("report task failed: {e}")))?
        .map_err(ApiError::from)
}

/// The loaded report types and indicators, with the definition version.
async fn definitions(State(reporting): State<Reporting>) -> Json<Value> {
    let defs = reporting.defs();
    let reports: Vec<Value> = defs
        .reports
        .iter()
        .map(|r| {
            let indicators: Vec<Value> = r
                .indicators
                .iter()
                .map(|i| {
                    json!({"code": i.code, "label": i.label, "short": i.short, "aliases": i.aliases,
                           "required": i.required, "min": i.min, "max": i.max})
                })
                .collect();
            json!({"key": r.key, "name": r.name, "period": r.period, "deadline_days": r.deadline_days,
                   "grace_days": r.grace_days, "lock_days": r.lock_days, "indicators": indicators})
        })
        .collect();
    Json(json!({"version": defs.version, "reports": reports}))
}

/// Re-reads `reports.definitions`; a file with problems is refused (400, every problem
/// listed) and the loaded definitions stay.
async fn reload(State(reporting): State<Reporting>) -> Result<Json<Value>, ApiError> {
    let defs = tokio::task::spawn_blocking(move || reporting.reload_definitions())
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reload task failed: {e}")))?
        .map_err(|e| ApiError::BadRequest(format!("{e:#}")))?;
    Ok(Json(json!({"version": defs.version, "reports": defs.reports.len()})))
}

async fn units(State(reporting): State<Reporting>) -> Result<Json<Value>, ApiError> {
    let units = blocking(move || reporting.units()).await?;
    Ok(Json(json!({"items": units})))
}

async fn teams(State(reporting): State<Reporting>) -> Result<Json<Value>, ApiError> {
    let teams = blocking(move || reporting.teams()).await?;
    Ok(Json(json!({"items": teams})))
}

/// Body: the units CSV (same format as `cnscd-bot units import`); all or nothing.
async fn import_units(
    State(reporting): State<Reporting>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let imported = blocking(move || reporting.import_units(&body)).await?;
    Ok(Json(json!({"imported": imported})))
}

/// Body: the teams CSV (`unit,name`); teams already present are skipped.
async fn import_teams(
    State(reporting): State<Reporting>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let created =
        blocking(move || reporting.import_teams(&body, reporting.clock().now_secs())).await?;
    Ok(Json(json!({"created": created})))
}

/// Body of `POST /admin/api/teams`.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewTeam {
    unit: String,
    name: String,
    /// `2026-11`, `11/2026` or `2026-11-15`: expected to report from then on.
    #[serde(default)]
    expected_from: Option<String>,
}

async fn create_team(
    State(reporting): State<Reporting>,
    Json(body): Json<NewTeam>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let team = blocking(move || {
        let now = reporting.clock().now_secs();
        reporting.create_team(&body.unit, &body.name, body.expected_from.as_deref(), now)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": team.id, "unit": team.unit, "name": team.name}))))
}

/// Body of `POST /admin/api/invites`: `team` for a member or leader, `unit` for an admin.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewInvite {
    team: Option<u64>,
    unit: Option<String>,
    /// `member`, `leader` or `admin`.
    #[schema(value_type = String, example = "member")]
    role: Role,
}

async fn create_invite(
    State(reporting): State<Reporting>,
    Json(body): Json<NewInvite>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let invite = blocking(move || {
        reporting.create_invite(body.team, body.unit, body.role, reporting.clock().now_secs())
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "code": invite.code,
            "role": invite.role,
            "team": invite.team,
            "unit": invite.unit,
            "expires_at": invite.expires_at,
        })),
    ))
}

async fn members(State(reporting): State<Reporting>) -> Result<Json<Value>, ApiError> {
    let store = reporting.store().clone();
    let window_days = reporting.settings().reply_window_days;
    let now = reporting.clock().now_secs();
    let members = blocking(move || reporting.members()).await?;
    let items: Vec<Value> = members
        .iter()
        .map(|m| {
            let last = store.last_reachable_interaction(&m.user_id).ok().flatten();
            json!({
                "user": crate::privacy::mask_id(&m.user_id),
                "name": m.display_name.as_deref().map(mask_name),
                "team": m.team,
                "unit": m.unit,
                "role": m.role,
                "joined_at": m.joined_at,
                "reachable": within_window(last, window_days, now),
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

/// "Nguyễn Thị Lan" → "N*** L***": enough to recognise, not to copy.
fn mask_name(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .map(|c| format!("{c}***"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn reports(
    State(reporting): State<Reporting>,
    Query(filter): Query<ReportFilter>,
) -> Result<Json<Value>, ApiError> {
    let items = blocking(move || {
        let versions = reporting.reports(&filter)?;
        Ok(versions
            .into_iter()
            .map(|mut v| {
                // The submitter is personal data: masked like everywhere else.
                v.submitted_by = crate::privacy::mask_id(&v.submitted_by);
                v
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(json!({"count": items.len(), "items": items})))
}

#[derive(Deserialize)]
struct AggregateQuery {
    unit: Option<String>,
    period: Option<String>,
    #[serde(rename = "type")]
    report: Option<String>,
}

async fn completeness(
    State(reporting): State<Reporting>,
    Query(q): Query<AggregateQuery>,
) -> Result<Json<Value>, ApiError> {
    aggregate(reporting, q, Reporting::completeness).await
}

async fn totals(
    State(reporting): State<Reporting>,
    Query(q): Query<AggregateQuery>,
) -> Result<Json<Value>, ApiError> {
    aggregate(reporting, q, Reporting::totals).await
}

/// `Reporting::completeness` or `Reporting::totals`: (type, period, unit, now) → rows.
type RollUp<T> = fn(
    &Reporting,
    Option<&str>,
    Option<&str>,
    Option<&str>,
    UnixSecs,
) -> Result<Vec<T>, QueryError>;

/// Runs one roll-up (completeness or totals) with the query's filters.
async fn aggregate<T: serde::Serialize + Send + 'static>(
    reporting: Reporting,
    q: AggregateQuery,
    roll_up: RollUp<T>,
) -> Result<Json<Value>, ApiError> {
    let rows = blocking(move || {
        roll_up(
            &reporting,
            q.report.as_deref(),
            q.period.as_deref(),
            q.unit.as_deref(),
            reporting.clock().now_secs(),
        )
    })
    .await?;
    Ok(Json(json!({"items": rows})))
}

/// The hand-off's "Đóng góp" sheet for the filter's months and unit (issue 12); none
/// when no period is named or a period is not a month.
fn contribution_sheet(
    reporting: &Reporting,
    handoff: &Handoff,
    filter: &ReportFilter,
) -> Result<Vec<Sheet>, QueryError> {
    let Some(list) = filter.period.as_deref().filter(|p| !p.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let defs = reporting.defs();
    let report = reporting.report_type(&defs, filter.report.as_deref())?;
    let periods = reporting.periods(report, Some(list), reporting.clock().now_secs(), 1)?;
    if periods.iter().any(|p| p.kind != PeriodKind::Month) {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = periods.iter().map(|p| p.key()).collect();
    match handoff.contribution_figures(Some(&keys.join(",")), filter.unit.as_deref()) {
        Ok(figures) => Ok(vec![figures.sheet()]),
        Err(HandoffQueryError::BadRequest(m)) => Err(QueryError::BadRequest(m)),
        // Answered as a 500 like a failed workbook.
        Err(HandoffQueryError::Other(e)) => Err(QueryError::Xlsx(format!("contributions: {e}"))),
    }
}

async fn export_csv(
    State(reporting): State<Reporting>,
    State(handoff): State<Handoff>,
    Query(filter): Query<ReportFilter>,
) -> Result<Response, ApiError> {
    export(reporting, handoff, filter, ExportFormat::Csv).await
}

async fn export_xlsx(
    State(reporting): State<Reporting>,
    State(handoff): State<Handoff>,
    Query(filter): Query<ReportFilter>,
) -> Result<Response, ApiError> {
    export(reporting, handoff, filter, ExportFormat::Xlsx).await
}

async fn export(
    reporting: Reporting,
    handoff: Handoff,
    filter: ReportFilter,
    format: ExportFormat,
) -> Result<Response, ApiError> {
    let name =
        format!("bao-cao-{}", filter.period.as_deref().unwrap_or("tat-ca").replace(',', "_"));
    let bytes = blocking(move || {
        let extra = match format {
            ExportFormat::Xlsx => contribution_sheet(&reporting, &handoff, &filter)?,
            ExportFormat::Csv => Vec::new(),
        };
        reporting.export_with(&filter, format, &extra)
    })
    .await?;
    Ok((format.download_headers(&name), bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked() {
        assert_eq!(mask_name("Nguyễn Thị Lan"), "N*** T*** L***");
        assert_eq!(mask_name(""), "");
    }
}
