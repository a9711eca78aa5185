//! Ground truth from a mock over HTTP. A lookup waits in a queue; the next
//! client request this engine sends to the mock (another iteration's wx
//! step) takes everything waiting along and brings the answers back, so
//! under load lookups cost no request of their own. When no such request
//! can come (every running iteration waits on truth) or none came within
//! [`RIDE_WAIT`], the waiting lookups go together in one
//! `POST /__wxflow/truth`.

use super::{CLIENT_PREFIX, GroundTruth, TruthQuery, Truths};
use crate::http1::ApiClient;
use futures::future::BoxFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// How long lookups wait for a client request to ride before they go alone.
const RIDE_WAIT: Duration = Duration::from_millis(1);

/// The most values one request carries.
const BATCH_VALUES: usize = 512;

/// A lookup waiting for its answer.
type Pending = (TruthQuery, oneshot::Sender<Truths>);

/// What an engine's lookups share.
struct Queue {
    waiting: Mutex<Vec<Pending>>,
    arrived: Notify,
    /// Iterations running on the engine (it counts them).
    running: Arc<AtomicUsize>,
}

impl Queue {
    /// Takes waiting lookups, up to [`BATCH_VALUES`] values.
    fn take(&self) -> Vec<Pending> {
        let mut waiting = self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (mut n, mut values) = (0, 0);
        while n < waiting.len() && values < BATCH_VALUES {
            values += waiting[n].0.codes.len() + waiting[n].0.ivs.len();
            n += 1;
        }
        waiting.drain(..n).collect()
    }

    fn waiting(&self) -> usize {
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

/// Ground truth from a mock over HTTP (see the module's notes).
pub struct HttpTruth {
    http: Arc<ApiClient>,
    queue: Arc<Queue>,
    /// Started on the runtime of the first lookup.
    sender: OnceLock<()>,
}

impl HttpTruth {
    /// Lookups to the mock at `mock_url`; `running` is the engine's count of
    /// iterations in progress.
    pub fn new(http: reqwest::Client, mock_url: &str, running: Arc<AtomicUsize>) -> Self {
        let queue = Queue { waiting: Mutex::default(), arrived: Notify::new(), running };
        HttpTruth { http: Arc::new(ApiClient::new(http, mock_url)), queue: Arc::new(queue), sender: OnceLock::new() }
    }

    /// Sends waiting lookups alone when no client request will take them.
    async fn send_alone(http: Arc<ApiClient>, queue: Arc<Queue>) {
        loop {
            queue.arrived.notified().await;
            // Counted from the first arrival, not reset by later ones.
            let mut deadline = tokio::time::Instant::now() + RIDE_WAIT;
            loop {
                let waiting = queue.waiting();
                if waiting == 0 {
                    break;
                }
                // Iterations still running will send a client request soon.
                if waiting < queue.running.load(Ordering::Relaxed)
                    && tokio::time::timeout_at(deadline, queue.arrived.notified()).await.is_ok()
                {
                    continue;
                }
                let batch = queue.take();
                let query = merge(&batch);
                let body = serde_json::to_string(&query).unwrap_or_default();
                let answer = http.post_json(&format!("{CLIENT_PREFIX}/truth"), body, Duration::from_secs(5)).await;
                // A mock that cannot say leaves freshness unknown, never fails the step.
                let truths = match answer {
                    Ok((200, bytes)) => serde_json::from_slice(&bytes).unwrap_or_default(),
                    _ => Truths::default(),
                };
                share(batch, &query, truths, 1);
                deadline = tokio::time::Instant::now() + RIDE_WAIT;
            }
        }
    }
}

/// One query for all of `batch`.
fn merge(batch: &[Pending]) -> TruthQuery {
    TruthQuery {
        codes: batch.iter().flat_map(|(q, _)| q.codes.iter().cloned()).collect(),
        ivs: batch.iter().flat_map(|(q, _)| q.ivs.iter().cloned()).collect(),
    }
}

/// Answers each lookup of `batch` its share of `truths` (the answer to
/// `query`); the first is counted as having caused `requests`.
fn share(batch: Vec<Pending>, query: &TruthQuery, mut truths: Truths, requests: u32) {
    truths.codes.resize(query.codes.len(), None);
    truths.ivs.resize(query.ivs.len(), None);
    let (mut codes, mut ivs) = (truths.codes.into_iter(), truths.ivs.into_iter());
    for (i, (q, tx)) in batch.into_iter().enumerate() {
        let _ = tx.send(Truths {
            codes: codes.by_ref().take(q.codes.len()).collect(),
            ivs: ivs.by_ref().take(q.ivs.len()).collect(),
            requests: if i == 0 { requests } else { 0 },
            instance: truths.instance.clone(),
        });
    }
}

/// Lookups riding a client request: what to ask, and who waits.
pub struct Riders {
    queue: Arc<Queue>,
    batch: Vec<Pending>,
    query: TruthQuery,
}

impl Riders {
    pub fn query(&self) -> &TruthQuery {
        &self.query
    }

    /// Answers each rider its share of the mock's `truths`. Without them (the
    /// request failed, or the mock does not answer riders) they wait again.
    pub fn answer(self, truths: Option<Truths>) {
        if let Some(t) = truths {
            share(self.batch, &self.query, t, 0);
        } else {
            self.queue.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(self.batch);
            self.queue.arrived.notify_one();
        }
    }
}

impl GroundTruth for HttpTruth {
    fn lookup<'a>(&'a self, query: &'a TruthQuery) -> BoxFuture<'a, Truths> {
        Box::pin(async move {
            self.sender.get_or_init(|| {
                tokio::spawn(Self::send_alone(self.http.clone(), self.queue.clone()));
            });
            let (tx, answer) = oneshot::channel();
            self.queue.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((query.clone(), tx));
            self.queue.arrived.notify_one();
            answer.await.unwrap_or_default()
        })
    }

    fn over_http(&self) -> bool {
        true
    }

    fn handed_out<'a>(&'a self, candidates: &'a [String]) -> BoxFuture<'a, Option<Vec<bool>>> {
        Box::pin(async move {
            let body = serde_json::to_string(&super::LeakQuery { candidates: candidates.to_vec() }).ok()?;
            let (status, bytes) =
                self.http.post_json(&format!("{CLIENT_PREFIX}/leaks"), body, Duration::from_secs(5)).await.ok()?;
            let v: serde_json::Value = serde_json::from_slice(&bytes).ok().filter(|_| status == 200)?;
            serde_json::from_value(v["handed_out"].clone()).ok()
        })
    }

    fn riders(&self) -> Option<Riders> {
        let batch = self.queue.take();
        if batch.is_empty() {
            return None;
        }
        let query = merge(&batch);
        Some(Riders { queue: self.queue.clone(), batch, query })
    }
}
