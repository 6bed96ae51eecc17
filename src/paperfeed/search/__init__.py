"""Hybrid search: tantivy keyword index, ONNX embeddings, usearch vectors, rank fusion."""
