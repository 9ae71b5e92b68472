"""Real formats a publisher has, read into the corpus format: the article's saved page
(article_page.py over page_blocks.py: text capture, HTML or Markdown), PubMed records (pubmed.py),
DailyMed drug labels (spl.py), and a reference file of any of these told apart by its content
(reference_file.py). `followup add` (add.py) writes them into an article folder."""
