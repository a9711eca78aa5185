//! The tester's own resources. A verdict is about the backend only, so what
//! runs out on this side (file descriptors, ephemeral ports, socket buffers)
//! must be told apart from what the backend did: an error that names one
//! is cause `tester_limit` and its iteration is not judged. Before a run,
//! the descriptors a plan needs are counted against what the process may
//! open ([`budget`]), so a plan that cannot fit is refused up front rather
//! than turned into a verdict built on EMFILE.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A resource of this machine or process that ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// EMFILE: this process's file descriptor limit.
    Descriptors,
    /// ENFILE: the whole system's file table.
    SystemDescriptors,
    /// EADDRNOTAVAIL: no local (ephemeral) port left to connect from.
    Ports,
    /// ENOBUFS: the kernel's socket buffers.
    Buffers,
    /// ENOMEM: memory, on a socket call.
    Memory,
}

impl Exhausted {
    /// The resource an OS error number names, if it is one of this side's.
    #[cfg(unix)]
    pub fn from_errno(errno: i32) -> Option<Exhausted> {
        Some(match errno {
            libc::EMFILE => Exhausted::Descriptors,
            libc::ENFILE => Exhausted::SystemDescriptors,
            libc::EADDRNOTAVAIL => Exhausted::Ports,
            libc::ENOBUFS => Exhausted::Buffers,
            libc::ENOMEM => Exhausted::Memory,
            _ => return None,
        })
    }

    /// Windows' socket errors (Winsock's WSAEMFILE, WSAEADDRNOTAVAIL,
    /// WSAENOBUFS) and ERROR_NOT_ENOUGH_MEMORY.
    #[cfg(not(unix))]
    pub fn from_errno(errno: i32) -> Option<Exhausted> {
        Some(match errno {
            10024 => Exhausted::Descriptors,
            10049 => Exhausted::Ports,
            10055 => Exhausted::Buffers,
            8 => Exhausted::Memory,
            _ => return None,
        })
    }

    /// The resource an error's text names: Rust writes every OS error as
    /// "… (os error N)", and error chains keep that text, so this finds it
    /// in a transport's words, a server's message, or a wrapped error.
    pub fn in_text(text: &str) -> Option<Exhausted> {
        text.match_indices("(os error ").find_map(|(at, prefix)| {
            let rest = &text[at + prefix.len()..];
            let digits = rest.split(')').next()?;
            Exhausted::from_errno(digits.parse().ok()?)
        })
    }

    /// The errno's name and the resource in words.
    pub fn name(self) -> (&'static str, &'static str) {
        match self {
            Exhausted::Descriptors => ("EMFILE", "wxflow's file descriptor limit"),
            Exhausted::SystemDescriptors => ("ENFILE", "the system's file table"),
            Exhausted::Ports => ("EADDRNOTAVAIL", "the local ports to connect from"),
            Exhausted::Buffers => ("ENOBUFS", "the kernel's socket buffers"),
            Exhausted::Memory => ("ENOMEM", "memory for sockets"),
        }
    }

    /// The diagnosis of an iteration that met it: what ran out, that it is
    /// this side's doing, and the ways out.
    pub fn diagnosis(self, whose: &str) -> String {
        let (errno, what) = self.name();
        let way_out = match self {
            Exhausted::Descriptors | Exhausted::SystemDescriptors => {
                "lower --concurrency, run `wxflow mock` and `wxflow backend` as their own processes, or raise `ulimit -n`"
            }
            Exhausted::Ports => {
                "lower --concurrency, or widen net.ipv4.ip_local_port_range; connections closed in bursts wait in TIME_WAIT"
            }
            Exhausted::Buffers | Exhausted::Memory => {
                "lower --concurrency, or run wxflow on a machine with more memory"
            }
        };
        format!(
            "the tester ran out of {what} ({errno}) on {whose}: this says nothing about the backend, so the iteration is not judged; {way_out}"
        )
    }
}

/// When the process started counting, for [`note_accept_error`].
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Milliseconds after [`epoch`] (plus one, so 0 means never) of the last
/// time this process met a want of a resource: a server's accept, or a
/// request's connect.
static LAST_EXHAUSTED: AtomicU64 = AtomicU64::new(0);

/// Records that this process just ran out of a resource.
pub fn note_exhausted() {
    let ms = epoch().elapsed().as_millis() as u64 + 1;
    LAST_EXHAUSTED.fetch_max(ms, Ordering::Relaxed);
}

