//! One module per subcommand.

pub mod exec;
pub mod plan;
pub mod scan;
pub mod serve;
