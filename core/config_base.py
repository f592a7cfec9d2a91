"""The base of every configuration section (its own module, so the sections can live in more than one)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

ENV_PREFIX = "ASSISTANT_"  # ASSISTANT_<SECTION>__<KEY> overrides a key of the YAML file


class Section(BaseModel):
    """Base of every section: unknown keys are errors, so a typo is reported instead of ignored."""

    model_config = ConfigDict(extra="forbid")