/// Records an accept error of one of this process's servers, if it was for
/// want of a resource; returns that resource.
pub fn note_accept_error(e: &std::io::Error) -> Option<Exhausted> {
    let exhausted = Exhausted::from_errno(e.raw_os_error()?)?;
    note_exhausted();
    Some(exhausted)
}

/// Whether this process ran out of a resource at `since` or up to
/// `ACCEPT_SLACK` before (connections wait in the listen backlog while a
/// server backs off; requests wait for a pooled connection while connects
/// fail): a step that got no answer then may have waited on the tester, so
/// it is not judged.
pub fn starved_since(since: Instant) -> bool {
    let since_ms = since.saturating_duration_since(epoch()).saturating_sub(ACCEPT_SLACK).as_millis() as u64;
    LAST_EXHAUSTED.load(Ordering::Relaxed) > since_ms
}

const ACCEPT_SLACK: std::time::Duration = std::time::Duration::from_secs(1);

/// Raises this process's soft descriptor limit to its hard limit, as
/// servers do; the soft limit it then has.
pub fn raise_descriptor_limit() -> u64 {
    let _ = epoch();
    let raised = rlimit::increase_nofile_limit(u64::MAX).ok();
    #[cfg(unix)]
    let raised = raised.or_else(|| rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _)| soft));
    raised.unwrap_or(u64::MAX)
}

/// Descriptors this process has open now (on Linux; a fixed guess elsewhere).
pub fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(64, |d| d.count() as u64)
}

/// Concurrent requests the runner's client for the mock, and the reference
/// backend's client for WeChat's API, send at most per runtime: the legs
/// that are the tester's own are pooled, so they do not grow with the load.
pub const POOLED_LEG: usize = 256;

/// How a run's peers are set up, for its descriptor budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// `--mock` and `--target` given: only the runner's own connections.
    Given,
    /// `--mock` given, the reference backend in this process.
    Backend,
    /// Mock and reference backend both in this process.
    Embedded,
}

/// What a plan needs against what the process may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Descriptors the plan needs at its peak, about.
    pub need: u64,
    /// The process's (raised) soft limit.
    pub may_open: u64,
    /// The highest concurrency that fits.
    pub fits: u64,
}

/// Descriptors a plan of `concurrency` virtual users needs, on `lanes`
/// runtimes, beyond the `base` already open. Each user holds one
/// connection to the target; the mock leg is pooled ([`POOLED_LEG`] per
/// lane); a server in this process holds the other end of each, and the
/// reference backend's WeChat leg is pooled the same way. A tenth more
/// covers what a burst opens before idle connections are closed.
pub fn needs(concurrency: u64, lanes: u64, setup: Setup, base: u64) -> u64 {
    let pooled = concurrency.min(lanes * POOLED_LEG as u64);
    let connections = match setup {
        Setup::Given => concurrency + pooled,
        Setup::Backend => 2 * concurrency + 2 * pooled,
        Setup::Embedded => 2 * concurrency + 4 * pooled,
    };
    base + connections + connections / 10
}

/// The plan's [`Budget`] after raising the soft limit; `None` when it fits.
pub fn budget(concurrency: u64, lanes: u64, setup: Setup, reports: u64) -> Option<Budget> {
    let may_open = raise_descriptor_limit();
    // Listening sockets, runtimes' event fds, reports, and a margin.
    let base = open_descriptors() + 16 * lanes + reports + 32;
    let need = needs(concurrency, lanes, setup, base);
    if need <= may_open {
        return None;
    }
    let fits = (1..=concurrency).rev().find(|&c| needs(c, lanes, setup, base) <= may_open).unwrap_or(0);
    Some(Budget { need, may_open, fits })
}

