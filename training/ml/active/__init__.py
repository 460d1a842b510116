"""Active learning maths on cached embeddings: ranking a refresh, head model, query strategies, control slice, stopping, label errors.

Pure numpy / scikit-learn / cleanlab, so it runs in a worker, a notebook or a benchmark
without Django.
"""
