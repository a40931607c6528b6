//! Whether the watches work. A watch that cannot list (RBAC lacking `list`, a CRD not installed)
//! leaves every reconcile waiting for a cache that never fills, so its failure is logged at WARN
//! and the controller is not Ready while any watch fails. The watcher retries with a backoff of
//! up to 30 s, so a lasting failure is warned about again only every `WARN_EVERY`.
//!
//! A watch works again when it yields anything (a list yields at least its start and end). A
//! watch restarted without a list yields nothing until an object changes, so a watch that has
//! not failed for `QUIET` (longer than the watcher's longest retry delay) counts as working too.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::runtime::watcher;

use crate::controller::metrics::server::Readiness;

/// How often a failure that lasts is warned about again (the retries in between log at debug).
const WARN_EVERY: Duration = Duration::from_secs(300);

/// How long after its last failure a watch that yielded nothing since counts as working again:
/// kube-runtime's default backoff retries within 30 s.
const QUIET: Duration = Duration::from_secs(45);

/// A watch's failures since it last worked.
struct Streak {
    failures: u64,
    warned: Instant,
    last: Instant,
}

pub struct WatchHealth {
    readiness: Readiness,
    failing: Mutex<HashMap<&'static str, Streak>>,
}

impl WatchHealth {
    pub fn new(readiness: Readiness) -> Self {
        Self {
            readiness,
            failing: Mutex::new(HashMap::new()),
        }
    }

    /// Called with every item of the watch of `resource` (before any filtering: every event
    /// shows the watch works again).
    pub fn observe<T>(&self, resource: &'static str, item: &Result<T, watcher::Error>) {
        let mut failing = self.failing.lock().expect("watch health lock");
        match item {
            Ok(_) => {
                if let Some(streak) = failing.remove(resource) {
                    self.readiness.set_failing_until(resource, None);
                    tracing::info!(resource, failures = streak.failures, "watch works again");
                }
            }
            Err(error) => {
                let now = Instant::now();
                self.readiness.set_failing_until(resource, Some(now + QUIET));
                // A failure after a quiet spell begins a new streak.
                failing.retain(|_, streak| now.duration_since(streak.last) < QUIET);
                match failing.get_mut(resource) {
                    None => {
                        let streak = Streak {
                            failures: 1,
                            warned: now,
                            last: now,
                        };
                        failing.insert(resource, streak);
                        tracing::warn!(resource, %error, "watch failed; nothing is reconciled until it works (retrying)");
                    }
                    Some(streak) => {
                        streak.failures += 1;
                        streak.last = now;
                        if now.duration_since(streak.warned) >= WARN_EVERY {
                            streak.warned = now;
                            let failures = streak.failures;
                            tracing::warn!(resource, failures, %error, "watch still failing (retrying)");
                        } else {
                            tracing::debug!(resource, %error, "watch failed again; retrying");
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use super::*;

    /// What a subscriber at the default level (info) writes, while `run` runs.
    fn logged(run: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().write(bytes)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, run);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    fn forbidden() -> Result<(), watcher::Error> {
        let status = kube::core::Status::failure(
            "outboundaccounts.outbound.dev is forbidden: cannot list resource",
            "Forbidden",
        );
        Err(watcher::Error::InitialListFailed(kube::Error::Api(status.boxed())))
    }

    #[test]
    fn a_failing_watch_warns_once_and_the_controller_is_not_ready_until_it_works() {
        let readiness = Readiness::default();
        readiness.set(true);
        let health = WatchHealth::new(readiness.clone());
        let log = logged(|| {
            for _ in 0..20 {
                health.observe("outboundaccounts", &forbidden());
            }
        });
        assert_eq!(
            log.matches(" WARN ").count(),
            1,
            "one warning, not one per retry:\n{log}"
        );
        assert!(log.contains("outboundaccounts") && log.contains("forbidden"), "{log}");
        assert!(!readiness.get(), "not Ready while a watch fails");
        assert_eq!(readiness.failing(), ["outboundaccounts"]);

        health.observe("outboundtasks", &Ok(()));
        assert!(!readiness.get(), "another watch working changes nothing");
        let log = logged(|| health.observe("outboundaccounts", &Ok(())));
        assert!(
            log.contains("watch works again") && log.contains("failures=20"),
            "{log}"
        );
        assert!(readiness.get(), "Ready again once the watch works");
    }

    #[test]
    fn a_watch_quiet_for_longer_than_the_retry_delay_counts_as_working() {
        let readiness = Readiness::default();
        readiness.set(true);
        let health = WatchHealth::new(readiness.clone());
        health.observe("secrets", &forbidden());
        assert!(!readiness.get());
        // The retry restarted the watch (no list, so nothing was yielded); QUIET has passed.
        let earlier = Instant::now().checked_sub(QUIET).unwrap();
        readiness.set_failing_until("secrets", Some(earlier + QUIET));
        health.failing.lock().unwrap().get_mut("secrets").unwrap().last = earlier;
        assert!(readiness.get(), "Ready once no failure came for QUIET");
        let log = logged(|| health.observe("secrets", &forbidden()));
        assert_eq!(log.matches(" WARN ").count(), 1, "a new failure is warned about: {log}");
        assert!(!readiness.get());
    }

    #[test]
    fn a_lasting_failure_is_warned_about_again() {
        let health = WatchHealth::new(Readiness::default());
        health.observe("outboundtasks", &forbidden());
        let earlier = Instant::now().checked_sub(WARN_EVERY).unwrap();
        health.failing.lock().unwrap().get_mut("outboundtasks").unwrap().warned = earlier;
        let log = logged(|| {
            health.observe("outboundtasks", &forbidden());
            health.observe("outboundtasks", &forbidden());
        });
        assert_eq!(log.matches(" WARN ").count(), 1, "{log}");
        assert!(log.contains("still failing") && log.contains("failures=2"), "{log}");
    }
}
