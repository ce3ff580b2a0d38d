"""UIConfig: the generated UI (layout, components, theme), one per run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts import checksum

from .base import INT, KEY, STR, Codec, Prop, written


class UIConfigCodec(Codec):
    name = "UIConfig"
    props = (
        Prop("runId", STR, KEY),
        Prop("checksum", STR),
        Prop("componentCount", INT, column=1),
        Prop("layout", STR, wire="layout", json=True),
        Prop("components", STR, wire="components", json=True),
        Prop("theme", STR, wire="theme", json=True),
        *written(created_column=2),
    )

    @classmethod
    def encode(cls, ui: Mapping[str, Any]) -> dict[str, Any]:
        return {**cls.encode_carried(ui), "checksum": checksum(ui),
                "componentCount": len(ui["components"])}

    @classmethod
    def decode(cls, props: Mapping[str, Any]) -> dict[str, Any]:
        return cls.decode_carried(props)
