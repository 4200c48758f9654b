//! Helpers owned by no domain: time stamps, content hashes and stable seeds, advisory file
//! locks, private atomic writes, the error of a user's file, charts, text cut to a width.

pub mod clock;
pub mod error;
pub mod hash;
pub mod lock;
pub mod plot;
pub mod png;
pub mod priority;
pub mod private_file;
pub mod text;
pub mod url;
