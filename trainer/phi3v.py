"""Phi-3.5 vision (`Phi3VForCausalLM`) as a trainable torch model, built from transformers' parts.

The checkpoint ships as remote code and transformers has no class for it; radiochat runs no
code shipped inside a model directory. Its parts are transformers' own, though: a Phi-3 text
model (`Phi3ForCausalLM`: fused `qkv_proj` and `gate_up_proj`, long-rope) and a CLIP
ViT-L/14-336 tower (`CLIPVisionModel`). What joins them is small and written here, after the
embedded engine (mistral.rs 0.8.1, vision_models/phi3), so that what is trained is what
answers:

- the image is cut as the engine cuts it (phi3_inputs_processor.rs: `hd_transform`): turned
  upright when portrait, resized to a whole number of 336-px columns (at most `num_crops`
  crops), padded with white below to whole rows of 336 px, normalised; a 336-px global view
  (nearest-neighbour) goes first, then the crops;
- the tower's features come from the layer the engine reads: its hidden-state list holds the
  encoder layers' outputs and then the pooled output (clip.rs:317), so `layer_idx` -2 is the
  last encoder layer, one later than the released remote code reads (that code's list starts
  with the embeddings);
- each crop's 24×24 features are merged 2×2 into 12×12 of 4·C, a learnt `sub_GN` column ends
  every row, the crops are laid out as the image, then `glb_GN` and the global view, in the
  config's `hd_transform_order` (phi3/mod.rs: `ImageEmbedding::forward`), and the MLP projector
  (Linear, GELU, Linear) maps them into the text model;
- the prompt is split at `<|image_N|>`, each piece tokenised with the tokenizer's special
  tokens, and the image's positions (-1 ids) are filled with its features.

The module tree has the checkpoint's own names (`model.vision_embed_tokens.*` is registered
inside the text model), so the saved weights, a PEFT adapter's names and `finetune merge` need
no renaming.
"""
import math
import re

import checkpoint

RELEASED_CLASS = "Phi3VForCausalLM"
IMAGE_TAG = "<|image_1|>"
# The engine puts the image tag right before the question (mistral.rs' Phi3VPrefixer).
IMAGE_SEPARATOR = ""
CROP = 336
# Features per crop side after the tower (336 / 14) and after the 2×2 merge.
PATCHES = 24
MERGED = PATCHES // 2
IMAGE_TAGS = re.compile(r"<\|image_\d+\|>")
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def is_released(base):
    return checkpoint.architecture_of(base, RELEASED_CLASS)


def text_config(raw):
    from transformers import Phi3Config

    return Phi3Config(**checkpoint.text_settings(raw))


def clip_config():
    """The tower mistral.rs 0.8.1 fixes for every Phi-3.5 vision checkpoint (phi3/mod.rs:546):
    openai/clip-vit-large-patch14-336."""
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=24,
        num_attention_heads=16,
        image_size=CROP,
        patch_size=14,
        hidden_act="quick_gelu",
    )


def build_model_class():
    import torch
    from torch import nn
    from transformers import CLIPVisionModel, Phi3ForCausalLM

    class ImageEmbedding(nn.Module):
        def __init__(self, raw, hidden_size):
            super().__init__()
            tower = clip_config()
            # The checkpoint's `img_processor.vision_model.*`: transformers' class holds the
            # tower's parts at its top level.
            self.img_processor = nn.ModuleDict({"vision_model": CLIPVisionModel(tower)})
            width = raw["img_processor"]["image_dim_out"] * 4
            self.glb_GN = nn.Parameter(torch.zeros(1, 1, width))
            self.sub_GN = nn.Parameter(torch.zeros(1, 1, 1, width))
            self.img_projection = nn.Sequential(nn.Linear(width, hidden_size), nn.GELU(), nn.Linear(hidden_size, hidden_size))
            self.order = raw["embd_layer"].get("hd_transform_order", "glb_sub")
            layer_idx = raw["img_processor"].get("layer_idx", -2)
            # transformers' list: [embeddings, layer 1 … layer N]; the engine's: [layer 1 …
            # layer N, pooled]. The engine's entry N+1+layer_idx is transformers' N+2+layer_idx.
            self.hidden_state = tower.num_hidden_layers + 2 + layer_idx

        def merged(self, features):
            """(n, 576, C) → (n, 12, 12, 4·C): each 2×2 block of patches side by side."""
            n, _, c = features.shape
            grid = features.reshape(n, MERGED, 2, MERGED, 2, c).permute(0, 1, 3, 2, 4, 5)
            return grid.reshape(n, MERGED, MERGED, 4 * c)

        def forward(self, pixel_values, image_size):
            rows, cols = int(image_size[0]) // CROP, int(image_size[1]) // CROP
            crops = pixel_values[: 1 + rows * cols]
            out = self.img_processor["vision_model"](crops, output_hidden_states=True)
            features = self.merged(out.hidden_states[self.hidden_state][:, 1:])
            width = features.shape[-1]
            glb = torch.cat([features[:1], self.sub_GN.expand(1, MERGED, 1, width)], dim=2).reshape(1, -1, width)
            sub = features[1:].reshape(1, rows, cols, MERGED, MERGED, width).permute(0, 1, 3, 2, 4, 5)
            sub = sub.reshape(1, rows * MERGED, cols * MERGED, width)
            sub = torch.cat([sub, self.sub_GN.expand(1, rows * MERGED, 1, width)], dim=2).reshape(1, -1, width)
            parts = [sub, self.glb_GN, glb] if self.order == "sub_glb" else [glb, self.glb_GN, sub]
            return self.img_projection(torch.cat(parts, dim=1))

    class Phi3VisionForCausalLM(Phi3ForCausalLM):
        def __init__(self, config, raw):
            super().__init__(config)
            self.model.vision_embed_tokens = ImageEmbedding(raw, config.hidden_size)

        def embed(self, input_ids, pixel_values=None, image_sizes=None):
            """The prompt's embeddings with the image's features at its (-1) positions."""
            image = input_ids < 0
            embeds = self.model.embed_tokens(input_ids.clamp(min=0))
            if pixel_values is None or not image.any():
                return embeds
            features = [self.model.vision_embed_tokens(pv, size) for pv, size in zip(pixel_values, image_sizes)]
            features = torch.cat(features, dim=1).to(embeds.dtype)
            return embeds.masked_scatter(image.unsqueeze(-1), features)

        def forward(self, input_ids=None, pixel_values=None, image_sizes=None, inputs_embeds=None, **kwargs):
            if inputs_embeds is None:
                inputs_embeds = self.embed(input_ids, pixel_values, image_sizes)
            return super().forward(inputs_embeds=inputs_embeds, **kwargs)

    return Phi3VisionForCausalLM


