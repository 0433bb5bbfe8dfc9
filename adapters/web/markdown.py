"""Model replies as HTML, safely: every character is escaped first, then a tiny Markdown subset of our own
(fenced and inline code, bold, italics, headings, lists, paragraphs) adds tags we write ourselves. No links, no
images, no raw HTML: nothing a reply says can become markup or a URL."""

from __future__ import annotations

import html
import re

_FENCE = re.compile(r"^```")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")


def inline(escaped: str) -> str:
    """Inline code, bold and italics in text already escaped; code spans keep their stars."""
    parts = _CODE.split(escaped)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<code>{part}</code>")
        else:
            out.append(_ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", part)))
    return "".join(out)


def to_html(text: str) -> str:
    lines = html.escape(text, quote=True).splitlines()
    out: list[str] = []
    paragraph: list[str] = []
    list_tag = ""

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            out.append("<p>" + "<br>".join(inline(line) for line in paragraph) + "</p>")
            paragraph.clear()
        if list_tag:
            out.append(f"</{list_tag}>")
            list_tag = ""

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush()
            block = []
            i += 1
            while i < len(lines) and not _FENCE.match(lines[i]):
                block.append(lines[i])
                i += 1
            out.append("<pre><code>" + "\n".join(block) + "</code></pre>")
        elif not line.strip():
            flush()
        elif heading := _HEADING.match(line):
            flush()
            tag = f"h{min(len(heading[1]) + 2, 6)}"  # a reply's headings sit below the page's own
            out.append(f"<{tag}>{inline(heading[2])}</{tag}>")
        elif item := (_BULLET.match(line) or _NUMBERED.match(line)):
            tag = "ul" if _BULLET.match(line) else "ol"
            if paragraph or list_tag != tag:
                flush()
                out.append(f"<{tag}>")
                list_tag = tag
            out.append(f"<li>{inline(item[1])}</li>")
        else:
            if list_tag:
                flush()
            paragraph.append(line)
        i += 1
    flush()
    return "\n".join(out)
