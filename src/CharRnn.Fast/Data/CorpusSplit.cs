namespace CharRnn.Fast.Data;

/// <summary>
/// A corpus of N tokens cut into training (the head), validation and test (the tail) ranges. Adjacent ranges share the
/// token at their cut (the last target of one is the first input of the next), so every transition
/// token[i] → token[i+1] belongs to exactly one range: nothing is predicted twice and nothing is lost.
/// </summary>
public readonly record struct CorpusSplit(TokenRange Train, TokenRange Validation, TokenRange Test)
{
    /// <summary>
    /// The split of a corpus of <paramref name="length"/> tokens. The test cut is at ⌊N·(1 − test)⌋ and the
    /// validation cut at ⌊N·(1 − validation − test)⌋, each moved forward by <paramref name="nextBoundary"/> when given
    /// (lines corpora: to the next boundary token, so no line is split). Train = [0, c_val], validation =
    /// [c_val, c_test], test = [c_test, N − 1] (inclusive). A validation or test range of fewer than 2 tokens (no
    /// transition) becomes empty and its tokens go to the range before it. With test = 0 this is the split the
    /// trainer has always made.
    /// </summary>
    /// <param name="length">N ≥ 1.</param>
    /// <param name="validationFraction">In [0, 1).</param>
    /// <param name="testFraction">In [0, 1), with validation + test &lt; 1.</param>
    /// <param name="nextBoundary">
    /// p ↦ the first position ≥ p holding the boundary token, or N − 1 when there is none (see
    /// <see cref="NextBoundaryIn"/>); null cuts exactly at the fractions.
    /// </param>
    public static CorpusSplit Compute(long length, double validationFraction, double testFraction = 0, Func<long, long>? nextBoundary = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        if (!(validationFraction >= 0 && validationFraction < 1)) throw new ArgumentOutOfRangeException(nameof(validationFraction), "the validation fraction must be in [0, 1)");
        if (!(testFraction >= 0 && testFraction < 1)) throw new ArgumentOutOfRangeException(nameof(testFraction), "the test fraction must be in [0, 1)");
        if (!(validationFraction + testFraction < 1)) throw new ArgumentOutOfRangeException(nameof(testFraction), "validation and test fractions must leave some text for training");
        long last = length - 1;

        long Cut(double heldOut)
        {
            long cut = Math.Min(last, (long)(length * (1 - heldOut)));
            if (nextBoundary is null) return cut;
            long snapped = nextBoundary(cut);
            if (snapped < cut || snapped > last) throw new InvalidOperationException($"the boundary finder moved cut {cut} to {snapped}, outside [{cut}, {last}]");
            return snapped;
        }

        long testCut = testFraction > 0 ? Cut(testFraction) : last;
        if (length - testCut < 2) testCut = last;
        long validationCut = validationFraction > 0 ? Math.Min(testCut, Cut(validationFraction + testFraction)) : testCut;
        return new CorpusSplit(
            new TokenRange(0, validationCut + 1),
            validationCut < testCut ? new TokenRange(validationCut, testCut - validationCut + 1) : new TokenRange(validationCut, 0),
            testCut < last ? new TokenRange(testCut, length - testCut) : new TokenRange(testCut, 0));
    }

    /// <summary>
    /// The boundary finder of <see cref="Compute"/> for <paramref name="source"/>: p ↦ the first position ≥ p whose
    /// token is <paramref name="boundaryToken"/>, or N − 1 when none follows. Reads forward in chunks from p.
    /// </summary>
    public static Func<long, long> NextBoundaryIn(ITokenSource source, int boundaryToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        return position =>
        {
            long last = source.Length - 1;
            var chunk = new int[4096];
            for (long p = position; p < last; p += chunk.Length)
            {
                var window = chunk.AsSpan(0, (int)Math.Min(chunk.Length, last - p));
                source.Read(p, window);
                int i = window.IndexOf(boundaryToken);
                if (i >= 0) return p + i;
            }
            return Math.Max(position, last);
        };
    }
}
