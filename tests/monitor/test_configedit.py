"""In-place configuration edits: added watches are the only new bytes, removed ones the only lost bytes."""

from __future__ import annotations

import difflib
import errno
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import loads
from monitor.configedit import ConfigEditError, add_watches, describe_write_error, remove_watches, write_atomically

SHIPPED = (Path(__file__).resolve().parents[2] / "config" / "watches.yaml").read_text()
NEW: list[dict[str, Any]] = [
    {
        "id": "ilnd-1-25-cv-00001-rss",
        "name": "A v. B (N.D. Ill.)",
        "type": "pacer_rss",
        "court": "ilnd",
        "cases": ["1:25-cv-00001"],
        "every": "5m",
    },
    {
        "id": "ilnd-1-25-cv-00001",
        "name": "A v. B: #1 'quoted'",
        "type": "courtlistener",
        "court": "ilnd",
        "docket_number": "1:25-cv-00001",
        "docket_id": 123,
        "every": "15m",
    },
]
ENV = {"SLACK_BOT_TOKEN": "x" * 8}


def only_inserted(before: str, after: str) -> list[str]:
    """The lines `after` adds to `before`, asserting that nothing else changed and that they are in one place."""
    matcher = difflib.SequenceMatcher(
        a=before.splitlines(keepends=True), b=after.splitlines(keepends=True), autojunk=False
    )
    ops = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    assert len(ops) == 1 and ops[0][0] == "insert", ops
    return after.splitlines(keepends=True)[ops[0][3] : ops[0][4]]


def watches_of(text: str) -> list[dict]:
    return yaml.safe_load(text)["watches"]


def test_adding_to_the_shipped_config_changes_no_other_byte():
    """The shipped file (comments, wrapped flow lists, aligned comments) gains only the new block."""
    after = add_watches(SHIPPED, NEW, "A v. B, N.D. Ill. 1:25-cv-00001")
    added = only_inserted(SHIPPED, after)
    assert added[0] == "\n" and added[1] == "  # A v. B, N.D. Ill. 1:25-cv-00001\n"
    assert watches_of(after)[-2:] == NEW
    config = loads(after, env=ENV)
    assert [w.id for w in config.watches][-2:] == [w["id"] for w in NEW]
    assert 'docket_number: "1:25-cv-00001"' in after and 'cases: ["1:25-cv-00001"]' in after


@pytest.mark.parametrize(
    "text",
    [
        "watches:\n    # four-space items\n    -   id: a\n        type: feed\n        url: https://e.org/f\n",
        "watches:\n- id: a\n  type: feed\n  url: https://e.org/f\n# trailing comment\n",
        "watches:\r\n  - id: a\r\n    type: feed\r\n    url: https://e.org/f\r\n",
        "watches:\n  - id: a\n    type: feed\n    url: https://e.org/f\n"
        "    keywords:\n      any: [x,\n            y]\n",
        "watches:\n  - id: a\n    type: feed\n    url: https://e.org/f",  # no newline at the end
    ],
)
def test_new_items_follow_the_files_own_layout(text):
    """Indentation, line endings and a missing final newline are matched; the old bytes stay."""
    after = add_watches(text, NEW)
    if text.endswith("\n"):
        only_inserted(text, after)
    else:
        assert after.startswith(text)
    assert [w["id"] for w in watches_of(after)] == ["a", *[w["id"] for w in NEW]]
    if "\r\n" in text:
        assert "\n" not in after.replace("\r\n", "")
    lead = next(line for line in text.splitlines() if line.endswith("id: a")).removesuffix("id: a")
    assert f"\n{lead}id: ilnd-1-25-cv-00001-rss" in after.replace("\r\n", "\n")


