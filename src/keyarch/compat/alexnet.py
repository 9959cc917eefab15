"""torchvision's AlexNet (features.N / classifier.N) to keyarch's conv1..conv5, fc6..fc8."""

TORCHVISION: dict[str, dict[str, str]] = {
    "alexnet": {
        "features.0": "features.conv1",
        "features.3": "features.conv2",
        "features.6": "features.conv3",
        "features.8": "features.conv4",
        "features.10": "features.conv5",
        "classifier.1": "classifier.fc6",
        "classifier.4": "classifier.fc7",
        "classifier.6": "classifier.fc8",
    },
}
