//! The slash-command vocabulary of the chat: parsing, one-line help for the palette, and
//! did-you-mean for typos. Each command is also reachable as a `radiochat` subcommand
//! where it makes sense outside a chat (`sessions`, `view`, `info`, `model`).

use super::bench_prompt::PromptFlags;
use super::bench_run::RunFlags;
use super::finetune::LaunchFlags;
use crate::chat::ImageSettings;
use crate::engine::Sampling;
use std::path::PathBuf;

/// A parsed slash command.
#[derive(Debug, Clone, PartialEq)]
pub enum Slash {
    Help,
    /// Attach an image to the next message.
    Image {
        path: PathBuf,
        settings: ImageSettings,
    },
    Detach,
    Preview,
    Info,
    /// Show the model, or switch to another (loads in the background).
    Model(Option<String>),
    Set {
        key: SetKey,
        value: String,
    },
    /// `None` clears the system prompt.
    System(Option<String>),
    New,
    Sessions,
    Load(String),
    Rename(String),
    Fork,
    Save(Option<PathBuf>),
    /// Show the latest turn that mentions this text.
    Find(String),
    Clear,
    Quit,
    Bench(BenchSlash),
    /// Launch a fine-tune (`None`: say how).
    Finetune(Option<Box<LaunchFlags>>),
    Jobs,
}

/// What `/bench` asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum BenchSlash {
    /// Show the current (or last) run.
    Show,
    /// List the tasks.
    Tasks,
    /// Stop the run; finished items stay, `--resume DIR` continues.
    Stop,
    /// Start a run: the flags of `radiochat bench run`.
    Run(Box<RunFlags>),
    /// Show what an item would send: the flags of `radiochat bench prompt`.
    Prompt(Box<PromptFlags>),
}

/// `/bench …` parsed with the same flags as `radiochat bench run`.
#[derive(clap::Parser)]
#[command(name = "/bench", no_binary_name = true, disable_help_flag = true)]
struct BenchLine {
    #[command(flatten)]
    run: RunFlags,
}

/// `/bench prompt …` parsed with the same flags as `radiochat bench prompt`.
#[derive(clap::Parser)]
#[command(
    name = "/bench prompt",
    no_binary_name = true,
    disable_help_flag = true
)]
struct BenchPromptLine {
    #[command(flatten)]
    flags: PromptFlags,
}

/// `/finetune …` parsed with the same flags as `radiochat finetune run`.
#[derive(clap::Parser)]
#[command(name = "/finetune", no_binary_name = true, disable_help_flag = true)]
struct FinetuneLine {
    #[command(flatten)]
    launch: LaunchFlags,
}

/// Why a typed slash command cannot run: one line for the chat's notice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SlashError(pub String);

/// A slash command's words parsed by clap, its error cut to one line.
fn clap_words<T: clap::Parser>(name: &str, args: &[String]) -> Result<T, String> {
    T::try_parse_from(args).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default();
        format!("/{name}: {}", first.trim_start_matches("error: "))
    })
}

/// What `/set` can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKey {
    Temperature,
    TopP,
    TopK,
    MaxTokens,
}

impl SetKey {
    pub fn name(self) -> &'static str {
        match self {
            SetKey::Temperature => "temperature",
            SetKey::TopP => "top_p",
            SetKey::TopK => "top_k",
            SetKey::MaxTokens => "max_tokens",
        }
    }

    /// Apply `value` to `sampling`, checking it as a config value would be.
    pub fn apply(self, sampling: &mut Sampling, value: &str) -> Result<(), SlashError> {
        self.apply_value(sampling, value).map_err(SlashError)
    }

    fn apply_value(self, sampling: &mut Sampling, value: &str) -> Result<(), String> {
        let mut next = sampling.clone();
        let number = || {
            value
                .parse::<f64>()
                .map_err(|_| format!("/set {}: '{value}' is not a number", self.name()))
        };
        let count = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("/set {}: '{value}' is not a whole number", self.name()))
        };
        match self {
            SetKey::Temperature => next.temperature = Some(number()?),
            SetKey::TopP => next.top_p = Some(number()?),
            SetKey::TopK => next.top_k = Some(count()?),
            SetKey::MaxTokens => next.max_tokens = count()?,
        }
        next.check().map_err(|e| format!("/set: {e}"))?;
        *sampling = next;
        Ok(())
    }
}

/// One palette row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlashSpec {
    pub name: &'static str,
    pub usage: &'static str,
    pub help: &'static str,
}