@pytest.mark.parametrize(
    "text, head, emptied",
    [
        ("watches: []\n", "watches:\n", "watches: []\n"),
        (
            "state: sqlite:///x.db\nwatches: []   # see Watches\nnotifiers: {}\n",
            "watches:   # see Watches\n",
            "state: sqlite:///x.db\nwatches: []   # see Watches\nnotifiers: {}\n",
        ),
        ("watches:\n", "watches:\n", "watches: []\n"),
        ("watches: null\n", "watches:\n", "watches: []\n"),
        ("state: sqlite:///x.db\n", "watches:\n", "state: sqlite:///x.db\n\nwatches: []\n"),
        ("", "watches:\n", "watches: []\n"),
    ],
)
def test_empty_or_missing_watches(text, head, emptied):
    """`watches: []`, a bare or null `watches:`, or none at all: the watch is added, and removing it again
    leaves an empty list (a comment after `[]` keeps its place)."""
    after = add_watches(text, NEW[:1])
    assert head in after
    assert [w["id"] for w in watches_of(after)] == [NEW[0]["id"]]
    assert remove_watches(after, [NEW[0]["id"]]) == emptied


def test_removing_what_was_added_restores_the_file_exactly():
    after = add_watches(SHIPPED, NEW, "A v. B, N.D. Ill. 1:25-cv-00001")
    assert remove_watches(after, [w["id"] for w in NEW]) == SHIPPED


def test_removing_a_pair_takes_its_header_comment_and_nothing_else():
    """The shipped SF pair goes with the comment line naming the case; the next case's header stays."""
    after = remove_watches(SHIPPED, ["sf-v-trump-rss", "sf-v-trump"])
    removed = only_inserted(after, SHIPPED)  # what was removed, as an insertion the other way round
    assert removed[0] == "\n" and removed[1].startswith("  # City and County of San Francisco v. Trump")
    assert "  # United States v. Illinois" in after
    assert "sf-v-trump" not in after.split("agencies")[0]
    assert "\n\n\n" not in after


def test_removing_one_of_a_pair_keeps_the_shared_header():
    after = remove_watches(SHIPPED, ["sf-v-trump-rss"])
    assert "  # City and County of San Francisco v. Trump, N.D. Cal. 3:25-cv-01350\n  - id: sf-v-trump\n" in after
    only_inserted(after, SHIPPED)


def test_removing_the_last_watch_leaves_an_empty_list():
    text = "watches:   # mine\n  - id: a\n    type: feed\n    url: https://e.org/f\n    # every: 5m\nnotifiers: {}\n"
    after = remove_watches(text, ["a"])
    assert after == "watches: []   # mine\nnotifiers: {}\n"
    assert watches_of(after) == []


def test_shapes_it_will_not_edit_are_refused():
    with pytest.raises(ConfigEditError, match="block list"):
        add_watches("watches: [{id: a, type: feed, url: 'https://e.org/f'}]\n", NEW)
    with pytest.raises(ConfigEditError, match="not valid YAML"):
        add_watches("watches: [\n", NEW)
    with pytest.raises(ConfigEditError, match="no watch nope"):
        remove_watches(SHIPPED, ["nope"])


def test_write_is_atomic_and_keeps_mode_and_symlinks(tmp_path):
    real = tmp_path / "real.yaml"
    real.write_text("watches: []\n")
    real.chmod(0o640)
    link = tmp_path / "watches.yaml"
    link.symlink_to(real)
    write_atomically(link, "watches: []  # new\n", was="watches: []\n")
    assert link.is_symlink() and real.read_text() == "watches: []  # new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_write_refuses_a_file_changed_meanwhile(tmp_path):
    path = tmp_path / "watches.yaml"
    path.write_text("watches: []  # edited by someone else\n")
    with pytest.raises(ConfigEditError, match="changed while this command ran"):
        write_atomically(path, "watches: []\n", was="watches: []\n")
    assert path.read_text() == "watches: []  # edited by someone else\n"


def test_write_errors_say_what_to_do(tmp_path):
    path = tmp_path / "watches.yaml"
    assert describe_write_error(path, OSError(errno.EROFS, os.strerror(errno.EROFS))).startswith(
        f"cannot write {path}: the file system is read-only; a mounted configuration"
    )
    assert "permission denied; the file and its directory" in describe_write_error(
        path, PermissionError(errno.EACCES, "x")
    )
    missing = tmp_path / "gone" / "watches.yaml"
    with pytest.raises(ConfigEditError, match=r"cannot write .*No such file"):
        write_atomically(missing, "x", was="")
