//! A self-contained HTML report: summary tables and inline SVG charts (no scripts, no
//! network), so it opens anywhere and can be attached to a ticket.

use crate::analysis::title;
use crate::report::{Report, RoundReport};
use std::fmt::Write;

/// A named, coloured line: (name, colour, points).
type Series<'a> = (&'a str, &'a str, &'a Vec<(f64, f64)>);

const W: f64 = 720.0;
const H: f64 = 220.0;
const PAD: f64 = 44.0;

/// Styles of the standalone page (the console has its own for [`render_body`]).
const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:980px}table{border-collapse:collapse;margin:8px 0 16px}\
td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\
.verdict{padding:10px 14px;border-left:4px solid #d9822b;background:#fff7ec;margin:8px 0}.ok{border-color:#2b8a3e;background:#ecfbef}\
svg{background:#fafafa;border:1px solid #ddd;margin:6px 0}h2{margin-top:28px}";

/// Renders the report as a standalone page.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>chainops bench: {wl} on {url}</title>\
<style>{STYLE}</style></head><body><h1>Load test: {wl}</h1>",
        wl = esc(&r.workload),
        url = esc(&r.target.url),
    );
    out.push_str(&render_body(r));
    out.push_str("</body></html>\n");
    out
}

/// The report's content (tables and inline SVG charts, no `<style>`, no `style` attributes,
/// no scripts), for embedding in a page that brings its own styles, such as the console's.
/// Every text that comes from the report is escaped.
pub fn render_body(r: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<p>{url} · {kind} chain {chain} · {client} · started {start}</p>",
        url = esc(&r.target.url),
        kind = esc(&r.target.kind),
        chain = esc(&r.target.chain),
        client = esc(&r.target.client),
        start = esc(&r.started_at),
    );
    out.push_str("<table><tr><th>round</th><th>submitted</th><th>confirmed</th><th>failed</th><th>success</th><th>send rate</th><th>throughput</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>");
    for round in &r.rounds {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1} %</td><td>{:.1}/s</td><td>{:.1}/s</td><td>{:.3} s</td><td>{:.3} s</td><td>{:.3} s</td><td>{:.3} s</td></tr>",
            esc(&round.label),
            round.submitted,
            round.confirmed,
            round.failed,
            round.success_rate * 100.0,
            round.send_rate,
            round.throughput,
            round.latency.p50,
            round.latency.p95,
            round.latency.p99,
            round.latency.max
        );
    }
    out.push_str("</table>");
    render_plan(&mut out, r);
    render_resources(&mut out, r);
    for round in &r.rounds {
        render_round(&mut out, round);
    }
    out
}

/// The plan: what was asked for, so a reader can judge the numbers.
fn render_plan(out: &mut String, r: &Report) {
    let s = &r.settings;
    let gwei = |v: Option<f64>| v.map_or("—".to_string(), |g| format!("{g} gwei"));
    let _ = write!(
        out,
        "<h2>Plan</h2><table><tr><th>workload</th><td>{}</td></tr><tr><th>senders</th><td>{}</td></tr>\
<tr><th>requests in flight</th><td>{}</td></tr><tr><th>batch size</th><td>{}</td></tr><tr><th>fee cap</th><td>{}</td></tr>\
<tr><th>tip</th><td>{}</td></tr><tr><th>confirmations</th><td>{}</td></tr></table>",
        esc(&r.workload),
        s.senders,
        s.concurrency,
        s.batch_size,
        gwei(s.max_fee_gwei),
        gwei(s.priority_fee_gwei),
        s.confirmations
    );
    out.push_str("<table><tr><th>round</th><th>rate control</th><th>planned</th></tr>");
    for round in &r.rounds {
        let planned = match (round.planned, round.planned_seconds) {
            (Some(n), _) => format!("{n} transactions"),
            (None, Some(s)) => format!("{} s", short(s)),
            _ => "—".into(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{planned}</td></tr>",
            esc(&round.label),
            esc(&rate_text(&round.rate_control))
        );
    }
    out.push_str("</table>");
}

/// `fixed-rate: tps 50` from the rate control's own fields.
fn rate_text(rate: &crate::config::RateControl) -> String {
    let v = serde_json::to_value(rate).unwrap_or_default();
    let kind = v["kind"].as_str().unwrap_or("?").to_string();
    let fields: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "kind")
        .map(|(k, v)| format!("{} {}", k.replace('_', " "), v))
        .collect();
    if fields.is_empty() {
        kind
    } else {
        format!("{kind}: {}", fields.join(", "))
    }
}

