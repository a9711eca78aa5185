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

/// The cores this process may use.
pub fn available() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// The runner's threads when none are asked for: one per core, or half the
/// cores when a server it drives (`--mock`, `--target`) is on this machine
/// and needs the rest. Measured with `benches/side_by_side.sh` on 2 cores,
/// mock and backend local: one runner thread did 9,091 flows/s at 72 µs of
/// CPU per flow, two did 9,181 at 85 µs (about the same for more CPU).
pub fn runner_threads(servers: &[Option<&str>]) -> usize {
    let local = servers.iter().flatten().any(|url| reqwest::Url::parse(url).is_ok_and(|u| is_loopback(&u)));
    if local { (available() / 2).max(1) } else { available() }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    }
}

impl Cores {
    /// `threads` runtimes (1 to [`MAX_CORES`]).
    pub fn start(threads: usize) -> std::io::Result<Cores> {
        let n = threads.clamp(1, MAX_CORES);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runner_leaves_half_the_cores_to_servers_on_this_machine() {
        let all = available();
        let half = (all / 2).max(1);
        assert_eq!(runner_threads(&[None, None]), all, "embedded");
        assert_eq!(runner_threads(&[Some("https://mock.example.com"), Some("http://10.0.0.7:8080")]), all);
        for local in ["http://127.0.0.1:9000", "http://localhost:9100/wx", "http://[::1]:80", "http://api.LOCALHOST"] {
            assert_eq!(runner_threads(&[None, Some(local)]), half, "{local}");
        }
        assert_eq!(runner_threads(&[Some("not a url"), None]), all);
    }
}
