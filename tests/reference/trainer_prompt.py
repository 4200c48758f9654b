"""The trainer trains each answer after the prompt the model is asked with.

usage: trainer_prompt.py MODEL_DIR…

For each model directory: one training record (an image, a question, the answer "YES") through
the trainer's Encoder with radio-llava's system prompt, and the same question as an engine asks
it (the chat template with the generation prompt, as transformers' processor tokenises it).
Prints one JSON line per directory: whether the tokens before the first trained token are
exactly the asked prompt's, the trained tokens decoded, and whether a three-answer conversation's
answer spans counted by the tokenizer alone (the trainer's shortcut) are the processor's.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "trainer"))
from PIL import Image  # noqa: E402
from train_lora import Encoder, conversation_messages  # noqa: E402
from transformers import AutoProcessor  # noqa: E402

SYSTEM = "You are an AI assistant specialized in radio astronomical topics."

for model_dir in sys.argv[1:]:
    processor = AutoProcessor.from_pretrained(model_dir)
    with tempfile.TemporaryDirectory() as data:
        Image.new("RGB", (64, 64), (40, 90, 160)).save(os.path.join(data, "cutout.png"))
        record = {
            "image": "cutout.png",
            "conversations": [
                {"from": "human", "value": "<image>\nIs there a radio galaxy?"},
                {"from": "gpt", "value": "YES"},
            ],
        }
        encoder = Encoder(processor, data, SYSTEM)
        batch = encoder.encode(record)
        image = Image.open(os.path.join(data, "cutout.png")).convert("RGB")
        question = encoder.system + conversation_messages(record)[:1]
        asked = encoder.tokens(encoder.text(question, generation_prompt=True), image)["input_ids"][0]
        three_answers = dict(record, conversations=record["conversations"] + [
            {"from": "human", "value": "Which class?"},
            {"from": "gpt", "value": "EXTENDED,DIFFUSE"},
            {"from": "human", "value": "Describe it."},
            {"from": "gpt", "value": "A radio galaxy with two lobes."},
        ])
        text, cuts = encoder.rendering(three_answers)
        encoded = encoder.tokens(text, image)
        by_tokenizer, by_processor = Encoder(processor, data, SYSTEM), Encoder(processor, data, SYSTEM)
        by_tokenizer.span_checks_left = 0
        by_processor.spans_by_tokenizer = False
        spans = [e.label_spans(cuts, image, text, encoded) for e in (by_tokenizer, by_processor)]
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    first = int((labels != -100).nonzero()[0])
    print(json.dumps({
        "model": os.path.basename(model_dir),
        "prefix_is_the_asked_prompt": ids[:first].tolist() == asked.tolist(),
        "trained": processor.tokenizer.decode(ids[first:][labels[first:] != -100]),
        "spans_by_tokenizer_are_the_processors": spans[0] == spans[1] and len(spans[0]) == 3,
        "spans_by_tokenizer_kept": encoder.spans_by_tokenizer,
    }))
