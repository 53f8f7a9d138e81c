//! The OpenAPI 3.0 document served at `/api/openapi.json`, built from the route table
//! ([`ROUTES`]) so every route is described: its permission becomes the security requirement
//! and the 401/403 answers; its summary, parameters, body and success schema come with it.
//! schemathesis checks the live server against it in the test suite.

use crate::api::ROUTES;
use crate::schema::{arr, nstr, obj, r, text};
use chainops_auth::Permission;
use serde_json::{Map, Value, json};

/// The `Chain` schema (`GET /api/v1/chains`).
fn chain_schema() -> Value {
    let count = || json!({"type": "integer", "minimum": 0});
    let nint = || json!({"type": "integer", "minimum": 0, "nullable": true});
    obj(
        &[
            "chain",
            "families",
            "nodes",
            "statuses",
            "quorum",
            "endpoints_up",
            "lag",
            "open_alerts",
            "backups",
        ],
        json!({
            "chain": text(), "families": {"type": "array", "items": text()}, "nodes": count(),
            "statuses": obj(&["ok", "syncing", "lagging", "stalled", "down"], json!({"ok": count(), "syncing": count(), "lagging": count(), "stalled": count(), "down": count()})),
            "best_height": nint(),
            "quorum": {"type": "boolean", "nullable": true, "description": "a strict majority of its nodes is ok; null until every node was polled"},
            "endpoints_up": count(),
            "lag": obj(&["buckets", "unknown"], json!({"max": nint(), "median": nint(), "unknown": count(),
                "buckets": {"type": "array", "items": obj(&["blocks", "nodes"], json!({"blocks": {"type": "string", "enum": ["0", "1-2", "3-10", "11-100", ">100"]}, "nodes": count()}))}})),
            "open_alerts": obj(&["firing", "pending", "critical", "warning"], json!({"firing": count(), "pending": count(), "critical": count(), "warning": count()})),
            "backups": obj(&["state", "jobs", "failing", "overdue", "drill_failed", "never_run"], json!({
                "state": {"type": "string", "enum": ["none", "ok", "never", "failing", "overdue"]},
                "jobs": count(), "failing": count(), "overdue": count(), "drill_failed": count(), "never_run": count(), "last_success": nstr()})),
        }),
    )
}