/// CPU and memory of the generator and the node, per round.
fn render_resources(out: &mut String, r: &Report) {
    out.push_str("<h2>Resources</h2><table><tr><th>round</th><th>generator CPU avg / max</th><th>generator RSS</th><th>node CPU avg / max</th><th>node RSS</th></tr>");
    for round in &r.rounds {
        let g = &round.generator;
        let node = round.node_process.as_ref().map_or_else(
            || ("not sampled (give node_pid)".to_string(), "—".to_string()),
            |n| {
                (
                    format!("{:.2} / {:.2} cores", n.cpu_avg, n.cpu_max),
                    mib(n.rss_max_bytes),
                )
            },
        );
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{:.2} / {:.2} cores</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&round.label),
            g.cpu_avg,
            g.cpu_max,
            mib(g.rss_max_bytes),
            node.0,
            node.1
        );
    }
    out.push_str("</table>");
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Why fewer transactions were submitted than planned, when they were.
pub fn gap_explanation(r: &RoundReport) -> Option<String> {
    let planned = r.planned?;
    if r.submitted >= planned {
        return None;
    }
    let gap = planned - r.submitted;
    let mut why = Vec::new();
    if r.rejected > 0 {
        why.push(format!(
            "{} rejected by the node when sent (see the errors below)",
            r.rejected.min(gap)
        ));
    }
    let rest = gap.saturating_sub(r.rejected);
    if rest > 0 {
        why.push(format!(
            "{rest} not sent before the round ended (the generator fell up to {} behind its schedule; {:.0} % of its request slots were busy)",
            r.behind_schedule_max,
            r.slots_busy_ratio * 100.0
        ));
    }
    Some(format!(
        "{} of {planned} planned transactions were submitted: {}.",
        r.submitted,
        why.join("; ")
    ))
}

