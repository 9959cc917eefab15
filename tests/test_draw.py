"""keyarch draw: every model's block diagram, with the paper's names, repeated blocks
collapsed with their counts and the shapes between them; the command's refusals."""

import re

import pytest
import torch

import keyarch
from conftest import cli_status as status
from keyarch.analysis.diagram import architecture_diagram
from keyarch.analysis.draw import save_diagram


def diagram_of(name: str, **options):
    with torch.device("meta"):
        model = keyarch.create_model(name)
    return architecture_diagram(model, **options)


@pytest.mark.parametrize("name", keyarch.list_models(task="image-classification"))
def test_every_model_draws_to_svg_naming_the_model_and_its_blocks(name, tmp_path):
    with torch.device("meta"):
        model = keyarch.create_model(name)
    diagram = architecture_diagram(model, macs=False)
    path = save_diagram(diagram, tmp_path / f"{name}.svg")
    svg = path.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and f"{name}: " in svg
    for box in diagram.boxes:  # the names are text, not paths: a reader can search them
        assert box.label in svg, f"{name}: box {box.label!r} is not in the drawing"
    assert diagram.boxes[0].out_shape == tuple(keyarch.model_card(name).input_size)
    assert diagram.boxes[-1].out_shape == (model.num_classes,)
    assert len(diagram.boxes) <= 25, f"{name}: {len(diagram.boxes)} boxes are too many to read"


def test_resnet50_collapses_its_stages_into_3_4_6_3_bottlenecks():
    diagram = diagram_of("resnet50", macs=False)
    stages = ("conv2_x", "conv3_x", "conv4_x", "conv5_x")
    assert [diagram.box(stage).count for stage in stages] == [3, 4, 6, 3]
    assert diagram.box("conv3_x").title == "conv3_x  \u00b7  Bottleneck \u00d7 4"
    assert diagram.box("conv3_x").out_shape == (512, 28, 28)
    assert diagram.box("conv3_x").detail.startswith("first block /2;  1x1 128")


def test_xception_draws_the_middle_flow_as_one_block_repeated_8_times():
    diagram = diagram_of("xception", macs=False)
    middle = diagram.box("block4 \u2013 block11")
    assert (middle.count, middle.band, middle.out_shape) == (8, "middle_flow", (728, 19, 19))
    assert diagram.box("block1").band == "entry_flow"
    assert diagram.box("block12").band == "exit_flow"


def test_densenet121_dense_blocks_hold_6_12_24_16_layers():
    diagram = diagram_of("densenet121", macs=False)
    details = [diagram.box(f"denseblock{i}").detail for i in range(1, 5)]
    layers = [int(re.match(r"(\d+) \u00d7 DenseLayer", detail)[1]) for detail in details]
    assert layers == [6, 12, 24, 16]
    assert diagram.box("transition1").out_shape == (128, 28, 28)


