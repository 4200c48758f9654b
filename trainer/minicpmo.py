"""MiniCPM-o 2.6 (`MiniCPMO`, vision part) as a trainable torch model.

The checkpoint ships as remote code and transformers has no class for it; radiochat runs no
code shipped inside a model directory. Its language model is transformers' own Qwen2
(`llm.*`) and its vision tower's layers are transformers' SigLIP encoder layers (`vpm.*`);
the rest is small and written here after the embedded engine (mistral.rs 0.8.1,
vision_models/minicpmo and siglip.rs), so that what is trained is what answers:

- the image is cut as the engine cuts it (inputs_processor.rs: `get_sliced_images`): a source
  image resized (bicubic) to about `scale_resolution`² in whole patches, and, when the image is
  larger than that, a grid of slices of the image resized to fit the grid; each slice's pixels
  are laid out as one row of patches (`reshape_by_patch`);
- the tower embeds each slice with positions bucketed from its own patch grid (siglip.rs:
  `VisionEmbeddings::forward`), runs every layer and the post-layernorm;
- the resampler (resampler.rs) attends from `query_num` learnt queries over the patches plus a
  2-D sin-cos position table, through one multi-head attention with a packed input projection
  (`attn.in_proj_weight`, the checkpoint's names), and projects with `proj` (x · proj);
- the prompt's `(<image>./</image>)` tag becomes the engine's placeholder (image id, `<image>`,
  `query_num` × `<unk>`, `</image>`, then a `<slice>` block per slice, rows split by newlines),
  tokenised without special tokens; each block's `<unk>` positions take one slice's features.

The module tree has the checkpoint's own names, so adapters, saved models and `finetune merge`
need no renaming.
"""
import math

import checkpoint

RELEASED_CLASS = "MiniCPMO"
IMAGE_TAG = "(<image>./</image>)"
# The engine puts the image tag right before the question (mistral.rs' MiniCpmOPrefixer).
IMAGE_SEPARATOR = ""
SCALE_RESOLUTION = 448


def is_released(base):
    return checkpoint.architecture_of(base, RELEASED_CLASS)


def text_config(raw):
    from transformers import Qwen2Config

    return Qwen2Config(**checkpoint.text_settings(raw))


def vision_config(raw):
    from transformers import SiglipVisionConfig

    return SiglipVisionConfig(**{k: v for k, v in raw["vision_config"].items() if k != "model_type"})


