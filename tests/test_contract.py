"""The model interface, checked on every registered model: what timm users expect of a
classifier (``num_features``, ``forward_head(..., pre_logits=True)``, ``num_classes=0``,
``reset_classifier``), tracing by torch.fx and torchvision's feature extraction, and
TorchScript's documented refusal (ONNX, torch.export and torch.compile: tests/test_export.py).

Shapes are checked on the meta device (no memory, no initialisation); values on the CPU for
the models of MNIST and CIFAR size, and for every model in the slow tests.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import pytest
import torch
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

import keyarch
from keyarch.models.base import AuxiliaryOutputs

MODELS = keyarch.list_models(task="image-classification")
# Models of MNIST or CIFAR size: cheap enough to run with real weights in the default suite.
SMALL_MODELS = [name for name in MODELS if keyarch.model_card(name).input_size[1] <= 32]
# The paper's LeNet-5 ends in fixed RBF prototypes of the ten digits: no other head.
FIXED_HEAD = "lenet5"


@contextlib.contextmanager
def training(model: nn.Module, mode: bool) -> Iterator[nn.Module]:
    """``model`` in training (``mode=True``) or evaluation mode, restored afterwards, so
    that the session's shared meta models keep their mode."""
    before = model.training
    model.train(mode)
    try:
        yield model
    finally:
        model.train(before)


def meta_batch(model: nn.Module, batch: int = 2) -> torch.Tensor:
    return torch.empty(batch, *model.card.input_size, device="meta")


def small_batch(model: nn.Module, batch: int = 2) -> torch.Tensor:
    """Random images of the smallest size the model takes (at least 32 pixels)."""
    size = max(model.min_input_size, 32)
    return torch.randn(batch, model.in_chans, size, size)


def logits_of(output: torch.Tensor | AuxiliaryOutputs) -> torch.Tensor:
    return output.logits if isinstance(output, AuxiliaryOutputs) else output


@pytest.mark.parametrize("name", MODELS)
def test_create_model_sets_the_registered_name(name, meta_models):
    assert meta_models[name].model_name == name


@pytest.mark.parametrize("name", MODELS)
def test_num_features_is_the_channel_count_of_the_feature_map(name, meta_models):
    model = meta_models[name]
    features = model.forward_features(meta_batch(model))
    assert features.ndim == 4
    assert features.shape[1] == model.num_features


@pytest.mark.parametrize("name", MODELS)
def test_pre_logits_are_what_the_last_layer_takes(name, meta_models):
    model = meta_models[name]
    with training(model, False):
        features = model.forward_features(meta_batch(model))
        pre_logits = model.forward_head(features, pre_logits=True)
        logits = model.forward_head(features)
    assert pre_logits.shape == (2, model.head_hidden_size)
    assert model.get_classifier()(pre_logits).shape == logits.shape == (2, model.num_classes)
    if isinstance(model.get_classifier(), nn.Linear):
        assert model.get_classifier().in_features == model.head_hidden_size


@pytest.mark.parametrize("name", MODELS)
def test_num_classes_zero_builds_a_feature_extractor(name):
    if name == FIXED_HEAD:
        with pytest.raises(ValueError, match=r"lenet5: .*num_classes must be 10.*pre_logits=True"):
            keyarch.create_model(name, num_classes=0)
        return
    with torch.device("meta"):
        model = keyarch.create_model(name, num_classes=0)
    x = meta_batch(model)
    assert isinstance(model.get_classifier(), nn.Identity)
    assert model.num_classes == 0
    for mode in (False, True):  # no auxiliary logits in training either
        with training(model, mode):
            out = model(x)
        assert isinstance(out, torch.Tensor)
        assert out.shape == (2, model.head_hidden_size)


@pytest.mark.parametrize("name", MODELS)
def test_reset_classifier_makes_a_fresh_linear_or_removes_it(name):
    with torch.device("meta"):
        model = keyarch.create_model(name)
    x = meta_batch(model)
    if name == FIXED_HEAD:
        for num_classes in (7, 0):
            with pytest.raises(ValueError, match=r"lenet5: .*fixed bitmaps.*pre_logits=True"):
                model.reset_classifier(num_classes)
        return
    old = model.get_classifier()
    model.reset_classifier(7)
    new = model.get_classifier()
    assert new is not old
    assert isinstance(new, nn.Linear)
    assert (new.in_features, new.out_features) == (model.head_hidden_size, 7)
    with training(model, True):
        out = model(x)
    assert logits_of(out).shape == (2, 7)
    for aux_logits in getattr(out, "aux_logits", ()):  # auxiliary heads follow the reset
        assert aux_logits.shape == (2, 7)
    model.reset_classifier(0)
    assert isinstance(model.get_classifier(), nn.Identity)
    with training(model, True):
        assert model(x).shape == (2, model.head_hidden_size)
    model.reset_classifier(3)
    assert model.eval()(x).shape == (2, 3)


