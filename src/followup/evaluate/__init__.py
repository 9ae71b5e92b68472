"""Accuracy, measured: the project's suites (`suites`, `suite_eval`), the graded articles asked in the
development library (`graded`, `library`), clinicians' feedback exported as a graded suite
(`feedback_suite`), BEIR benchmarks (`beir_data`, `beir_eval`) with their embedding caches, metrics
through ir-measures, reports and run folders, and the regression gate against evals/baseline.json. `run`
is `followup eval`. May import every stage below it, including the build side, never `serve` or the CLI."""
