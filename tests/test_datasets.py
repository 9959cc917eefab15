"""Every dataset format, on small fixture files the tests write, and the local copies."""

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from keyarch.data import formats
from keyarch.data.datasets import load_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_manifest(folder: Path) -> None:
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}"
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "SHA256SUMS"
    ]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")


@pytest.fixture
def mnist_fixture(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 30), ("t10k", 10)):
        images = rng.integers(0, 256, (count, 28, 28))
        labels = np.arange(count) % 10
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    write_manifest(folder)
    return tmp_path


def test_idx_files_read_back_exactly(tmp_path):
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(idx_bytes(array))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(idx_bytes(array)))
    for name in ("a.idx", "a.idx.gz"):
        assert torch.equal(
            formats.read_idx(tmp_path / name), torch.from_numpy(array.astype(np.uint8))
        )


def test_truncated_and_foreign_idx_files_are_named(tmp_path):
    data = idx_bytes(np.zeros((4, 5, 5)))
    (tmp_path / "short.idx").write_bytes(data[:-7])
    with pytest.raises(ValueError, match=r"short.idx is truncated or padded"):
        formats.read_idx(tmp_path / "short.idx")
    (tmp_path / "png.idx").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError, match="png.idx is not an IDX file"):
        formats.read_idx(tmp_path / "png.idx")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(data)[:-10])
    with pytest.raises(ValueError, match="cut.gz is truncated or corrupt"):
        formats.read_idx(tmp_path / "cut.gz")


def test_mnist_fixture_loads_with_its_manifest(mnist_fixture):
    train = load_dataset("mnist", "train", mnist_fixture, download=False)
    assert len(train) == 30 and train.images.shape == (30, 1, 28, 28)
    assert train[3][1] == 3 and train.classes[3] == "3"
    assert "verified against" in train.provenance and "SHA256SUMS" in train.provenance


def test_a_file_that_does_not_match_its_manifest_is_refused(mnist_fixture):
    path = mnist_fixture / "mnist" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.ones(10))))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz does not match the manifest"):
        load_dataset("mnist", "test", mnist_fixture, download=False)


def test_without_a_manifest_the_official_checksums_apply(mnist_fixture):
    (mnist_fixture / "mnist" / "SHA256SUMS").unlink()
    with pytest.raises(ValueError, match="does not match the official MD5"):
        load_dataset("mnist", "train", mnist_fixture, download=False)


def test_missing_dataset_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYARCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("KEYARCH_DATA", raising=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"Fashion-MNIST not found in .*empty.*--data-dir"):
        load_dataset("fashion-mnist", "train", tmp_path / "empty", download=False)
    # a --data-dir that is not there is a typo: refused, not searched past
    with pytest.raises(FileNotFoundError, match=r"--data-dir .*nowhere: no such folder"):
        load_dataset("fashion-mnist", "train", tmp_path / "nowhere", download=False)


