"""Tiny random-weight Bark (transformers' port) for tests and the offline preset.

Widths are tiny, but the vocabulary sizes are Bark's real ones: the generation logic
hard-codes token offsets (text offset 10_048, text pad 129_595, semantic infer 129_599,
coarse pad/infer 12_048/12_050, codebook size 1024 x 8 codebooks), so the embeddings must
be at least that large. Generation lengths are kept short so a piece takes well under a
second on CPU. Two voice presets are saved so the preset path is exercised.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

# Voice presets shipped with the tiny model (the real suno/bark has 130).
TINY_VOICE_PRESETS = ("v2/en_speaker_6", "v2/zh_speaker_0")

# Bark's real vocabulary sizes (suno/bark config.json).
_SEMANTIC_IN, _SEMANTIC_OUT = 129_600, 10_048
_COARSE_VOCAB = 12_096
_FINE_VOCAB = 1_056

# A handful of common Chinese characters so zh text is not all [UNK].
_ZH_CHARS = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"


def _vocab() -> dict[str, int]:
    """A small cased WordPiece vocabulary: specials, ASCII chars (+ ## forms), common CJK."""
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = string.ascii_letters + string.digits + string.punctuation
    tokens += list(chars) + [f"##{c}" for c in string.ascii_letters + string.digits]
    tokens += list("，。！？、；：“”（）") + list(dict.fromkeys(_ZH_CHARS))
    return {tok: i for i, tok in enumerate(dict.fromkeys(tokens))}


def _save_voice_presets(folder: Path) -> None:
    """Random speaker prompts in Bark's format (ints within each sub-model's vocab)."""
    import numpy as np

    rng = np.random.default_rng(0)
    index: dict[str, object] = {"repo_or_path": str(folder)}
    for preset in TINY_VOICE_PRESETS:
        arrays = {
            "semantic_prompt": rng.integers(0, 10_000, size=(24,)),
            "coarse_prompt": rng.integers(0, 1024, size=(2, 36)),
            "fine_prompt": rng.integers(0, 1024, size=(8, 36)),
        }
        entry = {}
        for key, array in arrays.items():
            rel = f"speaker_embeddings/{preset}_{key}.npy"
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            np.save(folder / rel, array.astype(np.int64), allow_pickle=False)
            entry[key] = rel
        index[preset] = entry
    (folder / "speaker_embeddings_path.json").write_text(json.dumps(index, indent=1))


def build(folder: Path) -> None:
    """Save a tiny BarkModel + BarkProcessor (with two voice presets) into ``folder``."""
    import torch
    from transformers import (
        BarkConfig,
        BarkModel,
        BarkProcessor,
        BertTokenizer,
        GenerationConfig,
    )
    from transformers.models.bark.generation_configuration_bark import BarkGenerationConfig

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    sub = dict(hidden_size=16, num_layers=1, num_heads=2, block_size=1024)
    config = BarkConfig(
        semantic_config=dict(sub, input_vocab_size=_SEMANTIC_IN, output_vocab_size=_SEMANTIC_OUT),
        coarse_acoustics_config=dict(sub, input_vocab_size=_COARSE_VOCAB, output_vocab_size=_COARSE_VOCAB),
        fine_acoustics_config=dict(
            sub, input_vocab_size=_FINE_VOCAB, output_vocab_size=_FINE_VOCAB, n_codes_total=8, n_codes_given=1
        ),
        # 24 kHz, hop 320 (75 frames/s) like encodec_24khz; 6 kbps -> the 8 codebooks Bark predicts.
        codec_config=dict(
            model_type="encodec",
            target_bandwidths=[6.0],
            hidden_size=16,
            num_filters=4,
            num_lstm_layers=1,
            codebook_size=1024,
        ),
    )
    model = BarkModel(config).eval()
    # Encodec initialises its codebooks to zeros (they are learned by k-means), which would
    # decode every code to the same sound; random codebooks make the codes audible.
    with torch.no_grad():
        for layer in model.codec_model.quantizer.layers:
            layer.codebook.embed.copy_(torch.randn_like(layer.codebook.embed))

    # Nested sub-configs, as in suno/bark's generation_config.json, with short lengths:
    # random weights rarely emit EOS, so the semantic stage runs to max_new_tokens.
    model.generation_config = GenerationConfig.from_dict(
        BarkGenerationConfig(
            semantic_config={"max_new_tokens": 12},
            coarse_acoustics_config={"max_coarse_history": 60, "sliding_window_len": 30},
            fine_acoustics_config={"max_fine_history_length": 128, "max_fine_input_length": 256},
            sample_rate=config.codec_config.sampling_rate,
            codebook_size=1024,
        ).to_dict()
    )
    model.save_pretrained(folder)

    tokenizer = BertTokenizer(vocab=_vocab(), do_lower_case=False, model_max_length=256)
    BarkProcessor(tokenizer=tokenizer).save_pretrained(folder)
    _save_voice_presets(folder)
