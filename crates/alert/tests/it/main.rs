//! The alert engine against a real SQLite store and a scripted fleet: lifecycle timing,
//! inhibition, restart resumption and gone nodes.

use chainops_alert::AlertEngine;
use chainops_alert::rules::effective_rules;
use chainops_core::facts::{FactSource, NodeFacts};
use chainops_core::node::NodeKind;
use chainops_store::Store;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

struct Scripted(Mutex<Vec<NodeFacts>>);

impl FactSource for Scripted {
    fn facts(&self, _now_ms: i64) -> Vec<NodeFacts> {
        self.0.lock().expect("lock").clone()
    }
}

fn node(name: &str, up: f64, head_age: f64) -> NodeFacts {
    let values: BTreeMap<&'static str, f64> = [
        ("up", up),
        ("head_age_seconds", head_age),
        ("stall_after_seconds", 15.0),
        ("lag_blocks", 3.0),
        ("blocks_behind", 0.0),
    ]
    .into_iter()
    .collect();
    NodeFacts {
        node: name.into(),
        chain: "devnet".into(),
        kind: NodeKind::new("evm"),
        polled: true,
        values,
    }
}

async fn setup(dir: &tempfile::TempDir) -> (Store, Arc<Scripted>, AlertEngine) {
    let store = Store::open(&format!("sqlite://{}/a.db", dir.path().display()))
        .await
        .expect("store");
    let source = Arc::new(Scripted(Mutex::new(vec![node("n1", 1.0, 2.0)])));
    let rules = effective_rules(&chainops_alert::config::from_toml("").expect("config"));
    let engine = AlertEngine::new(rules, vec![], store.clone(), source.clone())
        .await
        .expect("engine");
    (store, source, engine)
}

fn states(alerts: &[chainops_store::alerts::AlertRow]) -> Vec<(String, String)> {
    alerts
        .iter()
        .map(|a| (a.rule.clone(), a.state.as_str().to_string()))
        .collect()
}

const T0: i64 = 1_800_000_000_000;

#[tokio::test]
async fn node_down_goes_pending_fires_after_for_and_inhibits_head_stalled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, source, mut engine) = setup(&dir).await;
    engine.evaluate(T0).await.expect("eval");
    assert!(store.active_alerts().await.expect("active").is_empty());

    *source.0.lock().expect("lock") = vec![node("n1", 0.0, 100.0)];
    let r = engine.evaluate(T0 + 1_000).await.expect("eval");
    assert_eq!((r.pending, r.fired), (1, 0));
    assert_eq!(
        states(&store.active_alerts().await.expect("active")),
        vec![("NodeDown".into(), "pending".into())]
    );
    let r = engine.evaluate(T0 + 16_000).await.expect("eval");
    assert_eq!(
        r.fired, 1,
        "NodeDown fires after its 15 s `for`; HeadStalled stays inhibited"
    );
    assert_eq!(
        states(&store.active_alerts().await.expect("active")),
        vec![("NodeDown".into(), "firing".into())]
    );

    // Restart: a new engine resumes the firing alert and does not fire it again.
    let rules = effective_rules(&chainops_alert::config::from_toml("").expect("config"));
    let mut engine = AlertEngine::new(rules, vec![], store.clone(), source.clone())
        .await
        .expect("engine");
    let r = engine.evaluate(T0 + 17_000).await.expect("eval");
    assert_eq!(r.fired, 0);

    // Back up with a fresh head: resolves.
    *source.0.lock().expect("lock") = vec![node("n1", 1.0, 1.0)];
    let r = engine.evaluate(T0 + 18_000).await.expect("eval");
    assert_eq!(r.resolved, 1);
    assert!(store.active_alerts().await.expect("active").is_empty());
    let incidents = store.list_incidents(T0).await.expect("incidents");
    assert_eq!(
        (incidents.len(), incidents[0].state.as_str()),
        (1, "resolved")
    );
}

#[tokio::test]
async fn alerts_of_a_node_that_left_the_config_resolve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, source, mut engine) = setup(&dir).await;
    *source.0.lock().expect("lock") = vec![node("n1", 1.0, 100.0)];
    let r = engine.evaluate(T0).await.expect("eval");
    assert_eq!(r.fired, 1, "HeadStalled has no `for`");
    source.0.lock().expect("lock").clear();
    let r = engine.evaluate(T0 + 1_000).await.expect("eval");
    assert_eq!(r.resolved, 1);
    assert!(store.active_alerts().await.expect("active").is_empty());
}

#[tokio::test]
async fn quiet_hours_hold_non_critical_notifications_until_the_window_ends() {
    use chainops_alert::notify::Notifier;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&format!("sqlite://{}/a.db", dir.path().display()))
        .await
        .expect("store");
    let toml = r#"
