"""Image classification: the task of every CNN and hybrid in keyarch.

``Classification`` is the plug-in (the dataset and recipe by default, the data in memory
or in loader processes, the model with its recipe's options, the weights' metadata that
``keyarch eval`` and ``predict`` read); ``ClassificationTask`` its objective:
cross-entropy, top-1 and top-5, summed on the training device (no host synchronisation
per step) and read once when they are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from keyarch.data.catalog import SEQUENCE_DATASETS
from keyarch.errors import BadInput
from keyarch.models.base import AuxiliaryOutputs
from keyarch.registry import builder_options, create_model
from keyarch.train.distributed import Context, sum_across
from keyarch.train.evaluate import tta_probabilities
from keyarch.train.recipes import Recipe, default_recipe
from keyarch.train.tasks.base import Task


@dataclass(frozen=True)
class ClassificationTask:
    """Cross-entropy (with label smoothing, and GoogLeNet's weighted auxiliary losses),
    top-1 and top-5 accuracy, as timm and torchvision report them."""

    num_classes: int
    label_smoothing: float = 0.0
    metric_names: tuple[str, ...] = ("loss", "top1", "top5")
    headline: str = "top1"
    evaluated: str = "test"

    def forward(self, network, inputs: torch.Tensor, targets: torch.Tensor):
        return network(inputs)

    def finish(self, network, context: Context) -> dict[str, float]:
        return {}  # every test number is in the last epoch's row

    def epoch_line(self, row: dict[str, float], epochs: int) -> str:
        extra = "".join(
            f", {key.removeprefix('test_top1_')} {value:.4f}"
            for key, value in row.items()
            if key.startswith("test_top1_")
        )
        if "ema_test_top1" in row:  # recipe ema_decay: the weights' moving average
            extra += f", averaged weights top-1 {row['ema_test_top1']:.4f}"
        return (
            f"epoch {row['epoch']}/{epochs}: train loss {row['train_loss']:.4f} top-1 "
            f"{row['train_top1']:.4f}, test loss {row['test_loss']:.4f} top-1 "
            f"{row['test_top1']:.4f} top-5 {row['test_top5']:.4f}{extra}, "
            f"{row['images_per_second']:.0f} img/s"
        )

    def final_line(self, summary: dict[str, object]) -> str:
        return f"test top-1 {summary['test_top1']:.4f}"

    @property
    def top_k(self) -> int:
        return min(5, self.num_classes)

    def loss(self, outputs, targets: torch.Tensor) -> torch.Tensor:
        smoothing = self.label_smoothing
        if not isinstance(outputs, AuxiliaryOutputs):
            return F.cross_entropy(outputs.float(), targets, label_smoothing=smoothing)
        loss = F.cross_entropy(outputs.logits.float(), targets, label_smoothing=smoothing)
        for aux in outputs.aux_logits:
            loss = loss + outputs.aux_weight * F.cross_entropy(
                aux.float(), targets, label_smoothing=smoothing
            )
        return loss

    def new_totals(self, device: torch.device) -> torch.Tensor:
        return torch.zeros(4, dtype=torch.float64, device=device)  # loss, top-1, top-5, count

    def _hits(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(top-1 hits, top-k hits) of a batch, on the device."""
        ranked = logits.topk(self.top_k, dim=1).indices == targets[:, None]
        return torch.stack([ranked[:, 0].sum(), ranked.any(1).sum()])

    def accumulate(self, totals: torch.Tensor, outputs, targets, loss: torch.Tensor) -> None:
        logits = outputs.logits if isinstance(outputs, AuxiliaryOutputs) else outputs
        count = torch.tensor(float(len(targets)), dtype=torch.float64, device=totals.device)
        totals += torch.cat(
            [
                (loss.detach().double() * count)[None],
                self._hits(logits.detach(), targets),
                count[None],
            ]
        )

    def summarise(self, totals: torch.Tensor) -> dict[str, float]:
        loss, top1, top5, count = totals.tolist()
        count = max(count, 1.0)
        return {"loss": loss / count, "top1": top1 / count, "top5": top5 / count}

    @torch.no_grad()
    def evaluate(
        self,
        network,
        batches,
        *,
        crop: int,
        tta: str,
        autocast,
        context: Context,
        device: torch.device,
    ) -> dict[str, float]:
        """Loss, top-1 and top-5 of the centre crop; with ``tta``, top-1 and top-5 of the
        averaged probabilities too (``top1_tencrop`` ...). Summed over all processes."""
        network.eval()
        totals = torch.zeros(6, dtype=torch.float64, device=device)  # + tta top-1, top-5
        for images, targets in batches:
            centre = _centre(images, crop)
            with autocast():
                logits = network(centre).float()
            count = torch.tensor([float(len(targets))], dtype=torch.float64, device=device)
            loss = F.cross_entropy(logits, targets, reduction="sum").double()[None]
            tta_hits = torch.zeros(2, dtype=torch.float64, device=device)
            if tta != "none":
                probabilities = tta_probabilities(network, images, tta, crop, autocast)
                tta_hits = self._hits(probabilities, targets).double()
            totals += torch.cat([loss, self._hits(logits, targets).double(), count, tta_hits])
        loss, top1, top5, count, tta_top1, tta_top5 = sum_across(totals, context).tolist()
        count = max(count, 1.0)
        result = {"loss": loss / count, "top1": top1 / count, "top5": top5 / count}
        if tta != "none":
            result.update({f"top1_{tta}": tta_top1 / count, f"top5_{tta}": tta_top5 / count})
        return result


def _centre(images: torch.Tensor, crop: int) -> torch.Tensor:
    return TF.center_crop(images, [crop, crop])


def create_for_recipe(name: str, recipe: Recipe, **arguments) -> torch.nn.Module:
    """The model with the options its recipe trains it with (Xception's dropout 0.5,
    Inception-v3's auxiliary classifier); an option the model lacks is named."""
    options = dict(recipe.model_options)
    builder = builder_options(name)
    unknown = sorted(set(options) - set(builder))
    if unknown:
        raise BadInput(
            f"recipe {recipe.name} sets model option(s) {', '.join(unknown)}, which {name} "
            f"does not take (it takes {', '.join(sorted(set(builder) - set(arguments)))})"
        )
    return create_model(name, **arguments, **options)


class Classification(Task):
    """An image classifier on an image dataset (``keyarch train NAME``)."""

    name = "classification"

    def plan(self) -> tuple[str, Recipe]:
        config, card = self.config, self.card
        dataset = config.dataset or ("mnist" if card.input_size[0] == 1 else "cifar10")
        if dataset in SEQUENCE_DATASETS:
            raise BadInput(f"--dataset {dataset} holds sequences; {card.name} is an image "
                           "model and trains on image datasets")  # fmt: skip
        recipe = config.recipe or default_recipe(card.family, dataset, config.model)
        if recipe.freeze_encoder_epochs:
            raise BadInput(
                f"freeze_encoder_epochs is a captioning recipe field (keyarch caption train); "
                f"{config.model} trains as a classifier"
            )
        return dataset, recipe

    def input_shape(self) -> tuple[int, ...] | None:
        side = self.config.image_size
        return None if side is None else (self.card.input_size[0], side, side)

    def prepare(self, context: Context, device: torch.device):
        from keyarch.train.data import prepare_data

        self.data = prepare_data(self.config, self.card, self.dataset, self.recipe, context,
                                 device)  # fmt: skip
        return self.data

    def build_model(self) -> torch.nn.Module:
        return create_for_recipe(self.config.model, self.recipe,
                                 num_classes=len(self.data.classes),
                                 in_chans=self.data.channels)  # fmt: skip

    def run_name(self) -> str:
        return f"{self.config.model}-{self.dataset}" + ("-embedded" if self.data.embedded else "")

    def start(self) -> ClassificationTask:
        self.objective = ClassificationTask(len(self.data.classes), self.recipe.label_smoothing)
        return self.objective

    def evaluate(self, network, *, last: bool, autocast, context: Context,
                 device: torch.device) -> dict[str, float]:  # fmt: skip
        """Centre-crop test metrics; on the last epoch the recipe's test-time augmentation
        beside them."""
        return self.objective.evaluate(
            network, self.data.test_batches(), crop=self.data.crop,
            tta=self.recipe.tta if last else "none", autocast=autocast, context=context,
            device=device,
        )  # fmt: skip

    def weights_metadata(self, model: torch.nn.Module) -> dict[str, object]:
        return self.data.weights_metadata(self.config.model, self.recipe.tta)
