"""The reference side of bench/audit-million.ts and bench/audit-fashion.ts: the pieces of a
cleanlab 2.9.0 Datalab audit run directly (Datalab itself needs Hugging Face `datasets`, which
is not installed here; its issue managers are these numpy / scikit-learn calls), on the same
rows as sieve's audit:

- the feature space sieve's neighbour analysers use: StandardScaler, PCA to 64 components when
  wider, rows L2-normalised;
- out-of-sample probabilities: scikit-learn's cross_val_predict of StandardScaler +
  LogisticRegression (C = 1, lbfgs, max_iter 30 as sieve's audit model on that space), 5 folds;
- label issues: cleanlab.filter.find_label_issues (prune_by_noise_rate) on them;
- the kNN graph: NearestNeighbors(k = 10, cosine, brute force), as Datalab builds it;
- outliers: cleanlab.outlier.OutOfDistribution on that graph (Datalab's outlier manager);
- near duplicates: Datalab's rule, pairs closer than 0.13 × the median nearest-neighbour distance;
- class imbalance: class counts.

Usage: python3 _audit_reference.py FEATURES.f32 LABELS.i32 N D K  → one JSON line (seconds per piece).
"""
import json
import sys
import time

import numpy as np


def main():
    feat_path, label_path, n, d, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    import os
    threads = os.environ.get("OMP_NUM_THREADS", "2")
    t = {}
    t0 = time.perf_counter()
    X = np.fromfile(feat_path, dtype=np.float32).reshape(n, d)
    y = np.fromfile(label_path, dtype=np.int32)
    from sklearn.preprocessing import StandardScaler, normalize
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.neighbors import NearestNeighbors
    from cleanlab.filter import find_label_issues
    from cleanlab.outlier import OutOfDistribution
    t["import"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    Z = StandardScaler().fit_transform(X)
    if d > 64:
        Z = PCA(n_components=64, svd_solver="randomized", random_state=0).fit_transform(Z)
    Z = normalize(Z).astype(np.float32)
    t["space"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=30, tol=1e-4))
    proba = cross_val_predict(model, Z, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
    t["oos"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    issues = find_label_issues(y, proba, filter_by="prune_by_noise_rate")
    t["label_issues"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    nn = NearestNeighbors(n_neighbors=10, metric="cosine", algorithm="brute", n_jobs=int(threads)).fit(Z)
    dist, idx = nn.kneighbors()
    t["knn"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    ood = OutOfDistribution(params={"knn": nn})
    scores = ood.fit_score(features=Z)
    t["outliers"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    radius = 0.13 * float(np.median(dist[:, 0]))
    near = int((dist[:, 0] < radius).sum())
    counts = np.bincount(y, minlength=k)
    t["duplicates_imbalance"] = time.perf_counter() - t1

    t["total"] = time.perf_counter() - t0
    print(json.dumps({
        "seconds": t, "label_issues": int(issues.sum()), "near_duplicate_rows": near,
        "oos_accuracy": float((proba.argmax(1) == y).mean()), "imbalance_ratio": float(counts.max() / max(1, counts.min())),
        "outlier_score_median": float(np.median(scores)),
    }))


if __name__ == "__main__":
    main()
