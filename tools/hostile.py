"""Feed every petvit command hostile and unlucky input; count how each case ends.

    python tools/hostile.py --work /tmp/hostile [--python PY] [--jobs 2] [--json out.json]

Builds a small dataset and finished runs once (DATA, RUN, RUN_B, BLEND, FROZEN, ...), then runs each
case in its own copy of them: corrupted CSV/JSON files petvit reads, configs and flags, FIFOs,
symlinked outputs, a user's files inside folders petvit rewrites, members changed after blending.
Each case ends as `ok` (exit 0), `error` (a short message, no traceback), `traceback` or `hang`;
cases that must keep files also report `lost` if a watched file changed. Prints a table and the
counts; `--python` picks the interpreter (e.g. another checkout's venv) to compare versions.
"""
from __future__ import annotations
import argparse, concurrent.futures as cf, hashlib, json, os, pickle, random, shutil, subprocess
import sys, time
from pathlib import Path

FIX = ['DATA', 'RUN', 'RUN_B', 'BLEND', 'BLEND_BOOST', 'BLEND2', 'FROZEN', 'OUTSIDE', 'WEIGHTS', 'ZOO',
       'STACK']
SETUP = [
    'petvit demo-data DATA --n 96 --n-test 16',
    'petvit train --data DATA --out RUN --preset demo --folds 2 --epochs 1 --tta 2',
    'petvit train --data DATA --out RUN_B --preset demo --folds 2 --epochs 1 --tta 2 --seed 7',
    'petvit blend RUN RUN_B --out BLEND',
    'petvit embed --run RUN --tta 2',
    'petvit boost --run RUN --C 4',
    'petvit blend RUN/boost RUN_B --out BLEND_BOOST',
    'petvit blend BLEND RUN/boost --out BLEND2',
    "mkdir -p WEIGHTS && python -c 'import torch; from petvit.models import create_model; "
    "torch.save(create_model(\"vit_convstem_nano\", img_size=32).backbone.state_dict(), "
    "\"WEIGHTS/w.pth\")'",
    'petvit embed --arch vit_convstem_nano --pretrained WEIGHTS/w.pth --data DATA --out FROZEN '
    '--img-size 32 --folds 2',
    'petvit boost --run FROZEN --C 4',
    'petvit explain --run RUN --worst 2 --best 0',
    "python -c 'import torch; from petvit.models import create_model; "
    "torch.save(create_model(\"shiftvit_nano\", img_size=32).backbone.state_dict(), "
    "\"WEIGHTS/s.pth\")'",
    "printf -- '- {arch: vit_convstem_nano, pretrained: w.pth, img_size: 32}\\n"
    "- {arch: shiftvit_nano, pretrained: s.pth, img_size: 32}\\n' > WEIGHTS/zoo.yaml",
    'petvit embed --zoo WEIGHTS/zoo.yaml --data DATA --out ZOO --folds 3',
    'petvit select --features ZOO/vit_convstem_nano ZOO/shiftvit_nano --out STACK',
]

# -- mutations of a file: fn(path) ------------------------------------------------------------
def _lines(p): return Path(p).read_text().splitlines()
def _write_lines(p, lines): Path(p).write_text('\n'.join(lines) + '\n')
def _replace(p, data):
    p = Path(p)
    if p.is_symlink() or p.exists(): p.unlink()
    (p.write_bytes if isinstance(data, bytes) else p.write_text)(data)
def _col(p, col, fn):
    lines = _lines(p); head = lines[0].split(','); j = head.index(col)
    out = [lines[0]]
    for i, l in enumerate(lines[1:]):
        f = l.split(','); f[j] = fn(i, f[j]); out.append(','.join(f))
    _write_lines(p, out)
def _link(target):
    def f(p): p = Path(p); p.unlink(); p.symlink_to(target)
    return f
def _fifo(p): p = Path(p); p.unlink(); os.mkfifo(p)

