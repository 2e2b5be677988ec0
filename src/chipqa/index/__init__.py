"""The index: Chroma storage, the embedding model, and hybrid retrieval."""
