"""A micro-step's examples as one padded batch, and the loss that keeps every example's weight.

Each encoded example is a dict of tensors with a leading dimension of 1. When the image tensors
of the drawn examples have one shape (LLaVA-OneVision cutouts of one size), they go through the
model together: the text right-padded (positions of real tokens unchanged, padding masked out
of attention and loss). On 2 CPU cores a batch of 8 of radio-llava-nano's examples trains in
31 ms per example against 48 ms one at a time (docs/finetuning.md): the matrix products are
large enough for both cores. Where the shapes differ (images of other sizes, families whose
pixel tensors have no batch dimension), and for the trainer's own models of the remote-code
families, the caller trains one example at a time.

The loss is the mean of each example's own mean over its answer tokens, as one at a time:
a token-weighted mean over the batch (what the model computes from labels) would weigh a
30-token description thirty times a YES.
"""
import torch
import torch.nn.functional as F


def pad_token_id(processor):
    """The id text is padded with: the tokenizer's pad token, else 0 (masked out either way)."""
    return getattr(getattr(processor, "tokenizer", None), "pad_token_id", None) or 0


def padded_batch(examples, pad_id):
    """The examples as one batch, or None when they cannot share one."""
    # What each text-aligned tensor is padded with.
    padding = {"input_ids": pad_id, "attention_mask": 0, "labels": -100}
    keys = list(examples[0])
    if "input_ids" not in keys or any(list(e) != keys for e in examples):
        return None
    if any(v.dim() == 0 or v.shape[0] != 1 for e in examples for v in e.values()):
        return None
    for key in keys:
        if key not in padding and any(e[key].shape != examples[0][key].shape for e in examples):
            return None
    longest = max(e["input_ids"].shape[1] for e in examples)
    batch = {}
    for key in keys:
        if key in padding:
            batch[key] = torch.cat([F.pad(e[key], (0, longest - e[key].shape[1]), value=padding[key]) for e in examples])
        else:
            batch[key] = torch.cat([e[key] for e in examples])
    return batch


def mean_example_loss(model, batch):
    """The mean over the batch of each example's next-token loss on its labelled tokens."""
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs).logits.float()
    targets = batch["labels"][:, 1:]
    per_token = F.cross_entropy(logits[:, :-1].transpose(1, 2), targets, ignore_index=-100, reduction="none")
    counted = (targets != -100).sum(dim=1)
    return (per_token.sum(dim=1) / counted.clamp(min=1)).mean()
