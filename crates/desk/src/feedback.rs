//! Feedback and reports: a CSAT answer (1–5 and a comment) on a solved ticket's page, NPS
//! campaigns (0–10) mailed to recent requesters, and the support report — SLA attainment
//! and median first response and resolution (business time, from the same clocks as the
//! SLA pass) per priority, the daily backlog, CSAT, NPS, and volume by category and chain.

use crate::privacy;
use crate::service::{Desk, DeskError, happenings_of_log};
use crate::sla::{self, Metric, Phase};
use crate::tickets::{Priority, State};
use chainops_store::surveys::{CampaignRow, SurveyRow};
use serde::Serialize;
use std::collections::BTreeMap;

/// Longest survey comment.
pub const MAX_COMMENT: usize = 2_000;
/// Longest report window.
pub const MAX_DAYS: i64 = 366;
const DAY: i64 = 86_400_000;

/// One priority's line of the report.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PriorityLine {
    /// `P1`…`P4`.
    pub priority: String,
    /// Tickets opened in the window.
    pub tickets: u32,
    /// Of those, with an SLA clock decided (met or breached).
    pub measured: u32,
    /// Of those, none breached.
    pub attained: u32,
    /// Median business seconds to the first response (`None`: no first response yet).
    pub median_first_response_s: Option<i64>,
    /// Median business seconds to resolution.
    pub median_resolution_s: Option<i64>,
}

/// The support report of a window.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Report {
    /// Window start, epoch ms.
    pub from_ms: i64,
    /// Window end, epoch ms.
    pub to_ms: i64,
    /// Per priority.
    pub priorities: Vec<PriorityLine>,
    /// Active tickets at the end of each day: (day start, count).
    pub backlog: Vec<(i64, u32)>,
    /// CSAT answers and how many were 4 or 5.
    pub csat: (u32, u32),
    /// NPS answers: promoters (9–10), passives (7–8), detractors (0–6).
    pub nps: (u32, u32, u32),
    /// Tickets opened per category.
    pub by_category: Vec<(String, u32)>,
    /// Tickets opened per chain (`""`: none named).
    pub by_chain: Vec<(String, u32)>,
    /// One line per ticket opened in the window (the CSV export).
    #[serde(skip)]
    pub rows: Vec<ReportRow>,
}

/// A ticket's line of the CSV export.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportRow {
    /// Number.
    pub id: i64,
    /// Opened.
    pub created_ms: i64,
    /// Priority.
    pub priority: String,
    /// Category.
    pub category: String,
    /// Chain.
    pub chain: String,
    /// State.
    pub state: String,
    /// Business seconds to the first response.
    pub first_response_s: Option<i64>,
    /// Business seconds to resolution.
    pub resolution_s: Option<i64>,
    /// Any clock breached.
    pub breached: bool,
    /// CSAT score.
    pub csat: Option<i64>,
}

impl Report {
    /// CSAT as a percentage of satisfied answers.
    pub fn csat_percent(&self) -> Option<f64> {
        (self.csat.0 > 0).then(|| f64::from(self.csat.1) * 100.0 / f64::from(self.csat.0))
    }

    /// Net Promoter Score (−100…100).
    pub fn nps_score(&self) -> Option<f64> {
        let (p, m, d) = self.nps;
        let n = p + m + d;
        (n > 0).then(|| (f64::from(p) - f64::from(d)) * 100.0 / f64::from(n))
    }

    /// The tickets as CSV (RFC 4180; every text field quoted, formula-leading cells
    /// defused for spreadsheets).
    pub fn csv(&self) -> String {
        let q = |s: &str| {
            let s = if s.starts_with(['=', '+', '-', '@']) {
                format!("'{s}")
            } else {
                s.to_string()
            };
            format!("\"{}\"", s.replace('"', "\"\""))
        };
        let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        let mut out = String::from(
            "ticket,opened,priority,category,chain,state,first_response_s,resolution_s,sla_breached,csat\r\n",
        );
        for r in &self.rows {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{}\r\n",
                r.id,
                chainops_core::time::rfc3339(r.created_ms),
                q(&r.priority),
                q(&r.category),
                q(&r.chain),
                q(&r.state),
                n(r.first_response_s),
                n(r.resolution_s),
                r.breached,
                n(r.csat)
            ));
        }
        out
    }
}

fn median(v: &mut [i64]) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let m = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) / 2
    } else {
        v[m]
    })
}

fn comment(text: &str) -> Result<String, DeskError> {
    let t = text.trim();
    if t.chars().count() > MAX_COMMENT {
        return Err(DeskError::Invalid(format!(
            "the comment is longer than {MAX_COMMENT} characters"
        )));
    }
    Ok(t.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect())
}

