"""One simulated annotation run: the product's head, strategies and control slice, a dataset as oracle."""

import time
from dataclasses import dataclass, field

import numpy as np
from seqeval.metrics import f1_score as entity_f1

from training.ml.active.control import control_mask, interleave
from training.ml.active.head import accuracy, head_fit
from training.ml.active.strategies import STRATEGIES, select_order, token_uncertainty, uncertainty


@dataclass
class Run:
    labels: list[int] = field(default_factory=list)  # labels given so far, per round
    score: list[float] = field(default_factory=list)  # test accuracy / entity F1, per round
    refresh_s: list[float] = field(default_factory=list)  # fit + score pool + order queue, per round


@dataclass
class Settings:
    seed_size: int
    batch: int
    budget: int
    control: float
    span_aggregate: str = "max"


def seed_rows(n: int, size: int, seed: int) -> np.ndarray:
    """The random seed set, the same for every strategy under one seed."""
    return np.random.default_rng(seed).choice(n, size=min(size, n), replace=False)


def _next_batch(strategy, proba_scores, embeddings, unlabelled, control, settings, rng):
    ranked = select_order(strategy=strategy, scores=proba_scores, embeddings=embeddings, rng=rng,
                          batch_size=settings.batch)
    queue = interleave(ranked, np.flatnonzero(control[unlabelled]), fraction=settings.control, rng=rng)
    return unlabelled[queue[: settings.batch]]


def _tuples(y, multi_label: bool) -> list[tuple[str, ...]]:
    return [tuple(label) if multi_label else (label,) for label in y]


def _simulate(n: int, strategy: str, seed: int, settings: Settings, *, fit, evaluate, uncertain,
              embeddings) -> Run:
    """Rounds of fit, score the pool, order the queue, label the next batch, until the budget."""
    rng = np.random.default_rng([seed, STRATEGIES.index(strategy)])
    control = control_mask(np.arange(n), fraction=settings.control, salt=f"sim-{seed}".encode())
    labelled = np.zeros(n, dtype=bool)
    labelled[seed_rows(n, settings.seed_size, seed)] = True
    run = Run()
    while True:
        started = time.perf_counter()
        rows = np.flatnonzero(labelled)
        model = fit(rows)
        run.labels.append(int(rows.shape[0]))
        if rows.shape[0] >= min(settings.budget, n):
            run.score.append(evaluate(model))
            break
        unlabelled = np.flatnonzero(~labelled)
        scores = uncertain(model, unlabelled) if model is not None and strategy != "random" else None
        batch = _next_batch(strategy, scores, embeddings[unlabelled], unlabelled, control, settings, rng)
        run.refresh_s.append(time.perf_counter() - started)
        run.score.append(evaluate(model))
        labelled[batch[: settings.budget - rows.shape[0]]] = True
    return run


def classification_run(data, X_pool, X_test, strategy: str, seed: int, settings: Settings) -> Run:
    pool_y, test_y = _tuples(data.pool_y, data.multi_label), _tuples(data.test_y, data.multi_label)

    def fit(rows):
        return head_fit(X_pool[rows], [pool_y[row] for row in rows], labels=data.labels,
                        multi_label=data.multi_label, seed=seed)

    def uncertain(model, unlabelled):
        return uncertainty(model.predict_proba(X_pool[unlabelled]), strategy=strategy,
                           multi_label=data.multi_label)

    return _simulate(X_pool.shape[0], strategy, seed, settings, fit=fit,
                     evaluate=lambda model: accuracy(model, X_test, test_y), uncertain=uncertain,
                     embeddings=X_pool)


def full_pool_accuracy(data, X_pool, X_test) -> float:
    model = head_fit(X_pool, _tuples(data.pool_y, data.multi_label), labels=data.labels,
                     multi_label=data.multi_label)
    return accuracy(model, X_test, _tuples(data.test_y, data.multi_label))


def _span_f1(model, test_vectors, test_tags) -> float:
    if model is None:
        return 0.0
    flat = np.concatenate(test_vectors)
    predicted = np.array(model.labels)[model.predict_proba(flat).argmax(axis=1)]
    pieces = np.split(predicted, np.cumsum([len(v) for v in test_vectors])[:-1])
    return float(entity_f1(test_tags, [list(piece) for piece in pieces]))


def _span_fit(vectors, tags, rows, tag_names, seed):
    X = np.concatenate([vectors[row] for row in rows])
    y = [(tag,) for row in rows for tag in tags[row]]
    return head_fit(X, y, labels=tag_names, multi_label=False, seed=seed)


def span_run(pool, test, tag_names, strategy: str, seed: int, settings: Settings) -> Run:
    """Budget and batch count sentences (an annotator's unit of work), the head sees their words."""
    pool_vectors, pool_tags, sentence_vectors = pool
    test_vectors, test_tags = test

    def uncertain(model, unlabelled):
        words = [pool_vectors[row] for row in unlabelled]
        proba = model.predict_proba(np.concatenate(words))
        per_sentence = np.split(proba, np.cumsum([len(w) for w in words])[:-1])
        return token_uncertainty(per_sentence, strategy=strategy, aggregate=settings.span_aggregate)

    return _simulate(len(pool_vectors), strategy, seed, settings,
                     fit=lambda rows: _span_fit(pool_vectors, pool_tags, rows, tag_names, seed),
                     evaluate=lambda model: _span_f1(model, test_vectors, test_tags),
                     uncertain=uncertain, embeddings=sentence_vectors)


def full_pool_span_f1(pool, test, tag_names) -> float:
    pool_vectors, pool_tags, _ = pool
    model = _span_fit(pool_vectors, pool_tags, range(len(pool_vectors)), tag_names, 0)
    return _span_f1(model, *test)
