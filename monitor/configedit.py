"""Editing the configuration file in place: add watches, remove watches, everything else left byte for byte.

`monitor follow` and `monitor unfollow` change only the lines of the watches they add or remove. The
file is not re-serialised: its text is spliced at positions taken from the YAML parser's node marks,
so comments, blank lines, key order, quoting, flow lists wrapped over several lines, indentation and
line endings stay exactly as they were. (A round-tripping YAML library re-emits the whole document:
ruamel.yaml 0.19 joins the shipped config's wrapped flow lists and normalises spacing and indentation
elsewhere, which is what this module avoids.)

New watches go after the last item of `watches:`, indented like the existing items, under one comment
line naming the case. `watches: []`, an empty `watches:` and a missing `watches:` are handled; a flow
list with items (`watches: [{...}]`) is refused with what to do. Removing a watch removes its lines,
the comment lines inside it, and the comment header above a group of removed watches when that header
stands alone (a blank line before it, and nothing of another watch after the group).

Writes are atomic (a temporary file in the same directory, fsync, rename over the original), keep the
file's mode (and owner, when running as root), follow a symlink to its target, and refuse when the
file changed since it was read.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import MonitorError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigEditError(MonitorError):
    """The file cannot be edited safely (its shape, or the file system); nothing was changed."""


@dataclass(frozen=True, slots=True)
class WatchSpan:
    watch_id: str | None
    first_line: int  # 0-based: the line with the item's dash
    last_line: int  # 0-based: the last line with its content (or a comment inside it)


@dataclass
class _Layout:
    lines: list[str]  # with their line endings
    newline: str
    items: list[WatchSpan]
    style: str  # block | empty (watches: [] / null / nothing) | missing
    key_line: int | None  # the `watches:` line
    value_span: tuple[int, int] | None  # character span of `[]` / `null` to clear when adding
    key_end: int | None  # character index just after `watches`
    dash_col: int = 2
    key_col: int = 4


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index)


def _content_end(node: yaml.Node) -> int:
    """Index just after the last character of a node's content (block collections end at their last value)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        key, value = node.value[-1]
        return max(key.end_mark.index, _content_end(value))
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return node.end_mark.index


def _layout(text: str) -> _Layout:
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if "\r\n" in text else "\n"
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigEditError(f"the file is not valid YAML ({exc}); fix it first (monitor validate)") from exc
    if root is None:
        return _Layout(lines, newline, [], "missing", None, None, None)
    if not isinstance(root, yaml.MappingNode):
        raise ConfigEditError("the file is not a mapping with `watches:`; fix it first (monitor validate)")
    for key, value in root.value:
        if key.value != "watches":
            continue
        layout = _Layout(lines, newline, [], "empty", key.start_mark.line, None, key.end_mark.index)
        if (isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null")) or (
            isinstance(value, yaml.SequenceNode) and value.flow_style and not value.value
        ):
            layout.value_span = (value.start_mark.index, value.end_mark.index)
        elif isinstance(value, yaml.SequenceNode) and not value.flow_style:
            layout.style = "block"
            layout.items = [_span(text, item) for item in value.value]
            first = value.value[0]
            dash = text.rindex("-", 0, first.start_mark.index)
            layout.dash_col = dash - (text.rfind("\n", 0, dash) + 1)
            layout.key_col = (
                first.start_mark.column if first.start_mark.line == _line_of(text, dash) else layout.dash_col + 2
            )
        else:
            raise ConfigEditError(
                "`watches:` is not written as a block list (`- id: ...` items, one per line); "
                "rewrite it so, or edit the file by hand"
            )
        return layout
    return _Layout(lines, newline, [], "missing", None, None, None)


def _span(text: str, item: yaml.Node) -> WatchSpan:
    dash = text.rindex("-", 0, item.start_mark.index)
    first = _line_of(text, dash)
    last = _line_of(text, max(_content_end(item) - 1, item.start_mark.index))
    watch_id = None
    if isinstance(item, yaml.MappingNode):
        watch_id = next((v.value for k, v in item.value if k.value == "id" and isinstance(v, yaml.ScalarNode)), None)
    return WatchSpan(watch_id, first, last)


# ---------------------------------------------------------------- rendering


