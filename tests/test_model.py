"""XResNet1D: shapes forward and backward for every registered arch, parameter counts, lengths,
eval-mode determinism."""
from __future__ import annotations

import pytest
import torch

from ecgviz import model as models

N_CLASSES = 5
VARIANTS = [(arch, se, sa) for arch in models.ARCHS for se in (False, True) for sa in (False, True)]

# Counted once by hand from the layer sizes (see test_parameter_count_by_layer) and pinned here:
# xresnet1d50 without SE/SA is the PTB-XL benchmark's 0.95 M model.
PARAMS = {
    ("xresnet1d50", False, False): 953_989,
    ("xresnet1d50", False, True): 1_216_137,
    ("xresnet1d50", True, False): 1_089_413,
    ("xresnet1d50", True, True): 1_351_561,
    ("xresnet1d101", False, False): 1_872_261,
    ("xresnet1d101", False, True): 2_134_409,
    ("xresnet1d101", True, False): 2_151_573,
    ("xresnet1d101", True, True): 2_413_721,
}


def test_registry_is_what_the_counts_cover():
    assert set(models.ARCHS) == {"xresnet1d50", "xresnet1d101"}
    assert models.DEFAULT_ARCH in models.ARCHS
    assert set(PARAMS) == set(VARIANTS)


@pytest.mark.parametrize("arch,se,sa", VARIANTS)
def test_forward_backward_shapes(arch, se, sa):
    torch.manual_seed(0)
    net = models.build(arch, N_CLASSES, se=se, sa=sa).train()
    x = torch.randn(2, 12, 250, requires_grad=True)
    out = net(x)
    assert out.shape == (2, N_CLASSES)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    out.square().sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape and x.grad.abs().sum() > 0
    for name, p in net.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert p.grad.shape == p.shape, name


@pytest.mark.parametrize("arch,se,sa", VARIANTS)
def test_parameter_counts(arch, se, sa):
    assert models.n_parameters(models.build(arch, N_CLASSES, se=se, sa=sa)) == PARAMS[arch, se, sa]


def test_parameter_count_by_layer():
    """The pinned counts follow from the benchmark's layer sizes, worked out term by term."""

    def conv_bn(ci, co, k):  # conv without bias + batch norm (weight, bias)
        return ci * co * k + 2 * co

    stem = conv_bn(12, 32, 5) + conv_bn(32, 32, 5) + conv_bn(32, 64, 5)

    def bottleneck(ni, downsample):  # 1x1 -> k5 -> 1x1 (x4), shortcut conv when channels change
        body = conv_bn(ni, 64, 1) + conv_bn(64, 64, 5) + conv_bn(64, 256, 1)
        return body + (conv_bn(ni, 256, 1) if downsample else 0)

    def trunk(depths):
        total, ni = 0, 16  # first block reads the stem's 64 channels (= 16 * expansion)
        for depth in depths:
            for b in range(depth):
                total += bottleneck(ni * 4, downsample=(ni * 4 != 256))
                ni = 64
        return total

    head = 2 * 512 + 512 * 128 + 128 + 2 * 128 + 128 * 5 + 5
    se_block = (256 * 16 + 16) + (16 * 256 + 256)  # squeeze 256 -> 16 -> 256, 1x1 convs with bias
    sa_block = 256 * 256 + 1                       # fastai SimpleSelfAttention: 1x1 conv + gamma
    for arch, depths in models.ARCHS.items():
        blocks, stages = sum(depths), len(depths)
        base = stem + trunk(depths) + head
        assert PARAMS[arch, False, False] == base
        assert PARAMS[arch, True, False] == base + blocks * se_block
        assert PARAMS[arch, False, True] == base + stages * sa_block  # last block of each stage
        assert PARAMS[arch, True, True] == base + blocks * se_block + stages * sa_block


@pytest.mark.parametrize("length", [250, 251, 377, 1000])
def test_any_length_from_250(length):
    net = models.build(models.DEFAULT_ARCH, N_CLASSES).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 12, length)).shape == (2, N_CLASSES)


def test_eval_mode_is_deterministic_and_train_mode_is_not():
    torch.manual_seed(0)
    net = models.build(models.DEFAULT_ARCH, N_CLASSES)
    x = torch.randn(4, 12, 250)
    with torch.no_grad():
        net.train()
        assert not torch.equal(net(x), net(x))  # dropout in the head
        net.eval()
        first = net(x)
        assert torch.equal(first, net(x))
        # batch norm uses running statistics: a record's output does not depend on its batch
        torch.testing.assert_close(net(x[:1]), first[:1], rtol=1e-5, atol=1e-6)


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown architecture 'resnet9'.*xresnet1d50"):
        models.build("resnet9", N_CLASSES)
