"""A brand's FAQ and a lexical retriever: which entries answer a customer's question.

- :func:`load_faq` reads ``assets/faq/<brand>.yaml`` (entries with id, question, answer,
  keywords and aliases) and indexes it once.
- :func:`retrieve` ranks entries with BM25 over English word stems and Chinese character
  bigrams, so it works in both languages without a segmenter. Each entry is one document made
  of its fields with weights (question and keywords count most, the answer least); aliases
  (other ways customers ask) carry the paraphrases.
- A hit's ``coverage`` is the share of the question's content that the entry matches (English
  words weighted by IDF, Chinese characters each alike); :func:`is_covered` compares the top
  hit with :data:`COVERAGE_THRESHOLD`.

Sentiment is in :mod:`.sentiment`; escalation, the reply prompt and one chat turn in
:mod:`.service`. Everything is deterministic and standard-library only.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from aigc_demo.core.types import ValidationError

from .sentiment import ANGRY, POSITIVE, ZH_ANGRY, ZH_POSITIVE, normalise

FAQ_FOLDER = Path(__file__).resolve().parents[2] / "assets" / "faq"
# A question is covered when its best entry matches most of it (coverage >= COVERAGE_THRESHOLD),
# or matches a fair part of it (>= MIN_COVERAGE) with a strong BM25 score (>= MIN_SCORE; with
# these weights one or two distinctive matched terms score about 4-10 in a 20-entry FAQ).
COVERAGE_THRESHOLD = 0.6
MIN_COVERAGE = 0.3
MIN_SCORE = 4.0
K1, B = 1.2, 0.5
FIELD_WEIGHTS = {"question": 2.0, "aliases": 1.5, "keywords": 2.0, "answer": 0.5}
ZH_CHAR_WEIGHT = 0.5  # a Chinese character counts like half an (average) English word
_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


class FaqError(ValueError):
    """An FAQ file is invalid; the message names the file and the entry."""


# ---------------------------------------------------------------- tokens

EN_STOPWORDS = frozenset(
    """a an the i im i'm ive me my mine you your yours we our us they them their he she it its is are was
    were be been being am do does did done doing can could would should will shall may might must have has
    had having how what when where which who whom why to of in on at for with from by about as into onto
    over under and or but if so than then that this these those there here please hi hello hey thanks
    thank any some just also too very really yet still not no yes get got getting let lets know want need
    like one ok okay dear won't wont can't cant don't dont doesn't doesnt didn't isn't isnt aren't wasn't
    haven't hasn't couldn't wouldn't shouldn't""".split()
)
_IRREGULAR = {"paid": "pay", "bought": "buy", "broke": "break", "broken": "break", "sent": "send",
              "went": "go", "gone": "go", "children": "child", "kids": "kid"}
# A few everyday synonyms folded onto one word before stemming (customers' words vs the FAQ's).
SYNONYMS = {"earphone": "headphone", "earphones": "headphone", "headset": "headphone", "headsets": "headphone",
            "package": "parcel", "packages": "parcel", "iphone": "phone", "android": "phone",
            "smartphone": "phone", "mobile": "phone", "cellphone": "phone", "colour": "color",
            "colours": "color", "refunds": "refund", "reimburse": "refund", "purchase": "order",
            "purchases": "order", "purchased": "order"}
# Characters that are function words in Chinese questions; text is split at them.
ZH_STOPCHARS = frozenset("的了吗呢吧啊呀嘛哦哈呃我你您他她它们是在和与或都也就很么哪谁啥怎什想着把被给这那如何")
ZH_STOPBIGRAMS = frozenset({"时候", "请问", "可以", "能否", "是否", "一下", "为什", "有没", "没有", "多久", "多少",
                            "现在", "已经", "不能", "不了", "需要", "知道", "告诉"})
_RUN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")



def stem(word: str) -> str:
    """A light English stemmer: one suffix off, then final e / y / doubled consonant.

    Consistent rather than linguistic: "delivery", "delivered" and "deliveries" all become
    "deliver"; "shipping" and "ships" become "ship"; "cancellation" and "cancelled" "cancel"."""
    word = SYNONYMS.get(word, word)
    word = _IRREGULAR.get(word, word.replace("'", ""))
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ations", ""), ("ation", ""), ("ments", ""), ("ment", ""), ("ings", ""), ("ing", ""),
                         ("ies", "y"), ("ied", "y"), ("ness", ""), ("ful", ""), ("ly", ""), ("ed", ""),
                         ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) + len(repl) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                continue
            word = word[: len(word) - len(suffix)] + repl
            break
    if len(word) > 4 and word[-1] in "ey":
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    return word


