#!/usr/bin/python3
"""Export the two tiny random-weights ONNX models the embedding tests load offline.

    /usr/bin/python3 scripts/make-test-models.py [OUT_DIR]     # default test/fixtures/models
    /usr/bin/python3 scripts/make-test-models.py --minilm-shaped DIR [MAX_LEN]
    /usr/bin/python3 scripts/make-test-models.py --vit-s16-shaped DIR

The other forms write one random model of all-MiniLM-L6-v2's shape (6 layers, hidden 384,
12 heads, inner 1536; about 45 MB with its small vocabulary) or of ViT-S/16's (224x224 input,
16x16 patches, 12 layers, hidden 384, 6 heads, inner 1536; DINOv2-small's shape; about 87 MB),
never committed, so that docs/embeddings.md can state the CPU throughput to expect from such
models without downloading one: speed depends on the shape, not on the weights.

Needs Debian's python3-torch and python3-onnx (apt-get install python3-torch python3-onnx);
no Hugging Face Python packages and no network. Writes, in the layout transformers.js reads
from `env.localModelPath`:

  tiny-bert/  config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx
              a BERT-like encoder (WordPiece, 2 layers, hidden 64) -> last_hidden_state
  tiny-vit/   config.json, preprocessor_config.json, onnx/model.onnx
              a ViT-like encoder (32x32 RGB, 8x8 patches, 2 layers, hidden 48)
              -> last_hidden_state, pooler_output

The weights are random (seeded): these models exist so tests can check shapes, determinism
and the embed -> audit -> evaluate path, not to produce useful embeddings. The WordPiece
vocabulary is every printable ASCII character (alone and as a "##" continuation) plus the
most frequent words of /usr/share/common-licenses (Debian's base-files), so that ordinary
English splits into words rather than characters; on a system without that folder the
vocabulary is characters only. The committed files are the reference; re-running this
script on the same Debian release rewrites them bit for bit.
"""

import collections
import json
import math
import os
import re
import sys

import onnx  # noqa: F401  (torch.onnx.export needs it to check the graph; fail early if missing)
import torch
from torch import nn

OPSET = 14
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_WORDS = 2500
MAX_LEN = 128


def vocabulary():
    chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    words = collections.Counter()
    lic = "/usr/share/common-licenses"
    if os.path.isdir(lic):
        for name in sorted(os.listdir(lic)):
            path = os.path.join(lic, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, encoding="utf-8", errors="replace") as f:
                    words.update(re.findall(r"[a-z]{2,}", f.read().lower()))
    common = [w for w, n in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 2][:MAX_WORDS]
    vocab = SPECIALS + chars + ["##" + c for c in chars] + sorted(common)
    seen = set()
    out = []
    for t in vocab:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def tokenizer_json(vocab):
    ids = {t: i for i, t in enumerate(vocab)}
    added = [
        {"id": ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for t in SPECIALS
    ]
    special = lambda t: {"id": t, "ids": [ids[t]], "tokens": [t]}  # noqa: E731
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": special("[CLS]"), "[SEP]": special("[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }


class Layer(nn.Module):
    """One post-norm transformer encoder layer (BERT's), attention written out so the
    additive key mask exports as plain ONNX ops."""

    def __init__(self, hidden, heads, inner):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.norm1 = nn.LayerNorm(hidden, eps=1e-12)
        self.ff1 = nn.Linear(hidden, inner)
        self.ff2 = nn.Linear(inner, hidden)
        self.norm2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, key_bias):
        b, n, h = x.shape
        d = h // self.heads
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + key_bias
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, h)
        x = self.norm1(x + self.out(ctx))
        return self.norm2(x + self.ff2(nn.functional.gelu(self.ff1(x))))


class TinyBert(nn.Module):
    def __init__(self, vocab_size, hidden=64, layers=2, heads=4, inner=128, max_len=MAX_LEN):
        super().__init__()
        self.word = nn.Embedding(vocab_size, hidden)
        self.position = nn.Embedding(max_len, hidden)
        self.token_type = nn.Embedding(2, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList([Layer(hidden, heads, inner) for _ in range(layers)])

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.norm(self.word(input_ids) + self.position(positions) + self.token_type(token_type_ids))
        key_bias = ((1.0 - attention_mask.to(torch.float32)) * -10000.0)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, key_bias)
        return x


