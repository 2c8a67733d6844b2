"""A tiny random-weight Wan 2.1 text-to-video pipeline, built from configs (no network).

Same classes and folder layout as ``Wan-AI/Wan2.1-T2V-1.3B-Diffusers`` (UMT5 text encoder,
``WanTransformer3DModel``, ``AutoencoderKLWan``, flow-matching scheduler), so
``DiffusionPipeline.from_pretrained(folder)`` returns a ``WanPipeline``. Sizes follow
diffusers' own ``tests/pipelines/wan`` dummy components; the tokenizer is a T5 Unigram
tokenizer built from a small vocab list instead of a Hub download. Output is noise.
"""

from __future__ import annotations

import string
from pathlib import Path

TEXT_DIM = 32  # UMT5 d_model == WanTransformer3DModel text_dim


def _tokenizer():
    """A T5 (Unigram) tokenizer over single characters and a few words."""
    from transformers import T5Tokenizer

    pieces = ["▁" + w for w in ("a", "the", "of", "and", "video", "city", "product")]
    pieces += ["▁"] + list(string.ascii_lowercase + string.ascii_uppercase + string.digits + ".,!?'-:;")
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(piece, -1.0 - 0.01 * i) for i, piece in enumerate(pieces)]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=512)


def build(folder: Path) -> None:
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer),
            d_model=TEXT_DIM,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],  # 8x spatial, 4x temporal: frames = 4k+1
    )
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=TEXT_DIM,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=64,  # room for 161 frames (41 latent frames)
    )
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)
    pipe = WanPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=scheduler,
        transformer=transformer,
    )
    pipe.save_pretrained(folder)