CSV = {
    'binary': lambda p: _replace(p, random.Random(0).randbytes(300)),
    'dev_zero': _link('/dev/zero'),
    'empty': lambda p: _replace(p, ''),
    'etc_passwd': lambda p: _replace(p, Path('/etc/passwd').read_text()),
    'invalid_utf8': lambda p: _replace(p, b'\xff\xfe' + Path(p).read_bytes()),
    'pickle': lambda p: _replace(p, pickle.dumps({'Id': [1, 2]})),
    'header_only': lambda p: _write_lines(p, _lines(p)[:1]),
    'duplicate_id': lambda p: _write_lines(p, (l := _lines(p))[:2] + [l[1]] + l[3:]),
    'rows_dropped': lambda p: _write_lines(p, _lines(p)[:-3]),
    'id_path': lambda p: _col(p, 'Id', lambda i, v: '../../../etc/passwd' if i == 0 else v),
    'fifo': _fifo,
    'long_line': lambda p: _write_lines(p, _lines(p) + ['x' * (5 << 20)]),
    'too_many_fields': lambda p: _write_lines(p, (l := _lines(p))[:2] + [l[2] + ',1,2'] + l[3:]),
}
def csv_col(kind, col):
    vals = dict(missing_column=None, strings_in_numbers='abc', nan_values='nan',
                inf_values='inf')[kind]
    if vals is None:
        def drop(p):
            rows = [l.split(',') for l in _lines(p)]; j = rows[0].index(col)
            _write_lines(p, [','.join(r[:j] + r[j+1:]) for r in rows])
        return drop
    return lambda p: _col(p, col, lambda i, v: vals)

def _json_set(field, raw):
    "Set `field` (dotted: members.0.weight) to the raw JSON text `raw` (or delete: raw None)"
    def f(p):
        d = json.loads(Path(p).read_text()); keys = field.split('.'); o = d
        for k in keys[:-1]: o = o[int(k)] if isinstance(o, list) else o[k]
        last = keys[-1]
        if raw is None: del o[last]; Path(p).write_text(json.dumps(d)); return
        o[last] = '@@RAW@@'; Path(p).write_text(json.dumps(d).replace('"@@RAW@@"', raw))
    return f
JSON = {
    'deep_nesting': lambda p: _replace(p, '[' * 200000 + ']' * 200000),
    'dev_zero': _link('/dev/zero'), 'fifo': _fifo,
    'invalid_utf8': lambda p: _replace(p, b'{"a": "caf\xe9"}'),
    'pickle': lambda p: _replace(p, pickle.dumps({'a': 1})),
    'top_list': lambda p: _replace(p, '[1, 2]'), 'top_string': lambda p: _replace(p, '"run"'),
}
def json_field(kind, field):
    raw = dict(huge_int='1' + '0' * 400, huge_float='1e400', nan='NaN', null_value='null',
               list_value='[1, 2]', missing_key=None, negative='-5', big_but_finite='1000000000000',
               string_value='"abc"')[kind]
    return _json_set(field, raw)

# -- cases ------------------------------------------------------------------------------------
MERGE, PRED = 'petvit merge RUN', 'petvit predict --run {} --data DATA --out p.csv'
SELECT = 'petvit select --features ZOO/vit_convstem_nano ZOO/shiftvit_nano --out {}'
CASES = []  # (name, command, mutation(root) or None, expect, watched paths)
def case(name, cmd, mutate=None, expect='refuse', watch=()): CASES.append(
    (name, cmd, mutate, expect, tuple(watch)))
def on(path, fn): return lambda root: fn(root/path)

CSV_TARGETS = [('RUN/fold0/history.csv', [MERGE], 'valid_loss'),
               ('RUN/fold0/oof.csv', [MERGE], 'pred'), ('RUN/fold0/test.csv', [MERGE], 'pred'),
               ('RUN/folds.csv', ['petvit embed --run RUN --tta 2'], 'fold'),
               ('RUN/oof.csv', ['petvit boost --run RUN --C 4', 'petvit explain --run RUN --out g',
                                'petvit blend RUN RUN_B --out nb'], 'pred'),
               ('FROZEN/data_folds.csv', ['petvit boost --run FROZEN --C 4'], 'fold')]
for path, cmds, col in CSV_TARGETS:
    kinds = {**CSV, **{k: csv_col(k, col) for k in ('missing_column', 'strings_in_numbers',
                                                      'nan_values', 'inf_values')}}
    for kind, fn in kinds.items():
        for cmd in cmds:
            case(f"csv.{path}.{kind}.{cmd.split()[1]}", cmd, on(path, fn))

