//! LLaVA-OneVision (radio-llava's architecture) on radiochat's own code: mistral.rs 0.8.1 has
//! no loader for it. So far the anyres geometry: which grid an image is tiled into and how many
//! image tokens one `<image>` becomes, as transformers' processor and model count them.

pub mod anyres;
