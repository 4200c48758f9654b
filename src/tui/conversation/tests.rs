use super::*;
use crate::chat::worker::Inspected;
use crate::chat::{AnswerState, Conversation, Header, ImageRef};
use crate::engine::{Generation, ModelSource};

fn state() -> ConversationState {
    let session = LiveSession::in_memory(Conversation::new(Header::new("test")), "test".into());
    ConversationState::new(
        session,
        Sampling::default(),
        TransformOptions::default(),
        "cpu".into(),
    )
}

fn loaded() -> WorkerEvent {
    WorkerEvent::Loaded(ModelInfo {
        name: "tiny".into(),
        source: "/models/tiny".into(),
        architecture: "llava_onevision".into(),
        device: "cpu".into(),
        dtype: "f32".into(),
        isq: None,
        prefix_cache: 0,
        max_context: Some(4096),
        load_seconds: 1.25,
        warnings: vec!["a warning about the model".into()],
    })
}

fn finished(reason: FinishReason) -> WorkerEvent {
    WorkerEvent::Finished {
        reason,
        usage: Usage {
            completion_tokens: 2,
            decode_tok_per_s: 8.0,
            ..Usage::default()
        },
    }
}

/// The questions of the `Ask` jobs among `effects`.
fn asked(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Worker(WorkerCommand::Ask(job)) => {
                Some(job.turns.last().unwrap().question.clone())
            }
            _ => None,
        })
        .collect()
}

fn notices(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Info(text) => Some(format!("info: {text}")),
            Effect::Warn(text) => Some(format!("warn: {text}")),
            _ => None,
        })
        .collect()
}

fn ready() -> ConversationState {
    let mut state = state();
    state.update(loaded());
    state
}

#[test]
fn a_message_typed_while_loading_is_sent_once_the_model_is_loaded() {
    let mut state = state();
    let load = state.load_model(LoadSpec::new(ModelSource::parse("/models/tiny")));
    assert!(matches!(load[..], [Effect::Worker(WorkerCommand::Load(_))]));
    let typed = state.send_message("what is this?".into());
    assert!(asked(&typed).is_empty());
    assert_eq!(
        notices(&typed),
        ["info: queued: it is sent when the model has loaded"]
    );
    assert!(state.session.conversation.turns.is_empty());

    let effects = state.update(loaded());
    assert_eq!(asked(&effects), ["what is this?"]);
    assert_eq!(
        notices(&effects)[..2],
        [
            "info: tiny loaded in 1.2 s".to_string(),
            "warn: a warning about the model".to_string()
        ]
    );
    assert!(state.awaiting);
    assert!(matches!(state.engine, EngineState::Generating { .. }));
    assert_eq!(state.session.conversation.turns.len(), 1);
    assert_eq!(state.device, "cpu");
}

#[test]
fn a_failed_load_drops_the_queued_message() {
    let mut state = state();
    state.load_model(LoadSpec::new(ModelSource::parse("/models/tiny")));
    state.send_message("lost?".into());
    let effects = state.update(WorkerEvent::LoadFailed("no config.json".into()));
    assert_eq!(
        notices(&effects),
        ["warn: model not loaded: no config.json"]
    );
    assert_eq!(
        state.engine,
        EngineState::LoadFailed("no config.json".into())
    );
    let effects = state.send_message("again".into());
    assert!(asked(&effects).is_empty());
    assert_eq!(notices(&effects), [format!("warn: {NO_MODEL}")]);
    assert!(state.session.conversation.turns.is_empty());
}

#[test]
fn an_answer_streams_into_the_turn_and_a_cancel_keeps_it() {
    let mut state = ready();
    let sent = state.send_message("describe".into());
    assert!(matches!(sent[0], Effect::ClearNotice));
    let (generation, sink) = Generation::channel();
    state.update(WorkerEvent::Started(generation.cancel_handle()));
    for token in ["An ", "extended ", "source"] {
        state.update(WorkerEvent::Token(token.into()));
    }
    assert!(matches!(
        state.engine,
        EngineState::Generating { tokens: 3, .. }
    ));
    assert!(state.streaming());
    assert_eq!(
        notices(&state.send_message("too soon".into())),
        ["warn: an answer is still streaming: Esc cancels it"]
    );

    assert_eq!(notices(&state.cancel_generation()), ["info: cancelling…"]);
    assert!(sink.is_cancelled());
    let effects = state.update(finished(FinishReason::Cancelled));
    assert_eq!(
        notices(&effects),
        ["info: cancelled: the partial answer is kept"]
    );
    let turn = state.session.conversation.turns.last().unwrap();
    assert_eq!(turn.answer, "An extended source");
    assert!(turn.is_cancelled());
    assert!(!state.awaiting);
    assert_eq!(state.engine, EngineState::Ready);
    assert_eq!(state.rate(), Some(8.0));
    assert_eq!(
        notices(&state.cancel_generation()),
        ["info: nothing is being generated"]
    );
}

