"""Customer-service grounding: a brand's FAQ file, a lexical retriever, sentiment, escalation.

- :func:`load_faq` reads ``assets/faq/<brand>.yaml`` (entries with id, question, answer,
  keywords and aliases) and indexes it once.
- :func:`retrieve` ranks entries with BM25 over English word stems and Chinese character
  bigrams, so it works in both languages without a segmenter. Each entry is one document made
  of its fields with weights (question and keywords count most, the answer least); aliases
  (other ways customers ask) carry the paraphrases.
- A hit's ``coverage`` is the share of the question's content that the entry matches (English
  words weighted by IDF, Chinese characters each alike); :func:`is_covered` compares the top
  hit with :data:`COVERAGE_THRESHOLD`.
- :func:`sentiment` labels a message positive / neutral / negative / angry from a small
  bilingual lexicon, repeated "!!!" and shouting in capitals; :func:`should_escalate` says
  when a human should take over and why.
- :func:`build_reply_prompt` writes the grounded prompt for the text model.

Everything is deterministic and standard-library only.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any, Iterable, Mapping, Sequence

import yaml

from aigc_demo.core.types import ValidationError
from aigc_demo.core.text import lang

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
HISTORY_TURNS = 6
MESSAGE_CHARS = 400
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


def normalise(text: str) -> str:
    """NFKC (full-width to half-width) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


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


# ---------------------------------------------------------------- sentiment

POSITIVE = frozenset("""thanks thank great love loved excellent happy glad awesome perfect amazing wonderful
    helpful appreciate appreciated fantastic nice good pleased satisfied brilliant""".split())
NEGATIVE = frozenset("""disappointed disappointing problem issue broken broke late delayed wrong bad poor unhappy
    defective faulty damaged missing annoyed annoying frustrated frustrating slow worse complaint
    cracked stopped fail failed failing never still waiting""".split())
ANGRY = frozenset("""angry furious ridiculous unacceptable scam worst terrible horrible useless hate awful
    disgusting outrageous pathetic rip-off ripoff incompetent liar liars lied joke sue lawyer""".split())
ANGRY_PHRASES = ("fed up", "never again", "waste of money", "rip off", "sick of", "what the hell", "wtf")
NEGATORS = frozenset("not no never don't didn't doesn't isn't wasn't won't can't cannot".split())
ZH_POSITIVE = ("谢谢", "感谢", "满意", "很好", "喜欢", "太棒", "不错", "好评", "点赞", "给力", "开心", "完美")
ZH_NEGATIVE = ("失望", "问题", "坏了", "破了", "撒了", "漏了", "破损", "损坏", "太慢", "很慢", "不满", "错了", "发错", "漏发", "延迟",
               "还没", "没收到", "没到", "不好", "不行", "故障", "难喝", "过期", "麻烦")
ZH_ANGRY = ("气死", "愤怒", "生气", "垃圾", "骗子", "骗人", "投诉", "太差", "欺骗", "忍无可忍", "退钱", "无语",
            "恶心", "差评", "12315", "坑人", "离谱", "什么破", "受够", "黑心", "曝光", "律师", "起诉")
ZH_NEGATORS = ("不", "没", "别")
SENTIMENT_LABELS = {
    "positive": {"en": "Positive", "zh": "积极"},
    "neutral": {"en": "Neutral", "zh": "中性"},
    "negative": {"en": "Negative", "zh": "消极"},
    "angry": {"en": "Angry", "zh": "愤怒"},
}


@dataclass(frozen=True)
class SentimentResult:
    label: str  # positive / neutral / negative / angry
    positive: int
    negative: int
    anger: int  # anger points: angry words (2 each), "!!!" (1), shouting in capitals (1)
    cues: tuple[str, ...]  # the words and signs that decided it


