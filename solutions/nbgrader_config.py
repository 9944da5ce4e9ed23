"""nbgrader's configuration for an attn-edu course.

`attn-edu nbgrader-course COURSE_DIR` copies this file to
COURSE_DIR/nbgrader_config.py, beside source/NN-slug/NN-slug.ipynb. nbgrader
reads it when one of its commands starts in COURSE_DIR.

Run the nbgrader commands from COURSE_DIR, with attn_edu's environment
active: the graded notebooks import attn_edu, and nbgrader calls `alembic`
from the PATH.
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)

# The course is the folder that holds this file.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "attn-edu"

# The stub that replaces a solution region. It is nbgrader's default, written
# out because `attn-edu assign` writes the same two lines into exercises/:
# the notebook students get from nbgrader equals exercises/NN-slug.md.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Autograde puts the hidden tests back into every check cell before it runs
# the notebook, so the autograded notebook holds their source. nbgrader's
# default feedback ([GetGrades, CSSHTMLHeaderPreprocessor]) would show that
# source to the student (nbgrader issue 917). ClearHiddenTests removes it
# again: the feedback shows each check cell as the student's notebook had it,
# with the output of the full check (the table and the points).
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

# Seconds a cell may run during autograde (nbgrader's default is 30). A check
# cell runs many cases; chapter 11's kernels run in Triton's interpreter,
# slowly, on a machine without a GPU.
c.Execute.timeout = 120