JSON_TARGETS = [('RUN/fold0/fold.json', [MERGE, PRED.format('RUN')], 'train_mean'),
                ('BLEND/blend.json', [PRED.format('BLEND')], 'members.0.weight'),
                ('RUN/boost/boost.json', [PRED.format('RUN/boost')], 'n_folds'),
                ('RUN/embeddings/embeddings.json', ['petvit boost --run RUN --C 4'], 'n_train'),
                ('FROZEN/embeddings.json', [PRED.format('FROZEN/boost')], 'img_size'),
                ('RUN/config.json', [PRED.format('RUN')], 'img_size'),
                ('STACK/boost.json', [PRED.format('STACK')], 'sources'),
                ('ZOO/shiftvit_nano/embeddings.json', [SELECT.format('NS')], 'features')]
for path, cmds, field in JSON_TARGETS:
    kinds = {**JSON, **{k: json_field(k, field) for k in (
        'huge_int', 'huge_float', 'nan', 'null_value', 'list_value', 'missing_key', 'negative',
        'big_but_finite', 'string_value')}}
    for kind, fn in kinds.items():
        for cmd in cmds:
            case(f"json.{path}.{kind}.{cmd.split()[1]}", cmd, on(path, fn))

# configs and flags
TRAIN = 'petvit train --data DATA --out NEW --preset demo --folds 2 --epochs 1'
CONFIGS = {'invalid_utf8.yaml': b'arch: caf\xe9\n', 'invalid_utf8.json': b'{"arch": "caf\xe9"}',
           'anchor_bomb.yaml': ('a: &a ["x","x","x","x","x","x","x","x","x"]\n' + ''.join(
               f'{c}: &{c} [' + ','.join([f'*{p}'] * 9) + ']\n'
               for p, c in zip('abcdefgh', 'bcdefghi'))).encode(),
           'deep.yaml': b'epochs: ' + b'[' * 100000 + b']' * 100000 + b'\n',
           'img_size_1e30.yaml': b'img_size: 1.0e+30\n', 'img_size_10e30.yaml': b'img_size: ' +
           b'1' + b'0' * 30 + b'\n', 'bool_as_1.yaml': b'use_meta: 1\n',
           'int_as_float.yaml': b'epochs: 3.0\n', 'lr_1e308.yaml': b'lr: 1.0e+308\n',
           'pretrained_empty.yaml': b"pretrained: ''\n", 'bool_as_string.json': b'{"cache": "yes"}',
           'top_list.yaml': b'- 1\n- 2\n', 'fifo.yaml': None, 'dev_zero.yaml': '/dev/zero',
           'data_path_list.yaml': b'data_path: [store]\n', 'opt_list.yaml': b'opt: [adamw]\n',
           'aa_number.yaml': b'aa: 9\n', 'average_last_float.yaml': b'average_last: 2.5\n',
           'head_null.yaml': b'head: null\n', 'aa_long.yaml': b'aa: rand' + b'-m9' * 5000 + b'\n'}
for name, data in CONFIGS.items():
    def mk(root, name=name, data=data):
        p = root/name
        if data is None: os.mkfifo(p)
        elif isinstance(data, str): p.symlink_to(data)
        else: p.write_bytes(data)
    case(f'config.{name}', f'{TRAIN} --config {name}', mk, watch=())
case('flags.img_size_8', f'{TRAIN} --img-size 8')
case('flags.compile_on_cpu', f'{TRAIN} --compile')
case('flags.data_path_bogus', f'{TRAIN} --data-path gpu')
for flag, value in [('--opt', 'nope'), ('--opt', 'bnbadamw'), ('--opt', "''"), ('--aa', 'garbage'),
                    ('--aa', 'rand-m9-x'), ('--aa', 'augmix-m99999999999999999999'),
                    ('--average-last', '0'), ('--average-last', '-1'), ('--head', 'ordinal2'),
                    ('--ordinal-bins', '1000'), ('--resize', 'crop,pad'), ('--reprob', 'inf'),
                    ('--remode', 'pixels'), ('--momentum', '1e999'), ('--opt-eps', 'nan')]:
    tag = value.strip("'")[:12] or 'empty'
    case(f'flags.{flag[2:]}_{tag}', f'{TRAIN} {flag} {value}')
