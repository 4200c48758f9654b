//! The error of reading and writing a user's files, typed by who has to act: the user (the
//! input is wrong, or their path cannot be used: exit code 2) or the machine (a full disk, an
//! I/O failure: exit code 1). Domain modules return it where their callers branch on that.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The input is wrong; the message names the file and the problem.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing `path` failed.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl FileError {
    pub fn invalid(message: impl std::fmt::Display) -> Self {
        FileError::Invalid(message.to_string())
    }

    /// For `map_err`: an I/O failure on `path`.
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
        move |error| FileError::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    /// For `map_err`: `path` holds what cannot be read as it should (a parse error).
    pub fn unreadable<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> FileError + '_ {
        move |error| FileError::Invalid(format!("{}: {error}", path.display()))
    }

    /// The user can fix it (a wrong value, a missing or forbidden path); otherwise the
    /// machine failed (a full disk, a broken pipe, …).
    pub fn is_users(&self) -> bool {
        use std::io::ErrorKind::*;
        match self {
            FileError::Invalid(_) => true,
            FileError::Io { error, .. } => matches!(
                error.kind(),
                NotFound
                    | PermissionDenied
                    | AlreadyExists
                    | IsADirectory
                    | NotADirectory
                    | DirectoryNotEmpty
                    | InvalidInput
                    | InvalidData
                    | ReadOnlyFilesystem
                    | InvalidFilename
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_the_machines_and_a_missing_file_the_users() {
        let full = FileError::io(Path::new("/out/x"))(std::io::Error::from(
            std::io::ErrorKind::StorageFull,
        ));
        assert!(!full.is_users());
        assert!(full.to_string().starts_with("/out/x: "), "{full}");
        let missing =
            FileError::io(Path::new("/in/y"))(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(missing.is_users());
        assert!(FileError::invalid("bad").is_users());
        assert!(
            std::error::Error::source(&full).is_none(),
            "the cause is in the message, once"
        );
    }
}

/// A value of a flag, a setting or a slash command's argument that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadValue {
    /// Not one of the choices.
    #[error("unknown {what} '{value}'; expected {expected}")]
    Unknown {
        what: &'static str,
        value: String,
        expected: String,
    },
    /// Not of the form the value takes (the message says which).
    #[error("{0}")]
    Malformed(String),
}

impl BadValue {
    pub fn unknown(what: &'static str, value: &str, expected: impl Into<String>) -> BadValue {
        BadValue::Unknown {
            what,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}

/// For the slash-command parser, whose errors are the one line the chat shows.
impl From<BadValue> for String {
    fn from(error: BadValue) -> String {
        error.to_string()
    }
}
