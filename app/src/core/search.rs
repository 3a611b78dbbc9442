//! Global search over entities and documents, and search analytics. The databases find
//! candidates; ranking, typo filtering and highlighting are `crate::search`, the same for both.

use super::service::{db, Caller, Services};
use super::store::*;
use super::{new_id, now, parse_timestamp, timestamp};
use crate::authz::Action;
use crate::error::AppError;
use crate::search::{self as logic, MIN_TERM};
use crate::types::*;
use std::time::Instant;

/// Candidates ranked per search; the pages of a result list go this deep.
const RANKED: i64 = 200;
/// Below this many exact matches, alike (typo-tolerant) matches are looked for too.
const FUZZY_BELOW: usize = 5;

/// Where a logged search was run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The search page: logged when run, its opening recorded later.
    Page,
    /// The REST API (scripts, the command-line client): logged, but nobody opens a result in a
    /// browser, so it does not count towards success rate and time to find.
    Api,
    /// Not logged (suggestions as someone types; logged only when one is opened).
    Unlogged,
}

/// Writes logged searches in the background, so that a search does not wait for a write (on
/// SQLite, for the one writer). Entries are written in order; [`SearchLog::flush`] waits until
/// everything queued before it is stored (reading the log flushes first). What is queued when the
/// process dies is lost: a few milliseconds of analytics, never catalog data.
#[derive(Default)]
pub struct SearchLog {
    queue: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<LogMessage>>,
}