pub const SLASH_COMMANDS: &[SlashSpec] = &[
    spec("help", "/help", "keys and commands"),
    spec(
        "image",
        "/image PATH [--hdu H] [--plane I,J] [--stretch S]",
        "attach a FITS/PNG/JPEG image to the next message",
    ),
    spec("detach", "/detach", "drop the attached images"),
    spec("preview", "/preview", "the attached image, full screen"),
    spec("info", "/info", "header summary of the attached image"),
    spec(
        "model",
        "/model [DIR|hf:ID]",
        "show the model, or load another",
    ),
    spec(
        "set",
        "/set temperature|top_p|top_k|max_tokens VALUE",
        "change a sampling setting",
    ),
    spec(
        "system",
        "/system [TEXT]",
        "set (or clear) the system prompt",
    ),
    spec("new", "/new", "start a new session"),
    spec(
        "sessions",
        "/sessions",
        "browse, search, open, rename, delete sessions",
    ),
    spec("load", "/load ID|NAME", "open a stored session"),
    spec("rename", "/rename NAME", "rename this session"),
    spec(
        "fork",
        "/fork",
        "copy this session and continue in the copy",
    ),
    spec(
        "save",
        "/save [PATH.md|PATH.json]",
        "export a transcript (Markdown with thumbnails, or JSON)",
    ),
    spec(
        "find",
        "/find TEXT",
        "go to the latest turn that mentions TEXT (Ctrl-F: older)",
    ),
    spec(
        "clear",
        "/clear",
        "clear the screen (the session keeps everything)",
    ),
    spec("quit", "/quit", "leave radiochat"),
    spec(
        "bench",
        "/bench [TASK --data FILE [--limit N] [--prompt v1|clean] … | --resume DIR | stop | tasks | prompt TASK …]",
        "run a radio benchmark (B1–B7, L1) on this model; alone: show the run",
    ),
    spec(
        "finetune",
        "/finetune --base DIR --data DIR [--preset v1…v6] [--launcher local|slurm] …",
        "launch a LoRA fine-tune (the flags of finetune run), then show /jobs",
    ),
    spec(
        "jobs",
        "/jobs",
        "fine-tune jobs: state, loss curve, log; c cancels",
    ),
];

const fn spec(name: &'static str, usage: &'static str, help: &'static str) -> SlashSpec {
    SlashSpec { name, usage, help }
}

/// Commands whose name starts with `prefix` (the palette's filter), then those containing it.
pub fn matching(prefix: &str) -> Vec<&'static SlashSpec> {
    let prefix = prefix.trim_start_matches('/').to_lowercase();
    let mut found: Vec<&SlashSpec> = SLASH_COMMANDS
        .iter()
        .filter(|s| s.name.starts_with(&prefix))
        .collect();
    found.extend(
        SLASH_COMMANDS
            .iter()
            .filter(|s| !s.name.starts_with(&prefix) && s.name.contains(&prefix)),
    );
    found
}

/// The closest command name, for "did you mean".
pub fn suggest(name: &str) -> Option<&'static str> {
    SLASH_COMMANDS
        .iter()
        .map(|s| (edit_distance(name, s.name), s.name))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min()
        .map(|(_, n)| n)
}

/// Parse a line starting with `/`.
pub fn parse(line: &str) -> Result<Slash, SlashError> {
    parse_line(line).map_err(SlashError)
}

