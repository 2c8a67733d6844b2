"""GPU plan: the gpu preset's architectures at real size, random weights, no Hub.

    .venv/bin/python benchmarks/gpu_plan.py                 # needs CUDA (expected ~5 min on one large GPU)
    .venv/bin/python benchmarks/gpu_plan.py --dry-run       # CPU, every code path at toy size
    .venv/bin/python benchmarks/gpu_plan.py --check-configs # parameter counts of the real-size models
    .venv/bin/python benchmarks/gpu_plan.py --only text,image --video-steps 4

Qwen2.5-3B-Instruct, SDXL-turbo, Bark-small and Wan 2.1 T2V 1.3B are built from their
configuration values (hard-coded below from the public ``config.json`` files of those repos, as
remembered by the author - no file was downloaded; where a value was not certain the comment
says so) with random weights, directly on the device. Random weights compute exactly as much as
trained ones, so latency and memory are real; outputs are noise. Tokenizers are small local
stand-ins (byte-level CLIP, a character T5 vocabulary): token *ids* stay within the real
vocabularies, so the text encoders do full-size work.

Per architecture, variants (one warm-up call at reduced work, then one timed call):

- dtype: float32 vs the ModelManager's choice (``aigc_demo.runtime.choose_dtype``: bf16 on CUDA
  GPUs that support it; Wan keeps its VAE in float32 as the video generator does);
- attention: SDPA vs eager (transformers ``attn_implementation``; diffusers' classic
  ``AttnProcessor`` for SDXL, the ``_native_math`` backend for Wan);
- VAE slicing / tiling (SDXL at 1024x1024 x2 images, Wan at the preset's size);
- model CPU offload (``enable_model_cpu_offload`` for pipelines, accelerate ``cpu_offload`` for
  the LLM), which is what the manager does with ``offload=True`` on CUDA.

Latency is wall time with CUDA synchronised; peak is ``torch.cuda.max_memory_allocated`` during
the timed call (weights included). On CPU (--dry-run) only latency is shown and offload is
skipped. Each variant that fails (e.g. out of memory) is reported and the run goes on.
"""

from __future__ import annotations

import argparse
import gc
import string
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from _common import report  # first: sets the offline environment and puts the repo on sys.path

# ---------------------------------------------------------------- configurations

# Qwen/Qwen2.5-3B-Instruct config.json
QWEN25_3B = dict(
    vocab_size=151936, hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
    num_attention_heads=16, num_key_value_heads=2, hidden_act="silu", max_position_embeddings=32768,
    rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False,
    bos_token_id=151643, eos_token_id=151645,
)
QWEN_TOY = dict(QWEN25_3B, vocab_size=1024, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, bos_token_id=0, eos_token_id=1)

# stabilityai/sdxl-turbo unet/config.json (sample_size 64: turbo is trained at 512x512)
SDXL_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20), cross_attention_dim=2048,
    use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816, norm_num_groups=32,
)
# vae/config.json (the SDXL VAE; scaling_factor 0.13025, force_upcast true)
SDXL_VAE = dict(
    sample_size=512, in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
    block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=32, scaling_factor=0.13025, force_upcast=True,
)
# text_encoder: CLIP ViT-L/14 text tower; text_encoder_2: OpenCLIP ViT-bigG/14 text tower (with projection)
CLIP_L = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
              num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768)
CLIP_G = dict(vocab_size=49408, hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
              num_attention_heads=20, max_position_embeddings=77, hidden_act="gelu", projection_dim=1280)
# Toy sizes: diffusers' own tests/pipelines/stable_diffusion_xl get_dummy_components()
SDXL_UNET_TOY = dict(
    sample_size=32, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(32, 64),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 2), attention_head_dim=(2, 4), cross_attention_dim=64,
    use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=8,
    projection_class_embeddings_input_dim=80, norm_num_groups=1,
)
SDXL_VAE_TOY = dict(sample_size=128, in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
                    block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2,
                    up_block_types=("UpDecoderBlock2D",) * 2, norm_num_groups=32)
CLIP_TOY = dict(vocab_size=1000, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=77, hidden_act="gelu", projection_dim=32)

# suno/bark-small: three 12-layer, 12-head, 768-wide GPT sub-models with Bark's real vocabularies
# (semantic 129600 -> 10048, coarse 12096, fine 1056 x 8 codebooks) and the 24 kHz EnCodec codec
# (EncodecConfig() defaults are facebook/encodec_24khz). Not certain: the sub-models' `bias` flag
# (left at transformers' default; a fraction of a percent of the parameters).
BARK_SUB = dict(hidden_size=768, num_layers=12, num_heads=12, block_size=1024)
BARK_SUB_TOY = dict(hidden_size=16, num_layers=1, num_heads=2, block_size=1024)

# Wan-AI/Wan2.1-T2V-1.3B-Diffusers transformer/config.json
WAN_1_3B = dict(
    patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
    text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024,
)
WAN_TOY = dict(WAN_1_3B, num_attention_heads=2, attention_head_dim=12, text_dim=32, ffn_dim=32, num_layers=2,
               rope_max_seq_len=32)
# vae/config.json: AutoencoderKLWan's defaults are the Wan 2.1 VAE (base_dim 96, dim_mult 1,2,4,4, ...)
WAN_VAE: dict[str, Any] = {}
WAN_VAE_TOY = dict(base_dim=3, dim_mult=[1, 1, 1, 1], num_res_blocks=1)
# text_encoder/config.json: google/umt5-xxl encoder (5.7B parameters: the largest part of the pipeline)
UMT5_XXL = dict(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                relative_attention_num_buckets=32, relative_attention_max_distance=128,
                feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6, tie_word_embeddings=False)
UMT5_TOY = dict(UMT5_XXL, vocab_size=1000, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                relative_attention_num_buckets=8)


# ---------------------------------------------------------------- measuring


@dataclass
class Result:
    arch: str
    variant: str
    seconds: float | None
    peak_gib: float | None
    note: str = ""


@dataclass
class Plan:
    device: str
    toy: bool
    args: argparse.Namespace
    results: list[Result] = field(default_factory=list)

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    def sync(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    def free(self) -> None:
        gc.collect()
        if self.cuda:
            import torch

            torch.cuda.empty_cache()

    def measure(self, arch: str, variant: str, call: Callable[[], Any], warm: Callable[[], Any] | None = None,
                note: str = "", needs_cuda: bool = False) -> None:
        """Warm up, then time ``call`` once (CUDA synchronised) and record its peak memory."""
        import torch

        if needs_cuda and not self.cuda:
            return self._add(Result(arch, variant, None, None, "skipped: needs CUDA"))
        try:
            if warm is not None:
                warm()
            self.sync()
            if self.cuda:
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            call()
            self.sync()
            seconds = time.perf_counter() - start
            peak = torch.cuda.max_memory_allocated() / 2**30 if self.cuda else None
            self._add(Result(arch, variant, seconds, peak, note))
        except Exception as error:  # out of memory, an unsupported dtype/kernel: report and go on
            self._add(Result(arch, variant, None, None, f"failed: {type(error).__name__}: {str(error)[:160]}"))
        finally:
            self.free()

    def _add(self, result: Result) -> None:
        self.results.append(result)
        seconds = f"{result.seconds:.2f} s" if result.seconds is not None else "-"
        peak = f", peak {result.peak_gib:.2f} GiB" if result.peak_gib is not None else ""
        print(f"#   {result.arch} | {result.variant}: {seconds}{peak}{'  ' + result.note if result.note else ''}", flush=True)


def weights(*modules: Any) -> str:
    size = sum(p.numel() * p.element_size() for m in modules for p in m.parameters())
    return f"{size / 2**30:.1f} GiB" if size >= 2**30 else f"{size / 2**20:.1f} MiB"


def set_dtype(modules: list[Any], dtype: Any) -> None:
    """Cast as ``from_pretrained(dtype=...)`` would: diffusers keeps ``_keep_in_fp32_modules`` in float32
    (Wan: rope, time embedder, norms), transformers does that for float16 only."""
    import torch

    for module in modules:
        module.to(dtype=dtype)
        keep = getattr(module, "_keep_in_fp32_modules", None)
        if keep and dtype != torch.float32 and type(module).__module__.startswith("diffusers"):
            for name, sub in module.named_modules():
                if any(k in name.split(".") for k in keep):
                    sub.to(torch.float32)


# ---------------------------------------------------------------- tokenizers (local stand-ins)


def clip_tokenizer():
    """Byte-level CLIP tokenizer without merges (ids < 600, within CLIP's 49408)."""
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[symbol] = len(vocab)
        vocab[symbol + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def t5_tokenizer():
    """A character-level T5 Unigram tokenizer (ids < 100, within UMT5's vocabulary)."""
    from transformers import T5Tokenizer

    pieces = ["▁"] + list(string.ascii_letters + string.digits + ".,!?'-:;")
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(p, -1.0 - 0.01 * i) for i, p in enumerate(pieces)]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=512)


