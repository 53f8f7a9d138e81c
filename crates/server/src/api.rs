//! The route table: every HTTP route described once — method, path, permission, audit action,
//! summary, parameters, request body, success status and schema, and its handler. The router
//! ([`crate::routes::router`]), the permission guard ([`crate::access::guard`]), the OpenAPI
//! document ([`crate::openapi::document`]) and the route table in `docs/security.md` (checked
//! by a test) all come from it. A new route is one entry here plus its handler.

use crate::extract::{body_schema, query_params};
use crate::schema::{any, arr, no_body, none, nstr, obj, path_param, r, text};
use crate::{
    AppState, auth_routes, bench_routes, chain_routes, kb_routes, log_routes, notify_routes,
    routes, ticket_routes,
};
use axum::routing::{MethodRouter, delete, get, post};
use chainops_auth::Permission;
use serde_json::{Value, json};

/// One route.
pub struct Route {
    /// `GET`, `POST`, `DELETE`.
    pub method: &'static str,
    /// Path pattern as the router matches it (`/api/v1/nodes/{name}`).
    pub path: &'static str,
    /// Who may call it (enforced by the guard before the handler runs).
    pub permission: Permission,
    /// The audit-trail action recorded for it (every mutating route has one).
    pub audit: Option<&'static str>,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// OpenAPI parameters.
    pub params: fn() -> Value,
    /// OpenAPI request body schema, if it takes one.
    pub body: fn() -> Option<Value>,
    /// Success status.
    pub ok: u16,
    /// OpenAPI success schema.
    pub response: fn() -> Value,
    /// The handler, as the method router for this method.
    pub handler: fn() -> MethodRouter<AppState>,
}

