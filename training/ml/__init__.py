"""The ML core: embeddings and pre-annotation in plain PyTorch, transformers and scikit-learn, without Django."""
