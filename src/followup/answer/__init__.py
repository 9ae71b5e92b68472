"""From ranked chunks to the passages that answer: candidate spans, their de-duplication and their
score, MaxSim over token vectors (`candidates`); the request checks, the answerability gate and the
order of the evidence (`stages`). May import `core`, `embed`'s query side, `index`'s read side and
`retrieve`; never `present`, so what is chosen does not depend on how it is shown."""