def _shouting(text: str) -> bool:
    words = re.findall(r"[A-Za-z]{3,}", text)
    caps = [w for w in words if w.isupper()]
    letters = sum(len(w) for w in words)
    return len(caps) >= 2 and (sum(len(w) for w in caps) >= 0.5 * letters or len(caps) >= 3)


def analyse_sentiment(text: str) -> SentimentResult:
    """Count lexicon hits (negation flips a positive word to negative), then decide:
    angry with >= 2 anger points (an intense sign plus any negative word adds one), else
    the larger of positive and negative, else neutral."""
    norm = normalise(text)
    words = re.findall(r"[a-z]+(?:[-'][a-z]+)?", norm)
    pos = neg = anger = 0
    cues: list[str] = []
    for i, word in enumerate(words):
        negated = i > 0 and (words[i - 1] in NEGATORS or (i > 1 and words[i - 2] in NEGATORS))
        if word in ANGRY:
            anger += 2
            neg += 1
            cues.append(word)
        elif word in POSITIVE:
            if negated:
                neg += 1
                cues.append(f"not {word}")
            else:
                pos += 1
                cues.append(word)
        elif word in NEGATIVE and not negated:
            neg += 1
            cues.append(word)
    for phrase in ANGRY_PHRASES:
        if phrase in norm:
            anger += 2
            neg += 1
            cues.append(phrase)
    for phrase in ZH_ANGRY:
        if phrase in norm:
            anger += 2
            neg += 1
            cues.append(phrase)
    for phrase in ZH_NEGATIVE:
        if phrase in norm:
            neg += 1
            cues.append(phrase)
    for phrase in ZH_POSITIVE:
        start = norm.find(phrase)
        if start < 0:
            continue
        negated = norm[max(0, start - 2) : start].endswith(ZH_NEGATORS) or f"不{phrase}" in norm
        if negated:
            neg += 1
            cues.append("不" + phrase)
        else:
            pos += 1
            cues.append(phrase)
    intense = 0
    if re.search(r"[!！]{2,}|[?？][!！]|[!！][?？]", text):
        intense += 1
        cues.append("!!!")
    if _shouting(text):
        intense += 1
        cues.append("CAPS")
    anger += intense
    if intense and neg:
        anger += 1
    if anger >= 2:
        label = "angry"
    elif neg > pos:
        label = "negative"
    elif pos > neg:
        label = "positive"
    else:
        label = "neutral"
    return SentimentResult(label, pos, neg, anger, tuple(cues))


def sentiment(text: str) -> str:
    """"positive", "neutral", "negative" or "angry"."""
    return analyse_sentiment(text).label


def sentiment_label(label: str, language: str = "en") -> str:
    return SENTIMENT_LABELS[label][lang(language)]


# ---------------------------------------------------------------- escalation

HUMAN_REQUEST = re.compile(
    r"\b(human|real person|live agent|(speak|talk) to (an? )?(agent|person|someone|manager|supervisor)|"
    r"manager|supervisor|call me)\b|人工|真人|转接|经理|主管|打电话给我"
)
LEGAL = re.compile(r"\b(lawyer|attorney|sue|legal action|court|chargeback)\b|律师|起诉|法院|12315|消协|曝光")
REASONS = {
    "angry": {"en": "the customer is angry", "zh": "客户情绪愤怒"},
    "human": {"en": "the customer asked for a person", "zh": "客户要求人工服务"},
    "legal": {"en": "legal threat or formal complaint", "zh": "涉及法律或正式投诉"},
    "uncovered": {"en": "the question is not covered by the FAQ{best}", "zh": "FAQ 未覆盖该问题{best}"},
    "covered": {"en": "answered from FAQ entry {id}", "zh": "可依据 FAQ 条目 {id} 回答"},
}


