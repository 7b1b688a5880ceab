"""nasaic.costs: per-space cost tables equal hwsim.evaluate_many of the built networks."""

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError, SpecError
from nasaic import costs
from nasaic.space import mnasnet, nb201

RTOL = 1e-9


def _configs():
    return (hwsim.load_template("dla", pes=128, noc_bw_bytes_per_cycle=16),
            hwsim.load_template("shi", pes=256, noc_bw_bytes_per_cycle=64),
            hwsim.load_template("rs", pes=64, noc_bw_bytes_per_cycle=32),
            hwsim.load_template("dla", l2_bytes=36),       # no L2 tile fits any 3x3 conv: NB201 never maps
            hwsim.load_template("dla", l2_bytes=128))      # MnasNet's 5x5 depthwise layers cannot map


CONFIGS = _configs()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("costs")


@pytest.fixture(scope="module")
def nb(cache):
    return costs.space_costs("nb201", "cifar-10", CONFIGS, cache_dir=cache)


@pytest.fixture(scope="module")
def mn(cache):
    return costs.space_costs("mnasnet", "imagenet", CONFIGS, cache_dir=cache)


def _random_genes(options, n, seed):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, o, n) for o in options], axis=1)


def _assert_equals_evaluate(sc, genes):
    lat, energy, ok = sc.cost_all(genes)
    for j, row in enumerate(genes):
        frame = hwsim.evaluate_many(sc.network(row), sc.configs, per_layer=False)
        np.testing.assert_array_equal(ok[:, j], frame["feasible"].to_numpy(bool))
        np.testing.assert_allclose(lat[:, j], frame["latency_s"].to_numpy(float), rtol=RTOL)   # inf == inf
        np.testing.assert_allclose(energy[:, j], frame["energy_pj"].to_numpy(float), rtol=RTOL)  # nan == nan
    return ok


def test_nb201_equals_evaluate_many_of_the_built_network(nb):
    genes = np.vstack([_random_genes(nb201.GENE_OPTIONS, 20, seed=0), [3] * 6, [0] * 6])
    ok = _assert_equals_evaluate(nb, genes)
    assert ok[:3].all() and not ok[3].any()
    assert nb.latency_s.shape == (len(CONFIGS), 15_625) and nb.dataset == "cifar10"


def test_nb201_arrays_are_in_all_archs_order(nb):
    archs = nb201.all_archs()
    for i in (0, 1, 5, 777, 15_624):
        genes = np.array([nb201.encode(archs[i])])
        assert nb201.gene_index(genes)[0] == i
        assert nb.cost(np.array([0]), genes)[0][0] == nb.latency_s[0, i]


def _mnasnet_genes():
    rng = np.random.default_rng(1)
    genes = [list(g) for g in _random_genes(mnasnet.GENE_OPTIONS, 4, seed=2)]
    l5, se5 = 4 * 5 + 2, 4 * 5 + 3
    for l_index, se in ((0, 0), (3, 1), (3, 0), (0, 1)):        # block 5 with l = 1 and l = 4, se off / on
        g = [int(rng.integers(0, o)) for o in mnasnet.GENE_OPTIONS]
        g[l5], g[se5] = l_index, se
        genes.append(g)
    genes.append(list(mnasnet.encode(mnasnet.efficientnet_b0())))
    genes.append([g if i % 4 != 1 else 0 for i, g in enumerate(genes[-1])])     # every k = 3: maps at l2 128
    return np.array(genes)


def test_mnasnet_equals_evaluate_many_of_the_built_network(mn):
    genes = _mnasnet_genes()
    assert {mnasnet.decode(g)[4 * 5 + 2] for g in genes} >= {1, 4}
    ok = _assert_equals_evaluate(mn, genes)
    assert ok[:3].all() and not ok[3].any()
    assert not ok[4, -2] and ok[4, -1]          # efficientnet_b0 has 5x5 depthwise layers; all-3x3 maps


def test_mnasnet_cost_is_skeleton_plus_units(mn):
    # a deeper block 5 adds exactly one repeat unit per layer: latency is linear in l
    base = np.array(mnasnet.encode(mnasnet.efficientnet_b0()))
    genes = np.repeat(base[None], 4, axis=0)
    genes[:, 4 * 5 + 2] = np.arange(4)
    lat = mn.cost_all(genes)[0][0]
    steps = np.diff(lat)
    assert np.all(steps > 0)
    np.testing.assert_allclose(steps, steps[0], rtol=1e-12)


@pytest.mark.parametrize("space", ["nb201", "mnasnet"])
def test_cost_all_is_cost_on_every_config(space, nb, mn):
    sc = nb if space == "nb201" else mn
    genes = _random_genes(sc.gene_options, 300, seed=3)
    rows = np.random.default_rng(4).integers(0, len(CONFIGS), len(genes))
    lat, energy, ok = sc.cost(rows, genes)
    all_lat, all_energy, all_ok = sc.cost_all(genes)
    cols = np.arange(len(genes))
    np.testing.assert_array_equal(ok, all_ok[rows, cols])
    np.testing.assert_allclose(lat, all_lat[rows, cols], rtol=1e-12)
    np.testing.assert_allclose(energy, all_energy[rows, cols], rtol=1e-12)
    assert np.isinf(lat[~ok]).all() and np.isnan(energy[~ok]).all() and np.isfinite(lat[ok]).all()
    assert ok.any() and not ok.all()


def test_more_pes_never_slow_a_conv_heavy_network_on_dla(cache):
    pes = (32, 64, 128, 256, 512, 1024, 2048)
    configs = [hwsim.load_template("dla", pes=p, noc_bw_bytes_per_cycle=bw) for bw in (16, 64) for p in pes]
    sc = costs.space_costs("nb201", "cifar10", configs, cache_dir=False)
    lat = sc.cost_all(np.full((1, 6), nb201.OPS.index("nor_conv_3x3")))[0][:, 0].reshape(2, len(pes))
    assert np.all(np.diff(lat, axis=1) <= 0) and lat[:, -1].max() < lat[:, 0].min() / 4


