"""Write and execute meme_nb notebooks from the command line.

Notebooks are the source of truth. This tool only makes them easier to author
and to run headless (Quarto and Jupyter servers are not needed):

    python tools/nbtool.py build SRC.txt NB.ipynb   # cell-marked text -> notebook
    python tools/nbtool.py src NB.ipynb SRC.txt     # notebook -> cell-marked text
    python tools/nbtool.py run NB.ipynb [NB ...]    # execute, save outputs in place

In the text form a line `# %%` starts a code cell and `# %% [md]` a markdown
cell; markdown is written as is (not commented). `run` executes every cell,
`#| slow` and `#| gpu` cells included unless `--skip slow,gpu`, with the
notebook's folder as working directory, writes the outputs back and exits
non-zero if a cell raised. As under nbdev-test, the notebook's closing
`nbdev_export()` cell does nothing: export with `nbdev-export`.
"""
import argparse, os, re, sys
from pathlib import Path

from fastcore.nbio import mk_cell, new_nb, read_nb, write_nb
from execnb.shell import CaptureShell

_MARK = re.compile(r'^# %%( \[md\])?\s*$')


def text2cells(text):
    "Split cell-marked `text` into `(cell_type, source)` pairs."
    cells, kind, buf = [], None, []
    for line in text.splitlines():
        m = _MARK.match(line)
        if m:
            if kind is not None: cells.append((kind, '\n'.join(buf).strip('\n')))
            kind, buf = ('markdown' if m.group(1) else 'code'), []
        elif kind is not None: buf.append(line)
    if kind is not None: cells.append((kind, '\n'.join(buf).strip('\n')))
    return cells


def build(src, dest):
    "Write notebook `dest` from cell-marked text file `src`."
    nb = new_nb([mk_cell(s, cell_type=k) for k, s in text2cells(Path(src).read_text())])
    write_nb(nb, dest)


def to_src(nb_path, dest):
    "Write the cells of `nb_path` as cell-marked text to `dest`."
    out = []
    for c in read_nb(nb_path).cells:
        out.append('# %% [md]' if c.cell_type == 'markdown' else '# %%')
        out.append(c.source)
        out.append('')
    Path(dest).write_text('\n'.join(out))


def _skipper(flags):
    def preproc(cell):
        if cell.cell_type != 'code': return True
        src = cell.source
        return any(re.search(rf'^#\|\s*{f}\s*$', src, re.M) for f in flags) or \
            bool(re.search(r'^#\|\s*eval:\s*false', src, re.M))
    return preproc


def run(nb_path, skip=()):
    "Execute `nb_path` in place; return the number of cells that raised."
    os.environ['IN_TEST'] = '1'  # as nbdev-test does: the closing nbdev_export() cell is a no-op
    nb = read_nb(nb_path)
    for c in nb.cells:
        if c.cell_type == 'code': c.outputs, c.execution_count = [], None
    shell = CaptureShell(path=Path(nb_path).parent.resolve())
    n_err, count = 0, 0
    pre = _skipper(skip)
    for c in nb.cells:
        if pre(c): continue
        count += 1
        shell.cell(c)
        c.execution_count = count
        if shell.exc is not None:
            n_err += 1
            print(f'{nb_path}: error in cell\n{c.source[:300]}\n{shell.exc!r}', file=sys.stderr)
            shell.exc = None
    write_nb(nb, nb_path)
    return n_err


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)
    b = sub.add_parser('build'); b.add_argument('src'); b.add_argument('dest')
    s = sub.add_parser('src'); s.add_argument('nb'); s.add_argument('dest')
    r = sub.add_parser('run'); r.add_argument('nbs', nargs='+')
    r.add_argument('--skip', default='', help='comma-separated flags whose cells are not run, e.g. slow,gpu')
    a = p.parse_args(argv)
    if a.cmd == 'build': build(a.src, a.dest)
    elif a.cmd == 'src': to_src(a.nb, a.dest)
    else:
        skip = [f for f in a.skip.split(',') if f]
        n = sum(run(nb, skip) for nb in a.nbs)
        if n: sys.exit(f'{n} cell(s) raised')


if __name__ == '__main__': main()
