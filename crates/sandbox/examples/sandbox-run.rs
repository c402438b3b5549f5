//! Runs one command in the sandbox: `sandbox-run CMD ARGS...`.
use std::io::Write;
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: sandbox-run CMD ARGS...");
        std::process::exit(2);
    };
    let sandbox = match octollm_sandbox::Sandbox::new(octollm_sandbox::SandboxConfig::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sandbox unavailable: {e}");
            std::process::exit(125);
        }
    };
    let spec = octollm_sandbox::ExecSpec {
        program,
        args: args.collect(),
        stdin: Vec::new(),
        timeout: Duration::from_secs(10),
        workspace: None,
    };
    let mut sink = |stream: octollm_sandbox::Stream, chunk: &[u8]| {
        let _ = match stream {
            octollm_sandbox::Stream::Stdout => std::io::stdout().write_all(chunk),
            octollm_sandbox::Stream::Stderr => std::io::stderr().write_all(chunk),
        };
    };
    let code = match sandbox.run(&spec, &mut sink) {
        Ok(o) => {
            eprintln!(
                "[exit={:?} signal={:?} timed_out={} {:?} cpu={:?} rss={}]",
                o.exit_code, o.signal, o.timed_out, o.duration, o.cpu_time, o.peak_rss_bytes
            );
            o.status_code()
        }
        Err(e) => {
            eprintln!("sandbox error: {e}");
            125
        }
    };
    // exit() skips destructors: drop first so the slot cgroups go away.
    drop(sandbox);
    std::process::exit(code);
}