[[rules]]
name = "SlowHead"
severity = "warning"
expr = "head_age_seconds > 10"
[[notifiers]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:9/hook"
quiet_hours = "07:00-09:00"
"#;
    let config = chainops_alert::config::from_toml(toml).expect("config");
    let notifier = Arc::new(Notifier::load(config.notifiers[0].clone()).expect("notifier"));
    let source = Arc::new(Scripted(Mutex::new(vec![node("n1", 1.0, 100.0)])));
    let mut engine = AlertEngine::new(
        effective_rules(&config),
        vec![notifier],
        store.clone(),
        source,
    )
    .await
    .expect("engine");
    // T0 is 08:00 UTC: inside the window.
    assert_eq!(T0 % 86_400_000, 8 * 3_600_000);
    let r = engine.evaluate(T0).await.expect("eval");
    assert_eq!(r.fired, 2, "HeadStalled (critical) and SlowHead (warning)");
    let due_now: Vec<String> = store
        .due_notifications(T0, 10)
        .await
        .expect("due")
        .into_iter()
        .map(|n| n.fingerprint)
        .collect();
    assert_eq!(due_now, vec!["HeadStalled/n1"], "critical goes out at once");
    let due_later = store
        .due_notifications(T0 + 3_600_000, 10)
        .await
        .expect("due");
    assert_eq!(due_later.len(), 2, "the warning is released at 09:00");
}

fn on_chain(mut f: NodeFacts, chain: &str) -> NodeFacts {
    f.chain = chain.into();
    f
}

async fn engine_with(
    dir: &tempfile::TempDir,
    toml: &str,
    facts: Vec<NodeFacts>,
) -> (Store, Arc<Scripted>, AlertEngine) {
    use chainops_alert::notify::Notifier;
    let store = Store::open(&format!("sqlite://{}/a.db", dir.path().display()))
        .await
        .expect("store");
    let config = chainops_alert::config::from_toml(toml).expect("config");
    let notifiers = config
        .notifiers
        .iter()
        .map(|n| Arc::new(Notifier::load(n.clone()).expect("notifier")))
        .collect();
    let source = Arc::new(Scripted(Mutex::new(facts)));
    let engine = AlertEngine::new(
        effective_rules(&config),
        notifiers,
        store.clone(),
        source.clone(),
    )
    .await
    .expect("engine");
    (store, source, engine)
}

#[tokio::test]
async fn all_endpoints_down_fires_once_per_chain_and_inhibits_node_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let two = |up: f64| {
        vec![
            node("a1", up, 1.0),
            node("a2", up, 1.0),
            on_chain(node("b1", 0.0, 1.0), "solo"),
        ]
    };
    let (store, source, mut engine) = engine_with(&dir, "", two(0.0)).await;
    engine.evaluate(T0).await.expect("eval");
    engine.evaluate(T0 + 16_000).await.expect("eval");
    let mut firing = states(&store.active_alerts().await.expect("active"));
    firing.sort();
    assert_eq!(
        firing,
        vec![
            ("AllEndpointsDown".into(), "firing".into()),
            ("NodeDown".into(), "firing".into()),
        ],
        "devnet: one chain alert instead of two NodeDown; the single-node chain gets NodeDown"
    );
    let chain_alert = store
        .active_alerts()
        .await
        .expect("active")
        .into_iter()
        .find(|a| a.rule == "AllEndpointsDown")
        .expect("chain alert");
    assert_eq!(
        (chain_alert.node.as_str(), chain_alert.chain.as_str()),
        ("*", "devnet")
    );
    *source.0.lock().expect("lock") = two(1.0);
    let r = engine.evaluate(T0 + 17_000).await.expect("eval");
    assert_eq!(r.resolved, 1, "devnet is back; solo is still down");
    assert_eq!(
        states(&store.active_alerts().await.expect("active")),
        vec![("NodeDown".into(), "firing".into())]
    );
}

#[tokio::test]
async fn reminders_repeat_while_firing_and_stop_once_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = "[[notifiers]]\nname = \"ding\"\nkind = \"dingtalk\"\nurl = \"http://127.0.0.1:9/robot\"\nrepeat_interval = \"10m\"\n";
    let (store, _source, mut engine) = engine_with(&dir, toml, vec![node("n1", 1.0, 100.0)]).await;
    let count = |rows: Vec<chainops_store::alerts::OutboxRow>| {
        rows.iter().filter(|n| n.event == "reminder").count()
    };
    engine.evaluate(T0).await.expect("eval");
    engine.evaluate(T0 + 5 * 60_000).await.expect("eval");
    let all = || store.list_notifications(None, 100);
    assert_eq!(count(all().await.expect("list")), 0, "not yet due");
    engine.evaluate(T0 + 10 * 60_000 + 1).await.expect("eval");
    engine.evaluate(T0 + 15 * 60_000).await.expect("eval");
    assert_eq!(count(all().await.expect("list")), 1, "one per interval");
    let incident = &store.list_incidents(T0).await.expect("incidents")[0];
    store
        .acknowledge_incident(
            &incident.id,
            "ops",
            "on it",
            T0 + 3_600_000,
            T0 + 16 * 60_000,
        )
        .await
        .expect("ack");
    engine.evaluate(T0 + 21 * 60_000).await.expect("eval");
    assert_eq!(
        count(all().await.expect("list")),
        1,
        "acknowledged: no reminder"
    );
    engine.evaluate(T0 + 61 * 60_000).await.expect("eval");
    assert_eq!(
        count(all().await.expect("list")),
        2,
        "acknowledgement expired"
    );
}

