"""CPU plan: the cpu preset's architectures at real size on this CPU, random weights, no Hub.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cpu_plan.py           # ~6-9 min on 2 shared cores
    .venv/bin/python benchmarks/cpu_plan.py --quick                     # smaller token budgets, no bf16
    .venv/bin/python benchmarks/cpu_plan.py --only text,gguf --tokens 32
    .venv/bin/python benchmarks/cpu_plan.py --check-configs             # parameter counts only (meta device)

What the ``cpu`` preset runs (``aigc_demo/presets``): Qwen2.5-0.5B-Instruct in transformers (the
fallback after the 1.5B GGUF), sd-turbo (the SD 2.1 architecture, 512x512, 2 steps by default) and
Bark-small; and the shipped GGUF (Qwen2.5-Coder-0.5B-Instruct) through llama.cpp, the offline
preset's text model. The first three are built from their configuration values (written below
from the public model cards / ``config.json`` files, as remembered: no file was downloaded) with
random weights: they compute as much as trained ones, so time is real and outputs are noise.
The GGUF is the real model through the app's own backend (``create("text", "gguf:...", threads=N)``).

Measured (one warm-up at reduced work, then one timed call each):

- text: Qwen2.5-0.5B, fp32 vs bf16 (``model.to``): prefill of a 200-token prompt (time to the first
  token) and 64 new tokens (greedy, ``min_new_tokens`` so it cannot stop early) -> tokens/s;
- image: sd-turbo's text encoder (OpenCLIP ViT-H text tower, 77 tokens), one UNet step at
  512x512 (batch 1: turbo runs without CFG), one full VAE decode to 512x512, fp32, and the same
  decode with diffusers' ``AutoencoderTiny`` (TAESD's architecture) for comparison;
- audio: Bark-small ``generate`` for one short sentence: semantic tokens fixed by
  ``--semantic-tokens`` (Bark makes ~50 a second of speech), coarse and fine as Bark derives them;
- gguf: the app's llama.cpp backend with 1 and 2 threads: the tokens/s its result notes give.

torch runs with ``--threads`` threads (default 1: on a shared 2-core machine two torch threads were
3-10x slower); llama.cpp runs with the thread counts it is given. Lines: ``name: value unit``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from typing import Any, Callable

from _common import report  # first: sets the offline environment and puts the repo on sys.path
from gpu_plan import BARK_SUB, clip_tokenizer, weights  # Bark-small's sub-model sizes, shared with the GPU plan

# ---------------------------------------------------------------- configurations

# Qwen/Qwen2.5-0.5B-Instruct config.json (494M parameters, 358M without the tied embedding)
QWEN25_05B = dict(
    vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
    num_key_value_heads=2, hidden_act="silu", max_position_embeddings=32768, rms_norm_eps=1e-6,
    rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False,
    bos_token_id=151643, eos_token_id=151645,
)
# stabilityai/sd-turbo unet/config.json: the SD 2.1 UNet (865M), sample_size 64 = 512x512 images.
# Not certain: upcast_attention (left False; it changes the softmax dtype, not the work).
SD21_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    attention_head_dim=(5, 10, 20, 20), cross_attention_dim=1024, use_linear_projection=True,
    norm_num_groups=32, act_fn="silu",
)
# vae/config.json: the SD VAE (84M), scaling_factor 0.18215
SD_VAE = dict(
    sample_size=512, in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
    block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=32, scaling_factor=0.18215,
)
# text_encoder/config.json: OpenCLIP ViT-H/14 text tower as SD 2.x ships it (23 of 24 layers, 340M)
OPENCLIP_H_TEXT = dict(vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
                       num_attention_heads=16, max_position_embeddings=77, hidden_act="gelu", projection_dim=512)
# madebyollin/taesd = diffusers' AutoencoderTiny() defaults (2.4M parameters)
TAESD: dict[str, Any] = {}


def bark_config() -> Any:
    """suno/bark-small: three 12-layer 768-wide GPTs with Bark's vocabularies and the 24 kHz EnCodec."""
    from transformers import BarkConfig, EncodecConfig

    return BarkConfig(
        semantic_config=dict(BARK_SUB, input_vocab_size=129600, output_vocab_size=10048),
        coarse_acoustics_config=dict(BARK_SUB, input_vocab_size=12096, output_vocab_size=12096),
        fine_acoustics_config=dict(BARK_SUB, input_vocab_size=1056, output_vocab_size=1056, n_codes_total=8,
                                   n_codes_given=1),
        codec_config=EncodecConfig().to_dict(),
    )


# ---------------------------------------------------------------- measuring


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = call()
    return time.perf_counter() - start, out


def built(label: str, seconds: float, *modules: Any) -> None:
    count = sum(p.numel() for m in modules for p in m.parameters())
    print(f"# {label}: {count / 1e6:.0f}M parameters, {weights(*modules)}, built in {seconds:.0f} s", flush=True)