def test_embedded_subset_stands_in_when_allowed(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYARCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("KEYARCH_DATA", raising=False)
    test = load_dataset("mnist", "test", tmp_path, download=False, allow_embedded=True)
    assert len(test) == 2000 and "embedded subset" in test.provenance
    assert torch.bincount(test.labels, minlength=10).min() > 150  # every digit is there


def _cifar_archive(folder: Path, name: str, members: dict[str, bytes]) -> None:
    folder.mkdir(parents=True)
    with tarfile.open(folder / name, "w:gz") as tar:
        for member, data in members.items():
            info = tarfile.TarInfo(f"{name.split('.')[0]}/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    write_manifest(folder)


def _records(labels: list[list[int]]) -> bytes:
    return b"".join(bytes(ls) + bytes([i % 256] * 3072) for i, ls in enumerate(labels))


def test_cifar10_binary_archive_is_read_without_unpickling(tmp_path):
    members = {f"data_batch_{i}.bin": _records([[i]] * 4) for i in range(1, 6)}
    members["test_batch.bin"] = _records([[9], [8]])
    _cifar_archive(tmp_path / "cifar10", "cifar-10-binary.tar.gz", members)
    train = load_dataset("cifar10", "train", tmp_path, download=False)
    test = load_dataset("cifar10", "test", tmp_path, download=False)
    assert train.images.shape == (20, 3, 32, 32) and train.labels.tolist()[:5] == [1, 1, 1, 1, 2]
    assert test.labels.tolist() == [9, 8] and test.classes[9] == "truck"
    assert int(test.images[1, 0, 0, 0]) == 1  # the second record's pixels


def test_cifar100_uses_the_fine_label(tmp_path):
    members = {"train.bin": _records([[3, 42], [5, 77]]), "test.bin": _records([[1, 99]])}
    _cifar_archive(tmp_path / "cifar100", "cifar-100-binary.tar.gz", members)
    assert load_dataset("cifar100", "train", tmp_path, download=False).labels.tolist() == [42, 77]
    assert len(load_dataset("cifar100", "test", tmp_path, download=False).classes) == 100


def test_truncated_cifar_records_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"data_batch_1.bin is truncated or corrupt"):
        formats.parse_cifar_records(_records([[1]])[:-5], 1, "data_batch_1.bin")


def _image_tree(root: Path, size: int = 8) -> None:
    for split, per_class in (("train", 3), ("test", 2)):
        for label, colour in (("cat", (200, 0, 0)), ("dog", (0, 0, 200))):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(per_class):
                Image.new("RGB", (size, size), colour).save(folder / f"{i}.png")


def test_image_folder_is_decoded_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYARCH_CACHE", str(tmp_path / "cache"))
    _image_tree(tmp_path / "pets")
    first = load_dataset("folder", "train", tmp_path / "pets")
    assert first.classes == ("cat", "dog") and first.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert first.images[0, :, 0, 0].tolist() == [200, 0, 0]
    assert "decoded once and cached" in first.provenance
    second = load_dataset("folder", "train", tmp_path / "pets")
    assert "decoded cache" in second.provenance and torch.equal(first.images, second.images)


def test_large_images_are_read_on_demand(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYARCH_CACHE", str(tmp_path / "cache"))
    _image_tree(tmp_path / "big", size=80)
    test = load_dataset("folder", "test", tmp_path / "big")
    assert test.images is None and "read on demand" in test.provenance
    image, label = test[3]
    assert image.shape == (3, 80, 80) and label == 1


def test_a_corrupt_image_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYARCH_CACHE", str(tmp_path / "cache"))
    _image_tree(tmp_path / "pets")
    (tmp_path / "pets" / "train" / "dog" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(ValueError, match=r"dog/1.png is not a readable image"):
        load_dataset("folder", "train", tmp_path / "pets")


def test_folder_dataset_without_a_test_split_says_the_layout(tmp_path):
    (tmp_path / "only" / "train" / "a").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="has no test or val or validation folder"):
        load_dataset("folder", "test", tmp_path / "only")


@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="needs ../shared/datasets")
def test_shared_mnist_is_verified_against_its_manifest():
    test = load_dataset("mnist", "test", SHARED, download=False)
    assert len(test) == 10_000
    assert torch.bincount(test.labels).tolist()[:3] == [980, 1135, 1032]
    assert f"verified against {SHARED / 'mnist' / 'SHA256SUMS'}" in test.provenance


@pytest.fixture
def file_server(tmp_path):
    """A local HTTP server over a folder, standing in for a dataset mirror."""
    import functools
    import http.server
    import threading

    root = tmp_path / "mirror"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_keeps_only_files_that_match_their_md5(tmp_path, file_server, monkeypatch):
    from keyarch.data import sources

    monkeypatch.setenv("KEYARCH_CACHE", str(tmp_path / "cache"))
    root, url = file_server
    (root / "good.bin").write_bytes(b"the real bytes")
    (root / "bad.bin").write_bytes(b"tampered bytes")
    good_md5 = hashlib.md5(b"the real bytes").hexdigest()
    source = sources.Source("Toy", ("toy",), {"good.bin": good_md5}, (url,))
    folder = sources.download(source, timeout=5)
    assert (folder / "good.bin").read_bytes() == b"the real bytes"
    assert sources.verify(folder, source) == "verified against the official MD5 checksums"

    bad = sources.Source("Toy", ("toy2",), {"bad.bin": good_md5}, (url,))
    with pytest.raises(ConnectionError, match="could not download bad.bin"):
        sources.download(bad, timeout=5)
    assert not (tmp_path / "cache" / "datasets" / "toy2" / "bad.bin").exists()
