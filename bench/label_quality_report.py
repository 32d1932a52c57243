#!/usr/bin/env python3
"""Markdown tables of the label-quality benchmark from its JSON lines (standard library only).

    python3 bench/label_quality_report.py OURS.jsonl [REFERENCES.jsonl]

OURS.jsonl: the standard output of `bench-label-quality`; REFERENCES.jsonl: that of
`bench/label_quality_reference.py`. Prints the accuracy table (%, the default in bold, the suite
mean last), the fit-time table (s) and the dev-label table.
"""
import json
import sys

REFS = [("snorkel-lm", "snorkel LabelModel (Python)"), ("hyperlm", "hyperlm (Python)"),
        ("flyingsquid", "flyingsquid (Python, binary sets)")]
DEFAULT = "hyper-hier"


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def table(lines, refs, field, fmt, bold, mean):
    sets, models, cell = [], [], {}
    for r in lines + refs:
        key = (r["set"], r["source"])
        if key not in sets:
            sets.append(key)
        if r["model"] not in models:
            models.append(r["model"])
        cell[key, r["model"]] = r[field]
    names = {m: dict(REFS).get(m, m) for m in models}
    out = ["| set | " + " | ".join(names[m] for m in models) + " |", "|---" * (len(models) + 1) + "|"]
    for key in sets:
        row = []
        for m in models:
            v = cell.get((key, m))
            text = "–" if v is None else fmt(v)
            row.append(f"**{text}**" if bold and m == DEFAULT and v is not None else text)
        out.append(f"| {key[0]} ({key[1]}) | " + " | ".join(row) + " |")
    if mean:
        suite = [k for k in sets if k[1] == "wrench-suite"]
        row = []
        for m in models:
            vals = [cell.get((k, m)) for k in suite]
            row.append("–" if None in vals or not vals else fmt(sum(vals) / len(vals)))
        out.append("| suite mean | " + " | ".join(row) + " |")
    return "\n".join(out)


def main():
    ours = read(sys.argv[1])
    refs = read(sys.argv[2]) if len(sys.argv) > 2 else []
    quality = [r for r in ours if r["name"] == "label_quality"]
    refs = [r for r in refs if r["name"] == "label_quality"]
    dev = [r for r in ours if r["name"] == "label_quality_dev50"]
    print("## Accuracy (%)\n")
    print(table(quality, refs, "accuracy", lambda v: f"{100 * v:.1f}", True, True))
    print("\n## Fit time (s)\n")
    print(table(quality, refs, "fit_seconds", lambda v: f"{v:.3f}", False, False))
    if dev:
        print("\n## With 50 dev labels (%)\n")
        print(table(dev, [], "accuracy", lambda v: f"{100 * v:.1f}", False, False))


if __name__ == "__main__":
    main()
