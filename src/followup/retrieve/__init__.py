"""From a question and its conversation to ranked chunks: the retrieval query (`query`: follow-up
resolution, lay terms), which articles can answer (`scope`, with clinical `facets` and the medication
lexicon), and hybrid ranking (`hybrid`: each retriever's scores, fused by `fusion`). May import `core`,
`embed`'s query side and `index`'s read side."""
