"""Reference for bench-encoder: sentence-transformers' encode on the same texts and thread count.

Reads the texts bench-encoder wrote (--texts-out DIR) and prints one JSON line per corpus, in the
format of bench-encoder's `encoder_throughput` lines.

    python bench/encoder_reference.py DIR THREADS [MODEL_DIR]
"""
import json, os, pathlib, sys, time

import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

texts_dir, threads = pathlib.Path(sys.argv[1]), int(sys.argv[2])
cache = os.environ.get("METAL_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "metal-rs")
model_dir = sys.argv[3] if len(sys.argv) > 3 else os.path.join(cache, "models", "all-MiniLM-L6-v2")
torch.set_num_threads(threads)
model = SentenceTransformer(model_dir, device="cpu")
for corpus in ["trec", "radiology"]:
    texts = json.loads((texts_dir / f"{corpus}.json").read_text())
    model.encode(texts[:64], batch_size=64)  # warm-up
    start = time.perf_counter()
    model.encode(texts, batch_size=64)  # sorts by length internally
    secs = time.perf_counter() - start
    print(json.dumps({
        "name": "encoder_throughput", "impl": f"sentence-transformers {sentence_transformers.__version__}",
        "model": "all-MiniLM-L6-v2", "corpus": corpus, "n_texts": len(texts), "threads": threads,
        "batch_size": 64, "seconds": round(secs, 3), "texts_per_second": round(len(texts) / secs, 1),
    }), flush=True)
