"""From ranked chunks to the passages that answer: request checks, candidate spans and their
de-duplication (`candidates`), the answer score (MaxSim over token vectors), the answerability gate
and the order of the evidence (`ordering`). May import `core`, `embed`'s query side, `index`'s read
side and `retrieve`; never `present`, so what is chosen does not depend on how it is shown."""
