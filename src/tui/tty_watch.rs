//! Waiting for terminal input without trusting crossterm with a dead terminal.
//!
//! crossterm 0.29 reads the tty in a loop that only ends on data or `WouldBlock`: once the
//! terminal is gone (the SSH connection or tmux server died and no SIGHUP reached us), every
//! read returns 0 bytes and `event::poll` never returns — the process spins at 100 % CPU
//! forever and never sees a stop signal. So the UI waits here, on the same tty crossterm
//! reads, and asks crossterm for events only when there is input and the line is still up.
//! A watchdog thread covers the one window this cannot: a hang-up in the microseconds between
//! this check and crossterm's read.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What a wait on the terminal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Input (or a resize) is waiting: crossterm can read it without blocking.
    Ready,
    /// The timeout passed with nothing to read.
    Quiet,
    /// The terminal hung up: nothing will ever be read from it again.
    HungUp,
}

/// The terminal crossterm reads from (stdin when it is a tty, else /dev/tty), plus a
/// self-pipe that SIGWINCH writes to, so a resize wakes the wait at once.
pub struct TtyWatch {
    fd: RawFd,
    _dev_tty: Option<File>,
    resized: UnixStream,
}

impl TtyWatch {
    pub fn open() -> io::Result<TtyWatch> {
        // SAFETY: isatty only inspects the descriptor.
        let stdin_is_tty = unsafe { libc::isatty(libc::STDIN_FILENO) } == 1;
        let dev_tty = if stdin_is_tty {
            None
        } else {
            Some(
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/tty")?,
            )
        };
        let fd = dev_tty
            .as_ref()
            .map_or(libc::STDIN_FILENO, |file| file.as_raw_fd());
        let (resized, writer) = UnixStream::pair()?;
        resized.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        signal_hook::low_level::pipe::register(signal_hook::consts::SIGWINCH, writer)?;
        Ok(TtyWatch {
            fd,
            _dev_tty: dev_tty,
            resized,
        })
    }

    /// Wait up to `timeout` for input, a resize, or a hang-up.
    pub fn wait(&self, timeout: Duration) -> Wait {
        let mut fds = [poll_fd(self.fd), poll_fd(self.resized.as_raw_fd())];
        let millis = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: fds is a valid array of pollfd for the length given.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
        if n < 0 {
            // EINTR (a signal arrived): the caller looks at its stop flag and waits again.
            return Wait::Quiet;
        }
        if hung_up(fds[0].revents) {
            return Wait::HungUp;
        }
        if fds[1].revents != 0 {
            self.drain_resizes();
        }
        if n > 0 { Wait::Ready } else { Wait::Quiet }
    }

    /// True once the terminal has hung up (checked without waiting).
    /// The terminal's file descriptor (for the one query made at start).
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    pub fn is_hung_up(&self) -> bool {
        is_hung_up(self.fd)
    }

    /// Exit the process if the terminal hangs up and the UI loop has not ended on its own
    /// within `grace` (it is stuck inside crossterm). `done` is set by the loop as it leaves.
    pub fn spawn_watchdog(&self, done: Arc<AtomicBool>, grace: Duration) -> io::Result<()> {
        let fd = self.fd;
        std::thread::Builder::new()
            .name("tty-watchdog".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(500));
                    if done.load(Ordering::Relaxed) {
                        return;
                    }
                    if is_hung_up(fd) {
                        break;
                    }
                }
                std::thread::sleep(grace);
                if !done.load(Ordering::Relaxed) {
                    // The journal is append-only, so what was written so far is kept.
                    std::process::exit(129);
                }
            })?;
        Ok(())
    }

    fn drain_resizes(&self) {
        use std::io::Read;
        let mut buf = [0u8; 64];
        while matches!((&self.resized).read(&mut buf), Ok(n) if n > 0) {}
    }
}

fn poll_fd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

fn hung_up(revents: libc::c_short) -> bool {
    revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

fn is_hung_up(fd: RawFd) -> bool {
    let mut fds = [poll_fd(fd)];
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) };
    n > 0 && hung_up(fds[0].revents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_whose_master_closed_reads_as_hang_up() {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two descriptors; the name/termios/winsize are optional.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty");
        assert!(!is_hung_up(slave), "a live terminal is not hung up");
        // SAFETY: closing descriptors this test owns.
        unsafe { libc::close(master) };
        assert!(is_hung_up(slave), "the terminal went away with its master");
        unsafe { libc::close(slave) };
    }
}
