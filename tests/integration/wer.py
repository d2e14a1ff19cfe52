"""wer.py: word error counting for the transcript test and bench.

edits(ref, hyp): the word edit distance (substitutions + insertions +
deletions) between two word lists, as sclite counts errors for a WER.
"""


def edits(ref, hyp):
    row = list(range(len(hyp) + 1))
    for i, rw in enumerate(ref, 1):
        prev, row[0] = row[:], i
        for j, hw in enumerate(hyp, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (rw != hw))
    return row[-1]
