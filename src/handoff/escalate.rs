//! The escalation plan: what the scheduler sends (each message under a once-key, so it
//! is sent once even across restarts) and which requests move up a level or are purged.
//! Pure: the requests, the directory, who is reachable and `now` are parameters.

use super::HandoffConfig;
use super::hours::{is_open, office_secs_between};
use super::model::{Level, Request, Status};
use super::render;
use super::route::Directory;
use crate::calendar::UnixSecs;
use crate::reply::Reply;

#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// Queue `reply` for `user` unless `once_key` was used.
    Send { once_key: String, user: String, reply: Reply },
    /// Record that request `id` reached `level` and who was told.
    Escalate { id: u64, level: Level, notified: Vec<String> },
    /// The retention time has passed: drop the texts and the citizen's id.
    Purge { id: u64 },
}

/// Plans one scheduler pass at `now`.
pub fn plan(
    requests: &[Request],
    dir: &Directory,
    reachable: &dyn Fn(&str) -> bool,
    config: &HandoffConfig,
    now: UnixSecs,
) -> Vec<Planned> {
    let mut out = Vec::new();
    let office = is_open(now, config.hour_start, config.hour_end);
    for r in requests {
        match r.status {
            Status::Open if office => escalate_one(r, dir, reachable, config, now, &mut out),
            Status::Closed | Status::Cancelled
                if !r.purged
                    && r.closed_at
                        .is_some_and(|at| now.since(at) >= config.retention_days * 86_400) =>
            {
                out.push(Planned::Purge { id: r.id });
            }
            _ => {}
        }
        if r.status == Status::Claimed
            && let Some(claimer) = &r.claimed_by
        {
            let silent = now.since(r.last_citizen_at);
            if silent >= config.window_warn_days * 86_400 && silent < config.window_days * 86_400 {
                out.push(Planned::Send {
                    once_key: format!("ho/{}/window/{}", r.id, r.last_citizen_at.get()),
                    user: claimer.clone(),
                    reply: render::window_closing(r.id),
                });
            }
        }
    }
    out
}

