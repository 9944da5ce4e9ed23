"""Sphinx's configuration for the HTML book (`make book`, tools/build_book.py).

Pure Python and offline: MyST-NB reads the chapters as executed by `make
test` (it runs nothing itself), the book theme ships its own assets, and
MathJax is served from the site (a copy from the sphinx-mathjax-offline
package), so no page asks a CDN for anything.
"""

project = "attn-edu: attention in convolutional networks"
author = "the attn-edu authors"
copyright = "the attn-edu authors, MIT licence"

extensions = ["myst_nb"]
exclude_patterns = ["_notebooks/**"]
master_doc = "index"

# Notebooks: shown as executed by nbval, never executed here.
nb_execution_mode = "off"
# A page has no kernel: leave out the live widget and show its static view
# (the text/html every attn_edu widget adds to its display).
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

# Math: MathJax 3, served from the site (build_book.py copies tex-svg-full.js
# from the sphinx-mathjax-offline package to _static/mathjax/). Its SVG
# output carries its glyphs in the script: no font is fetched.
mathjax_path = "mathjax/tex-svg-full.js"

html_theme = "sphinx_book_theme"
html_title = "attn-edu"
html_favicon = "favicon.svg"  # beside this file; without one, browsers ask for a missing /favicon.ico
html_context = {"default_mode": "light"}  # an empty mode makes the theme log an error
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "navigation_with_keys": False,
}
html_last_updated_fmt = None
html_show_sourcelink = False
html_copy_source = False
