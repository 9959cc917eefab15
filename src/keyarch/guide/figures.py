"""Small diagrams of the primitives, drawn as SVG by hand: what each layer connects to what.

Each function returns one SVG document; the symbols are those of the equations on the
primitives page (keyarch.layers.recurrent's docstring for the RNN and the LSTM)."""

from __future__ import annotations

from html import escape

_ARROW = (
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" '
    'markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>'
)


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>", _ARROW,
        f'<rect width="{width}" height="{height}" fill="white"/>', *body, "</svg>", "",
    ])  # fmt: skip


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 11) -> str:
    return (f'<text x="{x:g}" y="{y:g}" text-anchor="{anchor}" font-family="sans-serif" '
            f'font-size="{size}">{escape(text)}</text>')  # fmt: skip


def _line(x1: float, y1: float, x2: float, y2: float, arrow: bool = False, colour="#333") -> str:
    end = ' marker-end="url(#arrow)"' if arrow else ""
    return (f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="{colour}" '
            f'stroke-width="1"{end}/>')  # fmt: skip


def _box(x: float, y: float, w: float, h: float, fill: str, label: str = "") -> str:
    rect = (f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="{fill}" '
            f'stroke="#333" stroke-width="1"/>')  # fmt: skip
    return rect + (_text(x + w / 2, y + h / 2 + 4, label) if label else "")


def _circle(x: float, y: float, r: float, fill: str, label: str = "") -> str:
    shape = f'<circle cx="{x:g}" cy="{y:g}" r="{r:g}" fill="{fill}" stroke="#333"/>'
    return shape + (_text(x, y + 4, label) if label else "")


def fully_connected() -> str:
    """Four inputs, three outputs, every input wired to every output: y = W x + b."""
    inputs = [(70, 30 + 30 * i) for i in range(4)]
    outputs = [(220, 45 + 30 * j) for j in range(3)]
    body = [_line(x1 + 9, y1, x2 - 9, y2, colour="#889") for x1, y1 in inputs for x2, y2 in outputs]
    body += [_circle(x, y, 9, "#dde8f8") for x, y in inputs]
    body += [_circle(x, y, 9, "#f8e3cc") for x, y in outputs]
    body += [_text(70, 165, "x: n = 4 inputs"), _text(220, 165, "y = W x + b: m = 3"),
             _text(145, 15, "n x m weights + m biases = 15")]  # fmt: skip
    return _svg(290, 175, "A fully connected layer", body)


def _grid(x: float, y: float, n: int, cell: float, fill: str, values=None) -> list[str]:
    out = []
    for r in range(n):
        for c in range(n):
            label = str(values[r][c]) if values is not None else ""
            out.append(_box(x + c * cell, y + r * cell, cell, cell, fill, label))
    return out


def convolution() -> str:
    """A 3x3 window of a 6x6 input gives one value of the 4x4 output; the same 3x3 weights
    slide to every position."""
    cell = 18
    body = _grid(20, 30, 6, cell, "#eef3fb")
    body.append(f'<rect x="{20 + cell:g}" y="{30 + cell:g}" width="{3 * cell}" '
                f'height="{3 * cell}" fill="#9db8e8" fill-opacity="0.6" stroke="#1f4f9f" '
                'stroke-width="2"/>')  # fmt: skip
    body += _grid(200, 48, 4, cell, "#fbf1e6")
    body.append(_box(200 + cell, 48 + cell, cell, cell, "#e8a65c"))
    body.append(_line(20 + 4 * cell, 30 + 2.5 * cell, 200 + cell, 48 + 1.5 * cell, arrow=True))
    body += [_text(74, 160, "input 6x6"), _text(236, 140, "output 4x4"),
             _text(150, 16, "one 3x3 kernel, shared by every position"),
             _text(150, 182, "(6 + 2 x 0 - 3) / 1 + 1 = 4")]  # fmt: skip
    return _svg(300, 192, "A 3x3 convolution", body)


_POOL_INPUT = ((1, 3, 2, 0), (5, 2, 1, 4), (0, 1, 6, 2), (3, 2, 1, 1))


