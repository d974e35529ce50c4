"""gan3d_tf.datasets offline: a ModelNet-layout zip of meshes served from 127.0.0.1, downloaded, voxelized, cached."""

import functools
import http.server
import threading
import zipfile

import numpy as np
import pytest
import trimesh

import evaluate
import train
from conftest import TINY_MODEL_FLAGS
from gan3d_tf import datasets
from gan3d_tf.data.voxel_npz import MODELNET10_CLASSES


class Server:
    """An HTTP server on 127.0.0.1 serving one folder; `requests` lists the paths asked for."""

    def __init__(self, folder):
        self.requests = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=folder))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def box_off(extents) -> str:
    """An axis-aligned box mesh as OFF text."""
    return trimesh.exchange.off.export_off(trimesh.creation.box(extents=extents))


def modelnet10_zip(path, per_split=(2, 1)):
    """A ModelNet10-layout zip: ModelNet10/<class>/{train,test}/<class>_NNNN.off boxes, class i taller than wide
    by a factor that grows with i, plus macOS junk entries the loader must skip. Returns the boxes' extents."""
    extents = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for label, name in enumerate(MODELNET10_CLASSES):
            k = 1
            for split, n in zip(("train", "test"), per_split):
                for _ in range(n):
                    e = (1.0, 0.5 + 0.05 * label, 0.25 + 0.1 * label)
                    z.writestr(f"ModelNet10/{name}/{split}/{name}_{k:04d}.off", box_off(e))
                    extents[(name, split, k)] = e
                    k += 1
        z.writestr("__MACOSX/ModelNet10/chair/train/._chair_0001.off", b"\x00\x05\x16\x07junk")
    return extents


@pytest.fixture
def mirror(tmp_path):
    folder = tmp_path / "mirror"
    folder.mkdir()
    modelnet10_zip(folder / "ModelNet10.zip")
    with Server(str(folder)) as server:
        yield server


