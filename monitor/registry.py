"""A kind -> class table whose classes are imported on first use."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Generic, TypeVar

_C = TypeVar("_C")  # the base class of the kinds: Watcher, Notifier


class LazyRegistry(MutableMapping[str, type[_C]], Generic[_C]):
    """`kind -> class`, written out in one explicit table of `"module:Class"` paths, each module imported
    the first time its kind is used: a configuration of feeds never imports slack_sdk or aiosmtplib."""

    def __init__(self, table: dict[str, str]):
        self._paths = dict(table)
        self._loaded: dict[str, type[_C]] = {}

    def __getitem__(self, kind: str) -> type[_C]:
        cls = self._loaded.get(kind)
        if cls is None:
            module, _, name = self._paths[kind].partition(":")
            cls = self._loaded[kind] = getattr(importlib.import_module(module), name)
        return cls

    def __setitem__(self, kind: str, cls: type[_C]) -> None:
        self._paths[kind] = f"{cls.__module__}:{cls.__qualname__}"
        self._loaded[kind] = cls

    def __delitem__(self, kind: str) -> None:
        del self._paths[kind]
        self._loaded.pop(kind, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)
