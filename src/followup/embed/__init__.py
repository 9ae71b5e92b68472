"""all-MiniLM-L6-v2 and what it computes: the query encoder on onnxruntime (`onnx_encoder`, no torch),
the bulk encoders on torch (`torch_encoder`, `bulk_encoder`), the pooling and token vectors both share
(`passes`, `token_vectors`), the embedding job of a build (`chunk_embeddings`, `ray_job` on Ray) and
the key embeddings are kept under (`model_key`), what the stages above ask of an encoder
(`protocols`) and the batches every encoder runs (`batches`). May import `core`. Only `onnx_encoder`,
`passes`, `batches`, `token_vectors`, `protocols` and `model_key` are on the answer path; torch is
imported by the build side alone."""
