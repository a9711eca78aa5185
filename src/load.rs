//! Repeating a flow: a closed model (`concurrency` workers, each starting
//! the next iteration when its last one ends) or an open model (`rate`
//! iterations started per second whatever the backend does, so a slow
//! backend shows as queueing). Iteration `i` of seed `S` is always the same
//! virtual user, so it behaves the same at any concurrency.

use crate::engine::{Engine, Finished, RunEvent};
use crate::flow::Flow;
use crate::stats::Late;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc::Sender};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How to repeat a flow.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Iterations at most (`u64::MAX` when only a duration bounds the run).
    pub repeat: u64,
    /// Closed model: workers. Open model: iterations in flight at most.
    pub concurrency: usize,
    pub duration: Option<Duration>,
    /// Open model: iterations started per second.
    pub rate: Option<f64>,
    /// Draw users from a pool of this many instead of one per iteration.
    pub users: Option<u64>,
    /// Stop this flow at its first iteration that breaks its expectation.
    pub until_fail: bool,
    /// Number of the first iteration (`--replay S:i` runs just `i`).
    pub first_iteration: u64,
    /// Send an event per step (single runs and the dashboard).
    pub step_events: bool,
    /// Run only the iterations `i ≡ index (mod count)` of this plan.
    pub shard: Option<Shard>,
}

pub use crate::stats::Shard;

impl Default for Plan {
    fn default() -> Self {
        Plan {
            repeat: 1,
            concurrency: 1,
            duration: None,
            rate: None,
            users: None,
            until_fail: false,
            first_iteration: 0,
            step_events: false,
            shard: None,
        }
    }
}

impl Plan {
    /// The global iteration of this run's `n`-th, and whether the plan has it.
    fn nth(&self, n: u64) -> Option<u64> {
        let i = self.shard.map_or(n, |s| s.iteration(n));
        (i < self.repeat).then_some(self.first_iteration + i)
    }

    /// Iterations this run (this shard) starts at most.
    fn own_iterations(&self) -> u64 {
        match self.shard {
            Some(s) => self.repeat.saturating_sub(s.index).div_ceil(s.count.max(1)),
            None => self.repeat,
        }
    }

    /// Iterations in flight at most: no more than the plan starts (a
    /// closed model starts no more workers than iterations).
    pub fn peak_concurrency(&self) -> u64 {
        (self.concurrency.max(1) as u64).min(self.own_iterations())
    }

    /// The virtual user of iteration `i`.
    pub fn user(&self, flow: &Flow, seed: u64, i: u64) -> String {
        match self.users {
            Some(k) => format!("{}-s{seed}-pool{}", flow.id, i % k.max(1)),
            None => Engine::user_for(flow, seed, i),
        }
    }
}

/// Where iterations run: an engine, and the runtime its tasks go to (one
/// lane per core in `wxflow run`, one in the dashboard).
#[derive(Clone)]
pub struct Lane {
    pub engine: Arc<Engine>,
    pub runtime: tokio::runtime::Handle,
}

impl Lane {
    /// A lane on the current runtime.
    pub fn here(engine: Arc<Engine>) -> Vec<Lane> {
        vec![Lane { engine, runtime: tokio::runtime::Handle::current() }]
    }
}

/// What every iteration of one flow's run shares.
#[derive(Clone)]
struct Iterations {
    engine: Arc<Engine>,
    flow: Arc<Flow>,
    plan: Arc<Plan>,
    stop: CancellationToken,
    tx: Sender<RunEvent>,
}

impl Iterations {
    /// Runs iteration `i` as its virtual user sees it; `queued` is how long
    /// it waited past its start time (open model), which counts in its
    /// duration. The result may still need settling: [`Iterations::report`].
    async fn run(&self, i: u64, queued: Duration) -> Finished {
        let user = self.plan.user(&self.flow, self.engine.seed, i);
        let mut r = if self.plan.step_events {
            self.engine.run(&self.flow, i, &user, Some(&self.tx)).await
        } else {
            self.engine.run_unsettled(&self.flow, i, &user).await
        };
        r.add_late(queued.as_secs_f64() * 1e3);
        // Stop at the first iteration that breaks the flow's expectation: for
        // a flow that expects failure, that is a login that worked.
        if self.plan.until_fail
            && !r.counts().expectation_met
            && !r.counts().cause.is_some_and(crate::flow::Cause::unjudged)
        {
            self.stop.cancel();
        }
        r
    }

    /// Settles a result and sends it.
    async fn report(&self, r: Finished) {
        let _ = self.tx.send(RunEvent::Flow(Box::new(r.settle().await))).await;
    }
}

