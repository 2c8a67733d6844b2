"""A run to take away: one zip with every output file of a run, its provenance sidecars, the
run as JSON and a one-page HTML summary that opens offline.

Layout of ``run-<id>.zip``::

    index.html               the summary: form, outputs (shown from outputs/), models,
                             disclaimers, reviews; no script, no link outside the zip
    run.json                 every record of the run (no server paths) with its reviews
    outputs/<file>           each output file, provenance inside (PNG/WAV/MP4)
    outputs/<file>.json      its provenance sidecar

The words that come from a scenario (title, field labels, task titles, disclaimers) arrive as
a ``RunText`` from the layer that knows scenarios; this module knows only records.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_demo.core.files import BUNDLES_FOLDER, atomic_path
from aigc_demo.core.text import AI_LABEL, Bilingual
from aigc_demo.core.types import ValidationError

from . import provenance
from .export import public_record
from .models import OutputRecord, Review

RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SUMMARY_NAME, DATA_NAME, OUTPUTS = "index.html", "run.json", "outputs"

HEADINGS = {  # the page's own words, in the run's language
    "run": Bilingual(en="Recorded run", zh="已记录的运行"),
    "form": Bilingual(en="Form", zh="表单"),
    "outputs": Bilingual(en="Outputs", zh="输出"),
    "models": Bilingual(en="Models", zh="模型"),
    "disclaimers": Bilingual(en="Disclaimers", zh="免责声明"),
    "review": Bilingual(en="Review", zh="评审"),
    "unreviewed": Bilingual(en="Not reviewed yet.", zh="尚未评审。"),
    "file": Bilingual(en="File", zh="文件"),
    "provenance": Bilingual(en="provenance", zh="来源记录"),
    "seed": Bilingual(en="seed", zh="种子"),
    "seconds": Bilingual(en="s to generate", zh="秒生成"),
    "notes": Bilingual(en="Notes", zh="备注"),
}


@dataclass(frozen=True)
class RunText:
    """A run's words, in its language: filled from its scenario by the caller."""

    language: str = "en"
    title: str = ""
    form: Sequence[tuple[str, Any]] = ()  # (label, value shown: text, or rows of cells for a table)
    tasks: Mapping[str, str] = field(default_factory=dict)  # task name -> its title
    disclaimers: Sequence[str] = ()


def check_run_id(run_id: Any) -> str:
    """A run id as the app makes them (letters, digits, ``-``/``_``, at most 64), or a ValidationError."""
    text = run_id.strip() if isinstance(run_id, str) else ""
    if not RUN_ID.match(text):
        raise ValidationError("run", "is not a run id (letters, digits, - and _, at most 64) · 不是有效的运行编号")
    return text


def bundle_path(outputs_dir: Path | str, run_id: str) -> Path:
    return Path(outputs_dir) / BUNDLES_FOLDER / f"run-{check_run_id(run_id)}.zip"


def write_bundle(
    records: Sequence[OutputRecord],
    reviews: Mapping[str, Sequence[Review]],
    outputs_dir: Path | str,
    text: RunText | None = None,
) -> Path:
    """Write the zip of one run (``records`` share a run id) under ``outputs/bundles/``,
    atomically (a reader never sees half a zip); returns its path. Made again on every call,
    so the summary shows the latest reviews."""
    if not records:
        raise ValidationError("run", "has no recorded outputs · 该运行没有记录的输出")
    run_id = records[0].run_id
    text = text or RunText(language=_language(records))
    target = bundle_path(outputs_dir, run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    members: dict[str, Path] = {}  # zip name -> file on disk
    sidecars: dict[str, bytes] = {}
    for record in records:
        for path in map(Path, record.file_paths):
            if not path.is_file():
                continue  # deleted by hand (the record says missing_file): the summary says so
            name = f"{OUTPUTS}/{path.name}"
            members[name] = path
            side = provenance.sidecar_path(path)
            sidecars[f"{name}.json"] = side.read_bytes() if side.is_file() else _json(record.provenance())
    data = [{**public_record(r.to_dict()), "reviews": [v.to_dict() for v in reviews.get(r.id, [])]} for r in records]
    page = summary_html(records, reviews, text, set(members))
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SUMMARY_NAME, page)
        archive.writestr(DATA_NAME, _json(data))
        for name, path in members.items():
            archive.write(path, name)
        for name, body in sidecars.items():
            archive.writestr(name, body)
    return target


