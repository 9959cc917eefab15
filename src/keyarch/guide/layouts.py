"""The paper's table beside keyarch's: the config a model module transcribes from the
paper (its ``PAPER_TABLES``: where the paper lays the network out, and the names that hold
it), shown as the code reads, beside the layers keyarch builds from it, measured from the
built model (output shape, parameters and multiply-accumulates per layer)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

from keyarch.guide.render import Page

# Layers that change neither the shape nor the counts: left out of the built side.
_QUIET = ("ReLU", "ReLU6", "SiLU", "Hardswish", "GELU", "Tanh", "ScaledTanh", "Dropout",
          "Identity", "Flatten")  # fmt: skip


def _constant_source(source: str, name: str) -> list[str]:
    """The lines assigning ``name`` at the module's top level, with the comment above."""
    lines = source.splitlines()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []  # fmt: skip
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            first = node.lineno - 1
            while first > 0 and lines[first - 1].lstrip().startswith("#"):
                first -= 1
            return lines[first : node.end_lineno]
    raise ValueError(f"{name} is not assigned at the top level")


def _definition_source(thing) -> list[str]:
    """A function's or class's lines from its ``def``/``class`` (decorators left out),
    with its docstring."""
    lines, _ = inspect.getsourcelines(thing)
    text = "".join(lines)
    node = ast.parse(inspect.cleandoc("\n" + text) if lines[0][:1].isspace() else text).body[0]
    skip = node.lineno - 1 - (node.decorator_list[0].lineno - 1 if node.decorator_list else 0)
    body = inspect.cleandoc("".join(lines[skip:])) if lines[0][:1].isspace() else \
        "".join(lines[skip:])  # fmt: skip
    return body.rstrip("\n").splitlines()


def config_source(module, name: str) -> list[str]:
    """The code of ``name`` in ``module``: a constant's assignment, or a function's, a
    class's or a method's definition (``"LeNet5.__init__"``)."""
    thing = module
    for part in name.split("."):
        thing = getattr(thing, part)  # AttributeError names a table that moved
    if inspect.isfunction(thing) or inspect.isclass(thing):
        return _definition_source(thing)
    return _constant_source(inspect.getsource(module), name)


def built_rows(name: str) -> list[list[str]]:
    """The layers of ``name`` as built, one level below the model (two under a plain
    sequence or list such as ``features``), with output shape, parameters and MACs at its
    default input size; layers that inference skips (auxiliary classifiers) say so, so that
    the parameters add up to the model's."""
    import torch
    from torch import nn

    from keyarch.analysis.complexity import count_parameters, layer_summary
    from keyarch.registry import create_model, model_card

    with torch.device("meta"):  # shapes and counts only: no weights, no arithmetic
        model = create_model(name)
    lists = {
        n
        for n, m in model.named_children()
        if type(m) in (nn.Sequential, nn.ModuleList, nn.ModuleDict)
    }
    ran = {row.name: row for row in layer_summary(model, model_card(name).input_size)}
    rows = []
    for child, module in model.named_modules():
        parent = child.rsplit(".", 1)[0] if "." in child else ""
        shown = (child.count(".") == 0 and child and child not in lists) or \
            (child.count(".") == 1 and parent in lists)  # fmt: skip
        if not shown or type(module).__name__ in _QUIET:
            continue
        parameters = count_parameters(module)
        if child not in ran:  # an auxiliary classifier: trained, not run at inference
            if parameters:
                rows.append([child, type(module).__name__, "training only", f"{parameters:,}", "-"])
            continue
        row = ran[child]
        rows.append([child, row.kind, "x".join(str(d) for d in row.output_shape[1:]),
                     f"{parameters:,}" if parameters else "-",
                     f"{row.macs / 1e6:,.2f} M" if row.macs else "-"])  # fmt: skip
    return rows


def paper_layout(page: Page, guide, lead: str) -> None:
    """``lead``'s paper tables as its module transcribes them, then the layers built."""
    from keyarch.registry import model_card, model_module

    module = importlib.import_module(model_module(lead))
    tables = getattr(module, "PAPER_TABLES", None)
    if tables is None:
        raise ValueError(f"{module.__name__} has no PAPER_TABLES: say where the paper lays "
                         f"out {lead} and which names hold it")  # fmt: skip
    path = Path(inspect.getsourcefile(module))
    source = (f"keyarch/models/{path.name}", guide.asset(page, path, f"source/{path.name}.txt"))
    page.heading(f"The paper's table and what keyarch builds from it ({lead})")
    left: list[tuple] = []
    for where, names in tables.items():
        left.append(("para", (f"The paper's {where}, as keyarch's config (", source, "):")))
        code = [line for n in names for line in [*config_source(module, n), ""]][:-1]
        left.append(("code", code, "python"))
    card = model_card(lead)
    right = [("para", (f"The layers keyarch builds from it, measured from {lead} at "
                       f"{card.input_description} (keyarch info {lead}):",)),
             ("table", ["layer", "kind", "output", "parameters", "MACs"],
              built_rows(lead))]  # fmt: skip
    page.columns(left, right)
