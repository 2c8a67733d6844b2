"""The mood of a customer's message: positive / neutral / negative / angry.

:func:`analyse_sentiment` counts hits of a small bilingual lexicon, repeated "!!!" and
shouting in capitals. Deterministic and standard-library only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from aigc_demo.core.text import Bilingual, lang


def normalise(text: str) -> str:
    """NFKC (full-width to half-width) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


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
    "positive": Bilingual("Positive", "积极"),
    "neutral": Bilingual("Neutral", "中性"),
    "negative": Bilingual("Negative", "消极"),
    "angry": Bilingual("Angry", "愤怒"),
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