fn render_round(out: &mut String, r: &RoundReport) {
    let ok = r.bottleneck.primary == "none";
    let _ = write!(
        out,
        "<h2>{}</h2><div class=\"verdict{}\"><b>{}</b><br>{}</div>",
        esc(&r.label),
        if ok { " ok" } else { "" },
        title(&r.bottleneck.primary),
        esc(&r.bottleneck.summary)
    );
    if r.bottleneck.findings.len() > 1 {
        out.push_str("<ul>");
        for f in &r.bottleneck.findings {
            let _ = write!(
                out,
                "<li><b>{}</b>: {}</li>",
                title(&f.kind),
                esc(&f.evidence)
            );
        }
        out.push_str("</ul>");
    }
    if let Some(gap) = gap_explanation(r) {
        let _ = write!(out, "<p class=\"verdict\">{}</p>", esc(&gap));
    }
    if let Some(best) = r.max_sustained_tps {
        let _ = write!(out, "<p>Highest sustained rate: <b>{best:.0} tx/s</b></p>");
    }
    if !r.steps.is_empty() {
        out.push_str("<table><tr><th>offered tx/s</th><th>submitted</th><th>confirmed</th><th>throughput</th><th>p95</th><th>sustained</th></tr>");
        for s in &r.steps {
            let _ = write!(
                out,
                "<tr><td>{:.0}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.3} s</td><td>{}</td></tr>",
                s.tps,
                s.submitted,
                s.confirmed,
                s.throughput,
                s.p95,
                if s.sustained { "yes" } else { "no" }
            );
        }
        out.push_str("</table>");
    }
    // One time axis for every chart of the round.
    let span = r
        .series
        .last()
        .map_or(0.0, |s| s.t)
        .max(r.blocks.last().map_or(0.0, |b| b.seen_s))
        .max(r.duration_s)
        .max(1.0);
    let line_chart = |title: &str, series: &[Series<'_>]| line_chart(title, series, span);
    let series = &r.series;
    let sent: Vec<(f64, f64)> = series
        .windows(2)
        .map(|w| {
            (
                w[1].t,
                (w[1].submitted - w[0].submitted) as f64 / (w[1].t - w[0].t).max(1e-3),
            )
        })
        .collect();
    let tps: Vec<(f64, f64)> = series.iter().map(|s| (s.t, s.tps)).collect();
    out.push_str(&line_chart(
        "Throughput over time (tx/s)",
        &[("sent", "#1f77b4", &sent), ("confirmed", "#2ca02c", &tps)],
    ));
    let lat: Vec<(f64, f64)> = series
        .iter()
        .filter_map(|s| s.latency_avg.map(|l| (s.t, l)))
        .collect();
    out.push_str(&line_chart(
        "Mean inclusion latency of each second (s)",
        &[("latency", "#d62728", &lat)],
    ));
    let outstanding: Vec<(f64, f64)> = series.iter().map(|s| (s.t, s.outstanding as f64)).collect();
    let pool: Vec<(f64, f64)> = series
        .iter()
        .filter_map(|s| s.pool.map(|p| (s.t, p as f64)))
        .collect();
    out.push_str(&line_chart(
        "Waiting transactions",
        &[
            ("sent, not included", "#9467bd", &outstanding),
            ("node pool", "#8c564b", &pool),
        ],
    ));
    let gen_cpu: Vec<(f64, f64)> = series.iter().map(|s| (s.t, s.generator_cpu)).collect();
    let node_cpu: Vec<(f64, f64)> = series
        .iter()
        .filter_map(|s| s.node_cpu.map(|c| (s.t, c)))
        .collect();
    out.push_str(&line_chart(
        "CPU (cores)",
        &[
            ("generator", "#17becf", &gen_cpu),
            ("node", "#ff7f0e", &node_cpu),
        ],
    ));
    let full: Vec<(f64, f64)> = r
        .blocks
        .iter()
        .filter_map(|b| b.fullness.map(|f| (b.seen_s, f * 100.0)))
        .collect();
    if !full.is_empty() {
        out.push_str(&line_chart(
            "Block fullness (% of gas limit)",
            &[("fullness", "#bcbd22", &full)],
        ));
    }
    let bars = widen_buckets(
        &r.distribution
            .iter()
            .map(|b| (b.le, b.count as f64))
            .collect::<Vec<_>>(),
        block_time(r),
    );
    out.push_str(&bar_chart("Inclusion latency distribution", &bars));
    let _ = write!(
        out,
        "<table><tr><th>latency</th><th>min</th><th>avg</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr>{}{}</table>",
        lat_row("submit → inclusion", &r.latency),
        lat_row("submit → confirmations", &r.confirmation_latency)
    );
    if !r.errors.is_empty() {
        out.push_str("<table><tr><th>error</th><th>count</th></tr>");
        for e in &r.errors {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(&e.message),
                e.count
            );
        }
        out.push_str("</table>");
    }
}

fn lat_row(name: &str, l: &crate::stats::LatencyStats) -> String {
    format!(
        "<tr><td>{name}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td></tr>",
        l.min, l.avg, l.p50, l.p90, l.p95, l.p99, l.max
    )
}

/// The median interval between the round's blocks (seconds), if it saw two.
fn block_time(r: &RoundReport) -> Option<f64> {
    let mut gaps: Vec<f64> = r
        .blocks
        .windows(2)
        .map(|w| w[1].seen_s - w[0].seen_s)
        .filter(|g| *g > 0.0)
        .collect();
    gaps.sort_by(f64::total_cmp);
    gaps.get(gaps.len() / 2).copied()
}

