"""torch.compile (inductor, the default backend) gives the eager results for GPT and BERT.

Each model is compiled once with ``dynamic=False`` (one static shape, no recompiles): a
forward in eval mode must match eager within 1e-5, and one training step (loss, backward)
must give the same loss and gradients. Inductor on CPU generates and compiles C++, so the
tests skip, saying why, where no C++ compiler is available.
"""

import shutil

import pytest
import torch

from lmbook.models import BERT, GPT, BertConfig, GPTConfig


def _cxx_compiler() -> str | None:
    """The C++ compiler inductor would use (torch's own search), or None when none works."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        return get_cpp_compiler()
    except ImportError:  # an older torch without the helper: the usual compilers on PATH
        return shutil.which("g++") or shutil.which("clang++")
    except Exception:  # torch._inductor.exc.InvalidCxxCompiler: nothing on PATH works
        return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        _cxx_compiler() is None,
        reason="torch.compile's inductor backend needs a C++ compiler on CPU (install g++)",
    ),
]


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    # Compiled graphs are cached per code object; start each test clean so one test's
    # guards cannot make the other reuse or skip a compile.
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def _check_step(model, compiled, step) -> None:
    """One forward + backward, eager then compiled: same outputs, loss and gradients.

    ``step(m)`` returns (outputs, loss). Dropout is 0, so a train-mode forward computes what
    an eval-mode one does; checking outputs and gradients from the same call costs one
    compile per model instead of two (an inference graph and a training graph).
    """
    model.train()
    model.zero_grad(set_to_none=True)
    out_eager, loss_eager = step(model)
    loss_eager.backward()
    eager = _grads(model)
    model.zero_grad(set_to_none=True)
    out_compiled, loss_compiled = step(compiled)
    loss_compiled.backward()
    got = _grads(model)
    for a, b in zip(out_compiled, out_eager, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    torch.testing.assert_close(loss_compiled, loss_eager, atol=1e-5, rtol=1e-5)
    assert got.keys() == eager.keys() and len(got) == len(list(model.parameters()))
    for name in eager:
        torch.testing.assert_close(got[name], eager[name], atol=1e-5, rtol=1e-4, msg=name)


def test_compiled_gpt_matches_eager():
    torch.manual_seed(0)
    model = GPT(GPTConfig.preset("tiny"))  # dropout 0
    compiled = torch.compile(model, dynamic=False)
    ids = torch.randint(0, 97, (3, 17), generator=torch.Generator().manual_seed(0))
    targets = ids.roll(-1, dims=1)

    def step(m):
        logits = m(ids)  # (B, T, V)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return (logits,), loss

    _check_step(model, compiled, step)


def test_compiled_bert_matches_eager():
    torch.manual_seed(0)
    model = BERT(BertConfig.preset("tiny", dropout=0.0, add_nsp_head=True))
    compiled = torch.compile(model, dynamic=False)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 97, (3, 13), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0  # a padded batch: the compiled graph carries the padding mask
    mask[2, 4:] = 0
    types = (torch.arange(13) >= 6).long().expand(3, 13) * mask
    labels = torch.randint(0, 97, (3, 13), generator=g)

    def step(m):
        out = m(ids, attention_mask=mask, token_type_ids=types)
        mlm = model.mlm_logits(out.last_hidden_state)  # heads run eagerly on either output
        nsp = model.nsp_logits(out.pooler_output)
        loss = torch.nn.functional.cross_entropy(
            mlm.flatten(0, 1), labels.flatten()
        ) + torch.nn.functional.cross_entropy(nsp, torch.tensor([0, 1, 0]))
        return (out.last_hidden_state, out.pooler_output), loss

    _check_step(model, compiled, step)
