"""transformers' token ids for texts, for tests/tiny_vocab.rs.

usage: token_ids.py MODEL_DIR < JSON list of texts > JSON list of id lists

AutoTokenizer on the model directory (its tokenizer.json and tokenizer_config.json, as
transformers loads them for training and answering), no special tokens added.
"""
import json
import sys

from transformers import AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
texts = json.load(sys.stdin)
print(json.dumps([tokenizer.encode(text, add_special_tokens=False) for text in texts]))