def test_errors_name_the_layer_that_cannot_map(mn, nb):
    b0 = np.array(mnasnet.encode(mnasnet.efficientnet_b0()))
    message = mn.errors(4, b0)
    assert "l2_bytes" in message and ".dw" in message
    assert mn.errors(0, b0) == ""
    assert "l2_bytes" in nb.errors(3, np.zeros(6, int)) and nb.errors(0, np.zeros(6, int)) == ""


def test_memory_and_disk_cache(tmp_path, monkeypatch):
    configs = CONFIGS[:2]
    first = costs.space_costs("mnasnet", "imagenet", configs, cache_dir=tmp_path)
    assert costs.space_costs("mnasnet", "ImageNet", list(configs), cache_dir=tmp_path) is first
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))

    calls = []
    real = costs.evaluate_many
    monkeypatch.setattr(costs, "evaluate_many", lambda *a, **k: calls.append(1) or real(*a, **k))
    costs.clear_memory_cache()
    again = costs.space_costs("mnasnet", "imagenet", configs, cache_dir=tmp_path)
    assert again is not first and not calls                      # read from disk
    for name in ("latency_s", "energy_pj", "feasible", "area_mm2", "clock_hz"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))

    changed = (configs[0].with_params(pes=512), configs[1])
    costs.space_costs("mnasnet", "imagenet", changed, cache_dir=tmp_path)
    assert len(calls) == 1 and len(list(tmp_path.glob("*.npz"))) == 2

    monkeypatch.setattr(costs, "model_fingerprint", lambda: "another model")     # a model change misses
    costs.clear_memory_cache()
    costs.space_costs("mnasnet", "imagenet", configs, cache_dir=tmp_path)
    assert len(calls) == 2


def test_corrupt_cache_file_is_rewritten(tmp_path):
    configs = CONFIGS[:1]
    good = costs.space_costs("mnasnet", "imagenet", configs, cache_dir=tmp_path)
    path, = tmp_path.glob("*.npz")
    for junk in (b"not an npz", path.read_bytes()[:200]):
        path.write_bytes(junk)
        costs.clear_memory_cache()
        fresh = costs.space_costs("mnasnet", "imagenet", configs, cache_dir=tmp_path)
        np.testing.assert_array_equal(fresh.latency_s, good.latency_s)
        with np.load(path, allow_pickle=False) as z:
            assert str(z["key"]) == good.key


def test_no_disk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HWSIM_CACHE_DIR", str(tmp_path))
    costs.clear_memory_cache()
    costs.space_costs("mnasnet", "imagenet", CONFIGS[:1], cache_dir=False)
    assert not list(tmp_path.iterdir())
    costs.clear_memory_cache()
    costs.space_costs("mnasnet", "imagenet", CONFIGS[:1])       # None: $HWSIM_CACHE_DIR
    assert len(list(tmp_path.glob("*.npz"))) == 1


@pytest.mark.parametrize("kwargs, field", [
    (dict(space="nb101"), "'space' = 'nb101'"),
    (dict(dataset="mnist"), "'dataset' = 'mnist'"),
    (dict(space="mnasnet", dataset="cifar10"), "'dataset' = 'cifar10'"),
    (dict(batch=0), "'batch' = 0"),
    (dict(bits=2.5), "'bits' = 2.5"),
    (dict(configs=()), "'configs' = []"),
])
def test_bad_arguments(kwargs, field):
    args = dict(space="nb201", dataset="cifar10", configs=CONFIGS[:1]) | kwargs
    with pytest.raises(SpecError, match=field.replace("[", r"\[").replace("]", r"\]")):
        costs.space_costs(args.pop("space"), args.pop("dataset"), args.pop("configs"), cache_dir=False, **args)


def test_a_template_name_is_not_a_config():
    with pytest.raises(HwsimError, match="load_template"):
        costs.space_costs("nb201", "cifar10", ["dla"], cache_dir=False)


@pytest.mark.parametrize("genes, rows, field", [
    (np.zeros((2, 5), int), [0, 0], r"'genes' = array of shape \(2, 5\)"),
    (np.zeros(6, int), [0], r"'genes' = array of shape \(6,\)"),
    (np.full((2, 6), 5), [0, 0], r"'genes\[0, 0\]' \(edge 0->1\) = 5: expected an option index in 0..4"),
    (np.array([[0] * 5 + [-1]]), [0], r"'genes\[0, 5\]' \(edge 2->3\) = -1"),
    (np.zeros((1, 6)), [0], "'genes' = array of dtype float64"),
    (np.zeros((2, 6), int), [0, 5], r"'config_index\[1\]' = 5: expected 0..4"),
    (np.zeros((2, 6), int), [0], r"'config_index' = array of shape \(1,\)"),
])
def test_bad_genes_and_config_index(nb, genes, rows, field):
    with pytest.raises(SpecError, match=field):
        nb.cost(np.array(rows), genes)


def test_bad_mnasnet_genes_name_the_choice(mn):
    genes = np.zeros((1, 28), int)
    genes[0, 4 * 5 + 2] = 4                 # block 5 has 4 depths (indices 0..3)
    with pytest.raises(SpecError, match=r"'genes\[0, 22\]' \(block5_l\) = 4: expected an option index in 0..3"):
        mn.cost_all(genes)
    with pytest.raises(SpecError, match=r"'config_index\[0\]' = -1"):
        mn.errors(-1, np.zeros(28, int))