/// Every route.
pub static ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/livez",
        permission: Permission::Public,
        audit: None,
        summary: "Process is alive",
        params: none,
        body: no_body,
        ok: 200,
        response: || obj(&["status"], json!({"status": text()})),
        handler: || get(routes::livez),
    },
    Route {
        method: "GET",
        path: "/readyz",
        permission: Permission::Public,
        audit: None,
        summary: "Store reachable and every node polled once (503 otherwise)",
        params: none,
        body: no_body,
        ok: 200,
        response: || {
            obj(
                &["status", "store", "nodes_polled"],
                json!({"status": text(), "store": {"type": "boolean"}, "nodes_polled": {"type": "boolean"}}),
            )
        },
        handler: || get(routes::readyz),
    },
    Route {
        method: "GET",
        path: "/metrics",
        permission: Permission::ReadFleet,
        audit: None,
        summary: "Prometheus exposition (text 0.0.4); public unless [server] metrics_public = false",
        params: none,
        body: no_body,
        ok: 200,
        response: text,
        handler: || get(routes::metrics),
    },
    Route {
        method: "GET",
        path: "/api/openapi.json",
        permission: Permission::ReadFleet,
        audit: None,
        summary: "This document",
        params: none,
        body: no_body,
        ok: 200,
        response: any,
        handler: || get(routes::openapi),
    },
    Route {
        method: "POST",
        path: "/api/v1/auth/login",
        permission: Permission::Public,
        audit: Some("auth.login"),
        summary: "Log in: sets the HttpOnly session cookie and returns the CSRF token",
        params: none,
        body: body_schema::<auth_routes::LoginBody>,
        ok: 200,
        response: || {
            obj(
                &["name", "role", "csrf", "expires"],
                json!({"name": text(), "role": text(), "csrf": text(), "expires": text()}),
            )
        },
        handler: || post(auth_routes::login),
    },
    Route {
        method: "POST",
        path: "/api/v1/auth/setup",
        permission: Permission::Public,
        audit: Some("auth.setup"),
        summary: "Create the first admin with the one-time token printed at first start",
        params: none,
        body: body_schema::<auth_routes::SetupBody>,
        ok: 201,
        response: || obj(&["name", "role"], json!({"name": text(), "role": text()})),
        handler: || post(auth_routes::setup),
    },
    Route {
        method: "POST",
        path: "/api/v1/auth/logout",
        permission: Permission::Authenticated,
        audit: Some("auth.logout"),
        summary: "End the session",
        params: none,
        body: no_body,
        ok: 204,
        response: any,
        handler: || post(auth_routes::logout),
    },
    Route {
        method: "GET",
        path: "/api/v1/auth/me",
        permission: Permission::Authenticated,
        audit: None,
        summary: "Who am I",
        params: none,
        body: no_body,
        ok: 200,
        response: || {
            obj(
                &["name", "role", "via"],
                json!({"name": text(), "role": text(), "via": {"type": "object"}}),
            )
        },
        handler: || get(auth_routes::me),
    },
    Route {
        method: "GET",
        path: "/api/v1/nodes",
        permission: Permission::ReadFleet,
        audit: None,
        summary: "Every monitored node with status",
        params: query_params::<crate::extract::PageQuery>,
        body: no_body,
        ok: 200,
        response: || arr(r("Node")),
        handler: || get(routes::list_nodes),
    },
    Route {
        method: "GET",
        path: "/api/v1/chains",
        permission: Permission::ReadFleet,
        audit: None,
        summary: "Every chain across families: nodes by status, best height, quorum, lag distribution, open alerts, backup state",
        params: none,
        body: no_body,
        ok: 200,
        response: || arr(r("Chain")),
        handler: || get(chain_routes::list_chains),
    },
    Route {
        method: "GET",
        path: "/api/v1/cluster",
        permission: Permission::ReadFleet,
        audit: None,
        summary: "The daemon cluster as this member sees it: members, leader lease, node assignment counts",
        params: none,
        body: no_body,
        ok: 200,
        response: crate::cluster_routes::schema,
        handler: || get(crate::cluster_routes::cluster),
    },
    Route {
        method: "GET",
        path: "/api/v1/nodes/{name}",
        permission: Permission::ReadFleet,
        audit: None,
        summary: "One node with its recent events",
        params: || json!([path_param("name")]),
        body: no_body,
        ok: 200,
        response: || r("Node"),
        handler: || get(routes::get_node),
    },
    Route {
        method: "GET",
        path: "/api/v1/series",
        permission: Permission::ReadFleet,
        audit: None,
        summary: "Metric history of one node (node, points), or of several or a chain (series)",
        params: query_params::<routes::SeriesQuery>,
        body: no_body,
        ok: 200,
        response: || {
            let points = || {
                arr(obj(
                    &["t", "v"],
                    json!({"t": {"type": "integer"}, "v": {"type": "number"}}),
                ))
            };
            obj(
                &["metric", "from", "to", "resolution"],
                json!({"node": text(), "metric": text(), "from": text(), "to": text(), "resolution": text(),
            "points": points(),
            "series": arr(obj(&["node", "points"], json!({"node": text(), "points": points()})))}),
            )
        },
        handler: || get(routes::series),
    },
    Route {
        method: "GET",
        path: "/api/v1/alerts",
        permission: Permission::ReadAlerts,
        audit: None,
        summary: "Active alerts and those resolved in the last 24 h",
        params: query_params::<routes::AlertsQuery>,
        body: no_body,
        ok: 200,
        response: || arr(r("Alert")),
        handler: || get(routes::list_alerts),
    },
    Route {
        method: "GET",
        path: "/api/v1/notifications",
        permission: Permission::ReadAlerts,
        audit: None,
        summary: "The notification outbox, dead letters included",
        params: query_params::<routes::NotificationsQuery>,
        body: no_body,
        ok: 200,
        response: || arr(r("Notification")),
        handler: || get(routes::list_notifications),
    },
    Route {
        method: "GET",
        path: "/api/v1/incidents",
        permission: Permission::ReadAlerts,
        audit: None,
        summary: "Open incidents and those resolved in the last 24 h, with timelines",
        params: query_params::<routes::IncidentsQuery>,
        body: no_body,
        ok: 200,
        response: || arr(r("Incident")),
        handler: || get(routes::list_incidents),
    },
    Route {
        method: "POST",
        path: "/api/v1/incidents/{id}/ack",
        permission: Permission::OperateAlerts,
        audit: Some("incident.ack"),
        summary: "Acknowledge an incident (who: from the credentials)",
        params: || json!([path_param("id")]),
        body: body_schema::<routes::AckBody>,
        ok: 200,
        response: || r("Incident"),
        handler: || post(routes::ack_incident),
    },
    Route {
        method: "GET",
        path: "/api/v1/silences",
        permission: Permission::ReadAlerts,
        audit: None,
        summary: "Silences in force",
        params: query_params::<crate::extract::PageQuery>,
        body: no_body,
        ok: 200,
        response: || arr(r("Silence")),
        handler: || get(routes::list_silences),
    },
    Route {
        method: "POST",
        path: "/api/v1/silences",
        permission: Permission::OperateAlerts,
        audit: Some("silence.create"),
        summary: "Create a silence (label equality matchers, an expiry)",
        params: none,
        body: body_schema::<routes::SilenceBody>,
        ok: 201,
        response: || r("Silence"),
        handler: || post(routes::create_silence),
    },
    Route {
        method: "DELETE",
        path: "/api/v1/silences/{id}",
        permission: Permission::OperateAlerts,
        audit: Some("silence.expire"),
        summary: "Expire a silence",
        params: || json!([path_param("id")]),
        body: no_body,
        ok: 204,
        response: any,
        handler: || delete(routes::expire_silence),
    },
    Route {
        method: "GET",
        path: "/api/v1/notifiers",
        permission: Permission::ReadAlerts,
        audit: None,
        summary: "Notification channels (URLs redacted)",
        params: query_params::<crate::extract::PageQuery>,
        body: no_body,
        ok: 200,
        response: || {
            arr(obj(
                &["name", "kind", "url"],
                json!({"name": text(), "kind": text(), "url": text(), "min_severity": text(),
            "rate_limit_per_minute": {"type": "integer", "nullable": true}, "repeat_interval_seconds": {"type": "integer"}, "quiet_hours": {"type": "boolean"}}),
            ))
        },
        handler: || get(notify_routes::list_notifiers),
    },
    Route {
        method: "POST",
        path: "/api/v1/notifiers/{name}/test",
        permission: Permission::OperateAlerts,
        audit: Some("notifier.test"),
        summary: "Send a test notification now; delivered is false (with the error) if the receiver refuses",
        params: || json!([path_param("name")]),
        body: no_body,
        ok: 200,
        response: || {
            obj(
                &["channel", "delivered"],
                json!({"channel": text(), "delivered": {"type": "boolean"}, "error": text()}),
            )
        },
        handler: || post(notify_routes::test_notifier),
    },
    Route {
        method: "POST",
        path: "/api/v1/integrations/alertmanager",
        permission: Permission::IngestAlerts,
        audit: Some("alerts.ingest"),
        summary: "Route Alertmanager webhook alerts through chainops channels",
        params: query_params::<notify_routes::IntakeQuery>,
        body: || {
            Some(obj(
                &["alerts"],
                json!({"alerts": arr(json!({"type": "object"}))}),
            ))
        },
        ok: 202,
        response: || {
            obj(
                &["alerts", "enqueued", "duplicates"],
                json!({"alerts": {"type": "integer"}, "enqueued": {"type": "integer"}, "duplicates": {"type": "integer"}}),
            )
        },
        handler: || post(notify_routes::alertmanager_intake),
    },
    Route {
        method: "GET",
        path: "/api/v1/backups/runs",
        permission: Permission::ReadFleet,
        audit: None,
        summary: "Scheduled backup and restore-drill runs, newest first",
        params: query_params::<routes::BackupRunsQuery>,
        body: no_body,
        ok: 200,
        response: || {
            obj(
                &["runs"],
                json!({"runs": arr(obj(&["job", "node", "kind", "started", "finished", "ok"], json!({"job": text(), "node": text(), "kind": text(), "started": text(), "finished": text(), "seconds": {"type": "number"}, "ok": {"type": "boolean"}, "error": nstr(), "snapshot": nstr(), "bytes_read": {"type": "integer"}, "bytes_added": {"type": "integer"}, "files": {"type": "integer"}, "detail": {"type": "object"}})))}),
            )
        },
        handler: || get(routes::backup_runs),
    },
    Route {
        method: "POST",
        path: "/api/v1/bench/runs",
        permission: Permission::RecordBench,
        audit: Some("bench.record"),
        summary: "Record a load-test report (the JSON `chainops bench run --json` prints; at most 16 MiB)",
        params: none,
        body: || Some(json!({"type": "object", "description": "a chainops bench report"})),
        ok: 201,
        response: || bench_run(&["url"]),
        handler: || {
            post(bench_routes::create).layer(axum::extract::DefaultBodyLimit::max(
                bench_routes::MAX_REPORT_BYTES,
            ))
        },
    },
    Route {
        method: "GET",
        path: "/api/v1/bench/runs",
        permission: Permission::ReadFleet,
        audit: None,
        summary: "Recorded load-test runs, newest first (paged, X-Total-Count)",
        params: query_params::<crate::extract::PageQuery>,
        body: no_body,
        ok: 200,
        response: || arr(bench_run(&[])),
        handler: || get(bench_routes::list),
    },
    Route {
        method: "GET",
        path: "/api/v1/bench/runs/{id}",
        permission: Permission::ReadFleet,
        audit: None,
        summary: "One recorded load-test report, as it was recorded",
        params: || json!([path_param("id")]),
        body: no_body,
        ok: 200,
        response: || json!({"type": "object", "description": "a chainops bench report"}),
        handler: || get(bench_routes::get_one),
    },
    Route {
        method: "GET",
        path: "/api/v1/logs",
        permission: Permission::ReadLogs,
        audit: None,
        summary: "Search node logs, newest first (q: level>=warn node=x \"phrase\" field=value)",
        params: query_params::<log_routes::SearchQuery>,
        body: no_body,
        ok: 200,
        response: || {
            obj(
                &["entries", "next"],
                json!({"entries": arr(obj(&["id", "time", "node", "level", "message"], json!({"id": {"type": "integer"}, "time": text(), "node": text(), "chain": text(), "level": text(), "message": text(), "fields": {"type": "object"}, "source": text()}))), "next": nstr()}),
            )
        },
        handler: || get(log_routes::search),
    },
    Route {
        method: "POST",
        path: "/api/v1/logs/push",
        permission: Permission::IngestLogs,
        audit: Some("logs.push"),
        summary: "Push log lines (JSON lines by default) for a configured node",
        params: query_params::<log_routes::PushQuery>,
        body: || Some(json!({"type": "string"})),
        ok: 202,
        response: || obj(&["stored"], json!({"stored": {"type": "integer"}})),
        handler: || post(log_routes::push),
    },
    Route {
        method: "GET",
        path: "/api/v1/users",
        permission: Permission::ReadUsers,
        audit: None,
        summary: "Users",
        params: query_params::<crate::extract::PageQuery>,
        body: no_body,
        ok: 200,
        response: || {
            arr(obj(
                &["name", "role"],
                json!({"name": text(), "role": text(), "created": text(), "updated": text()}),
            ))
        },
        handler: || get(auth_routes::list_users),
    },
    Route {
        method: "POST",
        path: "/api/v1/users",
        permission: Permission::ManageUsers,
        audit: Some("user.create"),
        summary: "Create a user (password policy applies)",
        params: none,
        body: body_schema::<auth_routes::UserBody>,
        ok: 201,
        response: || obj(&["name", "role"], json!({"name": text(), "role": text()})),
        handler: || post(auth_routes::create_user),
    },
    Route {
        method: "DELETE",
        path: "/api/v1/users/{name}",
        permission: Permission::ManageUsers,
        audit: Some("user.delete"),
        summary: "Delete a user and their sessions",
        params: || json!([path_param("name")]),
        body: no_body,
        ok: 204,
        response: any,
        handler: || delete(auth_routes::delete_user),
    },
    Route {
        method: "GET",
        path: "/api/v1/tokens",
        permission: Permission::ReadUsers,
        audit: None,
        summary: "API tokens (never their secrets)",
        params: query_params::<crate::extract::PageQuery>,
        body: no_body,
        ok: 200,
        response: || arr(r("Token")),
        handler: || get(auth_routes::list_tokens),
    },
    Route {
        method: "POST",
        path: "/api/v1/tokens",
        permission: Permission::ManageUsers,
        audit: Some("token.create"),
        summary: "Create an API token; the secret is in this answer only",
        params: none,
        body: body_schema::<auth_routes::TokenBody>,
        ok: 201,
        response: || r("Token"),
        handler: || post(auth_routes::create_token),
    },
    Route {
        method: "DELETE",
        path: "/api/v1/tokens/{id}",
        permission: Permission::ManageUsers,
        audit: Some("token.revoke"),
        summary: "Revoke a token",
        params: || json!([path_param("id")]),
        body: no_body,
        ok: 204,
        response: any,
        handler: || delete(auth_routes::revoke_token),
    },
    Route {
        method: "GET",
        path: "/api/v1/audit-log",
        permission: Permission::ReadAudit,
        audit: None,
        summary: "Audit records, oldest first",
        params: query_params::<auth_routes::AuditQuery>,
        body: no_body,
        ok: 200,
        response: || {
            arr(obj(
                &[
                    "seq", "at", "actor", "role", "source", "action", "target", "result", "hash",
                ],
                json!({"seq": {"type": "integer"}, "at": text(), "actor": text(), "role": text(),
            "source": text(), "action": text(), "target": text(), "result": text(), "hash": text()}),
            ))
        },
        handler: || get(auth_routes::audit_log),
    },
    Route {
        method: "GET",
        path: "/api/v1/audit-log/verify",
        permission: Permission::ReadAudit,
        audit: None,
        summary: "Verify the hash chain and the signed checkpoints",
        params: none,
        body: no_body,
        ok: 200,
        response: || {
            obj(
                &["ok", "report"],
                json!({"ok": {"type": "boolean"}, "report": {"type": "object"}}),
            )
        },
        handler: || get(auth_routes::verify_audit),
    },
    Route {
        method: "GET",
        path: "/api/v1/status",
        permission: Permission::Public,
        audit: None,
        summary: "The public status page as JSON: each chain's state (operational, degraded, outage, maintenance), 90-day uptime, open incidents, maintenance",
        params: none,
        body: no_body,
        ok: 200,
        response: || {
            obj(
                &["state", "chains", "incidents", "maintenance"],
                json!({"state": text(),
                    "chains": arr(obj(&["name", "state", "nodes_ok", "nodes", "uptime_90d"], json!({"name": text(), "state": {"type": "string", "enum": ["operational", "degraded", "outage", "maintenance"]}, "nodes_ok": {"type": "integer"}, "nodes": {"type": "integer"}, "uptime_90d": text()}))),
                    "incidents": arr(obj(&["id", "chain", "title", "state", "opened"], json!({"id": text(), "chain": text(), "title": text(), "state": text(), "opened": text()}))),
                    "maintenance": arr(obj(&["chain", "title", "starts", "ends", "running"], json!({"chain": text(), "title": text(), "starts": text(), "ends": text(), "running": {"type": "boolean"}})))}),
            )
        },
        handler: || get(crate::status_routes::api_status),
    },
    Route {
        method: "POST",
        path: "/api/v1/config/reload",
        permission: Permission::ReloadConfig,
        audit: Some("config.reload"),
        summary: "Validate the config file again and apply it whole (nodes, rules, notifiers, log sources, backup jobs, TLS files), or keep the running one and list every problem",
        params: none,
        body: no_body,
        ok: 200,
        response: || {
            obj(
                &["file", "changed", "nodes", "rules", "notifiers"],
                json!({"file": text(), "changed": arr(text()), "nodes": {"type": "integer"},
                    "rules": {"type": "integer"}, "notifiers": {"type": "integer"}}),
            )
        },
        handler: || post(routes::reload_config),
    },
    Route {
        method: "GET",
        path: "/api/v1/tickets",
        permission: Permission::ReadTickets,
        audit: None,
        summary: "Support tickets, nearest SLA deadline first (filters: state, priority, assignee, team, chain, incident, q; paged, X-Total-Count)",
        params: query_params::<ticket_routes::TicketQuery>,
        body: no_body,
        ok: 200,
        response: || arr(ticket(&[])),
        handler: || get(ticket_routes::list),
    },
    Route {
        method: "POST",
        path: "/api/v1/tickets",
        permission: Permission::WorkTickets,
        audit: Some("ticket.create"),
        summary: "Open a ticket for a requester (their email is kept sealed)",
        params: none,
        body: body_schema::<ticket_routes::TicketBody>,
        ok: 201,
        response: || ticket(&["url"]),
        handler: || post(ticket_routes::create),
    },
    Route {
        method: "GET",
        path: "/api/v1/tickets/report",
        permission: Permission::ReadTickets,
        audit: None,
        summary: "The support report of the last days: SLA attainment and median response times per priority (business time), daily backlog, CSAT, NPS, volume by category and chain",
        params: query_params::<ticket_routes::ReportQuery>,
        body: no_body,
        ok: 200,
        response: || {
            obj(
                &[
                    "from",
                    "to",
                    "priorities",
                    "backlog",
                    "csat",
                    "nps",
                    "by_category",
                    "by_chain",
                ],
                json!({"from": text(), "to": text(), "priorities": arr(any()), "backlog": arr(any()),
                    "csat": any(), "nps": any(), "csat_percent": {"type": "number", "nullable": true},
                    "nps_score": {"type": "number", "nullable": true},
                    "by_category": arr(any()), "by_chain": arr(any())}),
            )
        },
        handler: || get(ticket_routes::report),
    },
    Route {
        method: "POST",
        path: "/api/v1/nps/campaigns",
        permission: Permission::WorkTickets,
        audit: Some("survey.nps_campaign"),
        summary: "Start an NPS campaign: every requester of the last days is mailed a private survey link (needs [support] email_notifier)",
        params: none,
        body: body_schema::<ticket_routes::CampaignBody>,
        ok: 201,
        response: || {
            obj(
                &["id", "name", "invited", "created"],
                json!({"id": text(), "name": text(), "invited": {"type": "integer"}, "created": text()}),
            )
        },
        handler: || post(ticket_routes::start_nps),
    },
    Route {
        method: "GET",
        path: "/api/v1/tickets/{id}",
        permission: Permission::ReadTickets,
        audit: None,
        summary: "One ticket: messages (internal notes too), history, SLA clocks; the requester's contact data for work_tickets",
        params: || json!([path_param("id")]),
        body: no_body,
        ok: 200,
        response: || ticket(&["messages", "history", "clocks", "requester"]),
        handler: || get(ticket_routes::get_one),
    },
    Route {
        method: "POST",
        path: "/api/v1/tickets/{id}/messages",
        permission: Permission::WorkTickets,
        audit: Some("ticket.reply"),
        summary: "Reply to the requester (public) or add an internal note (public: false)",
        params: || json!([path_param("id")]),
        body: body_schema::<ticket_routes::MessageBody>,
        ok: 201,
        response: || {
            obj(
                &["id", "at", "public"],
                json!({"id": text(), "at": text(), "public": {"type": "boolean"}}),
            )
        },
        handler: || post(ticket_routes::reply),
    },
    Route {
        method: "POST",
        path: "/api/v1/tickets/{id}/changes",
        permission: Permission::WorkTickets,
        audit: Some("ticket.change"),
        summary: "Change a ticket's state, priority, assignee, team, tags or links (absent fields stay)",
        params: || json!([path_param("id")]),
        body: body_schema::<ticket_routes::ChangeBody>,
        ok: 200,
        response: || ticket(&[]),
        handler: || post(ticket_routes::change),
    },
    Route {
        method: "POST",
        path: "/api/v1/tickets/{id}/merge",
        permission: Permission::WorkTickets,
        audit: Some("ticket.merge"),
        summary: "Merge a ticket into another (it is closed with a note pointing there)",
        params: || json!([path_param("id")]),
        body: body_schema::<ticket_routes::MergeBody>,
        ok: 200,
        response: || {
            obj(
                &["merged", "into"],
                json!({"merged": {"type": "integer"}, "into": {"type": "integer"}}),
            )
        },
        handler: || post(ticket_routes::merge),
    },
    Route {
        method: "POST",
        path: "/api/v1/tickets/known-issue",
        permission: Permission::WorkTickets,
        audit: Some("ticket.known_issue"),
        summary: "Answer every active ticket linked to an incident with one public reply (each requester is mailed); solve: true also solves them",
        params: none,
        body: body_schema::<ticket_routes::KnownIssueBody>,
        ok: 200,
        response: || {
            obj(
                &["incident", "answered"],
                json!({"incident": text(), "answered": arr(json!({"type": "integer"}))}),
            )
        },
        handler: || post(ticket_routes::known_issue),
    },
    Route {
        method: "GET",
        path: "/api/v1/kb",
        permission: Permission::Public,
        audit: None,
        summary: "Knowledge base: published public articles matching q (ranked; Chinese and English), or all; one version each in lang (paged, X-Total-Count)",
        params: query_params::<kb_routes::KbQuery>,
        body: no_body,
        ok: 200,
        response: || arr(kb_article(false)),
        handler: || get(kb_routes::search),
    },
    Route {
        method: "POST",
        path: "/api/v1/kb",
        permission: Permission::WorkTickets,
        audit: Some("kb.save"),
        summary: "Save a knowledge-base article's language version (category, faq and public apply to every version)",
        params: none,
        body: body_schema::<kb_routes::ArticleBody>,
        ok: 200,
        response: || kb_article(true),
        handler: || post(kb_routes::save),
    },
    Route {
        method: "GET",
        path: "/api/v1/kb/{id}",
        permission: Permission::Public,
        audit: None,
        summary: "A published public knowledge-base article: its language versions with their Markdown",
        params: || json!([path_param("id")]),
        body: no_body,
        ok: 200,
        response: || {
            obj(
                &["id", "versions"],
                json!({"id": text(), "versions": arr(kb_article(true))}),
            )
        },
        handler: || get(kb_routes::get_one),
    },
    Route {
        method: "DELETE",
        path: "/api/v1/kb/{id}",
        permission: Permission::WorkTickets,
        audit: Some("kb.delete"),
        summary: "Delete a knowledge-base article (every language) and its counters",
        params: || json!([path_param("id")]),
        body: no_body,
        ok: 204,
        response: any,
        handler: || delete(kb_routes::delete),
    },
    Route {
        method: "GET",
        path: "/api/v1/attachments/{id}",
        permission: Permission::ReadTickets,
        audit: None,
        summary: "A ticket attachment (a download; pictures checked by their bytes are shown inline)",
        params: || json!([path_param("id")]),
        body: no_body,
        ok: 200,
        response: || json!({"type": "string", "format": "binary"}),
        handler: || get(ticket_routes::attachment),
    },
    Route {
        method: "GET",
        path: "/api/v1/requesters/{id}/export",
        permission: Permission::ManagePrivacy,
        audit: Some("requester.export"),
        summary: "Subject-access export: a requester's personal data, tickets and messages (JSON)",
        params: || json!([path_param("id")]),
        body: no_body,
        ok: 200,
        response: || {
            obj(
                &["requester", "tickets"],
                json!({"requester": text(), "created": text(), "erased": nstr(), "personal_data": any(), "tickets": arr(any())}),
            )
        },
        handler: || get(ticket_routes::export_requester),
    },
    Route {
        method: "POST",
        path: "/api/v1/requesters/{id}/erase",
        permission: Permission::ManagePrivacy,
        audit: Some("requester.erase"),
        summary: "Erase a requester (crypto-shredding: their key is destroyed, tickets stay anonymous)",
        params: || json!([path_param("id")]),
        body: no_body,
        ok: 200,
        response: || obj(&["erased"], json!({"erased": text()})),
        handler: || post(ticket_routes::erase_requester),
    },
];

