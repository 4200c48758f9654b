//! `radiochat view`, `info` and `synth`: images and skies.

use super::{Context, print_json, print_lines};
use clap::Args;
use radiochat::commands::flags::{FitsFlags, GraphicsFlag, ImageFlags};
use radiochat::commands::synth::SynthKind;
use radiochat::commands::{self, CommandError, CommandResult};
use radiochat::config::Flags;
use radiochat::imaging::stretch::Stretch;
use radiochat::imaging::synth::Balance;
use radiochat::imaging::synth_shapes::OptionOrder;
use std::path::PathBuf;

#[derive(Args)]
pub struct ViewCli {
    pub file: PathBuf,
    #[command(flatten)]
    pub fits: FitsFlags,
    /// How pixels become grey levels; radio-llava is exactly the model input.
    #[arg(long, value_enum, default_value = "radio-llava")]
    pub stretch: Stretch,
    #[command(flatten)]
    pub image: ImageFlags,
    /// Write exactly the RGB image the model receives to this PNG.
    #[arg(long, value_name = "OUT.png")]
    pub png: Option<PathBuf>,
    /// Print the header only.
    #[arg(long)]
    pub no_preview: bool,
    /// auto (from $TERM and friends; half blocks inside tmux, none when stdout is not a
    /// terminal) or a protocol.
    #[arg(long, value_enum, default_value = "auto")]
    pub graphics: GraphicsFlag,
    /// Preview width in terminal columns (default: up to 64, within the terminal).
    #[arg(long, value_name = "COLS")]
    pub width: Option<u32>,
}

#[derive(Args)]
pub struct InfoCli {
    pub file: PathBuf,
    #[command(flatten)]
    pub fits: FitsFlags,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct SynthCli {
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 100)]
    pub n: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Cutout side in pixels (2″ pixels, 8″ beam).
    #[arg(long, default_value_t = 132)]
    pub size: usize,
    /// radioimg (tags), rgz (1C-1P … 3C-3P), mirabest (FR-I / FR-II), gmnist (Galaxy
    /// MNIST's four optical classes, colour PNGs) or shapes (general multiple-choice
    /// questions on shapes, colours and counts, for G1).
    #[arg(long, value_enum, default_value = "radioimg")]
    pub kind: SynthKind,
    /// radioimg: probabilities of the ingredients, e.g. `radio-galaxy=0.5,extended=0`
    /// (radio-galaxy, extended, diffuse, diffuse-large, artefact, peculiar, border).
    #[arg(long, value_name = "NAME=P,…", default_value = "")]
    pub balance: Balance,
    /// shapes: each question kind's options always in one order, so the answer letter names
    /// what is seen (a skill a tiny model can learn; shuffled options, the default, need the
    /// option texts matched against the picture).
    #[arg(long)]
    pub fixed_options: bool,
}

pub fn run_info(info: InfoCli) -> CommandResult<i32> {
    let report = commands::image::info(&info.file, &info.fits.options()?)?;
    if info.json {
        print_json(&report)?;
    } else {
        print_lines(&report.lines());
    }
    Ok(0)
}

pub fn run_synth(synth: SynthCli) -> CommandResult<i32> {
    let args = commands::synth::SynthArgs {
        out: synth.out,
        n: synth.n,
        seed: synth.seed,
        size: synth.size,
        kind: synth.kind,
        balance: synth.balance,
        option_order: if synth.fixed_options {
            OptionOrder::Fixed
        } else {
            OptionOrder::Shuffled
        },
    };
    let dataset = commands::synth::run(&args)?;
    let labels = dataset.with_file_name("labels");
    if matches!(args.kind, commands::synth::SynthKind::Radio(_)) {
        println!(
            "wrote {} cutouts, {} and their source boxes in {}",
            args.n,
            dataset.display(),
            labels.display()
        );
    } else {
        println!("wrote {} pictures and {}", args.n, dataset.display());
    }
    Ok(0)
}

pub fn run_view(context: &Context, view: ViewCli) -> CommandResult<i32> {
    use radiochat::preview::{self, Graphics};
    use std::io::IsTerminal;
    let explicit = match view.graphics {
        GraphicsFlag::Auto if !std::io::stdout().is_terminal() => Some(Graphics::None),
        other => other.explicit(),
    };
    let args = commands::image::ViewArgs {
        path: view.file.clone(),
        fits: view.fits.options()?,
        stretch: view.stretch,
        transform: context
            .settings(view.image.over(Flags::default()))?
            .transform(),
    };
    let shown = commands::image::view(&args)?;
    if let Some(out) = &view.png {
        commands::image::write_png(&shown.model_input, out)?;
    }
    if let Some(header) = &shown.image.header {
        print_lines(&header.lines());
    }
    if !view.no_preview && explicit != Some(Graphics::None) {
        let (terminal_columns, terminal_rows) = crossterm::terminal::size().unwrap_or((80, 42));
        let columns = view
            .width
            .unwrap_or_else(|| (terminal_columns as u32).min(64))
            .max(1);
        let (graphics, probe) = preview::choose(explicit, preview::cell_size::probe_for_printing);
        let cell = probe.map_or(preview::CellSize::FALLBACK, |p| p.cell);
        if let Some(warning) = preview::tmux_passthrough_warning(graphics) {
            eprintln!("radiochat: {warning}");
        }
        let max_rows = terminal_rows.saturating_sub(2).max(4);
        let mut stdout = std::io::stdout().lock();
        let drawn = preview::draw(
            &mut stdout,
            &shown.preview,
            graphics,
            columns,
            max_rows,
            cell,
            preview::in_tmux(),
        );
        match drawn {
            // `radiochat view … | head` closes the pipe early: not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
            other => other.map_err(|e| CommandError::Failed(e.into()))?,
        }
    }
    if let Some(out) = &view.png {
        let (w, h) = shown.model_input.dimensions();
        println!("wrote {} ({w} × {h}, the model input)", out.display());
    }
    Ok(0)
}
