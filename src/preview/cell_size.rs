//! The size of one character cell in pixels, which pixel pictures are scaled by: from the
//! window size the terminal reports through TIOCGWINSZ (kitty, xterm, foot, WezTerm and
//! iTerm2 fill its pixel fields, and OpenSSH carries them across), else by asking the
//! terminal (`CSI 16 t`, `CSI 14 t`), else 8 × 16.
//!
//! The query reads the terminal's answer from the same input the user types into. It ends
//! with a primary-device-attributes request that every terminal answers, so the read stops
//! as soon as the answers are in, and every byte that is not part of an answer is handed
//! back as typed input rather than dropped.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellSize {
    pub width: u16,
    pub height: u16,
}

impl CellSize {
    /// Used when the terminal says nothing: the classic 8 × 16 cell. On the small side on
    /// purpose — a picture drawn for cells smaller than the real ones comes out small, one
    /// drawn for larger ones spills out of its pane.
    pub const FALLBACK: CellSize = CellSize {
        width: 8,
        height: 16,
    };
}

/// The terminal's window size in cells and pixels, as TIOCGWINSZ on `/dev/tty` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub columns: u16,
    pub rows: u16,
    pub width_px: u16,
    pub height_px: u16,
}

impl Window {
    pub fn current() -> Option<Window> {
        let size = crossterm::terminal::window_size().ok()?;
        Some(Window {
            columns: size.columns,
            rows: size.rows,
            width_px: size.width,
            height_px: size.height,
        })
    }

    /// The cell size, when the pixel fields are filled in (many terminals leave them 0).
    pub fn cell(&self) -> Option<CellSize> {
        cell_from_window(self.width_px, self.height_px, self.columns, self.rows)
    }
}

fn cell_from_window(width: u16, height: u16, columns: u16, rows: u16) -> Option<CellSize> {
    if columns == 0 || rows == 0 {
        return None;
    }
    let cell = CellSize {
        width: width / columns,
        height: height / rows,
    };
    (cell.width >= 2 && cell.height >= 2).then_some(cell)
}

/// What a query got: the cell size if the terminal told it, and input typed meanwhile.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub cell: Option<CellSize>,
    pub typed: Vec<u8>,
    /// The device-attributes answer arrived (the terminal is listening).
    pub complete: bool,
    /// Its device attributes list 4: it draws sixel.
    pub sixel: bool,
}

/// The query: cell size, window size in pixels, then primary device attributes.
pub const QUERY: &[u8] = b"\x1b[16t\x1b[14t\x1b[c";

/// Ask the terminal on `tty` (already in raw mode, not echoing) and read its answers for at
/// most `timeout`. `window` converts a window-pixel answer into a cell size.
pub fn query(tty: RawFd, window: Option<Window>, timeout: Duration) -> io::Result<Answer> {
    write_all(tty, QUERY)?;
    let deadline = Instant::now() + timeout;
    let mut bytes = Vec::new();
    loop {
        let answer = parse(&bytes, window);
        let left = deadline.saturating_duration_since(Instant::now());
        if answer.complete || left.is_zero() {
            return Ok(answer);
        }
        let mut poll = libc::pollfd {
            fd: tty,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut poll, 1, left.as_millis().max(1) as libc::c_int) };
        if ready < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        if ready == 0 {
            continue;
        }
        let mut chunk = [0u8; 256];
        // SAFETY: reads into a buffer of the length given.
        let n = unsafe { libc::read(tty, chunk.as_mut_ptr().cast(), chunk.len()) };
        if n <= 0 {
            return Ok(parse(&bytes, window));
        }
        bytes.extend_from_slice(&chunk[..n as usize]);
    }
}

fn write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: writes from a live slice of the length given.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// Split what the terminal sent into its answers and everything else (typed input).
pub fn parse(bytes: &[u8], window: Option<Window>) -> Answer {
    let mut answer = Answer::default();
    let mut window_cell = None;
    let mut i = 0;
    while i < bytes.len() {
        if let Some((reply, len)) = csi_reply(&bytes[i..]) {
            match reply {
                Reply::Cell(cell) => answer.cell = Some(cell),
                Reply::WindowPixels(width, height) => {
                    window_cell =
                        window.and_then(|w| cell_from_window(width, height, w.columns, w.rows));
                }
                Reply::DeviceAttributes { sixel } => {
                    answer.complete = true;
                    answer.sixel = sixel;
                }
            }
            i += len;
        } else {
            answer.typed.push(bytes[i]);
            i += 1;
        }
    }
    answer.cell = answer.cell.or(window_cell);
    answer
}

