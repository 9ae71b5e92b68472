"""From a question and its conversation to ranked chunks: the retrieval query (`query`: follow-up
resolution, lay terms), the plan and its scope (`plan`: which articles can answer, from the drugs and
clinical facets the question names; then the search), and hybrid ranking (`hybrid`: each retriever's
scores, fused). May import `core`, `embed`'s query side and `index`'s read side."""
