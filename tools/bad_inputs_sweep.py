"""Sweep ``keyarch`` with bad inputs, as a demanding new user would try them, and sort the
outcomes: clear / traceback / misleading / silent / lost / hang.

    python tools/bad_inputs_sweep.py --out docs/audits/bad-inputs.json [--only PATTERN]

Every case runs ``keyarch`` in a fresh process, in a folder of its own (some as the user
``nobody``, so that a read-only folder is read-only; some on a 64 KiB tmpfs, a full disk).
A case is

* **clear** when the command refused it with exit status 2 and one stderr line that names
  what the case expects (the flag, the file, the model), and left every file as it was,
  or, for an input that has a right answer (a 16-bit PNG read by its range, an existing
  file kept with a new name), when it did the right thing;
* **traceback** when it ended in one (or in keyarch's "internal error");
* **misleading** when it refused with a message that does not name the real problem (or
  with more than one line);
* **silent** when it was accepted and did the wrong thing;
* **lost** when a file that was there before changed or vanished, or the refused command
  left files behind;
* **hang** when it ran past its time limit.

Needs root (the tmpfs mounts, ``setpriv``); it builds its fixtures (a LeNet-5 run, a small
captioner) once, in ``--work``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYARCH = str(ROOT / ".venv" / "bin" / "keyarch")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@dataclass
class Case:
    name: str
    cause: int
    argv: list[str]
    expect: tuple[str, ...] = ()  # words the refusal must name (lowercase)
    setup: object = None  # callable(folder) run before, as root
    ok: object = None  # callable(folder, out, err) -> bool: success is right when it holds
    env: dict = field(default_factory=dict)
    nobody: bool = False
    full_disk: bool = False
    timeout: int = 180


# --- fixture files -------------------------------------------------------------------


def png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that declares ``width`` x ``height`` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))  # fmt: skip


def make_images(folder: Path) -> None:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    picture = (rng.random((64, 64, 3)) * 255).astype("uint8")
    picture[16:48, 16:48] = 255
    Image.fromarray(picture).save(folder / "ok.png")
    grey = picture.mean(axis=2).astype("uint8")
    Image.fromarray(grey).save(folder / "grey8.png")
    Image.fromarray(grey.astype("uint16") * 257).save(folder / "grey16.png")
    Image.fromarray(grey.astype("float32") / 255).save(folder / "float.tif")
    Image.fromarray(grey.astype("float32") * 1000).save(folder / "float-wide.tif")
    png_header_only(folder / "bomb.png", 30000, 30000)  # 900 M pixels: PIL's error
    big = Image.new("1", (10000, 10000))  # 100 M pixels: PIL's warning, and it decodes
    big.save(folder / "bomb-warning.png")
    (folder / "text.png").write_text("not an image\n")
    (folder / "empty.png").write_bytes(b"")
    data = (folder / "ok.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "dir.png").mkdir(exist_ok=True)


def build_fixtures(work: Path) -> Path:
    fixtures = work / "fixtures"
    if (fixtures / "done").exists():
        return fixtures
    shutil.rmtree(fixtures, ignore_errors=True)
    make_images(fixtures / "images")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([KEYARCH, "train", "lenet5", "--train-limit", "256", "--test-limit", "64",
                    "--epochs", "1", "--out", str(fixtures / "runs"), "--run-name", "lenet5",
                    "--no-progress", "--threads", "1"], check=True, env=env)  # fmt: skip
    subprocess.run([KEYARCH, "caption", "train", "--encoder", "resnet20", "--image-size", "32",
                    "--embed-size", "32", "--hidden-size", "32", "--min-count", "1",
                    "--beam-size", "2", "--epochs", "1", "--train-limit", "96",
                    "--test-limit", "24", "--out", str(fixtures / "runs"), "--run-name",
                    "caption", "--no-progress", "--threads", "1"], check=True, env=env)  # fmt: skip
    bench = fixtures / "bench"
    subprocess.run([KEYARCH, "bench", "lenet5", "--batch-sizes", "1", "--passes", "1",
                    "--repeats", "1", "--min-time", "0.01", "--no-memory", "--no-train",
                    "--threads", "1", "--out", str(bench)], check=True, env=env)  # fmt: skip
    folder = fixtures / "folder-data"
    for split in ("train", "test"):
        for label in ("a", "b"):
            (folder / split / label).mkdir(parents=True)
            for i in range(4):
                shutil.copy(fixtures / "images" / "ok.png", folder / split / label / f"{i}.png")
    (fixtures / "done").write_text("")
    return fixtures


# --- outcome ---------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, str]:
    seen = {}
    for path in sorted(folder.rglob("*")):
        if path.relative_to(folder).parts[0] == "home":  # caches (matplotlib's fonts)
            continue
        if path.is_symlink() or path.is_fifo():
            seen[str(path.relative_to(folder))] = "special"
        elif path.is_file():
            seen[str(path.relative_to(folder))] = hashlib.sha1(path.read_bytes()).hexdigest()
        elif path.is_dir():
            seen[str(path.relative_to(folder)) + "/"] = "dir"
    return seen


def judge(case: Case, folder: Path, before: dict, rc, out: str, err: str) -> tuple[str, str]:
    after = snapshot(folder)
    changed = [k for k, v in before.items() if after.get(k) != v]
    if rc is None:
        return "hang", "ran past its limit"
    if "Traceback" in err or "internal error" in err:
        return "traceback", err.strip().splitlines()[-1][:200] if err.strip() else ""
    if changed:
        return "lost", f"changed or removed: {', '.join(changed[:4])}"
    if rc == 0:
        if case.ok is not None and case.ok(folder, out, err):
            return "clear", "did the right thing"
        return "silent", (out.strip().splitlines() or [""])[-1][:200]
    new = [k for k in after if k not in before]
    if new:
        return "lost", f"refused, but left {', '.join(new[:4])}"
    lines = [line for line in err.strip().splitlines() if line.strip()]
    text = " ".join(lines).lower()
    if rc == 2 and len(lines) == 1 and all(word in text for word in case.expect):
        return "clear", lines[0][:200]
    return "misleading", f"rc {rc}: {' | '.join(lines)[:240]}"


def run_case(case: Case, work: Path, fixtures: Path) -> dict:
    folder = work / "cases" / case.name
    if os.path.ismount(folder):
        subprocess.run(["umount", "-l", str(folder)], check=False)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    mounted = False
    if case.full_disk:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
                       check=True)  # fmt: skip
        mounted = True
    try:
        (folder / "home").mkdir()
        if case.setup:
            case.setup(folder)
        if case.full_disk:  # fill it, leaving a few KiB
            with open(folder / "ballast", "wb") as handle:
                try:
                    handle.write(b"\0" * (256 * 1024 - 8 * 1024))
                except OSError:
                    pass
        if case.nobody:
            subprocess.run(["chown", "-R", "65534:65534", str(folder / "home")], check=True)
        before = snapshot(folder)
        argv = [a.replace("{F}", str(fixtures)).replace("{D}", str(folder)) for a in case.argv]
        env = dict(os.environ, OMP_NUM_THREADS="1", HOME=str(folder / "home"),
                   KEYARCH_DATA=os.environ.get("KEYARCH_DATA", "/work/shared/datasets"))  # fmt: skip
        env.update({k: v.replace("{F}", str(fixtures)).replace("{D}", str(folder))
                    for k, v in case.env.items()})  # fmt: skip
        if os.environ.get("SWEEP_SRC"):  # sweep another checkout's keyarch (a "before")
            env["PYTHONPATH"] = os.environ["SWEEP_SRC"]
        if not env["KEYARCH_DATA"]:
            env.pop("KEYARCH_DATA")
        command = (NOBODY if case.nobody else []) + [KEYARCH, *argv]
        start = time.time()
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env,
                                  cwd=folder, timeout=case.timeout)  # fmt: skip
            rc, out, err = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as expired:
            rc, out, err = None, str(expired.stdout or ""), str(expired.stderr or "")
        seconds = time.time() - start
        verdict, detail = judge(case, folder, before, rc, out, err)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)
    return {"case": case.name, "cause": case.cause, "argv": " ".join(case.argv),
            "nobody": case.nobody, "full_disk": case.full_disk, "rc": rc,
            "verdict": verdict, "detail": detail, "seconds": round(seconds, 1)}  # fmt: skip


# --- the cases ------------------------------------------------------------------------


def touch(*names: str, text: str = "earlier\n"):
    def setup(folder: Path) -> None:
        for name in names:
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    return setup


def mkdirs(*names: str, mode: int | None = None):
    def setup(folder: Path) -> None:
        for name in names:
            (folder / name).mkdir(parents=True, exist_ok=True)
            if mode is not None:
                os.chmod(folder / name, mode)

    return setup


def both(*setups):
    def setup(folder: Path) -> None:
        for step in setups:
            step(folder)

    return setup


def fifo(name: str):
    def setup(folder: Path) -> None:
        os.mkfifo(folder / name)

    return setup


def copy_bench(folder: Path) -> None:
    shutil.copytree(Path(os.environ["SWEEP_FIXTURES"]) / "bench", folder / "bench")


def has_file(name: str, *, not_earlier: bool = False):
    def check(folder: Path, out: str, err: str) -> bool:
        path = folder / name
        return path.exists() and (not not_earlier or path.read_text(errors="ignore")
                                  != "earlier\n")  # fmt: skip

    return check


def printed(word: str):
    return lambda folder, out, err: word in out


LENET = "{F}/runs/lenet5/model.safetensors"
CAPTION = "{F}/runs/caption/model.safetensors"
IMG = "{F}/images"
EVAL_LENET = ["eval", "--checkpoint", LENET, "--dataset", "mnist", "--limit", "64"]
CAPTION_EVAL = ["caption", "eval", "--weights", CAPTION, "--limit", "8", "--beam-size", "1"]
AGAINST = ["bench", "resnet18", "--against", "torchvision", "--batch-sizes", "1", "--rounds",
           "3", "--no-train", "--threads", "1"]  # fmt: skip
EXPERIMENT = ["experiment", "lstm-vs-rnn", "--seeds", "1"]
TRAIN = ["train", "lenet5", "--train-limit", "64", "--test-limit", "32", "--epochs", "1",
         "--batch-size", "32", "--no-progress", "--threads", "1"]  # fmt: skip
CAPTION_TRAIN = ["caption", "train", "--encoder", "resnet20", "--image-size", "32",
                 "--embed-size", "16", "--hidden-size", "16", "--min-count", "1", "--epochs", "1",
                 "--train-limit", "32", "--test-limit", "8", "--batch-size", "16",
                 "--no-progress", "--threads", "1"]  # fmt: skip


def output_cases() -> list[Case]:
    """Cause 1: every output flag, at a path it cannot write."""
    writers = {  # name: (argv before the path, the flag, file or folder, the command's cost)
        "draw": (["draw", "resnet18", "-o"], "-o", "file", ".svg"),
        "draw-png": (["draw", "lenet5", "-o"], "-o", "file", ".png"),
        "export": (["export", "lenet5", "-o"], "-o", "file", ".onnx"),
        "visualize": (["visualize", "alexnet", "--image", f"{IMG}/ok.png", "--out"], "--out",
                      "folder", ""),  # fmt: skip
        "caption-eval-out": ([*CAPTION_EVAL, "--out"], "--out", "file", ".json"),
        "caption-eval-grid": ([*CAPTION_EVAL, "--grid"], "--grid", "file", ".png"),
        "eval-results": ([*EVAL_LENET, "--results"], "--results", "file", ".json"),
        "bench-out": (["bench", "lenet5", "--batch-sizes", "1", "--passes", "1", "--repeats",
                       "1", "--min-time", "0.01", "--no-memory", "--no-train", "--threads", "1",
                       "--out"],
                      "--out", "folder", ""),  # fmt: skip
        "bench-against-out": ([*AGAINST, "--out"], "--out", "folder", ""),
        "bench-report-to": (["bench", "--report", "{F}/bench", "--to"], "--to", "folder", ""),
        "experiment-out": ([*EXPERIMENT, "--out"], "--out", "folder", ""),
        "train-out": ([*TRAIN, "--out"], "--out", "folder", ""),
        "caption-train-out": ([*CAPTION_TRAIN, "--out"], "--out", "folder", ""),
    }
    cases = []
    for name, (argv, flag, kind, suffix) in writers.items():
        words = (flag,)
        made = has_file(f"no/such/x{suffix}") if kind == "folder" else None  # mkdir -p
        cases.append(Case(f"{name}-missing-folder", 1, [*argv, f"{{D}}/no/such/x{suffix}"],
                          words + ("no",), ok=made))  # fmt: skip
        cases.append(Case(f"{name}-under-a-file", 1, [*argv, f"{{D}}/file/x{suffix}"],
                          words + ("file",), setup=touch("file")))  # fmt: skip
        cases.append(Case(f"{name}-read-only", 1, [*argv, f"{{D}}/ro/x{suffix}"], words,
                          setup=mkdirs("ro", mode=0o555), nobody=True))  # fmt: skip
        if kind == "file":
            cases.append(Case(f"{name}-a-folder", 1, [*argv, f"{{D}}/taken{suffix}"],
                              words + ("folder",), setup=mkdirs(f"taken{suffix}")))  # fmt: skip
        if name in ("draw", "export", "caption-eval-out", "eval-results", "experiment-out",
                    "visualize", "bench-report-to"):  # fmt: skip
            cases.append(Case(f"{name}-full-disk", 1, [*argv, f"{{D}}/x{suffix}"],
                              ("space",), full_disk=True))  # fmt: skip
    cases.append(Case("home-read-only-cache", 1, ["train", "resnet20", "--dataset",
                      "cifar10-jpeg", "--train-limit", "64", "--test-limit", "32", "--epochs",
                      "1", "--batch-size", "32", "--no-progress", "--threads", "1", "--out",
                      "{D}/home/runs"],
                      ("cache",), nobody=True,  # the cache is a convenience: said, not fatal
                      ok=lambda folder, out, err: "not cached" in out + err,
                      setup=mkdirs("home/.cache", mode=0o555)))  # fmt: skip
    return cases


def overwrite_cases() -> list[Case]:
    """Cause 2: an earlier file is never replaced without --overwrite."""
    return [
        Case("caption-eval-out-exists", 2, [*CAPTION_EVAL, "--out", "{D}/eval.json"],
             ("--out", "exists"), setup=touch("eval.json")),
        Case("caption-eval-grid-exists", 2, [*CAPTION_EVAL, "--grid", "{D}/grid.png"],
             ("--grid", "exists"), setup=touch("grid.png")),
        Case("visualize-out-has-files", 2, ["visualize", "alexnet", "--image", f"{IMG}/ok.png",
             "--out", "{D}/vis"], ("--out",), setup=touch("vis/filters.png")),  # fmt: skip
        Case("visualize-bad-layer-leaves-nothing", 2, ["visualize", "alexnet", "--image",
             f"{IMG}/ok.png", "--out", "{D}/vis", "--layer", "conv99"], ("conv99",)),  # fmt: skip
        Case("export-onnx-data-exists", 2, ["export", "lenet5", "-o", "{D}/m.onnx"],
             ("m.onnx.data",), setup=touch("m.onnx.data")),
        Case("export-onnx-exists", 2, ["export", "lenet5", "-o", "{D}/m.onnx"], ("exists",),
             setup=touch("m.onnx")),
        Case("draw-exists", 2, ["draw", "lenet5", "-o", "{D}/d.svg"], ("exists",),
             setup=touch("d.svg")),
        Case("bench-rerun-other-batch-sizes", 2, ["bench", "lenet5", "--batch-sizes", "2",
             "--passes", "1", "--repeats", "1", "--min-time", "0.01", "--no-memory",
             "--no-train", "--threads", "1", "--out", "{D}/bench"], ("batch",),
             setup=copy_bench),  # fmt: skip
        Case("bench-report-to-existing", 2, ["bench", "--report", "{F}/bench", "--to",
             "{D}/rep"], ("already holds",), setup=touch("rep/report.md", "rep/models.md")),  # fmt: skip
        Case("bench-table-to-existing", 2, ["bench", "--table", "{F}/bench", "--to",
             "{D}/rep"], ("already holds",), setup=touch("rep/models.md")),  # fmt: skip
        Case("bench-plot-to-existing", 2, ["bench", "--plot", "{F}/bench", "--to",
             "{D}/rep"], ("already holds",), setup=touch("rep/figures/latency.png")),  # fmt: skip
        Case("eval-results-exists-gets-new-name", 2, [*EVAL_LENET, "--results",
             "{D}/r.json"], ("exists",), setup=touch("r.json"),
             ok=has_file("r-2.json")),  # documented: a taken name gets -2; fmt: skip
        Case("train-refused-leaves-no-lock", 2, [*TRAIN, "--out", "{D}/runs", "--run-name",
             "r", "--dataset", "cifar10", "--data-dir", "{D}/nothing"], ("data",),
             setup=mkdirs("nothing")),  # fmt: skip
        Case("train-bad-recipe-leaves-nothing", 2, [*TRAIN, "--out", "{D}/runs",
             "--recipe", "nope"], ("recipe",)),  # fmt: skip
        Case("experiment-out-has-report", 2, [*EXPERIMENT, "--out", "{D}/exp"], ("report",),
             setup=touch("exp/report.md")),
        Case("train-finished-run-kept", 2, [*TRAIN, "--out", "{D}/runs", "--run-name", "r"],
             ("overwrite",), setup=touch("runs/r/summary.json", "runs/r/model.safetensors"),
             ok=has_file("runs/r-2/summary.json")),  # documented: a taken name gets -2
    ]


def image_cases() -> list[Case]:
    """Cause 3: one safe decoder for every command that reads an image."""
    readers = {
        "predict": ["predict", "--checkpoint", LENET],
        "predict-pretrained": ["predict", "--model", "efficientnet_lite0", "--pretrained"],
        "caption-predict": ["caption", "predict", "--weights", CAPTION, "--beam-size", "1"],
        "visualize": ["visualize", "alexnet", "--out", "{D}/vis", "--image"],
    }
    kinds = {
        "bomb": ("bomb.png", ("bomb.png", "pixels"), None),
        "bomb-warning": ("bomb-warning.png", (), "quiet"),  # 100 M pixels: a photo
        "grey16": ("grey16.png", (), "ok"),
        "float-tiff": ("float.tif", (), "ok"),
        "fifo": (None, ("fifo.png",), None),
    }
    full = {"text": ("text.png", ("text.png",)), "empty": ("empty.png", ("empty.png",)),
            "truncated": ("truncated.png", ("truncated.png",)),
            "folder": ("dir.png", ("dir.png", "folder")),
            "missing": ("missing.png", ("missing.png", "not found")),
            "float-wide": ("float-wide.tif", ("float-wide.tif", "range"))}  # fmt: skip
    cases = []
    for reader, argv in readers.items():
        for kind, (file, words, right) in kinds.items():
            path = f"{IMG}/{file}" if file else "{D}/fifo.png"
            ok = None
            if right:
                def ok(folder, out, err):  # decoded, and no PIL warning on the way
                    done = ":" in out or (folder / "vis").is_dir()
                    return done and "Warning" not in err
            cases.append(Case(f"{reader}-{kind}", 3, [*argv, path], words, ok=ok,
                              setup=fifo("fifo.png") if not file else None,
                              timeout=60 if kind == "fifo" else 180))  # fmt: skip
        if reader == "predict":
            for kind, (file, words) in full.items():
                cases.append(Case(f"{reader}-{kind}", 3, [*argv, f"{IMG}/{file}"], words))
    for kind, file in (("bomb", "bomb.png"), ("grey16", "grey16.png"), ("fifo", None),
                       ("text", "text.png")):  # fmt: skip
        def setup(folder: Path, file=file) -> None:
            shutil.copytree(Path(os.environ["SWEEP_FIXTURES"]) / "folder-data", folder / "data")
            target = folder / "data" / "train" / "a" / "bad.png"
            if file:
                shutil.copy(Path(os.environ["SWEEP_FIXTURES"]) / "images" / file, target)
            else:
                os.mkfifo(target)

        ok = (lambda folder, out, err: True) if kind == "grey16" else None
        cases.append(Case(f"train-folder-{kind}", 3, ["train", "lenet5_modern", "--dataset", "folder",
                          "--data-dir", "{D}/data", "--epochs", "1", "--batch-size", "4", "--no-progress",
                          "--threads", "1", "--out", "{D}/runs", "--image-size", "32"],
                          ("bad.png",), setup=setup, ok=ok, timeout=60))  # fmt: skip
    return cases


def argument_cases() -> list[Case]:
    """Cause 4: arguments checked against what they configure, before the work."""
    return [
        Case("caption-train-beam-wider-than-vocab", 4, [*CAPTION_TRAIN, "--beam-size", "100000",
             "--out", "{D}/runs"], ("--beam-size", "vocabulary")),  # fmt: skip
        Case("caption-predict-beam-wider", 4, ["caption", "predict", f"{IMG}/ok.png",
             "--weights", CAPTION, "--beam-size", "100000"], ("--beam-size",)),  # fmt: skip
        Case("caption-eval-beam-wider", 4, [*CAPTION_EVAL[:-2], "--beam-size", "100000"],
             ("--beam-size",)),
        Case("caption-train-min-count-empty", 4, [*CAPTION_TRAIN, "--min-count", "100000",
             "--out", "{D}/runs"], ("--min-count",)),  # fmt: skip
        Case("caption-train-max-length-huge", 4, [*CAPTION_TRAIN, "--max-length",
             "1000000000", "--out", "{D}/runs"], ("--max-length",)),  # fmt: skip
        Case("caption-train-image-size-tiny", 4, [*CAPTION_TRAIN[:4], "--image-size", "2",
             *CAPTION_TRAIN[6:], "--out", "{D}/runs"], ("--image-size",)),  # fmt: skip
        Case("export-input-wrong-channels", 4, ["export", "resnet18", "-o", "{D}/m.onnx",
             "--input-size", "1,224,224"], ("--input-size",)),  # fmt: skip
        Case("export-input-too-small", 4, ["export", "alexnet", "-o", "{D}/m.onnx",
             "--input-size", "3,8,8"], ("--input-size",)),  # fmt: skip
        Case("export-input-huge", 4, ["export", "lenet5", "-o", "{D}/m.onnx", "--input-size",
             "1,100000,100000"], ("--input-size",)),  # fmt: skip
        Case("draw-input-too-small", 4, ["draw", "alexnet", "-o", "{D}/d.svg",
             "--input-size", "3,8,8"], ("--input-size",)),  # fmt: skip
        Case("draw-input-channels", 4, ["draw", "lenet5", "-o", "{D}/d.svg",
             "--input-size", "7,32,32"], ("--input-size",),
             ok=has_file("d.svg")),  # a 7-channel LeNet draws; fmt: skip
        Case("visualize-input-too-small", 4, ["visualize", "alexnet", "--image",
             f"{IMG}/ok.png", "--out", "{D}/vis", "--input-size", "3,8,8"],
             ("--input-size",)),  # fmt: skip
        Case("visualize-input-channels", 4, ["visualize", "resnet18", "--image",
             f"{IMG}/ok.png", "--out", "{D}/vis", "--input-size", "5,64,64"],
             ("--input-size",)),  # fmt: skip
        Case("visualize-top-huge", 4, ["visualize", "alexnet", "--image", f"{IMG}/ok.png",
             "--out", "{D}/vis", "--top", "100000"], ("--top",),
             ok=lambda folder, out, err: "--top" in err),  # fmt: skip
        Case("bench-batch-huge", 4, ["bench", "resnet18", "--batch-sizes", "100000000",
             "--out", "{D}/b", "--threads", "1"], ("--batch-sizes",)),  # fmt: skip
        Case("bench-threads-oversubscribed", 4, ["bench", "lenet5", "--threads", "1000",
             "--batch-sizes", "1", "--no-train", "--out", "{D}/b"], ("--threads",)),  # fmt: skip
        Case("bench-img-size-too-small", 4, ["bench", "alexnet", "--img-size", "8",
             "--batch-sizes", "1", "--no-train", "--out", "{D}/b", "--threads", "1"], ("--img-size",)),  # fmt: skip
        Case("bench-img-size-huge", 4, ["bench", "resnet18", "--img-size", "100000",
             "--batch-sizes", "1", "--no-train", "--out", "{D}/b", "--threads", "1"], ("--img-size",)),  # fmt: skip
        Case("bench-warmup-negative", 4, ["bench", "lenet5", "--warmup", "-3",
             "--batch-sizes", "1", "--out", "{D}/b", "--threads", "1"], ("--warmup",)),  # fmt: skip
        Case("bench-train-batch-not-measured", 4, ["bench", "lenet5", "--batch-sizes", "1",
             "--train-batch-sizes", "16", "--out", "{D}/b", "--threads", "1"],
             ("--train-batch-sizes",)),  # fmt: skip
        Case("train-image-size-too-small", 4, [*TRAIN, "--image-size", "7", "--out",
             "{D}/runs"], ("--image-size",)),  # fmt: skip
        Case("train-image-size-huge", 4, ["train", "resnet20", "--image-size", "20000",
             "--epochs", "1", "--train-limit", "64", "--no-progress", "--out", "{D}/runs",
             "--threads", "1"], ("--image-size",)),  # fmt: skip
        Case("train-threads-oversubscribed", 4, [*TRAIN, "--threads", "1000", "--out",
             "{D}/runs"], ("--threads",)),  # fmt: skip
        Case("train-workers-oversubscribed", 4, [*TRAIN, "--workers", "64", "--out",
             "{D}/runs"], ("--workers",)),  # fmt: skip
        Case("train-batch-huge", 4, [*TRAIN, "--batch-size", "100000000", "--out",
             "{D}/runs"], ("--batch-size",),
             ok=lambda folder, out, err: True),  # clamped to the data is fine; fmt: skip
        Case("predict-top-k-more-than-classes", 4, ["predict", f"{IMG}/grey8.png",
             "--checkpoint", LENET, "--top-k", "1000"], ("--top-k",),
             ok=lambda folder, out, err: "--top-k" in err),  # fmt: skip
        Case("eval-threads-huge", 4, [*EVAL_LENET, "--batch-size", "1000000000"],
             ("--batch-size",), ok=lambda folder, out, err: "top-1" in out),  # fmt: skip
        Case("experiment-threads-oversubscribed", 4, [*EXPERIMENT, "--threads", "1000",
             "--out", "{D}/exp"], ("--threads",)),  # fmt: skip
        Case("caption-eval-threads-oversubscribed", 4, [*CAPTION_EVAL, "--threads", "1000"],
             ("--threads",)),
        Case("caption-eval-limit-split", 4, [*CAPTION_EVAL[:-4], "--dataset", "flickr8k"],
             ("flickr8k",)),
    ]


def fallback_cases() -> list[Case]:
    """Cause 5: a fallback is said, never silent."""
    return [
        Case("experiment-data-dir-missing", 5, [*EXPERIMENT[:2], "--seeds", "1", "--data-dir",
             "{D}/none", "--out", "{D}/exp"], ("--data-dir",)),  # fmt: skip
        Case("experiment-data-dir-file", 5, ["experiment", "relu-vs-tanh", "--seeds", "1",
             "--data-dir", "{D}/file", "--out", "{D}/exp"], ("--data-dir",),
             setup=touch("file")),  # fmt: skip
        Case("experiment-lenet-data-dir-missing", 5, ["experiment", "lenet5-mnist", "--seeds",
             "1", "--data-dir", "{D}/none", "--out", "{D}/exp"], ("--data-dir",)),  # fmt: skip
        Case("keyarch-data-file", 5, [*TRAIN, "--out", "{D}/runs"], ("keyarch_data",),
             env={"KEYARCH_DATA": "{D}/file"}, setup=touch("file")),  # fmt: skip
        Case("keyarch-data-missing", 5, [*TRAIN, "--out", "{D}/runs"], ("keyarch_data",),
             env={"KEYARCH_DATA": "{D}/none"},  # searched like the cache; the fallback is said
             ok=lambda folder, out, err: "embedded subset" in out + err),  # fmt: skip
        Case("train-data-dir-file", 5, [*TRAIN, "--data-dir", "{D}/file", "--out",
             "{D}/runs"], ("--data-dir",), setup=touch("file")),  # fmt: skip
        Case("eval-data-dir-missing", 5, [*EVAL_LENET, "--data-dir", "{D}/none"],
             ("--data-dir",)),
        Case("caption-train-flickr-missing", 5, [*CAPTION_TRAIN, "--dataset", "flickr8k",
             "--data-dir", "{D}/none", "--out", "{D}/runs"], ("--data-dir",)),  # fmt: skip
        Case("caption-eval-data-dir-file", 5, [*CAPTION_EVAL, "--dataset", "coco", "--split", "val",
             "--data-dir", "{D}/file"], ("file",), setup=touch("file")),  # fmt: skip
        Case("train-cifar-data-dir-empty", 5, ["train", "resnet20", "--dataset", "cifar10",
             "--data-dir", "{D}/empty", "--no-download", "--out", "{D}/runs",
             "--epochs", "1"], ("cifar",), setup=mkdirs("empty")),  # fmt: skip
    ]


def message_cases() -> list[Case]:
    """Cause 6: the message names the real problem."""
    return [
        Case("train-rnn-on-mnist", 6, ["train", "rnn", "--dataset", "mnist", "--out",
             "{D}/runs"], ("sequence",)),  # fmt: skip
        Case("train-lstm-default", 6, ["train", "lstm", "--out", "{D}/runs"], ("sequence",)),
        Case("caption-encoder-rnn", 6, [*CAPTION_TRAIN[:3], "rnn", *CAPTION_TRAIN[4:],
             "--out", "{D}/runs"], ("rnn",)),  # fmt: skip
        Case("predict-checkpoint-folder", 6, ["predict", f"{IMG}/ok.png", "--checkpoint",
             "{D}/run"], ("folder",), setup=mkdirs("run")),  # fmt: skip
        Case("predict-checkpoint-fifo", 6, ["predict", f"{IMG}/ok.png", "--checkpoint",
             "{D}/w.safetensors"], ("not a regular file",), setup=fifo("w.safetensors"),
             timeout=60),  # fmt: skip
        Case("predict-checkpoint-unreadable", 6, ["predict", f"{IMG}/ok.png", "--checkpoint",
             "{D}/w.safetensors"], ("permission",), nobody=True,
             setup=both(touch("w.safetensors"),
                        lambda d: os.chmod(d / "w.safetensors", 0o000))),  # fmt: skip
        Case("eval-checkpoint-folder", 6, ["eval", "--checkpoint", "{D}/run", "--dataset",
             "mnist"], ("folder",), setup=mkdirs("run")),  # fmt: skip
        Case("export-weights-folder", 6, ["export", "lenet5", "-o", "{D}/m.onnx", "--weights",
             "{D}/run"], ("folder",), setup=mkdirs("run")),  # fmt: skip
        Case("caption-predict-weights-folder", 6, ["caption", "predict", f"{IMG}/ok.png",
             "--weights", "{D}/run"], ("folder",), setup=mkdirs("run")),  # fmt: skip
        Case("draw-output-under-png-file", 6, ["draw", "lenet5", "-o", "{D}/ok.png/x.svg"],
             ("ok.png", "file"), setup=touch("ok.png")),  # fmt: skip
        Case("caption-train-help-true", 6, ["caption", "train", "--help"], (),
             ok=lambda folder, out, err: "list --pretrained" not in out
             or subprocess.run([KEYARCH, "list", "--pretrained"],
                               capture_output=True).returncode == 0),  # fmt: skip
        Case("visualize-weights-of-another-model", 6, ["visualize", "alexnet", "--image",
             f"{IMG}/ok.png", "--out", "{D}/vis", "--weights", LENET],
             ("lenet5", "alexnet")),  # fmt: skip
        Case("visualize-weights-caption", 6, ["visualize", "resnet20", "--image",
             f"{IMG}/ok.png", "--out", "{D}/vis", "--weights", CAPTION], ("caption",)),  # fmt: skip
        Case("caption-predict-classifier-weights", 6, ["caption", "predict", f"{IMG}/ok.png",
             "--weights", LENET], ("caption",)),  # fmt: skip
        Case("export-caption-weights", 6, ["export", "resnet20", "-o", "{D}/m.onnx",
             "--weights", CAPTION], ("caption",)),  # fmt: skip
        Case("predict-caption-weights", 6, ["predict", f"{IMG}/ok.png", "--checkpoint",
             CAPTION], ("caption",)),  # fmt: skip
        Case("visualize-weights-missing", 6, ["visualize", "lenet5", "--image",
             f"{IMG}/ok.png", "--out", "{D}/vis", "--weights", "{D}/none.safetensors"],
             ("none.safetensors",)),  # fmt: skip
        Case("visualize-weights-corrupt", 6, ["visualize", "lenet5", "--image",
             f"{IMG}/ok.png", "--out", "{D}/vis", "--weights", "{D}/w.safetensors"],
             ("w.safetensors",), setup=touch("w.safetensors")),  # fmt: skip
        Case("info-unknown", 6, ["info", "resnet1000"], ("resnet1000",)),
        Case("draw-unknown", 6, ["draw", "vgg99", "-o", "{D}/d.svg"], ("vgg99",)),
        Case("bench-unknown", 6, ["bench", "vgg99", "--out", "{D}/b"], ("vgg99",)),
        Case("bench-caption-model", 6, ["bench", "rnn", "--out", "{D}/b"], ("rnn",)),
        Case("experiment-unknown", 6, ["experiment", "nope"], ("nope",)),
        Case("export-unknown", 6, ["export", "nope", "-o", "{D}/m.onnx"], ("nope",)),
        Case("export-rnn", 6, ["export", "rnn", "-o", "{D}/m.onnx"], ("rnn",),
             ok=has_file("m.onnx")),  # fmt: skip
        Case("draw-rnn", 6, ["draw", "lstm", "-o", "{D}/d.svg"], ("lstm",),
             ok=has_file("d.svg")),  # fmt: skip
        Case("visualize-rnn", 6, ["visualize", "lstm", "--image", f"{IMG}/ok.png", "--out",
             "{D}/vis"], ("lstm",)),  # fmt: skip
        Case("predict-pretrained-none", 6, ["predict", f"{IMG}/ok.png", "--model", "lenet5",
             "--pretrained"], ("lenet5", "pretrained")),  # fmt: skip
        Case("export-pretrained-none", 6, ["export", "lenet5", "--pretrained", "-o",
             "{D}/m.onnx"], ("lenet5",)),  # fmt: skip
        Case("caption-eval-novel-on-flickr", 6, [*CAPTION_EVAL[:4], "--split", "novel",
             "--dataset", "flickr8k", "--data-dir", "{D}"], ("novel",)),  # fmt: skip
        Case("eval-wrong-dataset-for-model", 6, ["eval", "--checkpoint", LENET, "--dataset",
             "cifar10", "--limit", "8"], ("cifar10",)),  # fmt: skip
        Case("train-resume-nothing", 6, [*TRAIN, "--resume", "--out", "{D}/runs",
             "--run-name", "r"], ("--resume",)),  # fmt: skip
    ]


def all_cases() -> list[Case]:
    return output_cases() + overwrite_cases() + image_cases() + argument_cases() + \
        fallback_cases() + message_cases()  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the JSON results file")
    parser.add_argument("--work", default="/tmp/keyarch-sweep")
    parser.add_argument("--only", help="cases whose name or arguments contain this")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--merge", help="replace these cases' results in this earlier file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the sweep mounts full disks and drops to nobody")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)
    fixtures = build_fixtures(work)
    os.environ["SWEEP_FIXTURES"] = str(fixtures)
    cases = [c for c in all_cases()
             if not args.only or args.only in c.name or args.only in " ".join(c.argv)]  # fmt: skip
    names = Counter(c.name for c in cases)
    assert all(n == 1 for n in names.values()), [k for k, n in names.items() if n > 1]
    start = time.time()
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda c: run_case(c, work, fixtures), cases))
    for r in results:
        print(f"{r['verdict']:<11} {r['case']:<44} {r['detail']}")
    counts = Counter(r["verdict"] for r in results)
    by_cause = {str(c): dict(Counter(r["verdict"] for r in results if r["cause"] == c))
                for c in range(1, 7)}  # fmt: skip
    document = {"cases": len(results), "counts": dict(counts), "by_cause": by_cause,
                "seconds": round(time.time() - start), "results": results}  # fmt: skip
    if args.merge:  # a few cases rerun into an earlier sweep's file
        earlier = json.loads(Path(args.merge).read_text())["results"]
        rerun = {r["case"]: r for r in results}
        results = [rerun.pop(r["case"], r) for r in earlier] + list(rerun.values())
        counts = Counter(r["verdict"] for r in results)
        by_cause = {str(c): dict(Counter(r["verdict"] for r in results if r["cause"] == c))
                    for c in range(1, 7)}  # fmt: skip
        document = {"cases": len(results), "counts": dict(counts), "by_cause": by_cause,
                    "seconds": None, "results": results}  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(document, indent=1) + "\n")
    print(f"{len(results)} cases: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
