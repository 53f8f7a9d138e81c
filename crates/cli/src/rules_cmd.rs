//! `chainops rules list` and `chainops rules export`.

use crate::cli::{ExportFormat, GlobalOpts, JsonOpt, RulesExportOpts};
use crate::config_load;
use anyhow::Context;
use chainops_alert::export::prometheus_rules;
use chainops_alert::rules::effective_rules;
use chainops_core::duration::format_duration;

/// Prints the effective rules.
pub fn list(g: &GlobalOpts, o: &JsonOpt) -> anyhow::Result<()> {
    let config = config_load::load(g)?;
    let rules = effective_rules(&config.alerting);
    if o.json {
        let rows: Vec<_> = rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name, "severity": r.severity, "expr": r.expr.to_string(),
                    "for": format_duration(r.for_), "keep_firing_for": format_duration(r.keep_firing_for),
                    "inhibited_by": r.inhibited_by, "summary": r.summary,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!("{:<18} {:<9} {:<6} CONDITION", "NAME", "SEVERITY", "FOR");
    for r in &rules {
        println!(
            "{:<18} {:<9} {:<6} {}",
            r.name,
            r.severity.as_str(),
            format_duration(r.for_),
            r.expr
        );
    }
    Ok(())
}

/// Writes the rules in another system's format.
pub fn export(g: &GlobalOpts, o: &RulesExportOpts) -> anyhow::Result<()> {
    let config = config_load::load(g)?;
    let mut rules = effective_rules(&config.alerting);
    chainops_alert::rules::link_runbooks(&mut rules, &config.server.external_base(None));
    let text = match (o.format, o.json) {
        (ExportFormat::Prometheus, false) => prometheus_rules(&rules),
        (ExportFormat::Prometheus, true) => {
            let (doc, notes) = chainops_alert::export::prometheus_rules_json(&rules);
            for n in notes {
                eprintln!("note: {n}");
            }
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
    };
    match &o.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