case('flags.out_inside_data', 'petvit train --data DATA --out DATA/runs/x --preset demo '
     '--folds 2 --epochs 1', watch=['DATA'])
case('env.ascii_terminal', 'env PYTHONIOENCODING=ascii petvit check DATA',
     lambda root: _col(root/'DATA/train.csv', 'Id', lambda i, v: v + '\u732b' if i == 0 else v),
     expect='any')
case('data.train_csv.too_many_fields', 'petvit check DATA',
     on('DATA/train.csv', CSV['too_many_fields']))
case('data.train_csv.long_line', 'petvit check DATA', on('DATA/train.csv', CSV['long_line']))
case('data.no_sample_submission.predict', PRED.format('RUN'),
     lambda root: (root/'DATA/sample_submission.csv').unlink())

# FIFOs where a file is read
def _first(root, pattern): return sorted(root.glob(pattern))[0]
case('fifo.train_jpg.check', 'petvit check DATA', lambda r: _fifo(_first(r, 'DATA/train/*.jpg')))
case('fifo.test_jpg.predict', PRED.format('RUN'), lambda r: _fifo(_first(r, 'DATA/test/*.jpg')))
case('fifo.folds_file.train', f'{TRAIN} --folds-file ff.csv', lambda r: os.mkfifo(r/'ff.csv'))
case('fifo.submission.check_submission', 'petvit check-submission --data DATA s.csv',
     lambda r: os.mkfifo(r/'s.csv'))

# outputs: never write through a link, over a user's file, inside data or a member
def _notes(path):
    def f(root): (root/path).write_text('my notes\n')
    return f
def _link_out(link, target):
    def f(root):
        shutil.copytree(root/target, root/'OUTSIDE/target'); (root/'OUTSIDE/target/notes.txt'
                                                              ).write_text('mine\n')
        if (root/link).exists(): shutil.rmtree(root/link)
        (root/link).symlink_to(root/'OUTSIDE/target')
    return f
case('symlink.boost_out', 'petvit boost --run RUN --C 4', _link_out('RUN/boost', 'RUN/boost'),
     watch=['OUTSIDE'])
case('symlink.blend_out', 'petvit blend RUN RUN_B --out nb', _link_out('nb', 'BLEND'),
     watch=['OUTSIDE'])
for path, cmd in [('RUN/boost/my_notes.txt', 'petvit boost --run RUN --C 4'),
                  ('RUN/embeddings/my_notes.txt', 'petvit embed --run RUN --tta 2'),
                  ('RUN/explain/my_notes.txt', 'petvit explain --run RUN --worst 2 --best 0'),
                  ('BLEND/my_notes.txt', 'petvit blend RUN RUN_B --out BLEND')]:
    case(f'user_file.{path}', cmd, _notes(path), expect='keep', watch=[path])
case('out.bench_over_user_file', 'petvit bench --mode small --out notes.txt', _notes('notes.txt'),
     watch=['notes.txt'])
case('out.blend_inside_member', 'petvit blend RUN RUN_B --out RUN/sub', watch=['RUN'])

# members changed after blending: each must be refused, naming the member
def _swap_weights(root, run='RUN', k=0):
    w, rec = root/run/f'fold{k}/model.pth', root/run/f'fold{k}/fold.json'
    shutil.copy(root/'RUN_B'/f'fold{k}/model.pth', w)
    d = json.loads(rec.read_text())
    d['model_sha256'] = hashlib.sha256(w.read_bytes()).hexdigest(); rec.write_text(json.dumps(d))
def _swap_regressors(root):
    b = root/'RUN/boost'; m = json.loads((b/'boost.json').read_text())
    r0, r1 = (b/m['regressors'][0]).read_bytes(), (b/m['regressors'][1]).read_bytes()
    (b/m['regressors'][0]).write_bytes(r1); (b/m['regressors'][1]).write_bytes(r0)
    m['regressor_sha256'] = m['regressor_sha256'][::-1]; (b/'boost.json').write_text(json.dumps(m))