PROMPT = "a slow pan across a bamboo water bottle on a sunny kitchen counter, cinematic light"


# ---------------------------------------------------------------- the four architectures


def plan_text(plan: Plan, dtype: Any) -> None:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    arch = "text Qwen2.5-3B"
    tokens = 8 if plan.toy else plan.args.tokens
    config = Qwen2Config(**(QWEN_TOY if plan.toy else QWEN25_3B))
    with torch.device(plan.device):
        model = Qwen2ForCausalLM._from_config(config, dtype=torch.float32, attn_implementation="sdpa").eval()
    prompt = torch.randint(0, config.vocab_size, (1, 128), device=plan.device)

    def generate(new_tokens: int) -> Callable[[], Any]:
        def call() -> Any:
            with torch.inference_mode():
                return model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new_tokens,
                                      min_new_tokens=new_tokens, do_sample=False, pad_token_id=config.eos_token_id)
        return call

    note = f"128-token prompt + {tokens} new tokens, weights {weights(model)} fp32"
    plan.measure(arch, "fp32, SDPA", generate(tokens), generate(2), note)
    set_dtype([model], dtype)
    plan.measure(arch, f"{str(dtype)[6:]}, SDPA (manager's choice)", generate(tokens), generate(2))
    model.set_attn_implementation("eager")
    plan.measure(arch, f"{str(dtype)[6:]}, eager attention", generate(tokens), generate(2))
    model.set_attn_implementation("sdpa")
    from accelerate import cpu_offload

    model.to("cpu")
    cpu_offload(model, execution_device=torch.device(plan.device))  # dry run: CPU -> CPU, the same hooks
    prompt = prompt.to(plan.device)
    offload_tokens = max(2, tokens // 8)
    plan.measure(arch, f"{str(dtype)[6:]}, SDPA, accelerate cpu_offload", generate(offload_tokens), generate(2),
                 f"{offload_tokens} new tokens only (every token streams all weights from CPU memory)")


def plan_image(plan: Plan, dtype: Any) -> None:
    import torch
    from diffusers import AutoencoderKL, EulerAncestralDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    arch = "image SDXL-turbo"
    tokenizer = clip_tokenizer()
    ids = dict(bos_token_id=0, eos_token_id=1, pad_token_id=1)
    with torch.device(plan.device):
        unet = UNet2DConditionModel(**(SDXL_UNET_TOY if plan.toy else SDXL_UNET))
        vae = AutoencoderKL(**(SDXL_VAE_TOY if plan.toy else SDXL_VAE))
        text_encoder = CLIPTextModel(CLIPTextConfig(**(CLIP_TOY if plan.toy else CLIP_L), **ids))
        text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**(CLIP_TOY if plan.toy else CLIP_G), **ids))
    scheduler = EulerAncestralDiscreteScheduler(  # sdxl-turbo's scheduler
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="trailing", steps_offset=1
    )
    pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                     tokenizer=tokenizer, tokenizer_2=tokenizer, unet=unet, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    modules = [unet, vae, text_encoder, text_encoder_2]
    size, big = (64, 128) if plan.toy else (512, 1024)
    steps = 2 if plan.toy else 4

    def run(side: int, images: int = 1, num_steps: int = steps) -> Callable[[], Any]:
        return lambda: pipe(PROMPT, width=side, height=side, num_inference_steps=num_steps, guidance_scale=0.0,
                            num_images_per_prompt=images, generator=torch.Generator("cpu").manual_seed(0),
                            output_type="np")

    warm = run(size, num_steps=1)
    note = f"{size}x{size}, {steps} steps, weights {weights(*modules)} fp32"
    plan.measure(arch, "fp32, SDPA", run(size), warm, note)
    set_dtype(modules, dtype)
    name = str(dtype)[6:]
    plan.measure(arch, f"{name}, SDPA (manager's choice)", run(size), warm)
    for module in (unet, vae):
        module.set_attn_processor(AttnProcessor())
    plan.measure(arch, f"{name}, eager attention (AttnProcessor)", run(size), warm)
    for module in (unet, vae):
        module.set_attn_processor(AttnProcessor2_0())
    big_note = f"{big}x{big}, 2 images"
    warm_big = run(big, 2, 1)
    plan.measure(arch, f"{name}, SDPA, {big_note}", run(big, 2), warm_big)
    vae.enable_slicing()
    plan.measure(arch, f"{name}, SDPA, {big_note}, VAE slicing", run(big, 2), warm_big)
    vae.disable_slicing()
    vae.enable_tiling()
    plan.measure(arch, f"{name}, SDPA, {big_note}, VAE tiling", run(big, 2), warm_big)
    vae.disable_tiling()
    if plan.cuda:
        pipe.to("cpu")
        pipe.enable_model_cpu_offload(device=plan.device)
    plan.measure(arch, f"{name}, SDPA, model CPU offload", run(size), warm, needs_cuda=True)


