//! Who is told about a request: the reachable members of the village's team; if none,
//! every reachable member of the commune's teams; if none, the commune's (or the
//! province's) admins. Built once from units, teams and members; routing is lookups.

use crate::calendar::UnixSecs;
use std::collections::HashMap;

use super::model::Level;
use crate::reports::model::{Member, Role, Team, Unit, UnitLevel};

/// A member as routing and the texts need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub user_id: String,
    pub role: Role,
    pub team: Option<u64>,
    /// The name set with `/ten`, if any.
    pub name: Option<String>,
    /// When they joined (unix seconds): how leaders tell apart members without a name.
    pub joined_at: UnixSecs,
}

/// Units, teams and members indexed for routing.
#[derive(Debug, Default)]
pub struct Directory {
    units: HashMap<String, UnitInfo>,
    children: HashMap<String, Vec<String>>,
    teams: HashMap<u64, Team>,
    teams_by_unit: HashMap<String, Vec<u64>>,
    members_by_team: HashMap<u64, Vec<Person>>,
    admins_by_unit: HashMap<String, Vec<Person>>,
    people: HashMap<String, Person>,
}

#[derive(Debug, Clone)]
struct UnitInfo {
    display: String,
    parent: Option<String>,
    level: UnitLevel,
}

/// The outcome of routing at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub level: Level,
    /// Users to tell, in a stable order.
    pub recipients: Vec<String>,
    /// Members of the teams concerned who cannot be reached (named in reminders).
    pub unreachable: Vec<String>,
}

impl Directory {
    pub fn new(units: &[Unit], teams: &[Team], members: &[Member]) -> Directory {
        let mut dir = Directory::default();
        for u in units {
            dir.units.insert(
                u.code.clone(),
                UnitInfo { display: u.display_name(), parent: u.parent.clone(), level: u.level() },
            );
            if let Some(parent) = &u.parent {
                dir.children.entry(parent.clone()).or_default().push(u.code.clone());
            }
        }
        for t in teams {
            dir.teams_by_unit.entry(t.unit.clone()).or_default().push(t.id);
            dir.teams.insert(t.id, t.clone());
        }
        for m in members {
            let person = Person {
                user_id: m.user_id.clone(),
                role: m.role,
                team: m.team,
                name: m.display_name.clone(),
                joined_at: m.joined_at,
            };
            match (m.role, m.team, &m.unit) {
                (Role::Admin, _, Some(unit)) => {
                    dir.admins_by_unit.entry(unit.clone()).or_default().push(person.clone())
                }
                (_, Some(team), _) => {
                    dir.members_by_team.entry(team).or_default().push(person.clone())
                }
                _ => {}
            }
            dir.people.insert(m.user_id.clone(), person);
        }
        for list in dir.members_by_team.values_mut() {
            list.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        }
        dir
    }

    /// Whether any team has a member: with none, nobody could take a request.
    pub fn has_members(&self) -> bool {
        self.members_by_team.values().any(|m| !m.is_empty())
    }

    pub fn person(&self, user: &str) -> Option<&Person> {
        self.people.get(user)
    }

    pub fn team(&self, id: u64) -> Option<&Team> {
        self.teams.get(&id)
    }

    pub fn team_members(&self, id: u64) -> &[Person] {
        self.members_by_team.get(&id).map_or(&[], Vec::as_slice)
    }

    /// "Thôn Phú An"; the code when unknown.
    pub fn unit_name(&self, code: &str) -> String {
        self.units.get(code).map_or_else(|| code.to_owned(), |u| u.display.clone())
    }

    /// "Thôn Phú An, Xã Phú Vinh".
    pub fn place_label(&self, code: &str) -> String {
        match self.units.get(code) {
            Some(u) if u.level == UnitLevel::Village => match &u.parent {
                Some(p) => format!("{}, {}", u.display, self.unit_name(p)),
                None => u.display.clone(),
            },
            Some(u) => u.display.clone(),
            None => code.to_owned(),
        }
    }

    /// The commune of a village (or the commune itself).
    pub fn commune_of(&self, code: &str) -> Option<String> {
        let u = self.units.get(code)?;
        match u.level {
            UnitLevel::Commune => Some(code.to_owned()),
            UnitLevel::Village => u.parent.clone(),
            UnitLevel::Province => None,
        }
    }

    /// The first team of the unit itself, if it has one.
    pub fn team_of_unit(&self, code: &str) -> Option<u64> {
        self.teams_by_unit.get(code).and_then(|t| t.iter().min().copied())
    }

    /// Teams of the commune: its own and its villages'.
    pub fn commune_teams(&self, commune: &str) -> Vec<u64> {
        let mut out: Vec<u64> = self.teams_by_unit.get(commune).cloned().unwrap_or_default();
        for child in self.children.get(commune).into_iter().flatten() {
            out.extend(self.teams_by_unit.get(child).into_iter().flatten());
        }
        out.sort_unstable();
        out
    }

    /// Admins of the commune, else of its ancestors (nearest first).
    pub fn admins_for(&self, unit: &str) -> Vec<String> {
        let mut at = Some(unit.to_owned());
        let mut guard = 0;
        while let Some(code) = at {
            if let Some(admins) = self.admins_by_unit.get(&code)
                && !admins.is_empty()
            {
                let mut ids: Vec<String> = admins.iter().map(|p| p.user_id.clone()).collect();
                ids.sort();
                return ids;
            }
            guard += 1;
            if guard > 8 {
                break;
            }
            at = self.units.get(&code).and_then(|u| u.parent.clone());
        }
        Vec::new()
    }

