//! The alert engine against a real SQLite store and a scripted fleet: lifecycle timing,
//! inhibition, restart resumption and gone nodes.

use chainops_alert::AlertEngine;
use chainops_alert::rules::effective_rules;
use chainops_core::config::Config;
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
        kind: NodeKind::Evm,
        polled: true,
        values,
    }
}

async fn setup(dir: &tempfile::TempDir) -> (Store, Arc<Scripted>, AlertEngine) {
    let store = Store::open(&format!("sqlite://{}/a.db", dir.path().display()))
        .await
        .expect("store");
    let source = Arc::new(Scripted(Mutex::new(vec![node("n1", 1.0, 2.0)])));
    let rules = effective_rules(
        &Config::from_toml_str("", &|_| None)
            .expect("config")
            .alerting,
    );
    let engine = AlertEngine::new(rules, vec![], store.clone(), source.clone())
        .await
        .expect("engine");
    (store, source, engine)
}

fn states(alerts: &[chainops_store::alerts::AlertRow]) -> Vec<(String, String)> {
    alerts
        .iter()
        .map(|a| (a.rule.clone(), a.state.clone()))
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
    let rules = effective_rules(
        &Config::from_toml_str("", &|_| None)
            .expect("config")
            .alerting,
    );
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
    let config = Config::from_toml_str(toml, &|_| None).expect("config");
    let notifier =
        Arc::new(Notifier::load(config.alerting.notifiers[0].clone()).expect("notifier"));
    let source = Arc::new(Scripted(Mutex::new(vec![node("n1", 1.0, 100.0)])));
    let mut engine = AlertEngine::new(
        effective_rules(&config.alerting),
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
