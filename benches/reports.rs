//! Reports benchmark: roll-ups and exports at provincial scale.
//!
//! Run: `cargo bench --bench reports`. Plain `Instant` timings, best of 3 runs:
//! - completeness + totals for 5,000 teams × 24 monthly periods (≈108,000 current
//!   reports), pure core and end to end through the sled store (target < 1 s);
//! - CSV and XLSX export of 100,000 reports, pure and through the store (target < 5 s).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use cnscd_bot::calendar::UnixSecs;
use cnscd_bot::reports::aggregate::{self, Fact, FactValues, Hierarchy};
use cnscd_bot::reports::definition::{Definitions, IndicatorKind};
use cnscd_bot::reports::export;
use cnscd_bot::reports::model::{ReportVersion, Team, Unit, UnitKind};
use cnscd_bot::reports::period::Period;
use cnscd_bot::reports::value::Value;
use cnscd_bot::reports::view::VersionView;
use cnscd_bot::reports_runtime::query::{ExportFormat, ReportFilter};
use cnscd_bot::reports_runtime::{ReportSettings, Reporting};
use cnscd_bot::store::Store;
use cnscd_bot::store::reports::{LastEvent, ReportWrite};

const TEAMS: u64 = 5_000;
const COMMUNES: u64 = 100;
const PERIODS: usize = 24;

fn main() {
    let defs = Definitions::parse(include_str!("../config/reports.toml")).unwrap();
    let report = defs.get(None).unwrap().clone();
    let units = units();
    let teams: Vec<Team> = (1..=TEAMS)
        .map(|id| Team {
            id,
            unit: format!("V{id}"),
            name: format!("Tổ CNSCĐ thôn {id}"),
            created_at: UnixSecs(0),
            expected_from: None,
        })
        .collect();
    let last = Period::from_key("2026-10").unwrap();
    let mut periods = vec![last];
    while periods.len() < PERIODS {
        let prev = periods[periods.len() - 1].prev();
        periods.push(prev);
    }
    periods.reverse();
    // 90% of team-periods reported, every 7th one late.
    let mut versions = Vec::new();
    for (p, period) in periods.iter().enumerate() {
        for team in &teams {
            if (team.id + p as u64).is_multiple_of(10) {
                continue;
            }
            versions.push(version(
                &report,
                team.id,
                period,
                !(team.id + p as u64).is_multiple_of(7),
            ));
        }
    }
    println!(
        "data: {} units, {} teams, {} periods, {} reports",
        units.len(),
        teams.len(),
        PERIODS,
        versions.len()
    );

    let hierarchy = Hierarchy::new(&units);
    let keys: Vec<String> = versions.iter().map(|v| v.period.key()).collect();
    let facts = || {
        versions.iter().zip(&keys).map(|(v, key)| Fact {
            team: v.team,
            period: key,
            on_time: v.on_time,
            values: FactValues::Map(&v.values),
        })
    };
    let (t, rows) = best_of(3, || {
        let c = aggregate::completeness(&hierarchy, &teams, &periods, facts());
        let t = aggregate::totals(&hierarchy, &report, &teams, &periods, facts());
        c.len() + t.len()
    });
    println!("pure completeness + totals, {PERIODS} periods: {} ({rows} rows)", ms(t));

    let team_map: HashMap<u64, &Team> = teams.iter().map(|t| (t.id, t)).collect();
    let names = HashMap::new();
    // The export core reads versions as views (borrowed, no copy).
    let views: Vec<VersionView> = versions.iter().take(100_000).map(ReportVersion::view).collect();
    let hundred_k: Vec<&VersionView> = views.iter().collect();
    let (t, bytes) = best_of(3, || {
        let rows = export::build_rows(&hierarchy, &team_map, &names, &hundred_k);
        export::to_csv(&report, &rows).len()
    });
    println!("pure CSV export, 100,000 reports: {} ({} MB)", ms(t), bytes / 1_000_000);
    let (t, bytes) = best_of(3, || {
        let rows = export::build_rows(&hierarchy, &team_map, &names, &hundred_k);
        export::to_xlsx(&report, &rows).unwrap().len()
    });
    println!("pure XLSX export, 100,000 reports: {} ({} MB)", ms(t), bytes / 1_000_000);

    // End to end through sled: the admin API and CLI path.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let reporting = Reporting::new(store.clone(), defs.clone(), ReportSettings::default());
    store.put_report_units(&units).unwrap();
    for team in &teams {
        store.create_team(&team.unit, &team.name, None, UnixSecs(0)).unwrap();
    }
    let loading = Instant::now();
    let last_event = LastEvent { event_key: "bench".into(), replies: Vec::new() };
    for chunk in versions.chunks(2_000) {
        let writes: Vec<ReportWrite> = chunk.iter().cloned().map(ReportWrite::AddReport).collect();
        store.commit_report_writes("bench", &last_event, &writes).unwrap();
    }
    store.flush_blocking().unwrap();
    println!("store load of {} reports: {}", versions.len(), ms(loading.elapsed()));

    let (t, n) = best_of(3, || store.report_versions().unwrap().len());
    println!("store scan + parse of {n} versions: {}", ms(t));
    let (t, n) = best_of(3, || store.current_reports().unwrap().len());
    println!("store current reports ({n}): {}", ms(t));

    let all_periods: Vec<String> = periods.iter().map(|p| p.key()).collect();
    let period_list = all_periods.join(",");
    let (t, rows) = best_of(3, || {
        let c = reporting.completeness(None, Some(&period_list), None, UnixSecs(0)).unwrap();
        let t = reporting.totals(None, Some(&period_list), None, UnixSecs(0)).unwrap();
        c.len() + t.len()
    });
    println!("store completeness + totals, {PERIODS} periods: {} ({rows} rows)", ms(t));

    let (t, rows) = best_of(3, || {
        let c = reporting.completeness(None, Some("2026-10"), None, UnixSecs(0)).unwrap();
        let t = reporting.totals(None, Some("2026-10"), None, UnixSecs(0)).unwrap();
        c.len() + t.len()
    });
    println!("store completeness + totals, one period (the API default): {} ({rows} rows)", ms(t));

    // About 100,000 reports: 23 of the 24 periods, 4,500 reports each (103,500).
    let export_periods = all_periods[1..].join(",");
    let filter = ReportFilter { period: Some(export_periods), ..ReportFilter::default() };
    let count = reporting.reports(&filter).unwrap().len();
    let (t, bytes) = best_of(3, || reporting.export(&filter, ExportFormat::Csv).unwrap().len());
    println!("store CSV export, {count} reports: {} ({} MB)", ms(t), bytes / 1_000_000);
    let (t, bytes) = best_of(3, || reporting.export(&filter, ExportFormat::Xlsx).unwrap().len());
    println!("store XLSX export, {count} reports: {} ({} MB)", ms(t), bytes / 1_000_000);
    // `BENCH_XLSX_OUT=file.xlsx` keeps the file, to open it in a spreadsheet.
    if let Ok(path) = std::env::var("BENCH_XLSX_OUT") {
        std::fs::write(&path, reporting.export(&filter, ExportFormat::Xlsx).unwrap()).unwrap();
        println!("wrote {path}");
    }
}

