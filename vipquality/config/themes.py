"""The codeframe of ``themes.yaml``: the themes free-text comments are coded into.

A :class:`Theme` has an id, a label, the CSI attributes and standards it relates to, and per
language the words and phrases that signal it. The :class:`Codeframe` is the file's themes in
order. They are built, validated, by :func:`vipquality.config.load_workspace` (``Workspace.themes``;
``None`` when the workspace has no ``themes.yaml``) and applied to comments by
:func:`vipquality.data.themes.code_comments`. The format and the matching rules are documented for
quality managers in ``surveys/README.md``.

>>> from vipquality.config import load_workspace
>>> frame = load_workspace().themes
>>> frame.get("wait_callback").attributes
('response_speed',)
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

__all__ = ["LANGUAGES", "Codeframe", "Theme"]

#: The comment languages vipquality detects and codes, with their names: the codes stored in the
#: responses table's ``comment_language`` column (``""``: empty, too short or another language).
LANGUAGES: dict[str, str] = {"en": "English", "el": "Greek", "ru": "Russian", "tl": "Tagalog"}


@dataclass(frozen=True)
class Theme:
    """One theme of the codeframe.

    ``terms`` maps a language code of :data:`LANGUAGES` to the words and phrases that signal the
    theme in that language, as written in ``themes.yaml`` (normalised and stemmed when coded).
    """

    id: str
    label: str
    attributes: tuple[str, ...] = ()
    standards: tuple[str, ...] = ()
    terms: t.Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Codeframe:
    """The themes of ``themes.yaml``, in file order."""

    themes: tuple[Theme, ...]

    @property
    def ids(self) -> list[str]:
        """Theme ids in file order."""
        return [th.id for th in self.themes]

    def get(self, id: str) -> Theme:
        """The theme with this id (``KeyError`` if there is none)."""
        for th in self.themes:
            if th.id == id:
                return th
        raise KeyError(f"no theme {id!r}; themes.yaml defines: {', '.join(self.ids)}")

    def __iter__(self) -> t.Iterator[Theme]:
        return iter(self.themes)

    def __len__(self) -> int:
        return len(self.themes)
