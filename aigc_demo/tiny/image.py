"""A tiny random-weight Stable Diffusion pipeline (noise in, noise out; tests the plumbing).

Shaped like diffusers' own ``get_dummy_components()``: a two-block UNet, a four-block VAE
(so ``vae_scale_factor`` is 8, as in real SD checkpoints), a two-layer CLIP text encoder and a
byte-level CLIP tokenizer whose vocabulary is the 256 byte symbols (no merges, no Hub).
"""

from __future__ import annotations

from pathlib import Path

HIDDEN = 32  # text hidden size == UNet cross-attention width


def _tokenizer():
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer

    # Every byte symbol, alone and as a word end: any prompt (Chinese too) tokenizes
    # without unknowns; with no merges each character is one token.
    symbols = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in symbols:
        vocab[symbol] = len(vocab)
        vocab[symbol + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def build(folder: Path) -> None:
    """Build the tiny pipeline deterministically and ``save_pretrained`` it into ``folder``."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer = _tokenizer()
    unet = UNet2DConditionModel(
        sample_size=8,
        block_out_channels=(8, 16),
        layers_per_block=1,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=HIDDEN,
        attention_head_dim=2,
        norm_num_groups=2,
    )
    vae = AutoencoderKL(
        sample_size=64,
        block_out_channels=(4, 4, 8, 8),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=2,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=HIDDEN,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            max_position_embeddings=77,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",  # any step count, down to 1, like the turbo models
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