def plan_audio(plan: Plan, dtype: Any) -> None:
    import torch
    from transformers import BarkConfig, BarkModel, EncodecConfig, GenerationConfig
    from transformers.models.bark.generation_configuration_bark import BarkGenerationConfig

    arch = "audio Bark-small"
    sub = BARK_SUB_TOY if plan.toy else BARK_SUB
    config = BarkConfig(
        semantic_config=dict(sub, input_vocab_size=129600, output_vocab_size=10048),
        coarse_acoustics_config=dict(sub, input_vocab_size=12096, output_vocab_size=12096),
        fine_acoustics_config=dict(sub, input_vocab_size=1056, output_vocab_size=1056, n_codes_total=8, n_codes_given=1),
        codec_config=(EncodecConfig(hidden_size=16, num_filters=4, num_lstm_layers=1) if plan.toy else EncodecConfig()).to_dict(),
    )
    with torch.device(plan.device):
        model = BarkModel(config).eval()
    model.generation_config = GenerationConfig.from_dict(
        BarkGenerationConfig(sample_rate=24000, codebook_size=1024).to_dict()  # Bark's real generation settings
    )
    semantic = 8 if plan.toy else plan.args.semantic_tokens
    ids = torch.zeros((1, 256), dtype=torch.long, device=plan.device)  # BarkProcessor pads to 256
    ids[0, :32] = torch.randint(1000, 100000, (32,))
    mask = torch.zeros_like(ids)
    mask[0, :32] = 1

    def speak(tokens: int) -> Callable[[], Any]:
        def call() -> Any:
            with torch.inference_mode():
                return model.generate(ids, attention_mask=mask, semantic_max_new_tokens=tokens,
                                      semantic_min_new_tokens=tokens, do_sample=True)
        return call

    note = (f"{semantic} semantic tokens (~{semantic / 49.9:.1f} s of speech; real runs stop at EOS, "
            f"up to 768), weights {weights(model)} fp32")
    plan.measure(arch, "fp32, eager attention", speak(semantic), speak(4), note)
    set_dtype([model], dtype)
    plan.measure(arch, f"{str(dtype)[6:]}, eager attention (manager's choice)", speak(semantic), speak(4),
                 "transformers' Bark has no SDPA path (eager or flash-attention-2 only)")