def summary_html(records: Sequence[OutputRecord], reviews: Mapping[str, Sequence[Review]], text: RunText,
                 present: set[str]) -> str:
    """The one-page summary: inline style, no script; media from ``outputs/`` inside the zip."""
    lang = "zh" if text.language == "zh" else "en"
    h = {key: value[lang] for key, value in HEADINGS.items()}
    first = records[0]
    title = text.title or first.scenario
    parts = [
        f"<h1>{_e(title)}</h1>",
        f"<p class=meta>{_e(h['run'])} <code>{_e(first.run_id)}</code> · {_e(first.created_at[:19].replace('T', ' '))} UTC"
        f" · {_e(first.preset)} · {_e(first.device)} · v{_e(first.app_version)}</p>",
        f"<p class=label>{_e(AI_LABEL[lang])}</p>",
    ]
    if text.disclaimers:
        parts += [f"<h2>{_e(h['disclaimers'])}</h2>", *[f"<p class=disclaimer>{_e(d)}</p>" for d in text.disclaimers]]
    if text.form:
        rows = "".join(f"<tr><th>{_e(label)}</th><td>{_value(value)}</td></tr>" for label, value in text.form)
        parts += [f"<h2>{_e(h['form'])}</h2>", f"<table class=form>{rows}</table>"]
    parts.append(f"<h2>{_e(h['outputs'])}</h2>")
    for record in records:
        parts.append(_output(record, text, h, present, reviews.get(record.id, ())))
    models = dict.fromkeys((r.modality, r.model_ref) for r in records)
    parts += [f"<h2>{_e(h['models'])}</h2>",
              "<ul>" + "".join(f"<li>{_e(m)}: <code>{_e(ref)}</code></li>" for m, ref in models) + "</ul>"]
    return (f"<!doctype html>\n<html lang=\"{'zh-CN' if lang == 'zh' else 'en'}\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{_STYLE}</style></head><body><main>{''.join(parts)}</main></body></html>\n")


def _output(record: OutputRecord, text: RunText, h: Mapping[str, str], present: set[str],
            reviews: Sequence[Review]) -> str:
    title = text.tasks.get(record.task) or record.task or record.modality
    out = [f"<section class=output><h3>{_e(title)}</h3>",
           f"<p class=meta>{_e(record.modality)} · <code>{_e(record.model_ref)}</code> · {_e(h['seed'])} {_e(record.seed)}"
           f" · {record.generate_seconds:.1f} {_e(h['seconds'])}</p>"]
    if record.output_text is not None:
        out.append(f"<div class=text>{_e(record.output_text)}</div>")
    for path in record.file_paths:
        name = f"{OUTPUTS}/{Path(path).name}"
        if name not in present:
            out.append(f"<p class=missing>⚠️ {_e(Path(path).name)}: missing_file</p>")
            continue
        src = _e(name)
        if record.modality == "image":
            out.append(f"<img src=\"{src}\" alt=\"{_e(record.prompt[:300])}\">")
        elif record.modality == "audio":
            out.append(f"<audio controls src=\"{src}\"></audio>")
        elif record.modality == "video":
            out.append(f"<video controls src=\"{src}\"></video>")
        out.append(f"<p class=files>{_e(h['file'])}: <a href=\"{src}\">{_e(Path(path).name)}</a>"
                   f" · <a href=\"{src}.json\">{_e(h['provenance'])}</a></p>")
    if record.notes:
        out.append(f"<p class=notes>{_e(h['notes'])}: {_e(' · '.join(map(str, public_record(record.to_dict())['notes'])))}</p>")
    out.append(f"<h4>{_e(h['review'])}</h4>")
    if not reviews:
        out.append(f"<p class=unreviewed>{_e(h['unreviewed'])}</p>")
    for review in reviews:
        stars = "★" * review.rating + "☆" * (5 - review.rating)
        tags = f" · {_e(', '.join(review.tags))}" if review.tags else ""
        comment = f"<br>{_e(review.comment)}" if review.comment else ""
        out.append(f"<p class=review><span aria-label=\"{review.rating}/5\">{stars}</span> {_e(review.reviewer)}"
                   f" · {_e(review.updated_at[:19].replace('T', ' '))}{tags}{comment}</p>")
    out.append("</section>")
    return "".join(out)


def _value(value: Any) -> str:
    """A form value: text as it is, a table (rows of cells) as a table."""
    if isinstance(value, (list, tuple)) and all(isinstance(row, (list, tuple)) for row in value):
        return "<table>" + "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in value) + "</table>"
    return f"<div class=text>{_e(value)}</div>"


def _language(records: Sequence[OutputRecord]) -> str:
    return "zh" if records[0].inputs.get("language") == "zh" else "en"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")


_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans','Noto Sans CJK SC',sans-serif;color:#1a1a1a;"
    "background:#fff;margin:0}main{max-width:860px;margin:0 auto;padding:24px}"
    "h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:2rem}"
    ".meta{color:#444;font-size:.9rem}.label{font-weight:600;color:#7a3e00}"
    ".disclaimer{background:#fff6e0;border-left:4px solid #b36b00;padding:8px 12px}"
    "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    ".text{white-space:pre-wrap}.output{border:1px solid #ddd;border-radius:8px;padding:12px 16px;margin:16px 0}"
    "img,video{max-width:100%;height:auto}audio{width:100%}.missing{color:#a00}a{color:#004f9e}"
)
