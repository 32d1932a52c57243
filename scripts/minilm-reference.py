"""Reference embeddings of all-MiniLM-L6-v2 from sentence-transformers, for tests/encoder.rs.

Loads the model folder that scripts/setup-models.sh installs and writes the texts of
metal-runtime/tests/data/minilm/texts.json with their embeddings (float32 values printed as
decimals) to reference.json beside it.

    python scripts/minilm-reference.py [MODEL_DIR]   # needs sentence-transformers and torch
"""
import json, os, pathlib, sys

import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

here = pathlib.Path(__file__).resolve().parent.parent / "metal-runtime" / "tests" / "data" / "minilm"
cache = os.environ.get("METAL_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "metal-rs")
model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(cache, "models", "all-MiniLM-L6-v2")
texts = json.loads((here / "texts.json").read_text())
torch.set_num_threads(1)
model = SentenceTransformer(model_dir, device="cpu")
emb = model.encode(texts, batch_size=4, convert_to_numpy=True)
tokens = [len(model.tokenizer(t, truncation=True, max_length=model.max_seq_length)["input_ids"]) for t in texts]
out = {
    "source": f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}, "
              f"max_seq_length {model.max_seq_length}",
    "tokens": tokens,
    "embeddings": [[float(v) for v in row] for row in emb],
}
(here / "reference.json").write_text(json.dumps(out) + "\n")
print(f"{len(texts)} texts, tokens {tokens}")