@pytest.mark.slow
def test_load_modelnet10_downloads_voxelizes_and_caches(mirror, tmp_path):
    cache = tmp_path / "keras"
    (x_train, y_train), (x_test, y_test) = datasets.load_modelnet10(32, cache_dir=cache, base_url=mirror.url, workers=1)
    assert mirror.requests == ["/ModelNet10.zip"]
    assert x_train.shape == (20, 32, 32, 32) and x_test.shape == (10, 32, 32, 32) and x_train.dtype == np.uint8
    # labels follow the standard (alphabetical) class order, two train boxes and one test box per class
    np.testing.assert_array_equal(y_train, np.repeat(np.arange(10), 2))
    np.testing.assert_array_equal(y_test, np.arange(10))
    cached = cache / "datasets" / "modelnet10_solid32.npz"
    with np.load(cached) as data:
        assert list(data["classes"]) == list(MODELNET10_CLASSES)
    # solid boxes fill their bounding box, z up (axis 2): class 0's box is 1 x 0.5 x 0.25
    grid = x_train[0]
    assert set(np.unique(grid)) == {0, 1}
    occupied = [np.flatnonzero(grid.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    extents = [len(o) for o in occupied]
    assert extents[0] == 32 and 14 <= extents[1] <= 18 and 6 <= extents[2] <= 10
    assert grid.sum() == pytest.approx(np.prod(extents), rel=0.02)  # filled, not a shell
    assert (cache / "datasets" / "ModelNet10.zip").is_file()  # the archive stays, the meshes go
    assert not any(p.name.startswith(".modelnet10-meshes") for p in (cache / "datasets").iterdir())
    record = (cache / "datasets" / "modelnet10_solid32.json").read_text()
    assert mirror.url in record and '"n_train": 20' in record

    # a second call reads the cache: no download
    (x2, _), _ = datasets.load_modelnet10(32, cache_dir=cache, base_url=mirror.url, workers=1)
    np.testing.assert_array_equal(x2, x_train)
    assert mirror.requests == ["/ModelNet10.zip"]
    # another resolution converts the cached archive again, still without a download
    (x64, _), _ = datasets.load_modelnet10(64, cache_dir=cache, base_url=mirror.url, workers=1)
    assert x64.shape == (20, 64, 64, 64) and mirror.requests == ["/ModelNet10.zip"]


def test_mirror_from_the_environment(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.MIRROR_ENV, mirror.url + "/")
    assert datasets.archive_url(datasets.SOURCES["modelnet10"]) == f"{mirror.url}/ModelNet10.zip"
    monkeypatch.delenv(datasets.MIRROR_ENV)
    assert datasets.archive_url(datasets.SOURCES["modelnet10"]).startswith("http://3dvision.princeton.edu/")


def test_corrupt_archive_is_named_and_deleted(tmp_path):
    folder = tmp_path / "mirror"
    folder.mkdir()
    modelnet10_zip(folder / "ModelNet10.zip")
    data = (folder / "ModelNet10.zip").read_bytes()
    (folder / "ModelNet10.zip").write_bytes(data[: len(data) // 2])  # truncated
    cache = tmp_path / "keras"
    with Server(str(folder)) as server, pytest.raises(datasets.DatasetError) as e:
        datasets.load_modelnet10(cache_dir=cache, base_url=server.url, workers=1)
    archive = cache / "datasets" / "ModelNet10.zip"
    assert str(archive) in str(e.value) and f"{server.url}/ModelNet10.zip" in str(e.value)
    assert "not a readable zip" in str(e.value)
    assert not archive.exists() and not (cache / "datasets" / "modelnet10_solid32.npz").exists()


def test_archive_with_other_classes_is_refused(tmp_path):
    folder = tmp_path / "mirror"
    folder.mkdir()
    with zipfile.ZipFile(folder / "ModelNet10.zip", "w") as z:
        z.writestr("ModelNet10/chair/train/chair_0001.off", box_off((1, 1, 1)))
    with Server(str(folder)) as server, pytest.raises(datasets.DatasetError, match=r"class folders \['chair'\]"):
        datasets.load_modelnet10(cache_dir=tmp_path / "keras", base_url=server.url, workers=1)


def test_failed_download_names_the_url(tmp_path):
    with Server(str(tmp_path)) as server:  # an empty folder: 404
        with pytest.raises(datasets.DatasetError) as e:
            datasets.load_modelnet40(cache_dir=tmp_path / "keras", base_url=server.url)
    message = str(e.value)
    assert f"{server.url}/ModelNet40.zip" in message and "404" in message and datasets.MIRROR_ENV in message
    assert not (tmp_path / "keras" / "datasets" / "ModelNet40.zip").exists()


def test_bad_name_and_resolution():
    with pytest.raises(datasets.DatasetError, match="resolution must be one of"):
        datasets.npz_path("modelnet10", 48)
    with pytest.raises(datasets.DatasetError, match="unknown voxel data set 'shapenet'"):
        datasets.npz_path("shapenet")


def test_ikea_content_is_checked(tmp_path):
    source = datasets.SOURCES["ikea"]
    folder = tmp_path / "mirror"
    folder.mkdir()
    with zipfile.ZipFile(folder / source.archive, "w") as z:
        for part, name, text in (("Images", "a.jpg", "jpeg"), ("Voxels", "1.mat", "mat"), ("Lists", "Images.txt", "a")):
            z.writestr(f"{source.root}/{part}/{name}", text)
        z.writestr(f"{source.root}/README.md", "not part of the digest")
    staged = tmp_path / "staged"
    with zipfile.ZipFile(folder / source.archive) as z:
        z.extractall(staged)
    n, digest = datasets.content_digest(staged / source.root)
    assert n == 3
    cache = tmp_path / "keras"
    with Server(str(folder)) as server:
        with pytest.raises(datasets.DatasetError, match="content SHA-256"):
            datasets.ikea_dir(cache_dir=cache, base_url=server.url)  # the real set's digest
        path = datasets.ikea_dir(cache_dir=cache, base_url=server.url, expected_sha256=digest)
        assert path == cache / "datasets" / "ikea" and (path / "Lists" / "Images.txt").read_text() == "a"
        assert not (path / "README.md").exists()
        assert datasets.ikea_dir(cache_dir=cache, base_url=server.url) == path  # cached: not checked, not fetched
        assert server.requests == [f"/{source.archive}"]


@pytest.mark.slow
def test_train_and_evaluate_take_a_data_set_name(mirror, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv(datasets.MIRROR_ENV, mirror.url)
    run = tmp_path / "run"
    code = train.main(
        ["--data", "modelnet10", "--category", "all", "--epochs", "1", "--out", str(run), "--quiet", *TINY_MODEL_FLAGS]
    )
    assert code == 0, capsys.readouterr().err
    cached = tmp_path / "keras" / "datasets" / "modelnet10_solid32.npz"
    assert str(cached) in (run / "data.json").read_text() and str(cached) in (run / "config.json").read_text()
    args = evaluate.parse_args(["classify", "--model", str(run), "--data", "modelnet10"])
    assert args.data == str(cached) and mirror.requests == ["/ModelNet10.zip"]
    # a path still works, and a file named like a data set wins over the name
    (tmp_path / "modelnet10").write_bytes(cached.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert evaluate.parse_args(["classify", "--model", str(run), "--data", "modelnet10"]).data == "modelnet10"
