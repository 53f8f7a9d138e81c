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
