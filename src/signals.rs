//! How a run is cut short: SIGINT (Ctrl-C), SIGTERM and SIGHUP (how CI
//! cancels a job) all stop it gracefully; a second signal stops it at once.
//! Either way the reports are still written, and the exit code says which
//! signal it was (128 + its number).

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use tokio_util::sync::CancellationToken;

/// The signals received so far, as tokens to wait on.
#[derive(Clone, Default)]
pub struct Signals {
    /// Cancelled by the first signal: start nothing new, let running work finish.
    pub graceful: CancellationToken,
    /// Cancelled by the second signal: stop now.
    pub hard: CancellationToken,
    first: Arc<AtomicI32>,
}

impl Signals {
    /// Starts listening on the runtime; call once, early.
    pub fn listen() -> Signals {
        let s = Signals::default();
        let me = s.clone();
        let Some(mut listeners) = Listeners::new() else {
            eprintln!("warning: cannot listen for signals; Ctrl-C will not write the reports");
            return s;
        };
        tokio::spawn(async move {
            for n in 1.. {
                let (signo, name) = listeners.next().await;
                if n == 1 {
                    me.first.store(signo, Ordering::SeqCst);
                    eprintln!(
                        "\n{name}: finishing running iterations, then writing the reports (again to stop at once)"
                    );
                    me.graceful.cancel();
                } else {
                    eprintln!("\n{name} again: stopping now, writing what finished");
                    me.hard.cancel();
                    break;
                }
            }
        });
        s
    }

    /// The exit code for a run cut short by a signal, `None` if none came.
    pub fn exit_code(&self) -> Option<u8> {
        match self.first.load(Ordering::SeqCst) {
            0 => None,
            signo => Some((128 + signo) as u8),
        }
    }
}

/// Listeners for SIGINT, SIGTERM and SIGHUP.
#[cfg(unix)]
pub struct Listeners([tokio::signal::unix::Signal; 3]);

#[cfg(unix)]
impl Listeners {
    pub fn new() -> Option<Listeners> {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()];
        Some(Listeners([signal(kinds[0]).ok()?, signal(kinds[1]).ok()?, signal(kinds[2]).ok()?]))
    }

    /// The next signal: its number and name.
    pub async fn next(&mut self) -> (i32, &'static str) {
        let [int, term, hup] = &mut self.0;
        tokio::select! {
            _ = int.recv() => (2, "SIGINT (Ctrl-C)"),
            _ = term.recv() => (15, "SIGTERM"),
            _ = hup.recv() => (1, "SIGHUP"),
        }
    }
}

#[cfg(not(unix))]
pub struct Listeners;

#[cfg(not(unix))]
impl Listeners {
    pub fn new() -> Option<Listeners> {
        Some(Listeners)
    }

    pub async fn next(&mut self) -> (i32, &'static str) {
        let _ = tokio::signal::ctrl_c().await;
        (2, "Ctrl-C")
    }
}

/// Waits for the first SIGINT, SIGTERM or SIGHUP (servers: `wxflow mock`,
/// `wxflow backend`).
pub async fn any() {
    match Listeners::new() {
        Some(mut l) => {
            l.next().await;
        }
        None => std::future::pending().await,
    }
}
