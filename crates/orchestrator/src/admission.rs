//! Admission control: a bound on the tasks waiting for a worker.
//!
//! Submissions beyond what the workers get through pile up as `pending`
//! rows, and the wait of every task behind them grows without end. Past
//! `max_queued_tasks` a submission is refused at once with a 503
//! `QUEUE_FULL` and a `Retry-After`, before anything costly (screening,
//! the store) is done for it.
//!
//! The count is kept in process, so checking it costs nothing: a
//! submission takes a place, a worker's claim of a pending task gives one
//! back. Every second it is set again from the store, which corrects what
//! the process cannot see (other orchestrators' submissions and claims,
//! cancelled tasks); with several orchestrators on one database the bound
//! holds to within about a second of their submissions.

use std::sync::atomic::{AtomicI64, Ordering};

use octollm_server::ApiError;
use serde_json::json;

/// Seconds a refused client is asked to wait.
const RETRY_AFTER_SECONDS: u64 = 5;

pub(crate) struct Admission {
    /// 0: no bound (the count is still kept, for the gauge).
    limit: i64,
    queued: AtomicI64,
}

/// A place in the queue, held from the check until the task is stored;
/// given back when the submission fails or needs no worker.
pub(crate) struct Place<'a> {
    admission: &'a Admission,
    kept: bool,
}

impl Place<'_> {
    /// The task is stored and waits for a worker: the place stays taken
    /// until a worker claims it.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.admission.left();
        }
    }
}

impl Admission {
    pub fn new(limit: u64) -> Admission {
        Admission {
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
            queued: AtomicI64::new(0),
        }
    }

    /// A place for one more task, or the 503 that refuses it.
    pub fn enter(&self) -> Result<Place<'_>, ApiError> {
        let before = self.queued.fetch_add(1, Ordering::SeqCst);
        if self.limit > 0 && before >= self.limit {
            self.left();
            return Err(ApiError::unavailable(
                "QUEUE_FULL",
                format!(
                    "{} tasks are already waiting for a worker (the bound is {}); \
                     try again shortly",
                    before, self.limit
                ),
            )
            .with_details(json!({"queued": before, "max_queued_tasks": self.limit}))
            .with_retry_after(RETRY_AFTER_SECONDS));
        }
        Ok(Place {
            admission: self,
            kept: false,
        })
    }

    /// One waiting task left the queue (a worker claimed it).
    pub fn left(&self) {
        let _ = self
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some((n - 1).max(0)));
    }

    /// The store's own count of waiting tasks.
    pub fn recount(&self, pending: i64) {
        self.queued.store(pending.max(0), Ordering::SeqCst);
    }

    pub fn queued(&self) -> i64 {
        self.queued.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_bound_and_gives_places_back() {
        let a = Admission::new(2);
        let p1 = a.enter().unwrap();
        let p2 = a.enter().unwrap();
        let refused = a.enter().err().unwrap();
        assert_eq!(refused.code, "QUEUE_FULL");
        assert_eq!(refused.status.as_u16(), 503);
        assert_eq!(a.queued(), 2, "a refusal takes no place");
        drop(p1);
        assert_eq!(a.queued(), 1, "a failed submission gives its place back");
        p2.keep();
        let p3 = a.enter().unwrap();
        p3.keep();
        assert!(a.enter().is_err());
        a.left();
        assert!(a.enter().is_ok());
        a.recount(0);
        a.left();
        assert_eq!(a.queued(), 0, "never below zero");
    }

    #[test]
    fn zero_means_no_bound() {
        let a = Admission::new(0);
        let places: Vec<_> = (0..1000).map(|_| a.enter().unwrap()).collect();
        assert_eq!(a.queued(), 1000);
        drop(places);
        assert_eq!(a.queued(), 0);
    }
}