enum LogMessage {
    Entry(SearchLogRecord),
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl SearchLog {
    /// The queue, and the task that empties it (started on first use, ended when the services
    /// are dropped).
    fn queue(&self, store: &std::sync::Arc<dyn Store>) -> &tokio::sync::mpsc::UnboundedSender<LogMessage> {
        self.queue.get_or_init(|| {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let store = store.clone();
            tokio::spawn(async move {
                while let Some(message) = rx.recv().await {
                    match message {
                        LogMessage::Entry(entry) => {
                            if let Err(e) = store.search_log(&entry).await {
                                tracing::warn!(error = %e, "a search was not logged");
                            }
                        }
                        LogMessage::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            });
            tx
        })
    }

    pub fn record(&self, store: &std::sync::Arc<dyn Store>, entry: SearchLogRecord) {
        let _ = self.queue(store).send(LogMessage::Entry(entry));
    }

    /// Waits until every entry recorded before this call is stored.
    pub async fn flush(&self, store: &std::sync::Arc<dyn Store>) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.queue(store).send(LogMessage::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

impl Services {
    pub async fn search(&self, caller: &Caller, q: &SearchQuery, origin: Origin) -> Result<SearchResults, AppError> {
        let started = Instant::now();
        let principal = caller.require()?;
        let text = q.q.trim();
        if text.chars().count() > logic::MAX_QUERY {
            return Err(AppError::field("q", "Search for at most 200 characters."));
        }
        let terms = logic::terms(text);
        if terms.is_empty() {
            return Err(AppError::field("q", "Type a word to search for."));
        }
        let page = q.page.unwrap_or(1);
        let page_size = q.page_size.unwrap_or(20);
        if page < 1 {
            return Err(AppError::field("page", "Pages are numbered from 1."));
        }
        if !(1..=50).contains(&page_size) {
            return Err(AppError::field("page_size", "Choose between 1 and 50 results per page."));
        }
        let kind = q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty());
        let long: Vec<String> = terms.iter().filter(|t| t.chars().count() >= MIN_TERM).cloned().collect();

        // Names starting with the query, substring matches and the kinds counted, at once (on
        // separate connections); then, when those are few, alike ones.
        let exact = SearchSpec { terms: long.clone(), fuzzy: false, kind: kind.map(str::to_string), limit: RANKED };
        let want_counts = long.len() == terms.len() && !long.is_empty();
        let prefix = terms.join("-");
        let (mut candidates, found, mut counts) = tokio::try_join!(
            self.store.search_by_name(&prefix, kind, 20),
            self.store.search(&exact),
            async { if want_counts { self.store.search_counts(&exact).await } else { Ok(Vec::new()) } },
        )
        .map_err(db)?;
        candidates.extend(found);
        // Short terms cannot be looked up by trigram; they still have to appear. (Without them,
        // every candidate already contains every term: names by prefix, the rest by the index.)
        if long.len() < terms.len() {
            candidates.retain(|d| logic::tier(&terms, &d.name, &d.title, &format!("{} {}", d.summary, d.body)) < 4);
        }
        let mut fuzzy = false;
        if candidates.len() < FUZZY_BELOW && !long.is_empty() {
            let alike = SearchSpec { fuzzy: true, ..exact.clone() };
            let found: Vec<SearchDoc> =
                self.store.search(&alike).await.map_err(db)?.into_iter().filter(|d| logic::resembles(&long, &d.name, &d.title)).collect();
            if candidates.is_empty() && !found.is_empty() {
                fuzzy = true;
                counts.clear();
            }
            candidates.extend(found);
        }
        let mut seen = std::collections::HashSet::new();
        candidates.retain(|d| seen.insert(d.doc_key.clone()));
        // Stable: the database's order stays within a tier.
        candidates.sort_by_cached_key(|d| {
            let tier = logic::tier(&terms, &d.name, &d.title, &format!("{} {}", d.summary, d.body));
            // Within a tier, the more specific (shorter) name or title first.
            (tier, if tier <= 1 { d.name.len() } else { d.title.len() })
        });
        candidates.truncate(RANKED as usize);
        if counts.is_empty() {
            // Counted from the candidates themselves (short terms, or alike matches).
            let mut by_kind: std::collections::BTreeMap<String, i64> = Default::default();
            for d in &candidates {
                *by_kind.entry(d.kind.clone()).or_default() += 1;
            }
            counts = by_kind.into_iter().collect();
            counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        let total: i64 = match kind {
            Some(k) => counts.iter().filter(|(v, _)| v == k).map(|(_, n)| n).sum(),
            None => counts.iter().map(|(_, n)| n).sum(),
        };
        let total = total.max(candidates.len() as i64);
        let counted: i64 = counts.iter().map(|(_, n)| n).sum();
        let more = counted >= crate::core::store::SEARCH_COUNT_CAP;
        let items: Vec<SearchHit> = candidates
            .iter()
            .enumerate()
            .skip(((page - 1) * page_size) as usize)
            .take(page_size as usize)
            .map(|(i, d)| {
                let summary_hits = logic::highlight(&d.summary, &terms).iter().any(|p| p.hit);
                let snippet_source = if summary_hits || d.body.is_empty() { &d.summary } else { &d.body };
                SearchHit {
                    key: d.doc_key.clone(),
                    kind: d.kind.clone(),
                    url: d.url.clone(),
                    title: logic::highlight(&d.title, &terms),
                    snippet: logic::snippet(snippet_source, &terms, 160),
                    owner: d.owner_ref.clone(),
                    entity_ref: d.entity_ref.clone(),
                    rank: i as i64 + 1,
                }
            })
            .collect();
        let took = started.elapsed();
        let query_id = match origin {
            Origin::Page | Origin::Api => {
                let id = new_id();
                let entry = SearchLogRecord {
                    id: id.clone(),
                    at: now(),
                    user_id: Some(principal.user.id.clone()),
                    query: text.to_string(),
                    origin: if origin == Origin::Api { "api" } else { "page" }.into(),
                    result_count: total,
                    took_us: took.as_micros() as i64,
                    ..Default::default()
                };
                self.search_log.record(&self.store, entry);
                Some(id)
            }
            Origin::Unlogged => None,
        };
        Ok(SearchResults {
            query: text.to_string(),
            total,
            more,
            ranked: candidates.len() as i64,
            page,
            page_size,
            items,
            kinds: counts.into_iter().map(|(value, count)| FacetCount { value, count }).collect(),
            fuzzy,
            took_ms: took.as_secs_f64() * 1000.0,
            query_id,
        })
    }

    /// Records that a result of a logged search was opened (the first opening counts).
    pub async fn search_opened(&self, caller: &Caller, query_id: &str, key: &str, rank: i64) -> Result<(), AppError> {
        let p = caller.require()?;
        self.search_log.flush(&self.store).await;
        let Some(entry) = self.store.search_log_get(query_id).await.map_err(db)? else {
            return Ok(()); // an unknown or expired search: nothing to record
        };
        if entry.user_id.as_deref() != Some(p.user.id.as_str()) {
            return Ok(()); // only one's own searches
        }
        let ms = parse_timestamp(&entry.at).map(|at| (chrono::Utc::now() - at).num_milliseconds()).unwrap_or(0);
        self.store.search_log_open(query_id, key, rank.max(1), ms.clamp(0, 3_600_000)).await.map_err(db)
    }

    /// Records a suggestion that was opened: the search and its outcome at once, timed from the
    /// first keystroke as the browser measured it.
    pub async fn suggestion_opened(&self, caller: &Caller, query: &str, results: i64, key: &str, rank: i64, typing_ms: i64) -> Result<(), AppError> {
        let p = caller.require()?;
        let query: String = query.trim().chars().take(logic::MAX_QUERY).collect();
        if query.is_empty() {
            return Ok(());
        }
        let entry = SearchLogRecord {
            id: new_id(),
            at: now(),
            user_id: Some(p.user.id.clone()),
            query,
            origin: "suggest".into(),
            result_count: results.max(0),
            took_us: 0,
            opened_key: Some(key.chars().take(300).collect()),
            opened_rank: Some(rank.max(1)),
            opened_ms: Some(typing_ms.clamp(0, 3_600_000)),
        };
        self.store.search_log(&entry).await.map_err(db)
    }

    pub async fn search_analytics(&self, caller: &Caller, days: i64) -> Result<SearchAnalytics, AppError> {
        let audit = caller.audit("search.analytics", "search");
        self.authorize(caller, Action::ReadSearchAnalytics, audit).await?;
        let days = days.clamp(1, 90);
        let today = chrono::Utc::now().date_naive();
        let first = (today - chrono::Duration::days(days - 1)).and_time(chrono::NaiveTime::MIN).and_utc();
        self.search_log.flush(&self.store).await;
        let logs = self.store.search_logs_since(&timestamp(first)).await.map_err(db)?;
        Ok(analytics(days, &logs, today))
    }
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    (!sorted.is_empty()).then(|| sorted[((sorted.len() - 1) as f64 * p).round() as usize])
}

/// The figures of the analytics page from the logged searches of the `days` days up to `today`
/// (pure, so tested directly). Every day of the period has its bar, searched or not.
pub fn analytics(days: i64, logs: &[SearchLogRecord], today: chrono::NaiveDate) -> SearchAnalytics {
    let n = logs.len() as i64;
    // Success and time to find are about people in the browser; API searches only count as searches.
    let interactive = logs.iter().filter(|l| l.origin != "api").count();
    let opened: Vec<&SearchLogRecord> = logs.iter().filter(|l| l.opened_key.is_some() && l.origin != "api").collect();
    let mut ttf: Vec<i64> = opened.iter().filter_map(|l| l.opened_ms).collect();
    ttf.sort();
    let mut took: Vec<i64> = logs.iter().filter(|l| l.origin != "suggest").map(|l| l.took_us).collect();
    took.sort();
    let share = |k: usize, of: usize| if of == 0 { 0.0 } else { k as f64 / of as f64 };
    let mut per_day: std::collections::BTreeMap<String, SearchDay> = (0..days)
        .map(|back| {
            let day = (today - chrono::Duration::days(back)).format("%Y-%m-%d").to_string();
            (day.clone(), SearchDay { day, searches: 0, successful: 0 })
        })
        .collect();
    let mut per_query: std::collections::HashMap<String, QueryStat> = Default::default();
    for l in logs {
        let day = l.at.get(..10).unwrap_or("").to_string();
        let d = per_day.entry(day.clone()).or_insert(SearchDay { day, searches: 0, successful: 0 });
        d.searches += 1;
        d.successful += i64::from(l.opened_key.is_some());
        let key = l.query.to_lowercase();
        let q = per_query.entry(key.clone()).or_insert(QueryStat { query: key, searches: 0, successful: 0, results: 0 });
        q.searches += 1;
        q.successful += i64::from(l.opened_key.is_some());
        q.results = l.result_count;
    }
    let mut top: Vec<QueryStat> = per_query.values().cloned().collect();
    top.sort_by(|a, b| b.searches.cmp(&a.searches).then(a.query.cmp(&b.query)));
    let zero: Vec<QueryStat> = top.iter().filter(|q| q.results == 0).take(10).cloned().collect();
    top.truncate(10);
    SearchAnalytics {
        days,
        searches: n,
        success_rate: share(opened.len(), interactive),
        zero_result_rate: share(logs.iter().filter(|l| l.result_count == 0).count(), logs.len()),
        time_to_find_p50_ms: percentile(&ttf, 0.5),
        time_to_find_p90_ms: percentile(&ttf, 0.9),
        search_p50_ms: percentile(&took, 0.5).map(|us| us as f64 / 1000.0),
        mean_opened_rank: (!opened.is_empty())
            .then(|| opened.iter().filter_map(|l| l.opened_rank).sum::<i64>() as f64 / opened.len() as f64),
        per_day: per_day.into_values().collect(),
        top_queries: top,
        zero_result_queries: zero,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(q: &str, results: i64, opened_ms: Option<i64>, at: &str) -> SearchLogRecord {
        SearchLogRecord {
            id: new_id(),
            at: at.into(),
            query: q.into(),
            origin: "page".into(),
            result_count: results,
            took_us: 1500,
            opened_key: opened_ms.map(|_| "entity:component:default/x".into()),
            opened_rank: opened_ms.map(|_| 2),
            opened_ms,
            ..Default::default()
        }
    }

    #[test]
    fn analytics_figures() {
        let logs = vec![
            log("payments", 5, Some(1000), "2026-11-25T10:00:00.000Z"),
            log("Payments", 5, Some(3000), "2026-11-26T10:00:00.000Z"),
            log("payments", 5, None, "2026-11-26T11:00:00.000Z"),
            log("nothing-here", 0, None, "2026-11-26T12:00:00.000Z"),
            SearchLogRecord { origin: "api".into(), ..log("from-a-script", 3, None, "2026-11-26T13:00:00.000Z") },
        ];
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let a = analytics(30, &logs, today);
        assert_eq!(a.searches, 5);
        assert_eq!(a.success_rate, 0.5, "API searches do not count against success");
        assert_eq!(a.zero_result_rate, 0.2);
        assert_eq!(a.time_to_find_p50_ms, Some(3000));
        assert_eq!(a.mean_opened_rank, Some(2.0));
        assert_eq!(a.search_p50_ms, Some(1.5));
        assert_eq!(a.per_day.len(), 30, "every day of the period");
        assert_eq!(a.per_day[29].day, "2026-11-26");
        assert_eq!((a.per_day[28].searches, a.per_day[29].searches, a.per_day[0].searches), (1, 4, 0));
        assert_eq!(a.top_queries[0].query, "payments");
        assert_eq!(a.top_queries[0].searches, 3);
        assert_eq!(a.zero_result_queries.len(), 1);
        assert_eq!(a.zero_result_queries[0].query, "nothing-here");
        let empty = analytics(7, &[], today);
        assert_eq!((empty.searches, empty.success_rate, empty.time_to_find_p50_ms), (0, 0.0, None));
    }
}
