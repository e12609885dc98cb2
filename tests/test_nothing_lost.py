"""Nothing petvit did not write is lost, a prediction uses only what was validated, no input hangs
it, and every bad input is one line (issue 32). Each class of case the hostile run found: symlinked
outputs, a user's files in folders petvit rewrites, outputs where they must not go, members changed
after blending, folds of other configs, FIFOs, huge numbers, strict config types. The full sweep,
with counts before and after, is `tools/hostile.py`."""
import errno, hashlib, json, os, shutil, subprocess, sys, time
import pytest
from conftest import TINY, petvit
from test_untrusted import one_line

def digest(folder):
    "Names and bytes of everything below `folder` (links as links)"
    h = hashlib.sha256()
    for p in sorted(folder.rglob('*')):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_symlink(): h.update(os.readlink(p).encode())
        elif p.is_file(): h.update(p.read_bytes())
    return h.hexdigest()

def leftovers(folder):
    "petvit's temporary folders (`.NAME.petvit-XXXX`) left in `folder`"
    return [p.name for p in folder.iterdir() if p.is_dir() and '.petvit-' in p.name]

# -- own only what it wrote --

@pytest.mark.parametrize('kind', ['boost', 'blend'])
def test_a_symlinked_output_folder_is_refused_and_its_target_untouched(cli, runs_copy, tmp_path, kind):
    outside = tmp_path/'outside'
    shutil.copytree(runs_copy/('a/boost' if kind == 'boost' else 'blend'), outside/'target')
    (outside/'target'/'notes.txt').write_text('mine\n')
    link = runs_copy/'a'/'boost' if kind == 'boost' else runs_copy/'new_blend'
    if kind == 'boost': shutil.rmtree(link)
    link.symlink_to(outside/'target')
    before = digest(outside)
    r = (cli('boost', '--run', runs_copy/'a') if kind == 'boost' else
         cli('blend', runs_copy/'a', runs_copy/'b', '--out', link))
    one_line(r, 'is a symbolic link: petvit never writes through one')
    assert digest(outside) == before and not leftovers(link.parent)

@pytest.mark.parametrize('folder, command', [
    ('a/boost', ['boost', '--run', 'a']),
    ('a/embeddings', ['embed', '--run', 'a', '--tta', '1']),
    ('a/explain', ['explain', '--run', 'a', '--worst', '1']),
    ('blend', ['blend', 'a', 'a/boost', 'b', '--out', 'blend'])])
def test_a_users_files_survive_a_rewrite(cli, runs_copy, folder, command):
    args = command[:1] + [runs_copy/c if (runs_copy/c.split('/')[0]).exists() else c for c in command[1:]]
    if not (runs_copy/folder).exists(): assert cli(*args).returncode == 0   # petvit's folder first
    (runs_copy/folder/'my_notes.txt').write_text('my notes\n')
    (runs_copy/folder/'mine').mkdir(); (runs_copy/folder/'mine'/'x.csv').write_text('1,2\n')
    r = cli(*args)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (runs_copy/folder/'my_notes.txt').read_text() == 'my notes\n'
    assert (runs_copy/folder/'mine'/'x.csv').read_text() == '1,2\n'
    written = json.loads((runs_copy/folder/'.petvit-written').read_text())['files']
    assert 'my_notes.txt' not in written and not leftovers((runs_copy/folder).parent)

def test_outputs_go_only_where_they_may(cli, runs_copy, small_data, tmp_path):
    notes = tmp_path/'notes.txt'; notes.write_text('my notes\n')
    one_line(cli('bench', '--mode', 'small', '--out', notes), 'exists and is not a petvit bench result')
    assert notes.read_text() == 'my notes\n'
    before = digest(runs_copy/'a')
    one_line(cli('blend', runs_copy/'a', runs_copy/'b', '--out', runs_copy/'a'/'sub'),
             'is inside the member')
    assert digest(runs_copy/'a') == before
    data = tmp_path/'data'; shutil.copytree(small_data, data); before = digest(data)
    one_line(cli('train', '--data', data, '--out', data/'runs'/'x', '--folds', 2, '--epochs', 1, *TINY),
             'is inside the data folder')
    assert digest(data) == before

def test_a_failed_start_on_a_full_disk_leaves_no_half_run(cli, small_data, tmp_path, monkeypatch):
    import petvit.folders
    def full(*a, **k): raise OSError(errno.ENOSPC, 'No space left on device', 'folds.csv')
    monkeypatch.setattr(petvit.folders, 'write_csv', full)
    one_line(cli('train', '--data', small_data, '--out', tmp_path/'run', '--folds', 2, '--epochs', 1, *TINY),
             'no space left on the device')
    assert not (tmp_path/'run').exists()

# -- predict from what was validated --

def swap_weights(runs):
    "Fold 0 of run a gets other weights, and its fold.json their checksum: consistent, but not what was blended"
    w, rec = runs/'a'/'fold0'/'model.pth', runs/'a'/'fold0'/'fold.json'
    w.write_bytes(w.read_bytes() + b'\0')
    d = json.loads(rec.read_text()); d['model_sha256'] = hashlib.sha256(w.read_bytes()).hexdigest()
    rec.write_text(json.dumps(d))

