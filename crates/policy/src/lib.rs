//! The plan-and-policy contract every OctoLLM component reads.
//!
//! The planner validates plans with it, the orchestrator re-checks stored
//! plans and scopes capability tokens with it, and the executor enforces it
//! before a command reaches the sandbox. There is no second copy anywhere:
//! a rule changed here changes for all three at once.
//!
//! | module | rule |
//! |---|---|
//! | [`table`] | the command table: each command's capability and its options, as data |
//! | [`options`] | reads an argument vector the way GNU `getopt_long` does |
//! | [`command`] | the verdict for one command line: refused, or the capabilities it needs |
//! | [`files`] | the names a task's input files and artifacts may have |
//! | [`hosts`] | which hosts the HTTP action may reach (exact names, `*.` wildcards, listed IPs) |
//! | [`refs`] | the `{{step_N.output}}` grammar: parse, validate, resolve |
//! | [`approval`] | which steps wait for a person: capabilities, commands, hosts |
//! | [`plan`] | the plan validator: numbering, DAG, arms, commands, references, URLs |
//!
//! The sandbox remains the security boundary; this contract decides what a
//! step is *allowed to ask for* and which capability it must carry, so that
//! provenance and tokens say truthfully what a step did.

pub mod approval;
pub mod command;
pub mod files;
pub mod hosts;
pub mod options;
pub mod plan;
pub mod refs;
pub mod table;

pub use approval::{ApprovalPolicy, BadEntry};
pub use command::{CommandPolicy, Denial, DEFAULT_COMMANDS};
pub use hosts::{HostList, DEFAULT_HOSTS};
pub use plan::{validate, ExecPolicy, Rules, ValidationIssue};
pub use refs::{RefError, StepRef};