#[tokio::test]
async fn a_window_warming_up_after_a_restart_keeps_the_alert_firing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = "[alerting]\ndefault_rules = false\n[[rules]]\nname = \"NoProgress\"\nexpr = \"rate(height, 1m) < 0.5\"\n";
    let at = |h: f64| {
        let mut f = node("n1", 1.0, 1.0);
        f.values.insert("height", h);
        vec![f]
    };
    let (store, _, mut engine) = engine_with(&dir, toml, at(100.0)).await;
    for s in 0..=70 {
        engine.evaluate(T0 + s * 1000).await.expect("eval");
    }
    assert_eq!(
        states(&store.active_alerts().await.expect("active")),
        vec![("NoProgress".into(), "firing".into())]
    );
    // Restart: the new engine's window is empty; the alert must neither resolve nor re-fire.
    let (_, source, mut engine) = engine_with(&dir, toml, at(100.0)).await;
    let mut fired = 0;
    for s in 71..=100 {
        let r = engine.evaluate(T0 + s * 1000).await.expect("eval");
        assert_eq!(r.resolved, 0, "second {s}");
        fired += r.fired;
    }
    assert_eq!(fired, 0);
    // The height moves again: once the window has filled, the alert resolves.
    let mut resolved = 0;
    for s in 101..=200 {
        *source.0.lock().expect("lock") = at(100.0 + (s - 100) as f64);
        let r = engine.evaluate(T0 + s * 1000).await.expect("eval");
        resolved += r.resolved;
    }
    assert_eq!(resolved, 1);
}

/// A webhook channel, so transitions enqueue notifications the tests can read.
const HOOK: &str =
    "[[notifiers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n";