fn parse_line(line: &str) -> Result<Slash, String> {
    let words = words(line.trim().trim_start_matches('/'))?;
    let Some((name, args)) = words.split_first() else {
        return Err("type a command after '/', e.g. /help".into());
    };
    let rest = || args.join(" ");
    let none = |slash: Slash| {
        if args.is_empty() {
            Ok(slash)
        } else {
            Err(format!("/{name} takes no arguments"))
        }
    };
    match name.as_str() {
        "help" | "?" => none(Slash::Help),
        "image" | "attach" => parse_image(args),
        "detach" => none(Slash::Detach),
        "preview" => none(Slash::Preview),
        "info" => none(Slash::Info),
        "model" => Ok(Slash::Model((!args.is_empty()).then(rest))),
        "set" => parse_set(args),
        "system" => Ok(Slash::System((!args.is_empty()).then(rest))),
        "new" => none(Slash::New),
        "sessions" => none(Slash::Sessions),
        "load" | "resume" => match args {
            [] => Err("/load needs a session id or name (see /sessions)".into()),
            _ => Ok(Slash::Load(rest())),
        },
        "rename" => match args {
            [] => Err("/rename needs a name".into()),
            _ => Ok(Slash::Rename(rest())),
        },
        "fork" => none(Slash::Fork),
        "save" | "export" => Ok(Slash::Save(args.first().map(PathBuf::from))),
        "find" | "search" => match args {
            [] => Err("/find needs the text to find".into()),
            _ => Ok(Slash::Find(rest())),
        },
        "clear" => none(Slash::Clear),
        "quit" | "exit" | "q" => none(Slash::Quit),
        "bench" => parse_bench(args).map(Slash::Bench),
        "finetune" if args.is_empty() => Ok(Slash::Finetune(None)),
        "finetune" => clap_words::<FinetuneLine>("finetune", args)
            .map(|line| Slash::Finetune(Some(Box::new(line.launch)))),
        "jobs" => none(Slash::Jobs),
        other => Err(match suggest(other) {
            Some(close) => format!("unknown command /{other} — did you mean /{close}?"),
            None => format!("unknown command /{other} — /help lists them"),
        }),
    }
}

fn parse_image(args: &[String]) -> Result<Slash, String> {
    let mut path = None;
    let mut settings = ImageSettings::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("/image {flag} needs a value"))
        };
        match arg.as_str() {
            "--hdu" => settings.hdu = Some(value("--hdu")?),
            "--stretch" => {
                let stretch = value("--stretch")?;
                stretch
                    .parse::<crate::imaging::stretch::Stretch>()
                    .map_err(|e| format!("/image: {e}"))?;
                settings.stretch = Some(stretch);
            }
            "--plane" => {
                let text = value("--plane")?;
                settings.plane = text
                    .split(',')
                    .map(|p| p.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("/image --plane '{text}': expected indices like 0,0"))?;
            }
            flag if flag.starts_with("--") => {
                return Err(format!(
                    "/image: unknown option {flag} (--hdu, --plane, --stretch)"
                ));
            }
            _ if path.is_some() => return Err("/image takes one path".into()),
            _ => path = Some(PathBuf::from(arg)),
        }
    }
    let path = path.ok_or("/image needs a path, e.g. /image cutout.fits")?;
    Ok(Slash::Image { path, settings })
}

fn parse_bench(args: &[String]) -> Result<BenchSlash, String> {
    match args {
        [] => return Ok(BenchSlash::Show),
        [word] if word == "stop" => return Ok(BenchSlash::Stop),
        [word] if word == "tasks" => return Ok(BenchSlash::Tasks),
        [word, rest @ ..] if word == "prompt" => {
            let line: BenchPromptLine = clap_words("bench prompt", rest)?;
            return Ok(BenchSlash::Prompt(Box::new(line.flags)));
        }
        _ => {}
    }
    let line: BenchLine = clap_words("bench", args)?;
    let run = line.run;
    if run.task.is_none() && run.resume.is_none() {
        return Err("/bench needs a task (/bench tasks lists them) or --resume DIR".into());
    }
    if run.resume.is_none() && run.data.is_none() {
        return Err("/bench needs --data FILE (a radio-llava dataset JSON)".into());
    }
    Ok(BenchSlash::Run(Box::new(run)))
}

fn parse_set(args: &[String]) -> Result<Slash, String> {
    let [key, value] = args else {
        return Err("usage: /set temperature|top_p|top_k|max_tokens VALUE".into());
    };
    let key = match key.as_str() {
        "temperature" | "temp" => SetKey::Temperature,
        "top_p" | "top-p" => SetKey::TopP,
        "top_k" | "top-k" => SetKey::TopK,
        "max_tokens" | "max-tokens" => SetKey::MaxTokens,
        other => {
            return Err(format!(
                "/set: unknown setting '{other}' (temperature, top_p, top_k, max_tokens)"
            ));
        }
    };
    key.apply_value(&mut Sampling::default(), value)?;
    Ok(Slash::Set {
        key,
        value: value.clone(),
    })
}

