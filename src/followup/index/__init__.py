"""A build of the corpus on disk and how it is searched. Build side: `build` (`followup index`) and
`incremental` (what a build takes from the one before). Both sides: the index directory, its manifest,
a build's files, the recipe that decides them and their memory-mapped arrays (`layout`), the records
of articles, documents and chunks (`records`), embedding segments (`segments`), BM25 postings
(`bm25`), the faiss index (`dense`), and where a build's chunks are searched: the seam and the
embedded default (`retrievers`: a `SearchWriter` at build time, a `Retriever` for questions; BM25
postings and faiss in this process), Milvus (`milvus`, `milvus_build`), and which one a build uses
(`backend_choice`). Read side: `reader` loads a build for questions. May import `core` and `embed`;
`ingest` from the build side only."""
