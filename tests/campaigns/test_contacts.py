"""Reading contact lists: CSV dialects, JSON, bad rows, duplicates and suppressed numbers."""

from __future__ import annotations

import io

import pytest

from webapp.campaigns.contacts import (
    DUPLICATE,
    INVALID,
    SUPPRESSED,
    Contact,
    ContactsError,
    NotImported,
    classify,
    csv_rows,
    json_rows,
)
from webapp.campaigns.numberset import NumberSet


def read(rows, suppressed=frozenset()):
    return list(classify(rows, lambda numbers: set(numbers) & set(suppressed)))


def read_csv(data: bytes, suppressed=frozenset()):
    return read(csv_rows(io.BytesIO(data)), suppressed)


def numbers(results):
    return [r.number for r in results if isinstance(r, Contact)]


def test_comma_csv_with_custom_field():
    results = read_csv(b"number,custom_field\n+919876543210,order-1\n09876543211,\n")
    assert results == [
        Contact(1, "+919876543210", "order-1", True),
        Contact(2, "+919876543211", None, True),
    ]


def test_excel_semicolons_bom_crlf_and_quotes():
    data = '\ufeffName;Number;Custom_Field\r\n"Rao; A.";"098765 43210";"said ""hi"""\r\nB;+14155550123;x\r\n\r\n'.encode()
    results = read_csv(data)
    assert results == [Contact(1, "+919876543210", 'said "hi"', True), Contact(2, "+14155550123", "x", False)]


def test_bad_rows_duplicates_and_suppressed_are_reported_row_by_row():
    data = b"number\n+919876543210\nnot a number\n\n9876543210\n+919876543212\n12\n"
    results = read_csv(data, suppressed={"+919876543212"})
    assert numbers(results) == ["+919876543210"]
    assert [r for r in results if isinstance(r, NotImported)] == [
        NotImported(2, "not a number", INVALID),
        NotImported(4, "+919876543210", DUPLICATE),
        NotImported(5, "+919876543212", SUPPRESSED),
        NotImported(6, "12", INVALID),
    ]


def test_suppressions_are_looked_up_in_batches():
    asked = []

    def suppressed(batch):
        asked.append(len(batch))
        return set()

    rows = [(i, f"+9198765{i:05d}", None) for i in range(1, 2501)]
    assert len(list(classify(rows, suppressed))) == 2500
    assert asked == [1000, 1000, 500]


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"phone\n+919876543210\n", "no number column"),
    (b"number\n+91987654321\xe9\n", "not UTF-8"),
])
def test_unreadable_lists(data, message):
    with pytest.raises(ContactsError, match=message):
        read_csv(data)


def test_json_lists():
    results = read(json_rows(["+919876543210", {"number": "9876543211", "custom_field": "c"}, 5]))
    assert results == [
        Contact(1, "+919876543210", None, True),
        Contact(2, "+919876543211", "c", True),
        NotImported(3, "", INVALID),
    ]
    with pytest.raises(ContactsError):
        list(json_rows({"number": "1"}))


def test_custom_field_is_cut_to_exotels_limit():
    (contact,) = read_csv(b"number,custom_field\n+919876543210," + b"x" * 150 + b"\n")
    assert contact.custom_field == "x" * 128


def test_nul_and_lone_surrogates_never_reach_the_database():
    results = read(json_rows([{"number": "+919876500001", "custom_field": "a\x00b\ud800"}, "98\x0076\udc00"]))
    assert results[0] == Contact(1, "+919876500001", "a\ufffdb\ufffd", True)
    assert isinstance(results[1], NotImported) and results[1].number.encode("utf-8")


def test_the_numbers_seen_are_remembered_exactly_and_compactly():
    seen = NumberSet()
    numbers_given = [f"+9198{i:08d}" for i in range(0, 300_000, 3)] + ["+14155550123", "+442071838750"]
    assert all(seen.add(number) for number in numbers_given)
    assert not any(seen.add(number) for number in numbers_given)
    assert seen.add("+9198" + "00000001") and len(seen) == len(numbers_given) + 1
    assert seen._slots.itemsize * len(seen._slots) <= 2 * 1024 * 1024  # 100,003 numbers in 2 MB


def test_a_number_repeated_in_a_later_batch_is_a_duplicate():
    rows = [(i, f"+9198765{i:05d}", None) for i in range(1, 2501)] + [(2501, "098765 00001", "again")]
    results = read(rows)
    assert results[-1] == NotImported(2501, "+919876500001", DUPLICATE, "again")
    assert len(numbers(results)) == 2500


def test_the_apostrophe_an_export_puts_before_formulas_is_dropped_on_import():
    results = read_csv(b"number,custom_field\n'+919876543210,'=SUM(A1)\n+919876543211,'plain\n")
    assert results == [Contact(1, "+919876543210", "=SUM(A1)", True), Contact(2, "+919876543211", "'plain", True)]


@pytest.mark.parametrize("lines, row, line", [
    (['+919876500001,a', '"+919876500002,b', '+919876500003,c', '+919876500004,d"', '+919876500005,e'], 2, 3),
    (['+919876500001,a', '+919876500002,"b', '+919876500003,c'], 2, 3),
    (['+919876500001,a', '', '+919876500002,"b'] + [f"+9198765{i:05d},c" for i in range(3, 8000)], 3, 4),
])
def test_a_quote_that_does_not_close_on_its_line_is_refused_naming_its_row(lines, row, line):
    data = ("number,custom_field\r\n" + "\r\n".join(lines) + "\r\n").encode()
    with pytest.raises(ContactsError, match=rf"Row {row} \(line {line} of the file\) opens a quote"):
        read_csv(data)


def test_an_endless_line_is_refused_before_it_is_read_whole():
    with pytest.raises(ContactsError, match="Line 2 of the file is longer than"):
        read_csv(b"number\n" + b"9" * 100_000 + b"\n")