def plan_text(args: argparse.Namespace) -> None:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(**QWEN25_05B)
    seconds, model = timed(lambda: Qwen2ForCausalLM._from_config(config, dtype=torch.float32,
                                                                  attn_implementation="sdpa").eval())
    built("Qwen2.5-0.5B", seconds, model)
    generator = torch.Generator().manual_seed(0)
    prompt = torch.randint(0, config.vocab_size, (1, args.prompt_tokens), generator=generator)
    short = prompt[:, :16]

    def generate(ids: Any, new_tokens: int) -> Callable[[], Any]:
        def call() -> Any:
            with torch.inference_mode():
                return model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                                      min_new_tokens=new_tokens, do_sample=False, pad_token_id=config.eos_token_id)
        return call

    dtypes = [torch.float32] + ([] if args.quick else [torch.bfloat16])
    for dtype in dtypes:
        name = str(dtype)[6:].replace("float32", "fp32").replace("bfloat16", "bf16")
        model.to(dtype)
        generate(short, 2)()  # warm-up
        prefill, _ = timed(generate(prompt, 1))
        total, out = timed(generate(prompt, args.tokens))
        new = out.shape[1] - prompt.shape[1]
        report(f"qwen2.5-0.5b {name} prefill {args.prompt_tokens} tokens", prefill, "s")
        report(f"qwen2.5-0.5b {name} {new} new tokens", total, "s")
        report(f"qwen2.5-0.5b {name} tokens/s (end to end)", new / total, "tok/s")
        report(f"qwen2.5-0.5b {name} tokens/s (decode, after prefill)", (new - 1) / max(total - prefill, 1e-9), "tok/s")
    if args.quick:
        print("# skipped (--quick): qwen2.5-0.5b bf16", flush=True)
    del model
    gc.collect()


def plan_image(args: argparse.Namespace) -> None:
    import torch
    from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    seconds, unet = timed(lambda: UNet2DConditionModel(**SD21_UNET).eval())
    built("sd-turbo UNet (SD 2.1)", seconds, unet)
    seconds, vae = timed(lambda: AutoencoderKL(**SD_VAE).eval())
    built("SD VAE", seconds, vae)
    seconds, tiny = timed(lambda: AutoencoderTiny(**TAESD).eval())
    built("TAESD (AutoencoderTiny)", seconds, tiny)
    seconds, text_encoder = timed(lambda: CLIPTextModel(CLIPTextConfig(**OPENCLIP_H_TEXT, bos_token_id=0,
                                                                          eos_token_id=1, pad_token_id=1)).eval())
    built("OpenCLIP ViT-H text", seconds, text_encoder)

    generator = torch.Generator().manual_seed(0)
    ids = clip_tokenizer()("a bamboo water bottle on a sunny kitchen counter", padding="max_length",
                           max_length=77, return_tensors="pt").input_ids
    side = 512 // 8
    latents = torch.randn((1, 4, side, side), generator=generator)
    small = latents[:, :, :16, :16]
    context = torch.randn((1, 77, 1024), generator=generator)
    timestep = torch.tensor([999])

    with torch.inference_mode():
        text_encoder(ids[:, :8])  # warm-up
        encode, _ = timed(lambda: text_encoder(ids))
        unet(small, timestep, encoder_hidden_states=context)  # warm-up at 128x128
        step, _ = timed(lambda: unet(latents, timestep, encoder_hidden_states=context))
        vae.decode(small)  # warm-up
        decode, image = timed(lambda: vae.decode(latents / SD_VAE["scaling_factor"]).sample)
        tiny.decode(small)  # warm-up
        tiny_decode, tiny_image = timed(lambda: tiny.decode(latents).sample)
    assert image.shape[-1] == tiny_image.shape[-1] == 512, (image.shape, tiny_image.shape)
    report("sd-turbo text encoder (77 tokens) fp32", encode, "s")
    report("sd-turbo unet step 512x512 fp32", step, "s")
    report("sd-turbo vae decode 512x512 fp32", decode, "s")
    report("taesd (AutoencoderTiny) decode 512x512 fp32", tiny_decode, "s", ratio=tiny_decode / decode)
    report("sd-turbo image, 2 steps (cpu preset), full VAE", encode + 2 * step + decode, "s", note="sum of the parts")
    report("sd-turbo image, 2 steps (cpu preset), TAESD", encode + 2 * step + tiny_decode, "s", note="sum of the parts")
    del unet, vae, tiny, text_encoder
    gc.collect()