/// Words separated by spaces; "double" or 'single' quotes and backslashes keep spaces in
/// a word (file names).
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => word.push(c),
            (_, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unclosed quote".into());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(row[j + 1])
            };
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parse result with its error as the chat shows it.
    fn parse(line: &str) -> Result<Slash, String> {
        super::parse(line).map_err(|e| e.0)
    }

    #[test]
    fn commands_parse_with_quoted_paths_and_options() {
        assert_eq!(
            parse("/image 'my cutouts/a b.fits' --plane 1,0 --hdu SCI").unwrap(),
            Slash::Image {
                path: PathBuf::from("my cutouts/a b.fits"),
                settings: ImageSettings {
                    hdu: Some("SCI".into()),
                    plane: vec![1, 0],
                    stretch: None,
                },
            }
        );
        assert_eq!(
            parse("/set temperature 0.7").unwrap(),
            Slash::Set {
                key: SetKey::Temperature,
                value: "0.7".into()
            }
        );
        assert_eq!(parse("/system").unwrap(), Slash::System(None));
        assert_eq!(parse("/model").unwrap(), Slash::Model(None));
        assert_eq!(
            parse("/save out.md").unwrap(),
            Slash::Save(Some("out.md".into()))
        );
    }

    #[test]
    fn mistakes_get_one_clear_line() {
        assert_eq!(
            parse("/imgae a.fits").unwrap_err(),
            "unknown command /imgae — did you mean /image?"
        );
        assert_eq!(
            parse("/xyzzy").unwrap_err(),
            "unknown command /xyzzy — /help lists them"
        );
        assert_eq!(
            parse("/set temperature hot").unwrap_err(),
            "/set temperature: 'hot' is not a number"
        );
        assert_eq!(
            parse("/set top_p 1.5").unwrap_err(),
            "/set: top_p must be in (0, 1], got 1.5"
        );
        assert!(
            parse("/set colour red")
                .unwrap_err()
                .contains("unknown setting")
        );
        assert!(parse("/image").unwrap_err().contains("needs a path"));
        assert!(
            parse("/image a.fits --stretch loud")
                .unwrap_err()
                .contains("unknown stretch")
        );
        assert!(parse("/load").unwrap_err().contains("needs a session"));
        assert_eq!(parse("/image 'a.fits").unwrap_err(), "unclosed quote");
    }

    #[test]
    fn bench_takes_the_flags_of_bench_run() {
        let Slash::Bench(BenchSlash::Run(run)) =
            parse("/bench B3 --data 'my data/d.json' --limit 5 --concurrency 2").unwrap()
        else {
            panic!("not a run");
        };
        assert_eq!(run.task.as_deref(), Some("B3"));
        assert_eq!(run.data, Some(PathBuf::from("my data/d.json")));
        assert_eq!((run.limit, run.concurrency), (Some(5), 2));
        assert_eq!(parse("/bench").unwrap(), Slash::Bench(BenchSlash::Show));
        let Slash::Bench(BenchSlash::Prompt(flags)) =
            parse("/bench prompt B1 --add-task-description --shots 2 --context c.json").unwrap()
        else {
            panic!("not a prompt request");
        };
        assert_eq!(flags.task, "B1");
        assert!(flags.question.add_task_description);
        assert_eq!(flags.question.shots, 2);
        assert!(
            parse("/bench prompt")
                .unwrap_err()
                .starts_with("/bench prompt: the following required arguments")
        );
        assert_eq!(
            parse("/bench stop").unwrap(),
            Slash::Bench(BenchSlash::Stop)
        );
        assert!(matches!(
            parse("/bench --resume runs/x").unwrap(),
            Slash::Bench(BenchSlash::Run(_))
        ));
        assert_eq!(
            parse("/bench B3").unwrap_err(),
            "/bench needs --data FILE (a radio-llava dataset JSON)"
        );
        assert_eq!(
            parse("/bench B3 --data d.json --limit many").unwrap_err(),
            "/bench: invalid value 'many' for '--limit <LIMIT>': invalid digit found in string"
        );
        assert!(
            parse("/bench B3 --data d.json --bogus")
                .unwrap_err()
                .starts_with("/bench: unexpected argument '--bogus'")
        );
    }

    #[test]
    fn the_palette_filters_by_prefix_then_substring() {
        let names: Vec<&str> = matching("/s").iter().map(|s| s.name).collect();
        assert_eq!(&names[..4], &["set", "system", "sessions", "save"]);
        assert!(
            names[4..].contains(&"jobs"),
            "substring matches follow: {names:?}"
        );
        let names: Vec<&str> = matching("ses").iter().map(|s| s.name).collect();
        assert_eq!(names, vec!["sessions"]);
        assert_eq!(matching("").len(), SLASH_COMMANDS.len());
    }
}
