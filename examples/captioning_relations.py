"""Why a captioner gets relations wrong: the axis against the direction, and how much the
encoder's pooled features move when the two shapes swap places.

    python examples/captioning_relations.py --weights runs/captions/model.safetensors \
        --captions eval-test.json --out relations.json

``--captions``: the JSON ``keyarch caption eval --split test --out`` wrote for the same
weights. Prints and writes (1) for the two-thing test scenes of each axis, how often the
caption states a relation of the right axis (left/right, above/below) and, given that, the
right direction; (2) over the test images of a left/right scene, how far the encoder's
pooled features move (relative to their norm) when the image is mirrored, flipped upside
down, or replaced by another image, for the ImageNet encoder and the trained one. The
figures of docs/captioning.md come from this script (docs/captioning/results/relations.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

AXIS = {"left of": "left/right", "right of": "left/right", "above": "above/below",
        "below": "above/below"}  # fmt: skip


def axis_and_direction(captions: list[str], scenes) -> dict[str, dict[str, float]]:
    from keyarch.metrics.scenes import read_caption, score_caption

    result = {}
    for axis in ("left/right", "above/below"):
        chosen = [(c, s) for c, s in zip(captions, scenes, strict=True)
                  if len(s.things) == 2 and AXIS[s.relation] == axis]  # fmt: skip
        on_axis = right = 0
        for caption, scene in chosen:
            reading = read_caption(caption)
            if reading.relation is None or len(reading.mentions) != 2:
                continue
            on_axis += AXIS[reading.relation] == axis
            right += score_caption(scene, caption)["relation_right"]
        result[axis] = {"scenes": len(chosen), "axis_right": on_axis / len(chosen),
                        "relation_right": right / len(chosen),
                        "direction_right_given_axis": right / max(on_axis, 1)}  # fmt: skip
    return result


def feature_movement(encoders: dict, images: torch.Tensor) -> dict[str, dict[str, float]]:
    def moved(a, b):
        return float(((a - b).norm(dim=1) / a.norm(dim=1)).mean())

    result = {}
    with torch.no_grad():
        for name, encoder in encoders.items():
            features = encoder.eval()(images)
            result[name] = {
                "mirrored": moved(features, encoder(images.flip(-1))),
                "upside_down": moved(features, encoder(images.flip(-2))),
                "another_image": moved(features, features.roll(1, 0)),
            }
    return result


def main() -> None:
    from keyarch import create_model
    from keyarch.data.captions import normalise
    from keyarch.data.images import IMAGENET_MEAN, IMAGENET_STD
    from keyarch.data.synthetic_captions import SyntheticCaptions
    from keyarch.train.trained_captioner import load_captioner

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--captions", required=True, help="keyarch caption eval --out's JSON")
    parser.add_argument("--images", type=int, default=300, help="test images for (2)")
    parser.add_argument("--out", help="write the figures to this JSON file")
    args = parser.parse_args()
    model, _, metadata = load_captioner(args.weights)
    evaluated = json.loads(Path(args.captions).read_text())
    size = int(metadata["image_size"])
    scenes = SyntheticCaptions("test", size=32, count=evaluated["images"]).scenes
    result = {"axis_and_direction": axis_and_direction(
        [c["generated"] for c in evaluated["captions"]], scenes)}  # fmt: skip
    data = SyntheticCaptions("test", size=size, count=args.images)
    horizontal = torch.tensor([s.relation in ("left of", "right of") for s in data.scenes])
    images = normalise(data.images[horizontal], IMAGENET_MEAN, IMAGENET_STD)
    encoders = {"trained": model.encoder}
    if metadata["captioner"].get("pretrained_encoder"):  # the model was rebuilt without
        encoders["imagenet"] = create_model(model.config.encoder, num_classes=0, pretrained=True)
    result["feature_movement"] = feature_movement(encoders, images)
    result["feature_movement_images"] = int(horizontal.sum())
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