def plan_audio(args: argparse.Namespace) -> None:
    import torch
    from transformers import BarkModel, GenerationConfig
    from transformers.models.bark.generation_configuration_bark import BarkGenerationConfig

    seconds, model = timed(lambda: BarkModel(bark_config()).eval())
    built("Bark-small", seconds, model)
    model.generation_config = GenerationConfig.from_dict(
        BarkGenerationConfig(sample_rate=24000, codebook_size=1024).to_dict()  # Bark's real generation settings
    )
    torch.manual_seed(0)
    ids = torch.zeros((1, 256), dtype=torch.long)  # BarkProcessor pads the text to 256 tokens
    ids[0, :20] = torch.randint(1000, 100000, (20,))  # ~ one short sentence of BERT tokens
    mask = torch.zeros_like(ids)
    mask[0, :20] = 1

    def speak(tokens: int) -> Callable[[], Any]:
        def call() -> Any:
            with torch.inference_mode():
                return model.generate(ids, attention_mask=mask, semantic_max_new_tokens=tokens,
                                      semantic_min_new_tokens=tokens, do_sample=True)
        return call

    speak(4)()  # warm-up
    tokens = args.semantic_tokens
    seconds, audio = timed(speak(tokens))
    audio_seconds = audio.shape[-1] / 24000
    report(f"bark-small one sentence ({tokens} semantic tokens) fp32", seconds, "s",
           note=f"{audio_seconds:.1f} s of audio out, real-time factor {seconds / max(audio_seconds, 1e-9):.1f}")
    del model
    gc.collect()


def plan_gguf(args: argparse.Namespace) -> None:
    from aigc_demo.backends import create
    from aigc_demo.core.types import TextRequest

    request = TextRequest("Write a short product description for a bamboo water bottle, for an online shop.",
                          max_new_tokens=args.tokens, temperature=0.0, seed=1)
    for threads in (1, 2):
        backend = create("text", "gguf:qwen2.5-coder-0.5b-instruct", threads=threads)
        if backend.missing():
            print(f"# skipped: gguf ({backend.missing()})", flush=True)
            return
        load, model = timed(lambda: backend.load("cpu", None))
        backend.generate(model, TextRequest("Say hi.", max_new_tokens=4, temperature=0.0, seed=1))  # warm-up
        seconds, result = timed(lambda: backend.generate(model, request))
        rate = next((n for n in result.notes if "tokens/s" in n), "")
        report(f"gguf qwen2.5-coder-0.5b {threads} thread(s) load", load, "s")
        report(f"gguf qwen2.5-coder-0.5b {threads} thread(s) generate", seconds, "s", note="; ".join(result.notes))
        if rate:
            report(f"gguf qwen2.5-coder-0.5b {threads} thread(s) decode", float(rate.rsplit("then ", 1)[-1].split()[0]),
                   "tok/s")
        del model
        gc.collect()


def check_configs() -> None:
    import torch
    from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel
    from transformers import BarkModel, CLIPTextConfig, CLIPTextModel, Qwen2Config, Qwen2ForCausalLM

    builders = {
        "Qwen2.5-0.5B": (lambda: Qwen2ForCausalLM(Qwen2Config(**QWEN25_05B)), "494M (model card)"),
        "SD 2.1 UNet": (lambda: UNet2DConditionModel(**SD21_UNET), "865M"),
        "SD VAE": (lambda: AutoencoderKL(**SD_VAE), "84M"),
        "OpenCLIP ViT-H text (SD 2.x)": (lambda: CLIPTextModel(CLIPTextConfig(**OPENCLIP_H_TEXT)), "340M"),
        "TAESD": (lambda: AutoencoderTiny(**TAESD), "2.4M"),
        "Bark-small": (lambda: BarkModel(bark_config()), ""),
    }
    for name, (build, published) in builders.items():
        with torch.device("meta"):
            count = sum(p.numel() for p in build().parameters())
        report(f"{name} parameters", count / 1e6, "M", note=f"published: {published}" if published else "")


PLANS = {"text": plan_text, "image": plan_image, "audio": plan_audio, "gguf": plan_gguf}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="text,image,audio,gguf", help="comma-separated parts")
    parser.add_argument("--quick", action="store_true", help="16 new tokens, 32 semantic tokens, no bf16")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per LLM call")
    parser.add_argument("--prompt-tokens", type=int, default=200)
    parser.add_argument("--semantic-tokens", type=int, default=100, help="Bark semantic tokens (~2 s of speech)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--check-configs", action="store_true", help="parameter counts only")
    args = parser.parse_args()
    if args.quick:
        args.tokens, args.semantic_tokens = min(args.tokens, 16), min(args.semantic_tokens, 32)

    import torch
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()
    if args.check_configs:
        check_configs()
        return 0
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load = os.getloadavg()
    print(f"# cpu plan: torch {torch.__version__}, {torch.get_num_threads()} torch thread(s), {os.cpu_count()} CPUs, "
          f"{torch.backends.cpu.get_cpu_capability()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
          flush=True)
    print(f"# budgets: {args.prompt_tokens}-token prompt, {args.tokens} new tokens, "
          f"{args.semantic_tokens} Bark semantic tokens{' (--quick)' if args.quick else ''}", flush=True)
    skipped = [p for p in PLANS if p not in args.only.split(",")]
    if skipped:
        print(f"# skipped (--only): {', '.join(skipped)}", flush=True)
    for part in args.only.split(","):
        start = time.perf_counter()
        try:
            PLANS[part](args)
        except Exception as error:  # report and go on with the next part
            print(f"# {part} failed: {type(error).__name__}: {str(error)[:200]}", flush=True)
        gc.collect()
        print(f"# {part}: {time.perf_counter() - start:.0f} s including building; "
              f"load average now {os.getloadavg()[0]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
