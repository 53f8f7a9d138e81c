//! Alertmanager webhook payloads as `POST /api/v1/alertmanager/webhook` receives them.

use crate::Target;
use chainops_alert::notify::Notifier;
use std::sync::{Arc, OnceLock};

pub const ALERTMANAGER: Target = Target {
    name: "alert-intake",
    about: "Alertmanager webhook payloads (version 4) into outbox rows",
    seeds,
    run,
};

fn seeds() -> Vec<Vec<u8>> {
    vec![
        r#"{"version":"4","groupKey":"{}:{alertname=\"X\"}","status":"firing","receiver":"chainops","groupLabels":{"alertname":"X"},"commonLabels":{"alertname":"X","severity":"critical"},"commonAnnotations":{"summary":"s"},"externalURL":"http://am","alerts":[{"status":"firing","labels":{"alertname":"X","instance":"n1","severity":"warning"},"annotations":{"summary":"disk 中文 full","description":"d"},"startsAt":"2026-11-25T23:36:38.477Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://p","fingerprint":"abc123"}]}"#.as_bytes().to_vec(),
        br#"{"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"Y"},"annotations":{},"startsAt":"2026-11-25T23:36:38Z","endsAt":"2026-11-25T23:46:38Z","fingerprint":"f"}]}"#.to_vec(),
    ]
}

fn run(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = chainops_alert::intake::from_alertmanager(&v, notifiers(), None, 1_764_000_000_000);
}

/// Two channels so every alert is turned into rows.
fn notifiers() -> &'static [Arc<Notifier>] {
    static N: OnceLock<Vec<Arc<Notifier>>> = OnceLock::new();
    N.get_or_init(|| {
        let text = "[[notifiers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\n\
                    [[notifiers]]\nname = \"slack\"\nkind = \"slack\"\nurl = \"http://127.0.0.1:9/y\"\n";
        chainops_alert::config::from_toml(text)
            .map(|c| c.notifiers)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| Notifier::load(n).ok().map(Arc::new))
            .collect()
    })
}
