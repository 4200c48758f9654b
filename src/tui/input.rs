//! The message editor: several lines, a cursor, and the history of sent messages.

/// Text being typed. The cursor is (line, column in chars).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputBox {
    lines: Vec<String>,
    row: usize,
    col: usize,
    history: Vec<String>,
    /// Position while browsing history (`history.len()` = the draft).
    history_pos: usize,
    draft: String,
}

impl InputBox {
    pub fn new() -> InputBox {
        InputBox {
            lines: vec![String::new()],
            ..InputBox::default()
        }
    }

    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    pub fn is_empty(&self) -> bool {
        self.lines.len() == 1 && self.lines[0].is_empty()
    }

    pub fn set_text(&mut self, text: &str) {
        self.lines = text.split('\n').map(str::to_string).collect();
        if self.lines.is_empty() {
            self.lines.push(String::new());
        }
        self.row = self.lines.len() - 1;
        self.col = self.lines[self.row].chars().count();
    }

    pub fn clear(&mut self) {
        self.set_text("");
    }

    /// Take the text for sending and remember it in the history.
    pub fn submit(&mut self) -> String {
        let text = self.text();
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        self.history_pos = self.history.len();
        self.clear();
        text
    }

    pub fn insert_char(&mut self, c: char) {
        let at = self.byte_at(self.col);
        self.lines[self.row].insert(at, c);
        self.col += 1;
    }

    /// Insert text that may hold newlines (a paste) in one step, linear in its length.
    pub fn insert_str(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let at = self.byte_at(self.col);
        let tail = self.lines[self.row].split_off(at);
        let mut pieces = text.split('\n');
        if let Some(first) = pieces.next() {
            self.lines[self.row].push_str(first);
        }
        let new_lines: Vec<String> = pieces.map(str::to_string).collect();
        let added = new_lines.len();
        self.lines.splice(self.row + 1..self.row + 1, new_lines);
        self.row += added;
        self.col = self.lines[self.row].chars().count();
        self.lines[self.row].push_str(&tail);
    }

    pub fn newline(&mut self) {
        self.insert_str("\n");
    }

    pub fn backspace(&mut self) {
        if self.col > 0 {
            let at = self.byte_at(self.col - 1);
            self.lines[self.row].remove(at);
            self.col -= 1;
        } else if self.row > 0 {
            let line = self.lines.remove(self.row);
            self.row -= 1;
            self.col = self.lines[self.row].chars().count();
            self.lines[self.row].push_str(&line);
        }
    }

    pub fn delete(&mut self) {
        if self.col < self.lines[self.row].chars().count() {
            let at = self.byte_at(self.col);
            self.lines[self.row].remove(at);
        } else if self.row + 1 < self.lines.len() {
            let next = self.lines.remove(self.row + 1);
            self.lines[self.row].push_str(&next);
        }
    }

    /// Delete the word before the cursor (Ctrl-W).
    pub fn delete_word(&mut self) {
        let chars: Vec<char> = self.lines[self.row].chars().collect();
        let mut start = self.col;
        while start > 0 && chars[start - 1].is_whitespace() {
            start -= 1;
        }
        while start > 0 && !chars[start - 1].is_whitespace() {
            start -= 1;
        }
        let (a, b) = (self.byte_at(start), self.byte_at(self.col));
        self.lines[self.row].replace_range(a..b, "");
        self.col = start;
    }

    pub fn left(&mut self) {
        if self.col > 0 {
            self.col -= 1;
        } else if self.row > 0 {
            self.row -= 1;
            self.col = self.lines[self.row].chars().count();
        }
    }

    pub fn right(&mut self) {
        if self.col < self.lines[self.row].chars().count() {
            self.col += 1;
        } else if self.row + 1 < self.lines.len() {
            self.row += 1;
            self.col = 0;
        }
    }

    pub fn home(&mut self) {
        self.col = 0;
    }

    pub fn end(&mut self) {
        self.col = self.lines[self.row].chars().count();
    }

    /// Up: the line above, or the previous history entry from the first line.
    pub fn up(&mut self) {
        if self.row > 0 {
            self.row -= 1;
            self.col = self.col.min(self.lines[self.row].chars().count());
        } else if self.history_pos > 0 {
            if self.history_pos == self.history.len() {
                self.draft = self.text();
            }
            self.history_pos -= 1;
            let entry = self.history[self.history_pos].clone();
            self.set_text(&entry);
        }
    }

    /// Down: the line below, or the next history entry (then the draft) from the last line.
    pub fn down(&mut self) {
        if self.row + 1 < self.lines.len() {
            self.row += 1;
            self.col = self.col.min(self.lines[self.row].chars().count());
        } else if self.history_pos < self.history.len() {
            self.history_pos += 1;
            let entry = if self.history_pos == self.history.len() {
                std::mem::take(&mut self.draft)
            } else {
                self.history[self.history_pos].clone()
            };
            self.set_text(&entry);
        }
    }

    fn byte_at(&self, col: usize) -> usize {
        let line = &self.lines[self.row];
        line.char_indices()
            .nth(col)
            .map(|(i, _)| i)
            .unwrap_or(line.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_newlines_and_deleting_across_lines() {
        let mut input = InputBox::new();
        "héllo".chars().for_each(|c| input.insert_char(c));
        input.newline();
        input.insert_str("wörld");
        assert_eq!(input.text(), "héllo\nwörld");
        input.home();
        input.backspace();
        assert_eq!(input.text(), "héllowörld");
        assert_eq!(input.cursor(), (0, 5));
        input.delete_word();
        assert_eq!(input.text(), "wörld");
    }

    #[test]
    fn history_walks_back_and_returns_to_the_draft() {
        let mut input = InputBox::new();
        input.insert_str("first");
        input.submit();
        input.insert_str("second");
        input.submit();
        input.insert_str("draft");
        input.up();
        assert_eq!(input.text(), "second");
        input.up();
        assert_eq!(input.text(), "first");
        input.down();
        input.down();
        assert_eq!(input.text(), "draft");
    }

    #[test]
    fn a_ten_thousand_line_paste_lands_in_the_middle_intact() {
        let mut input = InputBox::new();
        input.insert_str("before  after");
        (0..6).for_each(|_| input.left());
        let paste: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
        input.insert_str(&paste);
        assert_eq!(input.lines().len(), 10_001);
        assert_eq!(input.lines()[0], "before line 0");
        assert_eq!(input.lines()[10_000], " after");
        assert_eq!(input.cursor(), (10_000, 0));
    }
}
