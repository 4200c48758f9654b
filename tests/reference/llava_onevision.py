"""transformers' LLaVA-OneVision, for radiochat's own engine to be compared with.

usage:
  llava_onevision.py write TOKENIZER_DIR OUT      a tiny random model, saved by save_pretrained
  llava_onevision.py pixels MODEL_DIR OUT IMAGE…  pixel_values of each image, raw f32, in order
  llava_onevision.py answer MODEL_DIR IMAGE TEXT  JSON: prompt ids, first-step logits, greedy ids

`write` takes the tokenizer radiochat's tiny writer made (a byte-level BPE with the Qwen2
special tokens and `<image>`) so that both sides tokenise alike, builds a tiny
LlavaOnevisionConfig (SigLIP 2 layers, 32 wide, 56 px tiles of 14 px patches; Qwen2 2 layers,
64 wide, 4 heads, 2 KV heads; pinpoints 56…168), gives every parameter random values (biases
and norms included, so none of them can be skipped unnoticed) and saves model, tokenizer and
processor the way transformers 5 does (processor_config.json, chat_template.jinja).

`pixels` runs the processor class the directory names; `answer` asks TEXT about IMAGE with the
directory's chat template, eager attention, f32.
"""
import json
import sys

import numpy as np
import torch
from PIL import Image
from transformers import (
    AutoProcessor,
    LlavaOnevisionConfig,
    LlavaOnevisionForConditionalGeneration,
    LlavaOnevisionImageProcessor,
    LlavaOnevisionProcessor,
    LlavaOnevisionVideoProcessor,
    PreTrainedTokenizerFast,
)

TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + ' '}}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>' }}{% endfor %}"
    "{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ '\n' + content['text'] }}{% endfor %}{% else %}{% for content in message['content'] | "
    "selectattr('type', 'equalto', 'text') %}{% generation %}{{ '\n' + content['text'] }}{% endgeneration %}"
    "{% endfor %}{% endif %}{{'<|im_end|>'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def write(tokenizer_dir, out):
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=f"{tokenizer_dir}/tokenizer.json",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    image_token = tokenizer.convert_tokens_to_ids("<image>")
    pinpoints = [[56 * r, 56 * c] for r in (1, 2, 3) for c in (1, 2, 3)]
    config = LlavaOnevisionConfig(
        text_config=dict(
            model_type="qwen2", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, vocab_size=len(tokenizer) + 8,
            rope_parameters={"rope_theta": 1000.0, "rope_type": "default"}, rms_norm_eps=1e-6,
            max_position_embeddings=4096, eos_token_id=tokenizer.eos_token_id,
        ),
        vision_config=dict(
            model_type="siglip_vision_model", hidden_size=32, intermediate_size=64,
            num_hidden_layers=2, num_attention_heads=2, image_size=56, patch_size=14,
        ),
        image_token_index=image_token,
        image_grid_pinpoints=pinpoints,
        vision_aspect_ratio="anyres_max_2",
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
    )
    torch.manual_seed(0)
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                parameter.copy_(1.0 + 0.1 * torch.randn_like(parameter))
            elif name.endswith("position_embedding.weight") or name.endswith("embed_tokens.weight"):
                parameter.normal_(std=0.5)
            else:
                parameter.normal_(std=0.15)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(out, safe_serialization=True)
    image_processor = LlavaOnevisionImageProcessor(
        size={"height": 56, "width": 56}, image_grid_pinpoints=pinpoints,
    )
    processor = LlavaOnevisionProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=TEMPLATE,
        video_processor=LlavaOnevisionVideoProcessor(),
        num_image_tokens=16, vision_feature_select_strategy="full",
        vision_aspect_ratio="anyres_max_2",
    )
    processor.save_pretrained(out)


def pixels(model_dir, out, images):
    processor = AutoProcessor.from_pretrained(model_dir)
    with open(out, "wb") as f:
        for path in images:
            image = Image.open(path).convert("RGB")
            values = processor.image_processor(image, return_tensors="pt")["pixel_values"][0]
            f.write(values.numpy().astype("<f4").tobytes())
            print(path, list(values.shape))


def answer(model_dir, image_path, text):
    processor = AutoProcessor.from_pretrained(model_dir)
    model = LlavaOnevisionForConditionalGeneration.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    image = Image.open(image_path).convert("RGB")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(images=image, text=prompt, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits[0, -1]
        generated = model.generate(**inputs, max_new_tokens=16, do_sample=False,
                                   min_new_tokens=16, eos_token_id=None, pad_token_id=0)
    prompt_ids = inputs["input_ids"][0].tolist()
    print(json.dumps({
        "prompt": prompt,
        "prompt_ids": prompt_ids,
        "logits": logits.tolist(),
        "greedy": generated[0, len(prompt_ids):].tolist(),
    }))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"write": lambda: write(*args), "pixels": lambda: pixels(args[0], args[1], args[2:]),
     "answer": lambda: answer(*args)}[command]()
