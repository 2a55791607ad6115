namespace CharRnn.Fast.Data;

/// <summary>
/// A read-only sequence of token ids addressed by 64-bit positions: what training, validation and evaluation read
/// through. Implementations: <see cref="TokenStore"/> (a file, read with positioned reads), <see cref="ArrayTokenSource"/> (an
/// in-memory array) and <see cref="TokenSourceRange"/> (a window of another source, so splits are views, not copies).
/// <see cref="Read"/> may be called from several threads at once.
/// </summary>
public interface ITokenSource
{
    /// <summary>Number of tokens (N).</summary>
    long Length { get; }

    /// <summary>Vocabulary size (V): every token id is in [0, V).</summary>
    int VocabularySize { get; }

    /// <summary>
    /// Copies tokens [position, position + destination.Length) into <paramref name="destination"/>; a range outside
    /// [0, <see cref="Length"/>] throws <see cref="ArgumentOutOfRangeException"/>.
    /// </summary>
    void Read(long position, Span<int> destination);
}
