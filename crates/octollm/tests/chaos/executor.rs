//! The executor killed (SIGKILL) in the middle of a step: the task ends in
//! a clear state within a bound, the sandboxed command dies with the
//! executor, and a restarted executor takes work again.

use std::time::{Duration, Instant};

use octollm_fake_llm::FakeLlm;
use octollm_testkit::ports::free_port;
use octollm_testkit::unique_name;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executor_killed_mid_step() {
    bounded(
        "executor_killed_mid_step",
        Duration::from_secs(120),
        async {
            let scratch = Scratch::new("chaos-exec");
            let fake = FakeLlm::start().await.unwrap();
            let sandbox = Sandbox::new(2);
            let ports = [(); 4].map(|_| free_port());
            let url = |p: u16| format!("http://127.0.0.1:{p}");
            let (o, r, p, e) = (url(ports[0]), url(ports[1]), url(ports[2]), url(ports[3]));
            let mut env = vec![
                (
                    "OCTOLLM_DATA_DIR".to_string(),
                    scratch.join("data").display().to_string(),
                ),
                (
                    "OCTOLLM_TOKEN_SECRET".into(),
                    "chaos-capability-secret".into(),
                ),
                ("OCTOLLM_ORCHESTRATOR_REFLEX_URL".into(), r.clone()),
                ("OCTOLLM_ORCHESTRATOR_PLANNER_URL".into(), p.clone()),
                ("OCTOLLM_ORCHESTRATOR_EXECUTOR_URL".into(), e.clone()),
                ("OCTOLLM_PLANNER_EXECUTOR_URL".into(), e.clone()),
                // The breaker that opens while the executor is gone lets a
                // probe through soon after it is back.
                (
                    "OCTOLLM_ORCHESTRATOR_BREAKER_COOLDOWN_SECONDS".into(),
                    "1".into(),
                ),
            ];
            env.extend(sandbox.env(&scratch.join("sandbox-root")));
            env.extend(llm_planner(&fake));
            let mut executor = serve("executor", ports[3], scratch.path(), &env);
            wait_ready(&e, Duration::from_secs(60)).await;
            let _reflex = serve("reflex", ports[1], scratch.path(), &env);
            wait_ready(&r, Duration::from_secs(60)).await;
            let _planner = serve("planner", ports[2], scratch.path(), &env);
            wait_ready(&p, Duration::from_secs(60)).await;
            let _orchestrator = serve("orchestrator", ports[0], scratch.path(), &env);
            wait_ready(&o, Duration::from_secs(60)).await;

            let tag = unique_name("exec");
            let id = submit(&o, &format!("CHAOS {tag} 30"), 120).await;
            wait_task_until(&o, &id, Duration::from_secs(30), |t| {
                t["steps"][0]["status"] == "running"
            })
            .await;
            // The command runs in the sandbox, under one of its uids.
            let deadline = Instant::now() + Duration::from_secs(10);
            while sandbox.live_processes().is_empty() {
                assert!(
                    Instant::now() < deadline,
                    "no sandboxed process showed up while the step ran"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }

            executor.kill9();
            let killed = Instant::now();

            // The sandboxed command dies with the executor.
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let left = sandbox.live_processes();
                if left.is_empty() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "sandboxed processes outlived the executor: {left:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }

            // The task fails, soon, saying the executor is unavailable; it
            // does not hang until its own deadline.
            let task = wait_task_until(&o, &id, Duration::from_secs(30), ended).await;
            let took = killed.elapsed();
            eprintln!(
                "executor killed: the task failed {:.1} s later ({})",
                took.as_secs_f64(),
                task["error"]["message"]
            );
            assert_eq!(task["status"], "failed", "{task:#}");
            assert_eq!(task["error"]["code"], "ARM_UNAVAILABLE", "{task:#}");
            let message = task["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("executor"),
                "the error names the executor: {task:#}"
            );
            assert_eq!(task["steps"][0]["status"], "failed", "{task:#}");
            assert!(
                took < Duration::from_secs(20),
                "the task took {took:?} to end after the executor died"
            );

            // A new executor on the same port: work resumes.
            let _executor = serve("executor", ports[3], scratch.path(), &env);
            wait_ready(&e, Duration::from_secs(60)).await;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let again = submit(&o, &format!("CHAOS {tag}-after 0"), 30).await;
                let after = wait_task_until(&o, &again, Duration::from_secs(30), ended).await;
                if after["status"] == "completed" {
                    break;
                }
                // Only the breaker still open may turn it away, briefly.
                assert_eq!(after["error"]["code"], "ARM_UNAVAILABLE", "{after:#}");
                assert!(
                    Instant::now() < deadline,
                    "the restarted executor never took work: {after:#}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        },
    )
    .await;
}
