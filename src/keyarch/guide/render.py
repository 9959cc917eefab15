"""A page as a list of blocks, written as plain HTML (one stylesheet, no script) or as
markdown: the same content either way."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

# A cell or a piece of text: plain text, or (text, href) for a link.
Text = str | tuple[str, str]

STYLE = """\
body { font-family: system-ui, sans-serif; max-width: 62rem; margin: 0 auto;
       padding: 1rem; line-height: 1.5; color: #1b1b1b; }
nav { font-size: 0.9rem; margin-bottom: 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem;
        display: block; overflow-x: auto; }
th, td { border: 1px solid #ccd; padding: 0.25rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f2f2f8; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f6f6f6; padding: 0.5rem; overflow-x: auto; }
p, li { overflow-wrap: anywhere; }
.columns { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start;
           width: min(94vw, 92rem); margin-left: calc(50% - min(47vw, 46rem)); }
.columns > div { flex: 1 1 24rem; min-width: 0; }  /* wraps below on a narrow window */
.columns > div:last-child { flex: 0 1 auto; max-width: 40rem; }  /* the table; code beside */
.columns pre { font-size: 0.8rem; }  /* a long address wraps on a phone */
"""


@dataclass
class Page:
    path: str  # "index", "architectures/resnet": without the suffix
    title: str
    blocks: list[tuple] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", level, text))

    def para(self, *parts: Text) -> None:
        self.blocks.append(("para", parts))

    def bullets(self, items: list[Text]) -> None:
        if items:
            self.blocks.append(("bullets", items))

    def table(self, header: list[str], rows: list[list[Text]]) -> None:
        self.blocks.append(("table", header, rows))

    def image(self, src: str, alt: str) -> None:
        self.blocks.append(("image", src, alt))

    def code(self, lines: list[str], language: str = "bash") -> None:
        self.blocks.append(("code", lines, language))

    def columns(self, *columns: list[tuple]) -> None:
        """Blocks side by side (each column a list of blocks such as ``("para", parts)``)."""
        self.blocks.append(("columns", *columns))

    def relative(self, target: str) -> str:
        """``target`` (a path from the site's root) as seen from this page."""
        depth = self.path.count("/")
        return "../" * depth + target


def _html_text(part: Text, suffix: str) -> str:
    if isinstance(part, tuple):
        text, href = part
        internal = not href.startswith(("http://", "https://"))
        if internal and (href.endswith("#") or "." not in href.rsplit("/", 1)[-1]):
            href = href.rstrip("#") + suffix
        return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'
    return html.escape(part)


def _numeric(cell: Text) -> bool:
    text = cell[0] if isinstance(cell, tuple) else cell
    text = text.removesuffix(" M")  # millions of parameters or MACs
    return bool(text) and text.replace(",", "").replace(".", "").replace("%", "").isdigit()


def _html_blocks(blocks: list[tuple]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "heading":
            _, level, text = block
            out.append(f"<h{level}>{html.escape(text)}</h{level}>")
        elif kind == "para":
            out.append("<p>" + "".join(_html_text(p, ".html") for p in block[1]) + "</p>")
        elif kind == "bullets":
            out.append("<ul>" + "".join(f"<li>{_html_text(i, '.html')}</li>" for i in block[1])
                       + "</ul>")  # fmt: skip
        elif kind == "table":
            _, header, rows = block
            out.append("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header)
                       + "</tr></thead><tbody>")  # fmt: skip
            for row in rows:
                cells = "".join(
                    ('<td class="n">' if _numeric(c) else "<td>") + _html_text(c, ".html") + "</td>"
                    for c in row
                )
                out.append(f"<tr>{cells}</tr>")
            out.append("</tbody></table>")
        elif kind == "image":
            _, src, alt = block
            out.append(f'<p><img src="{html.escape(src)}" alt="{html.escape(alt)}"></p>')
        elif kind == "code":
            out.append("<pre><code>" + html.escape("\n".join(block[1])) + "</code></pre>")
        elif kind == "columns":  # side by side on a wide window, one above the other on a narrow
            out.append('<div class="columns">')
            for column in block[1:]:
                out += ["<div>", *_html_blocks(column), "</div>"]
            out.append("</div>")
    return out


def to_html(page: Page, nav: list[tuple[str, str]]) -> str:
    links = " · ".join(_html_text((text, page.relative(href)), ".html") for text, href in nav)
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(page.title)} · keyarch guide</title>",
           f'<link rel="stylesheet" href="{page.relative("style.css")}">', "</head>", "<body>",
           f"<nav>{links}</nav>", f"<h1>{html.escape(page.title)}</h1>"]  # fmt: skip
    out += _html_blocks(page.blocks)
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def _md_text(part: Text) -> str:
    if isinstance(part, tuple):
        text, href = part
        if not href.startswith(("http://", "https://")) and "." not in href.rsplit("/", 1)[-1]:
            href += ".md"
        return f"[{text}]({href})"
    return part


def _md_blocks(blocks: list[tuple]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "heading":
            out += ["#" * block[1] + " " + block[2], ""]
        elif kind == "para":
            out += ["".join(_md_text(p) for p in block[1]), ""]
        elif kind == "bullets":
            out += [f"- {_md_text(i)}" for i in block[1]] + [""]
        elif kind == "table":
            _, header, rows = block
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "---|" * len(header))
            out += ["| " + " | ".join(_md_text(c).replace("|", "\\|") for c in row) + " |"
                    for row in rows]  # fmt: skip
            out.append("")
        elif kind == "image":
            out += [f"![{block[2]}]({block[1]})", ""]
        elif kind == "code":
            language = block[2] if len(block) > 2 else "bash"
            out += [f"```{language}", *block[1], "```", ""]
        elif kind == "columns":
            for column in block[1:]:
                out += _md_blocks(column)
    return out


def to_markdown(page: Page) -> str:
    return "\n".join([f"# {page.title}", "", *_md_blocks(page.blocks)])
