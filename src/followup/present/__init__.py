"""The answer as a reader receives it: source labels ("Chou 2004 · systematic review · Abstract"),
the passage's display text, the JSON contract and the text a clinician reads (`render`). Rendering
never changes quoted words. May import every stage below it."""