enum Reply {
    Cell(CellSize),
    WindowPixels(u16, u16),
    DeviceAttributes { sixel: bool },
}

/// One answer at the start of `bytes`: `CSI 6;h;w t`, `CSI 4;h;w t` or `CSI ? … c`.
fn csi_reply(bytes: &[u8]) -> Option<(Reply, usize)> {
    let body = bytes.strip_prefix(b"\x1b[")?;
    let end = body.iter().position(|b| (0x40..=0x7e).contains(b))?;
    let (params, last) = (&body[..end], body[end]);
    let len = 2 + end + 1;
    if last == b'c' && params.first() == Some(&b'?') {
        // `?63;1;2;4;6c`: the terminal's class, then its features; 4 is sixel.
        let sixel = params[1..].split(|&b| b == b';').skip(1).any(|f| f == b"4");
        return Some((Reply::DeviceAttributes { sixel }, len));
    }
    if last != b't' {
        return None;
    }
    let fields: Vec<u16> = std::str::from_utf8(params)
        .ok()?
        .split(';')
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    match fields[..] {
        [6, height, width] if width > 0 && height > 0 => {
            Some((Reply::Cell(CellSize { width, height }), len))
        }
        [4, height, width] => Some((Reply::WindowPixels(width, height), len)),
        _ => None,
    }
}

/// What radiochat learns of the terminal before drawing pictures.
#[derive(Debug, PartialEq, Eq)]
pub struct Probe {
    pub cell: CellSize,
    /// It said it draws sixel (only known when asked).
    pub sixel: bool,
    /// Input typed while it was asked.
    pub typed: Vec<u8>,
}

/// The cell size from TIOCGWINSZ, else from a query on `tty` (in raw mode), else the fallback.
/// `ask_anyway`: query even when the window size gives the cell, to learn about sixel.
pub fn probe(tty: RawFd, ask_anyway: bool) -> Probe {
    let window = Window::current();
    let known = window.and_then(|w| w.cell());
    if let Some(cell) = known
        && !ask_anyway
    {
        return Probe {
            cell,
            sixel: false,
            typed: Vec::new(),
        };
    }
    // Over SSH the answer takes a round trip; a terminal that never answers costs this once.
    let answer = query(tty, window, Duration::from_millis(600)).unwrap_or_default();
    Probe {
        cell: known.or(answer.cell).unwrap_or(CellSize::FALLBACK),
        sixel: answer.sixel,
        typed: answer.typed,
    }
}

/// For a command that prints a picture and ends (`radiochat view`): as `probe`, putting the
/// terminal in raw mode just for the query and handing what was typed meanwhile back to the
/// terminal's input (TIOCSTI), where the kernel still allows that; without it those few
/// keystrokes would be lost, so then no query is made.
pub fn probe_for_printing(ask_anyway: bool) -> Probe {
    let window_cell = Window::current().and_then(|w| w.cell());
    let unasked = || Probe {
        cell: window_cell.unwrap_or(CellSize::FALLBACK),
        sixel: false,
        typed: Vec::new(),
    };
    if window_cell.is_some() && !ask_anyway {
        return unasked();
    }
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return unasked();
    };
    use std::os::fd::AsRawFd;
    let fd = tty.as_raw_fd();
    if !input_push_back_allowed() || crossterm::terminal::enable_raw_mode().is_err() {
        return unasked();
    }
    let mut probe = probe(fd, ask_anyway);
    let _ = crossterm::terminal::disable_raw_mode();
    for byte in std::mem::take(&mut probe.typed) {
        // SAFETY: TIOCSTI reads one byte from the pointer given.
        unsafe { libc::ioctl(fd, libc::TIOCSTI, &byte) };
    }
    probe
}

