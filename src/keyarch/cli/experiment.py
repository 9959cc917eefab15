"""``keyarch experiment NAME``: rerun a paper's claim and write its report folder."""

from __future__ import annotations

import argparse

from keyarch.cli.common import positive_int


def add(commands) -> None:
    parser = commands.add_parser(
        "experiment", help="rerun a paper's claim: report.md, results.csv and plots"
    )
    parser.add_argument("name", help="the experiment (keyarch experiment --list)", nargs="?")
    parser.add_argument("--list", action="store_true", help="list the experiments")
    parser.add_argument("--profile", choices=("quick", "full"), default="quick",
                        help="quick: seconds, a small setting; full: the reported one")  # fmt: skip
    parser.add_argument("--seeds", type=positive_int, help="seeds (default: the profile's)")
    parser.add_argument(
        "--out",
        help="the report folder (default: experiments/NAME-PROFILE); training runs go to "
        "OUT/runs, and the same command rerun after an interruption reads back the finished "
        "runs and resumes the last",
    )
    parser.add_argument("--data-dir", help="where the datasets are (then $KEYARCH_DATA, the cache)")
    parser.add_argument("--threads", type=positive_int, help="compute threads")
    parser.add_argument(
        "--rejudge", metavar="DIR",
        help="judge the report in DIR again from its rows with this version's verdict rule "
        "and rewrite it (nothing is trained; for experiments that keep no runs to read back: "
        "the others are judged again by rerunning their command into the same folder)",
    )  # fmt: skip
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import shlex
    import sys
    from pathlib import Path

    from keyarch.errors import BadInput
    from keyarch.experiments import list_experiments, run_experiment

    if args.list:
        print("\n".join(list_experiments()))
        return 0
    if not args.name:
        raise BadInput("give an experiment name (keyarch experiment --list)")
    if args.rejudge:
        return _rejudge(args.name, Path(args.rejudge))
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out = Path(args.out or f"experiments/{args.name}-{args.profile}")
    if (out / "report.md").exists():
        raise BadInput(f"{out} already holds a report; choose another --out (nothing is replaced)")
    report = run_experiment(args.name, args.profile, args.seeds, out=out, data_dir=args.data_dir)
    words = ["keyarch", *(args.argv if args.argv is not None else sys.argv[1:])]
    report.command = shlex.join(words)
    path = report.write(out)
    print(f"{report.name}: {report.verdict}. {report.reason}")
    print(f"written: {path}", file=sys.stderr)
    return 0


def _rejudge(name: str, folder) -> int:
    import importlib
    import json
    import sys

    from keyarch.errors import BadInput
    from keyarch.experiments import EXPERIMENTS

    if name not in EXPERIMENTS:
        raise BadInput(f"unknown experiment {name!r}; expected one of {', '.join(EXPERIMENTS)}")
    module = importlib.import_module(EXPERIMENTS[name])
    if not hasattr(module, "rejudge"):
        raise BadInput(f"{name} reads its runs back: judge it again by rerunning its report's "
                       "command into a copy of its folder, not with --rejudge")  # fmt: skip
    if not (folder / "report.json").is_file():
        raise BadInput(f"--rejudge: {folder} holds no report.json of {name}")
    try:
        made = json.loads((folder / "report.json").read_text()).get("name")
    except (json.JSONDecodeError, AttributeError) as error:
        raise BadInput(f"--rejudge: {folder / 'report.json'} is not a report: {error}") from None
    if made != name:
        raise BadInput(f"--rejudge: {folder} holds a report of {made!r}, not {name!r}")
    try:
        report = module.rejudge(folder)
    except (TypeError, KeyError, ValueError) as error:  # fields missing or of other kinds
        raise BadInput(f"--rejudge: {folder / 'report.json'} is not a whole report of {name}: "
                       f"{error}") from None  # fmt: skip
    path = report.write(folder)
    print(f"{report.name}: {report.verdict}. {report.reason}")
    print(f"written: {path}", file=sys.stderr)
    return 0