    /// Routes a request about `unit` starting at `from` and going up until someone is
    /// reachable. `reachable(user)` says whether the OA may message the user now.
    pub fn route(&self, unit: &str, from: Level, reachable: &dyn Fn(&str) -> bool) -> Route {
        let mut unreachable = Vec::new();
        let split = |teams: &[u64], unreachable: &mut Vec<String>| {
            let mut ok = Vec::new();
            for team in teams {
                for p in self.team_members(*team) {
                    if reachable(&p.user_id) {
                        ok.push(p.user_id.clone());
                    } else {
                        unreachable.push(p.user_id.clone());
                    }
                }
            }
            ok
        };
        let commune = self.commune_of(unit);
        if from <= Level::Team {
            let teams: Vec<u64> = self.teams_by_unit.get(unit).cloned().unwrap_or_default();
            let ok = split(&teams, &mut unreachable);
            if !ok.is_empty() {
                return Route { level: Level::Team, recipients: ok, unreachable };
            }
        }
        if from <= Level::Commune
            && let Some(commune) = &commune
        {
            let ok = split(&self.commune_teams(commune), &mut unreachable);
            if !ok.is_empty() {
                return Route { level: Level::Commune, recipients: ok, unreachable };
            }
        }
        let admins: Vec<String> = self
            .admins_for(commune.as_deref().unwrap_or(unit))
            .into_iter()
            .filter(|u| reachable(u))
            .collect();
        Route { level: Level::Admin, recipients: admins, unreachable }
    }

    /// Leaders of a team.
    pub fn leaders(&self, team: u64) -> Vec<String> {
        self.team_members(team)
            .iter()
            .filter(|p| p.role == Role::Leader)
            .map(|p| p.user_id.clone())
            .collect()
    }

    /// How leaders and admins see a member (`reports::reminders::label`): the `/ten`
    /// name, else when they joined.
    pub fn leader_label(&self, user: &str) -> String {
        match self.people.get(user) {
            Some(p) => crate::reports::reminders::label(p.name.as_deref(), p.joined_at),
            None => "một thành viên".to_owned(),
        }
    }

    /// Name shown for a member: the `/ten` name, else a neutral "thành viên".
    pub fn display_name(&self, user: &str) -> String {
        self.people
            .get(user)
            .and_then(|p| p.name.clone())
            .unwrap_or_else(|| "một thành viên".to_owned())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reports::model::UnitKind;

    pub(crate) fn world() -> (Vec<Unit>, Vec<Team>, Vec<Member>) {
        let unit = |code: &str, name: &str, kind, parent: Option<&str>| Unit {
            code: code.into(),
            name: name.into(),
            kind,
            parent: parent.map(Into::into),
            aliases: vec![],
            valid_from: None,
            valid_to: None,
            replaced_by: None,
        };
        let units = vec![
            unit("46", "Huế", UnitKind::ThanhPho, None),
            unit("20000", "Phú Vinh", UnitKind::Xa, Some("46")),
            unit("20000-01", "Phú An", UnitKind::Thon, Some("20000")),
            unit("20000-02", "Vinh Xuân", UnitKind::Thon, Some("20000")),
            unit("20000-03", "Bản A Roàng", UnitKind::Thon, Some("20000")),
        ];
        let team = |id, unit: &str| Team {
            id,
            unit: unit.into(),
            name: format!("Tổ {id}"),
            created_at: UnixSecs(0),
            expected_from: None,
        };
        let teams = vec![team(1, "20000-01"), team(2, "20000-02")];
        let member = |user: &str, team: Option<u64>, unit: Option<&str>, role| Member {
            user_id: user.into(),
            team,
            unit: unit.map(Into::into),
            role,
            display_name: Some(format!("Tên {user}")),
            joined_at: UnixSecs(0),
        };
        let members = vec![
            member("a1", Some(1), None, Role::Leader),
            member("a2", Some(1), None, Role::Member),
            member("b1", Some(2), None, Role::Leader),
            member("adm", None, Some("20000"), Role::Admin),
            member("prov", None, Some("46"), Role::Admin),
        ];
        (units, teams, members)
    }

    type Case<'a> = (&'a str, Level, &'a dyn Fn(&str) -> bool, Level, Vec<&'a str>);

    #[test]
    fn routing_table() {
        let (units, teams, members) = world();
        let dir = Directory::new(&units, &teams, &members);
        let all = |_: &str| true;
        let not_a = |u: &str| !u.starts_with('a');
        let nobody = |_: &str| false;
        let only_prov = |u: &str| u == "prov";
        let cases: Vec<Case> = vec![
            ("20000-01", Level::Team, &all, Level::Team, vec!["a1", "a2"]),
            ("20000-01", Level::Commune, &all, Level::Commune, vec!["a1", "a2", "b1"]),
            ("20000-01", Level::Team, &not_a, Level::Commune, vec!["b1"]),
            // A village without a team goes to the commune's teams.
            ("20000-03", Level::Team, &all, Level::Commune, vec!["a1", "a2", "b1"]),
            ("20000-01", Level::Team, &nobody, Level::Admin, vec![]),
            ("20000-01", Level::Admin, &all, Level::Admin, vec!["adm"]),
            ("20000-01", Level::Team, &only_prov, Level::Admin, vec![]),
            ("20000", Level::Team, &all, Level::Commune, vec!["a1", "a2", "b1"]),
        ];
        for (unit, from, reachable, level, who) in cases {
            let route = dir.route(unit, from, reachable);
            assert_eq!(route.level, level, "{unit} {from:?}");
            assert_eq!(route.recipients, who, "{unit} {from:?}");
        }
        // Admins of the province stand in when the commune has none reachable… only if
        // the commune has none at all: the nearest unit with admins decides.
        assert_eq!(dir.admins_for("20000-01"), vec!["adm"]);
        assert_eq!(dir.place_label("20000-01"), "Thôn Phú An, Xã Phú Vinh");
    }
}