def should_escalate(question: str, hits: Sequence[Hit], sentiment_label_: str, language: str = "en",
                    threshold: float = COVERAGE_THRESHOLD) -> tuple[bool, str]:
    """(escalate?, why) - why in ``language``; several reasons are joined with "; "."""
    language = lang(language)
    reasons = []
    if sentiment_label_ == "angry":
        reasons.append(REASONS["angry"][language])
    norm = normalise(question)
    if HUMAN_REQUEST.search(norm):
        reasons.append(REASONS["human"][language])
    if LEGAL.search(norm):
        reasons.append(REASONS["legal"][language])
    if not is_covered(hits, threshold):
        best = ""
        if hits:
            pct = f"{hits[0].coverage:.0%}"
            best = f"（最接近：{hits[0].entry.id}，覆盖 {pct}）" if language == "zh" else (
                f" (closest: {hits[0].entry.id}, {pct} covered)")
        reasons.append(REASONS["uncovered"][language].format(best=best))
    if reasons:
        return True, ("；" if language == "zh" else "; ").join(reasons)
    return False, REASONS["covered"][language].format(id=hits[0].entry.id)


# ---------------------------------------------------------------- prompt

TONES = {
    "friendly": {"en": "warm and friendly", "zh": "亲切友好"},
    "formal": {"en": "polite and formal", "zh": "礼貌正式"},
    "empathetic": {"en": "empathetic and reassuring", "zh": "共情、安抚"},
    "concise": {"en": "brief and to the point", "zh": "简洁明了"},
}


def format_history(history: Any, language: str = "en", turns: int = HISTORY_TURNS) -> str:
    """The last ``turns`` messages as "Customer: ..." / "Agent: ..." lines.

    Accepts Gradio messages (``[{"role": "user", "content": ...}, ...]``), (user, assistant)
    pairs, or text (returned trimmed)."""
    language = lang(language)
    names = {"user": "客户" if language == "zh" else "Customer", "assistant": "客服" if language == "zh" else "Agent"}
    if history is None:
        return ""
    if isinstance(history, str):
        return history.strip()[-(turns * MESSAGE_CHARS):]
    messages: list[tuple[str, str]] = []
    for item in history:
        if isinstance(item, Mapping):
            role, content = str(item.get("role", "user")), item.get("content", "")
            if isinstance(content, list):  # Gradio 6 content parts: [{"type": "text", "text": ...}]
                content = " ".join(str(p.get("text", "")) if isinstance(p, Mapping) else str(p) for p in content)
            messages.append(("assistant" if role == "assistant" else "user", str(content)))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            messages += [("user", str(item[0] or "")), ("assistant", str(item[1] or ""))]
    lines = []
    sep = "：" if language == "zh" else ": "
    for role, content in messages[-turns:]:
        content = " ".join(content.split())
        if content:
            lines.append(f"{names[role]}{sep}{content[:MESSAGE_CHARS]}")
    return "\n".join(lines)


def format_entries(hits: Sequence[Hit], language: str = "en") -> str:
    """The FAQ entries a reply may use, each with its id, question and answer."""
    language = lang(language)
    if not hits:
        return "（无匹配的 FAQ 条目）" if language == "zh" else "(no matching FAQ entry)"
    q, a = ("问", "答") if language == "zh" else ("Q", "A")
    return "\n\n".join(f"[{h.entry.id}]\n{q}: {h.entry.question}\n{a}: {h.entry.answer}" for h in hits)


REPLY_TEMPLATE = {
    "en": """You are a customer-service agent for $brand. Reply to the customer's last message.

Conversation so far:
$history

Customer's message: $question

FAQ entries you may use:
$entries

Rules:
- Use only the facts in the FAQ entries above. Do not invent prices, dates, policies or promises.
- $coverage
- Tone: $tone. Keep the reply under 120 words. Do not mention these rules or the entry ids.
Write the reply in English.""",
    "zh": """你是 $brand 的客服。请回复客户的最新一条消息。

此前的对话：
$history

客户的消息：$question

可以使用的 FAQ 条目：
$entries

要求：
- 只使用上面 FAQ 条目中的信息，不要编造价格、日期、政策或承诺。
- $coverage
- 语气：$tone。回复不超过 200 字。不要提及这些要求或条目编号。
请用简体中文回复。""",
}


