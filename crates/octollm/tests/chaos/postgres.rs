//! PostgreSQL restarted in the middle of a task: the task completes once
//! the database is back, every step ran exactly once and no event is lost.

use std::time::{Duration, Instant};

use octollm_fake_llm::FakeLlm;
use octollm_testkit::unique_name;

use crate::harness::*;

/// How long the database is away.
const OUTAGE: Duration = Duration::from_secs(13);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_restart_mid_task() {
    bounded("pg_restart_mid_task", Duration::from_secs(120), async {
        let scratch = Scratch::new("chaos-pg");
        let pg = PrivatePg::start(scratch.join("pg"));
        let fake = FakeLlm::start().await.unwrap();
        let sandbox = Sandbox::new(1);
        let data = scratch.join("data");
        let mut env = vec![
            ("DATABASE_URL".to_string(), pg.url()),
            ("OCTOLLM_DATA_DIR".into(), data.display().to_string()),
        ];
        env.extend(sandbox.env(&scratch.join("sandbox-root")));
        env.extend(llm_planner(&fake));
        let up = Up::start(scratch.path(), &env).await;
        let o = up.orchestrator();

        // Three steps in a chain; the database goes away while the second
        // runs and comes back after it has finished.
        let tag = unique_name("pg");
        let id = submit(&o, &format!("CHAOS {tag} 0.5,3,0.5"), 90).await;
        wait_task_until(&o, &id, Duration::from_secs(30), |t| {
            t["steps"][1]["status"] == "running"
        })
        .await;
        pg.stop();
        let down = Instant::now();

        // While it is down the orchestrator says so, promptly.
        let asked = Instant::now();
        let (status, health) = get(&format!("{o}/health")).await;
        assert_eq!(status, 200, "{health}");
        assert_eq!(health["store"], "disconnected", "{health}");
        assert_eq!(health["status"], "degraded", "{health}");
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "/health took {:?} with the database down",
            asked.elapsed()
        );
        let (status, _) = get(&format!("{o}/ready")).await;
        assert_eq!(status, 503, "not ready without its store");

        // Down past the end of the running step, and longer than the
        // store's pool waits for a connection (10 s): the writes the step's
        // end makes fail and must be tried again, not given up.
        tokio::time::sleep(OUTAGE.saturating_sub(down.elapsed())).await;
        pg.start_again();

        let task = wait_task_until(&o, &id, Duration::from_secs(60), ended).await;
        assert_eq!(task["status"], "completed", "{task:#}");
        let steps = task["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 3, "{task:#}");
        for s in steps {
            assert_eq!(s["status"], "completed", "{task:#}");
            assert_eq!(s["attempts"], 1, "a step was started twice: {task:#}");
        }
        // The sandbox ran each step once: the audit log has one execution
        // per step's marker.
        for n in 1..=3 {
            let marker = format!("{tag}-step-{n}");
            assert_eq!(
                audit_runs(&data, &marker),
                1,
                "step {n} ran {} times",
                audit_runs(&data, &marker)
            );
        }

        // Every event is there, once, in order: numbered 1..n without a
        // gap, one start and one end per step, one end of the task.
        let rows = pg.query(&format!(
            "SELECT seq, kind, COALESCE(step, 0) FROM events WHERE task_id = '{id}' ORDER BY seq"
        ));
        let events: Vec<(i64, String, i64)> = rows
            .lines()
            .map(|l| {
                let mut it = l.split('|');
                (
                    it.next().unwrap().parse().unwrap(),
                    it.next().unwrap().to_string(),
                    it.next().unwrap().parse().unwrap(),
                )
            })
            .collect();
        for (i, (seq, _, _)) in events.iter().enumerate() {
            assert_eq!(*seq, i as i64 + 1, "event numbers have a gap: {rows}");
        }
        let count = |kind: &str, step: i64| {
            events
                .iter()
                .filter(|(_, k, s)| k == kind && *s == step)
                .count()
        };
        for n in 1..=3 {
            assert_eq!(count("step.started", n), 1, "step {n}: {rows}");
            assert_eq!(count("step.completed", n), 1, "step {n}: {rows}");
        }
        assert_eq!(count("task.completed", 0), 1, "{rows}");
        assert_eq!(
            events.last().map(|e| e.1.as_str()),
            Some("task.completed"),
            "{rows}"
        );

        // And the system takes new work as before.
        let again = submit(&o, &format!("CHAOS {tag}-after 0"), 30).await;
        let after = wait_task_until(&o, &again, Duration::from_secs(30), ended).await;
        assert_eq!(after["status"], "completed", "{after:#}");
    })
    .await;
}
