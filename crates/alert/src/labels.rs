//! Alert labels as silences and notifications see them.

use chainops_store::alerts::AlertRow;

/// The labels silences match on: `alertname`, `node`, `chain`, `severity` and the rule's labels.
pub fn alert_labels(row: &AlertRow) -> std::collections::BTreeMap<String, String> {
    let mut labels: std::collections::BTreeMap<String, String> = row
        .labels
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    labels.insert("alertname".into(), row.rule.clone());
    labels.insert("node".into(), row.node.clone());
    labels.insert("chain".into(), row.chain.clone());
    labels.insert("severity".into(), row.severity.clone());
    labels
}