class TinyVit(nn.Module):
    def __init__(self, image=32, patch=8, hidden=48, layers=2, heads=4, inner=96):
        super().__init__()
        self.patch = nn.Conv2d(3, hidden, kernel_size=patch, stride=patch)
        self.cls = nn.Parameter(torch.randn(1, 1, hidden) * 0.02)
        self.position = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, hidden) * 0.02)
        self.layers = nn.ModuleList([Layer(hidden, heads, inner) for _ in range(layers)])
        self.norm = nn.LayerNorm(hidden, eps=1e-12)
        self.pool = nn.Linear(hidden, hidden)

    def forward(self, pixel_values):
        x = self.patch(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.position
        zero = torch.zeros(1, 1, 1, x.shape[1])
        for layer in self.layers:
            x = layer(x, zero)
        x = self.norm(x)
        return x, torch.tanh(self.pool(x[:, 0]))


def init_like_bert(module):
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding, nn.Conv2d)):
            nn.init.normal_(m.weight, std=0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False, sort_keys=False)
        f.write("\n")


def export_bert(out, hidden=64, layers=2, heads=4, inner=128, max_len=MAX_LEN):
    vocab = vocabulary()
    model = TinyBert(len(vocab), hidden, layers, heads, inner, max_len)
    init_like_bert(model)
    model.eval()
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    ids = torch.tensor([[2, 10, 11, 3], [2, 12, 3, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    types = torch.zeros_like(ids)
    torch.onnx.export(
        model, (ids, mask, types), os.path.join(out, "onnx", "model.onnx"),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in
                      ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
        opset_version=OPSET, do_constant_folding=True,
    )
    write_json(os.path.join(out, "config.json"), {
        "model_type": "bert", "architectures": ["BertModel"], "vocab_size": len(vocab),
        "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
        "intermediate_size": inner, "hidden_act": "gelu", "max_position_embeddings": max_len,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
        "sieve_note": "random weights, made by scripts/make-test-models.py; for tests only",
    })
    write_json(os.path.join(out, "tokenizer.json"), tokenizer_json(vocab))
    write_json(os.path.join(out, "tokenizer_config.json"), {
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": max_len,
        "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
        "mask_token": "[MASK]", "clean_up_tokenization_spaces": True,
    })
    return len(vocab)


def export_vit(out, image=32, patch=8, hidden=48, layers=2, heads=4, inner=96):
    model = TinyVit(image, patch, hidden, layers, heads, inner)
    init_like_bert(model)
    model.eval()
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    torch.onnx.export(
        model, (torch.zeros(2, 3, image, image),), os.path.join(out, "onnx", "model.onnx"),
        input_names=["pixel_values"], output_names=["last_hidden_state", "pooler_output"],
        dynamic_axes={"pixel_values": {0: "batch"}, "last_hidden_state": {0: "batch"},
                      "pooler_output": {0: "batch"}},
        opset_version=OPSET, do_constant_folding=True,
    )
    write_json(os.path.join(out, "config.json"), {
        "model_type": "vit", "architectures": ["ViTModel"], "image_size": image, "patch_size": patch,
        "num_channels": 3, "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
        "intermediate_size": inner, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
        "sieve_note": "random weights, made by scripts/make-test-models.py; for tests only",
    })
    write_json(os.path.join(out, "preprocessor_config.json"), {
        "image_processor_type": "ViTImageProcessor", "do_resize": True,
        "size": {"height": image, "width": image}, "resample": 2, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
    })


def main():
    torch.manual_seed(20261201)
    if len(sys.argv) > 2 and sys.argv[1] == "--minilm-shaped":
        max_len = int(sys.argv[3]) if len(sys.argv) > 3 else 256
        export_bert(sys.argv[2], hidden=384, layers=6, heads=12, inner=1536, max_len=max_len)
        print(f"MiniLM-L6-shaped random model (max length {max_len}) in {sys.argv[2]}")
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--vit-s16-shaped":
        export_vit(sys.argv[2], image=224, patch=16, hidden=384, layers=12, heads=6, inner=1536)
        print(f"ViT-S/16-shaped random model in {sys.argv[2]}")
        return
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "models")
    n = export_bert(os.path.join(out, "tiny-bert"))
    export_vit(os.path.join(out, "tiny-vit"))
    for name in ["tiny-bert", "tiny-vit"]:
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(out, name)) for f in fs)
        print(f"{name}: {size / 1e6:.2f} MB" + (f" (vocabulary {n})" if name == "tiny-bert" else ""))


if __name__ == "__main__":
    main()