fn units() -> Vec<Unit> {
    let unit = |code: String, kind, parent: Option<String>| Unit {
        name: format!("Đơn vị {code}"),
        code,
        kind,
        parent,
        aliases: vec![],
        valid_from: None,
        valid_to: None,
        replaced_by: None,
    };
    let mut units = vec![unit("P".into(), UnitKind::Tinh, None)];
    for c in 1..=COMMUNES {
        units.push(unit(format!("C{c}"), UnitKind::Xa, Some("P".into())));
    }
    for v in 1..=TEAMS {
        units.push(unit(format!("V{v}"), UnitKind::Thon, Some(format!("C{}", v % COMMUNES + 1))));
    }
    units
}

fn version(
    report: &cnscd_bot::reports::definition::ReportType,
    team: u64,
    period: &Period,
    on_time: bool,
) -> ReportVersion {
    let mut values = BTreeMap::new();
    for (i, indicator) in report.indicators.iter().enumerate() {
        let value = match indicator.kind {
            IndicatorKind::Int => Value::Int(((team * 7 + i as u64 * 13) % 90) as i64),
            IndicatorKind::Bool => Value::Bool(!team.is_multiple_of(3)),
            IndicatorKind::Text if team.is_multiple_of(5) => {
                Value::Text("Thiếu thiết bị, người cao tuổi cần hỗ trợ".into())
            }
            IndicatorKind::Text => continue,
        };
        values.insert(indicator.code.clone(), value);
    }
    ReportVersion {
        team,
        report: report.key.clone(),
        period: *period,
        version: 1,
        definition: "bench".into(),
        values,
        submitted_by: format!("user-{team}"),
        submitted_at: period.end().plus_secs(86_400),
        on_time,
        source_event: format!("ev-{team}-{}", period.key()),
        withdrawn_at: None,
    }
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        let took = start.elapsed();
        if best.as_ref().is_none_or(|(b, _)| took < *b) {
            best = Some((took, out));
        }
    }
    best.expect("at least one run")
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}