/// Merges latency buckets so none is narrower than `min_width` (the block time: inclusion
/// latency is only known to the block, finer bars are noise). `bars` are (upper bound, count).
fn widen_buckets(bars: &[(f64, f64)], min_width: Option<f64>) -> Vec<(f64, f64)> {
    let Some(w) = min_width.filter(|w| *w > 0.0) else {
        return bars.to_vec();
    };
    let mut out: Vec<(f64, f64)> = Vec::new();
    let (mut start, mut count) = (0.0, 0.0);
    for (i, &(le, c)) in bars.iter().enumerate() {
        count += c;
        if le - start >= w || i + 1 == bars.len() {
            out.push((le, count));
            start = le;
            count = 0.0;
        }
    }
    out
}

/// The largest y of `series` (0 when empty).
fn y_max(series: &[Series<'_>]) -> f64 {
    series
        .iter()
        .flat_map(|s| s.2.iter())
        .map(|p| p.1)
        .fold(0.0, f64::max)
}

/// A round tick step (1, 2 or 5 × 10^k) giving at most `n` steps up to `max`, and the
/// axis end (a multiple of the step at or above `max`).
fn nice_axis(max: f64, n: usize) -> (f64, f64) {
    let max = if max > 0.0 && max.is_finite() {
        max
    } else {
        1.0
    };
    let raw = max / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (step, (max / step).ceil() * step)
}

/// A line chart with axes, round ticks and a legend, on the time axis `0..span` seconds.
fn line_chart(title: &str, series: &[Series<'_>], span: f64) -> String {
    let (x0, x1) = (0.0, nice_axis(span, 6).1);
    let y1 = nice_axis(y_max(series), 4).1;
    let sx = |x: f64| PAD + (x - x0) / (x1 - x0) * (W - 2.0 * PAD);
    let sy = |y: f64| H - PAD + -(y / y1) * (H - 2.0 * PAD);
    let mut s = svg_frame(title, x0, x1, y1, "s");
    for (i, (name, color, pts)) in series.iter().enumerate() {
        let ly = 8.0 + 14.0 * i as f64;
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"{ly}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{tx}\" y=\"{ty}\" font-size=\"11\">{n}</text>",
            lx = W - 200.0,
            tx = W - 186.0,
            ty = ly + 9.0,
            n = esc(name)
        );
        if !pts.is_empty() {
            let path: Vec<String> = pts
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
                .collect();
            let _ = write!(
                s,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.8\" points=\"{}\"/>",
                path.join(" ")
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn bar_chart(title: &str, bars: &[(f64, f64)]) -> String {
    if bars.is_empty() {
        return String::new();
    }
    let x0 = 0.0;
    let x1 = nice_axis(bars.last().map_or(1.0, |b| b.0), 6).1;
    let y1 = nice_axis(bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0), 4).1;
    let mut s = svg_frame(title, x0, x1, y1, "s");
    // Each bar spans its bucket on the time axis: (previous bound, bound].
    let sx = |x: f64| PAD + (x - x0) / (x1 - x0).max(1e-9) * (W - 2.0 * PAD);
    let mut from = x0;
    for &(le, c) in bars {
        let h = c / y1 * (H - 2.0 * PAD);
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#1f77b4\"/>",
            sx(from),
            H - PAD - h,
            (sx(le) - sx(from) - 1.0).max(1.0)
        );
        from = le;
    }
    s.push_str("</svg>");
    s
}

fn svg_frame(title: &str, x0: f64, x1: f64, y1: f64, unit: &str) -> String {
    let mut s = format!(
        "<svg width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{t}\">\
<text x=\"{PAD}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{t}</text>\
<line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#888\"/><line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{b}\" stroke=\"#888\"/>",
        t = esc(title),
        b = H - PAD,
        r = W - PAD,
    );
    // Ticks at round values: the axes end on a multiple of their step.
    let (ystep, _) = nice_axis(y1, 4);
    let mut v = 0.0;
    while v <= y1 + ystep * 1e-9 {
        let y = H - PAD - v / y1 * (H - 2.0 * PAD);
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            PAD - 4.0,
            y + 3.0,
            short(v)
        );
        v += ystep;
    }
    let (xstep, _) = nice_axis(x1 - x0, 6);
    let mut v = x0;
    while v <= x1 + xstep * 1e-9 {
        let x = PAD + (v - x0) / (x1 - x0).max(1e-9) * (W - 2.0 * PAD);
        let _ = write!(
            s,
            "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{}{unit}</text>",
            H - PAD + 14.0,
            short(v)
        );
        v += xstep;
    }
    s
}

fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{}k", trim(v / 1000.0))
    } else {
        trim(v)
    }
}

