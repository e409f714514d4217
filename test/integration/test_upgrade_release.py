"""The release's metadata and tarball, without a server: META.json is what
PGXN reads (the version written once, in icu_predict.control, and repeated
consistently where a format demands it), and `make dist` archives the
committed tree with everything an install and an update need."""
import json
import pathlib
import re
import subprocess
import tarfile
import zipfile

REPO = pathlib.Path(__file__).resolve().parents[2]


def _git(*args):
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout


def _control_version():
    text = (REPO / "icu_predict.control").read_text()
    return re.search(r"^default_version\s*=\s*'([^']+)'", text, re.M).group(1)


def test_meta_json_for_pgxn():
    meta = json.loads((REPO / "META.json").read_text())
    version = _control_version()
    for key in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
        assert key in meta, key
    assert meta["meta-spec"]["version"] == "1.0.0"
    assert meta["name"] == "icu_predict"
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["version"])
    assert meta["version"] == version, "META.json version = icu_predict.control default_version"
    assert meta["release_status"] in ("stable", "testing", "unstable")
    tracked = set(_git("ls-files").splitlines())
    for name, p in meta["provides"].items():
        assert p["version"] == version, f"provides.{name}.version"
        assert p["file"] in tracked, f"provides.{name}.file {p['file']} is a tracked file"
        assert p.get("docfile", "README.md") in tracked
    assert name == "icu_predict"
    res = meta["resources"]
    assert res["repository"]["type"] == "git" and res["repository"]["url"] and res["repository"]["web"]
    assert res["bugtracker"]["web"]
    for d in meta.get("no_index", {}).get("directory", []):
        assert (REPO / d).is_dir(), f"no_index directory {d} exists"
    assert "PostgreSQL" in meta["prereqs"]["runtime"]["requires"]


def test_one_version_everywhere():
    version = _control_version()
    assert (REPO / "debian" / "changelog").read_text().split("\n")[0].startswith(f"icu-predict ({version}-")
    first = re.search(r"^## (\d+\.\d+\.\d+)", (REPO / "CHANGELOG.md").read_text(), re.M).group(1)
    assert first == version, "the newest CHANGELOG.md section is the control file's version"
    # the update chain reaches it from every released version
    scripts = sorted(p.name for p in (REPO / "extension").glob("icu_predict--*--*.sql"))
    released = sorted(p.name for p in (REPO / "extension").glob("icu_predict--*.sql") if p.name.count("--") == 1)
    steps = [re.match(r"icu_predict--(.+)--(.+)\.sql", s).groups() for s in scripts]
    reach = {version}
    changed = True
    while changed:
        changed = False
        for a, b in steps:
            if b in reach and a not in reach:
                reach.add(a)
                changed = True
    for r in released:
        v = r[len("icu_predict--"):-len(".sql")]
        assert v in reach, f"no update path from {v} to {version}"


def _committed_copy(dst):
    """This tree as it would be committed (tracked and new files, no ignored
    ones), as a git repository of its own with one commit."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    files = [f.decode() for f in files if f and (REPO / f.decode()).is_file()]
    for f in files:
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        (dst / f).write_bytes((REPO / f).read_bytes())
        (dst / f).chmod((REPO / f).stat().st_mode)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(dst)}
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "release"]):
        subprocess.run(["git", *cmd], cwd=dst, env=env, check=True, capture_output=True)
    return set(files)


def test_make_dist_archives_the_committed_tree(tmp_path):
    version = _control_version()
    tree = tmp_path / "tree"
    tree.mkdir()
    files = _committed_copy(tree)
    out = tmp_path / "dist"
    subprocess.run(["make", "-s", "dist", f"DIST_DIR={out}"], cwd=tree, check=True, capture_output=True)
    prefix = f"icu_predict-{version}/"
    with tarfile.open(out / f"icu_predict-{version}.tar.gz") as t:
        names = {m.name for m in t.getmembers() if m.isfile()}
        t.extractall(tmp_path / "x")
    with zipfile.ZipFile(out / f"icu_predict-{version}.zip") as z:
        znames = {n for n in z.namelist() if not n.endswith("/")}
    assert names == znames == {prefix + f for f in files}
    # every released install script and every upgrade script: the whole chain
    chain = sorted(f"extension/{p.name}" for p in (REPO / "extension").glob("icu_predict--*.sql")
                   if p.name != f"icu_predict--{version}.sql")
    assert "extension/icu_predict--0.1.0.sql" in chain and "extension/icu_predict--0.1.0--0.2.0.sql" in chain
    for f in ("META.json", "icu_predict.control", "Makefile", "README.md", "CHANGELOG.md", "LICENSE",
              *chain, "extension/icu_predict_default_models.json", "debian/control", "debian/rules"):
        assert prefix + f in names, f
    assert not any(n.endswith((".so", ".o")) or "/.git/" in n for n in names)
    # the install script builds from the archive alone (no git, no build products)
    src = tmp_path / "x" / prefix
    subprocess.run(["make", "-s", f"extension/icu_predict--{version}.sql"], cwd=src, check=True,
                   capture_output=True)
    built = (src / "extension" / f"icu_predict--{version}.sql").read_text()
    assert built.count("\n-- ==== extension/sql/") == len(list((src / "extension" / "sql").glob("*.sql")))
    assert '\\echo Use "CREATE EXTENSION icu_predict CASCADE" to load this file. \\quit' in built
