"""Pictures in real terminals, checked the way a person sees them (scripts/terminal-check).

Runs `radiochat --demo` and `radiochat view`, both with `--graphics auto`, in xterm (sixel,
`-ti vt340`, found by asking the terminal) and kitty (kitty graphics, software GL) on a
virtual X screen (Xvfb), types with xdotool, takes screenshots at fixed steps and checks the
pixels:

  shown     the chat opened: the picture in the pane, square, pixel-sharp (no half blocks),
            nothing drawn under or around it
  answered  after a question: the answer's first words on screen (OCR), the input box back to
            "Enter sends", the picture unchanged
  overlay   the help window open: no picture on top of it
  closed    help closed: the picture back
  preview   `/preview`: the picture large in its window, square, pixel-sharp
  unpreviewed  the preview closed: the pane's picture back
  resized   the window made wider: the picture in the moved pane, still square
  narrowed  the window one column narrower than the pane needs: the pane and its picture gone
  view      `radiochat view FILE`: the cutout square, pixel-sharp

In kitty the chat starts with the window size's pixel fields zeroed, so the picture is only
the right size if the terminal query for the cell size works; xterm's chat uses the window
size (xterm answers that query only with allowWindowOps on).

Screenshots are kept in the output folder (default target/terminal-check/) with a report.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

COLS, ROWS = 120, 36
PANE_INNER = 35  # ui.rs: PANE_WIDTH 36 minus its left border
QUESTION = "what is in this image?"
# Longest wait for a step's checks to pass (a slow or busy machine).
PATIENCE = 20


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


class Display:
    """A private Xvfb screen. Xvfb picks a free display number itself (`-displayfd`): choosing
    one by its lock file races with other users' X servers on a shared node."""

    def __init__(self):
        read_end, write_end = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "2400x1400x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write_end,),
        )
        os.close(write_end)
        with os.fdopen(read_end) as announced:
            number = announced.readline().strip()
        if not number.isdigit():
            raise SystemExit("Xvfb did not start")
        self.name = f":{number}"
        deadline = time.time() + 20
        while time.time() < deadline:
            if subprocess.run(["xdpyinfo", "-display", self.name], capture_output=True).returncode == 0:
                return
            time.sleep(0.2)
        raise SystemExit("Xvfb did not start")

    def close(self):
        self.proc.terminate()
        self.proc.wait()


class EarlyExit(Exception):
    """The terminal's process ended before its window appeared."""