def pooling() -> str:
    """2x2 max pooling with stride 2: each window's largest value, the map halved."""
    cell = 24
    fills = ("#dde8f8", "#f8e3cc", "#e0f0dc", "#f2dcef")
    body = []
    for r in range(4):
        for c in range(4):
            window = (r // 2) * 2 + c // 2
            body.append(_box(20 + c * cell, 30 + r * cell, cell, cell, fills[window],
                             str(_POOL_INPUT[r][c])))  # fmt: skip
    for r in range(2):
        for c in range(2):
            best = max(_POOL_INPUT[2 * r + i][2 * c + j] for i in range(2) for j in range(2))
            body.append(_box(190 + c * cell, 54 + r * cell, cell, cell, fills[2 * r + c],
                             str(best)))  # fmt: skip
    body += [_line(20 + 4 * cell + 8, 30 + 2 * cell, 182, 30 + 2 * cell, arrow=True),
             _text(148, 30 + 2 * cell - 6, "max"), _text(68, 148, "input 4x4"),
             _text(214, 124, "output 2x2"), _text(125, 16, "2x2 windows, stride 2")]  # fmt: skip
    return _svg(260, 160, "2x2 max pooling", body)


def rnn_cell() -> str:
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh): one cell, its state fed back."""
    body = [
        _box(80, 60, 180, 40, "#dde8f8", "tanh(W_ih x_t + W_hh h_t-1 + b)"),
        _line(170, 145, 170, 101, arrow=True), _text(170, 160, "x_t"),
        _line(170, 60, 170, 22, arrow=True), _text(170, 16, "h_t (output)"),
        _line(261, 80, 300, 80, arrow=True), _text(306, 76, "h_t", "start"),
        _text(306, 90, "to step t+1", "start", 9),
        _line(10, 80, 79, 80, arrow=True), _text(12, 74, "h_t-1", "start"),
        _text(12, 94, "from step t-1", "start", 9),
    ]  # fmt: skip
    return _svg(370, 170, "The RNN (Elman) cell", body)


def lstm_cell() -> str:
    """The gates i, f, g, o from x_t and h_{t-1}; c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t)."""
    top, bottom = 40, 170
    body = [_box(30, 20, 360, 200, "#fafafa")]
    body += [_line(5, top, 120 - 10, top, arrow=True), _text(18, top - 6, "c_t-1")]
    body += [_circle(120, top, 10, "#fff", "x"), _line(130, top, 210 - 10, top, arrow=True),
             _circle(210, top, 10, "#fff", "+"), _line(220, top, 412, top, arrow=True),
             _text(400, top - 6, "c_t")]  # fmt: skip
    gates = (("f", 120, "\u03c3"), ("i", 180, "\u03c3"), ("g", 240, "tanh"), ("o", 300, "\u03c3"))
    body += [_line(5, bottom + 30, 330, bottom + 30),
             _text(36, bottom + 44, "h_t-1 and x_t", "start")]  # fmt: skip
    for name, x, squash in gates:
        body += [_line(x, bottom + 30, x, bottom + 11, arrow=True),
                 _box(x - 25, bottom - 10, 50, 20, "#dde8f8", f"{name}: {squash}")]  # fmt: skip
    body += [_line(120, bottom - 10, 120, top + 11, arrow=True)]  # f into the product
    body += [_circle(210, 110, 10, "#fff", "x"), _line(180, bottom - 10, 203, 118, arrow=True),
             _line(240, bottom - 10, 217, 118, arrow=True),
             _line(210, 100, 210, top + 11, arrow=True)]  # fmt: skip
    body += [_line(330, top, 330, 70 - 9, arrow=True), _box(310, 70, 40, 18, "#f8e3cc", "tanh"),
             _line(330, 89, 330, 110 - 11, arrow=True), _circle(330, 110, 10, "#fff", "x"),
             _line(300, bottom - 10, 322, 117, arrow=True), _line(340, 110, 412, 110, arrow=True),
             _text(400, 104, "h_t")]  # fmt: skip
    body += [
        _text(210, 240, "c_t = f * c_t-1 + i * g;  h_t = o * tanh(c_t);  \u03c3 is the sigmoid")
    ]
    return _svg(420, 250, "The LSTM cell with a forget gate", body)


FIGURES = {
    "fully-connected": fully_connected,
    "convolution": convolution,
    "pooling": pooling,
    "rnn-cell": rnn_cell,
    "lstm-cell": lstm_cell,
}
