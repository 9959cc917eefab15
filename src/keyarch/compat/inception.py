"""torchvision's Inception-v3 to keyarch's: both keep the layer names of the authors'
released TensorFlow model (Conv2d_1a_3x3, Mixed_5b, AuxLogits ...), so the table maps each
top-level layer to itself. As with GoogLeNet, torchvision's pretrained weights expect
``transform_input=True`` inputs (normalised to [-1, 1])."""

LAYERS = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
          "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
          "Mixed_6e", "AuxLogits", "Mixed_7a", "Mixed_7b", "Mixed_7c", "fc")  # fmt: skip

TORCHVISION: dict[str, dict[str, str]] = {"inception_v3": {name: name for name in LAYERS}}