impl Desk {
    /// The requester rates their solved (or closed) ticket through its private link; a
    /// second answer replaces the first.
    pub async fn rate(
        &self,
        token: &str,
        score: i64,
        text: &str,
        now: i64,
    ) -> Result<i64, DeskError> {
        let t = self.ticket_by_link(token, now).await?;
        if !matches!(State::parse(&t.state)?, State::Solved | State::Closed) {
            return Err(DeskError::Conflict(format!(
                "ticket #{} is not solved yet; rate it once it is",
                t.id
            )));
        }
        if !(1..=5).contains(&score) {
            return Err(DeskError::Invalid("a rating is 1 to 5".into()));
        }
        self.store()
            .save_survey(&SurveyRow {
                id: format!("csat-{}", t.id),
                kind: "csat".into(),
                ticket_id: t.id,
                campaign: String::new(),
                requester_id: t.requester_id.clone(),
                score,
                comment: comment(text)?,
                at_ms: now,
            })
            .await?;
        Ok(t.id)
    }

    /// The CSAT answer of a ticket.
    pub async fn rating(&self, ticket_id: i64) -> Result<Option<SurveyRow>, DeskError> {
        Ok(self.store().survey(&format!("csat-{ticket_id}")).await?)
    }

    /// Starts an NPS campaign: every requester (not erased) who opened a ticket in the last
    /// `days` is mailed a private link to answer once (a second answer replaces the first).
    pub async fn start_nps(
        &self,
        name: &str,
        days: i64,
        actor: &str,
        now: i64,
    ) -> Result<CampaignRow, DeskError> {
        let name = crate::notices::text("name", name, 100)?.to_string();
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(DeskError::Invalid(format!("days must be 1 to {MAX_DAYS}")));
        }
        let Some(base) = self.mail_base().map(str::to_string) else {
            return Err(DeskError::Conflict(
                "NPS invitations go by mail; set [support] email_notifier first".into(),
            ));
        };
        let requesters = self.store().recent_requesters(now - days * DAY).await?;
        let id = format!("nps-{now}");
        let mut invites = Vec::new();
        let mut outbox = Vec::new();
        for r in requesters {
            let (token, hash) = privacy::new_link();
            let mail = chainops_core::mail::Mail {
                requester: r.clone(),
                subject: format!(
                    "{name} — how likely are you to recommend us? / 您向他人推荐我们的可能性有多大？"
                ),
                text: format!(
                    "How likely are you to recommend our service to a colleague (0-10)? One click, one optional comment:\n\n您有多大可能向同事推荐我们的服务（0-10 分）？\n\n{base}/support/nps/{token}\n"
                ),
                message_id: format!("<{id}-{}@chainops>", &hash[..16]),
                in_reply_to: String::new(),
                reply_to: String::new(),
            };
            outbox.extend(self.outbox_mail(
                mail,
                format!("mail/{id}/{r}"),
                format!("nps/{id}"),
                now,
            ));
            invites.push((r, hash));
        }
        let c = CampaignRow {
            id,
            name,
            created_ms: now,
            created_by: actor.to_string(),
            invited: invites.len() as i64,
        };
        self.store().create_campaign(&c, &invites, &outbox).await?;
        Ok(c)
    }

    /// The campaign name an NPS link answers (not found for an unknown link).
    pub async fn nps_campaign(&self, token: &str) -> Result<(String, String), DeskError> {
        let gone = || DeskError::NotFound("this survey link is not valid".into());
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(gone());
        }
        let (campaign, name, _) = self
            .store()
            .nps_invite(&privacy::link_hash(token))
            .await?
            .ok_or_else(gone)?;
        Ok((campaign, name))
    }

    /// Records an NPS answer through its link.
    pub async fn answer_nps(
        &self,
        token: &str,
        score: i64,
        text: &str,
        now: i64,
    ) -> Result<(), DeskError> {
        if !(0..=10).contains(&score) {
            return Err(DeskError::Invalid("a score is 0 to 10".into()));
        }
        let hash = privacy::link_hash(token);
        let Some((campaign, _, requester)) = self.store().nps_invite(&hash).await? else {
            return Err(DeskError::NotFound("this survey link is not valid".into()));
        };
        self.store()
            .save_survey(&SurveyRow {
                id: format!("nps-{}", &hash[..32]),
                kind: "nps".into(),
                ticket_id: 0,
                campaign,
                requester_id: requester,
                score,
                comment: comment(text)?,
                at_ms: now,
            })
            .await?;
        Ok(())
    }

    /// The report of the `days` before `now` (whole UTC days).
    pub async fn report(&self, days: i64, now: i64) -> Result<Report, DeskError> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(DeskError::Invalid(format!("days must be 1 to {MAX_DAYS}")));
        }
        let to = now;
        let from = (now / DAY - days + 1) * DAY;
        let inputs = self.store().report_inputs(from, to).await?;
        let csat = self.store().surveys("csat", from, to).await?;
        let nps = self.store().surveys("nps", from, to).await?;
        // The latest answer per ticket (answers come oldest first).
        let rating: std::collections::HashMap<i64, i64> =
            csat.iter().map(|s| (s.ticket_id, s.score)).collect();
        let mut r = Report {
            from_ms: from,
            to_ms: to,
            ..Default::default()
        };
        let mut lines: BTreeMap<&'static str, (PriorityLine, Vec<i64>, Vec<i64>)> = BTreeMap::new();
        let mut cats: BTreeMap<String, u32> = BTreeMap::new();
        let mut chains: BTreeMap<String, u32> = BTreeMap::new();
        // (opened, resolved) per ticket, for the backlog.
        let mut spans: Vec<(i64, Option<i64>)> = Vec::new();
        for t in &inputs {
            let Ok(priority) = Priority::parse(&t.priority) else {
                continue;
            };
            let clocks = sla::policy_for(&self.config.sla, priority, &t.category)
                .map(|p| sla::clocks(&happenings_of_log(&t.clock_log), p, now))
                .unwrap_or_default();
            let stopped = |m: Metric| {
                clocks
                    .iter()
                    .find(|c| c.metric == m && c.cycle == 0 && c.stopped_ms.is_some())
            };
            let active = State::parse(&t.state).is_ok_and(State::is_active);
            let resolved_at = if active {
                None
            } else {
                stopped(Metric::Resolution)
                    .and_then(|c| c.stopped_ms)
                    .or(Some(t.created_ms))
            };
            spans.push((t.created_ms, resolved_at));
            if t.created_ms < from {
                continue;
            }
            let breached = clocks.iter().any(|c| c.phase == Phase::Breached);
            let decided = clocks
                .iter()
                .any(|c| matches!(c.phase, Phase::Met | Phase::Breached));
            let first = stopped(Metric::FirstResponse)
                .filter(|c| c.phase != Phase::Stopped)
                .map(|c| c.elapsed_ms / 1000);
            let resolution = stopped(Metric::Resolution)
                .filter(|_| !active)
                .map(|c| c.elapsed_ms / 1000);
            let e = lines.entry(priority.as_str()).or_insert_with(|| {
                (
                    PriorityLine {
                        priority: priority.as_str().into(),
                        ..Default::default()
                    },
                    Vec::new(),
                    Vec::new(),
                )
            });
            e.0.tickets += 1;
            if decided {
                e.0.measured += 1;
                if !breached {
                    e.0.attained += 1;
                }
            }
            e.1.extend(first);
            e.2.extend(resolution);
            *cats.entry(t.category.clone()).or_default() += 1;
            *chains.entry(t.chain.clone()).or_default() += 1;
            r.rows.push(crate::feedback::ReportRow {
                id: t.id,
                created_ms: t.created_ms,
                priority: t.priority.clone(),
                category: t.category.clone(),
                chain: t.chain.clone(),
                state: t.state.clone(),
                first_response_s: first,
                resolution_s: resolution,
                breached,
                csat: rating.get(&t.id).copied(),
            });
        }
        for p in ["P1", "P2", "P3", "P4"] {
            let (mut line, mut f, mut res) = lines.remove(p).unwrap_or_else(|| {
                (
                    PriorityLine {
                        priority: p.into(),
                        ..Default::default()
                    },
                    Vec::new(),
                    Vec::new(),
                )
            });
            line.median_first_response_s = median(&mut f);
            line.median_resolution_s = median(&mut res);
            r.priorities.push(line);
        }
        let mut day = from;
        while day < to {
            let end = (day + DAY).min(to);
            let open = spans
                .iter()
                .filter(|(o, res)| *o < end && res.is_none_or(|x| x >= end))
                .count() as u32;
            r.backlog.push((day, open));
            day += DAY;
        }
        r.csat = (
            csat.len() as u32,
            csat.iter().filter(|s| s.score >= 4).count() as u32,
        );
        r.nps = (
            nps.iter().filter(|s| s.score >= 9).count() as u32,
            nps.iter().filter(|s| (7..=8).contains(&s.score)).count() as u32,
            nps.iter().filter(|s| s.score <= 6).count() as u32,
        );
        let by = |m: BTreeMap<String, u32>| {
            let mut v: Vec<(String, u32)> = m.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v
        };
        r.by_category = by(cats);
        r.by_chain = by(chains);
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_scores_and_csv() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
        let r = Report {
            csat: (4, 3),
            nps: (5, 3, 2),
            rows: vec![ReportRow {
                id: 7,
                chain: "=HYPERLINK(\"x\")".into(),
                state: "solved".into(),
                first_response_s: Some(60),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(r.csat_percent(), Some(75.0));
        assert_eq!(r.nps_score(), Some(30.0));
        let csv = r.csv();
        assert!(csv.starts_with("ticket,opened,"), "{csv}");
        assert!(
            csv.contains("\"'=HYPERLINK(\"\"x\"\")\""),
            "a formula is defused: {csv}"
        );
        assert!(csv.contains(",60,,false,\r\n"), "{csv}");
        assert_eq!(Report::default().nps_score(), None);
    }
}
