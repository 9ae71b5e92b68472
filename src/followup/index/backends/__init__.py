"""Where a build's chunks are searched: the seam (`base`: a `SearchWriter` at build time, a
`Retriever` for questions), the embedded default (`embedded`: BM25 postings and a faiss index in this
process) and Milvus (`milvus`, `milvus_build`); `choice` says which one a build uses."""
