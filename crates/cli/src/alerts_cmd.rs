//! `chainops alerts list`, `chainops incidents list|ack`, `chainops silences list|add|expire`:
//! the alert API from the command line.

use crate::api_client::{ApiClient, enc};
use crate::cli::{AlertsCommand, GlobalOpts, IncidentsCommand, SilencesCommand};
use serde_json::{Value, json};

fn client(g: &GlobalOpts, server: &crate::cli::ServerOpt) -> anyhow::Result<ApiClient> {
    ApiClient::for_cli(g, server)
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn print_json_or(json_out: bool, v: &Value, table: impl FnOnce(&Value)) {
    if json_out {
        println!("{v}");
    } else {
        table(v);
    }
}

/// Runs an `alerts` subcommand.
pub async fn alerts(g: &GlobalOpts, c: &AlertsCommand) -> anyhow::Result<()> {
    let AlertsCommand::List {
        state,
        json,
        server,
    } = c;
    let path = match state {
        Some(st) => format!("/api/v1/alerts?state={st}"),
        None => "/api/v1/alerts".into(),
    };
    let v = Value::Array(client(g, server)?.get_all(&path, LIST_MAX).await?);
    print_json_or(*json, &v, |v| {
        let list = v.as_array().cloned().unwrap_or_default();
        let width = |key: &str, min: usize| {
            list.iter()
                .map(|a| s(&a[key]).chars().count())
                .max()
                .unwrap_or(0)
                .clamp(min, 64)
        };
        let (rw, nw) = (width("rule", 4), width("node", 4));
        println!(
            "{:<rw$} {:<nw$} {:<9} {:<9} {:<40} SUMMARY",
            "RULE", "NODE", "SEVERITY", "STATE", "HANDLED"
        );
        for a in &list {
            println!(
                "{:<rw$} {:<nw$} {:<9} {:<9} {:<40} {}",
                s(&a["rule"]),
                s(&a["node"]),
                s(&a["severity"]),
                s(&a["state"]),
                handled(a),
                s(&a["summary"])
            );
        }
    });
    Ok(())
}

/// `acked by X until T`, `silenced until T`, both, or empty.
fn handled(a: &Value) -> String {
    let mut parts = Vec::new();
    if a["acknowledged"].is_object() {
        parts.push(format!(
            "acked by {} until {}",
            s(&a["acknowledged"]["by"]),
            s(&a["acknowledged"]["until"])
        ));
    }
    if a["silenced"].is_object() {
        parts.push(format!("silenced until {}", s(&a["silenced"]["until"])));
    }
    if a["inhibited"].is_object() {
        parts.push(format!("inhibited by {}", s(&a["inhibited"]["by"])));
    }
    parts.join("; ")
}

/// Most items a list command reads from the daemon, page after page.
const LIST_MAX: usize = 100_000;

/// Runs an `incidents` subcommand.
pub async fn incidents(g: &GlobalOpts, c: &IncidentsCommand) -> anyhow::Result<()> {
    match c {
        IncidentsCommand::List { json, server } => {
            let v = Value::Array(
                client(g, server)?
                    .get_all("/api/v1/incidents", LIST_MAX)
                    .await?,
            );
            print_json_or(*json, &v, |v| {
                println!(
                    "{:<28} {:<20} {:<9} {:<6} OPENED",
                    "ID", "NODE", "STATE", "ACKED"
                );
                for i in v.as_array().into_iter().flatten() {
                    println!(
                        "{:<28} {:<20} {:<9} {:<6} {}",
                        s(&i["id"]),
                        s(&i["node"]),
                        s(&i["state"]),
                        s(&i["acknowledged"]),
                        s(&i["opened_at"])
                    );
                }
            });
        }
        IncidentsCommand::Ack {
            id,
            comment,
            expires,
            json,
            server,
        } => {
            let body = json!({"comment": comment, "expires": expires});
            let v = client(g, server)?
                .post(&format!("/api/v1/incidents/{}/ack", enc(id)), &body)
                .await?;
            print_json_or(*json, &v, |v| {
                println!(
                    "acknowledged {} until {}",
                    s(&v["id"]),
                    s(&v["ack"]["until"])
                )
            });
        }
    }
    Ok(())
}

/// Runs a `silences` subcommand.
pub async fn silences(g: &GlobalOpts, c: &SilencesCommand) -> anyhow::Result<()> {
    match c {
        SilencesCommand::List { json, server } => {
            let v = Value::Array(
                client(g, server)?
                    .get_all("/api/v1/silences", LIST_MAX)
                    .await?,
            );
            print_json_or(*json, &v, |v| {
                println!("{:<18} {:<26} {:<40} COMMENT", "ID", "ENDS", "MATCHERS");
                for x in v.as_array().into_iter().flatten() {
                    println!(
                        "{:<18} {:<26} {:<40} {}",
                        s(&x["id"]),
                        s(&x["ends_at"]),
                        x["matchers"],
                        s(&x["comment"])
                    );
                }
            });
        }
        SilencesCommand::Add {
            matchers,
            duration,
            comment,
            allow_unknown_labels,
            json,
            server,
        } => {
            let mut m = serde_json::Map::new();
            for kv in matchers {
                let (k, val) = kv.split_once('=').ok_or_else(|| {
                    crate::exit::KindError(
                        chainops_core::ErrorKind::InvalidInput,
                        format!("--match \"{kv}\" is not NAME=VALUE (e.g. node=geth-1)"),
                    )
                })?;
                m.insert(k.trim().to_string(), Value::String(val.trim().to_string()));
            }
            let mut body = json!({"matchers": m, "duration": duration, "comment": comment});
            if *allow_unknown_labels {
                body["allow_unknown_labels"] = Value::Bool(true);
            }
            let v = client(g, server)?.post("/api/v1/silences", &body).await?;
            for w in v["warnings"].as_array().into_iter().flatten() {
                eprintln!("warning: {}", s(w));
            }
            print_json_or(*json, &v, |v| {
                println!("silence {} until {}", s(&v["id"]), s(&v["ends_at"]))
            });
        }
        SilencesCommand::Expire { id, json, server } => {
            client(g, server)?
                .delete(&format!("/api/v1/silences/{}", enc(id)))
                .await?;
            if *json {
                println!("{}", json!({"id": id, "expired": true}));
            } else {
                println!("silence {id} expired");
            }
        }
    }
    Ok(())
}
