"""Pretrains a LLaVA-OneVision model's vision tower as a classifier: `finetune run --stage tower`.

radio-llava's tower (SigLIP) comes pretrained; a model built from random weights (the demo's)
does not, and learning to see through the language model's loss alone was slow and a matter of
luck (docs/demo-model.md). This stage stands in for the tower's pretraining: the tower's features
at the layer the projector reads (`vision_feature_layer`), averaged over the patches, feed one
linear head per question of a `finetune data` directory whose answers are a closed set (YES/NO,
FR-I/FR-II, class lists: every answer ≤ 40 characters and at most 64 different; free
descriptions and boxes are left out), trained with cross-entropy on quarter turns and mirror
images (the sky has no preferred orientation). A mean is what the language model's attention
reads best, so the tower is taught to put what each answer needs into every patch.

Written here rather than with a training framework: it is one loop over one module, and it must
write the tower back into the model's own safetensors with every other tensor untouched.

Launched by `radiochat finetune run --stage tower`; runs alone too:

    python trainer/pretrain_tower.py --base MODEL_DIR --data DATA_DIR --out RUN_DIR [--epochs 8]

Writes, in RUN_DIR: metrics.jsonl (a line per logged step: step, epoch, loss, lr, samples_per_s,
elapsed_s, total_steps; after each epoch with val.json, val_loss and val_accuracy per question),
model/ (BASE with the tower's tensors replaced; the heads are dropped) and done.json. The pixels
of every training image are held in memory (half precision: 96 KiB a 128-px tile).
"""

import argparse
import collections
import json
import os
import shutil
import sys
import time

LONGEST_CLOSED_ANSWER = 40
MOST_CLASSES = 64
VAL_CHUNK = 256


def fail(message):
    sys.exit(f"pretrain_tower.py: {message}")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--base-sha256", help="recorded in done.json")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3, help="the one-cycle schedule's peak")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: every core)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.log_every < 1 or not args.lr > 0:
        p.error("--epochs, --batch-size and --log-every must be at least 1 and --lr above 0")
    return args


def closed_questions(data_dir, split):
    """{image path: {question id: answer}} for the questions with a closed set of answers."""
    path = os.path.join(data_dir, f"{split}.json")
    if split == "val" and not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            records = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")
    answers = collections.defaultdict(dict)
    for record in records:
        turns = record.get("conversations", [])
        question = record.get("id", "").partition("#")[2]
        if len(turns) == 2 and question and "image" in record:
            answers[question][os.path.join(data_dir, record["image"])] = turns[1]["value"]
    closed = {
        q: by_image
        for q, by_image in answers.items()
        if len(set(by_image.values())) <= MOST_CLASSES
        and max(len(a) for a in by_image.values()) <= LONGEST_CLOSED_ANSWER
    }
    labels = collections.defaultdict(dict)
    for question, by_image in closed.items():
        for image, answer in by_image.items():
            labels[image][question] = answer
    return labels


def tower_prefix(tensors, weights):
    """Where the tower's tensors live in the file (`vision_tower.` or `model.vision_tower.`)."""
    for name in tensors:
        if name.endswith("vision_tower.embeddings.patch_embedding.weight"):
            return name[: -len("embeddings.patch_embedding.weight")]
    fail(f"{weights}: holds no SigLIP vision tower")


