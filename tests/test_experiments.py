"""``keyarch experiment``: each quick profile runs and shows the direction of its effect."""

from __future__ import annotations

import json

import pytest

from conftest import cli_status
from keyarch.experiments import list_experiments, run_experiment
from keyarch.experiments.report import Report


def test_lstm_vs_rnn_quick_profile_the_lstm_remembers_longer(tmp_path, capsys):
    out = tmp_path / "lstm"
    code, stdout, err = cli_status(capsys, ["experiment", "lstm-vs-rnn", "--out", str(out)])
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    rows = report["rows"]
    longest = max(r["lag"] for r in rows)
    lstm = [
        r["accuracy"] for r in rows if (r["model"], r["lag"]) == ("lstm (forget bias 3)", longest)
    ]
    rnn = [r["accuracy"] for r in rows if r["model"] == "rnn" and r["lag"] == longest]
    assert min(lstm) > max(rnn) + 0.2, (lstm, rnn)  # the direction of the effect, with room
    assert (out / "accuracy_vs_lag.png").read_bytes()[:4] == b"\x89PNG"
    text = (out / "report.md").read_text()
    assert "Hochreiter and Schmidhuber 1997" in text and "**Verdict:" in text
    assert "keyarch experiment lstm-vs-rnn" in text and "lstm-vs-rnn:" in stdout
    code, _, err = cli_status(capsys, ["experiment", "lstm-vs-rnn", "--out", str(out)])
    assert code == 2 and "already holds a report" in err  # a report is never replaced


def test_experiments_are_listed_and_bad_names_are_named(capsys):
    assert "lstm-vs-rnn" in list_experiments()
    code, out, _ = cli_status(capsys, ["experiment", "--list"])
    assert code == 0 and "lstm-vs-rnn" in out.split()
    code, _, err = cli_status(capsys, ["experiment", "lstm-vs-rn"])
    assert code == 2 and "unknown experiment 'lstm-vs-rn'" in err
    with pytest.raises(ValueError, match="seeds must be"):
        run_experiment("lstm-vs-rnn", seeds=0)
    with pytest.raises(ValueError, match="verdict must be"):
        Report("x", "c", "s", "u", "quick", 1, [], "r", "maybe", "why")
