//! Driving radiochat's TUI through a real terminal: tmux on a private socket. Used by
//! `radiochat-perf tui` and by the end-to-end tests.

use std::process::Command;
use std::time::{Duration, Instant};

/// Why driving tmux failed; a test's failure message.
#[derive(Debug, thiserror::Error)]
pub enum TmuxError {
    #[error("cannot run tmux ({0}); scripts/setup.sh installs it")]
    Missing(std::io::Error),
    #[error("tmux {command}: {message}")]
    Refused { command: String, message: String },
    #[error("tmux gave no {what}: {text:?}")]
    NoNumber { what: &'static str, text: String },
    /// The screen never showed what was awaited; it holds the last screen.
    #[error("waited {waited:?} for {what}; the screen:\n{screen}")]
    Timeout {
        what: String,
        waited: Duration,
        screen: String,
    },
}

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A tmux server of its own, with one `width`×`height` window running `command`
    /// (the command should `exec` radiochat so the pane's pid is radiochat's).
    pub fn start(name: &str, command: &str, width: u16, height: u16) -> Result<Tmux, TmuxError> {
        let tmux = Tmux {
            socket: format!("radiochat-{name}-{}", std::process::id()),
        };
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            command,
        ])?;
        // Keep the pane (and its last screen) after radiochat exits.
        tmux.run(&["set-option", "-t", "main", "remain-on-exit", "on"])?;
        Ok(tmux)
    }

    /// Start a command again in the same window after the last one exited.
    pub fn respawn(&self, command: &str) -> Result<(), TmuxError> {
        self.run(&["respawn-pane", "-k", "-t", "main", command])
            .map(drop)
    }

    fn run(&self, args: &[&str]) -> Result<String, TmuxError> {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .map_err(TmuxError::Missing)?;
        if !out.status.success() {
            return Err(TmuxError::Refused {
                command: args.first().unwrap_or(&"").to_string(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Keys in tmux's notation (`Enter`, `Escape`, `C-c`).
    pub fn keys(&self, keys: &[&str]) -> Result<(), TmuxError> {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.run(&args).map(drop)
    }

    /// Text typed literally.
    pub fn type_text(&self, text: &str) -> Result<(), TmuxError> {
        self.run(&["send-keys", "-t", "main", "-l", text]).map(drop)
    }

    /// Text typed literally, then Enter.
    pub fn line(&self, text: &str) -> Result<(), TmuxError> {
        self.type_text(text)?;
        std::thread::sleep(Duration::from_millis(50));
        self.keys(&["Enter"])
    }

    /// Resize the window, as a user dragging their terminal does (SIGWINCH to the pane).
    pub fn resize(&self, width: u16, height: u16) -> Result<(), TmuxError> {
        self.run(&[
            "resize-window",
            "-t",
            "main",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ])
        .map(|_| ())
    }

    pub fn screen(&self) -> Result<String, TmuxError> {
        self.run(&["capture-pane", "-p", "-t", "main"])
    }

    pub fn pane_pid(&self) -> Result<u32, TmuxError> {
        let text = self.run(&["list-panes", "-t", "main", "-F", "#{pane_pid}"])?;
        text.trim().parse().map_err(|_| TmuxError::NoNumber {
            what: "pane pid",
            text: text.clone(),
        })
    }

    /// The tmux server's pid: killing it with SIGKILL is a terminal that vanishes without a
    /// word (the pty goes away; whether a SIGHUP follows depends on the kernel and the shell).
    pub fn server_pid(&self) -> Result<u32, TmuxError> {
        let text = self.run(&["display-message", "-p", "-t", "main", "#{pid}"])?;
        text.trim().parse().map_err(|_| TmuxError::NoNumber {
            what: "server pid",
            text: text.clone(),
        })
    }

    pub fn pane_dead(&self) -> bool {
        self.run(&["list-panes", "-t", "main", "-F", "#{pane_dead}"])
            .is_ok_and(|s| s.trim() == "1")
    }

    /// Wait until the screen satisfies `done`; after `timeout` the error holds the screen.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Result<String, TmuxError> {
        let started = Instant::now();
        loop {
            let screen = self.screen()?;
            if done(&screen) {
                return Ok(screen);
            }
            if started.elapsed() > timeout {
                return Err(TmuxError::Timeout {
                    what: what.to_string(),
                    waited: timeout,
                    screen,
                });
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}