def swap_regressors(runs):
    "The boost's two regressors swapped, boost.json updated to match"
    b = runs/'a'/'boost'; m = json.loads((b/'boost.json').read_text())
    r0, r1 = (b/m['regressors'][0]).read_bytes(), (b/m['regressors'][1]).read_bytes()
    (b/m['regressors'][0]).write_bytes(r1); (b/m['regressors'][1]).write_bytes(r0)
    m['regressor_sha256'] = m['regressor_sha256'][::-1]; (b/'boost.json').write_text(json.dumps(m))

@pytest.mark.parametrize('change, member', [(swap_weights, 'runs/a '), (swap_regressors, 'runs/a/boost ')])
def test_a_blend_refuses_a_member_changed_since(cli, runs_copy, small_data, tmp_path, change, member):
    r = cli('blend', runs_copy/'blend', runs_copy/'b', '--out', runs_copy/'outer')   # a blend of blends too
    assert r.returncode == 0, r.stderr[-2000:]
    change(runs_copy)
    for blend in ('blend', 'outer'):
        err = one_line(cli('predict', '--run', runs_copy/blend, '--data', small_data, '--out', tmp_path/'p.csv'),
                       'changed since the blend was made (what it predicts from')
        assert f'the member {runs_copy}/{member.split("/", 1)[1]}'.rstrip() in err and 'petvit blend' in err
    assert not (tmp_path/'p.csv').exists()

def test_merge_refuses_a_fold_of_another_config(cli, runs_copy):
    rec = runs_copy/'a'/'fold0'/'fold.json'
    d = json.loads(rec.read_text()); d['config']['seed'] = 7; rec.write_text(json.dumps(d))
    one_line(cli('merge', runs_copy/'a'), 'fold 0 was trained with another config than its config.json (differs in seed)')
    shutil.rmtree(runs_copy/'a'/'fold1'); shutil.copytree(runs_copy/'b'/'fold1', runs_copy/'a'/'fold1')
    d['config']['seed'] = 42; rec.write_text(json.dumps(d))
    one_line(cli('merge', runs_copy/'a'), 'fold 1 was trained with another config than its config.json (differs in arch')

