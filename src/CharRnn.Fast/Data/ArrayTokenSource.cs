namespace CharRnn.Fast.Data;

/// <summary>An in-memory token sequence (tests and the library API, where the text is a string already).</summary>
public sealed class ArrayTokenSource : ITokenSource
{
    private readonly int[] _tokens;

    /// <summary>Wraps <paramref name="tokens"/> (not copied); every id must be in [0, <paramref name="vocabularySize"/>).</summary>
    public ArrayTokenSource(int[] tokens, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, 1);
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)vocabularySize)
                throw new ArgumentException($"token {tokens[i]} at position {i} is outside the vocabulary of {vocabularySize}", nameof(tokens));
        _tokens = tokens;
        VocabularySize = vocabularySize;
    }

    /// <inheritdoc/>
    public long Length => _tokens.Length;

    /// <inheritdoc/>
    public int VocabularySize { get; }

    /// <inheritdoc/>
    public void Read(long position, Span<int> destination)
    {
        new TokenRange(position, destination.Length).CheckInside(_tokens.Length, nameof(position));
        _tokens.AsSpan((int)position, destination.Length).CopyTo(destination);
    }
}
