"""`petvit bench` (and benchmarks/bench.py) in its small CPU mode: it runs in seconds and writes the documented format.
Figures are not asserted: the arithmetic of the ratios is tested in nbs/10_benchmark.ipynb with known durations
(an injected clock and timers), here only that each headline ratio is printed with its spread or called unreliable."""
import json, subprocess, sys
from conftest import ROOT, petvit

def test_bench_small_writes_table_and_json(tmp_path):
    "... in a folder of its own inside --work-dir, removed at the end: the user's files there untouched, nothing left"
    work, tmp = tmp_path/'work', tmp_path/'tmp'
    work.mkdir(); tmp.mkdir(); (work/'train.csv').write_text('my labels')
    r = petvit('bench', '--mode', 'small', '--device', 'cpu', '--out', tmp_path/'bench.json', '--work-dir', work,
               env={'TMPDIR': str(tmp),          # torch keeps its compile cache in the temporary folder
                    'TORCHINDUCTOR_CACHE_DIR': str(tmp_path/'inductor')})   # (set once torch._dynamo is imported)
    assert r.returncode == 0, r.stderr[-2000:]
    assert [p.name for p in work.iterdir()] == ['train.csv'] and (work/'train.csv').read_text() == 'my labels'
    assert list(tmp.iterdir()) == [], list(tmp.iterdir())          # no litter in the temporary folder either
    for label in ('data', 'train', 'infer', 'cv', 'cache_speedup', 'learner_overhead'): assert label in r.stdout, r.stdout
    res = json.loads((tmp_path/'bench.json').read_text())
    for name, part, key in (('learner_overhead', 'train', 'learner_overhead'), ('cache_speedup', 'data', 'speedup')):
        spread = res[part][f'{key}_spread']
        assert len(res[part]) and res[part]['pairs'] == 5 and spread >= 0
        if res[part][f'{key}_reliable']:                  # a figure, printed with its spread
            assert res[name] == res[part][key] and f"{name} {res[name]:.2f}" in r.stdout and f'spread {spread:.0%}' in r.stdout
        else:                                             # no figure: the table says why
            assert res[name] is None and f'{name} unreliable (the pairs disagree by {spread:.0%})' in r.stdout
    assert {'originals_img_s', 'cache_img_s', 'cache_build_s'} <= set(res['data'])
    assert (res['cv']['n_folds'], res['cv']['n_train'], res['infer']['n_images']) == (2, 32, 32)
    assert res['mode'] == 'small' and res['device'] == 'cpu'

def test_bench_script_is_the_cli():
    r = subprocess.run([sys.executable, ROOT/'benchmarks'/'bench.py', '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and '--mode' in r.stdout and 'JSON' in r.stdout, r.stdout

def test_bench_refuses_unknown_mode_in_one_line():
    r = petvit('bench', '--mode', 'huge')
    assert r.returncode == 2 and 'invalid choice' in r.stderr
