using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace CharRnn.Fast.Text;

/// <summary>
/// A training text's identity as checkpoints record it (<c>text_hash</c>): <c>sha256:</c> and the lowercase hex SHA-256
/// of the text's UTF-8 bytes. For a UTF-8 file without a byte-order mark, trained in stream mode, it equals what
/// <c>sha256sum FILE</c> prints.
/// </summary>
public static class TextFingerprint
{
    public const string Prefix = "sha256:";

    private const int ChunkChars = 1 << 16;
    private static readonly SearchValues<char> LowerHexDigits = SearchValues.Create("0123456789abcdef");

    /// <summary>The fingerprint of <paramref name="text"/>, hashed in chunks (no UTF-8 copy of the whole text).</summary>
    public static string Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var encoder = Encoding.UTF8.GetEncoder(); // keeps a surrogate pair cut by a chunk boundary whole
        var bytes = new byte[Encoding.UTF8.GetMaxByteCount(ChunkChars)];
        for (int start = 0; start < text.Length; start += ChunkChars)
        {
            var chunk = text.AsSpan(start, Math.Min(ChunkChars, text.Length - start));
            int n = encoder.GetBytes(chunk, bytes, flush: start + chunk.Length == text.Length);
            hash.AppendData(bytes, 0, n);
        }
        return Prefix + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Whether <paramref name="value"/> has the form <see cref="Of"/> returns.</summary>
    public static bool IsWellFormed(string value)
        => value is not null && value.Length == Prefix.Length + 64 && value.StartsWith(Prefix, StringComparison.Ordinal)
           && !value.AsSpan(Prefix.Length).ContainsAnyExcept(LowerHexDigits);
}