#[test]
fn an_engine_failure_is_recorded_in_the_turn_it_ended() {
    let mut state = ready();
    state.send_message("describe".into());
    let effects = state.update(WorkerEvent::Failed("out of memory".into()));
    assert_eq!(notices(&effects), ["warn: out of memory"]);
    let turn = state.session.conversation.turns.last().unwrap();
    assert_eq!(turn.state, AnswerState::Failed("out of memory".into()));
    assert!(!state.awaiting);
    assert_eq!(state.engine, EngineState::Ready);

    // A failure nobody waits for (a stray report) changes no turn.
    state.update(WorkerEvent::Failed("late".into()));
    let turn = state.session.conversation.turns.last().unwrap();
    assert_eq!(turn.state, AnswerState::Failed("out of memory".into()));
}

fn inspected(path: &str) -> WorkerEvent {
    WorkerEvent::Inspected(Box::new(Inspected {
        image: ImageRef {
            path: path.into(),
            sha256: "ab".repeat(32),
            settings: ImageSettings::default(),
        },
        picture: RgbImage::new(4, 4),
        info: vec!["NAXIS1 = 4".into()],
    }))
}

#[test]
fn regenerating_asks_the_last_question_again_with_its_images() {
    let mut state = ready();
    assert_eq!(
        notices(&state.regenerate()),
        ["warn: nothing to regenerate yet"]
    );
    state.update(inspected("/data/a.fits"));
    state.send_message("which class?".into());
    state.update(WorkerEvent::Token("FR-II".into()));
    state.update(finished(FinishReason::Stop));

    let effects = state.regenerate();
    assert_eq!(asked(&effects), ["which class?"]);
    let turns = &state.session.conversation.turns;
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[1].images, turns[0].images);
    assert_eq!(turns[1].images[0].path, "/data/a.fits");
    let Some(Effect::Worker(WorkerCommand::Ask(job))) = effects.get(1) else {
        panic!("no ask");
    };
    assert_eq!(job.turns[0].answer.as_deref(), Some("FR-II"));
    assert_eq!(job.turns[1].answer, None);
}

#[test]
fn the_last_answer_goes_to_the_clipboard() {
    let mut state = ready();
    assert_eq!(
        notices(&state.copy_last_answer()),
        ["warn: no answer to copy yet"]
    );
    state.send_message("hi".into());
    state.update(WorkerEvent::Token("Hello, astronomer".into()));
    state.update(finished(FinishReason::Stop));
    let effects = state.copy_last_answer();
    assert!(matches!(&effects[0], Effect::Clipboard(text) if text == "Hello, astronomer"));
}

#[test]
fn a_stretch_is_rendered_once_and_only_for_an_image_shown() {
    let mut state = ready();
    assert!(state.restretch(1).is_empty(), "no image yet");
    state.update(inspected("/data/a.fits"));
    assert_eq!(state.current_image().as_deref(), Some("/data/a.fits"));
    assert!(state.preview_picture("/data/a.fits", 0).is_some());
    assert!(state.restretch(0).is_empty(), "the model input is there");
    let effects = state.restretch(1);
    let [Effect::Worker(WorkerCommand::Render { path, stretch, .. })] = &effects[..] else {
        panic!("no render asked");
    };
    assert_eq!(path, "/data/a.fits");
    assert!(state.preview_picture(path, 1).is_none());
    state.update(WorkerEvent::Rendered {
        path: path.clone(),
        stretch: stretch.clone(),
        picture: RgbImage::new(2, 2),
    });
    assert!(state.preview_picture("/data/a.fits", 1).is_some());
    assert!(state.restretch(1).is_empty(), "rendered already");
    assert_eq!(state.header_lines("/data/a.fits"), ["NAXIS1 = 4"]);
    assert!(state.header_lines("/data/b.fits")[0].contains("/image it again"));
}

#[test]
fn a_long_session_asks_with_the_turns_the_context_holds_and_says_so() {
    let mut state = ready();
    for i in 0..2_000 {
        state.session.record(Event::User {
            at: clock::now(),
            text: format!("question {i}"),
        });
        state.session.record(Event::Tokens {
            at: clock::now(),
            text: "an answer of some length, forty bytes..".into(),
        });
        state.session.record(Event::Done {
            at: clock::now(),
            finish: FinishReason::Stop,
            usage: Usage::default(),
        });
    }
    let effects = state.send_message("and this one?".into());
    let job = effects
        .iter()
        .find_map(|e| match e {
            Effect::Worker(WorkerCommand::Ask(job)) => Some(job),
            _ => None,
        })
        .unwrap();
    // 4,096 bytes of context: about 75 earlier turns of 53 bytes, not 2,000.
    let kept = job.turns.len();
    assert!((60..=80).contains(&kept), "{kept} turns sent");
    let text: usize = job
        .turns
        .iter()
        .map(|t| t.question.len() + t.answer.as_ref().map_or(0, String::len))
        .sum();
    assert!(text <= 4096, "{text} bytes sent");
    assert_eq!(job.turns.last().unwrap().question, "and this one?");
    assert_eq!(
        notices(&effects),
        [format!(
            "info: the model is asked with the last {kept} of 2001 turns (its context holds 4096 tokens)"
        )]
    );
}