@pytest.mark.parametrize("name", MODELS)
def test_bad_numbers_of_classes_are_refused_naming_the_model(name, meta_models):
    model = meta_models[name]
    with pytest.raises(ValueError, match=rf"{name}: num_classes must be an int >= 0.*got -1"):
        model.reset_classifier(-1)
    for wrong in (2.5, "10", True):
        with pytest.raises(TypeError, match=rf"{name}: num_classes must be an int >= 0"):
            model.reset_classifier(wrong)
    with pytest.raises(ValueError, match=rf"{name}: num_classes must be an int >= 0.*got -3"):
        keyarch.create_model(name, num_classes=-3)


@pytest.mark.parametrize("name", MODELS)
def test_torch_fx_traces_the_model_in_evaluation_and_training(name, meta_models):
    model = meta_models[name]
    x = meta_batch(model)
    for mode in (False, True):
        with training(model, mode):
            traced = torch.fx.symbolic_trace(model)
            expected, out = model(x), traced(x)
        assert type(out) is type(expected)
        assert logits_of(out).shape == logits_of(expected).shape


@pytest.mark.parametrize("name", MODELS)
def test_torchvision_feature_extractor_returns_the_logits(name, meta_models):
    model = meta_models[name]
    with training(model, False):
        extractor = create_feature_extractor(
            model, {model.classifier_name: "logits"}, suppress_diff_warning=True
        )
        assert extractor(meta_batch(model))["logits"].shape == (2, model.num_classes)


@pytest.mark.parametrize("name", MODELS)
def test_torch_jit_script_is_refused_with_what_to_use_instead(name, meta_models):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script is deprecated
        with pytest.raises(TypeError, match=rf"{name}: torch.jit.script is not supported.*"
                           "torch.jit.trace, torch.export.export"):  # fmt: skip
            torch.jit.script(meta_models[name])


def check_outputs_agree(name: str, size: str) -> None:
    """With real weights: torch.fx, the feature extractor and torch.jit.trace give the
    model's logits, and a ``num_classes=0`` twin with the same weights gives its pre-logits."""
    torch.manual_seed(0)
    model = keyarch.create_model(name).eval()
    x = small_batch(model) if size == "small" else torch.randn(2, *model.card.input_size)
    extractor = create_feature_extractor(
        model, {model.classifier_name: "logits"}, suppress_diff_warning=True
    ).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.trace is deprecated
        logits = model(x)
        pre_logits = model.forward_head(model.forward_features(x), pre_logits=True)
        torch.testing.assert_close(torch.fx.symbolic_trace(model)(x), logits, rtol=0, atol=0)
        torch.testing.assert_close(extractor(x)["logits"], logits, rtol=0, atol=0)
        traced = torch.jit.trace(model, x, check_trace=False)  # compared here instead
        torch.testing.assert_close(traced(x), logits)
    torch.testing.assert_close(model.get_classifier()(pre_logits), logits)
    if name == FIXED_HEAD:
        return
    twin = keyarch.create_model(name, num_classes=0).eval()
    # The classifiers' weights (auxiliary ones too) are left over; nothing may be missing.
    assert not twin.load_state_dict(model.state_dict(), strict=False).missing_keys
    with torch.no_grad():
        torch.testing.assert_close(twin(x), pre_logits)


@pytest.mark.parametrize("name", SMALL_MODELS)
def test_traced_exported_and_headless_outputs_agree_with_the_model(name):
    check_outputs_agree(name, "small")


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_traced_exported_and_headless_outputs_agree_at_full_size(name):
    check_outputs_agree(name, "default")


def test_pre_logits_are_taken_after_the_dropout_before_the_classifier():
    torch.manual_seed(0)
    model = keyarch.create_model("googlenet")  # dropout 0.2 after pooling
    features = torch.rand(4, model.num_features, 7, 7) + 0.1  # no pooled value is zero
    with torch.no_grad():
        dropped = model.train().forward_head(features, pre_logits=True)
        kept = model.eval().forward_head(features, pre_logits=True)
    assert (kept != 0).all()
    assert 0.1 < (dropped == 0).float().mean() < 0.3


def test_lenet5_pre_logits_are_the_84_outputs_of_f6():
    model = keyarch.create_model("lenet5").eval()
    features = model.forward_features(torch.randn(2, 1, 32, 32))
    pre_logits = model.forward_head(features, pre_logits=True)
    assert pre_logits.shape == (2, 84)
    torch.testing.assert_close(pre_logits, model.F6_act(model.F6(features.flatten(1))))


def test_auxiliary_classifiers_are_dropped_without_classes():
    with torch.device("meta"):
        model = keyarch.create_model("googlenet_paper", num_classes=0)
        reset = keyarch.create_model("inception_v3", aux_logits=True)
    reset.reset_classifier(0)
    assert model.aux1 is None and model.aux2 is None
    assert reset.AuxLogits is None


def test_memory_efficient_densenet_traces_by_the_plain_path():
    with torch.device("meta"):
        model = keyarch.create_model("densenet_bc_100", memory_efficient=True)
    traced = torch.fx.symbolic_trace(model)  # checkpointing needs real tensors: fx skips it
    assert traced(meta_batch(model)).shape == (2, 10)
