"""Synthetic cohort without a server: determinism, CSV files, the CLI.

Loading and the documented statistics of the loaded cohort are tested
against a server in test/integration/test_synth_load.py.
"""
import datetime as dt
import json
import os
import subprocess
import sys

from model import load, synth

END = dt.date(2024, 3, 1)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_same_seed_same_checksum_other_seed_differs():
    a, _ = synth.checksum_only(synth.generate(1000, 42, END))
    b, _ = synth.checksum_only(synth.generate(1000, 42, END))
    c, _ = synth.checksum_only(synth.generate(1000, 43, END))
    d, _ = synth.checksum_only(synth.generate(1000, 42, END + dt.timedelta(days=1)))
    assert a == b
    assert len({a, c, d}) == 3


def test_csv_files_carry_the_same_data(tmp_path):
    c = synth.generate(300, 7, END)
    h, enc = synth.checksum_only(c)
    r = load.write_csv(c, str(tmp_path))
    assert r["checksum"] == h
    lines = (tmp_path / "lab_result.csv").read_text().splitlines()
    assert len(lines) - 1 == enc.n_numeric + enc.n_text
    ids = [int(x.split(",", 1)[0]) for x in lines[1:]]
    assert sorted(ids) == list(range(1, len(ids) + 1))
    adm = (tmp_path / "admission.csv").read_text().splitlines()
    assert len(adm) == 301


def test_cli_prints_checksum_and_is_deterministic():
    cmd = [sys.executable, "-m", "model", "cohort", "--admissions", "200", "--seed", "5",
           "--end-date", END.isoformat(), "--no-load", "--json"]
    outs = [json.loads(subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout)
            for _ in range(2)]
    assert outs[0]["sha256"] == outs[1]["sha256"]
    assert outs[0]["sha256"] == synth.checksum_only(synth.generate(200, 5, END))[0]
    assert outs[0]["admissions"] == 200


