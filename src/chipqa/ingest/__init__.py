"""Files to documents to chunks to the index: loading, cleaning, chunking, the indexer, uploads."""