def plan_video(plan: Plan, dtype: Any) -> None:
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    arch = "video Wan2.1-1.3B"
    tokenizer = t5_tokenizer()
    with torch.device(plan.device):
        text_encoder = UMT5EncoderModel(UMT5Config(**(UMT5_TOY if plan.toy else UMT5_XXL), pad_token_id=0, eos_token_id=1)).eval()
        transformer = WanTransformer3DModel(**(WAN_TOY if plan.toy else WAN_1_3B))
        vae = AutoencoderKLWan(**(WAN_VAE_TOY if plan.toy else WAN_VAE))
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    pipe = WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler, transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    width, height, frames = (64, 64, 5) if plan.toy else (832, 480, plan.args.frames)  # the gpu preset's size
    steps = 2 if plan.toy else plan.args.video_steps

    def run(num_steps: int = steps) -> Callable[[], Any]:
        return lambda: pipe(PROMPT, width=width, height=height, num_frames=frames, num_inference_steps=num_steps,
                            guidance_scale=5.0, generator=torch.Generator("cpu").manual_seed(0), output_type="np")

    warm = run(1)
    note = (f"{width}x{height}, {frames} frames, {steps} steps with CFG (the preset runs 30: latency of the "
            f"denoising part scales with steps), weights {weights(text_encoder, transformer, vae)} fp32")
    plan.measure(arch, "fp32, SDPA", run(), warm, note)
    set_dtype([text_encoder, transformer], dtype)  # the video generator keeps Wan's VAE in float32
    name = str(dtype)[6:]
    plan.measure(arch, f"{name} (VAE fp32), SDPA (manager's choice)", run(), warm)
    transformer.set_attention_backend("_native_math")
    plan.measure(arch, f"{name} (VAE fp32), math attention (no fused SDPA kernel)", run(), warm)
    transformer.set_attention_backend("native")
    vae.enable_tiling()
    plan.measure(arch, f"{name} (VAE fp32), SDPA, VAE tiling", run(), warm)
    vae.disable_tiling()
    if plan.cuda:
        pipe.to("cpu")
        pipe.enable_model_cpu_offload(device=plan.device)
    plan.measure(arch, f"{name} (VAE fp32), SDPA, model CPU offload", run(), warm, needs_cuda=True)


def check_configs() -> None:
    """Build every real-size model on the meta device (no memory, no time) and count parameters."""
    import torch
    from diffusers import AutoencoderKL, AutoencoderKLWan, UNet2DConditionModel, WanTransformer3DModel
    from transformers import (
        BarkConfig, BarkModel, CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, EncodecConfig,
        Qwen2Config, Qwen2ForCausalLM, UMT5Config, UMT5EncoderModel,
    )

    ids = dict(bos_token_id=0, eos_token_id=1, pad_token_id=1)
    builders = {  # name: (builder, published parameter count or "")
        "Qwen2.5-3B": (lambda: Qwen2ForCausalLM(Qwen2Config(**QWEN25_3B)), "3.09B (model card)"),
        "SDXL UNet": (lambda: UNet2DConditionModel(**SDXL_UNET), "2.6B (SDXL paper)"),
        "SDXL VAE": (lambda: AutoencoderKL(**SDXL_VAE), "84M"),
        "SDXL CLIP-L text": (lambda: CLIPTextModel(CLIPTextConfig(**CLIP_L, **ids)), "123M"),
        "SDXL OpenCLIP-bigG text": (lambda: CLIPTextModelWithProjection(CLIPTextConfig(**CLIP_G, **ids)),
                                    "695M (817M with CLIP-L, SDXL paper)"),
        "Bark-small (3 GPTs + EnCodec)": (lambda: BarkModel(BarkConfig(
            semantic_config=dict(BARK_SUB, input_vocab_size=129600, output_vocab_size=10048),
            coarse_acoustics_config=dict(BARK_SUB, input_vocab_size=12096, output_vocab_size=12096),
            fine_acoustics_config=dict(BARK_SUB, input_vocab_size=1056, output_vocab_size=1056, n_codes_total=8,
                                       n_codes_given=1),
            codec_config=EncodecConfig().to_dict())), ""),
        "Wan 2.1 transformer": (lambda: WanTransformer3DModel(**WAN_1_3B), "1.3B (name)"),
        "Wan 2.1 VAE": (lambda: AutoencoderKLWan(**WAN_VAE), "127M"),
        "UMT5-XXL encoder": (lambda: UMT5EncoderModel(UMT5Config(**UMT5_XXL)), "5.7B"),
    }
    for name, (build, published) in builders.items():
        with torch.device("meta"):
            count = sum(p.numel() for p in build().parameters())
        report(f"{name} parameters", count / 1e6, "M", note=f"published: {published}" if published else "")


