use super::*;

const CELL: CellSize = CellSize {
    width: 8,
    height: 16,
};

const SCREEN: Rect = Rect::new(0, 0, 120, 40);
const PANE: Rect = Rect::new(85, 1, 35, 30);

/// `protocol`'s graphics, drawn at 8 × 16 px cells, and an empty 120 × 40 screen.
fn screen(protocol: Choice) -> (Graphics, Buffer) {
    (
        Graphics::new(protocol, CELL, false).unwrap(),
        Buffer::empty(SCREEN),
    )
}

fn square() -> RgbImage {
    RgbImage::from_fn(132, 132, |x, y| {
        image::Rgb([(x * 2) as u8, (y * 2) as u8, 90])
    })
}

/// A stand-in for the picture's half blocks: "▀▀" in its top-left corner.
fn halfblocks(at: Rect) -> Buffer {
    let mut text = Buffer::empty(at);
    text.set_string(at.x, at.y, "▀▀", Style::new());
    text
}

/// Ask until the encoding has arrived, as frames would.
fn reserve_ready(graphics: &mut Graphics, name: &str, picture: &RgbImage, area: Rect) -> Reserved {
    let started = std::time::Instant::now();
    loop {
        if let Some(reserved) = graphics.reserve(name, picture, area, halfblocks) {
            return reserved;
        }
        // The frame without it asked for nothing.
        graphics.wanted.clear();
        assert!(started.elapsed().as_secs() < 20, "never encoded");
        std::thread::sleep(std::time::Duration::from_millis(5));
        graphics.poll();
    }
}

/// `frame`'s output as text.
fn frame_text(
    graphics: &mut Graphics,
    buffer: &mut Buffer,
    wants: &[(&str, &RgbImage, Rect)],
) -> String {
    String::from_utf8(frame(graphics, buffer, wants)).unwrap()
}

fn frame(
    graphics: &mut Graphics,
    buffer: &mut Buffer,
    wants: &[(&str, &RgbImage, Rect)],
) -> Vec<u8> {
    buffer.reset();
    for (name, picture, area) in wants {
        let reserved = reserve_ready(graphics, name, picture, *area);
        buffer.set_style(reserved.at, reserved.style);
    }
    graphics.settle(buffer);
    let mut out = Vec::new();
    graphics.place(&mut out, buffer.area).unwrap();
    out
}

#[test]
fn a_picture_is_fitted_in_pixels_and_sent_once_while_it_stays() {
    for protocol in [Choice::Kitty, Choice::Sixel, Choice::Iterm] {
        let (mut graphics, mut buffer) = screen(protocol);
        let picture = square();
        let first = frame(&mut graphics, &mut buffer, &[("cutout", &picture, PANE)]);
        let text = String::from_utf8_lossy(&first);
        // 35 columns × 8 px = 280 px square: 35 × 18 cells, drawn at the pane's corner.
        assert_eq!(graphics.shown[0].at, Rect::new(85, 1, 35, 18));
        assert!(
            text.starts_with("\x1b7\x1b[2;86H"),
            "{protocol:?}: {:?}",
            &text[..20]
        );
        assert!(text.ends_with("\x1b8"));
        match protocol {
            Choice::Kitty => assert!(text.contains("a=T,f=100,q=2,i=")),
            Choice::Sixel => assert!(text.contains(";0q\"1;1;280;280")),
            _ => assert!(text.contains(";width=35;height=18;preserveAspectRatio=1:")),
        }
        // Answers stream, frames follow: nothing is sent again, nor its half blocks rendered.
        let again = graphics.reserve("cutout", &picture, PANE, |_| panic!("rendered again"));
        assert!(again.is_some());
        graphics.wanted.clear();
        for _ in 0..3 {
            let again = frame(&mut graphics, &mut buffer, &[("cutout", &picture, PANE)]);
            assert!(
                again.is_empty(),
                "{protocol:?} re-sent an unchanged picture"
            );
        }
        // The pane closes: kitty deletes its placement (keeping the data); the other
        // protocols are erased by ratatui writing the cells, which no longer hold the marker.
        let closed = frame_text(&mut graphics, &mut buffer, &[]);
        if protocol == Choice::Kitty {
            assert!(closed.contains("a=d,q=2,d=i,i="), "{closed:?}");
        } else {
            assert!(closed.is_empty());
        }
    }
}

