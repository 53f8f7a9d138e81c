//! The OpenAPI 3.0 document served at `/api/openapi.json`, built from [`ROUTES`] so every
//! route is described: its permission becomes the security requirement and the 401/403
//! answers; each route adds its summary, parameters, body and success schema from [`DOCS`].
//! schemathesis checks the live server against it in the test suite.

use crate::access::ROUTES;
use chainops_auth::Permission;
use serde_json::{Map, Value, json};

/// `(method, path, summary, parameters, request body schema, success status, success schema)`.
type Doc = (
    &'static str,
    &'static str,
    &'static str,
    fn() -> Value,
    fn() -> Option<Value>,
    u16,
    fn() -> Value,
);

fn none() -> Value {
    json!([])
}
fn no_body() -> Option<Value> {
    None
}
fn any() -> Value {
    json!({})
}
fn text() -> Value {
    json!({"type": "string"})
}
fn nstr() -> Value {
    json!({"type": "string", "nullable": true})
}
fn arr(items: Value) -> Value {
    json!({"type": "array", "items": items})
}
fn obj(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}
fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}
fn path_param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}
fn query(name: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema})
}

/// Documentation of every route (the permission comes from [`ROUTES`]).
pub const DOCS: &[Doc] = &[
    (
        "GET",
        "/livez",
        "Process is alive",
        none,
        no_body,
        200,
        || obj(&["status"], json!({"status": text()})),
    ),
    (
        "GET",
        "/readyz",
        "Store reachable and every node polled once (503 otherwise)",
        none,
        no_body,
        200,
        || {
            obj(
                &["status", "store", "nodes_polled"],
                json!({"status": text(), "store": {"type": "boolean"}, "nodes_polled": {"type": "boolean"}}),
            )
        },
    ),
    (
        "GET",
        "/metrics",
        "Prometheus exposition (text 0.0.4); public unless [server] metrics_public = false",
        none,
        no_body,
        200,
        text,
    ),
    (
        "GET",
        "/api/openapi.json",
        "This document",
        none,
        no_body,
        200,
        any,
    ),
    (
        "POST",
        "/api/v1/auth/login",
        "Log in: sets the HttpOnly session cookie and returns the CSRF token",
        none,
        || {
            Some(obj(
                &["name", "password"],
                json!({"name": text(), "password": text()}),
            ))
        },
        200,
        || {
            obj(
                &["name", "role", "csrf", "expires"],
                json!({"name": text(), "role": text(), "csrf": text(), "expires": text()}),
            )
        },
    ),
    (
        "POST",
        "/api/v1/auth/setup",
        "Create the first admin with the one-time token printed at first start",
        none,
        || {
            Some(obj(
                &["token", "name", "password"],
                json!({"token": text(), "name": text(), "password": text()}),
            ))
        },
        201,
        || obj(&["name", "role"], json!({"name": text(), "role": text()})),
    ),
    (
        "POST",
        "/api/v1/auth/logout",
        "End the session",
        none,
        no_body,
        204,
        any,
    ),
    (
        "GET",
        "/api/v1/auth/me",
        "Who am I",
        none,
        no_body,
        200,
        || {
            obj(
                &["name", "role", "via"],
                json!({"name": text(), "role": text(), "via": {"type": "object"}}),
            )
        },
    ),
    (
        "GET",
        "/api/v1/nodes",
        "Every monitored node with status",
        none,
        no_body,
        200,
        || arr(r("Node")),
    ),
    (
        "GET",
        "/api/v1/nodes/{name}",
        "One node with its recent events",
        || json!([path_param("name")]),
        no_body,
        200,
        || r("Node"),
    ),
    (
        "GET",
        "/api/v1/series",
        "Metric history of one node",
        || {
            json!([
                query("node", text()),
                query("metric", text()),
                query("from", text()),
                query("to", text()),
                query(
                    "step",
                    json!({"type": "string", "enum": ["auto", "raw", "1m", "1h"]})
                )
            ])
        },
        no_body,
        200,
        || {
            obj(
                &["node", "metric", "from", "to", "resolution", "points"],
                json!({"node": text(), "metric": text(), "from": text(), "to": text(), "resolution": text(),
            "points": arr(obj(&["t", "v"], json!({"t": {"type": "integer"}, "v": {"type": "number"}})))}),
            )
        },
    ),
    (
        "GET",
        "/api/v1/alerts",
        "Active alerts and those resolved in the last 24 h",
        || {
            json!([query(
                "state",
                json!({"type": "string", "enum": ["pending", "firing", "resolved"]})
            )])
        },
        no_body,
        200,
        || arr(r("Alert")),
    ),
    (
        "GET",
        "/api/v1/notifications",
        "The notification outbox, dead letters included",
        || {
            json!([
                query(
                    "state",
                    json!({"type": "string", "enum": ["pending", "sent", "dead"]})
                ),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 1000})
                )
            ])
        },
        no_body,
        200,
        || arr(r("Notification")),
    ),
    (
        "GET",
        "/api/v1/incidents",
        "Open incidents and those resolved in the last 24 h, with timelines",
        || {
            json!([query(
                "state",
                json!({"type": "string", "enum": ["open", "resolved"]})
            )])
        },
        no_body,
        200,
        || arr(r("Incident")),
    ),
    (
        "POST",
        "/api/v1/incidents/{id}/ack",
        "Acknowledge an incident (who: from the credentials)",
        || json!([path_param("id")]),
        || {
            Some(obj(
                &["comment"],
                json!({"comment": text(), "expires": text()}),
            ))
        },
        200,
        || r("Incident"),
    ),
    (
        "GET",
        "/api/v1/silences",
        "Silences in force",
        none,
        no_body,
        200,
        || arr(r("Silence")),
    ),
    (
        "POST",
        "/api/v1/silences",
        "Create a silence (label equality matchers, an expiry)",
        none,
        || {
            Some(obj(
                &["matchers", "comment"],
                json!({"matchers": {"type": "object", "additionalProperties": {"type": "string"}}, "duration": text(), "starts_at": text(), "ends_at": text(), "comment": text()}),
            ))
        },
        201,
        || r("Silence"),
    ),
    (
        "DELETE",
        "/api/v1/silences/{id}",
        "Expire a silence",
        || json!([path_param("id")]),
        no_body,
        204,
        any,
    ),
    (
        "GET",
        "/api/v1/notifiers",
        "Notification channels (URLs redacted)",
        none,
        no_body,
        200,
        || {
            arr(obj(
                &["name", "kind", "url"],
                json!({"name": text(), "kind": text(), "url": text(), "min_severity": text(),
            "rate_limit_per_minute": {"type": "integer", "nullable": true}, "repeat_interval_seconds": {"type": "integer"}, "quiet_hours": {"type": "boolean"}}),
            ))
        },
    ),
    (
        "POST",
        "/api/v1/notifiers/{name}/test",
        "Send a test notification now; delivered is false (with the error) if the receiver refuses",
        || json!([path_param("name")]),
        no_body,
        200,
        || {
            obj(
                &["channel", "delivered"],
                json!({"channel": text(), "delivered": {"type": "boolean"}, "error": text()}),
            )
        },
    ),
    (
        "POST",
        "/api/v1/integrations/alertmanager",
        "Route Alertmanager webhook alerts through chainops channels",
        || json!([query("channel", text())]),
        || {
            Some(obj(
                &["alerts"],
                json!({"alerts": arr(json!({"type": "object"}))}),
            ))
        },
        202,
        || {
            obj(
                &["alerts", "enqueued", "duplicates"],
                json!({"alerts": {"type": "integer"}, "enqueued": {"type": "integer"}, "duplicates": {"type": "integer"}}),
            )
        },
    ),
    (
        "GET",
        "/api/v1/backups/runs",
        "Scheduled backup and restore-drill runs, newest first",
        || {
            json!([
                query("job", text()),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 1000})
                )
            ])
        },
        no_body,
        200,
        || {
            obj(
                &["runs"],
                json!({"runs": arr(obj(&["job", "node", "kind", "started", "finished", "ok"], json!({"job": text(), "node": text(), "kind": text(), "started": text(), "finished": text(), "seconds": {"type": "number"}, "ok": {"type": "boolean"}, "error": nstr(), "snapshot": nstr(), "bytes_read": {"type": "integer"}, "bytes_added": {"type": "integer"}, "files": {"type": "integer"}, "detail": {"type": "object"}})))}),
            )
        },
    ),
    (
        "GET",
        "/api/v1/logs",
        "Search node logs, newest first (q: level>=warn node=x \"phrase\" field=value)",
        || {
            json!([
                query("q", text()),
                query("from", text()),
                query("to", text()),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 1000})
                ),
                query("before", text())
            ])
        },
        no_body,
        200,
        || {
            obj(
                &["entries", "next"],
                json!({"entries": arr(obj(&["id", "time", "node", "level", "message"], json!({"id": {"type": "integer"}, "time": text(), "node": text(), "chain": text(), "level": text(), "message": text(), "fields": {"type": "object"}, "source": text()}))), "next": nstr()}),
            )
        },
    ),
    (
        "POST",
        "/api/v1/logs/push",
        "Push log lines (JSON lines by default) for a configured node",
        || json!([query("node", text()), query("format", text())]),
        || Some(json!({"type": "string"})),
        202,
        || obj(&["stored"], json!({"stored": {"type": "integer"}})),
    ),
    ("GET", "/api/v1/users", "Users", none, no_body, 200, || {
        arr(obj(
            &["name", "role"],
            json!({"name": text(), "role": text(), "created": text(), "updated": text()}),
        ))
    }),
    (
        "POST",
        "/api/v1/users",
        "Create a user (password policy applies)",
        none,
        || {
            Some(obj(
                &["name", "role", "password"],
                json!({"name": text(), "role": {"type": "string", "enum": ["admin", "operator", "auditor", "support", "viewer"]}, "password": text()}),
            ))
        },
        201,
        || obj(&["name", "role"], json!({"name": text(), "role": text()})),
    ),
    (
        "DELETE",
        "/api/v1/users/{name}",
        "Delete a user and their sessions",
        || json!([path_param("name")]),
        no_body,
        204,
        any,
    ),
    (
        "GET",
        "/api/v1/tokens",
        "API tokens (never their secrets)",
        none,
        no_body,
        200,
        || arr(r("Token")),
    ),
    (
        "POST",
        "/api/v1/tokens",
        "Create an API token; the secret is in this answer only",
        none,
        || {
            Some(obj(
                &["name", "role"],
                json!({"name": text(), "role": {"type": "string", "enum": ["admin", "operator", "auditor", "support", "viewer"]}, "expires": text()}),
            ))
        },
        201,
        || r("Token"),
    ),
    (
        "DELETE",
        "/api/v1/tokens/{id}",
        "Revoke a token",
        || json!([path_param("id")]),
        no_body,
        204,
        any,
    ),
    (
        "GET",
        "/api/v1/audit-log",
        "Audit records, oldest first",
        || {
            json!([
                query("since", text()),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 10000})
                )
            ])
        },
        no_body,
        200,
        || {
            arr(obj(
                &[
                    "seq", "at", "actor", "role", "source", "action", "target", "result", "hash",
                ],
                json!({"seq": {"type": "integer"}, "at": text(), "actor": text(), "role": text(),
            "source": text(), "action": text(), "target": text(), "result": text(), "hash": text()}),
            ))
        },
    ),
    (
        "GET",
        "/api/v1/audit-log/verify",
        "Verify the hash chain and the signed checkpoints",
        none,
        no_body,
        200,
        || {
            obj(
                &["ok", "report"],
                json!({"ok": {"type": "boolean"}, "report": {"type": "object"}}),
            )
        },
    ),
];

