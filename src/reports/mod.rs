//! Team reports: units, teams, members, report forms, aggregation and export.
