"""Tiny random-weight Qwen2 chat model with a byte-level BPE tokenizer trained on the spot.

The weights are random, so the model writes noise; it exists to run the real
``from_pretrained`` / chat template / streaming path in a second on a CPU.
"""

from __future__ import annotations

from pathlib import Path

# A small bilingual corpus so the tokenizer learns real English words and Chinese characters.
_CORPUS = [
    "Write a one-sentence product description for a bamboo water bottle.",
    "Our lightweight bottle keeps drinks cold for twenty-four hours.",
    "The patient reports mild headache and fatigue for three days.",
    "Summarise the maintenance plan for the conveyor belt and the hydraulic press.",
    "Market brief: equities rose while bond yields fell after the central bank meeting.",
    "Thank you for contacting customer service. Your refund has been processed.",
    "INT. WAREHOUSE - NIGHT. A single light swings above the empty floor.",
    "You are a helpful assistant for business users. Answer concisely.",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Generative AI helps retail, medicine, film, manufacturing and finance teams.",
    "这款竹制水瓶轻便环保，适合户外运动和日常通勤。",
    "患者主诉头痛三天，伴有轻度乏力，无发热。",
    "请为传送带和液压机制定每周维护计划。",
    "市场简报：股市上涨，债券收益率下降。",
    "感谢您联系客服，您的退款已经处理完毕。",
    "夜晚的仓库里，一盏灯在空荡荡的地面上摇晃。",
    "生成式人工智能正在改变零售、医疗、影视、制造和金融行业。",
    "你是一个乐于助人的商业助手，请简洁地回答。",
]

# ChatML, the format Qwen2 instruct models use.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
VOCAB_SIZE = 1024


def _train_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
        model_max_length=2048,
    )


def build(folder: Path) -> None:
    """Save a tiny Qwen2 model + tokenizer into ``folder`` (deterministic, no network)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer()
    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        bos_token_id=None,
    )
    model = Qwen2ForCausalLM(config).eval()
    # Random weights would stop at a random end token; never emitting one makes every
    # run last exactly max_new_tokens, so streaming and cancel tests are predictable.
    model.generation_config = GenerationConfig(
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        suppress_tokens=[tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS],
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
