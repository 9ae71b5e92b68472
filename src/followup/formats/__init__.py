"""Real formats a publisher has, read into the corpus format: PubMed records (pubmed.py), ..."""
