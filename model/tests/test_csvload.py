"""The CSV loader's mapping checks and cell reading, without a server
(test/integration/test_csvload.py loads through a server)."""
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from model import csvload
from model.errors import LoadError

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "test" / "data" / "csv"
MAPPING = DATA / "mapping.toml"


def _mapping(tmp_path, text, name="m.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _error(tmp_path, text):
    p = _mapping(tmp_path, text)
    with pytest.raises(LoadError) as e:
        m = csvload.Mapping(p, DATA)
        # column checks read the files
        for name, path, sec in m.sections:
            file, header, rows = csvload._open_csv(m, path, sec)
            fields = csvload.TABLES[name]["fields"] if name != "labs" else csvload.LAB_FIELDS
            csvload.Section(m, path, sec, header, file, fields)
            for col in sec.get("wide", {}):
                csvload._column_index(m, path + ("wide", col), header, file, col)
    return str(e.value), p


BASE = '''[source]
time_zone = "Europe/Amsterdam"
delimiter = ";"
datetime_formats = ["%d-%m-%Y %H:%M"]

[admissions]
file = "opnames.csv"
[admissions.columns]
admission_id = "Opnamenummer"
patient_id = "Patiëntnummer"
admitted_at = "Opnamedatum"
'''


def test_the_test_and_example_mappings_parse():
    for p in (MAPPING, REPO / "docs" / "csv-mapping-example.toml"):
        m = csvload.Mapping(p, DATA)
        assert [s[0] for s in m.sections] == ["admissions", "location_stays", "diagnoses", "bmi", "labs"]


def test_unknown_field_names_its_line(tmp_path):
    msg, p = _error(tmp_path, BASE + 'admited_at = "Opnamedatum"\n')
    assert msg.startswith(f"{p} line 12: admissions.columns.admited_at: unknown field (known: admission_id,")


def test_missing_column_names_its_line_and_the_near_miss(tmp_path):
    msg, p = _error(tmp_path, BASE.replace('"Opnamedatum"', '"opnamedatum"'))
    assert msg == (f"{p} line 11: admissions.columns.admitted_at: opnames.csv has no column 'opnamedatum' "
                   "(did you mean 'Opnamedatum'?)")


def test_missing_required_field(tmp_path):
    msg, _ = _error(tmp_path, BASE.replace('admitted_at = "Opnamedatum"\n', ''))
    assert "admissions.columns: field admitted_at is missing (required: admission_id, patient_id, admitted_at)" in msg


def test_unknown_section_and_key(tmp_path):
    msg, p = _error(tmp_path, BASE + '\n[opnames]\nfile = "x.csv"\n')
    assert msg.startswith(f"{p} line 13: opnames: unknown section")
    msg, p = _error(tmp_path, BASE.replace('delimiter = ";"', 'delimeter = ";"'))
    assert msg.startswith(f"{p} line 3: source.delimeter: unknown key")


def test_time_zone_is_required_and_checked(tmp_path):
    msg, _ = _error(tmp_path, BASE.replace('time_zone = "Europe/Amsterdam"\n', ''))
    assert "source: time_zone is missing" in msg
    msg, p = _error(tmp_path, BASE.replace("Europe/Amsterdam", "Europe/Amsterdamm"))
    assert msg.startswith(f"{p} line 2: source.time_zone: unknown time zone 'Europe/Amsterdamm'")


def test_bad_toml_gives_the_parser_line(tmp_path):
    msg, p = _error(tmp_path, BASE + 'sex = "Geslacht\n')
    assert msg.startswith(f"{p}: not valid TOML:") and "line 12" in msg


def test_wide_column_unit_given_twice(tmp_path):
    text = BASE + '''
[[labs]]
file = "lab.csv"
columns = { admission_id = "Opnamenummer", resulted_at = "Uitslagtijd" }
[labs.wide]
"CRP (mg/L)" = { unit = "mg/L", unit_column = "Kreat eenheid" }
'''
    msg, p = _error(tmp_path, text)
    assert msg == f"{p} line 17: labs[0].wide.CRP (mg/L): unit and unit_column: give one"


def test_missing_wide_column(tmp_path):
    text = BASE + '''
[[labs]]
file = "lab.csv"
columns = { admission_id = "Opnamenummer", resulted_at = "Uitslagtijd" }
[labs.wide]
"CRP" = "KCCRP"
'''
    msg, p = _error(tmp_path, text)
    assert msg.startswith(f"{p} line 17: labs[0].wide.CRP: lab.csv has no column 'CRP' (columns: Opnamenummer,")


def test_missing_file(tmp_path):
    msg, p = _error(tmp_path, BASE.replace("opnames.csv", "opname.csv"))
    assert msg.startswith(f"{p} line 7: admissions.file: ") and "opname.csv: No such file or directory" in msg


def _reader(tmp_path, extra=""):
    m = csvload.Mapping(_mapping(tmp_path, BASE.replace('[source]\n', '[source]\ndecimal_comma = true\n' + extra)), DATA)
    return csvload.Reader(m, m.sections[0][2])


def test_local_times_across_both_dst_changes(tmp_path):
    rd = _reader(tmp_path)
    assert rd.time("25-03-2023 22:10") == ("2023-03-25 21:10:00.000000+00", None)     # CET
    assert rd.time("27-03-2023 08:00") == ("2023-03-27 06:00:00.000000+00", None)     # CEST
    v, why = rd.time("26-03-2023 02:30")
    assert v is None and why[0] == "local time does not exist"
    v, why = rd.time("29-10-2023 02:30")
    assert v is None and why[0] == "local time is ambiguous" and "ambiguous_times" in why[1]
    v, why = rd.time("2023-10-29 02:30")
    assert v is None and why[0] == "not a time"


@pytest.mark.parametrize("choice, utc", [("earlier", "2023-10-29 00:30:00.000000+00"),
                                         ("later", "2023-10-29 01:30:00.000000+00")])
def test_ambiguous_times_taken_as_asked(tmp_path, choice, utc):
    rd = _reader(tmp_path, f'ambiguous_times = "{choice}"\n')
    assert rd.time("29-10-2023 02:30") == (utc, None)
    assert rd.stats == {choice: 1}


def test_numbers_with_a_decimal_comma(tmp_path):
    rd = _reader(tmp_path)
    assert rd.number("27,4") == 27.4
    assert rd.number("-0,5") == -0.5
    assert rd.number("138") == 138.0
    assert rd.number("1.5") == 1.5
    assert rd.number("<5") is None
    assert rd.number("1.234,5") is None
    assert rd.number("1e999") is None
    # a lab cell: plain numbers are the value; text stays text for the server to read
    assert csvload._lab_value(rd, "14,2", False) == (14.2, "14,2")
    assert csvload._lab_value(rd, "48", False) == (48.0, None)
    assert csvload._lab_value(rd, "<5", False) == (None, "<5")
    assert csvload._lab_value(rd, "48", True) == (None, "48")


def test_no_comma_without_decimal_comma(tmp_path):
    m = csvload.Mapping(_mapping(tmp_path, BASE), DATA)
    rd = csvload.Reader(m, m.sections[0][2])
    assert rd.number("27,4") is None


def test_iso_times_with_an_offset_keep_it(tmp_path):
    m = csvload.Mapping(_mapping(tmp_path, BASE.replace('["%d-%m-%Y %H:%M"]', '["iso"]')), DATA)
    rd = csvload.Reader(m, m.sections[0][2])
    assert rd.time("2023-10-29T02:30:00+01:00") == ("2023-10-29 01:30:00.000000+00", None)


def test_mapping_error_from_the_command_line_is_one_line(tmp_path):
    p = _mapping(tmp_path, BASE + 'admited_at = "Opnamedatum"\n')
    r = subprocess.run([sys.executable, "-m", "model", "load-csv", "--mapping", str(p), "--data", str(DATA)],
                       cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {p} line 12: admissions.columns.admited_at: unknown field")
    assert r.stderr.count("\n") == 1
