"""``keyarch experiment NAME``: rerun a paper's claim and write its report folder."""

from __future__ import annotations

import argparse

from keyarch.cli.common import add_overwrite, positive_int


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
        "and rewrite it (nothing is trained; for experiments that keep no runs to read back, "
        "relu-vs-tanh and lstm-vs-rnn: the others are judged again by rerunning the "
        "report's command with --overwrite)",
    )  # fmt: skip
    add_overwrite(parser, "the report in --out (judged again from its finished runs)")
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
    if args.rejudge is not None:
        return _rejudge(args)
    from keyarch.experiments import experiment_module
    from keyarch.outputs import check_folder

    experiment_module(args.name)  # an unknown name first
    out = Path(args.out or f"experiments/{args.name}-{args.profile}")
    if (out / "report.md").exists() and not args.overwrite:
        raise BadInput(f"--out {out} already holds a report; choose another --out, or "
                       "--overwrite to judge it again from its finished runs")  # fmt: skip
    check_folder(out, "--out")
    if args.threads:
        import torch

        from keyarch.analysis.inputs import check_threads

        check_threads(args.threads)
        torch.set_num_threads(args.threads)
    report = run_experiment(args.name, args.profile, args.seeds, out=out, data_dir=args.data_dir)
    words = ["keyarch", *(args.argv if args.argv is not None else sys.argv[1:])]
    report.command = shlex.join(words)
    return _write(report, out)


def _rejudge(args) -> int:
    from pathlib import Path

    from keyarch.errors import BadInput
    from keyarch.experiments import experiment_module

    if not args.rejudge:
        raise BadInput("--rejudge: give the folder of the report to judge again")
    flags = {"--seeds": args.seeds, "--out": args.out, "--data-dir": args.data_dir,
             "--threads": args.threads}  # fmt: skip
    given = [flag for flag, value in flags.items() if value is not None]
    if given:
        raise BadInput(f"--rejudge trains nothing and writes into its own folder: drop "
                       f"{', '.join(given)}")  # fmt: skip
    module = experiment_module(args.name)
    if not hasattr(module, "rejudge"):
        raise BadInput(f"{args.name} reads its runs back: to judge it again, rerun the "
                       "report's command with --overwrite (it trains nothing that "
                       "finished)")  # fmt: skip
    folder = Path(args.rejudge)
    return _write(module.rejudge(folder), folder)  # BadInput for a folder without a report


def _write(report, folder) -> int:
    """Write ``report`` into ``folder`` (one it cannot write to named in one line) and say
    the verdict."""
    import sys

    path = report.write(folder)  # whole or not at all; a failure is one line
    print(f"{report.name}: {report.verdict}. {report.reason}")
    print(f"written: {path}", file=sys.stderr)
    return 0