def sincos_table(dim, height, width):
    """The resampler's 2-D position table, (height, width, dim): the first half of each row
    from the column coordinate, the second from the row coordinate (resampler.rs:
    `get_2d_sincos_pos_embed`, numpy's xy meshgrid)."""
    import torch

    def one_axis(half, positions):
        omega = 1.0 / 10000.0 ** (torch.arange(0, half, 2, dtype=torch.float32) / half)
        angles = positions[..., None] * omega
        return torch.cat([angles.sin(), angles.cos()], dim=-1)

    cols = torch.arange(width, dtype=torch.float32)[None, :].expand(height, width)
    rows = torch.arange(height, dtype=torch.float32)[:, None].expand(height, width)
    return torch.cat([one_axis(dim // 2, cols), one_axis(dim // 2, rows)], dim=-1)


def stepped(start, end, step):
    """[start, start + step, …) below `end`, each value the f32 sum of the one before and
    `step` (candle's `Tensor::arange_step`)."""
    import numpy as np

    values, current, step, end = [], np.float32(start), np.float32(step), np.float32(end)
    while current < end:
        values.append(current)
        current = np.float32(current + step)
    return np.array(values, dtype=np.float32)


def build_model_class():
    import torch
    from torch import nn
    from transformers import Qwen2ForCausalLM
    from transformers.models.siglip.modeling_siglip import SiglipEncoder

    class VisionEmbeddings(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.patch_size = config.patch_size
            self.per_side = config.image_size // config.patch_size
            self.patch_embedding = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size, config.patch_size)
            self.position_embedding = nn.Embedding(self.per_side**2, config.hidden_size)

        def positions(self, rows, cols):
            """Each patch's bucket in the tower's own position grid: fractional coordinates
            and boundaries summed step by step in f32 as the engine sums them (candle's
            `arange_step`), so a coordinate on a boundary falls on the same side."""
            boundaries = torch.tensor(stepped(1 / self.per_side, 1.0, 1 / self.per_side))
            h = torch.bucketize(torch.tensor(stepped(0.0, 1 - 1e-6, 1 / rows)), boundaries, right=True)
            w = torch.bucketize(torch.tensor(stepped(0.0, 1 - 1e-6, 1 / cols)), boundaries, right=True)
            return (h[:, None] * self.per_side + w[None, :]).flatten()

        def forward(self, pixels, rows, cols):
            patches = self.patch_embedding(pixels[None]).flatten(2).transpose(1, 2)
            ids = self.positions(rows, cols).to(patches.device)
            return patches + self.position_embedding(ids)[None]

    class VisionTower(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.embeddings = VisionEmbeddings(config)
            self.encoder = SiglipEncoder(config)
            self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

        def forward(self, pixels, rows, cols):
            hidden = self.encoder(inputs_embeds=self.embeddings(pixels, rows, cols)).last_hidden_state
            return self.post_layernorm(hidden)

    class PackedAttention(nn.Module):
        """torch's MultiheadAttention's parameters, computed as the engine computes them (the
        output projection a module of its own, so a LoRA on it takes effect)."""

        def __init__(self, dim, heads):
            super().__init__()
            self.heads = heads
            self.in_proj_weight = nn.Parameter(torch.zeros(3 * dim, dim))
            self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
            self.out_proj = nn.Linear(dim, dim)

        def forward(self, q, k, v):
            dim = q.shape[-1]
            w, b = self.in_proj_weight, self.in_proj_bias
            q, k, v = (
                nn.functional.linear(x, w[i * dim : (i + 1) * dim], b[i * dim : (i + 1) * dim])
                for i, x in enumerate((q, k, v))
            )
            split = lambda x: x.reshape(x.shape[0], x.shape[1], self.heads, -1).transpose(1, 2)  # noqa: E731
            out = nn.functional.scaled_dot_product_attention(split(q), split(k), split(v))
            return self.out_proj(out.transpose(1, 2).reshape(q.shape[0], q.shape[1], dim))

    class Resampler(nn.Module):
        def __init__(self, queries, dim, kv_dim):
            super().__init__()
            self.query = nn.Parameter(torch.zeros(queries, dim))
            self.kv_proj = nn.Linear(kv_dim, dim, bias=False)
            self.ln_q = nn.LayerNorm(dim, eps=1e-6)
            self.ln_kv = nn.LayerNorm(dim, eps=1e-6)
            self.ln_post = nn.LayerNorm(dim, eps=1e-6)
            self.proj = nn.Parameter(torch.zeros(dim, dim))
            self.attn = PackedAttention(dim, dim // 128 or 1)

        def forward(self, patches, rows, cols):
            x = self.ln_kv(self.kv_proj(patches))
            positions = sincos_table(x.shape[-1], rows, cols).reshape(rows * cols, -1).to(x)
            q = self.ln_q(self.query)[None]
            return self.ln_post(self.attn(q, x + positions, x)) @ self.proj

    class MiniCPMOVision(nn.Module):
        def __init__(self, raw):
            super().__init__()
            config = text_config(raw)
            self.config = config
            self.llm = Qwen2ForCausalLM(config)
            tower = vision_config(raw)
            tower._attn_implementation = "sdpa"
            self.vpm = VisionTower(tower)
            self.resampler = Resampler(raw["query_num"], config.hidden_size, tower.hidden_size)

        def image_features(self, pixel_values, tgt_sizes):
            """One (query_num, hidden) block per slice."""
            blocks = []
            for pixels, (rows, cols) in zip(pixel_values, tgt_sizes.tolist()):
                patches = rows * cols * self.vpm.embeddings.patch_size
                tower = self.vpm(pixels[:, :, :patches], rows, cols)
                blocks.append(self.resampler(tower, rows, cols)[0])
            return torch.cat(blocks)

        def get_input_embeddings(self):
            return self.llm.get_input_embeddings()

        def embed(self, input_ids, pixel_values=None, tgt_sizes=None, image_bound=None):
            """The prompt's embeddings with each slice's features at its `<unk>` positions."""
            embeds = self.llm.model.embed_tokens(input_ids)
            if pixel_values is None:
                return embeds
            rows = []
            for sample, (pixels, sizes, bounds) in enumerate(zip(pixel_values, tgt_sizes, image_bound)):
                features = self.image_features(pixels, sizes).to(embeds.dtype)
                positions = torch.cat([torch.arange(int(s), int(e)) for s, e in bounds.tolist()])
                row = embeds[sample].clone()
                row[positions.to(row.device)] = features
                rows.append(row)
            return torch.stack(rows)

        def forward(self, input_ids=None, pixel_values=None, tgt_sizes=None, image_bound=None, inputs_embeds=None, **kwargs):
            if inputs_embeds is None:
                inputs_embeds = self.embed(input_ids, pixel_values, tgt_sizes, image_bound)
            return self.llm(inputs_embeds=inputs_embeds, **kwargs)

    return MiniCPMOVision


def load(base, dtype):
    """The checkpoint as (model, processor)."""
    model, raw = checkpoint.build(build_model_class(), base, "MiniCPM-o", "llm.lm_head.weight")
    if raw.get("tie_word_embeddings"):
        model.llm.tie_weights()
    return model.to(dtype), Processor(base, raw)


class Processor(checkpoint.TokenizerProcessor):
    """The engine's slicing and prompt layout (see the module header)."""

    image_token = IMAGE_TAG

    def __init__(self, base, raw):
        super().__init__(base)
        settings = self.settings
        self.patch = settings.get("patch_size", 14)
        self.scale = settings.get("scale_resolution", SCALE_RESOLUTION)
        self.max_slices = settings.get("max_slice_nums", 9)
        self.slice_mode = settings.get("slice_mode", True)
        self.use_image_id = settings.get("use_image_id", False)
        self.queries = settings.get("image_feature_size", raw["query_num"])
        self.mean = settings.get("image_mean") or settings.get("norm_mean") or [0.5] * 3
        self.std = settings.get("image_std") or settings.get("norm_std") or [0.5] * 3

    def grid(self, width, height):
        """The slice grid (columns, rows) the engine picks, or None (inputs_processor.rs:
        `get_sliced_grid`; the engine reads the aspect ratio as w / h in whole numbers)."""
        log_ratio = math.log(width // height) if width >= height else float("-inf")
        multiple = min(math.ceil(width * height / self.scale**2), self.max_slices)
        if multiple <= 1:
            return None
        best, error = (1, 1), float("inf")
        for count in (multiple - 1, multiple, multiple + 1):
            if count == 1 or count > self.max_slices:
                continue
            for m in range(1, count + 1):
                if count % m == 0:
                    candidate = (m, count // m)
                    e = abs(log_ratio - math.log(candidate[0] / candidate[1]))
                    if e < error:
                        best, error = candidate, e
        return best

    def divisible(self, length, by):
        """The engine's `ensure_divide`: to the nearest multiple, halves away from zero."""
        return int(max(math.floor(length / by + 0.5) * by, by))

    def best_resize(self, width, height, upscale):
        """The engine's `find_best_resize`, as it is: its width is scale · ratio (not height ·
        ratio), which only square images leave unchanged."""
        if width * height > self.scale**2 or upscale:
            ratio = width / height
            height = int(self.scale / math.sqrt(ratio))
            width = int(self.scale * ratio)
        return self.divisible(width, self.patch), self.divisible(height, self.patch)

    def slices(self, image):
        from PIL import Image

        if not self.slice_mode:
            return [image], None
        grid = self.grid(*image.size)
        if grid is None:
            return [image.resize(self.best_resize(*image.size, True), Image.Resampling.BICUBIC)], None
        source = image.resize(self.best_resize(*image.size, False), Image.Resampling.BICUBIC)
        width, height = image.size
        refine_w, refine_h = self.divisible(width, grid[0]), self.divisible(height, grid[1])
        cell = self.best_resize(refine_h // grid[0], refine_w // grid[1], True)
        refined = image.resize((cell[0] * grid[0], cell[1] * grid[1]), Image.Resampling.BICUBIC)
        step_w, step_h = refined.width // grid[0], refined.height // grid[1]
        parts = [
            refined.crop((left, top, left + step_w, top + step_h))
            for top in range(0, refined.height, step_h)
            for left in range(0, refined.width, step_w)
        ]
        return [source, *parts], grid

    def placeholder(self, grid, index):
        unk = "<unk>" * self.queries
        text = f"<image>{unk}</image>"
        if self.use_image_id:
            text = f"<image_id>{index}</image_id>{text}"
        if self.slice_mode and grid:
            cols, rows = grid
            text += "\n".join("".join(f"<slice>{unk}</slice>" for _ in range(cols)) for _ in range(rows))
        return text

    def patches(self, image):
        """(3, patch, h·w/patch): the slice's patches in one row, and its (rows, cols)."""
        import numpy as np
        import torch

        x = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)
        x = (x - torch.tensor(self.mean).view(3, 1, 1)) / torch.tensor(self.std).view(3, 1, 1)
        _, height, width = x.shape
        p = self.patch
        rows, cols = height // p, width // p
        row = x.reshape(3, rows, p, cols, p).permute(0, 2, 1, 3, 4).reshape(3, p, rows * cols * p)
        return row, (rows, cols)

    def __call__(self, text, images, return_tensors="pt"):
        import torch

        (text,), ((image,),) = text, images
        parts, grid = self.slices(image.convert("RGB"))
        pieces = text.split(IMAGE_TAG)
        text = pieces[0] + "".join(self.placeholder(grid, 0) + rest for rest in pieces[1:])
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        opening = {self.tokenizer.convert_tokens_to_ids(t) for t in ("<image>", "<slice>")}
        closing = {self.tokenizer.convert_tokens_to_ids(t) for t in ("</image>", "</slice>")}
        starts = [i + 1 for i, t in enumerate(ids) if t in opening]
        ends = [i for i, t in enumerate(ids) if t in closing]
        rows = [self.patches(part) for part in parts]
        longest = max(r.shape[-1] for r, _ in rows)
        pixels = torch.stack([torch.nn.functional.pad(r, (0, longest - r.shape[-1])) for r, _ in rows])
        ids = torch.tensor([ids])
        return {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "pixel_values": pixels[None],
            "tgt_sizes": torch.tensor([[size for _, size in rows]]),
            "image_bound": torch.tensor([list(zip(starts, ends))]),
        }


def save_model(model, base, out, dtype_name):
    checkpoint.write_model(model, base, out, dtype_name, "llm.lm_head.weight")
