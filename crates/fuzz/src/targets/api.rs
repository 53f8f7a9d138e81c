//! API requests as clients send them: method, path with query, and body, through the real
//! router (route table, guard, handlers) over a real SQLite store, authenticated as admin so
//! every handler is reached. A 500 answer is a crash: it means a handler failed on input
//! (a panic is answered 500 by the panic layer, so it is caught here too).

use crate::Target;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use chainops_server::{AppState, Security};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

pub const REQUESTS: Target = Target {
    name: "api-request",
    about: "API requests (method, path, query, JSON body) through the router as admin",
    seeds,
    run,
};

fn seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = chainops_server::api::ROUTES
        .iter()
        .map(|r| {
            let path = r.path.replace("{name}", "n1").replace("{id}", "x1");
            let body = if r.method == "GET" { "" } else { "{}" };
            format!("{} {path}\n{body}", r.method).into_bytes()
        })
        .collect();
    for s in [
        "GET /api/v1/series?node=n1&metric=height&from=2026-11-25T00:00:00Z&to=now&step=1m",
        "GET /api/v1/logs?q=error%20node:n1&from=0&limit=10",
        "GET /api/v1/alerts?state=firing",
        "GET /api/v1/notifications?state=dead&limit=5",
        "POST /api/v1/silences\n{\"matchers\":[{\"name\":\"node\",\"value\":\"n1\"}],\"duration\":\"1h\",\"comment\":\"中文\"}",
        "POST /api/v1/users\n{\"name\":\"bob\",\"role\":\"viewer\",\"password\":\"Tr0ub4dor&3x!!\"}",
        "POST /api/v1/tokens\n{\"name\":\"ci\",\"role\":\"viewer\",\"expires\":\"7d\"}",
        "POST /api/v1/logs/push\n{\"node\":\"n1\",\"lines\":[\"2026-11-25T23:36:38+08:中文 ERROR boom\"]}",
        "POST /api/v1/auth/login\n{\"name\":\"admin\",\"password\":\"x\"}",
        "POST /api/v1/integrations/alertmanager\n{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"X\"}}]}",
    ] {
        out.push(s.as_bytes().to_vec());
    }
    out
}

struct Rig {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    token: String,
    _dir: tempfile::TempDir,
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("api rig: {what}: {e}")
}

fn rig() -> &'static Rig {
    static R: OnceLock<Rig> = OnceLock::new();
    R.get_or_init(|| {
        let rt = super::runtime();
        let dir = tempfile::tempdir().unwrap_or_else(|e| fail("temp dir", e));
        let (router, token) = rt.block_on(async {
            let url = format!("sqlite://{}/fuzz.db", dir.path().display());
            let store = chainops_store::Store::open(&url)
                .await
                .unwrap_or_else(|e| fail("store", e));
            let auth = Arc::new(chainops_auth::Auth::new(store.clone()));
            let (_, token) = auth
                .create_token("fuzz", chainops_auth::Role::Admin, None, "fuzz", 0)
                .await
                .unwrap_or_else(|e| fail("token", e));
            let audit = chainops_auth::audit_trail::AuditTrail::open(store.clone(), dir.path())
                .unwrap_or_else(|e| fail("audit trail", e));
            let retention = chainops_store::series::Retention {
                raw: std::time::Duration::from_secs(3600),
                minute: std::time::Duration::from_secs(86_400),
                hour: std::time::Duration::from_secs(86_400 * 30),
            };
            let live = chainops_server::Live {
                fleet: Arc::new(chainops_monitor::fleet::Fleet::new(&[], Default::default())),
                notifiers: Arc::new(Vec::new()),
                logs: None,
                extra_metrics: Vec::new(),
                settings: Arc::new(String::new()),
                backups: None,
                desk: Some(Arc::new(chainops_desk::service::Desk::new(
                    Arc::default(),
                    store.clone(),
                    chainops_desk::privacy::Vault::new([9; 32]),
                ))),
                label_names: Arc::new(Vec::new()),
            };
            let state = AppState {
                live: Arc::new(std::sync::RwLock::new(Arc::new(live))),
                history: Arc::new(chainops_monitor::history::History::new(
                    store.clone(),
                    retention,
                )),
                store,
                http: chainops_chain::registry::http_client().unwrap_or_else(|e| fail("http", e)),
                auth,
                audit: Arc::new(audit),
                security: Arc::new(Security::default()),
                reloader: None,
                cluster: None,
            };
            (chainops_server::router(state), token)
        });
        Rig {
            rt,
            router,
            token,
            _dir: dir,
        }
    })
}

fn run(data: &[u8]) {
    if let Some((status, what)) = answer(data) {
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{what} answered 500"
        );
    }
}

/// The status of the request in `data`, if it is one.
fn answer(data: &[u8]) -> Option<(StatusCode, String)> {
    let text = super::text(data);
    let (head, body) = text.split_once('\n').unwrap_or((&text, ""));
    let (method, target) = head.split_once(' ')?;
    let r = rig();
    let Ok(req) = Request::builder()
        .method(method)
        .uri(target)
        .header("authorization", format!("Bearer {}", r.token))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
    else {
        return None;
    };
    let mut req = req;
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let status = r.rt.block_on(async {
        match r.router.clone().oneshot(req).await {
            Ok(resp) => resp.status(),
            Err(e) => match e {},
        }
    });
    Some((status, format!("{method} {target}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_reach_the_handlers_as_admin() {
        // Not 401/403: the rig's token opens every route, so inputs reach the handlers.
        let status = |s: &str| answer(s.as_bytes()).map(|a| a.0);
        assert_eq!(status("GET /api/v1/nodes\n"), Some(StatusCode::OK));
        assert_eq!(status("GET /api/v1/users\n"), Some(StatusCode::OK));
        assert_eq!(
            status("GET /api/v1/alerts?state=nope\n"),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(status("nospace"), None);
    }
}