fn escalate_one(
    r: &Request,
    dir: &Directory,
    reachable: &dyn Fn(&str) -> bool,
    config: &HandoffConfig,
    now: UnixSecs,
    out: &mut Vec<Planned>,
) {
    let waited = office_secs_between(r.waiting_since, now, config.hour_start, config.hour_end);
    let after = config.escalate_after_secs.max(60);
    let place = dir.place_label(&r.unit);
    let stem = format!("ho/{}/{}", r.id, r.waiting_since.get());
    let mut notified = r.notified.clone();
    let mut level = r.level;
    if waited >= after && level == Level::Team {
        let route = dir.route(&r.unit, Level::Team, reachable);
        let names: Vec<String> = route.unreachable.iter().map(|u| dir.leader_label(u)).collect();
        for leader in r.team.map(|t| dir.leaders(t)).unwrap_or_default() {
            if reachable(&leader) {
                out.push(Planned::Send {
                    once_key: format!("{stem}/leader/{leader}"),
                    user: leader.clone(),
                    reply: render::leader_reminder(r.id, &place, waited, &names),
                });
            }
        }
        let commune = dir.route(&r.unit, Level::Commune, reachable);
        if commune.level == Level::Commune {
            let fresh: Vec<String> =
                commune.recipients.iter().filter(|u| !notified.contains(u)).cloned().collect();
            for user in &fresh {
                out.push(Planned::Send {
                    once_key: format!("{stem}/commune/{user}"),
                    user: user.clone(),
                    reply: render::new_request(r.id, &place, &r.question, true),
                });
                notified.push(user.clone());
            }
            out.push(Planned::Send {
                once_key: format!("{stem}/citizen/commune"),
                user: r.citizen.clone(),
                reply: render::citizen_escalated(r.id, Level::Commune),
            });
        }
        level = Level::Commune;
    }
    if waited >= 2 * after && level == Level::Commune {
        let commune = dir.commune_of(&r.unit).unwrap_or_else(|| r.unit.clone());
        for admin in dir.admins_for(&commune).into_iter().filter(|u| reachable(u)) {
            out.push(Planned::Send {
                once_key: format!("{stem}/admin/{admin}"),
                user: admin.clone(),
                reply: render::admin_digest(r.id, &place, &r.question, waited),
            });
            if !notified.contains(&admin) {
                notified.push(admin);
            }
        }
        out.push(Planned::Send {
            once_key: format!("{stem}/citizen/admin"),
            user: r.citizen.clone(),
            reply: render::citizen_escalated(r.id, Level::Admin),
        });
        level = Level::Admin;
    }
    if level != r.level {
        out.push(Planned::Escalate { id: r.id, level, notified });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::vn_to_unix_ms;
    use crate::handoff::route::tests::world;

    fn vn(d: u32, h: u32, m: u32) -> UnixSecs {
        vn_to_unix_ms(2026, 12, d, h, m).to_secs()
    }

    fn request(status: Status, level: Level, at: UnixSecs) -> Request {
        Request {
            commune: Some("20000".into()),
            team: Some(1),
            status,
            level,
            notified: vec!["a1".into(), "a2".into()],
            ..Request::open(7, "cit", "20000-01", "Cài VNeID".into(), at)
        }
    }

    fn claimed(at: UnixSecs) -> Request {
        Request {
            claimed_by: Some("a2".into()),
            claimed_at: Some(at),
            ..request(Status::Claimed, Level::Team, at)
        }
    }

    fn closed(at: UnixSecs) -> Request {
        Request { closed_at: Some(vn(1, 10, 0)), ..request(Status::Closed, Level::Team, at) }
    }

    fn summary(plans: &[Planned]) -> Vec<String> {
        plans
            .iter()
            .map(|p| match p {
                Planned::Send { once_key, user, .. } => format!("send {user} {once_key}"),
                Planned::Escalate { level, notified, .. } => {
                    format!("up {level:?} {}", notified.join(","))
                }
                Planned::Purge { id } => format!("purge {id}"),
            })
            .collect()
    }

    #[test]
    fn escalation_table() {
        let (units, teams, members) = world();
        let dir = Directory::new(&units, &teams, &members);
        let config = HandoffConfig::default();
        let all = |_: &str| true;
        let start = vn(1, 8, 0);
        let s = format!("ho/7/{}", start.get());
        let cases: Vec<(Request, UnixSecs, Vec<String>)> = vec![
            (request(Status::Open, Level::Team, start), vn(1, 9, 59), vec![]),
            (
                request(Status::Open, Level::Team, start),
                vn(1, 10, 0),
                vec![
                    format!("send a1 {s}/leader/a1"),
                    format!("send b1 {s}/commune/b1"),
                    format!("send cit {s}/citizen/commune"),
                    "up Commune a1,a2,b1".into(),
                ],
            ),
            (
                request(Status::Open, Level::Commune, start),
                vn(1, 12, 0),
                vec![
                    format!("send adm {s}/admin/adm"),
                    format!("send cit {s}/citizen/admin"),
                    "up Admin a1,a2,adm".into(),
                ],
            ),
            // At night nothing moves; the clock counts office time only.
            (request(Status::Open, Level::Team, vn(1, 20, 0)), vn(1, 23, 0), vec![]),
            (request(Status::Open, Level::Team, vn(1, 20, 0)), vn(2, 7, 59), vec![]),
            (request(Status::Claimed, Level::Team, start), vn(1, 10, 0), vec![]),
            (claimed(start), vn(7, 8, 0), vec![format!("send a2 ho/7/window/{}", start.get())]),
            (claimed(start), vn(8, 8, 0), vec![]),
            (closed(start), vn(1, 10, 0).plus_secs(179 * 86_400), vec![]),
            (closed(start), vn(1, 10, 0).plus_secs(180 * 86_400), vec!["purge 7".into()]),
        ];
        for (r, now, want) in cases {
            assert_eq!(
                summary(&plan(std::slice::from_ref(&r), &dir, &all, &config, now)),
                want,
                "{r:?} {now:?}"
            );
        }
    }
}