/// The schema of a knowledge-base article version (with its Markdown body or not).
fn kb_article(body: bool) -> Value {
    let mut required = vec![
        "id",
        "lang",
        "title",
        "category",
        "faq",
        "public",
        "published",
        "updated",
        "url",
    ];
    let b = json!({"type": "boolean"});
    let mut props = json!({
        "id": text(), "lang": text(), "title": text(), "category": text(), "faq": b,
        "public": b, "published": b, "updated": text(), "url": text(),
        "score": {"type": "number"},
    });
    if body {
        required.push("body");
        props["body"] = text();
    }
    obj(&required, props)
}

/// The schema of a ticket's summary, plus `extra` fields.
fn ticket(extra: &[&str]) -> Value {
    let mut required = vec![
        "id", "subject", "state", "priority", "category", "chain", "node", "team", "assignee",
        "tags", "channel", "incident", "alert", "created", "updated", "sla",
    ];
    required.extend_from_slice(extra);
    let mut props = json!({
        "id": {"type": "integer"}, "subject": text(), "state": text(), "priority": text(),
        "category": text(), "chain": text(), "node": text(), "team": text(), "assignee": text(),
        "tags": arr(text()), "channel": text(), "incident": text(), "alert": text(),
        "merged_into": {"type": "integer", "nullable": true}, "created": text(), "updated": text(),
        "next_due": nstr(), "sla": text(),
    });
    for e in extra {
        props[*e] = match *e {
            "url" => text(),
            "requester" | "policy" => any(),
            _ => arr(any()),
        };
    }
    obj(&required, props)
}

/// The schema of a recorded load-test run's summary, plus `extra` fields.
fn bench_run(extra: &[&str]) -> Value {
    let mut required = vec![
        "id",
        "recorded",
        "recorded_by",
        "started",
        "workload",
        "target",
        "chain",
        "client",
        "rounds",
        "submitted",
        "confirmed",
        "failed",
        "throughput",
        "p95",
        "bottleneck",
    ];
    required.extend_from_slice(extra);
    let int = || json!({"type": "integer"});
    let num = || json!({"type": "number"});
    obj(
        &required,
        json!({"id": text(), "recorded": text(), "recorded_by": text(), "started": text(),
            "workload": text(), "target": text(), "chain": text(), "client": text(),
            "rounds": int(), "submitted": int(), "confirmed": int(), "failed": int(),
            "throughput": num(), "p95": num(), "bottleneck": text(), "url": text()}),
    )
}
