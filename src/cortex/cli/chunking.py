"""Splitting plain text and Markdown into memory-sized chunks.

A Markdown heading always starts a new chunk; paragraphs (separated by blank lines) are
packed into chunks of at most ``limit`` characters; a paragraph longer than that is cut
between words. Nothing is ever cut inside a word (a single word longer than ``limit``
becomes a chunk of its own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHUNK_CHARS = 1_500
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")


@dataclass(frozen=True)
class Chunk:
    line: int  # 1-based line where the chunk starts
    text: str


def chunk_text(text: str, limit: int = CHUNK_CHARS) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in _sections(_paragraphs(text)):
        chunks.extend(_pack(section, limit))
    return chunks


def _paragraphs(text: str) -> list[tuple[int, str, bool]]:
    """(start line, text, is heading) for every paragraph; headings stand alone."""
    found: list[tuple[int, str, bool]] = []
    start, lines = 0, list[str]()
    for number, line in enumerate(text.splitlines(), start=1):
        heading = bool(_HEADING.match(line))
        if not line.strip() or heading:
            if lines:
                found.append((start, "\n".join(lines), False))
            lines = []
            if heading:
                found.append((number, line.strip(), True))
            continue
        if not lines:
            start = number
        lines.append(line.rstrip())
    if lines:
        found.append((start, "\n".join(lines), False))
    return found


def _sections(paragraphs: list[tuple[int, str, bool]]) -> list[list[tuple[int, str]]]:
    """Group paragraphs so that each heading opens a new group."""
    sections: list[list[tuple[int, str]]] = [[]]
    for line, body, heading in paragraphs:
        if heading and sections[-1]:
            sections.append([])
        sections[-1].append((line, body))
    return [s for s in sections if s]


def _pack(section: list[tuple[int, str]], limit: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    current: list[str] = []
    start = section[0][0]
    for line, body in section:
        for piece in _fit(body, limit):
            if current and len("\n\n".join([*current, piece])) > limit:
                chunks.append(Chunk(start, "\n\n".join(current)))
                current = []
            if not current:
                start = line
            current.append(piece)
    if current:
        chunks.append(Chunk(start, "\n\n".join(current)))
    return chunks


def _fit(body: str, limit: int) -> list[str]:
    """The paragraph itself if it fits, else word-bounded pieces of at most ``limit``."""
    if len(body) <= limit:
        return [body]
    pieces: list[str] = []
    current = ""
    for word in body.split():
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = ""
        current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces
