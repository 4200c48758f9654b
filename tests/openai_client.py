"""The official `openai` Python client against `radiochat serve` (tests/serve.rs runs it).

Usage: openai_client.py BASE_URL API_KEY IMAGE.png FITS_PATH
Prints one JSON object: the models listed, a plain and a streamed answer about the PNG (sent as
a data URL), a streamed answer about FITS_PATH (sent as a file path), and the error a wrong
model name gets.
"""

import base64
import json
import sys

import openai
from openai import OpenAI

base_url, api_key, png_path, fits_path = sys.argv[1:5]
client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0)
with open(png_path, "rb") as f:
    data_url = "data:image/png;base64," + base64.b64encode(f.read()).decode()


def question(url):
    return [
        {"role": "system", "content": "You are a radio astronomer."},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": "Is there an extended radio source?"},
            ],
        },
    ]


def streamed(url):
    stream = client.chat.completions.create(
        model=model, messages=question(url), max_tokens=12, stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage, chunks = [], None, None, 0
    for chunk in stream:
        chunks += 1
        if chunk.choices:
            text.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage.model_dump()
    return {"text": "".join(text), "finish": finish, "usage": usage, "chunks": chunks}


models = [m.id for m in client.models.list()]
model = models[0]
plain = client.chat.completions.create(model=model, messages=question(data_url), max_tokens=12)
try:
    client.chat.completions.create(model="gpt-4o", messages=question(data_url), max_tokens=4)
    wrong_model = None
except openai.NotFoundError as e:
    wrong_model = str(e)
print(json.dumps({
    "models": models,
    "plain": {
        "text": plain.choices[0].message.content,
        "finish": plain.choices[0].finish_reason,
        "usage": plain.usage.model_dump(),
    },
    "streamed": streamed(data_url),
    "fits_file": streamed(fits_path),
    "wrong_model": wrong_model,
}))