fn with(mut f: NodeFacts, pairs: &[(&'static str, f64)]) -> NodeFacts {
    f.values.extend(pairs.iter().copied());
    f
}

/// Every notification enqueued so far as (event, rule, summary), oldest first.
async fn sent(store: &Store) -> Vec<(String, String, String)> {
    let mut rows = store.list_notifications(None, 1000).await.expect("list");
    rows.sort_by_key(|n| (n.created_ms, n.id.clone()));
    rows.iter()
        .map(|n| {
            let v: serde_json::Value = serde_json::from_str(&n.payload).expect("payload");
            let rule = v["alert"]["rule"]
                .as_str()
                .or(v["rule"].as_str())
                .unwrap_or_default()
                .to_string();
            let summary = v["alert"]["summary"]
                .as_str()
                .or(v["summary"].as_str())
                .unwrap_or_default()
                .to_string();
            (n.event.clone(), rule, summary)
        })
        .collect()
}

/// Issue 15 item 1: the failed calls of an outage used to fire RpcErrors the moment
/// NodeDown resolved (a second page on every recovery). NodeDown now inhibits it until its
/// 5-minute window has refilled; errors after that still fire.
#[tokio::test]
async fn rpc_errors_do_not_fire_on_the_outage_s_own_failed_calls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at =
        |up: f64, errors: f64| vec![with(node("n1", up, 1.0), &[("rpc_errors_total", errors)])];
    let (store, source, mut engine) = engine_with(&dir, HOOK, at(1.0, 0.0)).await;
    let mut errors = 0.0;
    // One minute down: every poll fails.
    for s in 0..=60 {
        errors += 1.0;
        *source.0.lock().expect("lock") = at(0.0, errors);
        engine.evaluate(T0 + s * 1000).await.expect("eval");
    }
    // Back: the window still holds 60 failed calls.
    for s in 61..=200 {
        *source.0.lock().expect("lock") = at(1.0, errors);
        engine.evaluate(T0 + s * 1000).await.expect("eval");
    }
    let rules: Vec<String> = sent(&store)
        .await
        .into_iter()
        .map(|n| format!("{} {}", n.0, n.1))
        .collect();
    assert_eq!(
        rules,
        vec![
            "firing NodeDown".to_string(),
            "resolved NodeDown".to_string()
        ],
        "no RpcErrors page for the outage's own calls"
    );
    // Once the window has refilled, new failures fire as before.
    for s in 400..=430 {
        errors += 1.0;
        *source.0.lock().expect("lock") = at(1.0, errors);
        engine.evaluate(T0 + s * 1000).await.expect("eval");
    }
    assert!(
        sent(&store)
            .await
            .iter()
            .any(|n| n.0 == "firing" && n.1 == "RpcErrors"),
        "{:?}",
        sent(&store).await
    );
}

/// Issue 15 item 2: when HeadStale escalates to HeadStalled no "resolved HeadStale" goes out;
/// HeadStale stays firing, marked inhibited by HeadStalled, the incident timeline says so,
/// and both resolve when blocks come back.
#[tokio::test]
async fn escalation_inhibits_the_lower_alert_instead_of_resolving_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |age: f64| vec![with(node("n1", 1.0, age), &[("block_time_seconds", 2.0)])];
    let (store, source, mut engine) = engine_with(&dir, HOOK, at(1.0)).await;
    engine.evaluate(T0).await.expect("eval");
    *source.0.lock().expect("lock") = at(8.0);
    engine.evaluate(T0 + 8_000).await.expect("eval");
    *source.0.lock().expect("lock") = at(20.0);
    engine.evaluate(T0 + 20_000).await.expect("eval");
    let events: Vec<String> = sent(&store)
        .await
        .into_iter()
        .map(|n| format!("{} {}", n.0, n.1))
        .collect();
    assert_eq!(events, vec!["firing HeadStale", "firing HeadStalled"]);
    let stale = store
        .active_alerts()
        .await
        .expect("active")
        .into_iter()
        .find(|a| a.rule == "HeadStale")
        .expect("HeadStale still active");
    assert_eq!(stale.state.as_str(), "firing");
    assert_eq!(stale.inhibited_by.as_deref(), Some("HeadStalled"));
    let incident = &store.list_incidents(T0).await.expect("incidents")[0];
    assert!(
        incident.events.iter().any(|e| e.kind == "inhibited"
            && e.detail["rule"] == "HeadStale"
            && e.detail["by"] == "HeadStalled"),
        "{:?}",
        incident.events
    );
    *source.0.lock().expect("lock") = at(0.5);
    engine.evaluate(T0 + 21_000).await.expect("eval");
    let mut events: Vec<String> = sent(&store)
        .await
        .into_iter()
        .map(|n| format!("{} {}", n.0, n.1))
        .collect();
    events[2..].sort();
    assert_eq!(
        events,
        vec![
            "firing HeadStale",
            "firing HeadStalled",
            "resolved HeadStale",
            "resolved HeadStalled"
        ],
        "both resolve together once blocks come back"
    );
    assert!(store.active_alerts().await.expect("active").is_empty());
}

/// Issue 15 item 3: reminders and resolved notifications carry the current value, not the
/// one the alert fired with ("has only 1 peers" while it has 0; a resolved HeadStalled
/// still saying "no new block for 20.8 s").
#[tokio::test]
async fn reminders_and_resolutions_carry_the_current_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = format!("{HOOK}repeat_interval = \"10m\"\n");
    let at = |age: f64, peers: f64| vec![with(node("n1", 1.0, age), &[("peers", peers)])];
    let (store, source, mut engine) = engine_with(&dir, &toml, at(1.0, 1.0)).await;
    for s in (0..=301).step_by(15) {
        engine.evaluate(T0 + s * 1000).await.expect("eval");
    }
    *source.0.lock().expect("lock") = at(1.0, 0.0);
    for s in (316..=1000).step_by(15) {
        engine.evaluate(T0 + s * 1000).await.expect("eval");
    }
    let notes = sent(&store).await;
    let reminder = notes
        .iter()
        .find(|n| n.0 == "reminder" && n.1 == "LowPeers")
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert!(reminder.2.contains("has only 0 peers"), "{reminder:?}");
    // HeadStalled fires at 20.8 s and resolves with the head's age now.
    *source.0.lock().expect("lock") = at(20.8, 5.0);
    engine.evaluate(T0 + 1_010_000).await.expect("eval");
    *source.0.lock().expect("lock") = at(0.4, 5.0);
    engine.evaluate(T0 + 1_011_000).await.expect("eval");
    let notes = sent(&store).await;
    let fired = notes
        .iter()
        .find(|n| n.0 == "firing" && n.1 == "HeadStalled")
        .expect("fired");
    assert!(fired.2.contains("20.8"), "{fired:?}");
    let resolved = notes
        .iter()
        .find(|n| n.0 == "resolved" && n.1 == "HeadStalled")
        .expect("resolved");
    assert!(
        resolved.2.contains("0.4") && !resolved.2.contains("20.8"),
        "{resolved:?}"
    );
}
