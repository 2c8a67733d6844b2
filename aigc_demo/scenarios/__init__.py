"""Industry scenarios as data: one YAML file per industry under ``assets/scenarios``.

=============  ===============================================================
``model``      Scenario, Task, FormValues, PreStep, ScenarioError: rendering prompts
``fields``     form fields and their value checks (text, number, choice, table, file)
``registry``   what industry plugins register: compute steps, parsers, their panels
``splitters``  paragraph and scene splitters for ``for_each``
``loader``     strict YAML reading: every name a file uses is checked at load
``runner``     runs a scenario's tasks through the Studio (import it explicitly)
=============  ===============================================================

Importing this package imports no model library, no Gradio and no industry plugin: those
register themselves into :mod:`.registry` when :mod:`aigc_demo.industries` loads them.
"""

from aigc_demo.core.text import AI_LABEL

from .fields import FIELD_KINDS, ROOT, Choice, Column, Field
from .loader import DEFAULT_FOLDER, load_scenario, load_scenarios
from .model import ITEM_VARS, FormValues, PreStep, ReviewTag, Scenario, ScenarioError, Task
from .registry import (
    COMPUTE_STEPS,
    PANEL_KINDS,
    PARSERS,
    Computed,
    ComputeStep,
    Panels,
    PanelSpec,
    Parsed,
    Parser,
    register_compute,
    register_parser,
)
from .splitters import SPLITTERS, register_splitter, split, split_paragraphs, split_scenes

__all__ = [
    "AI_LABEL", "COMPUTE_STEPS", "DEFAULT_FOLDER", "FIELD_KINDS", "ITEM_VARS", "PANEL_KINDS", "PARSERS", "ROOT",
    "SPLITTERS", "Choice", "Column", "ComputeStep", "Computed", "Field", "FormValues", "PanelSpec", "Panels", "Parsed", "Parser",
    "PreStep", "ReviewTag", "Scenario", "ScenarioError", "Task", "load_scenario", "load_scenarios",
    "register_compute", "register_parser", "register_splitter", "split", "split_paragraphs", "split_scenes",
]
