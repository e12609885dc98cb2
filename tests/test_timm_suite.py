"""petvit's models pass timm's own test suite: `tests/test_models.py` of the installed timm's sdist.

The sdist is fetched from the package index once and cached under ~/.cache/petvit/timm-tests (or
$PETVIT_CACHE/timm-tests); without an index the test is skipped, saying so."""
import os, re, shutil, subprocess, sys, tarfile, tempfile
from pathlib import Path
import pytest
import timm
import petvit.models  # noqa: F401 (registers the models)
from conftest import USER_CACHE

OURS = ['fnet_nano_patch8', 'fnet_small_patch16_224', 'fnet_tiny_patch16_224', 'shiftvit_light_t',
        'shiftvit_nano', 'shiftvit_t', 'vit_convstem_nano']

# Runs timm's tests on petvit's models only: every test whose `model_name` is one of them
CONFTEST = '''import timm
import petvit.models  # registers petvit's models in timm's registry
OURS = {n for m in ('shiftvit', 'fnet', 'convstem') for n in timm.list_models(module=m)}

def pytest_collection_modifyitems(config, items):
    keep = [i for i in items if hasattr(i, 'callspec') and i.callspec.params.get('model_name') in OURS]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep
'''

# timm selects these feature tests by module (its own modules only): the same tests, on ours
EXTRA = '''import pytest, timm
import test_models as tm
OURS = sorted(n for m in ('shiftvit', 'fnet', 'convstem') for n in timm.list_models(module=m))

@pytest.mark.parametrize('model_name', OURS)
def test_forward_intermediates(model_name): tm.test_model_forward_intermediates(model_name, 1)

@pytest.mark.parametrize('model_name', OURS)
def test_forward_intermediates_features(model_name):
    tm.test_model_forward_intermediates_features(model_name, 1)

@pytest.mark.parametrize('model_name', OURS)
def test_forward_features(model_name): tm.test_model_forward_features(model_name, 1)
'''

def timm_test_models(version:str)->Path:
    "`tests/test_models.py` of timm `version`'s sdist, fetched once into the cache"
    dest = USER_CACHE/'timm-tests'/f'timm-{version}'/'test_models.py'
    if dest.is_file(): return dest
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:',
                            f'timm=={version}', '-d', tmp, '-q'], capture_output=True, text=True, timeout=300)
        sdists = list(Path(tmp).glob('timm-*.tar.gz'))
        if r.returncode or not sdists:
            last = (r.stderr.strip().splitlines() or ['no sdist'])[-1]
            pytest.skip(f'cannot fetch the timm {version} sdist from the package index ({last}): '
                        f"timm's own model tests not run")
        with tarfile.open(sdists[0]) as tar:
            member = tar.getmember(f'timm-{version}/tests/test_models.py')
            data = tar.extractfile(member).read()
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_suffix('.part'); part.write_bytes(data); os.replace(part, dest)
    return dest

def test_petvit_models_pass_timms_own_suite(tmp_path):
    src = timm_test_models(timm.__version__)
    shutil.copy(src, tmp_path/'test_models.py')
    (tmp_path/'conftest.py').write_text(CONFTEST)
    (tmp_path/'test_petvit_extra.py').write_text(EXTRA)
    env = {k: v for k, v in os.environ.items() if k != 'GITHUB_ACTIONS'}
    r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-rA', '-p', 'no:cacheprovider', '-W', 'ignore',
                        'test_models.py', 'test_petvit_extra.py'],
                       cwd=tmp_path, capture_output=True, text=True, timeout=1200, env=env)
    summary = r.stdout.strip().splitlines()[-1]
    print(f'timm {timm.__version__} tests/test_models.py on petvit models: {summary}')
    assert r.returncode == 0 and ' failed' not in summary and ' error' not in summary, r.stdout[-3000:]
    passed = re.findall(r'^PASSED \S+\[(?:\d+-)?([\w.]+?)(?:-\d+)?\]$', r.stdout, flags=re.M)
    for name in OURS: assert passed.count(name) >= 10, (name, passed.count(name), summary)
    ours = sorted(n for m in ('shiftvit', 'fnet', 'convstem') for n in timm.list_models(module=m))
    assert ours == OURS  # a new model is held to the suite too
