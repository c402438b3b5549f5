//! Submissions at ten times the rate the system sustains: the orchestrator
//! sheds the excess at once (503 `QUEUE_FULL` with a `Retry-After`), its
//! queue and its memory stay bounded, and every task it accepted completes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Semaphore;

use crate::harness::*;

/// The bound on waiting tasks this scenario runs with.
const MAX_QUEUED: usize = 16;
/// How long the overload lasts.
const OVERLOAD: Duration = Duration::from_secs(8);

/// One submission's answer: status, time taken, whether it carried a
/// `Retry-After`, its error code and task id.
struct Answer {
    status: u16,
    took: Duration,
    retry_after: bool,
    code: String,
    task_id: Option<String>,
}

async fn submit_once(client: &reqwest::Client, orchestrator: &str, goal: String) -> Answer {
    let started = Instant::now();
    let res = client
        .post(format!("{orchestrator}/api/v1/tasks"))
        .json(&json!({"goal": goal, "budget": {"max_time_seconds": 120}}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("a submission failed outright under overload: {e}"));
    let status = res.status().as_u16();
    let retry_after = res.headers().contains_key("retry-after");
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    Answer {
        status,
        took: started.elapsed(),
        retry_after,
        code: body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        task_id: body["task_id"].as_str().map(str::to_string),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn wait_all(orchestrator: &str, ids: &[String], within: Duration) {
    let deadline = Instant::now() + within;
    for id in ids {
        let left = deadline.saturating_duration_since(Instant::now());
        let t = wait_task_until(orchestrator, id, left, ended).await;
        assert_eq!(t["status"], "completed", "{t:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_sheds_load() {
    bounded("overload_sheds_load", Duration::from_secs(150), async {
        let scratch = Scratch::new("chaos-overload");
        let sandbox = Sandbox::new(5);
        let mut env = vec![
            ("OCTOLLM_DATA_DIR".to_string(), scratch.join("data").display().to_string()),
            ("OCTOLLM_ORCHESTRATOR_MAX_QUEUED_TASKS".into(), MAX_QUEUED.to_string()),
            // The overload's own clients would trip the reflex's per-client limit.
            ("OCTOLLM_REFLEX_RATE_LIMIT_ENABLED".into(), "false".into()),
        ];
        env.extend(sandbox.env(&scratch.join("sandbox-root")));
        let up = Up::start(scratch.path(), &env).await;
        let o = up.orchestrator();
        let client = client();

        // The sustainable rate: how fast the system completes tasks with
        // every worker busy and a queue behind them.
        let n = 32;
        let started = Instant::now();
        let mut ids = Vec::new();
        for i in 0..n {
            let a = submit_once(&client, &o, format!("Echo calibration {i}")).await;
            assert_eq!(a.status, 202, "calibration submission refused ({})", a.code);
            ids.extend(a.task_id);
        }
        wait_all(&o, &ids, Duration::from_secs(60)).await;
        let sustainable = n as f64 / started.elapsed().as_secs_f64();
        let rate = 10.0 * sustainable;
        let baseline_kib = up.proc.rss_kib();
        eprintln!(
            "overload: sustainable {sustainable:.1} tasks/s; submitting at {rate:.0}/s for {OVERLOAD:?}; RSS {} MiB",
            baseline_kib / 1024
        );

        // Ten times that, open loop: a submission per tick whatever the
        // answers so far, as clients that do not wait for each other.
        let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
        let in_flight = Arc::new(Semaphore::new(512));
        let mut sends = Vec::new();
        let mut peak_kib = baseline_kib;
        let mut peak_waiting = 0usize;
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        let mut sampled = Instant::now();
        let overload_start = Instant::now();
        let mut i = 0u64;
        while overload_start.elapsed() < OVERLOAD {
            ticker.tick().await;
            let permit = in_flight.clone().try_acquire_owned().unwrap_or_else(|_| {
                panic!("512 submissions in flight: the orchestrator stopped answering")
            });
            let (client, url, answers) = (client.clone(), o.clone(), answers.clone());
            i += 1;
            sends.push(tokio::spawn(async move {
                let a = submit_once(&client, &url, format!("Echo overload {i}")).await;
                answers.lock().unwrap().push(a);
                drop(permit);
            }));
            if sampled.elapsed() >= Duration::from_millis(250) {
                sampled = Instant::now();
                peak_kib = peak_kib.max(up.proc.rss_kib());
                let (_, h) = get(&format!("{o}/health")).await;
                peak_waiting = peak_waiting.max(h["queued_tasks"].as_u64().unwrap_or(0) as usize);
            }
        }
        for s in sends {
            s.await.unwrap();
        }
        let answers = std::mem::take(&mut *answers.lock().unwrap());

        let accepted: Vec<String> = answers.iter().filter_map(|a| a.task_id.clone()).collect();
        let mut shed: Vec<Duration> = answers
            .iter()
            .filter(|a| a.status == 503)
            .map(|a| a.took)
            .collect();
        shed.sort();
        let mut all: Vec<Duration> = answers.iter().map(|a| a.took).collect();
        all.sort();
        eprintln!(
            "overload: {} submissions, {} accepted, {} shed; shed p50 {:?} p99 {:?}; all p99 {:?}; \
             queue peak {peak_waiting}; RSS peak {} MiB",
            answers.len(),
            accepted.len(),
            shed.len(),
            percentile(&shed, 0.5),
            percentile(&shed, 0.99),
            percentile(&all, 0.99),
            peak_kib / 1024
        );
        for a in &answers {
            match a.status {
                202 => assert!(a.task_id.is_some()),
                503 => {
                    assert_eq!(a.code, "QUEUE_FULL");
                    assert!(a.retry_after, "a 503 without Retry-After");
                }
                s => panic!("unexpected status {s} ({}) under overload", a.code),
            }
        }
        assert!(!accepted.is_empty(), "nothing was accepted under overload");
        assert!(
            shed.len() * 2 > answers.len(),
            "at ten times the sustainable rate most submissions must be shed: {} of {}",
            shed.len(),
            answers.len()
        );
        assert!(
            percentile(&shed, 0.99) < Duration::from_millis(500),
            "shedding is slow: p99 {:?}",
            percentile(&shed, 0.99)
        );
        // The queue held its bound (a little over it only while places are
        // being taken concurrently).
        assert!(
            peak_waiting <= MAX_QUEUED + 8,
            "{peak_waiting} tasks waited; the bound is {MAX_QUEUED}"
        );
        assert!(
            peak_kib < baseline_kib + 150 * 1024,
            "RSS grew from {} to {} MiB",
            baseline_kib / 1024,
            peak_kib / 1024
        );

        // Every accepted task completes.
        let drain = Instant::now();
        wait_all(&o, &accepted, Duration::from_secs(60)).await;
        eprintln!("overload: accepted tasks drained {:.1} s after the overload", drain.elapsed().as_secs_f64());
    })
    .await;
}
