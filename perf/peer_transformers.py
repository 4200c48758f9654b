"""The peer of `radiochat-perf peer`: Hugging Face transformers (PyTorch eager, CPU) on the same
model directory, image and prompt, greedy, generating exactly --max-tokens tokens (EOS ignored).

Usage: peer_transformers.py --model DIR --image PNG --dtype f32|bf16 --runs N --max-tokens M
Prints one JSON object: per-run lists of time to first token (ms; processor + prefill + first
token, as radiochat's clock starts at the request), prompt tok/s, decode tok/s, the prompt length,
the process's peak RSS (MiB) and its peak RSS once the model is loaded (MiB). Each run's image
differs in its corner pixel (--same-image: not), as radiochat's runs do. One warm-up run is not
counted. Torch uses every core, as radiochat does.
"""

import argparse
import json
import resource
import threading
import time

import torch
from PIL import Image
from transformers import (
    AutoModelForImageTextToText,
    AutoProcessor,
    StoppingCriteria,
    StoppingCriteriaList,
)

PROMPT = "Describe the radio source in this image."

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--image", required=True)
parser.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--max-tokens", type=int, default=32)
parser.add_argument("--same-image", action="store_true")
args = parser.parse_args()


class RssSampler(threading.Thread):
    """Peak resident memory from now on (VmRSS every 10 ms), as radiochat measures it once
    the model is loaded."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_kib = rss_kib()

    def run(self):
        while True:
            self.peak_kib = max(self.peak_kib, rss_kib())
            time.sleep(0.01)

    def peak_mb(self):
        return max(self.peak_kib, rss_kib()) / 1024


def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
processor = AutoProcessor.from_pretrained(args.model)
model = AutoModelForImageTextToText.from_pretrained(args.model, dtype=dtype)
model.eval()
image = Image.open(args.image).convert("RGB")
messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT}]}]
# Random-weight model directories keep the template in tokenizer_config.json, as the engine reads it.
template = getattr(processor, "chat_template", None) or processor.tokenizer.chat_template
text = processor.apply_chat_template(
    messages, add_generation_prompt=True, tokenize=False, chat_template=template
)


class StepClock(StoppingCriteria):
    """Called by generate() after every new token: records when each one was ready."""

    def __init__(self):
        self.times = []

    def __call__(self, input_ids, scores, **kwargs):
        self.times.append(time.perf_counter())
        return torch.zeros(input_ids.shape[0], dtype=torch.bool)


def marked_image(run):
    """As radiochat's perf engine: the corner pixel encodes the run, so each run is a new image."""
    marked = image.copy()
    marked.putpixel((0, 0), (run % 256, run // 256 % 256, 255))
    return marked


@torch.inference_mode()
def one_run(run):
    asked = image if args.same_image else marked_image(run)
    # generate() handles every family's positions and cache (Qwen-VL's M-RoPE included).
    started = time.perf_counter()
    inputs = processor(text=text, images=[[asked]], return_tensors="pt")
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
    clock = StepClock()
    out = model.generate(
        **inputs,
        do_sample=False,
        max_new_tokens=args.max_tokens,
        min_new_tokens=args.max_tokens,
        stopping_criteria=StoppingCriteriaList([clock]),
    )
    prompt_tokens = inputs["input_ids"].shape[-1]
    generated = out.shape[-1] - prompt_tokens
    assert generated == args.max_tokens, f"generated {generated} tokens"
    first, last = clock.times[0], clock.times[-1]
    ttft = first - started
    return {
        "ttft_ms": ttft * 1000,
        "prompt_tok_per_s": prompt_tokens / ttft,
        "decode_tok_per_s": (args.max_tokens - 1) / (last - first),
        "prompt_tokens": prompt_tokens,
    }


sampler = RssSampler()
sampler.start()
one_run(0)
runs = [one_run(run) for run in range(1, args.runs + 1)]
print(json.dumps({
    "implementation": f"transformers {__import__('transformers').__version__}, torch {torch.__version__}",
    "dtype": args.dtype,
    "threads": torch.get_num_threads(),
    "ttft_ms": [r["ttft_ms"] for r in runs],
    "prompt_tok_per_s": [r["prompt_tok_per_s"] for r in runs],
    "decode_tok_per_s": [r["decode_tok_per_s"] for r in runs],
    "prompt_tokens": runs[0]["prompt_tokens"],
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "answering_rss_mb": sampler.peak_mb(),
}))
