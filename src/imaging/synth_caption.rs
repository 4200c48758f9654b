//! A figure caption for a synthetic cutout, written from what was drawn — the stand-in for
//! radioimg-arxiv's paper captions in tests and demos (`finetune data --captions`).

use super::synth::Placed;

/// What a caption says of each kind of ingredient (one, and several).
fn phrase(what: &str, count: usize) -> String {
    let several = |one: &str, many: &str| {
        if count == 1 {
            one.to_string()
        } else {
            format!("{count} {many}")
        }
    };
    match what {
        "COMPACT" => several("a compact source", "compact sources"),
        "EXTENDED" => several("an elongated extended source", "elongated extended sources"),
        "DIFFUSE" => several(
            "a patch of faint diffuse emission",
            "patches of faint diffuse emission",
        ),
        "DIFFUSE-LARGE" => "large-scale irregular diffuse emission".into(),
        "FR-I" => several(
            "an FR-I radio galaxy with a bright core and fading jets",
            "FR-I radio galaxies",
        ),
        "FR-II" => several(
            "an FR-II radio galaxy with edge-brightened lobes and hotspots",
            "FR-II radio galaxies",
        ),
        "ARTEFACT" => "imaging artefacts (sidelobe rings) around a very bright source".into(),
        "WTF" => several(
            "a ring-shaped source of unclear nature",
            "ring-shaped sources",
        ),
        _ => several("a source component", "source components"),
    }
}

/// "Radio continuum cutout (64 × 64 pixels of 2″, 8″ beam) showing …", in drawing order.
pub fn caption(size: usize, truth: &[Placed]) -> String {
    let mut kinds: Vec<(&str, usize)> = Vec::new();
    for placed in truth {
        match kinds.iter_mut().find(|(what, _)| *what == placed.what) {
            Some((_, count)) => *count += 1,
            None => kinds.push((placed.what, 1)),
        }
    }
    let head = format!("Radio continuum cutout ({size} × {size} pixels of 2″, 8″ beam)");
    let parts: Vec<String> = kinds.iter().map(|(what, n)| phrase(what, *n)).collect();
    match parts.as_slice() {
        [] => format!("{head} with thermal noise only: no source is detected."),
        [one] => format!("{head} showing {one}."),
        [rest @ .., last] => format!("{head} showing {} and {last}.", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::synth_extent::Extent;

    fn placed(what: &'static str) -> Placed {
        Placed {
            what,
            x: 10.0,
            y: 10.0,
            scale: 2.0,
            extent: Extent::disc(10.0, 10.0, 2.0),
        }
    }

    #[test]
    fn captions_name_what_was_drawn() {
        assert_eq!(
            caption(64, &[]),
            "Radio continuum cutout (64 × 64 pixels of 2″, 8″ beam) with thermal noise only: no source is detected."
        );
        let sky = [
            placed("FR-II"),
            placed("COMPACT"),
            placed("COMPACT"),
            placed("ARTEFACT"),
        ];
        assert_eq!(
            caption(64, &sky),
            "Radio continuum cutout (64 × 64 pixels of 2″, 8″ beam) showing an FR-II radio galaxy with edge-brightened lobes and hotspots, 2 compact sources and imaging artefacts (sidelobe rings) around a very bright source."
        );
    }
}
