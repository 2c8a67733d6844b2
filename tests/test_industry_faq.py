"""Customer service: FAQ files, bilingual retrieval on paraphrases, coverage and escalation,
sentiment, the grounded prompt, and the service scenario's pre-step."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_demo.core.types import ValidationError
from aigc_demo.industries import load_scenarios
from aigc_demo.industries.faq import FaqError, brands, grounding_hits, is_covered, load_faq, retrieve, stem, tokenize
from aigc_demo.industries.sentiment import analyse_sentiment, sentiment
from aigc_demo.industries.service import analyse_turn, build_reply_prompt, format_history, should_escalate


@pytest.fixture(scope="module")
def en():
    return load_faq("aurora_audio")


@pytest.fixture(scope="module")
def zh():
    return load_faq("yunshan_coffee")


@pytest.fixture(scope="module")
def service():
    return {s.id: s for s in load_scenarios()}["service"]


# ---------------------------------------------------------------- the files


def test_sample_brands(en, zh):
    assert brands() == ["aurora_audio", "yunshan_coffee"]
    for faq, language in ((en, "en"), (zh, "zh")):
        assert faq.language == language and faq.name and faq.contact
        assert 15 <= len(faq.entries) <= 25
        assert len({e.id for e in faq.entries}) == len(faq.entries)
        assert all(e.question and e.answer and e.keywords and e.aliases for e in faq.entries)
    assert en.name == "Aurora Audio" and zh.name == "云杉咖啡"
    assert load_faq("aurora_audio") is en  # cached


def test_bad_faq_files(tmp_path):
    with pytest.raises(ValidationError) as info:
        load_faq("nobody", tmp_path)
    assert info.value.field == "brand" and "no FAQ file" in str(info.value)
    with pytest.raises(ValidationError):
        load_faq("../etc/passwd")
    cases = {
        "empty": ("brand: {name: X}\nentries: []\n", "non-empty 'entries'"),
        "no name": ("entries: [{id: a, question: q, answer: a}]\n", "brand.name"),
        "duplicate id": ("brand: {name: X}\nentries:\n- {id: a, question: q, answer: x}\n- {id: a, question: r, answer: y}\n",
                         "entries[1].id"),
        "no answer": ("brand: {name: X}\nentries:\n- {id: a, question: q}\n", "entries[0].answer"),
        "unknown key": ("brand: {name: X}\nentries:\n- {id: a, question: q, answer: x, tags: [t]}\n", "unknown key"),
        "bad aliases": ("brand: {name: X}\nentries:\n- {id: a, question: q, answer: x, aliases: oops}\n", "aliases"),
        "bad yaml": ("brand: [\n", "not valid YAML"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / f"{name.replace(' ', '_')}.yaml").write_text(text, encoding="utf-8")
        with pytest.raises(FaqError, match=message.replace("[", r"\[").replace("]", r"\]")):
            load_faq(name.replace(" ", "_"), tmp_path)


# ---------------------------------------------------------------- tokens


def test_tokens_in_both_languages():
    assert stem("deliveries") == stem("delivery") == stem("delivered") == stem("deliver")
    assert stem("shipping") == stem("ships") == stem("shipped") == "ship"
    assert stem("cancellation") == stem("cancelled") == stem("cancel")
    assert stem("replacement") == stem("replaced") == stem("replace")
    assert tokenize("How do I return my headphones?") == ["return", "headphon"]
    assert tokenize("Ｒｅｔｕｒｎ my PACKAGE") == ["return", "parcel"]  # full width, synonym
    assert tokenize("我想退货") == ["退货"]  # 我/想 are function characters
    assert tokenize("咖啡豆的保质期") == ["咖啡", "啡豆", "保质", "质期"]
    assert tokenize("订单 order 发货") == ["订单", "order", "发货"]


# ---------------------------------------------------------------- retrieval

EN_PARAPHRASES = [
    ("How many days will shipping take to Spain?", "shipping_time"),
    ("I'd like to send back my earbuds and get a refund", "returns"),
    ("my earphones won't pair with my iPhone", "bluetooth_pairing"),
    ("is the speaker OK to use in the swimming pool?", "water_resistance"),
    ("what's the battery life of the Wave headphones?", "battery_life"),
    ("Where's my package? The tracking link shows nothing", "order_tracking"),
    ("do you accept Apple Pay?", "payment_methods"),
    ("the left earbud died after 8 months, is it covered by the guarantee?", "warranty"),
    ("Can I get the headphones delivered to Canada?", "shipping_countries"),
    ("I need a VAT receipt for my company", "invoice"),
    ("how to turn off ANC", "noise_cancelling"),
    ("I picked the wrong colour, can I still change my order?", "cancel_order"),
]
ZH_PARAPHRASES = [
    ("我昨天付的款，大概哪天能收到？", "shipping_time"),
    ("下个月出国，订阅能不能先停一期", "subscription_pause"),
    ("袋子到的时候破了一个口，咖啡豆撒了", "damaged_package"),
    ("开封的豆子放冰箱里可以吗", "shelf_life"),
    ("我家没有磨豆机，能直接买磨好的粉吗", "grind_size"),
    ("可以用花呗分期付款吗", "payment"),
    ("公司要报销，需要开票", "invoice"),
    ("冲出来的咖啡特别酸，怎么回事", "brewing_tips"),
    ("寄到西藏要多加钱吗", "shipping_area"),
    ("上海有门店能自己去取吗", "store_pickup"),
    ("有不含咖啡因的豆子吗", "caffeine"),
    ("下单地址写错了，还没发货能改吗", "change_address"),
]


@pytest.mark.parametrize(("question", "entry"), EN_PARAPHRASES)
def test_english_paraphrases_find_the_right_entry(en, question, entry):
    hits = retrieve(question, en)
    assert hits[0].entry.id == entry, [(h.entry.id, h.score) for h in hits]
    assert is_covered(hits) and grounding_hits(hits)[0].entry.id == entry
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:])) and len(hits) <= 3


@pytest.mark.parametrize(("question", "entry"), ZH_PARAPHRASES)
def test_chinese_paraphrases_find_the_right_entry(zh, question, entry):
    hits = retrieve(question, zh)
    assert hits[0].entry.id == entry, [(h.entry.id, h.score) for h in hits]
    assert is_covered(hits)
    assert hits[0].matched and all(len(m) == 1 for m in hits[0].matched)  # Chinese matches by character


def test_keywords_bridge_languages(en):
    assert retrieve("退货", en)[0].entry.id == "returns"
    assert retrieve("蓝牙配对", en)[0].entry.id == "bluetooth_pairing"


UNCOVERED = [
    ("aurora_audio", "Do you sponsor esports teams?"),
    ("aurora_audio", "What is the meaning of life?"),
    ("aurora_audio", "Can I pay with bitcoin?"),
    ("aurora_audio", "Do you have a shop in Paris where I can try the headphones?"),
    ("yunshan_coffee", "你们招聘咖啡师吗？"),
    ("yunshan_coffee", "今天天气怎么样"),
    ("yunshan_coffee", "能帮我订一张机票吗"),
]


@pytest.mark.parametrize(("brand", "question"), UNCOVERED)
def test_uncovered_question_suggests_escalation(brand, question):
    faq = load_faq(brand)
    hits = retrieve(question, faq)
    assert not is_covered(hits) and grounding_hits(hits) == []
    escalate, reason = should_escalate(question, hits, sentiment(question))
    assert escalate and "not covered by the FAQ" in reason
    escalate, reason = should_escalate(question, hits, sentiment(question), language="zh")
    assert escalate and "FAQ 未覆盖" in reason


def test_covered_calm_question_needs_no_human(en):
    question = "How long does the battery last?"
    hits = retrieve(question, en)
    assert hits[0].coverage == 1.0
    assert should_escalate(question, hits, sentiment(question)) == (False, "answered from FAQ entry battery_life")


# ---------------------------------------------------------------- sentiment and escalation


@pytest.mark.parametrize(("text", "label"), [
    ("Where is my parcel?", "neutral"),
    ("Thanks, that was really helpful!", "positive"),
    ("谢谢，很满意", "positive"),
    ("My order is late.", "negative"),
    ("I am not happy with the sound", "negative"),
    ("快递还没到，有点失望", "negative"),
    ("This is the WORST service ever. I want my money back NOW!!!", "angry"),
    ("My order is late!!!", "angry"),
    ("WHY IS MY ORDER STILL NOT HERE", "angry"),
    ("This is ridiculous, totally unacceptable.", "angry"),
    ("你们这是什么破服务，我要投诉！", "angry"),
    ("气死我了！！退钱！", "angry"),
])
def test_sentiment(text, label):
    assert sentiment(text) == label, analyse_sentiment(text)


def test_angry_customer_and_human_request_escalate(en, zh):
    question = "Your headphones are a SCAM!!! How do I return them?"
    hits = retrieve(question, en)
    assert hits[0].entry.id == "returns" and is_covered(hits)  # covered, yet a human should take it
    escalate, reason = should_escalate(question, hits, sentiment(question))
    assert escalate and reason == "the customer is angry"
    question = "Can I talk to a manager about my return?"
    escalate, reason = should_escalate(question, retrieve(question, en), sentiment(question))
    assert escalate and "asked for a person" in reason
    question = "退货太麻烦了，我要找律师起诉你们"
    escalate, reason = should_escalate(question, retrieve(question, zh), sentiment(question), "zh")
    assert escalate and "客户情绪愤怒" in reason and "涉及法律" in reason


# ---------------------------------------------------------------- the prompt


def test_reply_prompt_is_grounded(en, zh):
    question = "Can I send the speaker back? It's been two weeks."
    hits = retrieve(question, en)
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"}]
    prompt = build_reply_prompt(question, history, hits, "friendly", "en", faq=en)
    returns = en.entry("returns")
    assert "[returns]" in prompt and returns.answer in prompt
    assert "Use only the facts in the FAQ entries" in prompt and "warm and friendly" in prompt
    assert "Customer: Hi\nAgent: Hello! How can I help?" in prompt and "Aurora Audio" in prompt
    assert prompt.endswith("Write the reply in English.")
    unused = [h for h in hits if h not in grounding_hits(hits)]
    assert all(f"[{h.entry.id}]" not in prompt for h in unused)

    off_topic = "你们招聘咖啡师吗"
    prompt = build_reply_prompt(off_topic, None, retrieve(off_topic, zh), "formal", "zh", faq=zh)
    assert "（无匹配的 FAQ 条目）" in prompt and "转交人工" in prompt and zh.contact in prompt
    assert "[" not in prompt.split("可以使用的 FAQ 条目：")[1].split("要求")[0]


def test_history_formats():
    messages = [{"role": "user", "content": [{"type": "text", "text": "Where is   my order?"}]},
                {"role": "assistant", "content": "On its way."}]
    assert format_history(messages, "zh") == "客户：Where is my order?\n客服：On its way."
    assert format_history([("Hi", "Hello")], "en") == "Customer: Hi\nAgent: Hello"
    long = [{"role": "user", "content": f"message {i} " + "x" * 900} for i in range(10)]
    text = format_history(long)
    assert text.count("\n") == 5 and text.startswith("Customer: message 4") and len(text) < 3000
    assert format_history("Customer: hi\n") == "Customer: hi" and format_history(None) == ""


def test_analyse_turn_summary(en):
    turn = analyse_turn("WHERE IS MY PARCEL?! This is ridiculous!!!", en)
    assert turn.escalate and turn.sentiment.label == "angry" and turn.used[0].entry.id == "order_tracking"
    assert turn.summary("en").startswith("FAQ entries used: `order_tracking`")
    assert "⚠️ 建议转人工" in turn.summary("zh") and "客户情绪：愤怒" in turn.summary("zh")


# ---------------------------------------------------------------- the scenario


def test_service_scenario_shape(service):
    assert service.api_name == "service_reply" and service.label_outputs
    assert [c.value for c in service.field("brand").choices] == brands()
    assert [(t.name, t.generator) for t in service.tasks] == [("reply", "text")]
    assert service.field("history").required is False and service.defaults()["history"] == ""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_service_prompt_in_both_languages(service, language):
    prompt = service.render("reply", {"language": language})
    assert "$" not in prompt and "[returns]" in prompt and "[bluetooth_pairing]" in prompt
    assert ("Reply to the customer of Aurora Audio." if language == "en" else "请回复 Aurora Audio 的客户。") in prompt
    computed = service.compute({"language": language})
    turn = computed["faq_context"].data
    assert turn.used[0].entry.id == "returns" and not turn.escalate
    assert service.render("reply", {"language": language}, computed=computed) == prompt


def test_service_examples(service):
    damaged, angry, uncovered = service.examples
    prompt = service.render("reply", damaged)
    assert "[damaged_package]" in prompt and "云杉咖啡" in prompt and "请用简体中文回复" in prompt
    turn = service.compute(angry)["faq_context"].data
    assert turn.escalate and turn.sentiment.label == "angry"
    assert "Agent: It left our warehouse yesterday" in service.render("reply", angry)
    turn = service.compute(uncovered)["faq_context"].data
    assert turn.escalate and not turn.covered
    assert "a human colleague will follow up" in service.render("reply", uncovered)


def test_unknown_brand_is_a_validation_error(service):
    with pytest.raises(ValidationError) as info:
        service.render("reply", {"brand": "acme"})
    assert info.value.field == "brand"


def test_faq_folder_is_where_the_scenario_expects_it():
    assert all((Path(__file__).resolve().parent.parent / "assets" / "faq" / f"{b}.yaml").is_file() for b in brands())
