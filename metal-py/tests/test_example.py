"""The youtube example runs from the label matrix to scores and a saved model."""

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "youtube.py"


def test_youtube_example_runs(tmp_path):
    saved = tmp_path / "model.json"
    done = subprocess.run([sys.executable, str(EXAMPLE), "--save", str(saved)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "youtube: 1586 training, 120 validation, 250 test comments; 10 LFs" in out
    rows = dict(re.findall(r"^(majority vote|LabelModel\(\)|model='mc-snorkel')\s+([0-9.]+)", out, re.M))
    assert set(rows) == {"majority vote", "LabelModel()", "model='mc-snorkel'"}
    # Far above chance (the classes are about balanced) on every row.
    assert all(float(acc) > 0.75 for acc in rows.values()), rows
    assert "loaded model gives the same probabilities: True" in out
    assert saved.is_file()
