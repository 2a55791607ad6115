namespace CharRnn.Fast.Data;

/// <summary>A window [Start, Start + Length) of a token sequence.</summary>
public readonly record struct TokenRange(long Start, long Length)
{
    /// <summary>One past the last position.</summary>
    public long End => Start + Length;

    /// <summary>Whether the range holds no tokens.</summary>
    public bool IsEmpty => Length == 0;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless the range lies inside [0, <paramref name="length"/>].</summary>
    internal void CheckInside(long length, string parameterName)
    {
        if (Start < 0 || Length < 0 || Start > length - Length)
            throw new ArgumentOutOfRangeException(parameterName, $"range [{Start}, {Start}+{Length}) is outside the {length} tokens of the source");
    }
}
