//! Plan validation is the shared contract's (`octollm-policy`): the
//! orchestrator re-checks stored plans with the very same code.

pub use octollm_policy::plan::{validate, Rules, ValidationIssue};
