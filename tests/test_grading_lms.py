"""The gradebook CSV for Canvas and Moodle: read back with csv, column by column."""

from __future__ import annotations

import csv
import io

import pytest

from attn_edu.grading.lms import IDENTITY_COLUMNS, lms_csv, student_id

TITLES = {
    "se-squeeze": "The squeeze: global average pooling ★",
    "se-forward": "SE's forward pass ★★",
    "se-parameters": "Counting SE's parameters ★",
}


def record(path: str, points: dict[str, float], status: str = "ok") -> dict:
    return {
        "assignment": "02-squeeze-and-excitation",
        "submission": path.rsplit("/", 1)[-1],
        "path": path,
        "status": status,
        "total": sum(points.values()),
        "max_total": 5,
        "exercises": [{"id": i, "title": TITLES[i], "points": p, "max_points": 1} for i, p in points.items()],
    }


RECORDS = [
    record("/course/submitted/bob/02-squeeze-and-excitation/02-squeeze-and-excitation.ipynb", {"se-squeeze": 1, "se-forward": 1.5, "se-parameters": 0.67}),
    record("/course/submitted/alice/02-squeeze-and-excitation/02-squeeze-and-excitation.ipynb", {"se-squeeze": 1, "se-forward": 3, "se-parameters": 1}),
    record("/course/submitted/carol/02-squeeze-and-excitation/broken.ipynb", {}, status="invalid-notebook"),
]


def read(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    "path, expected",
    [
        ("course/submitted/alice/02-squeeze-and-excitation/02-squeeze-and-excitation.ipynb", "alice"),
        ("/abs/autograded/bob.smith/02/notebook.md", "bob.smith"),
        ("downloads/alice.ipynb", "alice"),
        ("downloads/alice_02-squeeze-and-excitation.ipynb", "alice"),
        (r"C:\class\dave_late.md", "dave"),
        # a folder called submitted/ without nbgrader's three levels below it: the file name rule
        ("submitted/erin.ipynb", "erin"),
    ],
)
def test_student_id_follows_nbgrader_folders_then_the_file_name(path, expected):
    assert student_id(path) == expected


def test_student_id_refuses_a_name_it_cannot_read():
    with pytest.raises(ValueError, match="cannot name the student"):
        student_id("downloads/_02.ipynb")


def test_one_row_per_student_with_canvas_identity_columns_points_and_total():
    text = lms_csv(RECORDS, TITLES)
    header = next(csv.reader(io.StringIO(text)))
    assert header == [*IDENTITY_COLUMNS, "The squeeze: global average pooling", "SE's forward pass", "Counting SE's parameters", "02-squeeze-and-excitation total"]
    rows = read(text)
    assert [r["Student"] for r in rows] == ["alice", "bob", "carol"]
    alice, bob, carol = rows
    assert alice["SIS Login ID"] == "alice" and alice["SIS User ID"] == "" and alice["ID"] == ""
    assert float(bob["SE's forward pass"]) == 1.5 and float(bob["Counting SE's parameters"]) == 0.67
    assert float(bob["02-squeeze-and-excitation total"]) == pytest.approx(3.17)
    assert float(alice["02-squeeze-and-excitation total"]) == 5
    # a notebook that could not be read has every exercise at 0, not blank (Canvas reads blank as "not graded")
    assert [carol[c] for c in header[5:]] == ["0", "0", "0", "0"]


def test_a_roster_puts_the_lms_identifier_in_sis_user_id():
    roster = {"alice": "S1001", "bob": "S1002", "carol": "S1003"}
    rows = read(lms_csv(RECORDS, TITLES, roster))
    assert [(r["Student"], r["SIS User ID"], r["SIS Login ID"]) for r in rows] == [
        ("alice", "S1001", ""), ("bob", "S1002", ""), ("carol", "S1003", ""),
    ]


def test_a_student_missing_from_the_roster_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"no LMS identifier for 'carol'"):
        lms_csv(RECORDS, TITLES, {"alice": "S1001", "bob": "S1002"})


def test_two_notebooks_of_one_student_are_refused():
    twice = RECORDS + [record("/elsewhere/alice_resubmitted.ipynb", {"se-squeeze": 1})]
    with pytest.raises(ValueError, match="two submissions for student 'alice'"):
        lms_csv(twice, TITLES)


def test_records_of_two_assignments_are_refused():
    other = dict(RECORDS[0], assignment="03-efficient-channel-attention", path="/x/dave.ipynb")
    with pytest.raises(ValueError, match="once per assignment"):
        lms_csv(RECORDS + [other], TITLES)


def test_commas_and_quotes_in_titles_survive_the_round_trip():
    titles = {"se-squeeze": 'Squeeze, "global" pooling ★'}
    text = lms_csv([record("/x/alice.ipynb", {"se-squeeze": 0.5})], titles)
    assert read(text)[0]['Squeeze, "global" pooling'] == "0.5"