/// Whether TIOCSTI works here: Linux 6.2+ can switch it off (`dev.tty.legacy_tiocsti`).
fn input_push_back_allowed() -> bool {
    match std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti") {
        Ok(setting) => setting.trim() == "1",
        // Kernels without the switch always allow it.
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Window = Window {
        columns: 100,
        rows: 40,
        width_px: 0,
        height_px: 0,
    };

    #[test]
    fn answers_are_taken_out_and_typed_keys_kept_in_order() {
        let answer = parse(b"h\x1b[6;19;9ti\x1b[4;760;900t\x1b[?62;4cj", Some(WINDOW));
        assert_eq!(
            answer,
            Answer {
                cell: Some(CellSize {
                    width: 9,
                    height: 19
                }),
                typed: b"hij".to_vec(),
                complete: true,
                sixel: true,
            }
        );
    }

    #[test]
    fn device_attributes_listing_4_mean_sixel() {
        let xterm_vt340 = parse(b"\x1b[?63;1;2;4;6;9;15;16;22;28c", None);
        assert!(xterm_vt340.complete && xterm_vt340.sixel);
        for other in [
            &b"\x1b[?62;c"[..],
            b"\x1b[?1;2c",
            b"\x1b[?64;1;2;6;22c",
            b"\x1b[?4;6c",
        ] {
            let answer = parse(other, None);
            assert!(answer.complete && !answer.sixel, "{other:?}");
        }
    }

    #[test]
    fn window_pixels_give_the_cell_when_the_cell_query_is_not_answered() {
        let answer = parse(b"\x1b[4;800;1000t\x1b[?1;2c", Some(WINDOW));
        assert_eq!(
            answer.cell,
            Some(CellSize {
                width: 10,
                height: 20
            })
        );
        assert!(answer.complete && answer.typed.is_empty());
    }

    #[test]
    fn an_unanswered_query_is_incomplete_and_keeps_arrow_keys_as_typed() {
        let answer = parse(b"\x1b[A\x1b[6;0;0t", Some(WINDOW));
        assert!(!answer.complete);
        assert_eq!(answer.cell, None);
        assert_eq!(answer.typed, b"\x1b[A\x1b[6;0;0t".to_vec());
    }

    #[test]
    fn zero_pixel_fields_mean_unknown() {
        assert_eq!(WINDOW.cell(), None);
        let filled = Window {
            width_px: 900,
            height_px: 760,
            ..WINDOW
        };
        assert_eq!(
            filled.cell(),
            Some(CellSize {
                width: 9,
                height: 19
            })
        );
    }

    /// A real pseudo-terminal: the "terminal" answers the query after a key the user typed
    /// went ahead of it; the key comes back as typed input, the answer as the cell size.
    #[test]
    fn a_query_over_a_pty_reads_until_the_device_attributes() {
        let (mut master, slave) = open_pty();
        let answerer = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut asked = vec![0u8; QUERY.len()];
            master.read_exact(&mut asked).unwrap();
            assert_eq!(asked, QUERY);
            master.write_all(b"q\x1b[6;18;8t\x1b[?64c").unwrap();
            master
        });
        let answer = query(slave, Some(WINDOW), Duration::from_secs(5)).unwrap();
        let _master = answerer.join().unwrap();
        assert!(answer.complete);
        assert_eq!(
            answer.cell,
            Some(CellSize {
                width: 8,
                height: 18
            })
        );
        assert_eq!(answer.typed, b"q".to_vec());
        // SAFETY: closing the fd this test opened.
        unsafe { libc::close(slave) };
    }

    fn open_pty() -> (std::fs::File, RawFd) {
        use std::os::fd::FromRawFd;
        // SAFETY: plain libc pty calls on fds owned by this test; raw mode so nothing echoes.
        unsafe {
            let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            assert!(master >= 0);
            assert_eq!(libc::grantpt(master), 0);
            assert_eq!(libc::unlockpt(master), 0);
            let name = std::ffi::CStr::from_ptr(libc::ptsname(master)).to_owned();
            let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
            assert!(slave >= 0);
            let mut termios: libc::termios = std::mem::zeroed();
            libc::tcgetattr(slave, &mut termios);
            libc::cfmakeraw(&mut termios);
            libc::tcsetattr(slave, libc::TCSANOW, &termios);
            (std::fs::File::from_raw_fd(master), slave)
        }
    }
}
