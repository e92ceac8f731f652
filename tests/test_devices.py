"""Device and precision: the precision a net resolves to, on every device.

bf16 training and scoring are checked with the net, in test_net.py.
"""

import pytest
from conftest import tiny_net

from sklearn_sganomaly._training import resolve_precision

IMAGE = (1, 32, 32)


pytestmark = pytest.mark.usefixtures("single_thread")


def test_auto_precision_resolves_to_fp32_when_the_net_initializes():
    # "auto" keeps fp32 everywhere, so that a seed gives the same model on any
    # machine; bf16 is opt-in.
    net = tiny_net(IMAGE, precision="auto")
    assert net.precision_ == "fp32"
    assert net.precision == "auto"
    assert tiny_net(IMAGE, precision="bf16").precision_ == "bf16"


def test_auto_precision_is_fp32_on_every_device():
    for device in ("cpu", "cuda", "mps"):
        assert resolve_precision("auto", device) == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"


def test_unknown_precision_is_rejected():
    with pytest.raises(ValueError, match="precision"):
        tiny_net(IMAGE, precision="fp16")