def _zh_segments(run: str) -> list[str]:
    return [seg for seg in re.split(f"[{''.join(ZH_STOPCHARS)}]+", run) if seg]


def _zh_tokens(segment: str) -> list[str]:
    if len(segment) == 1:
        return [segment]
    return [segment[i : i + 2] for i in range(len(segment) - 1) if segment[i : i + 2] not in ZH_STOPBIGRAMS]


def tokenize(text: str) -> list[str]:
    """English stems (stop words dropped) and Chinese character bigrams (single characters
    when a run between function words is one character long)."""
    tokens: list[str] = []
    for run in _RUN.findall(normalise(text)):
        if run[0].isascii():
            if run not in EN_STOPWORDS and run.replace("'", "") not in EN_STOPWORDS:
                tokens.append(stem(run))
        else:
            for segment in _zh_segments(run):
                tokens.extend(_zh_tokens(segment))
    return tokens


@dataclass(frozen=True)
class _Unit:
    """A piece of the question whose coverage is measured: an English word or a Chinese char."""

    tokens: tuple[str, ...]  # the tokens that cover it (the word's stem, or the char's bigrams)
    zh: bool
    text: str


def _units(text: str) -> list[_Unit]:
    """The question's content for coverage. Words that only carry emotion or courtesy
    ("ridiculous", "thanks", 气死, 谢谢) are left out unless nothing else is left."""
    norm = normalise(text)
    calm = norm
    for phrase in ZH_ANGRY + ZH_POSITIVE:
        calm = calm.replace(phrase, " ")
    units = _content_units(calm, skip=ANGRY | POSITIVE)
    return units or _content_units(norm, skip=frozenset())


def _content_units(norm: str, skip: frozenset[str]) -> list[_Unit]:
    units: list[_Unit] = []
    for run in _RUN.findall(norm):
        if run[0].isascii():
            if run not in EN_STOPWORDS and run.replace("'", "") not in EN_STOPWORDS and run not in skip:
                units.append(_Unit((stem(run),), False, run))
            continue
        for segment in _zh_segments(run):
            tokens = _zh_tokens(segment)
            if len(segment) == 1:
                units.append(_Unit((segment,), True, segment))
                continue
            for i, char in enumerate(segment):
                around = {segment[j : j + 2] for j in (i - 1, i) if 0 <= j < len(segment) - 1}
                covering = tuple(t for t in tokens if t in around)
                if covering:  # characters only inside stop bigrams ("时候") carry no content
                    units.append(_Unit(covering, True, char))
    return units


# ---------------------------------------------------------------- the FAQ