class Terminal:
    """One terminal window running `command` with radiochat's data in a scratch home."""

    def __init__(self, kind, command, display, home, title):
        self.kind, self.display, self.title = kind, display, title
        env = dict(os.environ, DISPLAY=display.name, HOME=str(home))
        env.update(
            XDG_DATA_HOME=str(home / "data"),
            XDG_CONFIG_HOME=str(home / "config"),
            XDG_CACHE_HOME=str(home / "cache"),
        )
        for var in ("TMUX", "TERM_PROGRAM", "KITTY_WINDOW_ID", "COLORTERM"):
            env.pop(var, None)
        shell = ["sh", "-c", command + "; sleep 600"]
        if kind == "xterm":
            argv = [
                "xterm", "-ti", "vt340", "-b", "0", "-geometry", f"{COLS}x{ROWS}",
                "-fa", "DejaVu Sans Mono", "-fs", "10", "-title", title,
                "-xrm", "XTerm*numColorRegisters: 256",
                "-xrm", "XTerm*scrollBar: false",
                "-e", *shell,
            ]
        else:
            env["LIBGL_ALWAYS_SOFTWARE"] = "1"
            argv = [
                "kitty", "--title", title, "-o", "font_size=12",
                "-o", f"initial_window_width={COLS}c", "-o", f"initial_window_height={ROWS}c",
                "-o", "remember_window_size=no", "-o", "window_padding_width=0",
                "-o", "placement_strategy=top-left", "-o", "hide_window_decorations=yes",
                *shell,
            ]
        # One more start when the terminal dies before its window shows (seen once in CI, xterm
        # exit 1 with no window): the reason is printed either way.
        for attempt in (1, 2):
            self.log = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
            try:
                self.window = self._find_window(title)
                break
            except EarlyExit as died:
                if attempt == 2:
                    raise SystemExit(str(died))
                print(f"{died}; starting it again", flush=True)
        time.sleep(1.0)
        self.focus()
        self.measure(COLS, ROWS)

    def _find_window(self, title):
        """The window's id. xdotool's search fails outright (BadWindow) when a window it walks
        goes away under it, as kitty's start-up windows do: search again until the deadline."""
        deadline = time.time() + PATIENCE
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                said = self.log.read().decode(errors="replace").strip().splitlines()[-3:]
                raise EarlyExit(
                    f"{self.kind} exited ({self.proc.returncode}) before its window showed: {' / '.join(said)}"
                )
            try:
                found = self._xdo("search", "--name", f"^{title}$").split()
            except subprocess.CalledProcessError:
                found = []
            if found:
                return found[0]
            if time.time() > deadline:
                raise SystemExit(f"no {self.kind} window titled {title} after {PATIENCE} s")
            time.sleep(0.2)

    def _xdo(self, *args):
        return run(["xdotool", *args], env=dict(os.environ, DISPLAY=self.display.name))

    def geometry(self):
        out = self._xdo("getwindowgeometry", "--shell", self.window)
        values = dict(line.split("=") for line in out.split())
        return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])

    def measure(self, cols, rows):
        _, _, width, height = self.geometry()
        self.cell = (width // cols, height // rows)

    def grid(self):
        """Columns and rows the window holds now."""
        _, _, width, height = self.geometry()
        return width // self.cell[0], height // self.cell[1]

    def focus(self):
        self._xdo("windowfocus", "--sync", self.window)
        x, y, w, h = self.geometry()
        self._xdo("mousemove", str(x + w // 2), str(y + h // 2))

    def type(self, text):
        self.focus()
        self._xdo("type", "--delay", "40", text)

    def key(self, *keys):
        self.focus()
        self._xdo("key", "--delay", "60", *keys)

    def resize(self, cols, rows):
        self._xdo("windowsize", "--sync", self.window, str(cols * self.cell[0]), str(rows * self.cell[1]))
        time.sleep(2.0)

    def screenshot(self, path):
        x, y, w, h = self.geometry()
        whole = path.with_suffix(".root.png")
        run(["import", "-display", self.display.name, "-window", "root", str(whole)])
        Image.open(whole).convert("RGB").crop((x, y, x + w, y + h)).save(path)
        whole.unlink()
        return np.asarray(Image.open(path).convert("L"), dtype=np.int16)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---- what the pixels must show ---------------------------------------------------------


def sharpness(region):
    """Share of horizontally adjacent pixel pairs that differ. A picture drawn in pixels
    changes at almost every pixel; half blocks only at cell edges; blank or text regions rarely."""
    if region.size == 0 or region.shape[1] < 2:
        return 0.0
    return float(np.mean(region[:, 1:] != region[:, :-1]))


def background(shot):
    """The terminal's background grey: the most common value (xterm is white, kitty black)."""
    values, counts = np.unique(shot, return_counts=True)
    return int(values[np.argmax(counts)])


def lit(region, bg):
    """Pixels that differ from the background."""
    return np.abs(region - bg) > 12


def lit_box(region, bg):
    """The bounding box of the densely lit block (a picture), ignoring text and thin lines
    (borders, the cursor): rows and columns more than half lit."""
    lit = np.abs(region - bg) > 12
    # Columns first, loosely (the picture may fill only part of the height), then rows.
    cols = longest_run(lit.mean(axis=0) > 0.25)
    if cols is None:
        return None
    rows = longest_run(lit[:, cols[0] : cols[1]].mean(axis=1) > 0.5)
    if rows is None:
        return None
    y0, y1 = rows
    cols = longest_run(lit[y0:y1].mean(axis=0) > 0.5)
    if cols is None:
        return None
    return cols[0], y0, cols[1], y1


def longest_run(flags):
    """[start, end) of the longest run of True."""
    best, start = None, None
    for i, flag in enumerate(list(flags) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if best is None or i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return best


def pane_picture(shot, cell, cols, rows):
    """Check the pane's picture; returns (ok, details)."""
    cw, ch = cell
    x0 = (cols - PANE_INNER) * cw
    body_bottom = (rows - 3) * ch  # the input box takes the last three rows
    pane = shot[2 * ch : body_bottom, x0 : cols * cw]
    bg = background(shot)
    box = lit_box(pane, bg)
    if box is None:
        return False, {"problem": "the pane is empty"}
    bx0, by0, bx1, by1 = box
    width, height = bx1 - bx0, by1 - by0
    picture = pane[by0:by1, bx0:bx1]
    below = pane[by1 + ch // 2 :, :]
    details = {
        "box_px": [x0 + bx0, 2 * ch + by0, width, height],
        "aspect": round(width / max(height, 1), 3),
        "sharpness": round(sharpness(picture), 3),
        "lit_below": round(float(np.mean(lit(below, bg))) if below.size else 0.0, 4),
    }
    expected_width = PANE_INNER * cw
    problems = []
    if abs(width - expected_width) > cw:
        problems.append(f"{width} px wide, the pane is {expected_width}")
    if abs(width - height) > max(3, 0.02 * width):
        problems.append(f"not square: {width} × {height}")
    if details["sharpness"] < 0.5:
        problems.append("not pixel-sharp (half blocks?)")
    if details["lit_below"] > 0.002:
        problems.append("something drawn below the picture")
    details["problem"] = "; ".join(problems)
    return not problems, details


def big_picture(shot, cell, wider_than):
    """A square, pixel-sharp picture more than `wider_than` columns wide (the preview window)."""
    box = lit_box(shot, background(shot))
    if box is None:
        return False, {"problem": "no picture"}
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    details = {
        "box_px": [x0, y0, width, height],
        "aspect": round(width / max(height, 1), 3),
        "sharpness": round(sharpness(shot[y0:y1, x0:x1]), 3),
    }
    ok = (
        width > wider_than * cell[0]
        and abs(width - height) <= max(3, 0.02 * width)
        and details["sharpness"] >= 0.5
    )
    return ok, details


def no_picture(shot, cell, cols, rows, columns_from):
    """Nothing pixel-sharp in the screen's columns from `columns_from` on (below the status bar)."""
    cw, ch = cell
    region = shot[ch : (rows - 3) * ch, columns_from * cw : cols * cw]
    bg = background(shot)
    # Sharp pictures are dense; text is sparse. Look at each cell-sized block.
    dense = 0
    for y in range(0, region.shape[0] - ch, ch):
        for x in range(0, region.shape[1] - cw, cw):
            if sharpness(region[y : y + ch, x : x + cw]) > 0.6 and np.mean(lit(region[y : y + ch, x : x + cw], bg)) > 0.9:
                dense += 1
    return dense < 4, {"picture_cells": dense}


def ocr(path):
    big = path.with_suffix(".ocr.png")
    Image.open(path).convert("L").resize(
        (Image.open(path).width * 2, Image.open(path).height * 2), Image.LANCZOS
    ).save(big)
    text = run(["tesseract", str(big), "-", "--psm", "6"])
    big.unlink()
    return " ".join(text.split())


def similarity(wanted, text):
    """How well `wanted` appears somewhere in `text` (OCR misreads a letter here and there)."""
    import difflib

    best = 0.0
    for start in range(0, max(1, len(text) - len(wanted) + 1)):
        ratio = difflib.SequenceMatcher(None, wanted, text[start : start + len(wanted)]).ratio()
        best = max(best, ratio)
    return best


def last_answer(home, wait):
    """The answer in the session's journal, once its `done` record is written."""
    deadline = time.time() + wait
    while True:
        sessions = sorted((home / "data" / "radiochat" / "sessions").glob("*.jsonl"), key=os.path.getmtime)
        answer, done = "", False
        for line in sessions[-1].read_text().splitlines() if sessions else []:
            record = json.loads(line)
            if record.get("type") == "tokens":
                answer += record.get("text", "")
            done |= record.get("type") == "done"
        if done or time.time() > deadline:
            return answer
        time.sleep(0.5)


# ---- the steps -------------------------------------------------------------------------


# Runs a command with the window size's pixel fields zeroed, as terminals that do not fill
# them leave it: radiochat then has to ask the terminal for its cell size.
NO_PIXELS = (
    f"{sys.executable} -c 'import fcntl, os, struct, sys, termios; "
    'rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(0, termios.TIOCGWINSZ, bytes(8))); '
    'fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0)); '
    "os.execvp(sys.argv[1], sys.argv[1:])'"
)


def chat_steps(kind, binary, display, out, report, flags):
    home = Path(tempfile.mkdtemp(prefix=f"radiochat-{kind}-"))
    # kitty: the cell size from the terminal query (xterm does not answer it unless its
    # allowWindowOps is on); xterm: from the window size's pixels.
    # (kitty's 12 pt cells are not 8 px wide, so the 8 × 16 fallback would show.)
    wrapper = NO_PIXELS if kind == "kitty" else ""
    term = Terminal(kind, f"{wrapper} {binary} --demo {flags}", display, home, f"radiochat-{kind}-chat")
    try:
        time.sleep(6)
        cols, rows = COLS, ROWS

        def step(name, checks):
            """Screenshot and check; a slow machine gets more screenshots until the checks
            pass or PATIENCE runs out (the sleeps before each step are the minimum wait)."""
            path = out / f"{kind}-{name}.png"
            deadline = time.time() + PATIENCE
            while True:
                shot = term.screenshot(path)
                results = {}
                ok = True
                for label, check in checks:
                    good, details = check(shot, path)
                    results[label] = dict(details, ok=good)
                    ok &= good
                if ok or time.time() > deadline:
                    break
                time.sleep(1)
            report.append({"terminal": kind, "step": name, "screenshot": path.name, "ok": ok, **results})
            print(f"{'ok  ' if ok else 'FAIL'} {kind:5} {name:9} {json.dumps(results)}")

        picture = lambda shot, _: pane_picture(shot, term.cell, cols, rows)
        step("shown", [("picture", picture)])

        term.type(QUESTION)
        term.key("Return")
        answer = last_answer(home, wait=60)
        expected = " ".join(answer.split())[:40]

        def answered(_, path):
            text = ocr(path).lower()
            found = {
                "answer_start": similarity(expected.lower(), text) >= 0.6,
                "question": similarity(QUESTION, text) >= 0.8,
                "input_ready": "enter sends" in text and "answering" not in text,
            }
            return all(found.values()), {"expected": expected, **found}

        step("answered", [("picture", picture), ("text", answered)])

        term.key("question")  # '?' opens the help window
        time.sleep(1.5)

        def help_open(_, path):
            return "help" in ocr(path).lower(), {}

        step("overlay", [("help", help_open), ("no_picture", lambda s, _: no_picture(s, term.cell, cols, rows, cols - PANE_INNER))])

        term.key("Escape")
        time.sleep(1.5)
        step("closed", [("picture", picture), ("text", answered)])

        term.type("/preview")
        term.key("Return")
        time.sleep(3)
        step("preview", [("picture", lambda shot, _: big_picture(shot, term.cell, PANE_INNER + 1))])
        term.key("Escape")
        time.sleep(1.5)
        step("unpreviewed", [("picture", picture), ("text", answered)])

        cols = COLS + 20
        term.resize(cols, rows)
        cols, rows = term.grid()
        step("resized", [("picture", picture), ("text", answered)])

        # Back to the first width, then one column under the pane's minimum (100): the old
        # pane's first 14 columns stay on screen and must hold no picture.
        term.resize(COLS, rows)
        old_pane = COLS - PANE_INNER
        term.resize(99, rows)
        cols, rows = term.grid()
        step("narrowed", [("no_picture", lambda s, _: no_picture(s, term.cell, cols, rows, old_pane))])
    finally:
        term.close()
        cutout = home / "data" / "radiochat" / "demo" / "fr2-radio-galaxy.fits"
        if cutout.exists():
            shutil.copy(cutout, out / "cutout.fits")
        shutil.rmtree(home, ignore_errors=True)


def view_step(kind, binary, display, out, report, fits, flags):
    home = Path(tempfile.mkdtemp(prefix=f"radiochat-{kind}-"))
    term = Terminal(kind, f"{binary} view {fits} {flags}", display, home, f"radiochat-{kind}-view")
    try:
        time.sleep(4)
        path = out / f"{kind}-view.png"
        cw = term.cell[0]
        deadline = time.time() + PATIENCE
        while True:
            shot = term.screenshot(path)
            # 64 columns wide by default.
            ok, details = big_picture(shot, term.cell, 63)
            if "box_px" in details and details["box_px"][2] > 64 * cw + 1:
                ok, details["problem"] = False, "wider than 64 columns"
            if ok or time.time() > deadline:
                break
            time.sleep(1)
        report.append({"terminal": kind, "step": "view", "screenshot": path.name, "ok": ok, **details})
        print(f"{'ok  ' if ok else 'FAIL'} {kind:5} view      {json.dumps(details)}")
    finally:
        term.close()
        shutil.rmtree(home, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--terminals", default="xterm,kitty")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for tool in ("Xvfb", "xdotool", "import", "tesseract", "xdpyinfo", *args.terminals.split(",")):
        if shutil.which(tool) is None:
            raise SystemExit(f"terminal-check: {tool} is missing; run scripts/setup.sh")
    display = Display()
    report = []
    try:
        for kind in args.terminals.split(","):
            # Both with `auto`: kitty from $TERM, xterm by its device attributes (sixel with
            # `-ti vt340`).
            flags = ""
            chat_steps(kind, args.binary, display, args.out, report, flags)
            # The demo's own cutout, which the chat wrote.
            fits = args.out / "cutout.fits"
            view_step(kind, args.binary, display, args.out, report, fits, flags)
    finally:
        display.close()
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    failed = [f"{r['terminal']} {r['step']}" for r in report if not r["ok"]]
    print(f"screenshots and report.json in {args.out}")
    if failed:
        raise SystemExit("terminal-check failed: " + ", ".join(failed))


if __name__ == "__main__":
    main()
