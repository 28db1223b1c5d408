//! Hand-off benchmark at provincial scale (pure core, plain `Instant` timings, best of 3):
//! - routing one request over 5,000 teams (100 communes × 50 villages, 5 members each,
//!   every 3rd team unreachable so routing often walks up to the commune): target < 1 ms;
//! - building the routing directory from the records (done once per request today);
//! - the whole routing step of a new request as `Handoff` runs it: units, teams and
//!   members read from a (temporary) store, the directory built, the request routed
//!   (what every request paid before the directory was cached), and the same through
//!   `Handoff::directory`, which rebuilds only after units, teams or members changed;
//! - contributions for 5,000 teams × 24 months (2 requests and 1 report per team-month,
//!   ≈ 360,000 records): target < 1 s.
//!
//! Run: `cargo bench --bench handoff`.

use std::time::{Duration, Instant};

use cnscd_bot::calendar::UnixSecs;
use cnscd_bot::handoff::contrib::{self, month_of};
use cnscd_bot::handoff::model::{Level, Line, Party, Rating, Request, Status};
use cnscd_bot::handoff::route::Directory;
use cnscd_bot::reports::model::{Member, ReportVersion, Role, Team, Unit, UnitKind};
use cnscd_bot::store::Store;
use cnscd_bot::store::reports::{LastEvent, ReportWrite};

const COMMUNES: u64 = 100;
const VILLAGES_PER_COMMUNE: u64 = 50;
const MEMBERS_PER_TEAM: u64 = 5;
const MONTHS: i64 = 24;