#[test]
fn kitty_places_again_without_resending_and_resends_after_a_resize() {
    let (mut graphics, mut buffer) = screen(Choice::Kitty);
    let picture = square();
    frame(&mut graphics, &mut buffer, &[("cutout", &picture, PANE)]);
    frame(&mut graphics, &mut buffer, &[]);
    let back = frame_text(&mut graphics, &mut buffer, &[("cutout", &picture, PANE)]);
    assert!(
        back.contains("a=p,q=2,i=") && !back.contains("a=T"),
        "{back:?}"
    );
    // A resize clears the screen: the next frame sends the data again.
    let mut bigger = Buffer::empty(Rect::new(0, 0, 130, 40));
    let moved = Rect::new(95, 1, 35, 30);
    let resent = frame_text(&mut graphics, &mut bigger, &[("cutout", &picture, moved)]);
    assert!(
        resent.contains("a=T") && resent.contains("\x1b[2;96H"),
        "{resent:?}"
    );
}

#[test]
fn a_covered_picture_gives_way_to_its_half_blocks_and_comes_back_when_uncovered() {
    let (mut graphics, mut buffer) = screen(Choice::Sixel);
    let picture = square();
    frame(&mut graphics, &mut buffer, &[("cutout", &picture, PANE)]);
    // An overlay over part of the picture: the half blocks it was shown with fill in.
    buffer.reset();
    let reserved = graphics
        .reserve("cutout", &picture, PANE, halfblocks)
        .unwrap();
    buffer.set_style(reserved.at, reserved.style);
    buffer.set_string(100, 10, "help window", Style::new());
    graphics.settle(&mut buffer);
    let mut out = Vec::new();
    graphics.place(&mut out, SCREEN).unwrap();
    assert!(out.is_empty() && graphics.shown.is_empty());
    assert_eq!(
        buffer[(85, 1)].symbol(),
        "▀",
        "half blocks where the picture was"
    );
    assert_eq!(buffer[(100, 10)].symbol(), "h", "the overlay stays on top");
    // The overlay closes: the picture is drawn again.
    let back = frame(&mut graphics, &mut buffer, &[("cutout", &picture, PANE)]);
    assert!(String::from_utf8_lossy(&back).contains(";0q\"1;1;"));
}

#[test]
fn another_picture_in_the_same_place_gets_another_marker() {
    let (mut graphics, mut buffer) = screen(Choice::Sixel);
    let (a, b) = (
        square(),
        RgbImage::from_pixel(132, 132, image::Rgb([9, 9, 9])),
    );
    frame(&mut graphics, &mut buffer, &[("a.fits", &a, PANE)]);
    let first = buffer[(85, 1)].clone();
    let out = frame(&mut graphics, &mut buffer, &[("b.fits", &b, PANE)]);
    assert!(!out.is_empty());
    assert_ne!(
        buffer[(85, 1)],
        first,
        "ratatui must rewrite the cells, wiping a's pixels"
    );
}

#[test]
fn evicted_kitty_pictures_are_freed_in_the_terminal() {
    let (mut graphics, mut buffer) = screen(Choice::Kitty);
    let picture = square();
    let mut freed = String::new();
    for i in 0..(KEEP as u16 + 2) {
        let area = Rect::new(60, 1, 20 + i, 30);
        let out = frame(&mut graphics, &mut buffer, &[("cutout", &picture, area)]);
        freed.push_str(&String::from_utf8(out).unwrap());
    }
    assert!(freed.contains("d=I"), "old pictures' data freed");
    assert!(graphics.encoded.len() <= KEEP);
}

#[test]
fn a_pane_one_row_shorter_keeps_a_width_bound_picture_without_sending_it_again() {
    let (mut graphics, mut buffer) = screen(Choice::Sixel);
    let picture = square();
    frame(&mut graphics, &mut buffer, &[("cutout", &picture, PANE)]);
    // A notice line takes a row from the body: the 280 px picture still fits.
    let shorter = Rect::new(PANE.x, PANE.y, PANE.width, PANE.height - 1);
    let reserved = graphics.reserve("cutout", &picture, shorter, halfblocks);
    assert!(
        reserved.is_some(),
        "no re-encoding, so no half blocks meanwhile"
    );
    graphics.wanted.clear();
    let out = frame(&mut graphics, &mut buffer, &[("cutout", &picture, shorter)]);
    assert!(out.is_empty(), "nothing sent again");
}
