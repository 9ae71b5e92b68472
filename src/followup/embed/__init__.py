"""all-MiniLM-L6-v2 and what it computes: the passes every encoder shares, their batches, the key
embeddings are kept under and the query encoder on onnxruntime (`encoder`, no torch), the stored
token vectors (`token_vectors`), what the stages above ask of an encoder (`protocols`), the bulk
encoders on torch (`torch_encoder`, `bulk_encoder`), the ONNX export (`onnx_export`) and the embedding
job of a build (`chunk_embeddings`, `ray_job` on Ray). May import `core`. Only `encoder`,
`token_vectors` and `protocols` are on the answer path; torch is imported by the build side alone."""
