"""Where a build's chunks are searched: the backend seam (backend.py), the embedded default
(embedded.py: BM25 postings and a faiss index in this process) and Milvus (milvus.py)."""