fn best_of_3(mut f: impl FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let unit = |code: String, kind, parent: Option<String>| Unit {
        code: code.clone(),
        name: format!("Nơi {code}"),
        kind,
        parent,
        aliases: vec![],
        valid_from: None,
        valid_to: None,
        replaced_by: None,
    };
    let mut units = vec![unit("P".into(), UnitKind::Tinh, None)];
    let mut teams = Vec::new();
    let mut members = Vec::new();
    let mut team_id = 0;
    for c in 0..COMMUNES {
        units.push(unit(format!("C{c}"), UnitKind::Xa, Some("P".into())));
        for v in 0..VILLAGES_PER_COMMUNE {
            let code = format!("C{c}-V{v}");
            units.push(unit(code.clone(), UnitKind::Thon, Some(format!("C{c}"))));
            team_id += 1;
            teams.push(Team {
                id: team_id,
                unit: code,
                name: format!("Tổ {team_id}"),
                created_at: UnixSecs(0),
                expected_from: None,
            });
            for m in 0..MEMBERS_PER_TEAM {
                members.push(Member {
                    user_id: format!("u{team_id}-{m}"),
                    team: Some(team_id),
                    unit: None,
                    role: if m == 0 { Role::Leader } else { Role::Member },
                    display_name: Some(format!("Thành viên {m}")),
                    joined_at: UnixSecs(0),
                });
            }
        }
        members.push(Member {
            user_id: format!("adm{c}"),
            team: None,
            unit: Some(format!("C{c}")),
            role: Role::Admin,
            display_name: None,
            joined_at: UnixSecs(0),
        });
    }
    println!("{} units, {} teams, {} members", units.len(), teams.len(), members.len());

    let mut dir = None;
    let build = best_of_3(|| dir = Some(Directory::new(&units, &teams, &members)));
    let dir = dir.unwrap();
    println!("directory build: {build:?}");

    // Team n is unreachable when n % 3 == 0: a third of requests go to the commune.
    let reachable = |u: &str| {
        let team: u64 =
            u.trim_start_matches('u').split('-').next().and_then(|t| t.parse().ok()).unwrap_or(1);
        !team.is_multiple_of(3)
    };
    let targets: Vec<String> = (0..1000)
        .map(|i| format!("C{}-V{}", i % COMMUNES, (i * 7) % VILLAGES_PER_COMMUNE))
        .collect();
    let mut told = 0;
    let all = best_of_3(|| {
        for t in &targets {
            told += dir.route(t, Level::Team, &reachable).recipients.len();
        }
    });
    println!("route: {:?} per request (1,000 requests, {} recipients total)", all / 1000, told / 3);
    let worst = best_of_3(|| {
        told += dir.route("C0-V0", Level::Commune, &reachable).recipients.len();
    });
    println!("route to a whole commune (50 teams): {worst:?}");

    // The same, from a store, as a new request is routed in `Handoff` today.
    let store = Store::temporary().unwrap();
    store.put_report_units(&units).unwrap();
    for t in &teams {
        store.insert_team(&t.unit, &t.name, None, UnixSecs(0)).unwrap();
    }
    for (i, chunk) in members.chunks(500).enumerate() {
        let writes: Vec<ReportWrite> = chunk.iter().cloned().map(ReportWrite::PutMember).collect();
        let last = LastEvent { event_key: format!("bench-{i}"), replies: vec![] };
        store.commit_report_writes("bench", &last, &writes).unwrap();
    }
    let from_store = best_of_3(|| {
        let units = store.report_units().unwrap();
        let teams = store.report_teams().unwrap();
        let members = store.report_members().unwrap();
        let dir = Directory::new(&units, &teams, &members);
        told += dir.route("C7-V7", Level::Team, &reachable).recipients.len();
    });
    println!("route one request from the store (read + directory + route): {from_store:?}");
    let handoff = cnscd_bot::handoff_runtime::Handoff::new(
        store.clone(),
        cnscd_bot::handoff_runtime::HandoffSettings::default(),
        cnscd_bot::clock::Clock::system(),
    );
    let cold = best_of_3(|| {
        store.set_member_display_name("u1-1", "Tên mới").unwrap(); // a member change
        let dir = handoff.directory().unwrap();
        told += dir.route("C7-V7", Level::Team, &reachable).recipients.len();
    });
    let warm = best_of_3(|| {
        let dir = handoff.directory().unwrap();
        told += dir.route("C7-V7", Level::Team, &reachable).recipients.len();
    });
    println!("route one request through Handoff: {warm:?} (after a member change: {cold:?})");

    // Contributions: 2 requests and 1 report per team-month.
    let start = UnixSecs(1_735_664_400); // 2025-01-01 00:00 Vietnam time
    let mut requests = Vec::new();
    let mut reports = Vec::new();
    let mut id = 0;
    for month in 0..MONTHS {
        let at = start.plus_secs(month * 30 * 86_400 + 86_400 * 3);
        for team in &teams {
            for k in 0..2 {
                id += 1;
                let claimer = format!("u{}-{}", team.id, k + 1);
                requests.push(Request {
                    id,
                    citizen: format!("c{id}"),
                    unit: team.unit.clone(),
                    commune: None,
                    team: Some(team.id),
                    topic: None,
                    question: "Nhờ cài VNeID".into(),
                    status: Status::Closed,
                    created_at: at,
                    level: Level::Team,
                    waiting_since: at,
                    notified: vec![],
                    claimed_by: Some(claimer.clone()),
                    claimer_team: Some(team.id),
                    claimed_at: Some(at.plus_secs(600)),
                    first_reply_at: Some(at.plus_secs(900 + (id as i64 % 3600))),
                    closed_at: Some(at.plus_secs(7200)),
                    closed_by: Some(claimer.clone()),
                    last_citizen_at: at,
                    visits: 1,
                    rating: Some(Rating {
                        satisfied: !id.is_multiple_of(5),
                        comment: None,
                        at: at.plus_secs(7300),
                    }),
                    lines: vec![Line {
                        from: Party::Member(claimer),
                        text: String::new(),
                        at: at.plus_secs(900),
                        visit: id.is_multiple_of(4),
                    }],
                    plain_ok: false,
                    purged: false,
                    rev: 1,
                });
            }
            let (y, m) = {
                let mm = month_of(at);
                (mm.div_euclid(12), mm.rem_euclid(12) + 1)
            };
            reports.push(ReportVersion {
                team: team.id,
                report: "thang".into(),
                period: cnscd_bot::reports::period::Period::from_key(&format!("{y:04}-{m:02}"))
                    .expect("a month key"),
                version: 1,
                definition: "x".into(),
                values: Default::default(),
                submitted_by: format!("u{}-0", team.id),
                submitted_at: at,
                on_time: !id.is_multiple_of(7),
                source_event: String::new(),
                withdrawn_at: None,
            });
        }
    }
    let months: Vec<i32> =
        (0..MONTHS).map(|m| month_of(start.plus_secs(m * 30 * 86_400 + 86_400 * 3))).collect();
    println!("{} requests, {} reports, {} months", requests.len(), reports.len(), months.len());
    let mut rows = 0;
    let elapsed = best_of_3(|| {
        let c = contrib::compute(&requests, &reports, &[], &months);
        rows = c.members.len() + c.teams.len();
        // The finishing step (medians) is part of every answer.
        let medians: usize = c.teams.values().map(|a| a.finish().requests_answered as usize).sum();
        assert!(medians > 0);
    });
    println!("contributions: {elapsed:?} ({rows} member and team rows)");
}