impl Budget {
    /// The refusal: the figures, and the ways out that apply to `setup`.
    pub fn refusal(&self, setup: Setup, concurrency: u64) -> String {
        use std::fmt::Write as _;
        #[cfg(unix)]
        let hard = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(self.may_open, |(_, hard)| hard);
        #[cfg(not(unix))]
        let hard = self.may_open;
        let mut msg = format!(
            "this plan cannot fit in wxflow's file descriptors: --concurrency {concurrency} needs about {} and wxflow may open {} (RLIMIT_NOFILE, its soft limit raised to the hard limit {hard}); running it anyway would fail iterations for the tester's own limit, not the backend's. Ways out:",
            self.need, self.may_open
        );
        if self.fits > 0 {
            let _ = write!(msg, "\n  - a lower concurrency: --concurrency {} fits", self.fits);
        }
        match setup {
            Setup::Embedded => msg.push_str(
                "\n  - the mock and the backend as their own processes, so each side has its own descriptors:\n      wxflow mock --addr 127.0.0.1:9000 &\n      wxflow backend --addr 127.0.0.1:9100 --wechat-api http://127.0.0.1:9000 &\n      wxflow run … --mock http://127.0.0.1:9000 --target http://127.0.0.1:9100",
            ),
            Setup::Backend => msg.push_str(
                "\n  - the backend as its own process:\n      wxflow backend --addr 127.0.0.1:9100 --wechat-api <the mock's URL> &\n      wxflow run … --mock <the mock's URL> --target http://127.0.0.1:9100",
            ),
            Setup::Given => {}
        }
        let _ = write!(msg, "\n  - a higher limit: `ulimit -n {}` before the run", self.need.next_multiple_of(1000));
        if self.need > hard {
            msg.push_str(
                " (above the hard limit: raise it as root, in /etc/security/limits.conf, with systemd's LimitNOFILE=, or docker run --ulimit nofile=…)",
            );
        }
        msg
    }
}

/// The largest PEM file, variables file or flow read: real ones are KiB.
pub const MAX_INPUT_BYTES: u64 = 1024 * 1024;

/// The largest shard report `merge` reads.
pub const MAX_SHARD_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a file of at most `max` bytes: never past `max`, whatever its size
/// claims (`/dev/zero` is refused after `max` bytes), and without waiting
/// on a FIFO nobody writes to (`/dev/null` reads as empty).
pub fn read_bounded(path: &std::path::Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let mut bytes = vec![];
    options.open(path).and_then(|f| f.take(max + 1).read_to_end(&mut bytes)).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("larger than {max} bytes"));
    }
    Ok(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn each_resource_errno_is_the_testers_and_others_are_not() {
        for (errno, is) in [
            (libc::EMFILE, Exhausted::Descriptors),
            (libc::ENFILE, Exhausted::SystemDescriptors),
            (libc::EADDRNOTAVAIL, Exhausted::Ports),
            (libc::ENOBUFS, Exhausted::Buffers),
            (libc::ENOMEM, Exhausted::Memory),
        ] {
            assert_eq!(Exhausted::from_errno(errno), Some(is));
            // As an io::Error's text inside a transport's chain of words.
            let text = format!("cannot connect to 127.0.0.1:9: {}", std::io::Error::from_raw_os_error(errno));
            assert_eq!(Exhausted::in_text(&text), Some(is), "{text}");
            assert!(is.diagnosis("a step").contains(is.name().0));
        }
        for errno in [libc::ECONNREFUSED, libc::ECONNRESET, libc::ETIMEDOUT, libc::EHOSTUNREACH, libc::EPIPE] {
            assert_eq!(Exhausted::from_errno(errno), None);
            assert_eq!(Exhausted::in_text(&std::io::Error::from_raw_os_error(errno).to_string()), None);
        }
        assert_eq!(Exhausted::in_text("the backend said (os error twenty-four)"), None);
        assert_eq!(
            Exhausted::in_text("connection refused (os error 111); then Too many open files (os error 24)"),
            Some(Exhausted::Descriptors)
        );
    }

    #[test]
    fn an_accept_error_for_want_of_descriptors_marks_the_servers_starved() {
        let before = Instant::now();
        assert_eq!(note_accept_error(&std::io::Error::from_raw_os_error(libc::ECONNABORTED)), None);
        assert_eq!(note_accept_error(&std::io::Error::from_raw_os_error(libc::EMFILE)), Some(Exhausted::Descriptors));
        assert!(starved_since(before));
        assert!(!starved_since(Instant::now() + std::time::Duration::from_secs(5)));
    }

    #[test]
    fn the_budget_grows_with_what_runs_in_this_process() {
        let given = needs(10_000, 2, Setup::Given, 100);
        let embedded = needs(10_000, 2, Setup::Embedded, 100);
        assert_eq!(given, 100 + 10_512 + 1_051);
        assert!(embedded > 2 * 10_000, "{embedded}");
        // The pooled legs stop growing past their pools.
        assert_eq!(needs(20_000, 2, Setup::Given, 0) - needs(10_000, 2, Setup::Given, 0), 11_000);
    }
}