def _scalar(value: Any, *, in_flow: bool = False, quote: bool = False) -> str:
    """A YAML scalar that reads back as exactly `value`: plain when that is safe, else double-quoted."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    probe = f"k: [{text}]" if in_flow else f"k: {text}"
    try:
        plain_ok = yaml.load(probe, Loader=_LOADER) == {"k": [text] if in_flow else text}
    except yaml.YAMLError:
        plain_ok = False
    if plain_ok and not quote and text == text.strip() and "#" not in text and not any(c in text for c in "\"'\\"):
        return text
    return json.dumps(text, ensure_ascii=False)


# docket numbers are quoted as the README writes them, though most would read back as strings plain
_QUOTED = frozenset({"cases", "docket_number"})


def render_watch(watch: Mapping[str, Any], *, dash_col: int = 2, key_col: int = 4, newline: str = "\n") -> str:
    lines = []
    key_col = max(key_col, dash_col + 2)
    for n, (key, value) in enumerate(watch.items()):
        if isinstance(value, (list, tuple)):
            rendered = "[" + ", ".join(_scalar(v, in_flow=True, quote=key in _QUOTED) for v in value) + "]"
        else:
            rendered = _scalar(value, quote=key in _QUOTED)
        lead = " " * dash_col + "-" + " " * (key_col - dash_col - 1) if n == 0 else " " * key_col
        lines.append(f"{lead}{key}: {rendered}{newline}")
    return "".join(lines)


# ---------------------------------------------------------------- editing


def watch_ids(text: str) -> list[str]:
    return [s.watch_id for s in _layout(text).items if s.watch_id]


def add_watches(text: str, watches: Sequence[Mapping[str, Any]], comment: str | None = None) -> str:
    """`text` with these watches appended to `watches:`; every other byte unchanged."""
    layout = _layout(text)
    nl = layout.newline
    block = "".join(render_watch(w, dash_col=layout.dash_col, key_col=layout.key_col, newline=nl) for w in watches)
    if comment:
        block = " " * layout.dash_col + "# " + " ".join(comment.split()) + nl + block
    if layout.style == "missing":
        head = text if not text or text.endswith("\n") else text + nl
        return head + ("" if not head.strip() else nl) + "watches:" + nl + block
    if layout.style == "empty":
        assert layout.key_line is not None
        if layout.value_span:  # `watches: []` or `watches: null`: the value goes, a comment after it stays
            start, end = layout.value_span
            if text[end : end + 1] in ("", "\r", "\n"):
                start = len(text[:start].rstrip(" "))
            elif text[start - 1 : start] == " ":  # `watches: []   # comment`: the comment keeps its column
                start -= 1
            text = text[:start] + text[end:]
        lines = text.splitlines(keepends=True)
        at = layout.key_line + 1
        if not lines[layout.key_line].endswith("\n"):
            lines[layout.key_line] += nl
        return "".join(lines[:at]) + block + "".join(lines[at:])
    lines = list(layout.lines)
    at = layout.items[-1].last_line + 1
    if not lines[at - 1].endswith("\n"):
        lines[at - 1] += nl
    return "".join(lines[:at]) + nl + block + "".join(lines[at:])


def remove_watches(text: str, ids: Iterable[str]) -> str:
    """`text` without the watches of these ids (and a comment header that introduced only them)."""
    layout = _layout(text)
    wanted = set(ids)
    missing = wanted - {s.watch_id for s in layout.items}
    if missing:
        raise ConfigEditError(f"no watch {', '.join(sorted(missing))} in the file")
    lines = list(layout.lines)
    spans = layout.items
    drop: set[int] = set()
    index = 0
    while index < len(spans):
        if spans[index].watch_id not in wanted:
            index += 1
            continue
        group_end = index
        while group_end + 1 < len(spans) and spans[group_end + 1].watch_id in wanted:
            group_end += 1
        first, last = spans[index].first_line, spans[group_end].last_line
        # comment lines right after the last item, indented into it, are part of it
        while last + 1 < len(lines) and _is_comment(lines[last + 1]) and _indent(lines[last + 1]) > layout.dash_col:
            if group_end + 1 < len(spans) and last + 1 >= spans[group_end + 1].first_line:
                break
            last += 1
        drop.update(range(first, last + 1))
        after_blank = last + 1 >= len(lines) or not lines[last + 1].strip() or group_end == len(spans) - 1
        header = first
        while header - 1 >= 0 and _is_comment(lines[header - 1]) and _indent(lines[header - 1]) == layout.dash_col:
            header -= 1
        before_blank = header - 1 < 0 or not lines[header - 1].strip() or header - 1 == layout.key_line
        if header < first and after_blank and before_blank:
            drop.update(range(header, first))
            first = header
        # no double blank line where the group was
        if first - 1 >= 0 and not lines[first - 1].strip() and (last + 1 >= len(lines) or not lines[last + 1].strip()):
            drop.add(first - 1)
        index = group_end + 1
    kept = [line for n, line in enumerate(lines) if n not in drop]
    if len(wanted) == len(spans) and layout.key_end is not None:  # nothing left: `watches: []`
        result = "".join(kept)
        colon = result.index(":", layout.key_end)
        return result[: colon + 1] + " []" + result[colon + 1 :]
    return "".join(kept)


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


# ---------------------------------------------------------------- writing


def write_atomically(path: Path, text: str, *, was: str) -> None:
    """Replace the file's content with `text` in one rename, keeping its mode; refuse if it changed since
    it was read as `was`. Raises ConfigEditError saying what is wrong and what to do."""
    target = path.resolve()
    try:
        if target.read_text(encoding="utf-8") != was:
            raise ConfigEditError(f"{path} changed while this command ran; run it again")
        if not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, "the file is read-only", str(path))
        info = target.stat()
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigEditError(describe_write_error(path, exc)) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode))
        if os.geteuid() == 0 and (info.st_uid, info.st_gid) != (0, 0):
            os.chown(temp, info.st_uid, info.st_gid)
        os.replace(temp, target)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise ConfigEditError(describe_write_error(path, exc)) from exc
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    try:  # the rename itself survives a crash once the directory is synced
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def describe_write_error(path: Path, exc: OSError) -> str:
    reason = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "the file system is read-only",
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    if exc.errno in (errno.EACCES, errno.EPERM):
        what = (
            f"the file and its directory {path.resolve().parent} must be writable (the file is replaced "
            "in one rename); run as the file's owner, or edit it by hand"
        )
    elif exc.errno == errno.EROFS:
        what = "a mounted configuration (a ConfigMap, a read-only volume) is edited where it comes from"
    else:
        what = "free the space, or edit the file by hand"
    return f"cannot write {path}: {reason}; {what}. Nothing was changed."
