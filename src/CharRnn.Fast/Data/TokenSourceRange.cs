namespace CharRnn.Fast.Data;

/// <summary>
/// A window of another token source: positions 0..Length−1 here are <see cref="Range"/>.Start.. there. Train,
/// validation and test splits are ranges of one store, never copies. A range of a range addresses the underlying
/// source directly.
/// </summary>
public sealed class TokenSourceRange : ITokenSource
{
    /// <summary>The window <paramref name="range"/> of <paramref name="source"/>; it must lie inside the source.</summary>
    public TokenSourceRange(ITokenSource source, TokenRange range)
    {
        ArgumentNullException.ThrowIfNull(source);
        range.CheckInside(source.Length, nameof(range));
        if (source is TokenSourceRange outer)
        {
            source = outer.Source;
            range = range with { Start = outer.Range.Start + range.Start };
        }
        Source = source;
        Range = range;
    }

    /// <summary>The source this is a window of (never itself a <see cref="TokenSourceRange"/>).</summary>
    public ITokenSource Source { get; }

    /// <summary>The window, in the source's positions.</summary>
    public TokenRange Range { get; }

    /// <inheritdoc/>
    public long Length => Range.Length;

    /// <inheritdoc/>
    public int VocabularySize => Source.VocabularySize;

    /// <inheritdoc/>
    public void Read(long position, Span<int> destination)
    {
        new TokenRange(position, destination.Length).CheckInside(Range.Length, nameof(position));
        Source.Read(Range.Start + position, destination);
    }
}
