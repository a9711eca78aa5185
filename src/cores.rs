//! Per-core runtimes, as wrk and oha run: one current-thread tokio runtime
//! per core, each running its share of the iterations (and, embedded, its
//! own mock and backend servers over one shared mock state), so a request
//! and its answer never cross threads. Measured with
//! `benches/side_by_side.sh`: a single current-thread runtime does 2.6× the
//! flows/s of the multi-thread one at concurrency 1.

use std::num::NonZeroUsize;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

/// At most this many core runtimes.
pub const MAX_CORES: usize = 16;

/// Running core runtimes; they stop when this is dropped.
pub struct Cores {
    handles: Vec<Handle>,
    stop: CancellationToken,
}

impl Cores {
    /// `threads` runtimes, or one per available core (at most [`MAX_CORES`]).
    pub fn start(threads: Option<usize>) -> std::io::Result<Cores> {
        let n = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
            .clamp(1, MAX_CORES);
        let stop = CancellationToken::new();
        let mut handles = vec![];
        for i in 0..n {
            let (tx, rx) = std::sync::mpsc::channel();
            let stop = stop.clone();
            std::thread::Builder::new().name(format!("wxflow-core-{i}")).spawn(move || {
                match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => {
                        let _ = tx.send(Ok(rt.handle().clone()));
                        rt.block_on(stop.cancelled());
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            })?;
            handles.push(rx.recv().map_err(std::io::Error::other)??);
        }
        Ok(Cores { handles, stop })
    }

    pub fn handles(&self) -> &[Handle] {
        &self.handles
    }
}

impl Drop for Cores {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// One value per thread, made on first use. Under per-core runtimes each
/// core gets its own: a reqwest client's pooled connection then stays on the
/// core that opened it, and a request never wakes another core's runtime.
pub struct PerThread<T> {
    make: Box<dyn Fn() -> T + Send + Sync>,
    made: std::sync::Mutex<std::collections::HashMap<std::thread::ThreadId, T>>,
}

impl<T: Clone> PerThread<T> {
    pub fn new(make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        PerThread { make: Box::new(make), made: std::sync::Mutex::default() }
    }

    /// This thread's value.
    pub fn get(&self) -> T {
        let mut made = self.made.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        made.entry(std::thread::current().id()).or_insert_with(|| (self.make)()).clone()
    }
}
