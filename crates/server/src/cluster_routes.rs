//! `GET /api/v1/cluster`: the daemon cluster as this member sees it — members (alive or
//! not, with their node counts), the leader lease and its epoch, what this member polls.

use crate::AppState;
use crate::schema::{arr, nstr, obj, text};
use axum::Json;
use axum::extract::State;
use chainops_monitor::cluster::ClusterStatus;
use serde_json::{Value, json};

/// The handler; a standalone daemon answers `enabled: false`.
pub(crate) async fn cluster(State(s): State<AppState>) -> Json<ClusterStatus> {
    Json(s.cluster.as_ref().map(|c| c.status()).unwrap_or_default())
}

/// The response schema.
pub(crate) fn schema() -> Value {
    let int = json!({"type": "integer"});
    let member = obj(
        &[
            "member",
            "addr",
            "version",
            "started_ms",
            "seen_ms",
            "alive",
            "nodes",
        ],
        json!({
            "member": text(), "addr": text(), "version": text(),
            "started_ms": int, "seen_ms": int, "alive": {"type": "boolean"}, "nodes": int,
        }),
    );
    let mut leader = obj(
        &["member", "epoch", "since_ms", "expires_ms"],
        json!({"member": text(), "epoch": int, "since_ms": int, "expires_ms": int}),
    );
    leader["nullable"] = json!(true);
    obj(
        &[
            "enabled",
            "member",
            "is_leader",
            "leader",
            "members",
            "owned_nodes",
            "unassigned_nodes",
        ],
        json!({
            "enabled": {"type": "boolean"},
            "member": text(),
            "is_leader": {"type": "boolean"},
            "leader": leader,
            "members": arr(member),
            "owned_nodes": int,
            "unassigned_nodes": int,
            "last_round_ms": {"type": "integer", "nullable": true},
            "last_error": nstr(),
        }),
    )
}
