//! One module per subcommand.

pub mod exec;
pub mod plan;
pub mod run;
pub mod scan;
pub mod serve;
pub mod up;
