"`petvit bench` (and benchmarks/bench.py) in its small CPU mode: it runs in seconds and writes the documented format; figures are not asserted, only the relations between them"
import json, subprocess, sys
from pytest import approx
from conftest import ROOT, petvit

def test_bench_small_writes_table_and_json(tmp_path):
    "... in a folder of its own inside --work-dir, removed at the end: the user's files there untouched, nothing left"
    work, tmp = tmp_path/'work', tmp_path/'tmp'
    work.mkdir(); tmp.mkdir(); (work/'train.csv').write_text('my labels')
    r = petvit('bench', '--mode', 'small', '--device', 'cpu', '--out', tmp_path/'bench.json', '--work-dir', work,
               env={'TMPDIR': str(tmp)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert [p.name for p in work.iterdir()] == ['train.csv'] and (work/'train.csv').read_text() == 'my labels'
    assert list(tmp.iterdir()) == [], list(tmp.iterdir())          # no litter in the temporary folder either
    for label in ('data', 'train', 'infer', 'cv', 'cache_speedup', 'learner_overhead'): assert label in r.stdout, r.stdout
    assert f"learner_overhead {json.loads((tmp_path/'bench.json').read_text())['learner_overhead']:.3f}" in r.stdout
    res = json.loads((tmp_path/'bench.json').read_text())
    assert res['learner_overhead'] == approx(res['train']['plain_img_s'] / res['train']['learner_img_s'])
    assert res['cache_speedup'] == approx(res['data']['cache_img_s'] / res['data']['originals_img_s'])
    assert {'originals_img_s', 'cache_img_s', 'cache_build_s'} <= set(res['data'])
    assert res['infer']['views_s'] == approx(res['infer']['tta'] * res['infer']['img_s'])
    assert (res['cv']['n_folds'], res['cv']['n_train'], res['infer']['n_images']) == (2, 32, 32)
    assert res['mode'] == 'small' and res['device'] == 'cpu'

def test_bench_script_is_the_cli():
    r = subprocess.run([sys.executable, ROOT/'benchmarks'/'bench.py', '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and '--mode' in r.stdout and 'JSON' in r.stdout, r.stdout

def test_bench_refuses_unknown_mode_in_one_line():
    r = petvit('bench', '--mode', 'huge')
    assert r.returncode == 2 and 'invalid choice' in r.stderr
