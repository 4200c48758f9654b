//! Driving radiochat's TUI through a real terminal: tmux on a private socket.

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A tmux server of its own, with one `width`×`height` window running `command`
    /// (the command should `exec` radiochat so the pane's pid is radiochat's).
    pub fn start(name: &str, command: &str, width: u16, height: u16) -> Tmux {
        let tmux = Tmux {
            socket: format!("radiochat-test-{name}-{}", std::process::id()),
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
        ]);
        // Keep the pane (and its last screen) after radiochat exits.
        tmux.run(&["set-option", "-t", "main", "remain-on-exit", "on"]);
        tmux
    }

    /// Start radiochat again in the same window after it exited.
    pub fn respawn(&self, command: &str) {
        self.run(&["respawn-pane", "-k", "-t", "main", command]);
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (scripts/setup.sh installs it)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Keys in tmux's notation (`Enter`, `Escape`, `C-c`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Text typed literally, then Enter.
    pub fn line(&self, text: &str) {
        self.run(&["send-keys", "-t", "main", "-l", text]);
        std::thread::sleep(Duration::from_millis(50));
        self.keys(&["Enter"]);
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "main"])
    }

    pub fn pane_pid(&self) -> u32 {
        self.run(&["list-panes", "-t", "main", "-F", "#{pane_pid}"])
            .trim()
            .parse()
            .expect("pane pid")
    }

    pub fn pane_dead(&self) -> bool {
        self.run(&["list-panes", "-t", "main", "-F", "#{pane_dead}"])
            .trim()
            == "1"
    }

    /// Wait until the screen satisfies `done`; panic with the last screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            if started.elapsed() > timeout {
                panic!("waited {timeout:?} for {what}; the screen:\n{screen}");
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