fn schemas() -> Value {
    json!({
        "Error": obj(&["code", "message"], json!({"code": {"type": "string", "enum": ["invalid_input", "not_found", "conflict", "unauthorized", "forbidden", "unavailable", "upstream", "internal"]}, "message": text()})),
        "Node": obj(&["name", "chain", "kind", "up", "status"], json!({"name": text(), "chain": text(), "kind": text(), "up": {"type": "boolean"},
            "status": {"type": "string", "enum": ["ok", "stalled", "lagging", "syncing", "down"]}, "height": {"type": "integer", "nullable": true},
            "head_hash": nstr(), "head_time": nstr(), "gas_price_wei": nstr(), "base_fee_wei": nstr(), "last_error": nstr()})),
        "Alert": obj(&["fingerprint", "rule", "node", "chain", "severity", "state", "summary"], json!({"fingerprint": text(), "rule": text(), "node": text(), "chain": text(),
            "severity": {"type": "string", "enum": ["critical", "warning", "info"]}, "state": {"type": "string", "enum": ["pending", "firing", "resolved", "inactive"]},
            "summary": text(), "value": {"type": "number"}, "fired_at": nstr(), "resolved_at": nstr()})),
        "Notification": obj(&["id", "channel", "event", "state", "attempts"], json!({"id": text(), "fingerprint": text(), "channel": text(), "event": text(),
            "state": {"type": "string", "enum": ["pending", "sent", "dead"]}, "attempts": {"type": "integer"}, "last_error": nstr(), "done": nstr()})),
        "Incident": obj(&["id", "chain", "node", "state", "timeline"], json!({"id": text(), "chain": text(), "node": text(), "state": {"type": "string", "enum": ["open", "resolved"]},
            "acknowledged": {"type": "boolean"}, "timeline": arr(obj(&["at", "kind"], json!({"at": text(), "kind": text(), "detail": {"type": "object"}})))})),
        "Silence": obj(&["id", "matchers", "comment"], json!({"id": text(), "matchers": {"type": "object", "additionalProperties": {"type": "string"}}, "comment": text(), "created_by": text()})),
        "Token": obj(&["id", "name", "role"], json!({"id": text(), "name": text(), "role": text(), "created_by": text(), "created": text(), "expires": nstr(),
            "revoked": nstr(), "last_used": nstr(), "token": {"type": "string", "description": "the secret; only in the answer to POST"}})),
    })
}

