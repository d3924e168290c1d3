"""The repository is consistent: the package is what the notebooks export,
notebooks are clean, README.md is rendered from nbs/index.ipynb, and the
nbdev configuration keeps slow and GPU cells out of the default test run."""
import filecmp, shutil, subprocess, sys, tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import readme  # noqa: E402


def _copy_project(dest):
    shutil.copy(ROOT / 'pyproject.toml', dest)
    shutil.copytree(ROOT / 'nbs', dest / 'nbs')
    shutil.copytree(ROOT / 'meme_nb', dest / 'meme_nb', ignore=shutil.ignore_patterns('__pycache__'))


def test_package_matches_notebooks(tmp_path):
    "Running nbdev-export on a copy changes no file under meme_nb/."
    _copy_project(tmp_path)
    subprocess.run(['nbdev-export'], cwd=tmp_path, check=True, capture_output=True)
    cmp = filecmp.dircmp(ROOT / 'meme_nb', tmp_path / 'meme_nb', ignore=['__pycache__'])
    changed = [f for f in cmp.diff_files + cmp.right_only if f.endswith('.py')]
    assert not changed, f"meme_nb/ is out of date with the notebooks (run nbdev-export): {changed}"


def test_notebooks_are_clean(tmp_path):
    "nbdev-clean leaves every committed notebook unchanged."
    _copy_project(tmp_path)
    subprocess.run(['nbdev-clean', '--fname', str(tmp_path / 'nbs')], cwd=tmp_path, check=True, capture_output=True)
    dirty = [str(p.relative_to(ROOT)) for p in (ROOT / 'nbs').rglob('*.ipynb')
             if not p.name.startswith('_') and '.ipynb_checkpoints' not in p.parts
             and p.read_bytes() != (tmp_path / p.relative_to(ROOT)).read_bytes()]
    assert not dirty, f"run nbdev-clean: {dirty}"


def test_readme_is_rendered_from_index():
    assert (ROOT / 'README.md').read_text() == readme.render(), "run `python tools/readme.py`"


def test_readme_renderer_rules():
    from fastcore.nbio import mk_cell
    c = mk_cell('#| hide\nx = 1')
    assert readme.render_cell(c) == ''
    c = mk_cell('#| echo: false\nprint(1)')
    c['outputs'] = [dict(output_type='stream', name='stdout', text=['1\n'])]
    assert readme.render_cell(c) == '```\n1\n```'
    c = mk_cell('1 + 1')
    c['outputs'] = [dict(output_type='execute_result', data={'text/plain': ['2']}, metadata={}, execution_count=1)]
    assert readme.render_cell(c) == '```python\n1 + 1\n```\n\n```\n2\n```'
    assert readme.render_cell(mk_cell('## Title', cell_type='markdown')) == '## Title'


def test_nbdev_config():
    cfg = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    nb = cfg['tool']['nbdev']
    assert isinstance(nb['tst_flags'], list) and {'slow', 'gpu'} <= set(nb['tst_flags'])
    assert (nb['lib_path'], nb['nbs_path'], nb['doc_path']) == ('meme_nb', 'nbs', '_docs')
    deps = ' '.join(cfg['project']['dependencies'])
    assert 'torch>=' in deps and 'torch==' not in deps
    for banned in ('tangermeme', 'captum', 'memelite', 'modisco'):
        assert banned not in deps


def test_package_never_imports_peers():
    for py in (ROOT / 'meme_nb').rglob('*.py'):
        text = py.read_text()
        for peer in ('tangermeme', 'captum', 'memelite', 'modiscolite'):
            assert f'import {peer}' not in text and f'from {peer}' not in text, (py, peer)


def test_sidebar_lists_every_notebook():
    import yaml
    side = yaml.safe_load((ROOT / 'nbs' / 'sidebar.yml').read_text())
    listed = set()
    def walk(items):
        for it in items:
            if isinstance(it, str): listed.add(it)
            else: walk(it.get('contents', []))
    walk(side['website']['sidebar']['contents'])
    nbs = {str(p.relative_to(ROOT / 'nbs')) for p in (ROOT / 'nbs').rglob('*.ipynb')
           if not any(part.startswith(('_', '.')) for part in p.relative_to(ROOT / 'nbs').parts)}
    assert nbs <= listed, f"add to nbs/sidebar.yml: {sorted(nbs - listed)}"
    assert listed <= nbs, f"nbs/sidebar.yml lists notebooks that do not exist: {sorted(listed - nbs)}"


def test_docs_processor_runs_no_cell_out_of_context():
    "nbdev's docs processing executes every cell that contains an import: such cells must hold imports only (tools/doccheck.py)."
    sys.path.insert(0, str(ROOT / 'tools'))
    from doccheck import risky_cells
    bad = [f'{p.relative_to(ROOT)} cell {i}: {l}' for p in sorted((ROOT / 'nbs').rglob('*.ipynb'))
           if '.ipynb_checkpoints' not in str(p) for i, l in risky_cells(p)]
    assert not bad, 'move these imports to the notebook\'s import cell:\n' + '\n'.join(bad)