@dataclass(frozen=True)
class FaqEntry:
    id: str
    question: str
    answer: str
    keywords: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Faq:
    brand: str  # the file's id ("aurora_audio")
    name: str  # the brand's display name
    language: str  # the language the FAQ is written in
    entries: tuple[FaqEntry, ...]
    contact: str = ""  # how a customer reaches a human (quoted when escalating)
    source: Path | None = None
    _tf: tuple[dict[str, float], ...] = field(default=(), repr=False)
    _df: dict[str, int] = field(default_factory=dict, repr=False)
    _avg_len: float = 1.0

    def entry(self, entry_id: str) -> FaqEntry:
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(entry_id)

    def idf(self, token: str) -> float:
        n, df = len(self.entries), self._df.get(token, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    @property
    def max_idf(self) -> float:
        return self.idf("\0unseen")


def _entry_tf(entry: FaqEntry) -> dict[str, float]:
    tf: Counter[str] = Counter()
    parts = {"question": [entry.question], "aliases": list(entry.aliases),
             "keywords": list(entry.keywords), "answer": [entry.answer]}
    for name, texts in parts.items():
        for text in texts:
            for token in tokenize(text):
                tf[token] += FIELD_WEIGHTS[name]
    return dict(tf)


def build_faq(brand: str, name: str, language: str, entries: Iterable[FaqEntry], contact: str = "",
              source: Path | None = None) -> Faq:
    entries = tuple(entries)
    tfs = tuple(_entry_tf(e) for e in entries)
    df: Counter[str] = Counter()
    for tf in tfs:
        df.update(tf.keys())
    avg = sum(sum(tf.values()) for tf in tfs) / max(1, len(tfs))
    return Faq(brand, name, language, entries, contact, source, tfs, dict(df), avg or 1.0)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise FaqError(f"{where}: must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def brands(folder: Path | None = None) -> list[str]:
    """The brand ids that have an FAQ file."""
    return sorted(p.stem for p in (folder or FAQ_FOLDER).glob("*.yaml"))


def load_faq(brand: str, folder: Path | None = None) -> Faq:
    """The FAQ of ``brand`` (``<folder>/<brand>.yaml``); cached per file."""
    folder = Path(folder or FAQ_FOLDER)
    if not _ID.match(str(brand)):
        raise ValidationError("brand", f"{brand!r} is not a brand id")
    path = folder / f"{brand}.yaml"
    if not path.is_file():
        raise ValidationError("brand", f"no FAQ file for {brand!r} (known: {', '.join(brands(folder)) or 'none'})")
    return _load(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _load(path: Path, _mtime: int) -> Faq:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FaqError(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list) or not data["entries"]:
        raise FaqError(f"{path.name}: needs 'brand' and a non-empty 'entries' list")
    info = data.get("brand") or {}
    if not isinstance(info, dict) or not isinstance(info.get("name"), str):
        raise FaqError(f"{path.name}: brand.name is required")
    entries, seen = [], set()
    for i, raw in enumerate(data["entries"]):
        where = f"{path.name}: entries[{i}]"
        if not isinstance(raw, dict):
            raise FaqError(f"{where}: must be a mapping")
        unknown = set(raw) - {"id", "question", "answer", "keywords", "aliases"}
        if unknown:
            raise FaqError(f"{where}: unknown key(s) {sorted(unknown)}")
        for key in ("id", "question", "answer"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise FaqError(f"{where}.{key}: must be a non-empty string")
        if not _ID.match(raw["id"]) or raw["id"] in seen:
            raise FaqError(f"{where}.id: {raw['id']!r} is not a unique lower-case id")
        seen.add(raw["id"])
        entries.append(FaqEntry(raw["id"], raw["question"].strip(), raw["answer"].strip(),
                                _strings(raw.get("keywords"), f"{where}.keywords"),
                                _strings(raw.get("aliases"), f"{where}.aliases")))
    language = "zh" if str(info.get("language", "en")).startswith("zh") else "en"
    return build_faq(path.stem, info["name"], language, entries, str(info.get("contact", "")).strip(), path)


# ---------------------------------------------------------------- retrieval


@dataclass(frozen=True)
class Hit:
    entry: FaqEntry
    score: float  # BM25
    coverage: float  # 0..1, share of the question's content this entry matches
    matched: tuple[str, ...]  # the question's words/characters that matched


def retrieve(question: str, faq: Faq, k: int = 3) -> list[Hit]:
    """The ``k`` best entries for ``question`` (score > 0 only), best first."""
    tokens = tokenize(question)
    query = Counter(tokens)
    units = _units(question)
    max_idf = faq.max_idf
    hits = []
    for entry, tf in zip(faq.entries, faq._tf):
        length = sum(tf.values())
        score = 0.0
        for token, q_count in query.items():
            f = tf.get(token, 0.0)
            if f:
                score += q_count * faq.idf(token) * f * (K1 + 1) / (f + K1 * (1 - B + B * length / faq._avg_len))
        if score <= 0:
            continue
        total = covered = 0.0
        matched = []
        for unit in units:
            weight = ZH_CHAR_WEIGHT if unit.zh else faq.idf(unit.tokens[0]) / max_idf
            total += weight
            if any(t in tf for t in unit.tokens):
                covered += weight
                matched.append(unit.text)
        hits.append(Hit(entry, round(score, 6), round(covered / total, 4) if total else 0.0, tuple(matched)))
    hits.sort(key=lambda h: (-h.score, -h.coverage, faq.entries.index(h.entry)))
    return hits[:k]


def covers(hit: Hit, threshold: float = COVERAGE_THRESHOLD) -> bool:
    """Whether one entry matches enough of the question to answer from it."""
    return hit.coverage >= threshold or (hit.coverage >= MIN_COVERAGE and hit.score >= MIN_SCORE)


def is_covered(hits: Sequence[Hit], threshold: float = COVERAGE_THRESHOLD) -> bool:
    """True when the best hit covers the question (see :func:`covers`)."""
    return bool(hits) and covers(hits[0], threshold)


def grounding_hits(hits: Sequence[Hit], threshold: float = COVERAGE_THRESHOLD) -> list[Hit]:
    """The hits a reply may use: the top hit when it covers the question, plus runners-up
    that also cover it and score at least 60% as much. Empty when not covered."""
    if not is_covered(hits, threshold):
        return []
    top = hits[0]
    return [top] + [h for h in hits[1:] if h.score >= 0.6 * top.score and covers(h, threshold)]
