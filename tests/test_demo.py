"`petvit train --demo`: the built-in demo data in the cache folder, the demo preset, the results table — and, opt-in, that it learns."
import json, os, re
import pytest
from conftest import petvit

def _demo(tmp_path, monkeypatch, *flags):
    "`petvit train --demo FLAGS` with a private cache folder (petvit() passes the environment on)"
    monkeypatch.setenv('PETVIT_CACHE', str(tmp_path/'cache'))
    return petvit('train', '--demo', '--out', tmp_path/'run', *flags, timeout=900), tmp_path/'cache'

def test_demo_uses_cached_dataset_and_demo_preset(tmp_path, monkeypatch):
    r, cache = _demo(tmp_path, monkeypatch, '--folds', 2, '--epochs', 1)
    assert r.returncode == 0, r.stderr[-2000:]
    (data,) = [p for p in cache.iterdir() if p.name.startswith('demo-')]
    assert any((cache/'images').rglob('*.jpg'))                                   # the image cache lives beside it
    assert re.fullmatch(r'demo-v\d+-n1000-seed42', data.name) and len(list((data/'train').glob('*.jpg'))) == 1000
    cfg = json.loads((tmp_path/'run'/'config.json').read_text())
    assert cfg['arch'] == 'vit_convstem_nano' and cfg['img_size'] == 32 and cfg['n_folds'] == 2 and cfg['data_dir'] == str(data)
    assert re.search(r'^\s*OOF\s+[\d.]+\s+[\d.]+\s+[\d.]+', r.stdout, re.M), r.stdout[-1500:]

@pytest.mark.skipif(not os.environ.get('PETVIT_SLOW'), reason='the full demo run takes ~2-3 min on 2 CPU cores: set PETVIT_SLOW=1')
def test_demo_learns(tmp_path, monkeypatch):
    "The whole `petvit train --demo`: out-of-fold RMSE at most 0.7 x that of predicting the mean"
    r, _ = _demo(tmp_path, monkeypatch)
    assert r.returncode == 0, r.stderr[-2000:]
    cv = json.loads((tmp_path/'run'/'cv.json').read_text())
    assert cv['oof_rmse'] <= 0.7 * cv['baseline_rmse'], (cv['oof_rmse'], cv['baseline_rmse'])
