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

/// Renders the report.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>chainops bench: {wl} on {url}</title>\
<style>body{{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:980px}}table{{border-collapse:collapse;margin:8px 0 16px}}\
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}th{{background:#f3f3f3}}td:first-child,th:first-child{{text-align:left}}\
.verdict{{padding:10px 14px;border-left:4px solid #d9822b;background:#fff7ec;margin:8px 0}}.ok{{border-color:#2b8a3e;background:#ecfbef}}\
svg{{background:#fafafa;border:1px solid #ddd;margin:6px 0}}h2{{margin-top:28px}}</style></head><body>\
<h1>Load test: {wl}</h1><p>{url} · {kind} chain {chain} · {client} · started {start}</p>",
        wl = esc(&r.workload),
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
    for round in &r.rounds {
        render_round(&mut out, round);
    }
    out.push_str("</body></html>\n");
    out
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
    out.push_str(&bar_chart(
        "Inclusion latency distribution",
        &r.distribution
            .iter()
            .map(|b| (b.le, b.count as f64))
            .collect::<Vec<_>>(),
    ));
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

fn bounds(series: &[Series<'_>]) -> (f64, f64, f64) {
    let pts = series.iter().flat_map(|s| s.2.iter());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    for (x, y) in pts {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y1 = y1.max(*y);
    }
    if x0 > x1 {
        (0.0, 1.0, 1.0)
    } else {
        (x0, x1.max(x0 + 1e-9), if y1 > 0.0 { y1 * 1.1 } else { 1.0 })
    }
}

/// A line chart with axes, ticks and a legend.
fn line_chart(title: &str, series: &[Series<'_>]) -> String {
    let (x0, x1, y1) = bounds(series);
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
    let x1 = bars.last().map_or(1.0, |b| b.0);
    let y1 = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0) * 1.1;
    let mut s = svg_frame(title, x0, x1, y1, "s");
    let bw = (W - 2.0 * PAD) / bars.len() as f64;
    for (i, (_, c)) in bars.iter().enumerate() {
        let h = c / y1 * (H - 2.0 * PAD);
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#1f77b4\"/>",
            PAD + i as f64 * bw,
            H - PAD - h,
            (bw - 1.0).max(1.0)
        );
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
    for k in 0..=4 {
        let f = k as f64 / 4.0;
        let y = H - PAD - f * (H - 2.0 * PAD);
        let x = PAD + f * (W - 2.0 * PAD);
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>\
<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{}{unit}</text>",
            PAD - 4.0,
            y + 3.0,
            short(f * y1),
            H - PAD + 14.0,
            short(x0 + f * (x1 - x0)),
        );
    }
    s
}

fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
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
        let svg = line_chart("t", &[("x", "#000", &pts)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<polyline"));
        assert_eq!(bar_chart("d", &[]), "");
    }
}