case('member.run_weights.blend', PRED.format('BLEND'), _swap_weights)
case('member.boost_regressors.blend', PRED.format('BLEND_BOOST'), _swap_regressors)
case('member.run_under_blend_of_blends', PRED.format('BLEND2'), _swap_weights)
case('merge.fold_of_other_seed', MERGE, lambda r: (shutil.rmtree(r/'RUN/fold0'), shutil.copytree(
    r/'RUN_B/fold0', r/'RUN/fold0')))


# the zoo and the stack of frozen backbones
def _zoo_text(text):
    def f(root): (root/'WEIGHTS/zoo.yaml').write_text(text)
    return f
ZOO_EMBED = 'petvit embed --zoo WEIGHTS/zoo.yaml --data DATA --out NZ --folds 3'
for name, text in [('unknown_key', '- {arch: shiftvit_nano, weights: s.pth}\n'),
                   ('bad_features', '- {arch: shiftvit_nano, pretrained: s.pth, features: all}\n'),
                   ('unknown_arch', '- {arch: shiftvit_nanoo, pretrained: s.pth}\n'),
                   ('weights_of_another_model', '- {arch: vit_convstem_nano, pretrained: s.pth}\n'),
                   ('logits_without_classifier',
                    '- {arch: shiftvit_nano, pretrained: s.pth, features: logits}\n'),
                   ('name_escapes', '- {arch: shiftvit_nano, pretrained: s.pth, name: ../x}\n'),
                   ('not_a_list', 'arch: shiftvit_nano\n'), ('binary', '\x00\x01\x02')]:
    case(f'zoo.{name}', ZOO_EMBED, _zoo_text(text), watch=['WEIGHTS'])
case('select.features_of_a_run', 'petvit select --features RUN/embeddings ZOO/shiftvit_nano '
     '--out NS')
case('select.features_on_other_folds', 'petvit select --features FROZEN ZOO/shiftvit_nano --out NS')
case('select.features_and_members', 'petvit select RUN --features ZOO/shiftvit_nano '
     'ZOO/vit_convstem_nano --out NS')
case('select.one_feature', 'petvit select --features ZOO/shiftvit_nano --out NS')
case('select.select_folds_too_many', SELECT.format('NS') + ' --select-folds 4')
case('select.out_is_a_source', SELECT.format('ZOO/shiftvit_nano'), watch=['ZOO'])
case('user_file.STACK/my_notes.txt', SELECT.format('STACK'), _notes('STACK/my_notes.txt'),
     expect='keep', watch=['STACK/my_notes.txt'])
case('symlink.select_out', SELECT.format('NS'), _link_out('NS', 'STACK'), watch=['OUTSIDE'])
case('stack.embeddings_changed', PRED.format('STACK'), lambda r: shutil.copy(
    r/'ZOO/vit_convstem_nano/embeddings.npz', r/'ZOO/shiftvit_nano/embeddings.npz'))
def _point_weights(root, to):
    "The stack's backbone names another weights file (the fixture's path is shared by all cases)"
    p = root/'ZOO/shiftvit_nano/embeddings.json'; m = json.loads(p.read_text())
    m['pretrained'] = str(root/to); p.write_text(json.dumps(m))
case('stack.weights_changed', PRED.format('STACK'), lambda r: _point_weights(r, 'WEIGHTS/w.pth'))
case('stack.weights_moved', PRED.format('STACK'), lambda r: _point_weights(r, 'gone/s.pth'))
case('stack.weights_moved_found_by_sha', 'env PETVIT_WEIGHTS=WEIGHTS ' + PRED.format('STACK'),
     lambda r: _point_weights(r, 'gone/s.pth'), expect='any')


# -- running ----------------------------------------------------------------------------------
def digest(root:Path, rel:str)->str:
    "SHA-256 over the files under `root/rel` (names and bytes; links not followed)"
    h, p = hashlib.sha256(), root/rel
    if not os.path.lexists(p): return 'absent'
    files = [p] if not p.is_dir() or p.is_symlink() else sorted(p.rglob('*'))
    for f in files:
        h.update(str(f.relative_to(root)).encode())
        if f.is_symlink(): h.update(os.readlink(f).encode())
        elif f.is_file(): h.update(f.read_bytes())
    return h.hexdigest()