def write_model(base, weights, tower, out):
    """BASE's files in OUT, with the tower's tensors replaced and every other one as it was."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    shutil.copytree(base, out, dirs_exist_ok=True)
    with safe_open(weights, "pt") as f:
        tensors = {name: f.get_tensor(name) for name in f.keys()}
        metadata = f.metadata() or {"format": "pt"}
    prefix = tower_prefix(tensors, weights)
    for name, value in tower.state_dict().items():
        if prefix + name not in tensors:
            fail(f"{weights}: no tensor {prefix + name} to replace")
        tensors[prefix + name] = value.detach().cpu().to(tensors[prefix + name].dtype).contiguous()
    partial = os.path.join(out, "model.safetensors.partial")
    save_file(tensors, partial, metadata=metadata)
    os.replace(partial, os.path.join(out, "model.safetensors"))


def main(argv):
    args = parse_args(argv)
    try:
        import torch
        from PIL import Image
        from transformers import AutoConfig, AutoProcessor, LlavaOnevisionForConditionalGeneration
    except ImportError as e:
        fail(f"{e}; install the trainer's requirements: pip install -r trainer/requirements.txt")

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads or max(1, len(os.sched_getaffinity(0))))
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    weights = os.path.join(args.base, "model.safetensors")
    if not os.path.isfile(weights):
        fail(f"{weights}: not found (one safetensors file expected)")
    config = AutoConfig.from_pretrained(args.base)
    if config.model_type != "llava_onevision":
        fail(f"{args.base}: a {config.model_type} model; the tower stage trains llava_onevision")
    processor = AutoProcessor.from_pretrained(args.base)
    tower = LlavaOnevisionForConditionalGeneration.from_pretrained(args.base).model.vision_tower
    tower.to(device)
    layer = config.vision_feature_layer

    train = closed_questions(args.data, "train")
    held_out = closed_questions(args.data, "val")
    if not train:
        fail(f"{args.data}/train.json: no question with a closed set of answers")
    classes = collections.defaultdict(set)
    for answers in train.values():
        for question, answer in answers.items():
            classes[question].add(answer)
    classes = {q: sorted(c) for q, c in sorted(classes.items())}
    print("questions:", ", ".join(f"{q} ({len(c)} answers)" for q, c in classes.items()), flush=True)

    def pixels(paths):
        tiles = []
        for path in paths:
            try:
                with Image.open(path) as image:
                    encoded = processor.image_processor(image.convert("RGB"), return_tensors="pt")
            except (OSError, ValueError) as e:
                fail(f"{path}: {e}")
            # The first tile is the whole image at the tower's size (anyres's base view).
            tiles.append(encoded["pixel_values"][0, 0].half())
        return torch.stack(tiles)

    def targets(labels, paths):
        return {
            q: torch.tensor([c.index(labels[p][q]) if labels[p].get(q) in c else -100 for p in paths])
            for q, c in classes.items()
        }

    started = time.time()
    paths = sorted(train)
    images, answers = pixels(paths), targets(train, paths)
    val_paths = sorted(held_out)
    val_images, val_answers = (pixels(val_paths), targets(held_out, val_paths)) if val_paths else (None, {})
    print(f"{len(paths)} training images, {len(val_paths)} held out ({time.time() - started:.0f} s)", flush=True)

    width = config.vision_config.hidden_size
    heads = torch.nn.ModuleDict({q: torch.nn.Linear(width, len(c)) for q, c in classes.items()}).to(device)

    def losses(batch, wanted):
        """The sum over questions of their mean cross-entropy, and per question (right, asked)."""
        batch = batch.to(device, torch.float32)
        pooled = tower(batch, output_hidden_states=True).hidden_states[layer].mean(1)
        total, right = 0.0, {}
        for question, head in heads.items():
            logits, y = head(pooled), wanted[question].to(device)
            asked = y >= 0
            if asked.any():
                total = total + torch.nn.functional.cross_entropy(logits, y, ignore_index=-100)
                right[question] = (int((logits.argmax(-1)[asked] == y[asked]).sum()), int(asked.sum()))
        return total, right

    def held_out_scores():
        tower.eval()
        loss_sum, chunks, right = 0.0, 0, {}
        with torch.no_grad():
            for start in range(0, len(val_paths), VAL_CHUNK):
                chunk = slice(start, start + VAL_CHUNK)
                loss, counted = losses(val_images[chunk], {q: y[chunk] for q, y in val_answers.items()})
                loss_sum, chunks = loss_sum + float(loss), chunks + 1
                for question, (hits, asked) in counted.items():
                    before = right.get(question, (0, 0))
                    right[question] = (before[0] + hits, before[1] + asked)
        tower.train()
        return loss_sum / chunks, {q: r / n for q, (r, n) in right.items()}

    per_epoch = len(paths) // args.batch_size
    total = args.epochs * per_epoch
    if total == 0:
        fail(f"{args.data}/train.json: fewer than --batch-size {args.batch_size} images with a closed question")
    trained = [*tower.parameters(), *heads.parameters()]
    optimizer = torch.optim.AdamW(trained, args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=total, pct_start=0.05)
    os.makedirs(args.out, exist_ok=True)
    metrics = open(os.path.join(args.out, "metrics.jsonl"), "a", buffering=1)
    started, step = time.time(), 0
    tower.train()
    for epoch in range(1, args.epochs + 1):
        order, epoch_loss, since_log = torch.randperm(len(paths)), 0.0, []
        for start in range(0, per_epoch * args.batch_size, args.batch_size):
            drawn = order[start:start + args.batch_size]
            batch = torch.rot90(images[drawn], int(torch.randint(4, ())), (2, 3))
            if torch.rand(()) < 0.5:
                batch = batch.flip(3)
            loss, _ = losses(batch, {q: y[drawn] for q, y in answers.items()})
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(tower.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            epoch_loss += loss.item()
            since_log.append(loss.item())
            if step % args.log_every == 0 or step == total:
                elapsed = time.time() - started
                line = {
                    "step": step,
                    "epoch": step / per_epoch,
                    "loss": sum(since_log) / len(since_log),
                    "lr": schedule.get_last_lr()[0],
                    "samples_per_s": step * args.batch_size / max(elapsed, 1e-9),
                    "elapsed_s": elapsed,
                    "total_steps": total,
                }
                metrics.write(json.dumps(line) + "\n")
                since_log = []
        report = f"epoch {epoch}: loss {epoch_loss / per_epoch:.3f}"
        if val_images is not None:
            val_loss, accuracy = held_out_scores()
            metrics.write(json.dumps({"step": step, "val_loss": val_loss, "val_accuracy": accuracy}) + "\n")
            report += "; held-out accuracy " + ", ".join(f"{q} {a:.3f}" for q, a in accuracy.items())
        print(f"{report} ({time.time() - started:.0f} s)", flush=True)
    metrics.close()

    model_dir = os.path.join(args.out, "model")
    write_model(args.base, weights, tower, model_dir)
    with open(os.path.join(args.out, "done.json"), "w") as f:
        json.dump(
            {
                "steps": total,
                "examples": len(paths),
                "seconds": time.time() - started,
                "questions": classes,
                "base_sha256": args.base_sha256,
            },
            f,
        )
    print(f"wrote {model_dir}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