def load(base, dtype):
    """The checkpoint as (model, processor)."""
    make = lambda raw: build_model_class()(text_config(raw), raw)  # noqa: E731
    model, raw = checkpoint.build(make, base, "Phi-3.5 vision", "lm_head.weight")
    if raw.get("tie_word_embeddings"):
        model.tie_weights()
    return model.to(dtype), Processor(base)


class Processor(checkpoint.TokenizerProcessor):
    """The engine's image cutting and prompt layout (see the module header)."""

    image_token = IMAGE_TAG

    def __init__(self, base):
        super().__init__(base)
        settings = self.settings
        self.num_crops = settings["num_crops"]
        self.mean = settings.get("image_mean") or CLIP_MEAN
        self.std = settings.get("image_std") or CLIP_STD

    def hd_image(self, image):
        from PIL import Image

        upright = image.width < image.height
        if upright:
            image = image.transpose(Image.Transpose.ROTATE_270)  # 90° clockwise
        ratio = image.width / image.height
        scale = 1
        while scale * math.ceil(scale / ratio) <= self.num_crops:
            scale += 1
        scale -= 1
        width = int(scale * CROP)
        height = int(width / ratio)
        image = image.resize((width, height), Image.Resampling.NEAREST)
        padded = Image.new("RGB", (width, math.ceil(height / CROP) * CROP), (255, 255, 255))
        padded.paste(image, (0, 0))
        return padded.transpose(Image.Transpose.ROTATE_90) if upright else padded

    def pixels(self, image):
        """(crops + 1, 3, 336, 336) pixel values, the padded image's (height, width), and how
        many prompt positions the image takes."""
        import numpy as np
        import torch
        import torch.nn.functional as F

        hd = self.hd_image(image.convert("RGB"))
        x = torch.from_numpy(np.asarray(hd, dtype=np.float32) / 255.0).permute(2, 0, 1)
        x = (x - torch.tensor(self.mean).view(3, 1, 1)) / torch.tensor(self.std).view(3, 1, 1)
        _, height, width = x.shape
        rows, cols = height // CROP, width // CROP
        overview = F.interpolate(x[None], size=(CROP, CROP), mode="nearest")
        crops = x.reshape(3, rows, CROP, cols, CROP).permute(1, 3, 0, 2, 4).reshape(-1, 3, CROP, CROP)
        positions = (rows * cols + 1) * MERGED * MERGED + (rows + 1) * MERGED + 1
        return torch.cat([overview, crops]), (height, width), positions

    def __call__(self, text, images, return_tensors="pt"):
        import torch

        (text,), ((image,),) = text, images
        pixel_values, size, positions = self.pixels(image)
        ids = []
        for i, piece in enumerate(IMAGE_TAGS.split(text)):
            if i:
                ids += [-1] * positions
            ids += self.tokenizer(piece, add_special_tokens=True)["input_ids"]
        ids = torch.tensor([ids])
        return {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "pixel_values": pixel_values[None],
            "image_sizes": torch.tensor([size]),
        }


def save_model(model, base, out, dtype_name):
    checkpoint.write_model(model, base, out, dtype_name, "lm_head.weight")