fn schemas() -> Value {
    json!({
        "Error": obj(&["code", "message"], json!({"code": {"type": "string", "enum": ["invalid_input", "not_found", "conflict", "unauthorized", "forbidden", "unavailable", "upstream", "internal", "method_not_allowed", "timeout", "payload_too_large", "request_too_large", "unsupported_media_type", "rate_limited"]}, "message": text()})),
        "Node": obj(&["name", "chain", "kind", "up", "status"], json!({"name": text(), "chain": text(), "kind": text(), "up": {"type": "boolean"},
            "status": {"type": "string", "enum": ["ok", "stalled", "lagging", "syncing", "down"]}, "height": {"type": "integer", "nullable": true},
            "head_hash": nstr(), "head_time": nstr(), "gas_price_wei": nstr(), "base_fee_wei": nstr(), "last_error": nstr()})),
        "Chain": chain_schema(),
        "Alert": obj(&["fingerprint", "rule", "node", "chain", "severity", "state", "summary"], json!({"fingerprint": text(), "rule": text(), "node": text(), "chain": text(),
            "severity": {"type": "string", "enum": ["critical", "warning", "info"]}, "state": {"type": "string", "enum": ["pending", "firing", "resolved", "inactive"]},
            "summary": text(), "value": {"type": "number"}, "fired_at": nstr(), "resolved_at": nstr(),
            "acknowledged": {"type": "object", "nullable": true, "description": "the acknowledgement of the node's open incident: by, until, comment",
                "properties": {"by": text(), "until": text(), "comment": text()}},
            "silenced": {"type": "object", "nullable": true, "description": "the silence in force over the alert: id, until, by, comment",
                "properties": {"id": text(), "until": text(), "by": text(), "comment": text()}},
            "inhibited": {"type": "object", "nullable": true, "description": "the rule inhibiting this firing alert (it stays firing without notifications until that rule no longer holds and its own windows have refilled)",
                "properties": {"by": text()}}})),
        "Notification": obj(&["id", "channel", "event", "state", "attempts"], json!({"id": text(), "fingerprint": text(), "channel": text(), "event": text(),
            "state": {"type": "string", "enum": ["pending", "sent", "dead"]}, "attempts": {"type": "integer"}, "last_error": nstr(), "done": nstr()})),
        "Incident": obj(&["id", "chain", "node", "state", "timeline"], json!({"id": text(), "chain": text(), "node": text(), "state": {"type": "string", "enum": ["open", "resolved"]},
            "acknowledged": {"type": "boolean"}, "timeline": arr(obj(&["at", "kind"], json!({"at": text(), "kind": text(), "detail": {"type": "object"}})))})),
        "Silence": obj(&["id", "matchers", "comment"], json!({"id": text(), "matchers": {"type": "object", "additionalProperties": {"type": "string"}}, "comment": text(), "created_by": text(),
            "warnings": {"type": "array", "items": text(), "description": "only when created with allow_unknown_labels and a label no alert has"}})),
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
    for route in ROUTES {
        let (method, path, perm) = (&route.method, &route.path, &route.permission);
        let (summary, params, body, ok, schema) = (
            route.summary,
            route.params,
            route.body,
            route.ok,
            route.response,
        );
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
        if *method != "GET" {
            // A name taken, a ticket already merged, NPS without a mail channel, a reload
            // without a config file: the message says which.
            responses.insert(
                "409".into(),
                error("the request conflicts with the current state; the message says how"),
            );
        }
        responses.insert(
            "405".into(),
            error("this method is not allowed on the path (`Allow` lists the ones that are)"),
        );
        if body().is_some() {
            responses.insert(
                "413".into(),
                error("the body is over the route's limit (2 MB; 8 MB for log push)"),
            );
            responses.insert(
                "408".into(),
                error("the body did not arrive within [server] body_timeout"),
            );
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
                "session": {"type": "apiKey", "in": "cookie", "name": crate::session::SESSION_COOKIE},
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
        for route in ROUTES {
            let (method, path, perm) = (route.method, route.path, &route.permission);
            let op = &doc["paths"][path][method.to_lowercase()];
            assert!(op.is_object(), "{method} {path} is not documented");
            if *perm != Permission::Public {
                assert!(
                    op["responses"]["401"].is_object() && op["responses"]["403"].is_object(),
                    "{method} {path}"
                );
            }
        }
    }

    #[test]
    fn parameters_and_bodies_come_from_the_handlers_types() {
        let doc = document();
        let series = &doc["paths"]["/api/v1/series"]["get"]["parameters"];
        let names: Vec<&str> = series
            .as_array()
            .expect("params")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["chain", "from", "metric", "node", "step", "to"],
            "{series}"
        );
        let metric = series
            .as_array()
            .and_then(|a| a.iter().find(|p| p["name"] == "metric"));
        assert_eq!(metric.map(|p| p["required"].clone()), Some(json!(true)));
        let step = series
            .as_array()
            .and_then(|a| a.iter().find(|p| p["name"] == "step"));
        assert_eq!(
            step.map(|p| p["schema"]["enum"].clone()),
            Some(json!(["auto", "raw", "1m", "1h"]))
        );
        let silence = &doc["paths"]["/api/v1/silences"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert_eq!(silence["additionalProperties"], json!(false), "{silence}");
        assert_eq!(
            silence["required"],
            json!(["matchers", "comment"]),
            "{silence}"
        );
        assert!(silence["properties"]["ends_at"].is_object());
    }
}