def test_googlenet_shows_every_inception_module_with_its_four_branches():
    diagram = diagram_of("googlenet", macs=False)
    names = [f"inception{n}" for n in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")]
    for name in names:
        assert len(diagram.box(name).branches) == 4
    assert diagram.box("inception3a").branches[0] == "1x1 64"
    assert diagram.box("inception3a").out_shape == (256, 28, 28)
    assert diagram.box("inception5b").out_shape == (1024, 7, 7)


def test_nasnet_a_mobile_draws_stacks_of_4_normal_cells_between_reduction_cells():
    diagram = diagram_of("nasnet_a_mobile", macs=False)
    terms = [(box.term, box.count) for box in diagram.boxes if "cell" in box.term]
    normal, reduction = ("Normal cell", 4), ("Reduction cell", 1)
    assert terms == [reduction, reduction, normal, reduction, normal, reduction, normal]


def test_alexnet_two_tower_draws_two_towers_that_connect_at_conv3_and_fc6():
    diagram = diagram_of("alexnet_two_tower", macs=False)
    towers = {box.label: (box.lanes, box.cross) for box in diagram.boxes}
    assert towers["conv2"] == (2, False) and towers["conv3"] == (2, True)
    assert towers["conv4"] == (2, False) and towers["fc6"] == (1, True)
    assert diagram.box("conv2").term == "conv 5x5, 128"  # per tower: 256 in all
    assert diagram_of("alexnet", macs=False).box("conv2").lanes == 1


def test_lenet5_draws_the_papers_layers_c1_to_f6():
    diagram = diagram_of("lenet5", macs=False)
    labels = [box.label for box in diagram.boxes]
    assert labels == ["input", "C1", "S2", "C3", "S4", "C5", "F6", "output"]
    assert diagram.box("C3").out_shape == (16, 10, 10)


def test_repeated_blocks_are_collapsed_as_the_papers_tables_count_them():
    inception_v4 = diagram_of("inception_v4", macs=False)
    assert [inception_v4.box(f"inception_{x}").count for x in "abc"] == [4, 7, 3]
    mobilenet = diagram_of("mobilenet_v1_100", macs=False)  # Table 1: "5x" at 14x14x512
    assert mobilenet.box("separable7 \u2013 separable11").count == 5
    vgg = diagram_of("vgg16", macs=False).box("conv5_1 \u2013 conv5_3")
    assert vgg.title == "conv5_1 \u2013 conv5_3  \u00b7  [conv 3x3, 512] \u00d7 3"


def test_draw_writes_png_and_svg_and_names_the_file(tmp_path, capsys):
    for suffix in (".svg", ".png"):
        path = tmp_path / f"resnet20{suffix}"
        code, out, err = status(capsys, ["draw", "resnet20", "-o", str(path)])
        assert code == 0 and err == "" and str(path) in out and out.count("\n") == 1
        assert path.stat().st_size > 1000
    assert (tmp_path / "resnet20.png").read_bytes()[:4] == b"\x89PNG"


def test_draw_takes_another_input_size(tmp_path, capsys):
    path = tmp_path / "r.svg"
    argv = ["draw", "resnet50", "-o", str(path), "--input-size", "3,160,160"]
    code, out, _ = status(capsys, argv)
    assert code == 0 and "3x160x160" in out
    assert "2048 \u00d7 5 \u00d7 5" in path.read_text(encoding="utf-8")


def test_draw_refuses_what_it_cannot_do_in_one_line(tmp_path, capsys):
    taken = tmp_path / "taken.svg"
    taken.write_text("keep me")
    for argv, message in (
        (["draw", "resnet20", "-o", str(taken)], "exists; keyarch does not overwrite"),
        (
            ["draw", "resnet20", "-o", str(tmp_path / "m.pdf")],
            f"-o {tmp_path / 'm.pdf'}: expected a file ending in .svg or .png",
        ),
        (["draw", "no_such_model", "-o", str(tmp_path / "m.svg")], "no_such_model"),
        (["draw", "resnet20", "-o", str(tmp_path / "no" / "m.svg")], "does not exist"),
    ):
        code, out, err = status(capsys, argv)
        assert code == 2 and out == "" and message in err and err.count("\n") == 1, err
        assert err.startswith("keyarch: error: ")
    assert taken.read_text() == "keep me"
    assert not (tmp_path / "m.pdf").exists()


@pytest.mark.parametrize("name", keyarch.list_models(task="image-classification"))
def test_every_box_carries_its_operations_and_they_add_up_to_the_model(name):
    with torch.device("meta"):
        model = keyarch.create_model(name)
        diagram = architecture_diagram(model)
    assert sum(box.macs for box in diagram.boxes) == diagram.macs


def test_towers_show_their_parameters_and_blocks_their_connections():
    with torch.device("meta"):
        alexnet = architecture_diagram(keyarch.create_model("alexnet_two_tower"))
        resnet = architecture_diagram(keyarch.create_model("resnet50"))
        densenet = architecture_diagram(keyarch.create_model("densenet121"))
    conv1 = alexnet.box("conv1")
    assert conv1.lanes == 2 and conv1.parameters == 96 * 3 * 11 * 11 + 96
    assert resnet.box("conv2_x").bypass == "residual" and resnet.box("fc").bypass == ""
    assert densenet.box("denseblock1").bypass == "dense"
    assert densenet.box("transition1").bypass == ""


def test_an_inverted_residual_adds_its_input_only_where_its_shape_stays():
    with torch.device("meta"):
        diagram = architecture_diagram(keyarch.create_model("mobilevit_xs"))
    assert diagram.box("layer1").bypass == ""  # 16 -> 32 channels: no shortcut
    layer2 = diagram.box("layer2")  # /2 first, then two that keep the shape
    assert layer2.bypass == "residual" and not layer2.bypass_every
    assert diagram.box("layer3.0").bypass == ""  # /2
