"""A gradebook CSV that Canvas and Moodle both import, built from results.jsonl.

``attn-edu grade`` writes one JSON object per submission to results.jsonl.
``lms_csv`` turns the records of one assignment into one row per student:

    Student, ID, SIS User ID, SIS Login ID, Section, <one column per exercise>, <assignment> total

The first five columns are the ones a Canvas gradebook export starts with, in
Canvas's order; Canvas finds the student by ID, SIS User ID or SIS Login ID,
and reads every other column as an assignment (a column it does not know
becomes a new assignment). Moodle's "Import grades from CSV" takes any
columns: the instructor maps one column to a user field ("Identify user by":
Map from / Map to) and each points column to a grade item or "Ignore".

Who is who. ``student_id(path)`` names the student from the submission's
path (the rule is in its docstring). Without a roster that name goes to
"SIS Login ID" (Canvas) and is what Moodle maps to "username". With a
roster, a mapping from our name to the LMS's own identifier (Canvas's SIS
User ID, Moodle's ID number), the LMS identifier goes to "SIS User ID" and
"SIS Login ID" stays empty; a student missing from the roster is an error
that names them, never a row the LMS would reject or give to someone else.
"ID" (Canvas's internal number) and "Section" stay empty.

Points: plain numbers with a decimal point ("0.54"), as both LMSs read them;
an exercise missing from a record (a notebook that could not be read) is 0.
There is no "Points Possible" row: Moodle would read it as a student.
"""

from __future__ import annotations

import csv
import io
from pathlib import PurePath

IDENTITY_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# nbgrader's layout: <course>/submitted/<student>/<assignment>/<notebook>
NBGRADER_FOLDERS = ("submitted", "autograded")


def student_id(path: str) -> str:
    """The student a submission belongs to, from its path.

    - nbgrader's layout, ``.../submitted/<student>/<assignment>/<file>`` (or
      ``autograded/``): the folder after ``submitted``.
    - Otherwise the file name up to its first underscore, without the
      extension: ``alice.ipynb`` and ``alice_02-squeeze.ipynb`` are both
      ``alice``.
    """
    parts = PurePath(str(path).replace("\\", "/")).parts
    for i, part in enumerate(parts[:-3]):
        if part in NBGRADER_FOLDERS:
            return parts[i + 1]
    if not parts:
        raise ValueError("student_id expects the path of a submitted notebook; got an empty path")
    name = PurePath(parts[-1]).stem.split("_", 1)[0].strip()
    if not name:
        raise ValueError(
            f"student_id cannot name the student of {path!r}: name files <student>.ipynb or "
            f"<student>_<anything>.ipynb, or use nbgrader's submitted/<student>/<assignment>/ folders"
        )
    return name


def _number(x) -> str:
    x = round(float(x or 0), 4)
    return str(int(x)) if x.is_integer() else f"{x:g}"


def lms_csv(records: list[dict], exercise_titles: dict[str, str], roster: dict[str, str] | None = None) -> str:
    """The CSV text of one assignment's gradebook: one row per student, in order of their names.

    ``records`` are results.jsonl objects of one assignment; ``exercise_titles``
    maps each exercise id to its column header, in column order; ``roster``
    maps our student names to the LMS's identifiers.
    """
    assignments = sorted({r.get("assignment", "") for r in records})
    if len(assignments) > 1:
        raise ValueError(f"lms_csv builds one assignment's gradebook; the records hold {', '.join(assignments)}: call it once per assignment")
    by_student: dict[str, dict] = {}
    for record in records:
        path = record.get("path") or record.get("submission") or ""
        name = student_id(path)
        if name in by_student:
            other = by_student[name].get("path") or by_student[name].get("submission")
            raise ValueError(f"two submissions for student {name!r}: {other} and {path}; keep one notebook per student")
        by_student[name] = record
    if roster is not None:
        missing = sorted(set(by_student) - set(roster))
        if missing:
            raise ValueError(
                f"the roster has no LMS identifier for {', '.join(repr(m) for m in missing)}; "
                f"add them to the roster (our name -> SIS User ID / ID number), or leave their submissions out"
            )
    total_column = f"{assignments[0]} total" if assignments else "total"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*IDENTITY_COLUMNS, *(title.rstrip(" ★").strip() for title in exercise_titles.values()), total_column])
    for name in sorted(by_student):
        record = by_student[name]
        points = {e.get("id"): e.get("points", 0) for e in record.get("exercises") or []}
        if roster is None:
            identity = [name, "", "", name, ""]
        else:
            identity = [name, "", roster[name], "", ""]
        writer.writerow([*identity, *(_number(points.get(i, 0)) for i in exercise_titles), _number(record.get("total"))])
    return buffer.getvalue()
