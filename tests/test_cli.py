"End-to-end runs of the `petvit` command on the demo data, and the bad input it must refuse."
import re, subprocess, sys
import pandas as pd
import pytest
from PIL import Image
from conftest import petvit

from petvit.cli import get_parser
COMMANDS = sorted(get_parser()._subparsers._group_actions[0].choices)   # every sub-command there is

def test_the_commands_are_those_documented():
    assert COMMANDS == ['bench', 'blend', 'boost', 'check', 'check-submission', 'demo-data', 'embed', 'explain',
                        'kaggle-kit', 'merge', 'predict', 'select', 'train']

def test_the_console_script_has_help():
    "The installed entry point itself (the commands' help below runs `main` in this process)"
    r = petvit('--help')
    assert r.returncode == 0 and r.stdout.startswith('usage: petvit'), r.stdout[:200]

@pytest.mark.parametrize('cmd', [[c] for c in COMMANDS])
def test_every_command_has_help(cli, cmd):
    r = cli(*cmd, '--help')
    assert r.returncode == 0 and r.stdout.startswith(' '.join(['usage: petvit', *cmd])), r.stdout[:200]

def test_parsing_the_command_line_imports_no_torch():
    "`petvit --help` and every command's parser stay fast: the heavy stack is imported by the command that runs"
    code = 'import sys; from petvit.cli import get_parser; get_parser(); print(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "fastai", "sklearn", "timm")))'
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == '[]', r.stdout + r.stderr

def test_python_m_entry_point():
    r = subprocess.run([sys.executable, '-m', 'petvit.cli', '--version'], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith('petvit ')

def _fold_rows(out):
    "{fold: (n, mean)} parsed from the fold table of `petvit check`"
    rows = re.findall(r'^(\d+|all)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)', out, re.M)
    return {k: (float(n), float(m), float(s)) for k, n, m, s in rows}

def test_demo_data_then_check_shows_matching_folds(demo_dir):
    r = petvit('check', demo_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'train.csv: 300 rows' in r.stdout and 'problems: none' in r.stdout
    assert '5 folds, stratified on 9 Sturges bins' in r.stdout
    rows = _fold_rows(r.stdout)
    assert sorted(k for k in rows if k != 'all') == ['0', '1', '2', '3', '4']
    n_all, mean_all, std_all = rows.pop('all')
    assert sum(n for n, _, _ in rows.values()) == n_all == 300
    for n, mean, std in rows.values():  # stratification: every fold's distribution close to the whole
        assert abs(mean - mean_all) < 0.15 * std_all and abs(std - std_all) < 0.15 * std_all

def test_check_reports_all_problems_by_file(cli, demo_copy):
    df = pd.read_csv(demo_copy/'train.csv', dtype={'Id': str, 'Pawpularity': str})
    (demo_copy/'train'/f'{df.Id[0]}.jpg').write_bytes(b'\xff\xd8 corrupt')
    (demo_copy/'train'/f'{df.Id[1]}.jpg').unlink()
    df.loc[2, 'Pawpularity'] = 'high'; df.loc[3, 'Pawpularity'] = '0'
    df.loc[4, 'Id'] = df.Id[5]
    df.to_csv(demo_copy/'train.csv', index=False)
    r = cli('check', demo_copy)
    assert r.returncode == 1
    assert f'train/{df.Id[0]}.jpg: cannot be decoded' in r.stdout
    assert f'train/{df.Id[1]}.jpg: image listed in train.csv (line 3) is missing' in r.stdout
    assert 'Pawpularity is not a number on line(s) 4' in r.stdout
    assert 'Pawpularity is outside 1-100 on line(s) 5' in r.stdout
    assert f'column Id repeats {df.Id[5]}' in r.stdout
    assert 'problems: 5' in r.stdout and 'Traceback' not in r.stdout + r.stderr

@pytest.mark.parametrize('breakage, message', [
    (lambda d: (d/'train.csv').unlink(), 'train.csv: file not found'),
    (lambda d: (d/'sample_submission.csv').unlink(), 'sample_submission.csv: file not found'),
    (lambda d: pd.read_csv(d/'train.csv').drop(columns=['Id']).to_csv(d/'train.csv', index=False), 'train.csv: missing column(s) Id'),
    (lambda d: (d/'test.csv').write_text(''), 'test.csv: cannot be parsed as CSV'),
])
def test_check_names_the_broken_file_or_column(cli, demo_copy, breakage, message):
    breakage(demo_copy)
    r = cli('check', demo_copy)
    assert r.returncode == 1 and message in r.stdout, r.stdout

def test_missing_folder(cli, tmp_path):
    r = cli('check', tmp_path/'nowhere')
    assert r.returncode == 1 and 'data folder not found' in r.stdout

def test_odd_image_modes_are_valid(cli, demo_copy):
    ids = pd.read_csv(demo_copy/'train.csv', dtype={'Id': str}).Id
    for i, convert in enumerate(['L', 'CMYK', 'RGBA']):
        fn = demo_copy/'train'/f'{ids[i]}.jpg'
        im = Image.open(fn).convert(convert)
        im.save(fn, format='PNG' if convert == 'RGBA' else 'JPEG')  # PNG bytes in a .jpg file
    r = cli('check', demo_copy)
    assert r.returncode == 0 and 'problems: none' in r.stdout, r.stdout

def test_user_error_is_one_line_without_traceback(cli, tmp_path):
    r = cli('demo-data', tmp_path/'d', '--n', 3)
    assert r.returncode == 2
    assert r.stderr == 'petvit demo-data: error: argument --n: 3 is less than 10 (see petvit demo-data --help)\n'
    r = cli('train', '--data', tmp_path, '--epochs', 'one')
    assert r.returncode == 2 and r.stderr == "petvit train: error: config epochs='one' must be a whole number\n"