def shell(cmd, cwd, env, timeout=120):
    return subprocess.run(cmd, shell=True, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, errors='replace')

def run_case(spec, work:Path, env):
    name, cmd, mutate, expect, watch = spec
    root = work/'cases'/name.replace('/', '_')
    if root.exists(): shutil.rmtree(root)
    root.mkdir(parents=True)
    for f in FIX:
        if (work/'fixture'/f).exists():
            shutil.copytree(work/'fixture'/f, root/f, symlinks=True)
    try:
        if mutate: mutate(root)
    except Exception as e:               # the case does not apply to this file (no such column)
        shutil.rmtree(root, ignore_errors=True)
        return dict(case=name, command=cmd, expect=expect, outcome='n/a', lost=[],
                    line=f'mutation does not apply: {e}', seconds=0)
    before = {w: digest(root, w) for w in watch}
    t = time.time()
    try:
        r = shell(cmd, root, env, timeout=90)
        err = [l for l in r.stderr.splitlines() if l.strip()]
        if 'Traceback' in r.stderr: how = 'traceback'
        elif r.returncode == 0: how = 'ok'
        else: how = 'error'
        out = r.stdout.strip().splitlines()
        line = (err[-1] if err and how != 'ok' else out[-1] if out else '')[:300]
    except subprocess.TimeoutExpired: how, line = 'hang', 'no answer in 90 s'
    lost = [w for w in watch if digest(root, w) != before[w]]
    shutil.rmtree(root, ignore_errors=True)
    return dict(case=name, command=cmd, expect=expect, outcome=how, lost=lost, line=line,
                seconds=round(time.time() - t, 1))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--work', type=Path, required=True)
    ap.add_argument('--python', default=sys.executable, help='the interpreter whose petvit runs')
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--only', default='', help='run cases whose name contains this')
    ap.add_argument('--json', type=Path)
    a = ap.parse_args()
    bin_dir = a.work/'bin'; bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir/'petvit').write_text(f'#!/bin/sh\nexec {a.python} -m petvit.cli "$@"\n')
    (bin_dir/'python').write_text(f'#!/bin/sh\nexec {a.python} "$@"\n')
    for f in ('petvit', 'python'): (bin_dir/f).chmod(0o755)
    env = {**os.environ, 'PATH': f"{bin_dir}:{os.environ['PATH']}", 'OMP_NUM_THREADS': '1',
           'PETVIT_CACHE': str(a.work/'cache'), 'WANDB_MODE': 'disabled'}
    fix = a.work/'fixture'
    if not (fix/'DONE').exists():
        shutil.rmtree(fix, ignore_errors=True); fix.mkdir(parents=True); (fix/'OUTSIDE').mkdir()
        for cmd in SETUP:
            r = shell(cmd, fix, env, timeout=900)
            if r.returncode: sys.exit(f'setup failed: {cmd}\n{r.stderr[-2000:]}')
        (fix/'DONE').write_text('')
    cases = [c for c in CASES if a.only in c[0]]
    with cf.ThreadPoolExecutor(a.jobs) as pool:
        results = list(pool.map(lambda c: run_case(c, a.work, env), cases))
    counts = {}
    for r in results:
        if r['outcome'] == 'n/a': r['verdict'] = 'n/a'; continue
        bad = r['outcome'] in ('traceback', 'hang') or r['lost'] or (
            r['expect'] == 'refuse' and r['outcome'] == 'ok')
        r['verdict'] = 'BAD' if bad else 'good'
        counts[r['outcome']] = counts.get(r['outcome'], 0) + 1
        print(f"{r['verdict']:4} {r['outcome']:9} {'LOST ' if r['lost'] else ''}{r['case']}: "
              f"{r['line']}")
    print(f"\n{len(results)} cases: " + ', '.join(f'{k} {v}' for k, v in sorted(counts.items()))
          + f"; silently accepted {sum(r['expect'] == 'refuse' and r['outcome'] == 'ok' for r in results)}"
          f"; files lost {sum(bool(r['lost']) for r in results)}"
          f"; BAD {sum(r['verdict'] == 'BAD' for r in results)}")
    if a.json: a.json.write_text(json.dumps(results, indent=1) + '\n')

if __name__ == '__main__': main()