/// Runs `flow` by `plan` until done, `stop` is cancelled, or (with
/// `until_fail`) an iteration breaks its expectation. Workers (closed model)
/// and iterations (open model) are dealt round the `lanes`. Events go to
/// `tx`; the run is over when this returns and `tx` is dropped.
pub async fn run_flow(lanes: Vec<Lane>, flow: Arc<Flow>, plan: Plan, stop: CancellationToken, tx: Sender<RunEvent>) {
    let stop = stop.child_token();
    let deadline = plan.duration.map(|d| Instant::now() + d);
    let over = move |stop: &CancellationToken| stop.is_cancelled() || deadline.is_some_and(|d| Instant::now() >= d);
    let plan = Arc::new(plan);
    let lanes: Vec<(Iterations, tokio::runtime::Handle)> = lanes
        .into_iter()
        .map(|l| {
            let it = Iterations {
                engine: l.engine,
                flow: flow.clone(),
                plan: plan.clone(),
                stop: stop.clone(),
                tx: tx.clone(),
            };
            (it, l.runtime)
        })
        .collect();
    drop(tx);
    let mut tasks = JoinSet::new();
    match plan.rate {
        None => {
            let next = Arc::new(AtomicU64::new(0));
            // No more workers than iterations: `--concurrency 1000000
            // --repeat 3` starts three.
            let workers = plan.peak_concurrency();
            for w in 0..workers {
                let (it, runtime) = &lanes[w as usize % lanes.len()];
                let (next, it) = (next.clone(), it.clone());
                tasks.spawn_on(
                    async move {
                        // The last result still settling: a worker goes on
                        // to its next iteration meanwhile, one at a time.
                        let mut settling: Option<tokio::task::JoinHandle<()>> = None;
                        while !over(&it.stop) {
                            let Some(i) = it.plan.nth(next.fetch_add(1, Ordering::Relaxed)) else { break };
                            let r = it.run(i, Duration::ZERO).await;
                            if let Some(last) = settling.take() {
                                let _ = last.await;
                            }
                            if r.settled() {
                                it.report(r).await;
                            } else {
                                let it = it.clone();
                                settling = Some(tokio::spawn(async move { it.report(r).await }));
                            }
                        }
                        if let Some(last) = settling {
                            let _ = last.await;
                        }
                    },
                    runtime,
                );
            }
        }
        Some(rate) => {
            let slots = Arc::new(Semaphore::new(plan.concurrency.max(1)));
            // A shard starts its share of the rate: the shards together keep it.
            let shards = plan.shard.map_or(1, |s| s.count) as f64;
            let period = Duration::from_secs_f64(shards / rate.max(1e-6));
            let start = tokio::time::Instant::now();
            for n in 0..plan.own_iterations() {
                let Some(i) = plan.nth(n) else { break };
                let due = start + period.mul_f64(n as f64);
                tokio::select! {
                    () = tokio::time::sleep_until(due) => {}
                    () = stop.cancelled() => break,
                }
                if over(&stop) {
                    break;
                }
                let Ok(slot) = slots.clone().acquire_owned().await else { break };
                // Time spent waiting for a free slot is queueing: it counts.
                let queued = due.elapsed();
                let (it, runtime) = &lanes[n as usize % lanes.len()];
                let it = it.clone();
                tasks.spawn_on(
                    async move {
                        let r = it.run(i, queued).await;
                        drop(slot);
                        it.report(r).await;
                    },
                    runtime,
                );
                // Reap finished tasks so a long run keeps constant memory.
                while tasks.try_join_next().is_some() {}
            }
        }
    }
    // The last sender goes with the last task: the run is over.
    drop(lanes);
    while tasks.join_next().await.is_some() {}
}

/// A timer of the tester's runtimes firing later than this, in ms, means
/// the tester itself is saturated: its latency figures include its own
/// queueing.
pub const LAG_MS: f64 = 5.0;

/// How often [`watch_lag`] samples.
const LAG_TICK: std::time::Duration = std::time::Duration::from_millis(10);

/// Late wake-ups counted before the summary says the tester was saturated.
pub const LAG_SAID: u64 = 10;

/// Samples, on each of `runtimes` until `stop`, how late a 10 ms timer
/// fires; the late wake-ups (past [`LAG_MS`]) so far.
pub fn watch_lag(runtimes: &[tokio::runtime::Handle], stop: &tokio_util::sync::CancellationToken) -> Arc<Mutex<Late>> {
    let late = Arc::new(Mutex::new(Late::default()));
    for runtime in runtimes {
        let (late, stop) = (late.clone(), stop.clone());
        runtime.spawn(async move {
            loop {
                let due = tokio::time::Instant::now() + LAG_TICK;
                tokio::select! {
                    () = tokio::time::sleep_until(due) => {}
                    () = stop.cancelled() => return,
                }
                let lag = due.elapsed().as_secs_f64() * 1e3;
                if lag > LAG_MS {
                    late.lock().unwrap_or_else(std::sync::PoisonError::into_inner).record(lag);
                }
            }
        });
    }
    late
}
