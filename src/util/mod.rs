//! Helpers owned by no domain: time stamps, advisory file locks, private atomic writes.

pub mod clock;
pub mod lock;
pub mod private_file;
pub mod url;