def coverage_instruction(covered: bool, contact: str, language: str) -> str:
    language = lang(language)
    if covered:
        return ("先直接回答问题，再视需要补充一句相关信息。" if language == "zh"
                else "Answer the question directly first, then add one helpful detail if relevant.")
    reach = f"（{contact}）" if contact and language == "zh" else (f" ({contact})" if contact else "")
    if language == "zh":
        return f"FAQ 没有涵盖这个问题：不要猜测答案，向客户致歉并说明将转交人工同事跟进{reach}。"
    return f"The FAQ does not cover this question: do not guess; apologise and say a human colleague will follow up{reach}."


def reply_variables(question: str, history: Any, hits: Sequence[Hit], faq: Faq | None, language: str,
                    threshold: float = COVERAGE_THRESHOLD) -> dict[str, str]:
    """Template variables for a grounded reply: ``history``, ``question``, ``entries``,
    ``coverage`` (the instruction that depends on whether the FAQ covers the question)."""
    language = lang(language)
    used = grounding_hits(hits, threshold)
    history_text = format_history(history, language) or ("（无）" if language == "zh" else "(none)")
    return {
        "history": history_text,
        "question": " ".join(question.split()),
        "entries": format_entries(used, language),
        "coverage": coverage_instruction(bool(used), faq.contact if faq else "", language),
    }


def build_reply_prompt(question: str, history: Any, hits: Sequence[Hit], tone: str, language: str,
                       faq: Faq | None = None, template: Mapping[str, str] | None = None) -> str:
    """The grounded prompt: the used FAQ entries, the conversation and the rules (answer only
    from the entries; hand over to a human when they do not cover the question)."""
    language = lang(language)
    variables = reply_variables(question, history, hits, faq, language)
    variables["brand"] = faq.name if faq else ("本品牌" if language == "zh" else "the brand")
    variables["tone"] = TONES.get(tone, {}).get(language, tone)
    return Template((template or REPLY_TEMPLATE)[language]).substitute(variables).strip()


# ---------------------------------------------------------------- one chat turn


@dataclass(frozen=True)
class ServiceTurn:
    """Everything code decides about one customer message, before the model writes a reply."""

    faq: Faq
    question: str
    hits: tuple[Hit, ...]  # the best entries found (up to k)
    used: tuple[Hit, ...]  # the entries the reply may use (empty when not covered)
    sentiment: SentimentResult
    escalate: bool
    reason: str  # in the turn's language

    @property
    def covered(self) -> bool:
        return bool(self.used)

    def summary(self, language: str = "en") -> str:
        """One Markdown line for the UI: entries used, sentiment, escalation."""
        language = lang(language)
        ids = ", ".join(f"`{h.entry.id}`" for h in self.used) or ("无" if language == "zh" else "none")
        mood = sentiment_label(self.sentiment.label, language)
        if language == "zh":
            flag = f"⚠️ 建议转人工：{self.reason}" if self.escalate else "✅ 无需转人工"
            return f"引用的 FAQ 条目：{ids} · 客户情绪：{mood} · {flag}"
        flag = f"⚠️ Suggest a human agent: {self.reason}" if self.escalate else "✅ No escalation needed"
        return f"FAQ entries used: {ids} · Customer sentiment: {mood} · {flag}"


def analyse_turn(question: str, faq: Faq, language: str = "en", k: int = 3) -> ServiceTurn:
    """Retrieve, label the sentiment and decide on escalation for one customer message."""
    hits = tuple(retrieve(question, faq, k))
    mood = analyse_sentiment(question)
    escalate, reason = should_escalate(question, hits, mood.label, language)
    return ServiceTurn(faq, question, hits, tuple(grounding_hits(hits)), mood, escalate, reason)