fn error(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": r("Error")}}})
}

/// Builds the document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for (method, path, perm, _) in ROUTES {
        let Some(&(_, _, summary, params, body, ok, schema)) =
            DOCS.iter().find(|d| d.0 == *method && d.1 == *path)
        else {
            continue;
        };
        let mut responses = Map::new();
        let content_type = if *path == "/metrics" {
            "text/plain"
        } else {
            "application/json"
        };
        let mut success = json!({"description": "success"});
        if ok != 204 {
            success["content"] = json!({content_type: {"schema": schema()}});
        }
        responses.insert(ok.to_string(), success);
        let params = params();
        let has_input = body().is_some() || params.as_array().is_some_and(|p| !p.is_empty());
        if has_input || *method != "GET" {
            responses.insert(
                "400".into(),
                error("invalid input: the message names the field and the fix"),
            );
        }
        if path.contains('{') || *path == "/api/v1/series" || *path == "/api/v1/logs/push" {
            responses.insert("404".into(), error("no such resource"));
        }
        if *perm != Permission::Public
            || *path == "/api/v1/auth/login"
            || *path == "/api/v1/auth/setup"
        {
            responses.insert(
                "401".into(),
                error("missing, invalid, expired or revoked credentials (or a failed login)"),
            );
        }
        if *perm != Permission::Public {
            responses.insert(
                "403".into(),
                error("the role lacks the permission, or a cookie write without the CSRF header"),
            );
        }
        if *path == "/api/v1/users" && *method == "POST" {
            responses.insert("409".into(), error("the name is taken"));
        }
        responses.insert(
            "503".into(),
            error("the store is unavailable; retry shortly"),
        );
        let mut op = json!({
            "summary": summary,
            "operationId": format!("{}{}", method.to_lowercase(), path.replace(['/', '{', '}', '.', '-'], "_")),
            "parameters": params,
            "responses": responses,
            "x-permission": perm.as_str(),
        });
        if let Some(b) = body() {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": b}}});
        }
        if *perm == Permission::Public {
            op["security"] = json!([]);
        }
        paths
            .entry(path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|o| o.insert(method.to_lowercase(), op));
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "chainops API", "version": "1", "description": "Errors are {code, message}. Authenticate with Authorization: Bearer <token> (chainops token create) or the session cookie from POST /api/v1/auth/login plus the X-CSRF-Token header on writes."},
        "paths": paths,
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": crate::access::SESSION_COOKIE},
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_auth_answers() {
        let doc = document();
        for (method, path, perm, _) in ROUTES {
            let op = &doc["paths"][path][method.to_lowercase()];
            assert!(op.is_object(), "{method} {path} is not documented");
            if *perm != Permission::Public {
                assert!(
                    op["responses"]["401"].is_object() && op["responses"]["403"].is_object(),
                    "{method} {path}"
                );
            }
        }
        assert_eq!(DOCS.len(), ROUTES.len(), "one doc entry per route");
    }
}
