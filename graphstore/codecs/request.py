"""UserRequest: the request as typed, shared by the runs with the same content."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import FLOAT, KEY, STR, Codec, Prop, written


class UserRequestCodec(Codec):
    name = "UserRequest"
    props = (
        Prop("checksum", STR, KEY),  # of the request's canonical JSON
        Prop("userRequest", STR, wire="userRequest", column=1),
        Prop("targetBatchSize", FLOAT, wire="targetBatchSize", column=2),
        Prop("targetUnit", STR, wire="targetUnit", column=3),
        Prop("context", STR, wire="context", json=True, empty={}),
        Prop("config", STR, wire="config", json=True, empty={}),
        *written(count_column=4, created_column=5),
    )

    @classmethod
    def encode(cls, request: Mapping[str, Any]) -> dict[str, Any]:
        return cls.encode_carried(request)

    @classmethod
    def decode(cls, props: Mapping[str, Any]) -> dict[str, Any]:
        return cls.decode_carried(props)
