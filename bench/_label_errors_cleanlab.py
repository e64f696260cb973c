"""cleanlab 2.9.0 side of bench/label-errors-matrix.ts (never imported by sieve itself).

Reads a JSON manifest of cells written by the benchmark; for every cell runs
  (a) cleanlab.filter.find_label_issues (default filter_by='prune_by_noise_rate') and the
      self-confidence ranking on the SAME out-of-sample probabilities sieve used;
  (b) the same on scikit-learn's cross_val_predict probabilities (StandardScaler +
      LogisticRegression, 5 stratified folds) on the cell's features.
Prints one JSON object (cell name -> figures) on stdout.

  PYTHONPATH=/work/shared/reference/cleanlab-2.9.0 /usr/bin/python3 bench/_label_errors_cleanlab.py MANIFEST
"""
import json
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")

from cleanlab.count import num_label_issues  # noqa: E402
from cleanlab.filter import find_label_issues  # noqa: E402
from cleanlab.rank import get_label_quality_scores  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def prf(mask, truth):
    tp = int(np.sum(mask & truth))
    fp = int(np.sum(mask & ~truth))
    fn = int(np.sum(~mask & truth))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), tp + fp


def judge(labels, pred_probs, truth):
    t0 = time.perf_counter()
    mask = find_label_issues(labels, pred_probs)
    seconds = time.perf_counter() - t0
    p, r, f1, flagged = prf(mask, truth)
    sc = get_label_quality_scores(labels, pred_probs, method="self_confidence")
    return {
        "precision": p, "recall": r, "f1": f1, "flagged": flagged,
        "auroc_self_confidence": float(roc_auc_score(truth, -sc)),
        "estimated_noise": float(num_label_issues(labels, pred_probs)) / len(labels),
        "seconds": seconds,
    }


def main():
    manifest = json.load(open(sys.argv[1]))
    features = {}
    out = {}
    for cell in manifest["cells"]:
        n, k, d = cell["n"], cell["k"], cell["d"]
        labels = np.fromfile(cell["labels"], dtype=np.int32)
        truth = np.fromfile(cell["truth"], dtype=np.uint8).astype(bool)
        # sieve's float32 probabilities widened to float64 as they are (no renormalisation: that
        # moves near-equal margins by ~1e-8 and makes the two sides rank ties differently).
        proba = np.fromfile(cell["proba"], dtype=np.float32).reshape(n, k).astype(np.float64)
        res = {"same": judge(labels, proba, truth)}
        if cell.get("features"):
            if cell["features"] not in features:
                features[cell["features"]] = np.fromfile(cell["features"], dtype=np.float32).reshape(n, d)
            X = features[cell["features"]]
            t0 = time.perf_counter()
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=cell.get("max_iter", 100)))
            cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
            sk = cross_val_predict(model, X, labels, cv=cv, method="predict_proba")
            cv_seconds = time.perf_counter() - t0
            if cell.get("sklearn_proba_out"):
                sk.astype(np.float32).tofile(cell["sklearn_proba_out"])
            r = judge(labels, sk, truth)
            r["seconds"] += cv_seconds
            r["accuracy_vs_given"] = float(np.mean(sk.argmax(1) == labels))
            res["sklearn"] = r
        out[cell["name"]] = res
        print(f"  cleanlab: {cell['name']} done", file=sys.stderr, flush=True)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