PLANS = {"text": plan_text, "image": plan_image, "audio": plan_audio, "video": plan_video}


# ---------------------------------------------------------------- main


def summary(plan: Plan) -> None:
    """One ``name: value (ratio x)`` line per variant (ratio to the manager's choice), then a table."""
    print()
    rows = ["| model | variant | latency (s) | x | peak memory (GiB) | x | note |", "|---|---|---|---|---|---|---|"]
    for arch in dict.fromkeys(r.arch for r in plan.results):
        group = [r for r in plan.results if r.arch == arch]
        base = next((r for r in group if "manager's choice" in r.variant and r.seconds), None)
        for r in group:
            t_ratio = r.seconds / base.seconds if base and r.seconds else None
            m_ratio = r.peak_gib / base.peak_gib if base and r.peak_gib and base.peak_gib else None
            if r.seconds is not None:
                report(f"{arch} {r.variant} latency", r.seconds, "s", t_ratio)
            if r.peak_gib is not None:
                report(f"{arch} {r.variant} peak memory", r.peak_gib, "GiB", m_ratio)
            rows.append(
                f"| {arch} | {r.variant} | {f'{r.seconds:.2f}' if r.seconds is not None else '-'} | "
                f"{f'{t_ratio:.2f}' if t_ratio else '-'} | {f'{r.peak_gib:.2f}' if r.peak_gib is not None else '-'} | "
                f"{f'{m_ratio:.2f}' if m_ratio else '-'} | {r.note} |"
            )
    print("\n" + "\n".join(rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="run every code path on CPU at toy size")
    parser.add_argument("--check-configs", action="store_true",
                        help="count the parameters of the real-size models (meta device; no GPU needed)")
    parser.add_argument("--only", default="text,image,audio,video", help="comma-separated architectures")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per LLM call")
    parser.add_argument("--semantic-tokens", type=int, default=128, help="Bark semantic tokens per call")
    parser.add_argument("--video-steps", type=int, default=8)
    parser.add_argument("--frames", type=int, default=33, help="video frames (the gpu preset's default)")
    args = parser.parse_args()

    import torch
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()  # casting and experimental-API notices
    transformers_logging.set_verbosity_error()
    if args.check_configs:
        check_configs()
        return 0
    if not args.dry_run and not torch.cuda.is_available():
        print("gpu_plan: no CUDA GPU here (torch.cuda.is_available() is False), so there is nothing to measure.\n"
              "Run it on a CUDA machine, or use --dry-run to check every code path on this CPU at toy size.")
        return 0
    from aigc_demo.runtime import choose_dtype

    device = "cpu" if args.dry_run else "cuda"
    # The manager's choice on CUDA (bf16 / fp16). On the CPU dry run use bf16 anyway, to run that path.
    dtype = choose_dtype(device) if device == "cuda" else torch.bfloat16
    plan = Plan(device=device, toy=args.dry_run, args=args)
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU (dry run, toy sizes)"
    print(f"# gpu plan on {name}, torch {torch.__version__}, manager dtype {dtype}", flush=True)
    torch.manual_seed(0)
    for arch in args.only.split(","):
        start = time.perf_counter()
        PLANS[arch](plan, dtype)  # its models are freed when it returns
        plan.free()
        print(f"# {arch}: {time.perf_counter() - start:.0f} s including building", flush=True)
    summary(plan)
    return 0


if __name__ == "__main__":
    sys.exit(main())
