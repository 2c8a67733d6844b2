"""Customer service: one chat turn grounded in the brand's FAQ, and the reply prompt.

- :func:`analyse_turn` retrieves the FAQ entries for a message (:mod:`.faq`), labels its
  sentiment (:mod:`.sentiment`) and decides with :func:`should_escalate` when a human should
  take over and why.
- :func:`reply_variables` and :func:`build_reply_prompt` write the grounded prompt for the
  text model; :func:`format_history` turns a chat into "Customer: ..." / "Agent: ..." lines.
- The plugin: compute step ``faq_context`` (brand, question, history -> the prompt's pieces)
  and its panel, the FAQ grounding note.

Deterministic and standard-library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from string import Template
from typing import Any, Mapping, Sequence

from aigc_demo.core.text import Bilingual, lang
from aigc_demo.scenarios import Computed, PanelSpec, register_compute

from .faq import COVERAGE_THRESHOLD, Faq, Hit, grounding_hits, is_covered, load_faq, retrieve
from .sentiment import SentimentResult, analyse_sentiment, normalise, sentiment_label

HISTORY_TURNS = 6
MESSAGE_CHARS = 400


# ---------------------------------------------------------------- escalation

HUMAN_REQUEST = re.compile(
    r"\b(human|real person|live agent|(speak|talk) to (an? )?(agent|person|someone|manager|supervisor)|"
    r"manager|supervisor|call me)\b|人工|真人|转接|经理|主管|打电话给我"
)
LEGAL = re.compile(r"\b(lawyer|attorney|sue|legal action|court|chargeback)\b|律师|起诉|法院|12315|消协|曝光")
REASONS = {
    "angry": Bilingual("the customer is angry", "客户情绪愤怒"),
    "human": Bilingual("the customer asked for a person", "客户要求人工服务"),
    "legal": Bilingual("legal threat or formal complaint", "涉及法律或正式投诉"),
    "uncovered": Bilingual("the question is not covered by the FAQ{best}", "FAQ 未覆盖该问题{best}"),
    "covered": Bilingual("answered from FAQ entry {id}", "可依据 FAQ 条目 {id} 回答"),
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
    "friendly": Bilingual("warm and friendly", "亲切友好"),
    "formal": Bilingual("polite and formal", "礼貌正式"),
    "empathetic": Bilingual("empathetic and reassuring", "共情、安抚"),
    "concise": Bilingual("brief and to the point", "简洁明了"),
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


REPLY_TEMPLATE = Bilingual(
    en="""You are a customer-service agent for $brand. Reply to the customer's last message.

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
    zh="""你是 $brand 的客服。请回复客户的最新一条消息。

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
)


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


# ---------------------------------------------------------------- the plugin


def turn_panels(turn: ServiceTurn, language: str) -> list[str]:
    """One Markdown note: the turn's summary and the FAQ entries the reply may use."""
    used = "\n".join(f"- **[{h.entry.id}]** {h.entry.question}" for h in turn.used) or (
        "- （无：问题不在 FAQ 范围内）" if language == "zh" else "- (none: the question is not covered by the FAQ)")
    heading = "**引用的 FAQ 条目**" if language == "zh" else "**FAQ entries used**"
    return [f"{turn.summary(language)}\n\n{heading}\n{used}"]


@register_compute(
    "faq_context",
    inputs=("brand", "question", "history"),
    variables=("brand_name", "faq_entries", "faq_rules", "conversation", "customer_sentiment"),
    panels=(PanelSpec("markdown", Bilingual(en="FAQ grounding", zh="FAQ 依据")),),
    view=turn_panels,
)
def faq_context(inputs: dict[str, Any], language: str) -> Computed:
    """Retrieval, sentiment and escalation for the customer's message, as prompt pieces."""
    knowledge = load_faq(str(inputs["brand"]))
    question = str(inputs["question"])
    turn = analyse_turn(question, knowledge, language)
    pieces = reply_variables(question, inputs.get("history") or "", turn.hits, knowledge, language)
    return Computed(
        {
            "brand_name": knowledge.name,
            "faq_entries": pieces["entries"],
            "faq_rules": pieces["coverage"],
            "conversation": pieces["history"],
            "customer_sentiment": sentiment_label(turn.sentiment.label, language),
        },
        data=turn,
    )