def test_fold_parallel_starts_with_other_configs_are_refused(small_data, tmp_path):
    run, args = tmp_path/'run', ['--data', small_data, '--folds', 2, '--epochs', 300, '--patience', 300, *TINY]
    first = subprocess.Popen([shutil.which('petvit', path=os.path.dirname(sys.executable)), 'train', *map(str, args),
                              '--out', str(run), '--fold', '0'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    from petvit.folders import _fold_busy
    try:
        for _ in range(600):                                   # until fold 0 is in training
            if _fold_busy(run/'fold0'/'.petvit-training') or first.poll() is not None: break
            time.sleep(0.1)
        assert first.poll() is None, first.stderr.read()[-2000:]
        r = petvit('train', *args, '--out', run, '--fold', 1, '--seed', 7)
        one_line(r, 'differs in seed) and fold(s) 0 in training by another process')
        r = petvit('train', *args, '--out', run, '--fold', 0)
        one_line(r, 'fold 0 of')
    finally: first.kill(); first.wait()

# -- no input hangs --

def fifo(path): path.unlink(); os.mkfifo(path)

@pytest.mark.parametrize('where', ['train_jpg', 'test_jpg', 'fold_json', 'folds_file', 'submission'])
def test_a_fifo_is_refused_not_waited_on(runs_copy, small_data, tmp_path, where):
    data = tmp_path/'data'; shutil.copytree(small_data, data)
    first = lambda d: sorted((data/d).glob('*.jpg'))[0]
    sub = tmp_path/'s.csv'; sub.write_text('x')
    case = dict(train_jpg=(lambda: fifo(first('train')), ['check', data], 'not a regular file'),
                test_jpg=(lambda: fifo(first('test')), ['predict', '--run', runs_copy/'a', '--data', data,
                                                        '--out', tmp_path/'p.csv'], 'not a regular file'),
                fold_json=(lambda: fifo(runs_copy/'a'/'fold0'/'fold.json'), ['merge', runs_copy/'a'],
                           'fold 0 is not complete'),
                folds_file=(lambda: os.mkfifo(tmp_path/'ff.csv'),
                            ['train', '--data', data, '--out', tmp_path/'r', '--folds-file', tmp_path/'ff.csv', *TINY],
                            'is a FIFO (named pipe)'),
                submission=(lambda: fifo(sub), ['check-submission', '--data', data, sub], 'is a FIFO (named pipe)'))
    make, args, says = case[where]
    make()
    r = petvit(*args, timeout=120)                             # a hang fails here, by the timeout
    said = r.stderr + r.stdout
    assert says in said and 'Traceback' not in said and r.returncode != 0, said[-2000:]

# -- numbers bounded, types strict, one line for each --

@pytest.mark.parametrize('text, says', [
    ('img_size: 1.0e+30\n', 'img_size is 1e+30 (float)'), ('epochs: 1000000000000000000000\n', 'epochs=1000000000000000000000 must be in [1, 10000]'),
    ('use_meta: 1\n', 'use_meta is 1 (int): write true or false'), ('epochs: 3.0\n', 'epochs is 3.0 (float)'),
    ('lr: 1.0e+308\n', 'lr=1e+308 must be in [0, 10]'), ("pretrained: ''\n", 'true, false or a weights file'),
    ('a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n', 'uses YAML aliases'),
    (b'arch: caf\xe9\n', 'is not UTF-8 text')])
def test_bad_config_values_are_one_line(cli, small_data, tmp_path, text, says):
    c = tmp_path/'c.yaml'
    c.write_bytes(text if isinstance(text, bytes) else text.encode())
    keys = str(text)                                   # flags would override what the file sets
    flags = [x for f, v in zip(TINY[::2], TINY[1::2]) if f[2:].replace('-', '_') not in keys for x in (f, v)]
    one_line(cli('train', '--data', small_data, '--out', tmp_path/'r', '--config', c, *flags), says)
    assert not (tmp_path/'r').exists()

def test_an_image_size_the_model_cannot_take_is_refused(cli, small_data, tmp_path):
    one_line(cli('train', '--data', small_data, '--out', tmp_path/'r', *TINY, '--img-size', 8), 'must be in [16, 4096]')
    one_line(cli('train', '--data', small_data, '--out', tmp_path/'r', *TINY, '--img-size', 16),
             'shiftvit_nano cannot run on 16 px images')
    one_line(cli('train', '--data', small_data, '--out', tmp_path/'r', *TINY, '--compile'), '--compile needs a CUDA GPU')

@pytest.mark.parametrize('path, text, command, says', [
    ('a/fold0/oof.csv', b'\x80\x04\x95', 'merge', 'is not UTF-8 text'),
    ('a/fold0/oof.csv', b'Id,fold,Pawpularity,pred,pred_plain\n', 'merge', "does not hold fold 0's"),
    ('a/fold0/test.csv', b'Id,pred,pred_plain\nx,abc,1\n', 'merge', 'pred, pred_plain is not a finite number on line 2'),
    ('a/fold0/history.csv', b'', 'merge', 'cannot be read as a CSV'),
    ('a/fold0/history.csv', b'epoch,train_loss,valid_loss,rmse,time\n', 'merge', 'does not hold a row per epoch'),
    ('a/fold0/fold.json', b'[' * 100000, 'merge', 'fold 0 is not complete'),
    ('a/oof.csv', b'Id,fold,Pawpularity,pred\n', 'boost', 'oof.csv has no rows'),
    ('a/folds.csv', b'Id,fold,Pawpularity\nx,nan,3\n', 'embed', 'fold, Pawpularity is not a finite number'),
    ('blend/blend.json', b'{"members": [{"weight": 1' + b'0' * 400 + b'}]}', 'predict', 'is not a finite number'),
    ('a/config.json', b'{"img_size": 1' + b'0' * 30 + b'}', 'predict', 'config.json')])
def test_a_bad_run_file_is_one_line(cli, runs_copy, small_data, tmp_path, path, text, command, says):
    (runs_copy/path).write_bytes(text)
    run = runs_copy/path.split('/')[0]
    args = dict(merge=['merge', run], boost=['boost', '--run', run], embed=['embed', '--run', run],
                predict=['predict', '--run', run, '--data', small_data, '--out', tmp_path/'p.csv'])[command]
    one_line(cli(*args), says)

def test_an_oof_table_that_is_not_the_runs_is_refused(cli, runs_copy):
    oof = runs_copy/'a'/'oof.csv'
    oof.write_text(''.join(oof.read_text().splitlines(keepends=True)[:-3]))     # three rows dropped
    one_line(cli('explain', '--run', runs_copy/'a', '--worst', 1), 'does not list the 60 training images of its folds.csv')
    one_line(cli('boost', '--run', runs_copy/'a'), 'merge the run again with petvit merge')

def test_predict_needs_the_data_folders_three_csvs(cli, runs_copy, small_data, tmp_path):
    data = tmp_path/'data'; shutil.copytree(small_data, data); (data/'sample_submission.csv').unlink()
    r = cli('predict', '--run', runs_copy/'a', '--data', data, '--out', tmp_path/'p.csv')
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert 'error: sample_submission.csv: file not found' in r.stderr and not (tmp_path/'p.csv').exists()

def test_a_terminal_that_cannot_show_a_name_gets_no_traceback(small_data, tmp_path):
    data = tmp_path/'data'; shutil.copytree(small_data, data)
    lines = (data/'train.csv').read_text().splitlines()
    lines[1] = lines[1].replace(',', '\u732b/,', 1)             # an Id with a CJK character (and a path: a problem)
    (data/'train.csv').write_text('\n'.join(lines) + '\n')
    r = petvit('check', data, env={'PYTHONIOENCODING': 'ascii'})
    assert r.returncode != 0 and 'Traceback' not in r.stderr + r.stdout and '\\u732b' in r.stderr + r.stdout