/// A tick value without trailing zeros (`0.5`, `2`, `12.5`).
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_draws() {
        assert_eq!(esc("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
        let pts = vec![(0.0, 1.0), (1.0, 3.0)];
        let svg = line_chart("t", &[("x", "#000", &pts)], 1.0);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<polyline"));
        assert_eq!(bar_chart("d", &[]), "");
    }

    /// Issue 15 item 18: ticks at round values, one time axis, buckets no shorter than the
    /// block time, and the gap between planned and submitted explained.
    #[test]
    fn axes_are_round_buckets_follow_blocks_and_gaps_are_explained() {
        assert_eq!(nice_axis(9998.0, 4), (5000.0, 10000.0));
        assert_eq!(nice_axis(37.3, 6), (10.0, 40.0));
        assert_eq!(nice_axis(0.87, 4), (0.5, 1.0));
        assert_eq!(nice_axis(0.0, 4), (0.5, 1.0));
        let pts = vec![(0.0, 1.0), (7.3, 2.7)];
        let svg = line_chart("t", &[("x", "#000", &pts)], 37.3);
        for tick in [">0s<", ">10s<", ">20s<", ">40s<", ">1<", ">3<"] {
            assert!(svg.contains(tick), "{tick} in {svg}");
        }
        assert!(!svg.contains(".33"), "{svg}");
        // 0.25 s buckets merged to at least a 2 s block time.
        let bars: Vec<(f64, f64)> = (1..=16).map(|i| (i as f64 * 0.25, 1.0)).collect();
        assert_eq!(
            widen_buckets(&bars, Some(2.0)),
            vec![(2.0, 8.0), (4.0, 8.0)]
        );
        assert_eq!(widen_buckets(&bars, None), bars);
        let mut round: RoundReport = serde_json::from_value(serde_json::json!({
            "label": "r", "rate_control": {"kind": "fixed-rate", "tps": 50.0}, "offered_tps": 50.0,
            "behind_schedule_max": 3, "slots_busy_ratio": 0.4, "outstanding_at_send_end": 0,
            "submitted": 9998, "confirmed": 9998, "failed": 0, "rejected": 2, "reverted": 0,
            "unconfirmed": 0, "success_rate": 1.0, "send_rate": 50.0, "throughput": 50.0,
            "duration_s": 200.0, "first_submit_s": 0.0, "last_submit_s": 200.0, "last_confirm_s": 201.0,
            "latency": crate::stats::LatencyStats::default(), "confirmation_latency": crate::stats::LatencyStats::default(),
            "distribution": [], "series": [], "blocks": [], "errors": [], "node_process": null,
            "generator": {"cpu_avg": 0.1, "cpu_max": 0.2, "rss_max_bytes": 1}, "steps": [],
            "max_sustained_tps": null, "bottleneck": {"primary": "none", "summary": "", "findings": []},
            "planned": 10000
        }))
        .expect("round");
        let gap = gap_explanation(&round).expect("gap");
        assert!(
            gap.starts_with("9998 of 10000 planned") && gap.contains("2 rejected by the node"),
            "{gap}"
        );
        round.submitted = 10000;
        assert_eq!(gap_explanation(&round), None);
        assert_eq!(rate_text(&round.rate_control), "fixed-rate: tps 50.0");
    }

    /// A report uploaded to the console is outside input: every text it carries is escaped,
    /// the body has no style or script of its own, and `Report::parse` names what is wrong.
    #[test]
    fn uploaded_reports_render_escaped_and_bad_ones_are_named() {
        let evil = "<script>alert(1)</script>\"'&区块";
        let round = serde_json::json!({
            "label": evil, "rate_control": {"kind": "fixed-rate", "tps": 5.0}, "offered_tps": 5.0,
            "behind_schedule_max": 0, "slots_busy_ratio": 0.0, "outstanding_at_send_end": 0,
            "submitted": 10, "confirmed": 9, "failed": 1, "rejected": 0, "reverted": 1,
            "unconfirmed": 0, "success_rate": 0.9, "send_rate": 5.0, "throughput": 4.5,
            "duration_s": 2.0, "first_submit_s": 0.0, "last_submit_s": 2.0, "last_confirm_s": 2.0,
            "latency": crate::stats::LatencyStats::default(), "confirmation_latency": crate::stats::LatencyStats::default(),
            "distribution": [], "series": [{"t": 1.0, "submitted": 5, "confirmed": 4, "failed": 0, "tps": 4.0, "latency_avg": 1e308, "outstanding": 1, "pool": null, "generator_cpu": 0.1, "node_cpu": null, "node_rss": null}],
            "blocks": [], "errors": [{"message": evil, "count": 1}], "node_process": null,
            "generator": {"cpu_avg": 0.1, "cpu_max": 0.2, "rss_max_bytes": 1}, "steps": [],
            "max_sustained_tps": null,
            "bottleneck": {"primary": evil, "summary": evil, "findings": [{"kind": evil, "evidence": evil}, {"kind": "x", "evidence": evil}]}
        });
        let report = serde_json::json!({
            "version": crate::report::REPORT_VERSION, "started_at": evil,
            "target": {"url": evil, "kind": evil, "chain": evil, "client": evil},
            "workload": evil,
            "settings": {"senders": 1, "confirmations": 1, "concurrency": 1, "batch_size": 1, "max_fee_gwei": null, "priority_fee_gwei": null, "node_pid": null},
            "submitted": 10, "confirmed": 9, "failed": 1, "success_rate": 0.9, "send_rate": 5.0,
            "throughput": 4.5, "latency": crate::stats::LatencyStats::default(), "p50": 1.0, "p95": 1.0, "p99": 1.0,
            "rounds": [round]
        });
        let bytes = serde_json::to_vec(&report).expect("json");
        let r = Report::parse(&bytes).expect("a valid report");
        assert_eq!(r.bottleneck(), evil);
        let body = render_body(&r);
        assert!(!body.contains("<script"), "unescaped text in the body");
        assert!(body.contains("&lt;script&gt;"));
        assert!(!body.contains("<style") && !body.contains("style="));
        assert!(body.contains("区块"));
        assert!(
            render(&r).contains("<style>"),
            "the standalone page keeps its styles"
        );

        let mut v = report.clone();
        v["version"] = serde_json::json!(99);
        let e = Report::parse(&serde_json::to_vec(&v).expect("json")).unwrap_err();
        assert!(e.contains("version 99"), "{e}");
        v["version"] = serde_json::json!(crate::report::REPORT_VERSION);
        v["rounds"] = serde_json::json!([]);
        let e = Report::parse(&serde_json::to_vec(&v).expect("json")).unwrap_err();
        assert!(e.contains("has 0"), "{e}");
        for bad in [&b""[..], b"[", b"{}", b"\xff\xfe", b"{\"version\": 1}"] {
            let e = Report::parse(bad).unwrap_err();
            assert!(e.contains("not a chainops bench report"), "{e}");
        }
    }
}
