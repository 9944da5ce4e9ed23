"""Submissions and implementations that the grader must see through.

- ``wrong_implementations.py``: wrong (and differently-right) answers for every exercise;
- ``adversarial.py``: whole submissions that misbehave, as edits of a solution notebook;
- ``build.py``: writes those submissions as .ipynb / .md files for a test.
"""
