//! Roles and permissions. [`MATRIX`] is the single source of truth: the server asks it for
//! every route, `docs/security.md` prints it, and the route × role test walks it.

use serde::Serialize;

/// A role a user or token has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including users, tokens and settings.
    Admin,
    /// Runs the fleet: acknowledge, silence, test channels, backups and drills, nodes.
    Operator,
    /// Reads everything including the audit trail; changes nothing.
    Auditor,
    /// Tickets and knowledge base (read-only elsewhere).
    Support,
    /// Reads dashboards and lists; no secrets, no audit trail.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Operator,
        Role::Auditor,
        Role::Support,
        Role::Viewer,
    ];

    /// Parses `admin|operator|auditor|support|viewer`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
            Role::Support => "support",
            Role::Viewer => "viewer",
        }
    }
}

/// Something a request may need to be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// No credentials needed (`/livez`, `/readyz`, public `/metrics`, login).
    Public,
    /// Any authenticated principal (who am I, logout).
    Authenticated,
    /// Nodes, series, metrics.
    ReadFleet,
    /// Alerts, incidents, silences, notifications, notifier list.
    ReadAlerts,
    /// Acknowledge incidents, create and expire silences, test notifiers.
    OperateAlerts,
    /// Push external alerts (Alertmanager intake).
    IngestAlerts,
    /// Run a backup job or a restore drill now.
    OperateBackups,
    /// Audit a contract in the console (the report is kept).
    RunAudit,
    /// Record a load-test report with the daemon (CLI `--record`, console upload).
    RecordBench,
    /// Search and tail node logs (redacted at ingest).
    ReadLogs,
    /// Push log lines over HTTP.
    IngestLogs,
    /// The audit trail.
    ReadAudit,
    /// Users and tokens: list.
    ReadUsers,
    /// Users and tokens: create, change, delete, revoke.
    ManageUsers,
    /// Apply the config file again (`POST /api/v1/config/reload`).
    ReloadConfig,
    /// Write status-page incidents and schedule maintenance.
    ManageStatus,
    /// Support tickets: list and read.
    ReadTickets,
    /// Support tickets: open, reply, change, merge, link.
    WorkTickets,
    /// Requesters' personal data: subject-access export and erasure.
    ManagePrivacy,
}

/// Which roles hold each permission (Public and Authenticated are not role-based).
pub const MATRIX: &[(Permission, &[Role])] = &[
    (
        Permission::ReadFleet,
        &[
            Role::Admin,
            Role::Operator,
            Role::Auditor,
            Role::Support,
            Role::Viewer,
        ],
    ),
    (
        Permission::ReadAlerts,
        &[
            Role::Admin,
            Role::Operator,
            Role::Auditor,
            Role::Support,
            Role::Viewer,
        ],
    ),
    (Permission::OperateAlerts, &[Role::Admin, Role::Operator]),
    (Permission::IngestAlerts, &[Role::Admin, Role::Operator]),
    (Permission::OperateBackups, &[Role::Admin, Role::Operator]),
    (Permission::RunAudit, &[Role::Admin, Role::Operator]),
    (Permission::RecordBench, &[Role::Admin, Role::Operator]),
    (
        Permission::ReadLogs,
        &[Role::Admin, Role::Operator, Role::Auditor, Role::Support],
    ),
    (Permission::IngestLogs, &[Role::Admin, Role::Operator]),
    (Permission::ReadAudit, &[Role::Admin, Role::Auditor]),
    (Permission::ReadUsers, &[Role::Admin, Role::Auditor]),
    (Permission::ManageUsers, &[Role::Admin]),
    (Permission::ReloadConfig, &[Role::Admin]),
    (
        Permission::ManageStatus,
        &[Role::Admin, Role::Operator, Role::Support],
    ),
    (
        Permission::ReadTickets,
        &[
            Role::Admin,
            Role::Operator,
            Role::Auditor,
            Role::Support,
            Role::Viewer,
        ],
    ),
    (
        Permission::WorkTickets,
        &[Role::Admin, Role::Operator, Role::Support],
    ),
    (Permission::ManagePrivacy, &[Role::Admin]),
];

impl Permission {
    /// Whether `role` holds this permission.
    pub fn allows(self, role: Role) -> bool {
        match self {
            Permission::Public | Permission::Authenticated => true,
            p => MATRIX
                .iter()
                .any(|(q, roles)| *q == p && roles.contains(&role)),
        }
    }

    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Public => "public",
            Permission::Authenticated => "authenticated",
            Permission::ReadFleet => "read_fleet",
            Permission::ReadAlerts => "read_alerts",
            Permission::OperateAlerts => "operate_alerts",
            Permission::IngestAlerts => "ingest_alerts",
            Permission::OperateBackups => "operate_backups",
            Permission::RunAudit => "run_audit",
            Permission::RecordBench => "record_bench",
            Permission::ReadLogs => "read_logs",
            Permission::IngestLogs => "ingest_logs",
            Permission::ReadAudit => "read_audit",
            Permission::ReadUsers => "read_users",
            Permission::ManageUsers => "manage_users",
            Permission::ReloadConfig => "reload_config",
            Permission::ManageStatus => "manage_status",
            Permission::ReadTickets => "read_tickets",
            Permission::WorkTickets => "work_tickets",
            Permission::ManagePrivacy => "manage_privacy",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matrix in docs/security.md is this matrix.
    #[test]
    fn the_documented_matrix_is_the_code_matrix() {
        let doc = include_str!("../../../docs/security.md");
        for (p, roles) in MATRIX {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| {} |", p.as_str())))
                .unwrap_or_else(|| panic!("docs/security.md lacks a row for {}", p.as_str()));
            let marks: Vec<&str> = row.split('|').map(str::trim).skip(3).take(5).collect();
            for (i, role) in Role::ALL.iter().enumerate() {
                assert_eq!(
                    marks[i] == "✓",
                    roles.contains(role),
                    "{} / {}",
                    p.as_str(),
                    role.as_str()
                );
            }
        }
    }

    #[test]
    fn the_auditor_reads_everything_and_changes_nothing() {
        for (p, _) in MATRIX {
            let writes = matches!(
                p,
                Permission::OperateAlerts
                    | Permission::IngestAlerts
                    | Permission::OperateBackups
                    | Permission::RunAudit
                    | Permission::RecordBench
                    | Permission::IngestLogs
                    | Permission::ManageUsers
                    | Permission::ReloadConfig
                    | Permission::ManageStatus
                    | Permission::WorkTickets
                    | Permission::ManagePrivacy
            );
            assert_eq!(p.allows(Role::Auditor), !writes, "{p:?}");
            assert!(p.allows(Role::Admin), "{p:?}");
        }
        assert!(!Permission::ReadAudit.allows(Role::Viewer));
        assert_eq!(Role::parse("operator"), Some(Role::Operator));
        assert_eq!(Role::parse("root"), None);
    }
}
